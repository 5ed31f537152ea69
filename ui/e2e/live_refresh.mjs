// While a run is going, a signed-in user watches, without reloading:
// the task instance page's log tail grows until the try ends (its status line
// says so), then the grid's cell of the next task turns green by itself.
// Inputs from the environment: UPDRAFT_E2E_RUN_ID, UPDRAFT_E2E_TASK_ID (the
// task whose log grows; its last line UPDRAFT_E2E_LOG_TEXT) and
// UPDRAFT_E2E_NEXT_TASK_ID (the task whose grid cell is watched).
import { scenario, expect, signIn, poll } from './lib.mjs';

await scenario('live_refresh', async ({ page, args, shot, report }) => {
  const dagId = args['dag-id'];
  const runId = process.env.UPDRAFT_E2E_RUN_ID;
  const taskId = process.env.UPDRAFT_E2E_TASK_ID;
  const lastLine = process.env.UPDRAFT_E2E_LOG_TEXT;
  const nextTask = process.env.UPDRAFT_E2E_NEXT_TASK_ID;
  await signIn(page, args['base-url'], args.user, args.password);

  const ti = `/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}`;
  await page.goto(new URL(ti, args['base-url']).href);
  const log = page.locator('[data-testid="log"]');
  await log.waitFor();
  // A page reload would drop this marker: what follows is the page's own tail.
  await page.evaluate(() => { window.__updraftNoReload = true; });
  const first = await log.textContent();
  report('first_had_last_line', first.includes(lastLine));
  expect(!first.includes(lastLine), 'the try had already ended when the page opened: nothing to tail');
  await shot('tail-running');
  const grown = await poll(async () => ((await log.textContent()) || '').includes(lastLine), 30000, 250);
  report('tail_reached_last_line', Boolean(grown));
  expect(grown, `the log never showed "${lastLine}" without a reload`);
  const status = await poll(async () => {
    const t = ((await page.locator('[data-testid="log-status"]').textContent()) || '').trim();
    return t === 'This try has ended.' ? t : null;
  }, 15000, 250);
  report('tail_status', status);
  expect(status, 'the log status never said the try ended');
  report('tail_no_reload', await page.evaluate(() => window.__updraftNoReload === true));
  await shot('tail-ended');

  await page.goto(new URL(`/dags/${encodeURIComponent(dagId)}/grid`, args['base-url']).href);
  await page.locator('[data-testid="grid"]').waitFor();
  await page.evaluate(() => { window.__updraftNoReload = true; });
  const cell = () => page.locator(`[data-testid="grid-cell"][data-task-id="${nextTask}"][data-run-id="${runId}"]`);
  const before = await cell().getAttribute('data-state');
  report('grid_state_before', before);
  expect(before !== 'success', `${nextTask} had already succeeded when the grid opened`);
  await shot('grid-running');
  const after = await poll(async () => {
    const s = await cell().getAttribute('data-state').catch(() => null);
    return s === 'success' ? s : null;
  }, 30000, 250);
  report('grid_state_after', after);
  expect(after === 'success', `the grid cell of ${nextTask} never turned success by itself`);
  report('grid_no_reload', await page.evaluate(() => window.__updraftNoReload === true));
  await shot('grid-done');
});
