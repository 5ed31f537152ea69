// An Admin backfills a daily DAG from its Backfills tab: the dry run says
// how many runs will be created, the confirmed backfill's 5 runs complete
// (the list shows 5/5, completed), then a second backfill (of a paused DAG,
// so its runs wait) shows the in-progress banner and is cancelled from the
// list. The Rust test (updraft/tests/ui_backfill.rs) checks the database.
import { scenario, expect, signIn, poll } from './lib.mjs';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

/** Fills the backfill form of the current page and asks for the dry run. */
async function dryRun(page, from, to) {
  await page.locator('[data-testid="backfill-from"]').fill(from);
  await page.locator('[data-testid="backfill-to"]').fill(to);
  await page.locator('[data-testid="backfill-reprocess"]').selectOption({ label: 'Missing Runs' });
  await Promise.all([page.waitForNavigation(), page.locator('[data-testid="backfill-preview"]').click()]);
  const count = page.locator('[data-testid="backfill-dry-count"]');
  await count.waitFor();
  return (await count.textContent()).trim();
}

/** The first row of the backfills list, after reloading until `done(row)` or `ms`. */
async function rowWhen(page, ms, done) {
  return poll(async () => {
    await page.reload();
    const row = page.locator('[data-testid="backfill-row"]').first();
    await row.waitFor();
    const attrs = await row.evaluate((el) => ({ ...el.dataset }));
    return done(attrs) ? attrs : null;
  }, ms, 250);
}

await scenario('backfill', async ({ page, args, shot, report }) => {
  const base = args['base-url'];
  const dagId = args['dag-id'];
  const from = env('UPDRAFT_E2E_FROM');
  const to = env('UPDRAFT_E2E_TO');
  await signIn(page, base, args.user, args.password);

  // From the DAG page to the backfill form.
  await page.goto(new URL(`/dags/${dagId}/grid`, base).href);
  await Promise.all([page.waitForNavigation(), page.locator('[data-testid="tab-backfills"]').click()]);
  await Promise.all([page.waitForNavigation(), page.locator('[data-testid="backfill-new"]').click()]);
  await page.locator('[data-testid="backfill-form"]').waitFor();
  const said = await dryRun(page, from, to);
  report('dry_run', said);
  report('dry_dates', await page.locator('[data-testid="backfill-dry-date"][data-runs="true"]').count());
  expect(said === '5 runs will be created', `the dry run said ${JSON.stringify(said)}`);
  await shot('dry-run');

  await Promise.all([page.waitForNavigation(), page.locator('[data-testid="backfill-confirm"]').click()]);
  report('after_create', new URL(page.url()).pathname);
  await shot('created');
  const finished = await rowWhen(page, 30000, (r) => r.state === 'completed' && r.done === r.total);
  expect(finished, 'the backfill did not complete within 30 s');
  report('first', finished);
  report('first_progress', (await page.locator('[data-testid="backfill-progress"]').first().textContent()).trim());
  await shot('completed');
  await page.goto(new URL(`/dags/${dagId}/grid`, base).href);
  report('grid_success_columns', await page.locator('[data-testid="grid-run"][data-state="success"]').count());
  report('banner_after_completion', await page.locator('[data-testid="backfill-banner"]').count());
  await shot('grid');

  // A second backfill, of a paused DAG: its runs wait, so it stays active.
  const second = env('UPDRAFT_E2E_SECOND_DAG');
  await page.goto(new URL(`/dags/${second}/backfill`, base).href);
  report('second_dry_run', await dryRun(page, from, to));
  await Promise.all([page.waitForNavigation(), page.locator('[data-testid="backfill-confirm"]').click()]);
  const banner = page.locator('[data-testid="backfill-banner"]');
  await banner.waitFor();
  report('banner', (await banner.textContent()).trim());
  const active = await rowWhen(page, 5000, (r) => r.state === 'running');
  expect(active, 'the second backfill is not shown running');
  await shot('second-running');
  await Promise.all([page.waitForNavigation(), page.locator('[data-testid="backfill-cancel"]').first().click()]);
  const cancelled = await rowWhen(page, 5000, (r) => r.state === 'completed');
  expect(cancelled, 'the cancelled backfill is not shown completed');
  report('second', cancelled);
  report('banner_after_cancel', await page.locator('[data-testid="backfill-banner"]').count());
  await shot('cancelled');
});
