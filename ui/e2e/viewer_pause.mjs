// A Viewer sees the DAG but cannot pause it: posting the pause form directly
// (with the page's own CSRF token, so that only the role can be the reason) is
// refused with 403. Whether the page offers the toggle at all is reported
// (toggle_present, toggle_enabled); the Rust test checks the database kept
// is_paused.
import { scenario, expect, signIn, dagRow, csrfToken, toggleControl } from './lib.mjs';

await scenario('viewer_pause', async ({ page, args, shot, report }) => {
  const dagId = args['dag-id'];
  await signIn(page, args['base-url'], args.user, args.password);
  expect(new URL(page.url()).pathname === '/home', `after signing in the browser is at ${page.url()}`);
  const row = dagRow(page, dagId);
  await row.waitFor();
  const toggle = row.locator('[data-testid="pause-toggle"]');
  const count = await toggle.count();
  const usable = count > 0 && (await (await toggleControl(toggle.first())).isEnabled());
  report('toggle_present', count > 0);
  report('toggle_enabled', usable);
  await shot('home');

  const csrf = await csrfToken(page);
  report('csrf_from', csrf.from);
  const response = await page.evaluate(
    async ({ dagId, token }) => {
      const body = new URLSearchParams();
      if (token) body.set('csrf_token', token);
      // What an Admin's toggle posts to unpause: DAGs are paused at creation,
      // so a server that wrongly obeyed would change the DAG (the Rust test
      // checks the database).
      body.set('is_paused', 'false');
      const r = await fetch(`/dags/${encodeURIComponent(dagId)}/pause`, {
        method: 'POST',
        body,
        redirect: 'manual',
        credentials: 'same-origin',
      });
      return { status: r.status, type: r.type };
    },
    { dagId, token: csrf.token },
  );
  report('post_status', response.status);
  expect(response.status === 403, `a Viewer's POST /dags/${dagId}/pause answered ${response.status} (${response.type}), not 403`);
  // The server's refusal is what protects the DAG; the page should not offer
  // the action either (reported above, not required: the contract allows a
  // visible-but-refused toggle).
});
