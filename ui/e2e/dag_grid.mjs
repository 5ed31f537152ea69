// A signed-in user opens a DAG's grid after a run succeeded, sees every cell
// green (state success), collapses a task group, opens a task instance from
// its cell and reads its log. Two inputs come from the environment (lib.mjs
// parses its options strictly): UPDRAFT_E2E_TASK_ID, the task whose log is
// read, and UPDRAFT_E2E_LOG_TEXT, a line that log must contain.
import { scenario, expect, signIn, poll } from './lib.mjs';

await scenario('dag_grid', async ({ page, args, shot, report, timeout }) => {
  const dagId = args['dag-id'];
  const taskId = process.env.UPDRAFT_E2E_TASK_ID;
  const logText = process.env.UPDRAFT_E2E_LOG_TEXT;
  await signIn(page, args['base-url'], args.user, args.password);

  // From the DAG list, the DAG's id links to its grid.
  await page.locator(`[data-testid="dag-row"][data-dag-id="${dagId}"] [data-testid="dag-link"]`).click();
  await page.waitForURL((u) => u.pathname === `/dags/${dagId}/grid`);
  await page.locator('[data-testid="grid"]').waitFor();
  const cells = await page.locator('[data-testid="grid-cell"]').evaluateAll((els) =>
    els.map((e) => ({ task: e.dataset.taskId, run: e.dataset.runId, state: e.dataset.state })),
  );
  report('cells', cells);
  expect(cells.length > 0, 'the grid has no cells');
  expect(cells.every((c) => c.state === 'success'), `not every cell is success: ${JSON.stringify(cells)}`);
  const colour = await page
    .locator('[data-testid="grid-cell"]')
    .first()
    .evaluate((e) => getComputedStyle(e).backgroundColor);
  report('success_colour', colour);
  expect(colour === 'rgb(0, 128, 0)', `a success cell is ${colour}, not Airflow's green`);
  await shot('grid');

  // A task group collapses: its member rows are hidden.
  const toggle = page.locator('[data-testid="group-toggle"]').first();
  if ((await toggle.count()) > 0) {
    const group = await toggle.getAttribute('data-group');
    await toggle.click();
    const hidden = await page
      .locator('tr[data-groups]')
      .evaluateAll((rows, g) => rows.filter((r) => r.dataset.groups.split(' ').includes(g)).every((r) => r.hidden), group);
    report('group_collapsed', hidden);
    expect(hidden, `the rows of group ${group} are still shown after collapsing it`);
    await shot('collapsed');
    await toggle.click();
  }

  // The task's cell opens its task instance page with the log.
  await page.locator(`[data-testid="grid-cell"][data-task-id="${taskId}"]`).first().click();
  await page.locator('[data-testid="ti-state"]').waitFor();
  const state = await page.locator('[data-testid="ti-state"]').getAttribute('data-state');
  report('ti_state', state);
  expect(state === 'success', `the task instance page shows ${state}`);
  const log = await poll(async () => {
    const t = await page.locator('[data-testid="log"]').textContent();
    return t && t.includes(logText) ? t : null;
  }, timeout);
  report('log_has_text', Boolean(log));
  expect(log, `the log of ${taskId} does not show "${logText}"`);
  report('rendered_fields', await page.locator('[data-testid="rendered-field"]').count());
  await shot('task-instance');

  await page.locator('[data-testid="tab-code"]').click();
  await page.locator('[data-testid="code"]').waitFor();
  await shot('code');
});
