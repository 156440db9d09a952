import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { countDrop } from '../../metrics/drop-reasons.ts';
import type { DropReason } from '../../metrics/drop-reasons.ts';
import { relayStats } from '../../metrics/registry.ts';
import { systemClock } from '../../util/clock.ts';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import { REPLAY_DUPLICATE, REPLAY_OK, ReplayWindow } from '../srtp/replay-window.ts';
import { deriveLinkKeys, generateRelayKeyPair } from './relay-keys.ts';
import type { RelayKeyPair } from './relay-keys.ts';
import {
  RELAY_CONTROL,
  RELAY_HEADER_LENGTH,
  RELAY_MAX_COUNTER,
  RELAY_OVERHEAD,
  RELAY_PING,
  RELAY_PING_PAYLOAD,
  RELAY_PONG,
  RELAY_RTCP,
  RELAY_RTP,
  RelayHeaderView,
  isRelayType,
  nodeNumOf,
  openRelay,
  sealRelay,
  writeRelayHeader,
} from './relay-packet.ts';
import type { RelayType } from './relay-packet.ts';

/**
 * One node's end of every relay link: one UDP socket towards all other SFU nodes of the cluster.
 * Datagrams are AES-128-GCM sealed per direction (relay-keys.ts), numbered per direction, checked against
 * a replay window per peer, and name their sender in the header, so a peer is recognised by its senderNum
 * whatever address the datagram came from (NAT, an impairment proxy). Packet methods are synchronous, never
 * throw, and count every drop with a named reason.
 */
export interface RelayAddress {
  /** An IP literal of the socket's family (no name resolution on the packet path). */
  host: string;
  port: number;
}

export interface RelayPeerInfo {
  id: string;
  /** The peer's X25519 public key from the node registry (relay-keys.ts). */
  publicKeyB64: string;
  address: RelayAddress;
}

/**
 * The endpoint's one event surface. Buffers passed in are valid only during the call (the payload is the
 * decrypted datagram, in place); copy what must outlive it.
 */
export interface RelayEndpointHandler {
  /** One RTP packet of stream (originNum, streamId), as the origin received it from the publisher after SRTP. */
  onRtp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number, nowMs: number): void;
  /** RTCP feedback (NACK, PLI …) travelling back towards the origin of stream (originNum, streamId). */
  onRtcp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number, nowMs: number): void;
  /** A new RTT sample arrived; `rttMs` is the median of the peer's last 8 samples (what `rttMs(peerId)` returns). */
  onRtt(peerId: string, rttMs: number): void;
  /** Nothing authentic was heard from the peer for `silentAfterMs`. Once per silence: a later onRtt means it is back. */
  onPeerSilent(peerId: string): void;
  /** Nothing heard for `quietAfterMs` (shorter than silence): a hint to check the peer by other means. Once per quiet spell. */
  onPeerQuiet?(peerId: string): void;
  /** A CONTROL datagram (small opaque payload). Optional: without it CONTROL is counted `relay_no_handler`. */
  onControl?(peerId: string, buf: Buffer, offset: number, length: number, nowMs: number): void;
}

export interface RelayEndpointOptions {
  /** This node's id; its nodeNum on the wire is nodeNumOf(nodeId). */
  nodeId: string;
  /** Default: a fresh pair. Never a persisted one (relay-keys.ts: counters restart with the process). */
  keyPair?: RelayKeyPair;
  /** HKDF salt shared by the cluster (relay-keys.ts). */
  clusterSecret?: string | Uint8Array;
  /** Bind address (default 0.0.0.0; an IPv6 literal makes an udp6 socket). */
  host?: string;
  /** Bind port (default 0 = any free port; read `port` after start()). */
  port?: number;
  clock?: Clock;
  log?: Logger;
  handler?: RelayEndpointHandler;
  /** Ping period per peer (default 250 ms). */
  pingIntervalMs?: number;
  /** onPeerSilent after this long without an authentic datagram from the peer (default 2000 ms). */
  silentAfterMs?: number;
  /** onPeerQuiet after this long without one (default: never); must be shorter than silentAfterMs. */
  quietAfterMs?: number;
  /** Replay window per peer in datagrams (default 1024; 32..32768). */
  replayWindow?: number;
  /**
   * Largest payload (RTP/RTCP/CONTROL) sent (default 1432: with the 40 bytes of header and tag the datagram
   * is 1472 bytes, the UDP payload of a 1500-byte IPv4 MTU). Larger sends return false (`relay_too_large`).
   */
  maxPayloadBytes?: number;
  /** Send buffers kept for reuse while the socket holds them (default pool limit 1024; more are allocated, counted). */
  maxSendSlots?: number;
}

export interface RelayStreamStats {
  originNum: number;
  streamId: number;
  rtpPackets: number;
  /** RTP payload bytes (the relayed RTP packets, without the relay header and tag). */
  rtpBytes: number;
  rtcpPackets: number;
  rtcpBytes: number;
}

export interface RelayPeerStats {
  id: string;
  nodeNum: number;
  address: RelayAddress;
  /** Median of the last 8 samples, -1 before the first. */
  rttMs: number;
  rttSamples: number;
  silent: boolean;
  /** Since the last authentic datagram from the peer (or since it was added). */
  lastHeardAgoMs: number;
  /** Datagrams of every type handed to the socket, and their UDP payload bytes. */
  packetsSent: number;
  bytesSent: number;
  /** Authentic, non-replayed datagrams of every type, and their UDP payload bytes. */
  packetsReceived: number;
  bytesReceived: number;
  /** Sends the socket reported as failed (also counted in packetsSent). */
  sendErrors: number;
  authFailures: number;
  replays: number;
  pingsSent: number;
  pongsReceived: number;
  /** Highest counter sent / accepted on this link. */
  sendCounter: number;
  recvCounter: number;
  streamsSent: RelayStreamStats[];
  streamsReceived: RelayStreamStats[];
}

export interface RelayEndpointStats {
  nodeId: string;
  nodeNum: number;
  port: number;
  /** Send buffers in the reuse pool. */
  sendSlots: number;
  peers: RelayPeerStats[];
}

interface StreamCounter {
  rtpPackets: number;
  rtpBytes: number;
  rtcpPackets: number;
  rtcpBytes: number;
}

/** (originNum → streamId → counter): two number-keyed lookups per packet, a counter object per stream seen. */
type StreamCounters = Map<number, Map<number, StreamCounter>>;

const RTT_SAMPLES = 8;
/** A PONG must answer one of our last this many pings. */
const PONG_MAX_AGE_PINGS = 64;
const MAX_UDP_PAYLOAD = 65507;
const INITIAL_SEND_SLOTS = 32;
/** Ask for large kernel buffers (capped by net.core.rmem_max/wmem_max): relays carry bursts of many streams. */
const SOCKET_BUFFER = 4 * 1024 * 1024;

class RelayPeer {
  readonly num: number;
  host: string;
  port: number;
  sendCounter = 0;
  lastHeardAt: number;
  quiet = false;
  silent = false;
  readonly rttRing = new Float64Array(RTT_SAMPLES);
  rttCount = 0;
  rttNext = 0;
  rtt = -1;
  pingId = 0;
  packetsSent = 0;
  bytesSent = 0;
  packetsReceived = 0;
  bytesReceived = 0;
  sendErrors = 0;
  authFailures = 0;
  replays = 0;
  pingsSent = 0;
  pongsReceived = 0;
  readonly streamsOut: StreamCounters = new Map();
  readonly streamsIn: StreamCounters = new Map();

  constructor(
    readonly id: string,
    readonly publicKeyB64: string,
    address: RelayAddress,
    readonly sendKey: Buffer,
    readonly recvKey: Buffer,
    readonly window: ReplayWindow,
    now: number,
  ) {
    this.num = nodeNumOf(id);
    this.host = address.host;
    this.port = address.port;
    this.lastHeardAt = now;
  }
}

/** What survives removePeer for a (peer id, public key): re-adding it must not restart the nonce or reopen the window. */
interface RetiredLink {
  sendCounter: number;
  window: ReplayWindow;
}

/**
 * A datagram buffer the socket may still be reading (dgram sends after a tick, and later when the kernel
 * buffer is full): back in the pool only when its own completion callback ran. The views for the AAD and
 * nonce and the callback are made once per slot.
 */
class SendSlot {
  readonly buf: Buffer;
  readonly aad: Buffer;
  readonly nonce: Buffer;
  peer: RelayPeer | null = null;
  readonly done: (err: Error | null) => void;

  constructor(size: number, pooled: boolean, free: SendSlot[]) {
    this.buf = Buffer.alloc(size);
    this.aad = this.buf.subarray(0, RELAY_HEADER_LENGTH);
    this.nonce = this.buf.subarray(4, 16);
    this.done = (err) => {
      if (err) {
        countDrop('relay_send_failed');
        if (this.peer !== null) this.peer.sendErrors++;
      }
      this.peer = null;
      if (pooled) free.push(this);
    };
  }
}

export class RelayEndpoint {
  readonly nodeId: string;
  readonly nodeNum: number;
  readonly publicKeyB64: string;
  private readonly keyPair: RelayKeyPair;
  private readonly clusterSecret: string | Uint8Array | undefined;
  private readonly clock: Clock;
  private readonly log: Logger | null;
  private handler: RelayEndpointHandler | null;
  private readonly host: string;
  private readonly bindPort: number;
  private readonly family: 4 | 6;
  private readonly pingIntervalMs: number;
  private readonly silentAfterMs: number;
  private readonly quietAfterMs: number;
  private readonly windowSize: number;
  private readonly maxPayload: number;
  private readonly maxSendSlots: number;
  private readonly peers = new Map<string, RelayPeer>();
  private readonly byNum = new Map<number, RelayPeer>();
  private readonly retired = new Map<string, RetiredLink>();
  private readonly freeSlots: SendSlot[] = [];
  private pooledSlots = 0;
  private readonly header = new RelayHeaderView();
  private readonly nonce = Buffer.alloc(12);
  private readonly aad = Buffer.alloc(RELAY_HEADER_LENGTH);
  private readonly pingPayload = Buffer.alloc(RELAY_PING_PAYLOAD);
  private readonly sortScratch = new Float64Array(RTT_SAMPLES);
  private socket: Socket | null = null;
  private boundPort = 0;
  private timer: TimerHandle | null = null;
  private started = false;
  private starting: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private handlerErrors = 0;

  constructor(opts: RelayEndpointOptions) {
    if (!opts.nodeId) throw new RangeError('nodeId is required');
    this.nodeId = opts.nodeId;
    this.nodeNum = nodeNumOf(opts.nodeId);
    this.keyPair = opts.keyPair ?? generateRelayKeyPair();
    this.publicKeyB64 = this.keyPair.publicKeyB64;
    this.clusterSecret = opts.clusterSecret;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? null;
    this.handler = opts.handler ?? null;
    this.host = opts.host ?? '0.0.0.0';
    const fam = isIP(this.host);
    if (fam === 0) throw new RangeError(`relay bind host must be an IP literal, got ${this.host}`);
    this.family = fam === 6 ? 6 : 4;
    this.bindPort = opts.port ?? 0;
    if (!Number.isInteger(this.bindPort) || this.bindPort < 0 || this.bindPort > 65535) throw new RangeError(`bad relay bind port ${this.bindPort}`);
    this.pingIntervalMs = opts.pingIntervalMs ?? 250;
    this.silentAfterMs = opts.silentAfterMs ?? 2000;
    this.quietAfterMs = opts.quietAfterMs ?? Infinity;
    this.windowSize = opts.replayWindow ?? 1024;
    this.maxPayload = opts.maxPayloadBytes ?? 1432;
    this.maxSendSlots = opts.maxSendSlots ?? 1024;
    if (!(this.pingIntervalMs > 0)) throw new RangeError('pingIntervalMs must be > 0');
    if (!(this.silentAfterMs > 0)) throw new RangeError('silentAfterMs must be > 0');
    if (opts.quietAfterMs !== undefined && !(this.quietAfterMs > 0 && this.quietAfterMs < this.silentAfterMs)) throw new RangeError('quietAfterMs must be > 0 and shorter than silentAfterMs');
    if (!Number.isInteger(this.maxPayload) || this.maxPayload < RELAY_PING_PAYLOAD || this.maxPayload > MAX_UDP_PAYLOAD - RELAY_OVERHEAD) {
      throw new RangeError(`maxPayloadBytes must be ${RELAY_PING_PAYLOAD}..${MAX_UDP_PAYLOAD - RELAY_OVERHEAD}`);
    }
    if (!Number.isInteger(this.maxSendSlots) || this.maxSendSlots < 1) throw new RangeError('maxSendSlots must be ≥ 1');
    new ReplayWindow(this.windowSize); // validate the size once, here, not per peer
    for (let i = 0; i < Math.min(INITIAL_SEND_SLOTS, this.maxSendSlots); i++) this.freeSlots.push(this.newSlot());
  }

  /** The bound port (valid after start()). */
  get port(): number {
    return this.boundPort;
  }

  setHandler(h: RelayEndpointHandler | null): void {
    this.handler = h;
  }

  /** Bind the socket and start pinging. Once; a closed endpoint cannot start again. */
  start(): Promise<void> {
    if (this.started) return Promise.reject(new Error('RelayEndpoint already started'));
    if (this.closed) return Promise.reject(new Error('RelayEndpoint is closed'));
    this.started = true;
    this.starting = this.bind();
    return this.starting;
  }

  private async bind(): Promise<void> {
    const sock = createSocket({ type: this.family === 6 ? 'udp6' : 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.bindPort, this.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', (err) => this.log?.warn('relay socket error', { err }));
    if (this.closed) {
      // close() ran while binding: nothing may stay open.
      await new Promise<void>((resolve) => sock.close(() => resolve()));
      return;
    }
    this.boundPort = sock.address().port;
    sock.on('message', this.onMessage);
    this.socket = sock;
    this.timer = this.clock.setInterval(() => this.tick(), this.pingIntervalMs);
  }

  // ── peers (control plane) ─────────────────────────────────────────────────────────────────────────

  /** Link to another node. Throws on a bad key or address, a duplicate id, or a nodeNum collision. */
  addPeer(peer: RelayPeerInfo): void {
    if (this.closed) throw new Error('RelayEndpoint is closed');
    const { id, publicKeyB64, address } = peer;
    if (!id || id === this.nodeId) throw new RangeError(`bad relay peer id ${JSON.stringify(id)}`);
    if (this.peers.has(id)) throw new Error(`relay peer ${id} already added (removePeer first)`);
    const num = nodeNumOf(id);
    if (num === this.nodeNum || this.byNum.has(num)) throw new Error(`relay peer ${id}: nodeNum ${num} collides with another node`);
    this.checkAddress(address);
    const { sendKey, recvKey } = deriveLinkKeys({
      myPrivateKey: this.keyPair.privateKey,
      peerPublicKeyB64: publicKeyB64,
      myId: this.nodeId,
      peerId: id,
      clusterSecret: this.clusterSecret,
    });
    const retiredKey = `${id}\n${publicKeyB64}`;
    const old = this.retired.get(retiredKey);
    this.retired.delete(retiredKey);
    const p = new RelayPeer(id, publicKeyB64, address, sendKey, recvKey, old?.window ?? new ReplayWindow(this.windowSize), this.clock.now());
    if (old) p.sendCounter = old.sendCounter;
    this.peers.set(id, p);
    this.byNum.set(num, p);
    relayStats.peers++;
  }

  /** Send to another address from now on (the peer is still recognised by its senderNum). False when unknown. */
  updatePeerAddress(id: string, address: RelayAddress): boolean {
    const p = this.peers.get(id);
    if (!p) return false;
    this.checkAddress(address);
    p.host = address.host;
    p.port = address.port;
    return true;
  }

  /** Unlink. Its datagrams become `relay_unknown_sender`. False when unknown. */
  removePeer(id: string): boolean {
    const p = this.peers.get(id);
    if (!p) return false;
    this.peers.delete(id);
    this.byNum.delete(p.num);
    this.retired.set(`${id}\n${p.publicKeyB64}`, { sendCounter: p.sendCounter, window: p.window });
    if (!this.closed) relayStats.peers--;
    return true;
  }

  hasPeer(id: string): boolean {
    return this.peers.has(id);
  }

  /** Milliseconds since the last authentic datagram from the peer (Infinity for an unknown peer). */
  lastHeardAgoMs(id: string): number {
    const p = this.peers.get(id);
    return p ? this.clock.now() - p.lastHeardAt : Infinity;
  }

  /**
   * The smallest of the peer's last 8 RTT samples, -1 before the first: the path's delay without what a
   * busy event loop (ours or the peer's) added to some samples. Routes use this; NACK timing the median.
   */
  rttMinMs(peerId: string): number {
    const p = this.peers.get(peerId);
    if (!p || p.rttCount === 0) return -1;
    let min = Infinity;
    for (let i = 0; i < p.rttCount; i++) if (p.rttRing[i]! < min) min = p.rttRing[i]!;
    return min;
  }

  /** Median of the last 8 RTT samples to the peer (ms), -1 when unknown. */
  rttMs(peerId: string): number {
    return this.peers.get(peerId)?.rtt ?? -1;
  }

  /** Drop the per-stream counters of a stream that ended (all peers, both directions). */
  forgetStream(originNum: number, streamId: number): void {
    for (const p of this.peers.values()) {
      p.streamsOut.get(originNum)?.delete(streamId);
      p.streamsIn.get(originNum)?.delete(streamId);
    }
  }

  private checkAddress(a: RelayAddress): void {
    const fam = isIP(a.host);
    if (fam === 0) throw new RangeError(`relay peer host must be an IP literal, got ${a.host}`);
    if (fam !== this.family) throw new RangeError(`relay peer ${a.host} is IPv${fam}, the socket IPv${this.family}`);
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new RangeError(`bad relay peer port ${a.port}`);
  }

  // ── send (hot) ────────────────────────────────────────────────────────────────────────────────────

  /** Relay one RTP packet of stream (originNum, streamId) to the peer. False (counted) when it cannot go. */
  sendRtp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number): boolean {
    const p = this.sendablePeer(peerId, buf, offset, length);
    if (p === null) return false;
    if (!this.sendDatagram(p, RELAY_RTP, originNum, streamId, buf, offset, length)) return false;
    const c = streamCounter(p.streamsOut, originNum, streamId);
    c.rtpPackets++;
    c.rtpBytes += length;
    return true;
  }

  /** Relay RTCP feedback for stream (originNum, streamId) towards its origin. False (counted) when it cannot go. */
  sendRtcp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number): boolean {
    const p = this.sendablePeer(peerId, buf, offset, length);
    if (p === null) return false;
    if (!this.sendDatagram(p, RELAY_RTCP, originNum, streamId, buf, offset, length)) return false;
    const c = streamCounter(p.streamsOut, originNum, streamId);
    c.rtcpPackets++;
    c.rtcpBytes += length;
    return true;
  }

  /** A small opaque CONTROL payload. False (counted) when it cannot go. */
  sendControl(peerId: string, buf: Buffer, offset: number, length: number): boolean {
    const p = this.sendablePeer(peerId, buf, offset, length);
    if (p === null) return false;
    return this.sendDatagram(p, RELAY_CONTROL, 0, 0, buf, offset, length);
  }

  private sendablePeer(peerId: string, buf: Buffer, offset: number, length: number): RelayPeer | null {
    let reason: DropReason;
    const p = this.peers.get(peerId);
    if (this.socket === null) reason = 'relay_not_open';
    else if (p === undefined) reason = 'relay_unknown_peer';
    else if (!(offset >= 0 && length >= 0 && offset + length <= buf.length)) reason = 'relay_bad_range';
    else if (length > this.maxPayload) reason = 'relay_too_large';
    else return p;
    countDrop(reason);
    return null;
  }

  private sendDatagram(p: RelayPeer, type: RelayType, originNum: number, streamId: number, payload: Buffer, offset: number, length: number): boolean {
    const socket = this.socket;
    if (socket === null) {
      countDrop('relay_not_open');
      return false;
    }
    if (p.sendCounter >= RELAY_MAX_COUNTER) {
      // Never in practice (2^53 datagrams); never wrap, which would reuse nonces.
      countDrop('relay_send_failed');
      return false;
    }
    const slot = this.freeSlots.pop() ?? this.newSlot();
    const counter = ++p.sendCounter;
    writeRelayHeader(slot.buf, type, this.nodeNum, counter, originNum, streamId);
    const n = sealRelay(slot.buf, slot.aad, slot.nonce, p.sendKey, payload, offset, length);
    slot.peer = p;
    try {
      socket.send(slot.buf, 0, n, p.port, p.host, slot.done);
    } catch {
      slot.done(null);
      countDrop('relay_send_failed');
      p.sendErrors++;
      return false;
    }
    p.packetsSent++;
    p.bytesSent += n;
    relayStats.datagramsSent++;
    relayStats.bytesSent += n;
    return true;
  }

  private newSlot(): SendSlot {
    const pooled = this.pooledSlots < this.maxSendSlots;
    if (pooled) this.pooledSlots++;
    else relayStats.sendSlotFallbacks++;
    return new SendSlot(this.maxPayload + RELAY_OVERHEAD, pooled, this.freeSlots);
  }

  // ── receive (hot) ─────────────────────────────────────────────────────────────────────────────────

  private readonly onMessage = (msg: Buffer): void => {
    try {
      this.receive(msg);
    } catch (err) {
      // Not reached by design (the handler's own throws are caught in dispatch); the socket must survive anyway.
      countDrop('relay_malformed');
      this.log?.warn('relay receive failed', { err });
    }
  };

  private receive(msg: Buffer): void {
    const h = this.header;
    const len = msg.length;
    const bad = h.parse(msg, len);
    if (bad !== null) {
      countDrop(bad);
      return;
    }
    const p = this.byNum.get(h.senderNum);
    if (p === undefined) {
      countDrop('relay_unknown_sender');
      return;
    }
    const type = h.type;
    if (!isRelayType(type)) {
      countDrop('relay_unknown_type');
      return;
    }
    if (!openRelay(msg, len, p.recvKey, this.nonce, this.aad)) {
      p.authFailures++;
      countDrop('relay_auth_failed');
      return;
    }
    // Replay check after authentication, so a forged datagram never moves the window.
    const verdict = p.window.check(h.counter);
    if (verdict !== REPLAY_OK) {
      p.replays++;
      countDrop(verdict === REPLAY_DUPLICATE ? 'relay_replayed' : 'relay_too_old');
      return;
    }
    p.window.accept(h.counter);
    const now = this.clock.now();
    p.lastHeardAt = now;
    p.quiet = false;
    p.silent = false;
    p.packetsReceived++;
    p.bytesReceived += len;
    relayStats.datagramsReceived++;
    relayStats.bytesReceived += len;
    const plen = h.payloadLength;
    switch (type) {
      case RELAY_RTP: {
        const c = streamCounter(p.streamsIn, h.originNum, h.streamId);
        c.rtpPackets++;
        c.rtpBytes += plen;
        const hd = this.handler;
        if (hd === null) countDrop('relay_no_handler');
        else {
          try {
            hd.onRtp(p.id, h.originNum, h.streamId, msg, RELAY_HEADER_LENGTH, plen, now);
          } catch (err) {
            this.handlerFailed(err, 'onRtp');
          }
        }
        return;
      }
      case RELAY_RTCP: {
        const c = streamCounter(p.streamsIn, h.originNum, h.streamId);
        c.rtcpPackets++;
        c.rtcpBytes += plen;
        const hd = this.handler;
        if (hd === null) countDrop('relay_no_handler');
        else {
          try {
            hd.onRtcp(p.id, h.originNum, h.streamId, msg, RELAY_HEADER_LENGTH, plen, now);
          } catch (err) {
            this.handlerFailed(err, 'onRtcp');
          }
        }
        return;
      }
      case RELAY_PING:
        if (plen !== RELAY_PING_PAYLOAD) {
          countDrop('relay_malformed');
          return;
        }
        // Echo the pinger's time and id straight back (from the decrypted datagram: no copy).
        this.sendDatagram(p, RELAY_PONG, 0, 0, msg, RELAY_HEADER_LENGTH, RELAY_PING_PAYLOAD);
        return;
      case RELAY_PONG:
        this.onPong(p, msg, plen, now);
        return;
      case RELAY_CONTROL: {
        const hd = this.handler;
        if (hd === null || hd.onControl === undefined) countDrop('relay_no_handler');
        else {
          try {
            hd.onControl(p.id, msg, RELAY_HEADER_LENGTH, plen, now);
          } catch (err) {
            this.handlerFailed(err, 'onControl');
          }
        }
        return;
      }
    }
  }

  private onPong(p: RelayPeer, msg: Buffer, plen: number, now: number): void {
    if (plen !== RELAY_PING_PAYLOAD) {
      countDrop('relay_malformed');
      return;
    }
    const sentAt = msg.readDoubleBE(RELAY_HEADER_LENGTH);
    const id = msg.readUInt32BE(RELAY_HEADER_LENGTH + 8);
    const rtt = now - sentAt;
    const age = p.pingId - id;
    if (!(rtt >= 0 && rtt <= PONG_MAX_AGE_PINGS * this.pingIntervalMs) || !(age >= 0 && age < PONG_MAX_AGE_PINGS)) {
      countDrop('relay_malformed');
      return;
    }
    p.pongsReceived++;
    relayStats.pongsReceived++;
    p.rttRing[p.rttNext] = rtt;
    p.rttNext = (p.rttNext + 1) % RTT_SAMPLES;
    if (p.rttCount < RTT_SAMPLES) p.rttCount++;
    p.rtt = this.median(p.rttRing, p.rttCount);
    const hd = this.handler;
    if (hd === null) return;
    try {
      hd.onRtt(p.id, p.rtt);
    } catch (err) {
      this.handlerFailed(err, 'onRtt');
    }
  }

  /** Median of ring[0..n) (n ≤ 8): insertion sort into a scratch array. */
  private median(ring: Float64Array, n: number): number {
    const s = this.sortScratch;
    for (let i = 0; i < n; i++) {
      const v = ring[i];
      let j = i - 1;
      while (j >= 0 && s[j] > v) {
        s[j + 1] = s[j];
        j--;
      }
      s[j + 1] = v;
    }
    return n % 2 === 1 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  /** The handler's quiet or silence notice for a peer, a throw contained like every other handler call. */
  private tellIdle(peerId: string, what: 'onPeerQuiet' | 'onPeerSilent'): void {
    const hd = this.handler;
    if (!hd?.[what]) return;
    try {
      hd[what](peerId);
    } catch (err) {
      this.handlerFailed(err, what);
    }
  }

  private handlerFailed(err: unknown, where: string): void {
    countDrop('relay_handler_error');
    this.handlerErrors++;
    // The first, then one in a thousand: a broken handler must not flood the log at packet rate.
    if (this.handlerErrors % 1000 === 1) this.log?.error('relay handler threw', { where, err, count: this.handlerErrors });
  }

  // ── pings (every pingIntervalMs) ──────────────────────────────────────────────────────────────────

  private tick(): void {
    if (this.closed) return;
    const now = this.clock.now();
    const buf = this.pingPayload;
    for (const p of this.peers.values()) {
      const idle = now - p.lastHeardAt;
      if (!p.quiet && idle >= this.quietAfterMs) {
        p.quiet = true;
        this.tellIdle(p.id, 'onPeerQuiet');
        if (this.closed) return; // the handler closed us
      }
      if (!p.silent && idle >= this.silentAfterMs) {
        p.silent = true;
        this.tellIdle(p.id, 'onPeerSilent');
        if (this.closed) return;
      }
      p.pingId = (p.pingId + 1) >>> 0;
      buf.writeDoubleBE(now, 0);
      buf.writeUInt32BE(p.pingId, 8);
      if (this.sendDatagram(p, RELAY_PING, 0, 0, buf, 0, RELAY_PING_PAYLOAD)) {
        p.pingsSent++;
        relayStats.pingsSent++;
      }
    }
  }

  // ── stats, close ──────────────────────────────────────────────────────────────────────────────────

  stats(): RelayEndpointStats {
    const now = this.clock.now();
    return {
      nodeId: this.nodeId,
      nodeNum: this.nodeNum,
      port: this.boundPort,
      sendSlots: this.pooledSlots,
      peers: [...this.peers.values()].map((p) => ({
        id: p.id,
        nodeNum: p.num,
        address: { host: p.host, port: p.port },
        rttMs: p.rtt,
        rttSamples: p.rttCount,
        silent: p.silent,
        lastHeardAgoMs: now - p.lastHeardAt,
        packetsSent: p.packetsSent,
        bytesSent: p.bytesSent,
        packetsReceived: p.packetsReceived,
        bytesReceived: p.bytesReceived,
        sendErrors: p.sendErrors,
        authFailures: p.authFailures,
        replays: p.replays,
        pingsSent: p.pingsSent,
        pongsReceived: p.pongsReceived,
        sendCounter: p.sendCounter,
        recvCounter: Math.max(0, p.window.top),
        streamsSent: streamList(p.streamsOut),
        streamsReceived: streamList(p.streamsIn),
      })),
    };
  }

  /** Stop pinging and close the socket. Idempotent; sends from now on return false (`relay_not_open`). */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.timer !== null) this.clock.clear(this.timer);
    this.timer = null;
    relayStats.peers -= this.peers.size;
    const sock = this.socket;
    this.socket = null;
    if (sock === null) {
      // Not started, or still binding: bind() sees `closed` and closes its socket before it settles.
      this.closing = this.starting === null ? Promise.resolve() : this.starting.catch(() => {});
    } else {
      sock.off('message', this.onMessage);
      this.closing = new Promise<void>((resolve) => sock.close(() => resolve()));
    }
    return this.closing;
  }
}

function streamCounter(map: StreamCounters, originNum: number, streamId: number): StreamCounter {
  let inner = map.get(originNum);
  if (inner === undefined) {
    inner = new Map();
    map.set(originNum, inner);
  }
  let c = inner.get(streamId);
  if (c === undefined) {
    c = { rtpPackets: 0, rtpBytes: 0, rtcpPackets: 0, rtcpBytes: 0 };
    inner.set(streamId, c);
  }
  return c;
}

function streamList(map: StreamCounters): RelayStreamStats[] {
  const out: RelayStreamStats[] = [];
  for (const [originNum, inner] of map) for (const [streamId, c] of inner) out.push({ originNum, streamId, ...c });
  return out;
}
