import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../util/clock.ts';
import { createLogger } from '../util/logger.ts';
import { writeRtpHeader } from '../rtp/rtp-packet.ts';
import { createDtlsCertificate, type DtlsCertificate } from './dtls/certificate.ts';
import { DtlsSession } from './dtls/dtls-session.ts';
import { SrtpSession } from './srtp/index.ts';
import { IceLiteAgent, generateIceCredentials, type IceCredentials } from './ice/ice-lite.ts';
import { buildBindingRequest } from './ice/stun-builder.ts';
import { WebRtcTransport, type TransportState } from './webrtc-transport.ts';

/** What a transport needs of the network (named through the transport, not the mux module). */
type Network = ConstructorParameters<typeof WebRtcTransport>[0]['mux'];
type MuxedTransport = Parameters<Network['bind']>[0];

/** An in-memory network: peers by "address:port", routing as MediaMux does (first byte, then the bound address). */
class MemNet implements Network {
  readonly routes = new Map<string, MuxedTransport>();
  /** Validated paths besides the selected one (MediaMux.allow). */
  readonly others = new Map<string, MuxedTransport>();
  readonly peers = new Map<string, (buf: Buffer) => void>();
  /** DTLS records that crossed the network, both ways. */
  dtlsRecords = 0;
  constructor(private readonly agent: IceLiteAgent) {}
  bind(t: MuxedTransport, address: string, port: number): void {
    this.unbind(t);
    this.routes.set(`${address}:${port}`, t);
  }
  allow(t: MuxedTransport, address: string, port: number): void {
    this.others.set(`${address}:${port}`, t);
  }
  unbind(t: MuxedTransport): void {
    for (const [k, v] of this.routes) if (v === t) this.routes.delete(k);
    for (const [k, v] of this.others) if (v === t) this.others.delete(k);
  }
  send(buf: Buffer, address: string, port: number): void {
    if (buf[0] >= 20 && buf[0] <= 63) this.dtlsRecords++;
    const peer = this.peers.get(`${address}:${port}`);
    if (peer) setImmediate(() => peer(buf));
  }
  fromPeer(buf: Buffer, address: string, port: number): void {
    if (buf[0] <= 3) {
      const r = this.agent.handle(buf, address, port, 4);
      if (r.response) this.send(r.response, address, port);
      return;
    }
    const t = this.routes.get(`${address}:${port}`) ?? this.others.get(`${address}:${port}`);
    if (!t) return;
    if (buf[0] >= 20 && buf[0] <= 63) {
      this.dtlsRecords++;
      t.handleDtls(buf, address, port, 'udp');
    } else t.handleSrtp(buf, address, port, 'udp');
  }
}

/** The browser side: ICE controlling checks, DTLS client, SRTP; it can move to another address and keep its DTLS state. */
class Peer {
  address = '192.0.2.1';
  port = 5000;
  ice: IceCredentials = generateIceCredentials();
  dtls: DtlsSession;
  srtpOut: SrtpSession | null = null;
  srtpIn: SrtpSession | null = null;
  received = 0;
  private seq = 1;
  constructor(
    private readonly net: MemNet,
    cert: DtlsCertificate,
    serverCert: DtlsCertificate,
  ) {
    this.dtls = new DtlsSession('client', cert, { algorithm: 'sha-256', value: serverCert.fingerprint }, {
      send: (d) => this.send(d),
      onConnected: (k) => {
        this.srtpOut = new SrtpSession(k.profile, k.localKey, k.localSalt);
        this.srtpIn = new SrtpSession(k.profile, k.remoteKey, k.remoteSalt);
      },
      onFailed: () => undefined,
    });
    this.listen();
  }
  listen(): void {
    this.net.peers.set(`${this.address}:${this.port}`, (buf) => {
      if (buf[0] >= 20 && buf[0] <= 63) this.dtls.handle(buf);
      else if (buf[0] >= 128 && this.srtpIn && typeof this.srtpIn.unprotectRtp(buf, buf.length) === 'number') this.received++;
    });
  }
  moveTo(address: string, port: number): void {
    this.net.peers.delete(`${this.address}:${this.port}`);
    this.address = address;
    this.port = port;
    this.listen();
  }
  send(buf: Buffer): void {
    setImmediate(() => this.net.fromPeer(buf, this.address, this.port));
  }
  check(server: IceCredentials, useCandidate = true, priority = 1): void {
    this.send(buildBindingRequest({ username: `${server.ufrag}:${this.ice.ufrag}`, password: server.pwd, priority, controlling: true, tieBreaker: 7n, useCandidate }));
  }
  rtp(): Buffer {
    const plain = Buffer.alloc(12 + 20);
    writeRtpHeader(plain, 0, { marker: false, payloadType: 96, sequenceNumber: this.seq++, timestamp: 1000, ssrc: 1234 }, null);
    const out = this.srtpOut!.protectRtp(plain, plain.length);
    assert.ok(typeof out !== 'string');
    return Buffer.from(out);
  }
}

async function until(what: string, fn: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function connected() {
  const [serverCert, peerCert] = await Promise.all([createDtlsCertificate(), createDtlsCertificate()]);
  const clock = new FakeClock();
  const agent = new IceLiteAgent(clock);
  const net = new MemNet(agent);
  const peer = new Peer(net, peerCert, serverCert);
  const t = new WebRtcTransport({
    id: 'pub-test',
    mux: net,
    ice: agent,
    iceCredentials: generateIceCredentials(),
    remoteUfrag: peer.ice.ufrag,
    certificate: serverCert,
    dtls: { role: 'server', remoteFingerprint: { algorithm: 'sha-256', value: peerCert.fingerprint } },
    clock,
    log: createLogger('silent'),
  });
  const states: string[] = [];
  let rtpIn = 0;
  t.setHandler({ onRtp: () => void rtpIn++, onRtcp: () => undefined, onStateChange: (s: TransportState, reason?: string) => void states.push(reason ? `${s} (${reason})` : s) });
  peer.check(t.local);
  await until('ICE selection', () => t.remoteAddress !== null);
  peer.dtls.start();
  await until('DTLS', () => t.state === 'connected' && peer.srtpOut !== null);
  return { t, peer, net, agent, clock, states, rtpIn: () => rtpIn };
}

test('an ICE restart moves the path to a new address and keeps the DTLS association and its SRTP keys', async () => {
  const { t, peer, net, states, rtpIn } = await connected();
  peer.send(peer.rtp());
  await until('first RTP', () => rtpIn() === 1);
  const oldCredentials = t.local;
  const dtlsBefore = net.dtlsRecords;

  // The peer's new offer carries a new ufrag (RFC 8839 §4.4.1.1.1): we answer with new credentials.
  peer.ice = generateIceCredentials();
  t.restartIce(peer.ice.ufrag);
  assert.notEqual(t.local.ufrag, oldCredentials.ufrag);
  assert.notEqual(t.local.pwd, oldCredentials.pwd);
  assert.equal(t.iceRestarts, 1);

  // Until a check with the new credentials arrives, media still goes to the old address.
  const plain = Buffer.alloc(40);
  writeRtpHeader(plain, 0, { marker: false, payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 99 }, null);
  assert.equal(t.sendRtp(plain, plain.length), true);
  await until('media on the old path', () => peer.received === 1);

  // The peer moves to another network and nominates a pair there with the new credentials.
  peer.moveTo('198.51.100.20', 6000);
  peer.check(t.local, true);
  await until('the new path validated', () => net.others.has('198.51.100.20:6000'));
  assert.equal(t.remoteAddress, '192.0.2.1', 'after media, a check alone moves nothing (it could be a replay)');
  // Its media from there (the SRTP keys of the first handshake) moves the path; media flows both ways on it.
  peer.send(peer.rtp());
  await until('RTP from the new address', () => rtpIn() === 2);
  assert.deepEqual([t.remoteAddress, t.remotePort], ['198.51.100.20', 6000]);
  writeRtpHeader(plain, 0, { marker: false, payloadType: 111, sequenceNumber: 2, timestamp: 2, ssrc: 99 }, null);
  assert.equal(t.sendRtp(plain, plain.length), true);
  await until('media to the new address', () => peer.received === 2);
  assert.equal(net.dtlsRecords, dtlsBefore, 'no DTLS record after the restart: the association is kept');
  // Connected throughout; the owner hears that the path moved (to restart video at a keyframe).
  assert.deepEqual(states, ['connecting', 'connected', 'connected (path moved)']);
  assert.equal(net.routes.has('192.0.2.1:5000'), false, 'the old address no longer routes to the transport');
  t.close();
});

test('after an ICE restart the old credentials do not authenticate; a closed transport ignores a restart', async () => {
  const { t, peer, agent } = await connected();
  const old = t.local;
  t.restartIce(null);
  const stale = buildBindingRequest({ username: `${old.ufrag}:${peer.ice.ufrag}`, password: old.pwd, priority: 1, controlling: true, tieBreaker: 7n, useCandidate: true });
  assert.equal(agent.handle(stale, '203.0.113.5', 7000, 4).drop, 'stun_unknown_ufrag');
  assert.equal(t.remoteAddress, '192.0.2.1', 'a stale check moves nothing');
  // Before the peer's answer names its ufrag, any remote ufrag is accepted with our new password.
  const fresh = buildBindingRequest({ username: `${t.local.ufrag}:newpeer`, password: t.local.pwd, priority: 1, controlling: true, tieBreaker: 7n, useCandidate: true });
  assert.equal(agent.handle(fresh, '203.0.113.5', 7000, 4).drop, null);
  assert.equal(t.remoteAddress, '203.0.113.5');
  t.close();
  const closedCredentials = t.local;
  t.restartIce('x');
  assert.equal(t.local, closedCredentials);
  assert.equal(t.iceRestarts, 1);
});

test('the peer sends on a later nomination of lower priority: its authenticated media moves the path there; a replay or a forgery does not', async () => {
  const { t, peer, net, states, rtpIn } = await connected();
  // Both of the peer's pairs nominated, the second of lower priority: the first stays selected (ice-lite.ts).
  peer.check(t.local, true, 1000);
  await new Promise((r) => setTimeout(r, 10)); // sent from the first address before the peer moves
  peer.moveTo('192.0.2.7', 5002);
  peer.check(t.local, true, 10);
  await until('the second path validated', () => net.others.has('192.0.2.7:5002'));
  assert.equal(t.remoteAddress, '192.0.2.1', 'a lower nomination alone moves nothing');

  // A replay, from the second path, of a packet the first one carried: dropped by SRTP, moves nothing.
  const first = peer.rtp();
  net.fromPeer(Buffer.from(first), '192.0.2.1', 5000);
  await until('RTP on the first path', () => rtpIn() === 1);
  net.fromPeer(Buffer.from(first), '192.0.2.7', 5002);
  // A forgery (bad auth tag) from it: dropped, moves nothing.
  const forged = peer.rtp();
  forged[forged.length - 1] ^= 0xff;
  net.fromPeer(forged, '192.0.2.7', 5002);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(rtpIn(), 1);
  assert.equal(t.remoteAddress, '192.0.2.1');

  // The peer's real media on its second pair: accepted, and we now send there.
  peer.send(peer.rtp());
  await until('RTP on the second path', () => rtpIn() === 2);
  assert.deepEqual([t.remoteAddress, t.remotePort], ['192.0.2.7', 5002]);
  const plain = Buffer.alloc(40);
  writeRtpHeader(plain, 0, { marker: false, payloadType: 111, sequenceNumber: 1, timestamp: 1, ssrc: 99 }, null);
  assert.equal(t.sendRtp(plain, plain.length), true);
  await until('media to the second path', () => peer.received === 1);
  assert.deepEqual(states, ['connecting', 'connected', 'connected (path moved)']);
  t.close();
  assert.equal(net.others.size + net.routes.size, 0, 'closing releases every path');
});

test('media from a validated path the peer never nominated is accepted but moves nothing', async () => {
  const { t, peer, net, rtpIn } = await connected();
  await new Promise((r) => setTimeout(r, 10));
  peer.moveTo('192.0.2.9', 5003);
  peer.check(t.local, false);
  await until('the path validated', () => net.others.has('192.0.2.9:5003'));
  peer.send(peer.rtp());
  await until('RTP from it', () => rtpIn() === 1);
  assert.equal(t.remoteAddress, '192.0.2.1');
  t.close();
});
