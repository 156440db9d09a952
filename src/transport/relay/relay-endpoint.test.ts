import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { dropCount } from '../../metrics/drop-reasons.ts';
import type { DropReason } from '../../metrics/drop-reasons.ts';
import { FakeClock } from '../../util/clock.ts';
import type { Clock } from '../../util/clock.ts';
import { WeatherProxy } from '../../../tools/weather/udp-proxy.ts';
import { RelayEndpoint } from './relay-endpoint.ts';
import type { RelayEndpointHandler, RelayEndpointOptions, RelayStreamStats } from './relay-endpoint.ts';
import { RELAY_RTP, nodeNumOf } from './relay-packet.ts';

const HOST = '127.0.0.1';

interface Delivered {
  peerId: string;
  originNum: number;
  streamId: number;
  data: Buffer;
  nowMs: number;
}

/** Records every event; `throwOnRtp` makes onRtp throw (a broken handler). */
class Recorder implements RelayEndpointHandler {
  readonly rtp: Delivered[] = [];
  readonly rtcp: Delivered[] = [];
  readonly rtt: Array<{ peerId: string; rttMs: number }> = [];
  readonly silent: Array<{ peerId: string; at: number }> = [];
  readonly quiet: Array<{ peerId: string; at: number }> = [];
  readonly control: Buffer[] = [];
  throwOnRtp = false;
  constructor(private readonly clock?: Clock) {}
  onRtp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number, nowMs: number): void {
    if (this.throwOnRtp) throw new Error('handler bug');
    this.rtp.push({ peerId, originNum, streamId, data: Buffer.from(buf.subarray(offset, offset + length)), nowMs });
  }
  onRtcp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number, nowMs: number): void {
    this.rtcp.push({ peerId, originNum, streamId, data: Buffer.from(buf.subarray(offset, offset + length)), nowMs });
  }
  onRtt(peerId: string, rttMs: number): void {
    this.rtt.push({ peerId, rttMs });
  }
  onPeerSilent(peerId: string): void {
    this.silent.push({ peerId, at: this.clock?.now() ?? performance.now() });
  }
  onPeerQuiet(peerId: string): void {
    this.quiet.push({ peerId, at: this.clock?.now() ?? performance.now() });
  }
  onControl(_peerId: string, buf: Buffer, offset: number, length: number): void {
    this.control.push(Buffer.from(buf.subarray(offset, offset + length)));
  }
}

/** Real UDP needs real time: poll briefly (fails after `ms`). */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Let in-flight loopback datagrams land (for asserting that something did NOT happen). */
const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

async function endpoint(t: TestContext, opts: Partial<RelayEndpointOptions> & { nodeId: string }): Promise<{ ep: RelayEndpoint; rec: Recorder }> {
  const rec = new Recorder(opts.clock);
  const ep = new RelayEndpoint({ host: HOST, port: 0, handler: rec, ...opts });
  t.after(() => ep.close());
  await ep.start();
  return { ep, rec };
}

function link(x: RelayEndpoint, y: RelayEndpoint, yPort = y.port): void {
  x.addPeer({ id: y.nodeId, publicKeyB64: y.publicKeyB64, address: { host: HOST, port: yPort } });
}

async function rawSocket(t: TestContext): Promise<Socket> {
  const s = createSocket('udp4');
  t.after(() => new Promise<void>((r) => s.close(() => r())));
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, HOST, () => resolve());
  });
  return s;
}

function deltas(reasons: DropReason[]): () => Record<string, number> {
  const base = reasons.map((r) => dropCount(r));
  return () => Object.fromEntries(reasons.map((r, i) => [r, dropCount(r) - base[i]]));
}

function stream(list: RelayStreamStats[], originNum: number, streamId: number): RelayStreamStats | undefined {
  return list.find((s) => s.originNum === originNum && s.streamId === streamId);
}

/** A recognisable RTP-ish payload: seq in bytes 2..3, then a fill byte. */
function rtpLike(seq: number, size: number, fill: number): Buffer {
  const b = Buffer.alloc(size, fill);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  return b;
}

describe('RelayEndpoint on 127.0.0.1', () => {
  test('two endpoints exchange RTP and RTCP; per-stream counters show exactly one copy per packet', async (t) => {
    const secret = 'cluster-s3cret';
    const { ep: a, rec: ra } = await endpoint(t, { nodeId: 'sfu-a', clusterSecret: secret });
    const { ep: b, rec: rb } = await endpoint(t, { nodeId: 'sfu-b', clusterSecret: secret });
    link(a, b);
    link(b, a);
    const origin = nodeNumOf('sfu-a');
    // The payload sits inside a larger buffer: offset/length are honoured.
    const frame = Buffer.alloc(2000, 0xee);
    for (let i = 0; i < 50; i++) {
      const p = rtpLike(i, 1000, 7);
      p.copy(frame, 100);
      assert.equal(a.sendRtp('sfu-b', origin, 7, frame, 100, p.length), true);
    }
    for (let i = 0; i < 30; i++) assert.equal(a.sendRtp('sfu-b', origin, 8, rtpLike(i, 300, 8), 0, 300), true);
    await until(() => rb.rtp.length === 80, 3000, '80 RTP packets at B');
    const s7 = rb.rtp.filter((d) => d.streamId === 7);
    const s8 = rb.rtp.filter((d) => d.streamId === 8);
    assert.equal(s7.length, 50);
    assert.equal(s8.length, 30);
    assert.deepEqual(s7.map((d) => d.data.readUInt16BE(2)).sort((x, y) => x - y), [...Array(50).keys()]);
    for (const d of s7) {
      assert.equal(d.peerId, 'sfu-a');
      assert.equal(d.originNum, origin);
      assert.deepEqual(d.data, rtpLike(d.data.readUInt16BE(2), 1000, 7));
    }
    for (const d of s8) assert.deepEqual(d.data, rtpLike(d.data.readUInt16BE(2), 300, 8));

    // Feedback travels back up towards the origin, naming the stream.
    const nack = Buffer.from('81cd0003000000010000000a00050000', 'hex');
    for (let i = 0; i < 3; i++) assert.equal(b.sendRtcp('sfu-a', origin, 7, nack, 0, nack.length), true);
    await until(() => ra.rtcp.length === 3, 3000, '3 RTCP at A');
    for (const d of ra.rtcp) {
      assert.equal(d.peerId, 'sfu-b');
      assert.equal(d.originNum, origin);
      assert.equal(d.streamId, 7);
      assert.deepEqual(d.data, nack);
    }
    assert.equal(b.sendControl('sfu-a', Buffer.from('hello'), 0, 5), true);
    await until(() => ra.control.length === 1, 3000, 'CONTROL at A');
    assert.equal(ra.control[0].toString(), 'hello');

    const sa = a.stats().peers.find((p) => p.id === 'sfu-b')!;
    const sb = b.stats().peers.find((p) => p.id === 'sfu-a')!;
    assert.deepEqual(stream(sa.streamsSent, origin, 7), { originNum: origin, streamId: 7, rtpPackets: 50, rtpBytes: 50_000, rtcpPackets: 0, rtcpBytes: 0 });
    assert.deepEqual(stream(sb.streamsReceived, origin, 7), { originNum: origin, streamId: 7, rtpPackets: 50, rtpBytes: 50_000, rtcpPackets: 0, rtcpBytes: 0 });
    assert.equal(stream(sb.streamsReceived, origin, 8)?.rtpPackets, 30);
    assert.equal(stream(sb.streamsSent, origin, 7)?.rtcpPackets, 3);
    assert.equal(stream(sa.streamsReceived, origin, 7)?.rtcpPackets, 3);
    assert.ok(sa.packetsSent >= 80 && sb.packetsReceived >= 80);
    assert.ok(sa.bytesSent >= 50 * 1040 + 30 * 340);
    assert.equal(sb.authFailures + sb.replays + sa.authFailures + sa.replays, 0);

    // Steady state: the send buffers come back to the pool; later bursts of the same size allocate none.
    const slots = a.stats().sendSlots;
    assert.ok(slots >= 80 && slots <= 90, `pool grew to the burst: ${slots}`);
    for (let burst = 1; burst <= 3; burst++) {
      for (let i = 0; i < 80; i++) a.sendRtp('sfu-b', origin, 9, rtpLike(i, 500, 9), 0, 500);
      await until(() => stream(b.stats().peers[0].streamsReceived, origin, 9)?.rtpPackets === 80 * burst, 3000, `burst ${burst}`);
    }
    assert.equal(a.stats().sendSlots, slots);

    // A stream that ended is forgotten.
    a.forgetStream(origin, 8);
    assert.equal(stream(a.stats().peers[0].streamsSent, origin, 8), undefined);
  });

  test('sends that cannot go return false and count their reason', async (t) => {
    const d = deltas(['relay_not_open', 'relay_unknown_peer', 'relay_too_large', 'relay_bad_range']);
    const pending = new RelayEndpoint({ nodeId: 'n-pending', host: HOST });
    assert.equal(pending.sendRtp('x', 1, 1, Buffer.alloc(10), 0, 10), false); // not started
    await pending.close();
    const { ep: a } = await endpoint(t, { nodeId: 'n-a', maxPayloadBytes: 1200 });
    const { ep: b, rec: rb } = await endpoint(t, { nodeId: 'n-b' });
    link(a, b);
    link(b, a);
    assert.equal(a.sendRtp('nobody', 1, 1, Buffer.alloc(10), 0, 10), false);
    assert.equal(a.sendRtp('n-b', 1, 1, Buffer.alloc(1201), 0, 1201), false);
    assert.equal(a.sendRtp('n-b', 1, 1, Buffer.alloc(1200), 0, 1200), true);
    assert.equal(a.sendRtcp('n-b', 1, 1, Buffer.alloc(10), 5, 10), false);
    assert.equal(a.sendRtp('n-b', 1, 1, Buffer.alloc(10), -1, 5), false);
    await until(() => rb.rtp.length === 1, 3000, 'the one packet that fits');
    await a.close();
    await a.close(); // idempotent
    assert.equal(a.sendRtp('n-b', 1, 1, Buffer.alloc(10), 0, 10), false);
    assert.deepEqual(d(), { relay_not_open: 2, relay_unknown_peer: 1, relay_too_large: 1, relay_bad_range: 2 });
    assert.throws(() => a.addPeer({ id: 'n-c', publicKeyB64: b.publicKeyB64, address: { host: HOST, port: 1 } }));
  });

  test('addPeer refuses its own id, duplicates, bad keys and addresses', async (t) => {
    const { ep: a } = await endpoint(t, { nodeId: 'p-a' });
    const { ep: b } = await endpoint(t, { nodeId: 'p-b' });
    const addr = { host: HOST, port: b.port };
    assert.throws(() => a.addPeer({ id: 'p-a', publicKeyB64: b.publicKeyB64, address: addr }));
    a.addPeer({ id: 'p-b', publicKeyB64: b.publicKeyB64, address: addr });
    assert.throws(() => a.addPeer({ id: 'p-b', publicKeyB64: b.publicKeyB64, address: addr }));
    assert.throws(() => a.addPeer({ id: 'p-c', publicKeyB64: 'AAAA', address: addr }));
    assert.throws(() => a.addPeer({ id: 'p-c', publicKeyB64: b.publicKeyB64, address: { host: 'localhost', port: 1 } }));
    assert.throws(() => a.addPeer({ id: 'p-c', publicKeyB64: b.publicKeyB64, address: { host: '::1', port: 1 } }));
    assert.throws(() => a.addPeer({ id: 'p-c', publicKeyB64: b.publicKeyB64, address: { host: HOST, port: 0 } }));
    assert.equal(a.hasPeer('p-c'), false);
    assert.equal(a.updatePeerAddress('p-c', addr), false);
    assert.equal(a.removePeer('p-b'), true);
    assert.equal(a.removePeer('p-b'), false);
  });

  test('hostile datagrams: tampered, replayed, too old, truncated, wrong version, unknown type, unknown sender — each counted, nothing delivered', async (t) => {
    // A's peer address for B is a sniffer: the test holds A's datagrams and delivers them to B itself.
    const sniffer = await rawSocket(t);
    const captured: Buffer[] = [];
    sniffer.on('message', (m) => {
      if (m[1] === RELAY_RTP) captured.push(m);
    });
    const slow = { pingIntervalMs: 600_000 }; // no pings in this test: only what it sends
    const { ep: a } = await endpoint(t, { nodeId: 'h-a', ...slow });
    const { ep: b, rec: rb } = await endpoint(t, { nodeId: 'h-b', replayWindow: 64, ...slow });
    link(a, b, sniffer.address().port);
    link(b, a);
    for (let i = 0; i < 40; i++) a.sendRtp('h-b', 9, 1, rtpLike(i, 200, 1), 0, 200);
    await until(() => captured.length === 40, 3000, '40 datagrams at the sniffer');
    // The counter runs from 1 upwards in send order: the nonce never repeats.
    assert.deepEqual(captured.map((m) => m.readUInt32BE(12)), [...Array(40).keys()].map((i) => i + 1));
    const deliver = (m: Buffer) => sniffer.send(m, b.port, HOST);
    const seqOf = (d: Delivered) => d.data.readUInt16BE(2);
    const reasons: DropReason[] = ['relay_auth_failed', 'relay_replayed', 'relay_too_old', 'relay_truncated', 'relay_bad_version', 'relay_unknown_type', 'relay_unknown_sender', 'relay_bad_counter'];
    let d = deltas(reasons);
    const zero = Object.fromEntries(reasons.map((r) => [r, 0]));

    deliver(captured[39]);
    await until(() => rb.rtp.length === 1, 3000, 'the newest datagram');
    assert.equal(seqOf(rb.rtp[0]), 39);

    deliver(captured[39]); // the same again
    await until(() => d().relay_replayed === 1, 3000, 'replay counted');

    deliver(captured[0]); // 39 behind a 64-window: fine; reordering is not replay
    await until(() => rb.rtp.length === 2, 3000, 'an older datagram inside the window');

    for (const at of [2, 10, 30, captured[5].length - 1]) {
      const bad = Buffer.from(captured[5]);
      bad[at] ^= 0x40;
      deliver(bad);
    }
    await until(() => d().relay_auth_failed === 4, 3000, '4 auth failures');
    deliver(captured[5]); // a forged copy did not move the window: the real one still passes
    await until(() => rb.rtp.length === 3, 3000, 'the untampered datagram');
    assert.equal(seqOf(rb.rtp[2]), 5);

    deliver(captured[7].subarray(0, 39));
    deliver(Buffer.alloc(0));
    const v2 = Buffer.from(captured[8]);
    v2[0] = 2;
    deliver(v2);
    const t9 = Buffer.from(captured[9]);
    t9[1] = 9;
    deliver(t9);
    const c0 = Buffer.from(captured[10]);
    c0.fill(0, 8, 16);
    deliver(c0);
    await until(() => d().relay_truncated === 2 && d().relay_bad_version === 1 && d().relay_unknown_type === 1 && d().relay_bad_counter === 1, 3000, 'malformed counted');
    assert.deepEqual(d(), { ...zero, relay_auth_failed: 4, relay_replayed: 1, relay_truncated: 2, relay_bad_version: 1, relay_unknown_type: 1, relay_bad_counter: 1 });

    // Too old: B has accepted 39; move it to 120 by a jump (with a fresh A→B stream of counters).
    for (let i = 40; i < 121; i++) a.sendRtp('h-b', 9, 1, rtpLike(i, 200, 1), 0, 200);
    await until(() => captured.length === 121, 3000, 'more datagrams');
    d = deltas(reasons);
    deliver(captured[120]);
    await until(() => rb.rtp.length === 4, 3000, 'counter 121');
    deliver(captured[20]); // counter 21: 100 behind, outside the 64-window
    await until(() => d().relay_too_old === 1, 3000, 'too old counted');

    // A node B does not know: its datagrams are dropped by senderNum, whatever address they come from.
    const { ep: c } = await endpoint(t, { nodeId: 'h-c', ...slow });
    link(c, b);
    c.sendRtp('h-b', 9, 1, rtpLike(0, 50, 3), 0, 50);
    await until(() => d().relay_unknown_sender === 1, 3000, 'unknown sender counted');
    // B knows a node 'h-c' but with another key: tag failure, not delivery.
    const impostorKeys = new RelayEndpoint({ nodeId: 'h-c', host: HOST });
    b.addPeer({ id: 'h-c', publicKeyB64: impostorKeys.publicKeyB64, address: { host: HOST, port: c.port } });
    await impostorKeys.close();
    c.sendRtp('h-b', 9, 1, rtpLike(1, 50, 3), 0, 50);
    await until(() => d().relay_auth_failed === 1, 3000, 'auth failure for a key mismatch');
    await settle();
    assert.equal(rb.rtp.length, 4);
    assert.deepEqual(d(), { ...zero, relay_too_old: 1, relay_unknown_sender: 1, relay_auth_failed: 1 });
    const sb = b.stats().peers.find((p) => p.id === 'h-a')!;
    assert.equal(sb.authFailures, 4);
    assert.equal(sb.replays, 2);
    assert.equal(sb.recvCounter, 121);
  });

  test('a wrong cluster secret: every datagram fails authentication', async (t) => {
    const { ep: a } = await endpoint(t, { nodeId: 'w-a', clusterSecret: 'one', pingIntervalMs: 600_000 });
    const { ep: b, rec: rb } = await endpoint(t, { nodeId: 'w-b', clusterSecret: 'two', pingIntervalMs: 600_000 });
    link(a, b);
    link(b, a);
    const d = deltas(['relay_auth_failed']);
    for (let i = 0; i < 5; i++) a.sendRtp('w-b', 1, 1, rtpLike(i, 100, 0), 0, 100);
    await until(() => d().relay_auth_failed === 5, 3000, '5 auth failures');
    await settle();
    assert.equal(rb.rtp.length, 0);
  });

  test('a throwing handler is counted and the socket carries on', async (t) => {
    const { ep: a } = await endpoint(t, { nodeId: 'x-a', pingIntervalMs: 600_000 });
    const { ep: b, rec: rb } = await endpoint(t, { nodeId: 'x-b', pingIntervalMs: 600_000 });
    link(a, b);
    link(b, a);
    const d = deltas(['relay_handler_error', 'relay_no_handler']);
    rb.throwOnRtp = true;
    a.sendRtp('x-b', 1, 1, rtpLike(0, 100, 0), 0, 100);
    await until(() => d().relay_handler_error === 1, 3000, 'handler error counted');
    rb.throwOnRtp = false;
    a.sendRtp('x-b', 1, 1, rtpLike(1, 100, 0), 0, 100);
    await until(() => rb.rtp.length === 1, 3000, 'the next packet');
    b.setHandler(null);
    a.sendRtp('x-b', 1, 1, rtpLike(2, 100, 0), 0, 100);
    await until(() => d().relay_no_handler === 1, 3000, 'no handler counted');
  });

  test('RTT through the weather proxy (30 ms each way) is about 60 ms', async (t) => {
    const { ep: a, rec: ra } = await endpoint(t, { nodeId: 'r-a' });
    const { ep: b, rec: rb } = await endpoint(t, { nodeId: 'r-b' });
    // One proxy per direction: A → proxyToB → B, and B → proxyToA → A. Each endpoint knows its peer by
    // the proxy's address; the peer sees datagrams from the proxy's upstream port, and recognises the
    // sender by senderNum anyway.
    const toB = new WeatherProxy({ listenPort: 0, target: { address: HOST, port: b.port }, up: { delayMs: 30 }, seed: 3 });
    const toA = new WeatherProxy({ listenPort: 0, target: { address: HOST, port: a.port }, up: { delayMs: 30 }, seed: 4 });
    t.after(() => toB.close());
    t.after(() => toA.close());
    await toB.start();
    await toA.start();
    link(a, b, toB.port);
    link(b, a, toA.port);
    await until(() => a.stats().peers[0].rttSamples === 8 && b.stats().peers[0].rttSamples === 8, 8000, '8 RTT samples each way');
    const rttA = a.rttMs('r-b');
    const rttB = b.rttMs('r-a');
    const samples = [...ra.rtt, ...rb.rtt].map((r) => r.rttMs);
    t.diagnostic(`median RTT A→B ${rttA.toFixed(2)} ms, B→A ${rttB.toFixed(2)} ms; medians seen ${Math.min(...samples).toFixed(2)}..${Math.max(...samples).toFixed(2)} ms`);
    for (const rtt of [rttA, rttB]) assert.ok(rtt >= 58 && rtt <= 90, `RTT ${rtt} ms outside 58..90`);
    // The medians reported by onRtt are what rttMs returns.
    assert.equal(ra.rtt.at(-1)?.rttMs, rttA);
    assert.equal(ra.rtt.at(-1)?.peerId, 'r-b');
    assert.ok(toB.stats().up.delivered >= 16 && toA.stats().up.delivered >= 16);
  });
});

describe('RelayEndpoint pings on a fake clock', () => {
  test('one ping per interval; RTT = the median of the last 8 echoes; quiet, then silence, once each; a re-added peer continues its counters', async (t) => {
    const clockA = new FakeClock();
    const clockB = new FakeClock(); // never advanced: B only answers
    const { ep: a, rec: ra } = await endpoint(t, { nodeId: 'f-a', clock: clockA, pingIntervalMs: 250, silentAfterMs: 1000, quietAfterMs: 500 });
    const { ep: b } = await endpoint(t, { nodeId: 'f-b', clock: clockB, pingIntervalMs: 250 });
    link(a, b);
    link(b, a);
    const peerA = () => a.stats().peers[0];
    clockA.advance(249);
    assert.equal(peerA().pingsSent, 0);
    assert.equal(a.rttMs('f-b'), -1);

    /** Advance to the next ping, then `d` ms more before the echo can land: the measured RTT is exactly d. */
    const sample = async (d: number) => {
      const before = peerA().pongsReceived;
      const toPing = 250 - (clockA.now() % 250);
      clockA.advance(toPing);
      clockA.advance(d);
      await until(() => peerA().pongsReceived === before + 1, 3000, `pong for ${d}`);
    };
    await sample(40);
    assert.equal(peerA().pingsSent, 1);
    assert.equal(a.rttMs('f-b'), 40);
    for (const d of [10, 30, 200, 20]) await sample(d);
    assert.deepEqual(ra.rtt.map((r) => r.rttMs), [40, 25, 30, 35, 30]);
    assert.equal(peerA().pingsSent, 5);
    for (let i = 0; i < 8; i++) await sample(50);
    assert.equal(a.rttMs('f-b'), 50, 'only the last 8 samples count');
    const pingsSoFar = peerA().pingsSent;
    clockA.advance(1000);
    assert.equal(peerA().pingsSent, pingsSoFar + 4, 'one ping per 250 ms');
    await settle();

    // B forgets A: A's pings are dropped there, A hears nothing and reports it once.
    const d = deltas(['relay_unknown_sender', 'relay_replayed', 'relay_too_old']);
    b.removePeer('f-a');
    await settle(); // echoes already on their way land before the silence starts
    const lastHeard = clockA.now() - peerA().lastHeardAgoMs;
    assert.equal(ra.silent.length, 0);
    // (The 1000 ms jump above, with no echo processed in between, was one quiet spell already.)
    const q0 = ra.quiet.length;
    for (let i = 0; i < 12; i++) clockA.advance(250);
    assert.equal(ra.quiet.length, q0 + 1, 'quiet once per spell');
    const quietAfter = ra.quiet.at(-1)!.at - lastHeard;
    assert.ok(quietAfter >= 500 && quietAfter < 750, `quiet after ${quietAfter} ms`);
    assert.ok(Math.abs(a.lastHeardAgoMs('f-b') - (clockA.now() - lastHeard)) < 1e-6);
    assert.equal(a.lastHeardAgoMs('nobody'), Infinity);
    assert.equal(ra.silent.length, 1);
    assert.equal(ra.silent[0].peerId, 'f-b');
    const silentAfter = ra.silent[0].at - lastHeard;
    assert.ok(silentAfter >= 1000 && silentAfter < 1250, `silent after ${silentAfter} ms`);
    assert.equal(peerA().silent, true);
    await until(() => d().relay_unknown_sender >= 12, 3000, 'pings dropped at B');

    // B takes A back (same key): B's counter towards A continues, so A accepts its echoes (no replay drops).
    link(b, a);
    const rttEvents = ra.rtt.length;
    await sample(15);
    assert.equal(peerA().silent, false);
    assert.equal(ra.rtt.length, rttEvents + 1);
    assert.equal(d().relay_replayed, 0);
    assert.equal(d().relay_too_old, 0);
    for (let i = 0; i < 4; i++) clockA.advance(250);
    assert.equal(ra.silent.length, 1, 'heard again: not silent');
    assert.equal(ra.quiet.length, q0 + 2, 'heard again, then quiet again: a new spell is reported');
    assert.throws(() => new RelayEndpoint({ nodeId: 'q', clusterSecret: 'x', silentAfterMs: 500, quietAfterMs: 500 }), /quietAfterMs/);
  });
});
