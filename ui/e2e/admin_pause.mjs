// An Admin clicks a DAG's pause toggle and sees it flip, and the flip is still
// there after a reload (the server stored it; the Rust test checks the
// database too).
import { scenario, expect, signIn, dagRow, toggleState, toggleControl, poll } from './lib.mjs';

await scenario('admin_pause', async ({ page, args, shot, report, timeout }) => {
  const dagId = args['dag-id'];
  await signIn(page, args['base-url'], args.user, args.password);
  expect(new URL(page.url()).pathname === '/home', `after signing in the browser is at ${page.url()}`);
  const toggle = () => dagRow(page, dagId).locator('[data-testid="pause-toggle"]');
  await toggle().waitFor();
  const before = await toggleState(toggle());
  report('before', before);
  await shot('before');

  const posted = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith(`/dags/${dagId}/pause`),
  );
  await (await toggleControl(toggle())).click();
  const response = await posted;
  report('post_status', response.status());
  expect(response.status() < 400, `POST /dags/${dagId}/pause answered ${response.status()}`);
  await page.waitForLoadState('load');

  const changed = async () => {
    if ((await toggle().count()) === 0) return null;
    const now = await toggleState(toggle()).catch(() => null);
    return now && JSON.stringify(now) !== JSON.stringify(before) ? now : null;
  };
  const after = await poll(changed, timeout);
  report('after', after);
  expect(after, `the pause toggle of ${dagId} looks the same after the click: ${JSON.stringify(before)}`);
  await shot('after');

  await page.reload();
  await toggle().waitFor();
  const reloaded = await toggleState(toggle());
  report('after_reload', reloaded);
  expect(JSON.stringify(reloaded) === JSON.stringify(after), 'the flipped toggle did not survive a reload');
});
