// A signed-in user opens the graph of a DAG whose run finished: the nodes
// are laid out in layers (each upstream node left of its downstream ones),
// coloured by the run's states, with the edge label shown; a click on a node
// opens its task instance page. Then the run's details page and the two
// browse lists. Inputs from the environment: UPDRAFT_E2E_EDGES, a JSON list
// of [upstream, downstream] task ids the graph must order, and
// UPDRAFT_E2E_TASK_ID, the node to click.
import { scenario, expect, signIn } from './lib.mjs';

await scenario('graph', async ({ page, args, shot, report }) => {
  const dagId = args['dag-id'];
  const base = args['base-url'];
  const edges = JSON.parse(process.env.UPDRAFT_E2E_EDGES || '[]');
  const taskId = process.env.UPDRAFT_E2E_TASK_ID;
  await signIn(page, base, args.user, args.password);

  // From the DAG's grid, the Graph tab.
  await page.goto(`${base}/dags/${encodeURIComponent(dagId)}/grid`);
  await page.locator('[data-testid="tab-graph"]').click();
  await page.waitForURL((u) => u.pathname === `/dags/${dagId}/graph`);
  await page.locator('[data-testid="graph"]').waitFor();
  const nodes = await page.locator('[data-testid="graph-node"]').evaluateAll((els) =>
    els.map((e) => {
      const r = e.querySelector('rect.body').getBoundingClientRect();
      return {
        task: e.dataset.taskId,
        state: e.dataset.state,
        left: r.left,
        right: r.right,
        top: r.top,
        stroke: getComputedStyle(e.querySelector('rect.body')).stroke,
      };
    }),
  );
  report('nodes', nodes);
  const at = (id) => nodes.find((n) => n.task === id);
  for (const [up, down] of edges) {
    expect(at(up) && at(down), `no node for ${up} or ${down}: ${JSON.stringify(nodes)}`);
    expect(at(up).right <= at(down).left, `${up} is not left of ${down} on screen`);
  }
  report('layered', true);
  expect(nodes.every((n) => n.state === 'success'), `not every node is success: ${JSON.stringify(nodes)}`);
  expect(nodes.every((n) => n.stroke === 'rgb(0, 128, 0)'), 'a success node is not outlined green');
  const labels = await page.locator('[data-testid="graph-edge-label"]').allTextContents();
  report('edge_labels', labels.map((l) => l.trim()));
  report('groups', await page.locator('[data-testid="graph-group"]').evaluateAll((els) => els.map((e) => e.dataset.group)));
  await shot('graph');

  // A node opens its task instance.
  await page.locator(`[data-testid="graph-node"][data-task-id="${taskId}"]`).click();
  await page.locator('[data-testid="ti-state"]').waitFor();
  const tiPage = await page.locator('[data-testid="task-instance"]').getAttribute('data-task-id');
  report('clicked_ti', tiPage);
  expect(tiPage === taskId, `the click opened ${tiPage}, not ${taskId}`);
  report('ti_state', await page.locator('[data-testid="ti-state"]').getAttribute('data-state'));

  // Back to the graph, then the run's details page.
  await page.goBack();
  await page.locator('[data-testid="graph-run-details"]').click();
  await page.locator('[data-testid="run-details"]').waitFor();
  report('run_state', await page.locator('[data-testid="run-details"]').getAttribute('data-state'));
  report('run_tis', await page.locator('[data-testid="run-ti"]').count());
  await shot('run');

  // The run durations tab.
  await page.locator('[data-testid="tab-durations"]').click();
  await page.locator('[data-testid="durations"]').waitFor();
  const bar = await page.locator('[data-testid="duration-bar"]').first().evaluate((e) => ({
    state: e.dataset.state,
    height: e.getBoundingClientRect().height,
    fill: getComputedStyle(e).fill,
  }));
  report('duration_bar', bar);
  await shot('durations');

  // Browse: runs filtered to this DAG, then its task instances.
  await page.locator('[data-testid="nav-dag-runs"]').click();
  await page.locator('[data-testid="filter-dag-id"]').fill(dagId);
  await page.locator('[data-testid="filter-state"]').selectOption('success');
  await page.locator('[data-testid="filter-submit"]').click();
  await page.waitForURL((u) => u.pathname === '/dag_runs' && u.searchParams.get('dag_id') === dagId);
  const runs = await page.locator('[data-testid="run-row"]').evaluateAll((els) => els.map((e) => e.dataset.dagId));
  report('browse_runs', runs);
  expect(runs.length === 1 && runs[0] === dagId, `the run list shows ${JSON.stringify(runs)}`);
  await shot('browse-runs');
  await page.locator('[data-testid="nav-task-instances"]').click();
  await page.locator('[data-testid="filter-dag-id"]').fill(dagId);
  await page.locator('[data-testid="filter-task-id"]').fill(taskId);
  await page.locator('[data-testid="filter-submit"]').click();
  await page.waitForURL((u) => u.pathname === '/task_instances' && u.searchParams.get('task_id') === taskId);
  const tis = await page.locator('[data-testid="ti-row"]').evaluateAll((els) => els.map((e) => e.dataset.taskId));
  report('browse_tis', tis);
  await shot('browse-task-instances');
  await page.locator('[data-testid="ti-link"]').first().click();
  await page.locator('[data-testid="ti-state"]').waitFor();
});
