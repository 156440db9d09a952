/**
 * Stock Firefox (Debian's firefox-esr) for the end-to-end tests, driven over WebDriver BiDi by
 * puppeteer-core: Playwright's Firefox needs its own patched build, puppeteer drives the browser as shipped.
 * Nothing is downloaded. Pages of both engines are wrapped as `E2EPage` so a test treats them alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser as PuppeteerBrowser, type Page as PuppeteerPage } from 'puppeteer-core';
import type { Page as PlaywrightPage } from './browser.ts';

export const FIREFOX_PATH = process.env.PROXIMA_FIREFOX ?? '/usr/bin/firefox-esr';

/**
 * Prefs for an unattended Firefox with a fake camera and microphone. None of them changes how WebRTC picks
 * addresses: loopback stays off and host candidates stay mDNS-obfuscated, as in a user's Firefox.
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  // Fake devices (a moving test pattern and a tone) instead of a camera: headless machines have none.
  'media.navigator.streams.fake': true,
  // getUserMedia without the permission doorhanger nobody can click in headless mode.
  'media.navigator.permission.disabled': true,
  // Received audio plays from <audio> without a click (as Chromium's --autoplay-policy switch in the other kit).
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  // First-run pages, update checks and telemetry are already off in the profile puppeteer writes.
};

/** What the e2e tests need of a page, in either engine. */
export interface E2EPage {
  readonly engine: 'chromium' | 'firefox';
  /**
   * Runs `fn(arg)` in the page and returns its (awaited, JSON-serialisable) result. `fn` is sent as source
   * text: no named functions inside it (tsx's keepNames would call a helper the page lacks).
   */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  screenshot(path: string): Promise<void>;
  close(): Promise<void>;
}

/** A Playwright (Chromium) page as an E2EPage. */
export function chromiumPage(page: PlaywrightPage): E2EPage {
  return {
    engine: 'chromium',
    evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A) => page.evaluate(fn as (arg: unknown) => R | Promise<R>, arg as unknown) as Promise<R>,
    screenshot: async (path) => void (await page.screenshot({ path })),
    close: () => page.close(),
  };
}

function firefoxPage(page: PuppeteerPage): E2EPage {
  return {
    engine: 'firefox',
    evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg?: A) => page.evaluate(fn as (arg: unknown) => Promise<R>, arg) as Promise<R>,
    screenshot: async (path) => void (await page.screenshot({ path: path as `${string}.png` })),
    close: () => page.close(),
  };
}

/** One Firefox with a fresh profile; each page is a tab. */
export class FirefoxBrowser {
  private constructor(
    private readonly browser: PuppeteerBrowser,
    private readonly profileDir: string,
  ) {}

  /** `prefs`: more Firefox prefs for this browser, over FIREFOX_PREFS. */
  static async launch(prefs: Readonly<Record<string, unknown>> = {}): Promise<FirefoxBrowser> {
    const profileDir = mkdtempSync(join(tmpdir(), 'proxima-firefox-'));
    try {
      const browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath: FIREFOX_PATH,
        headless: true,
        userDataDir: profileDir,
        extraPrefsFirefox: { ...FIREFOX_PREFS, ...prefs },
        // BiDi is puppeteer's only Firefox protocol; the browser's own start can take a while on a busy machine.
        protocol: 'webDriverBiDi',
        timeout: 60_000,
      });
      return new FirefoxBrowser(browser, profileDir);
    } catch (e) {
      rmSync(profileDir, { recursive: true, force: true });
      throw e;
    }
  }

  async page(url: string): Promise<E2EPage> {
    const page = await this.browser.newPage();
    page.on('pageerror', (e) => process.stderr.write(`[firefox page error] ${(e as Error).message ?? String(e)}\n`));
    page.on('console', (m) => {
      if (m.type() === 'error') process.stderr.write(`[firefox console] ${m.text()}\n`);
    });
    await page.goto(url);
    return firefoxPage(page);
  }

  /** The browser's version string (e.g. "firefox/153.8.0"), for test logs. */
  version(): Promise<string> {
    return this.browser.version();
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    rmSync(this.profileDir, { recursive: true, force: true });
  }
}

/** The first IPv4 of a non-loopback interface: an address a browser without loopback switches reaches. */
export function interfaceIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('no non-loopback IPv4 interface: stock browsers cannot reach a server announcing 127.0.0.1');
}
