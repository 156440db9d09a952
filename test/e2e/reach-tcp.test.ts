import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics, startTestServer } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';
import { NetnsHost } from '../testkit/netns-host.ts';
import { Coturn } from '../testkit/coturn.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import type { Participant } from '../../src/server/participant.ts';

async function decodesTheOther(page: Page): Promise<boolean> {
  const peers = (await page.evaluate(() => (window as any).proxima.peers())) as Array<{ audio: { totalSamplesReceived: number }; video: { framesDecoded: number } }>;
  return peers.length === 1 && peers[0].video.framesDecoded > 10 && peers[0].audio.totalSamplesReceived > 0;
}

async function openPage(browser: TestBrowser, url: string): Promise<{ page: Page; id: string }> {
  const page = await browser.page(url);
  const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
  return { page, id };
}

/**
 * A user behind a firewall that drops all UDP (a network namespace with an nft rule) joins through ICE-TCP
 * (RFC 6544) on the server's own TCP port, and exchanges media with a user outside on plain UDP. Both
 * browsers run without test flags.
 */
describe('UDP blocked: ICE-TCP on the server itself', () => {
  let server: ProximaServer;
  let net: NetnsHost;
  let inside: TestBrowser;
  let outside: TestBrowser;
  before(async () => {
    // The namespace first: its host-side address is one of the interfaces the server then announces.
    net = await NetnsHost.create('tcp');
    await net.blockUdp();
    server = await startTestServer({ http: { host: '0.0.0.0' }, media: { bindIp: '0.0.0.0', announcedIp: 'auto' } });
    // The page comes over plain HTTP from a non-loopback address, where browsers offer no camera (not a secure
    // context); the flag stands in for the HTTPS a real deployment serves. It changes nothing in WebRTC.
    inside = await TestBrowser.launch([`--unsafely-treat-insecure-origin-as-secure=http://${net.hostIp}:${server.httpPort}`], USER_CHROMIUM_FLAGS, { executablePath: net.chromiumPath });
    outside = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
  });
  after(async () => {
    await inside?.close();
    await outside?.close();
    await server?.close();
    await net?.destroy();
  });

  it('a page that can reach only TCP joins via ICE-TCP and both pages decode each other', async () => {
    assert.ok(server.media.candidates.some((c) => c.protocol === 'tcp' && c.ip === net.hostIp), 'a TCP candidate on the namespace’s side');
    const open = async (browser: TestBrowser, host: string, name: string, x: number): Promise<{ page: Page; id: string }> => {
      const page = await browser.page(`http://${host}:${server.httpPort}/?space=tcp&name=${name}&x=${x}&y=20`);
      const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
      return { page, id };
    };
    const a = await open(outside, '127.0.0.1', 'A', 30);
    const b = await open(inside, net.hostIp, 'B', 32);
    const decodes = async (page: Page) => {
      const peers = (await page.evaluate(() => (window as any).proxima.peers())) as Array<{ audio: { totalSamplesReceived: number }; video: { framesDecoded: number } }>;
      return peers.length === 1 && peers[0].video.framesDecoded > 10 && peers[0].audio.totalSamplesReceived > 0;
    };
    try {
      await waitFor('A and B to decode each other', async () => (await decodes(a.page)) && (await decodes(b.page)), 25_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${serverDiagnostics()}`);
    }
    const p = server.spaces.get('tcp')!.participants.get(b.id)! as Participant;
    assert.equal(p.publishTransport?.remoteProtocol, 'tcp', 'B publishes over TCP');
    assert.equal(p.subscribeTransport?.remoteProtocol, 'tcp', 'B receives over TCP');
    const pa = server.spaces.get('tcp')!.participants.get(a.id)! as Participant;
    assert.equal(pa.publishTransport?.remoteProtocol, 'udp', 'A, outside, stays on UDP');
    await a.page.close();
    await b.page.close();
  });
});

/**
 * A user whose firewall lets out only TCP to the web server and to a TURN server (coturn): no UDP at all,
 * not even the SFU's ICE-TCP port. The server hands out TURN REST credentials with the join; the page
 * relays through coturn (TURN over TCP, relayed to the SFU over UDP) and exchanges media with a page outside.
 */
describe('only a TURN server reachable: coturn over TCP with minted credentials', () => {
  let server: ProximaServer;
  let net: NetnsHost;
  let turn: Coturn;
  let inside: TestBrowser;
  let outside: TestBrowser;
  before(async () => {
    net = await NetnsHost.create('turn');
    turn = await Coturn.start(net.hostIp, 3478 + (process.pid % 1000), 'proxima-test-turn-secret-0123456789');
    server = await startTestServer({ http: { host: '0.0.0.0' }, media: { bindIp: '0.0.0.0', announcedIp: 'auto' }, turn: turn.turnConfig() });
    await net.onlyTcpTo([server.httpPort, turn.port]);
    inside = await TestBrowser.launch([`--unsafely-treat-insecure-origin-as-secure=http://${net.hostIp}:${server.httpPort}`], USER_CHROMIUM_FLAGS, { executablePath: net.chromiumPath });
    outside = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
  });
  after(async () => {
    await inside?.close();
    await outside?.close();
    await server?.close();
    await turn?.stop();
    await net?.destroy();
  });

  it('a page that can reach only the TURN server joins through it and both pages decode each other', async () => {
    const a = await openPage(outside, `${server.url}/?space=turn&name=A&x=30&y=20`);
    const b = await openPage(inside, `http://${net.hostIp}:${server.httpPort}/?space=turn&name=B&x=32&y=20`);
    try {
      await waitFor('A and B to decode each other', async () => (await decodesTheOther(a.page)) && (await decodesTheOther(b.page)), 30_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${serverDiagnostics()}; coturn: ${turn.log().slice(-1500)}`);
    }
    const p = server.spaces.get('turn')!.participants.get(b.id)! as Participant;
    // Media reaches us from coturn's relay address, not from the namespace (its firewall lets nothing else out).
    for (const t of [p.publishTransport, p.subscribeTransport]) {
      assert.equal(t?.remoteAddress, turn.ip, 'B’s media comes from the TURN relay');
      assert.equal(t?.remoteProtocol, 'udp');
    }
    await a.page.close();
    await b.page.close();
  });
});
