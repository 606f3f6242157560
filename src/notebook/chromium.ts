/**
 * Headless Chromium for figure export (Plotly → PNG). Debian's `chromium` driven by playwright-core;
 * no browser download. One browser per process, started on first use; `closeBrowser()` ends it.
 */
import * as fs from 'fs';
import type { Browser } from 'playwright-core';

/** The Chromium binary: COPRS_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(): string {
  return process.env.COPRS_CHROMIUM || '/usr/bin/chromium';
}

export function chromiumAvailable(): boolean {
  return fs.existsSync(chromiumPath());
}

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let browser: Promise<Browser> | null = null;

export async function getBrowser(): Promise<Browser> {
  if (!chromiumAvailable()) {
    throw new Error(`Chromium not found at ${chromiumPath()}: install Debian's chromium (apt-get install chromium) or set COPRS_CHROMIUM`);
  }
  if (browser == null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    browser = chromium.launch({ executablePath: chromiumPath(), args: FLAGS, headless: true });
    browser.catch(() => { browser = null; });
  }
  return browser;
}

export async function closeBrowser(): Promise<void> {
  if (browser == null) return;
  const b = browser;
  browser = null;
  try {
    await (await b).close();
  } catch {
    // already gone
  }
}
