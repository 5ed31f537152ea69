// A wrong password keeps the browser off /home and shows Airflow's message.
import { scenario, expect, signIn } from './lib.mjs';

const MESSAGE = 'Invalid login. Please try again.';

await scenario('signin_wrong', async ({ page, args, shot, report }) => {
  await signIn(page, args['base-url'], args.user, args.password);
  await page.waitForSelector(`text=${MESSAGE}`);
  const path = new URL(page.url()).pathname;
  report('path', path);
  report('message_shown', true);
  expect(path !== '/home', 'a wrong password reached /home');
  expect((await page.locator('[data-testid="user-name"]').count()) === 0, 'a wrong password shows a signed-in user name');
  await shot('refused');
});
