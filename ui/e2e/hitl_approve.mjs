// An approver signs in, sees the required-actions badge, opens Required
// actions, opens the approval of task `gate` and clicks Approve; the request
// leaves the list. (updraft/tests/ui_hitl.rs then checks in the database that
// the downstream task ran.)
import { scenario, expect, signIn, poll } from './lib.mjs';

await scenario('hitl_approve', async ({ page, args, shot, report, timeout }) => {
  await signIn(page, args['base-url'], args.user, args.password);
  const badge = page.locator('[data-testid="hitl-count"]');
  const count = await poll(async () => ((await badge.textContent().catch(() => '')) || '').trim(), timeout);
  report('badge', count);
  expect(count === '1', `the required-actions badge shows ${JSON.stringify(count)}, not "1"`);
  await shot('home');

  await page.goto(new URL('/required-actions', args['base-url']).href);
  const row = page.locator('[data-testid="required-action"][data-task-id="gate"]');
  await row.waitFor();
  report('subject', (await row.locator('a').textContent()).trim());
  await shot('list');
  await Promise.all([page.waitForNavigation(), row.locator('a').click()]);
  const approve = page.locator('[data-testid="hitl-option"][data-option="Approve"]');
  await approve.waitFor();
  await shot('form');

  const posted = page.waitForResponse((r) => r.request().method() === 'POST');
  await Promise.all([page.waitForNavigation(), approve.click()]);
  const response = await posted;
  report('post_status', response.status());
  expect(response.status() < 400, `the answer was refused: ${response.status()}`);
  report('path_after', new URL(page.url()).pathname);
  expect(new URL(page.url()).pathname === '/required-actions', `after answering the browser is at ${page.url()}`);
  const left = await page.locator('[data-testid="required-action"]').count();
  report('open_after', left);
  expect(left === 0, `${left} required actions are still listed after the answer`);
  await shot('answered');
});
