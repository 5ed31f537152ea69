// A User triggers a DAG from its params form: a value against the param's
// schema is refused next to its field (400), the corrected form creates the
// run, and the run's trigger shows in the audit log. The Rust test
// (updraft/tests/ui_actions.rs) checks the run and its conf in the database.
import { scenario, expect, signIn } from './lib.mjs';

await scenario('trigger_params', async ({ page, args, shot, report }) => {
  const dagId = args['dag-id'];
  const base = args['base-url'];
  await signIn(page, base, args.user, args.password);
  await page.goto(new URL(`/dags/${dagId}/trigger`, base).href);
  const form = page.locator('[data-testid="trigger-form"]');
  await form.waitFor();
  const count = page.locator('[data-testid="param-count"]');
  report('count_default', await count.inputValue());
  await shot('form');

  // A count below the minimum: refused, the error next to the field.
  await count.fill('0');
  let answered = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.locator('[data-testid="trigger-submit"]').click();
  const refused = await answered;
  report('bad_status', refused.status());
  expect(refused.status() === 400, `a count of 0 answered ${refused.status()}`);
  await page.waitForLoadState('load');
  const error = page.locator('.field[data-param="count"] [data-testid="field-error"]');
  await error.waitFor();
  report('field_error', (await error.textContent()).trim());
  await shot('field-error');

  // Corrected: the run is created and the browser leaves the form.
  await page.locator('[data-testid="param-count"]').fill('5');
  await page.locator('[data-testid="param-color"]').selectOption({ label: 'blue' });
  answered = page.waitForResponse((r) => r.request().method() === 'POST');
  // The redirect goes to the DAG's grid (another page of the UI; on a
  // branch without it, a 404 that Chromium reports as a failed navigation).
  const left = page
    .waitForURL((url) => !url.pathname.endsWith('/trigger'), { waitUntil: 'commit' })
    .catch((e) => report('grid_navigation', String(e.message).split('\n')[0]));
  await page.locator('[data-testid="trigger-submit"]').click();
  const created = await answered;
  await left;
  await page.waitForLoadState('load').catch(() => {});
  report('good_status', created.status());
  expect(created.status() === 303, `the corrected form answered ${created.status()}`);
  report('redirected_to', new URL(created.headers().location, base).pathname);

  // The run's trigger in the audit log (in a second tab of the same
  // session, whatever the first one shows).
  const audit = await page.context().newPage();
  await audit.goto(new URL(`/audit-log?dag_id=${dagId}`, base).href);
  const row = audit.locator('[data-testid="audit-row"][data-event="trigger_dag_run"]');
  await row.first().waitFor();
  report('audit_row', (await row.first().textContent()).replace(/\s+/g, ' ').trim());
  await audit.close();
  // By now the first tab has settled: show the audit log there too.
  await page.goto(new URL(`/audit-log?dag_id=${dagId}`, base).href);
  await page.locator('[data-testid="audit-row"]').first().waitFor();
  await shot('audit-log');
});
