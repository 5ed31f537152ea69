// Shared harness of the browser scenarios: launch Debian's Chromium through
// playwright-core, run one scenario, print ONE line of JSON on stdout and exit
// 0 (passed) or 1 (failed). updraft/tests/ui_browser.rs runs the scenarios and
// reads that line; a developer can run one by hand:
//
//   node ui/e2e/signin.mjs --base-url http://127.0.0.1:8080 --user admin \
//     --password admin --screenshots /tmp/shots
//
// playwright-core is loaded from UPDRAFT_UI_E2E_NODE_MODULES, else from
// ~/.cache/updraft/ui-e2e/node_modules (scripts/ui-e2e.sh install): it lives
// outside the clone. The browser is UPDRAFT_CHROMIUM, else /usr/bin/chromium.

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// What is known to work on these machines: without the background-networking
// flags Chromium keeps trying to reach Google's hosts through a closed network.
// launch() gives every run a fresh temporary profile (--user-data-dir) and
// removes it on close.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function loadPlaywright() {
  const modules =
    process.env.UPDRAFT_UI_E2E_NODE_MODULES || join(homedir(), '.cache', 'updraft', 'ui-e2e', 'node_modules');
  // Resolution starts at the folder that holds node_modules.
  const require = createRequire(join(modules, '..', 'resolve-from-here.cjs'));
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core not found under ${modules} (run scripts/ui-e2e.sh install): ${e.message}`);
  }
}

export class CheckFailed extends Error {}

/** Throws (the scenario fails) unless `cond` holds. */
export function expect(cond, message) {
  if (!cond) throw new CheckFailed(message);
}

/** Polls `fn` until it returns a truthy value or `ms` pass; returns the last value. */
export async function poll(fn, ms, stepMs = 100) {
  const deadline = Date.now() + ms;
  let value = await fn();
  while (!value && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, stepMs));
    value = await fn();
  }
  return value;
}

/**
 * Runs `body({ page, args, shot, report })` in a new page of a fresh headless
 * Chromium. `args` are the command-line options (--base-url, --user,
 * --password, --screenshots, --dag-id, --timeout-ms); `shot(label)` saves a
 * full-page PNG as <screenshots>/<name>-<label>.png; `report(key, value)`
 * adds to the JSON's `checks`. On failure a `<name>-failure.png` is saved.
 */
export async function scenario(name, body) {
  const t0 = performance.now();
  const since = (t) => Math.round(performance.now() - t);
  const result = { scenario: name, ok: false, timings_ms: {}, checks: {}, screenshots: [] };
  let args;
  try {
    ({ values: args } = parseArgs({
      options: {
        'base-url': { type: 'string' },
        user: { type: 'string', default: '' },
        password: { type: 'string', default: '' },
        screenshots: { type: 'string' },
        'dag-id': { type: 'string', default: '' },
        'timeout-ms': { type: 'string', default: '15000' },
      },
    }));
    if (!args['base-url'] || !args.screenshots) throw new Error('--base-url and --screenshots are required');
  } catch (e) {
    process.stderr.write(`${name}: ${e.message}\n`);
    process.exit(2);
  }
  const timeout = Number(args['timeout-ms']);
  mkdirSync(args.screenshots, { recursive: true });
  // A hung browser must not hang the test: the whole scenario has a deadline.
  const watchdog = setTimeout(() => {
    result.error = `scenario did not finish within ${4 * timeout} ms`;
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(1);
  }, 4 * timeout);

  let browser;
  let page;
  const shot = async (label) => {
    const path = join(args.screenshots, `${name}-${label}.png`);
    await page.screenshot({ path, fullPage: true });
    result.screenshots.push(path);
    return path;
  };
  try {
    const { chromium } = loadPlaywright();
    browser = await chromium.launch({
      executablePath: process.env.UPDRAFT_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      chromiumSandbox: false,
      args: CHROMIUM_ARGS,
      timeout,
    });
    result.timings_ms.launch = since(t0);
    result.browser = `chromium ${browser.version()}`;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(timeout);
    page.setDefaultNavigationTimeout(timeout);
    const t1 = performance.now();
    await body({ page, args, shot, report: (k, v) => (result.checks[k] = v), timeout });
    result.timings_ms.scenario = since(t1);
    result.ok = true;
  } catch (e) {
    result.error = e instanceof CheckFailed ? e.message : String(e?.stack || e);
    if (page) {
      result.url = page.url();
      await shot('failure').catch(() => {});
    }
  } finally {
    await browser?.close().catch(() => {});
    clearTimeout(watchdog);
  }
  result.timings_ms.total = since(t0);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

// ---- the web UI's contract (updraft webserver) -----------------------------

/** Fills and submits the sign-in form at /login (fields username, password). */
export async function signIn(page, baseUrl, user, password) {
  await page.goto(new URL('/login', baseUrl).href);
  await page.fill('input[name="username"]', user);
  await page.fill('input[name="password"]', password);
  const form = page.locator('form:has(input[name="password"])');
  const submit = form.locator('button[type="submit"], input[type="submit"], button:not([type])').first();
  await Promise.all([page.waitForNavigation(), submit.click()]);
}

/** The DAG row of `dagId` on /home. */
export function dagRow(page, dagId) {
  return page.locator(`[data-testid="dag-row"][data-dag-id="${dagId}"]`);
}

/**
 * The control to click for a pause toggle: the element itself when it is a
 * button, else (the test id on the form, say) the submit button inside it.
 */
export async function toggleControl(toggle) {
  const tag = await toggle.evaluate((el) => el.tagName.toLowerCase());
  if (tag === 'button' || tag === 'input') return toggle;
  return toggle.locator('button, input[type="submit"]').first();
}

/**
 * What a pause toggle shows: its ARIA/checked/data attributes, its text and the
 * values its form would post (without the CSRF token). A flip changes this.
 */
export async function toggleState(toggle) {
  return toggle.evaluate((el) => {
    const attrs = {};
    for (const a of el.attributes) {
      if (a.name.startsWith('aria-') || a.name.startsWith('data-') || ['class', 'title', 'value', 'name'].includes(a.name)) {
        attrs[a.name] = a.value;
      }
    }
    const form = el.form || el.closest('form');
    const fields = {};
    if (form) {
      for (const input of form.querySelectorAll('input')) {
        if (input.name && input.name !== 'csrf_token') fields[input.name] = input.type === 'checkbox' ? input.checked : input.value;
      }
    }
    const text = el.textContent.replace(/\s+/g, ' ').trim();
    return { attrs, checked: 'checked' in el ? el.checked : null, text, fields };
  });
}

/** The page's CSRF token: a form's hidden csrf_token, else a <meta name="csrf-token">. */
export async function csrfToken(page) {
  return page.evaluate(() => {
    const input = document.querySelector('input[name="csrf_token"]');
    if (input) return { token: input.value, from: 'input[name=csrf_token]' };
    const meta = document.querySelector('meta[name="csrf-token"], meta[name="csrf_token"]');
    if (meta) return { token: meta.content, from: 'meta' };
    return { token: null, from: null };
  });
}
