// An approver signs in, sees the required-actions badge, opens Required
// actions, opens the approval of task `gate` (its Markdown body rendered:
// `**1.2**` in bold) and clicks Approve; the request leaves the open list
// and shows in the answered section with who chose what. (updraft/tests/ui_hitl.rs then checks in the database that
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
  report('subject', (await row.locator('[data-testid="required-action-link"]').textContent()).trim());
  await shot('list');
  await Promise.all([page.waitForNavigation(), row.locator('[data-testid="required-action-link"]').click()]);
  const approve = page.locator('[data-testid="hitl-option"][data-option="Approve"]');
  await approve.waitFor();
  const strong = page.locator('[data-testid="hitl-body"] strong');
  report('body_strong', (await strong.count()) ? (await strong.first().textContent()).trim() : null);
  expect((await strong.count()) === 1, 'the Markdown body has no bold part: not rendered');
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
  const done = page.locator('[data-testid="answered-action"][data-task-id="gate"]');
  await done.waitFor();
  report('answered_by', (await done.locator('[data-testid="answered-by"]').textContent()).trim());
  report('answered_chosen', (await done.locator('[data-testid="answered-chosen"]').textContent()).trim());
  await done.scrollIntoViewIfNeeded();
  await shot('answered');
});
