// Proves the chain with no Updraft at all: headless Chromium opens a page on
// loopback, clicks a button that a script on the page answers, and saves a
// screenshot. The page (GET /fixture) comes from the test's own server.
import { scenario, expect } from './lib.mjs';

await scenario('fixture', async ({ page, args, shot, report }) => {
  await page.goto(new URL('/fixture', args['base-url']).href);
  expect((await page.textContent('#status')) === 'waiting', 'the fixture page did not load');
  await page.click('#go');
  await page.waitForSelector('#status:text-is("clicked")');
  report('status', await page.textContent('#status'));
  await shot('clicked');
});
