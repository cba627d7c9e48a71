// Debian's chromium, driven by playwright-core: never a downloaded browser.
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';

export const SCREENSHOTS = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../screenshots');

export async function launch() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A new browser context (its own cookies and sessionStorage: another person, or the same person
 * on another device) whose page fails the journey on any script error or console error, and
 * records every dialog (an `alert` from injected markup would show here).
 */
export async function person(browser, {width = 1280, height = 800, bypassCSP = false} = {}) {
  // bypassCSP only for a journey that injects a script of its own (axe-core): the console's
  // policy (script-src 'self') refuses it otherwise.
  const context = await browser.newContext({viewport: {width, height}, bypassCSP});
  const page = await context.newPage();
  page.errors = [];
  page.dialogs = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) page.errors.push(message.text());
  });
  page.on('dialog', async (dialog) => {
    page.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  return {context, page};
}

/** Saves `page` at 1280 and 390 px wide as screenshots/NAME-1280.png and NAME-390.png. */
export async function shoot(page, name) {
  fs.mkdirSync(SCREENSHOTS, {recursive: true});
  const original = page.viewportSize();
  for (const width of [1280, 390]) {
    await page.setViewportSize({width, height: width === 390 ? 844 : 800});
    await page.screenshot({path: path.join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true});
  }
  await page.setViewportSize(original);
}

/** Fails unless `condition`. */
export function check(condition, message) {
  if (!condition) throw new Error(message);
}
