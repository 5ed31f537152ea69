// Sign in with the form at /login and land on /home with the user's name in
// the header.
import { scenario, expect, signIn } from './lib.mjs';

await scenario('signin', async ({ page, args, shot, report }) => {
  await signIn(page, args['base-url'], args.user, args.password);
  const path = new URL(page.url()).pathname;
  report('path', path);
  expect(path === '/home', `after signing in the browser is at ${path}, not /home`);
  const name = (await page.textContent('[data-testid="user-name"]')).trim();
  report('user_name', name);
  expect(name.includes(args.user), `the header shows user "${name}", not "${args.user}"`);
  await shot('home');
});
