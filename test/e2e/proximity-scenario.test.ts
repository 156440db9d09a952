import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serverDiagnostics, startTestServer, USER_MEDIA } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

/** What the page's automation surface returns per connected person (web/README.md). */
interface Peer {
  id: string;
  name: string;
  gain: number;
  audio: { packetsReceived: number; totalSamplesReceived: number };
  video: { framesDecoded: number; frameWidth: number; frameHeight: number };
}

const SPACE = 'scenario';
const SCREENSHOT = fileURLToPath(new URL('../../docs/screenshot.png', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Person {
  name: string;
  page: Page;
  id: string;
}

const peers = (p: Person): Promise<Peer[]> => p.page.evaluate(() => (window as any).proxima.peers());
const peerOf = async (p: Person, other: Person) => (await peers(p)).find((x) => x.id === other.id);
/** Media packets a page received in all, from its subscribe connection's stats. */
const packetsIn = (p: Person): Promise<number> =>
  p.page.evaluate(async () => ((await (window as any).proxima.stats()).inbound as Array<{ packetsReceived?: number }>).reduce((n, s) => n + (s.packetsReceived ?? 0), 0));
const move = (p: Person, x: number, y: number) => p.page.evaluate(([x, y]) => (window as any).proxima.move(x, y), [x, y] as const);

/** `who` decodes video and plays audio from `from`. */
async function receives(who: Person, from: Person, what = `${who.name} to receive ${from.name}`): Promise<void> {
  await waitFor(what, async () => {
    const p = await peerOf(who, from);
    return p && p.video.framesDecoded > 3 && p.video.frameWidth > 0 && p.audio.totalSamplesReceived > 0 ? p : null;
  }, 20_000, 250).catch((e: Error) => {
    throw new Error(`${e.message}; server ${serverDiagnostics()}`);
  });
}

// Positions on the built-in office map (src/proximity/maps/office.json): open floor in the middle, the
// meeting room (a private area, x 1–12, y 1–8) with its door at (6–7, 9).
describe('a space with five people: proximity, private area, ghost mode, spotlight', () => {
  let server: ProximaServer;
  let browser: TestBrowser;
  const people: Record<string, Person> = {};
  const join = async (name: string, x: number, y: number, publish = true) => {
    const page = await browser.page(`${server.url}/?space=${SPACE}&name=${name}&x=${x}&y=${y}&publish=${publish ? 1 : 0}&video=320x240`);
    await page.setViewportSize({ width: 1280, height: 800 });
    const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
    return (people[name] = { name, page, id });
  };

  before(async () => {
    server = await startTestServer({ media: USER_MEDIA });
    browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
    await join('A', 30, 20);
    await join('B', 32, 20);
    await join('C', 20, 20);
    await join('D', 10, 20);
    await join('S', 36, 27);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('A and B, two tiles apart, see and hear each other at full volume', async () => {
    const { A, B } = people as Record<string, Person>;
    await receives(B, A);
    await receives(A, B);
    assert.equal((await peerOf(B, A))?.gain, 1);
  });

  it('C, ten tiles away, receives nothing from A or B: zero media packets, not just muted', async () => {
    const { A, B, C } = people as Record<string, Person>;
    await sleep(1000);
    assert.equal(await peerOf(C, A), undefined);
    assert.equal(await peerOf(C, B), undefined);
    assert.equal(await packetsIn(C), 0);
  });

  it('C walks to A and decodes A’s first frame shortly after arriving', async () => {
    const { A, B, C } = people as Record<string, Person>;
    const t0 = Date.now();
    await move(C, 29, 22);
    const arrived = Date.now();
    await receives(C, A);
    const firstFrame = Date.now();
    process.stdout.write(`# walk-in: ${arrived - t0} ms walking, first frame of A ${firstFrame - arrived} ms after arriving (polled every 250 ms)\n`);
    assert.ok(firstFrame - arrived < 5000, `first frame within 5 s of arriving (${firstFrame - arrived} ms)`);
    await receives(C, B);
    // Four people on screen, two video bubbles at C (A and B): the README's picture.
    mkdirSync(fileURLToPath(new URL('../../docs/', import.meta.url)), { recursive: true });
    await sleep(1500);
    await C.page.screenshot({ path: SCREENSHOT });
  });

  it('A switches to ghost mode: B’s bubble of A disappears; back to normal, it returns', async () => {
    const { A, B } = people as Record<string, Person>;
    await A.page.evaluate(() => (window as any).proxima.setMode('ghost'));
    await waitFor('B to lose A', async () => (await peerOf(B, A)) === undefined && (await B.page.locator(`.bubble[data-participant="${A.id}"]`).count()) === 0);
    await waitFor('A to lose B', async () => (await peerOf(A, B)) === undefined);
    await A.page.evaluate(() => (window as any).proxima.setMode('normal'));
    await receives(B, A, 'B to receive A again');
  });

  it('S in the spotlight far away is received by everyone, while S receives nobody far from S', async () => {
    const { A, B, C, D, S } = people as Record<string, Person>;
    await S.page.evaluate(() => (window as any).proxima.spotlight(true));
    for (const p of [A, B, C, D]) await receives(p, S);
    assert.equal((await peerOf(D, S))?.gain, 1, 'spotlight is heard at full volume');
    await sleep(500);
    assert.deepEqual(await peers(S), [], 'S hears only those near S: nobody');
    await S.page.evaluate(() => (window as any).proxima.spotlight(false));
  });

  it('A and D inside the meeting room see each other; B just outside the door receives nothing from either', async () => {
    const { A, B, D } = people as Record<string, Person>;
    await Promise.all([move(D, 3, 6), move(A, 9, 7), move(B, 6, 10)]);
    await receives(A, D);
    await receives(D, A);
    await waitFor('B to lose A', async () => (await peerOf(B, A)) === undefined);
    const bAt = await B.page.evaluate(() => (window as any).proxima.self());
    assert.deepEqual([bAt.x, bAt.y], [6, 10]);
    const before = (await peers(B)).map((p) => p.id);
    assert.ok(!before.includes(A.id) && !before.includes(D.id), 'B has neither A nor D');
    // Nothing from inside reaches B: its received media from the room does not grow.
    const fromInside = async () => (await B.page.evaluate(async (ids) => {
      const c = (window as any).proxima.client;
      const pc: RTCPeerConnection | null = c.subscribePc;
      if (!pc) return 0;
      const mids = new Set<string>();
      for (const t of pc.getTransceivers()) if (t.mid && t.receiver.track && ids.includes(c.remoteTracks.get(t.receiver.track)?.publisherId)) mids.add(t.mid);
      let n = 0;
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && mids.has(s.mid)) n += s.packetsReceived ?? 0;
      });
      return n;
    }, [A.id, D.id])) as number;
    await sleep(700);
    const n0 = await fromInside();
    await sleep(2000);
    assert.equal(await fromInside(), n0, 'no packets from A or D reach B');
  });
});
