import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Headless Debian Chromium with fake devices, plus two test-only flags that let WebRTC pair with loopback
 * candidates and show unobfuscated host addresses. No user has those: tests that stand for users launch with
 * USER_CHROMIUM_FLAGS; a test that launches with these says why (a loopback impairment proxy or a cluster
 * of nodes announcing 127.0.0.1 in the media path).
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * CHROMIUM_FLAGS without the two that let WebRTC use loopback and unobfuscated host addresses: WebRTC as in a
 * user's stock Chromium (the server must announce a reachable interface address, not 127.0.0.1).
 */
export const USER_CHROMIUM_FLAGS = CHROMIUM_FLAGS.filter((f) => f !== '--allow-loopback-in-peer-connection' && f !== '--disable-features=WebRtcHideLocalIpsWithMdns');

export const CHROMIUM_PATH = process.env.PROXIMA_CHROMIUM ?? '/usr/bin/chromium';

/** One Chromium with a fresh profile; its pages are tabs of one persistent context (only the last opened is in the foreground: the others run frame callbacks at ~1 Hz). */
export class TestBrowser {
  private constructor(
    private readonly context: BrowserContext,
    private readonly profileDir: string,
  ) {}

  /** `extraArgs`: more Chromium switches for this browser (e.g. field trials); `baseFlags`: e.g. USER_CHROMIUM_FLAGS. */
  static async launch(extraArgs: readonly string[] = [], baseFlags: readonly string[] = CHROMIUM_FLAGS, opts: { executablePath?: string } = {}): Promise<TestBrowser> {
    const profileDir = mkdtempSync(join(tmpdir(), 'proxima-chromium-'));
    const context = await chromium.launchPersistentContext(profileDir, {
      // A wrapper (test/testkit/netns-host.ts) runs Chromium inside a network namespace.
      executablePath: opts.executablePath ?? CHROMIUM_PATH,
      headless: true,
      args: [...baseFlags, ...extraArgs],
      permissions: ['camera', 'microphone'],
    });
    return new TestBrowser(context, profileDir);
  }

  async page(url: string): Promise<Page> {
    const page = await this.context.newPage();
    page.on('pageerror', (e) => process.stderr.write(`[page error] ${e.message}\n`));
    page.on('console', (m) => {
      if (m.type() === 'error') process.stderr.write(`[page console] ${m.text()}\n`);
    });
    await page.goto(url);
    return page;
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    rmSync(this.profileDir, { recursive: true, force: true });
  }
}

export type { Browser, Page };

/** Poll `fn` until it returns a truthy value or the time runs out (then throw with the last value). */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 200): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
