import { Producer, type ProducerLayer } from '../../media/producer.ts';
import { RtpView } from '../../rtp/rtp-packet.ts';
import { parseRtcp } from '../../rtp/rtcp-compound.ts';
import { writeNack, writePli } from '../../rtp/rtcp-feedback.ts';
import { writeSr } from '../../rtp/rtcp-reports.ts';
import type { RtcpPacket } from '../../rtp/rtcp-types.ts';
import { countDrop } from '../../metrics/drop-reasons.ts';
import { cascadeStats } from '../../metrics/registry.ts';
import type { RelayEndpointHandler } from '../../transport/relay/relay-endpoint.ts';
import type { RelayLink } from './relay-link.ts';
import type { Clock, TimerHandle } from '../../util/clock.ts';
import type { Logger } from '../../util/logger.ts';
import { RelaySink } from './relay-sink.ts';
import type { TrackDesc } from './track-desc.ts';
import { WANT_EXPIRY_MS, WANT_PART_BYTES, WANT_REFRESH_MS, WantSchema, type WantedTrack } from './want-message.ts';

/** Relay bookkeeping (NACKs, wants, expiry) runs this often; packets never wait for it. */
const TICK_MS = 20;
/** A new upstream that has not delivered after this long takes over anyway (the old one may be gone). */
const SWITCH_TIMEOUT_MS = 1500;
/** NACK retry spacing when the upstream's RTT is not known yet. */
const DEFAULT_RTT_MS = 100;
/**
 * The publisher's sender reports travel down the tree this often (RFC 3550 §6.4.1: the NTP/RTP pair lets
 * far subscribers sync audio with video): each node passes on the latest pair it holds for each layer.
 */
const SR_EVERY_MS = 1000;

/** One stream (layer) of a track at this node, by its cluster-wide name (originNum, streamId). */
interface StreamRef {
  track: LocalTrack | RelayedTrack;
  layer: ProducerLayer;
  streamId: number;
}

interface LocalTrack {
  relayed: false;
  producer: Producer;
  desc: TrackDesc;
}

interface RelayedTrack {
  relayed: true;
  producer: Producer;
  desc: TrackDesc;
  /** The node packets are taken from, and the one being switched to (make before break). */
  upstream: string | null;
  pending: string | null;
  pendingSinceMs: number;
  /** Dynacast of the relay-fed producer: the layers its sinks need (sent upstream in wants). */
  active: boolean[];
  /** Had sinks at the last tick (a change sends wants at once). */
  wanted: boolean;
}

/** How this node reaches a track's origin: the next node towards it (routes), or null when unreachable. */
export type UpstreamOf = (originNode: string) => string | null;

export interface TrackRelayOptions {
  nodeId: string;
  nodeNum: number;
  /** The link to the other cores: nodes (RelayEndpoint) or the workers of this node (WorkerRelayLink). */
  endpoint: RelayLink;
  upstreamOf: UpstreamOf;
  clock: Clock;
  log: Logger;
}

/**
 * Tracks across nodes, on one node: local tracks get cluster-wide stream ids and a RelaySink per node that
 * wants them; tracks of other nodes are relay-fed Producers that local consumers (and further relays)
 * attach to like any producer. What flows where is driven by wants (want-message.ts) sent to the next node
 * towards each track's origin, so a tree forms hop by hop from the routes every node computes alike:
 * each node takes a track from exactly one upstream, so a track crosses each link at most once.
 * NACKs are answered from this node's cache (the nearest one); keyframe requests travel up to the
 * publisher, throttled per layer at every hop.
 */
export class TrackRelay implements RelayEndpointHandler {
  private readonly streams = new Map<number, Map<number, StreamRef>>();
  private readonly locals = new Map<string, LocalTrack>();
  private readonly relayed = new Map<string, RelayedTrack>();
  /** peer → track id → the sink sending it there. */
  private readonly sinks = new Map<string, Map<string, RelaySink>>();
  /** Wants received in parts: peer → { seq, parts so far }. */
  private readonly partial = new Map<string, { seq: number; parts: Map<number, WantedTrack[]>; total: number }>();
  private readonly lastWantSeq = new Map<string, number>();
  /** Peers we sent a non-empty want recently (they get an empty one when we stop). */
  private readonly wantedFrom = new Map<string, number>();
  private wantSeq = 0;
  private lastWantSentMs = -Infinity;
  private lastSrMs = -Infinity;
  private nextStreamId = 1;
  private readonly view = new RtpView();
  private readonly rtcpList: RtcpPacket[] = [];
  private readonly nackScratch: number[] = [];
  private readonly timer: TimerHandle;
  private closed = false;

  constructor(private readonly o: TrackRelayOptions) {
    this.timer = o.clock.setInterval(() => this.tick(o.clock.now()), TICK_MS);
  }

  // ── local tracks ──────────────────────────────────────────────────────────────────────────────

  /** A track published on this node: named for the cluster (idempotent). */
  addLocal(producer: Producer): TrackDesc {
    const have = this.locals.get(producer.id);
    if (have) return have.desc;
    const p = producer.params;
    const streamIds = producer.layers.map(() => this.nextStreamId++ >>> 0);
    const desc: TrackDesc = {
      trackId: producer.id,
      publisherId: p.publisherId,
      origin: this.o.nodeId,
      originNum: this.o.nodeNum,
      kind: p.kind,
      mid: p.mid,
      codec: p.codec,
      clockRate: p.clockRate,
      payloadType: p.payloadType,
      audioLevelExtId: producer.audioLevelExtId,
      rids: [...(p.rids ?? [])],
      streamIds,
    };
    const t: LocalTrack = { relayed: false, producer, desc };
    this.locals.set(producer.id, t);
    this.index(t);
    return desc;
  }

  removeLocal(trackId: string): void {
    const t = this.locals.get(trackId);
    if (!t) return;
    this.locals.delete(trackId);
    this.unindex(t);
    this.dropSinksOf(t.producer);
  }

  localDesc(trackId: string): TrackDesc | undefined {
    return this.locals.get(trackId)?.desc;
  }

  // ── tracks of other nodes ─────────────────────────────────────────────────────────────────────

  /** The relay-fed producer of another node's track (made on first need, kept while the track lives). */
  relayedProducer(desc: TrackDesc): Producer {
    const have = this.relayed.get(desc.trackId);
    if (have) return have.producer;
    const t = this.makeRelayed(desc);
    return t.producer;
  }

  /** The track ended at its origin (or its person left): its producer closes, local consumers drop it. */
  removeRelayed(trackId: string): Producer | null {
    const t = this.relayed.get(trackId);
    if (!t) return null;
    this.relayed.delete(trackId);
    this.unindex(t);
    this.dropSinksOf(t.producer);
    t.producer.close();
    return t.producer;
  }

  /** Every track relayed from `node` (its origin died): closed, returned so the owner can tell the spaces. */
  removeRelayedFrom(originNode: string): Producer[] {
    const out: Producer[] = [];
    for (const t of [...this.relayed.values()]) if (t.desc.origin === originNode) out.push(this.removeRelayed(t.desc.trackId)!);
    return out;
  }

  /** Routes changed: each relayed track moves to its new upstream, make before break. */
  reroute(): void {
    const now = this.o.clock.now();
    for (const t of this.relayed.values()) this.chooseUpstream(t, now);
    this.sendWants(now);
  }

  /** A peer is gone (expired, left, or silent): its sinks end, tracks taken from it move at once. */
  peerDown(peerId: string): void {
    const s = this.sinks.get(peerId);
    if (s) for (const sink of s.values()) sink.producer.removeSink(sink);
    this.sinks.delete(peerId);
    this.partial.delete(peerId);
    this.lastWantSeq.delete(peerId);
    this.wantedFrom.delete(peerId);
    const now = this.o.clock.now();
    for (const t of this.relayed.values()) {
      if (t.upstream === peerId) t.upstream = null;
      if (t.pending === peerId) t.pending = null;
      this.chooseUpstream(t, now);
    }
    this.sendWants(now);
  }

  /** Per peer and track: whether a sink sends it there (tests, stats). */
  sinkTracks(peerId: string): string[] {
    return [...(this.sinks.get(peerId)?.keys() ?? [])];
  }

  upstreamOfTrack(trackId: string): string | null {
    return this.relayed.get(trackId)?.upstream ?? null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.o.clock.clear(this.timer);
    for (const s of this.sinks.values()) for (const sink of s.values()) sink.producer.removeSink(sink);
    this.sinks.clear();
    for (const t of this.relayed.values()) t.producer.close();
    this.relayed.clear();
    this.locals.clear();
    this.streams.clear();
  }

  // ── the packet path (RelayEndpointHandler) ────────────────────────────────────────────────────

  onRtp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number, nowMs: number): void {
    if (originNum === this.o.nodeNum) return countDrop('relay_loop');
    const ref = this.streams.get(originNum)?.get(streamId);
    if (ref === undefined || !ref.track.relayed) return countDrop('relay_unknown_stream');
    const t = ref.track;
    if (peerId !== t.upstream) {
      if (peerId !== t.pending) return countDrop('relay_not_upstream');
      // The new path delivers: take it from here; the old upstream is told at the next want.
      t.upstream = peerId;
      t.pending = null;
      cascadeStats.upstreamSwitches++;
      this.sendWants(nowMs);
    }
    const v = this.view;
    const bad = v.parse(buf, length, offset);
    if (bad !== null) return countDrop(bad);
    const layer = ref.layer;
    if (v.ssrc !== layer.ssrc) layer.bind(v.ssrc);
    // A repair that crossed after the original did is a duplicate (the producer drops it).
    const dup = layer.cache !== null && layer.cache.get(v.sequenceNumber) !== null;
    t.producer.onRtp(v, nowMs, dup, layer);
  }

  onRtcp(peerId: string, originNum: number, streamId: number, buf: Buffer, offset: number, length: number): void {
    const ref = this.streams.get(originNum)?.get(streamId);
    if (ref === undefined) return countDrop('relay_unknown_stream');
    const list = this.rtcpList;
    list.length = 0;
    const bad = parseRtcp(offset === 0 ? buf : buf.subarray(offset, offset + length), length, list);
    if (bad !== null) return countDrop(bad);
    for (const p of list) {
      if (p.type === 'nack') this.answerNack(peerId, ref, originNum, p.seqs);
      else if (p.type === 'pli' || p.type === 'fir') ref.track.producer.requestKeyframe(ref.layer);
      else if (p.type === 'sr' && ref.track.relayed && peerId === ref.track.upstream) {
        // Down the tree: the publisher's clock pair, for this node's subscribers (and the next hop).
        ref.track.producer.onSenderReport(p.ntpSec, p.ntpFrac, p.rtpTimestamp, this.o.clock.now(), ref.layer);
      }
    }
  }

  onRtt(): void {}

  onPeerSilent(peerId: string): void {
    this.peerDown(peerId);
  }

  onControl(peerId: string, buf: Buffer, offset: number, length: number, nowMs: number): void {
    let msg;
    try {
      msg = WantSchema.safeParse(JSON.parse(buf.toString('utf8', offset, offset + length)));
    } catch {
      return countDrop('relay_control_invalid');
    }
    if (!msg.success) return countDrop('relay_control_invalid');
    const w = msg.data;
    const last = this.lastWantSeq.get(peerId) ?? -1;
    if (w.seq < last) return countDrop('relay_control_stale');
    let tracks: WantedTrack[];
    if (w.parts === 1) tracks = w.tracks;
    else {
      let p = this.partial.get(peerId);
      if (!p || p.seq !== w.seq) this.partial.set(peerId, (p = { seq: w.seq, parts: new Map(), total: w.parts }));
      p.parts.set(w.part, w.tracks);
      if (p.parts.size < p.total) return;
      tracks = [...p.parts.entries()].sort((a, b) => a[0] - b[0]).flatMap((e) => e[1]);
      this.partial.delete(peerId);
    }
    this.lastWantSeq.set(peerId, w.seq);
    this.applyWant(peerId, tracks, nowMs);
  }

  // ── inside ────────────────────────────────────────────────────────────────────────────────────

  /** A peer's complete want: a sink per track it names (with its layers), none for the rest. */
  private applyWant(peerId: string, tracks: readonly WantedTrack[], nowMs: number): void {
    let bySink = this.sinks.get(peerId);
    const named = new Set<string>();
    for (const w of tracks) {
      const d = w.desc;
      if (d.originNum === this.o.nodeNum && d.origin !== this.o.nodeId) continue; // forged origin
      let producer: Producer | null = null;
      let streamIds: readonly number[] = d.streamIds;
      const local = this.locals.get(d.trackId);
      if (local) {
        producer = local.producer;
        streamIds = local.desc.streamIds;
      } else if (d.origin === this.o.nodeId) {
        continue; // a track of ours that ended: the next want drops it
      } else {
        let t = this.relayed.get(d.trackId);
        if (t && t.upstream === peerId) {
          countDrop('relay_loop'); // we take it from that peer: sending it back would loop
          continue;
        }
        t ??= this.makeRelayed(d);
        producer = t.producer;
      }
      named.add(d.trackId);
      if (!bySink) this.sinks.set(peerId, (bySink = new Map()));
      let sink = bySink.get(d.trackId);
      if (!sink) {
        sink = new RelaySink(peerId, producer, d.originNum, streamIds, this.o.endpoint, nowMs);
        bySink.set(d.trackId, sink);
        producer.addSink(sink);
        // The far node starts mid-stream: a keyframe on every layer it takes gets its viewers going.
        if (producer.kind === 'video') for (const l of producer.layers) if (w.active[l.index] !== false) producer.requestKeyframe(l);
      }
      sink.setActive(w.active, nowMs);
    }
    if (bySink) {
      for (const [trackId, sink] of bySink) {
        if (named.has(trackId)) continue;
        sink.producer.removeSink(sink);
        bySink.delete(trackId);
      }
      if (bySink.size === 0) this.sinks.delete(peerId);
    }
  }

  private makeRelayed(desc: TrackDesc): RelayedTrack {
    let t: RelayedTrack | null = null;
    const producer = new Producer(
      {
        id: desc.trackId,
        publisherId: desc.publisherId,
        kind: desc.kind,
        mid: desc.mid,
        codec: desc.codec,
        clockRate: desc.clockRate,
        payloadType: desc.payloadType,
        rtxPayloadType: null,
        ssrc: 0,
        rtxSsrc: null,
        ...(desc.rids.length > 0 ? { rids: desc.rids } : {}),
      },
      this.o.clock,
      { requestKeyframe: (ssrc) => t && this.sendPli(t, ssrc) },
    );
    producer.audioLevelExtId = desc.audioLevelExtId;
    t = { relayed: true, producer, desc, upstream: null, pending: null, pendingSinceMs: 0, active: producer.layers.map(() => true), wanted: false };
    const track = t;
    producer.onLayerWish = (wish) => {
      track.active = wish.map((w) => w.active);
      this.sendWants(this.o.clock.now());
    };
    this.relayed.set(desc.trackId, t);
    this.index(t);
    this.chooseUpstream(t, this.o.clock.now());
    return t;
  }

  private chooseUpstream(t: RelayedTrack, nowMs: number): void {
    const next = this.o.upstreamOf(t.desc.origin);
    if (next === t.upstream) {
      t.pending = null;
      return;
    }
    if (t.upstream === null || next === null) {
      t.upstream = next;
      t.pending = null;
      return;
    }
    if (t.pending !== next) {
      t.pending = next;
      t.pendingSinceMs = nowMs;
    }
  }

  private index(t: LocalTrack | RelayedTrack): void {
    let byId = this.streams.get(t.desc.originNum);
    if (!byId) this.streams.set(t.desc.originNum, (byId = new Map()));
    t.producer.layers.forEach((layer, i) => byId.set(t.desc.streamIds[i]!, { track: t, layer, streamId: t.desc.streamIds[i]! }));
  }

  private unindex(t: LocalTrack | RelayedTrack): void {
    const byId = this.streams.get(t.desc.originNum);
    if (!byId) return;
    for (const id of t.desc.streamIds) if (byId.get(id)?.track === t) byId.delete(id);
    if (byId.size === 0) this.streams.delete(t.desc.originNum);
    for (const id of t.desc.streamIds) this.o.endpoint.forgetStream(t.desc.originNum, id);
  }

  private dropSinksOf(producer: Producer): void {
    for (const [peer, bySink] of this.sinks) {
      const sink = bySink.get(producer.id);
      if (!sink) continue;
      producer.removeSink(sink);
      bySink.delete(producer.id);
      if (bySink.size === 0) this.sinks.delete(peer);
    }
  }

  /** NACKed packets go out again from this node's cache: the nearest copy to the one who lost them. */
  private answerNack(peerId: string, ref: StreamRef, originNum: number, seqs: readonly number[]): void {
    const cache = ref.layer.cache;
    if (cache === null) return;
    for (const seq of seqs) {
      const pkt = cache.get(seq);
      if (pkt === null) {
        countDrop('nack_not_in_cache');
        continue;
      }
      if (this.o.endpoint.sendRtp(peerId, originNum, ref.streamId, pkt.buf, 0, pkt.length)) cascadeStats.nacksAnswered++;
    }
  }

  private sendPli(t: RelayedTrack, ssrc: number): void {
    const up = t.upstream;
    if (up === null) return;
    for (let i = 0; i < t.producer.layers.length; i++) {
      if (t.producer.layers[i]!.ssrc !== ssrc) continue;
      const pli = writePli(0, ssrc);
      this.o.endpoint.sendRtcp(up, t.desc.originNum, t.desc.streamIds[i]!, pli, 0, pli.length);
      cascadeStats.keyframeRequestsUp++;
    }
  }

  private tick(nowMs: number): void {
    if (this.closed) return;
    let changed = false;
    for (const t of this.relayed.values()) {
      t.producer.tick(nowMs);
      const wanted = t.producer.sinks.length > 0;
      if (wanted !== t.wanted) {
        t.wanted = wanted;
        changed = true;
      }
      if (t.pending !== null && nowMs - t.pendingSinceMs > SWITCH_TIMEOUT_MS) {
        t.upstream = t.pending;
        t.pending = null;
        changed = true;
      }
      if (wanted && t.upstream !== null) this.sendNacks(t, t.upstream, nowMs);
    }
    for (const t of this.locals.values()) if (t.producer.closed) this.removeLocal(t.desc.trackId);
    // Sinks of peers that stopped wanting (they died, or the want was lost for good).
    for (const [peer, bySink] of this.sinks) {
      for (const [trackId, sink] of bySink) {
        if (nowMs - sink.lastWantMs <= WANT_EXPIRY_MS && !sink.producer.closed) continue;
        sink.producer.removeSink(sink);
        bySink.delete(trackId);
      }
      if (bySink.size === 0) this.sinks.delete(peer);
    }
    if (changed || nowMs - this.lastWantSentMs >= WANT_REFRESH_MS) this.sendWants(nowMs);
    if (nowMs - this.lastSrMs >= SR_EVERY_MS) this.sendSenderReports(nowMs);
  }

  private sendSenderReports(nowMs: number): void {
    this.lastSrMs = nowMs;
    for (const [peer, bySink] of this.sinks) {
      for (const sink of bySink.values()) {
        const p = sink.producer;
        const ref = this.locals.get(p.id) ?? this.relayed.get(p.id);
        if (!ref) continue;
        p.layers.forEach((l, i) => {
          const sr = l.lastSr;
          if (sr === null || l.ssrc === 0) return;
          // Carried forward to now: the next node takes the pair as of its arrival (audio and video
          // travel the same path, so the one-way delay shifts both alike and sync is kept).
          const ageMs = Math.max(0, nowMs - sr.arrivalMs);
          const frac = sr.ntpFrac + Math.round((ageMs % 1000) * 4294967.296);
          const ntpSec = (sr.ntpSec + Math.floor(ageMs / 1000) + Math.floor(frac / 0x1_0000_0000)) >>> 0;
          const rtp = (sr.rtpTimestamp + Math.round((ageMs * p.params.clockRate) / 1000)) >>> 0;
          const b = writeSr({ ssrc: l.ssrc, ntpSec, ntpFrac: frac % 0x1_0000_0000, rtpTimestamp: rtp, packetCount: 0, octetCount: 0 });
          this.o.endpoint.sendRtcp(peer, ref.desc.originNum, ref.desc.streamIds[i]!, b, 0, b.length);
        });
      }
    }
  }

  private sendNacks(t: RelayedTrack, up: string, nowMs: number): void {
    const rtt = this.o.endpoint.rttMs(up);
    const layers = t.producer.layers;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i]!;
      const nack = l.nack;
      if (nack === null || l.ssrc === 0) continue;
      const n = nack.collect(nowMs, rtt > 0 ? rtt : DEFAULT_RTT_MS, this.nackScratch);
      if (n > 0) {
        const pkt = writeNack(0, l.ssrc, this.nackScratch.slice(0, n));
        this.o.endpoint.sendRtcp(up, t.desc.originNum, t.desc.streamIds[i]!, pkt, 0, pkt.length);
        cascadeStats.nacksSentUp += n;
      }
      if (nack.needsKeyframe) {
        nack.clearKeyframeRequest();
        l.requestKeyframe();
      }
    }
  }

  /** Every peer we take tracks from gets the full list of what we want from it (soft state). */
  private sendWants(nowMs: number): void {
    this.lastWantSentMs = nowMs;
    const byPeer = new Map<string, WantedTrack[]>();
    for (const t of this.relayed.values()) {
      if (!t.wanted) continue;
      for (const peer of [t.upstream, t.pending]) {
        if (peer === null) continue;
        let list = byPeer.get(peer);
        if (!list) byPeer.set(peer, (list = []));
        list.push({ desc: t.desc, active: t.active });
      }
    }
    for (const peer of this.wantedFrom.keys()) if (!byPeer.has(peer)) byPeer.set(peer, []);
    this.wantSeq++;
    for (const [peer, tracks] of byPeer) {
      if (tracks.length === 0) this.wantedFrom.delete(peer);
      else this.wantedFrom.set(peer, nowMs);
      this.sendWant(peer, tracks);
    }
  }

  private sendWant(peer: string, tracks: WantedTrack[]): void {
    // Split so that each datagram stays under the budget; all parts share the seq.
    const parts: WantedTrack[][] = [[]];
    let size = 0;
    for (const w of tracks) {
      const n = JSON.stringify(w).length;
      if (size + n > WANT_PART_BYTES && parts[parts.length - 1]!.length > 0) {
        parts.push([]);
        size = 0;
      }
      parts[parts.length - 1]!.push(w);
      size += n;
    }
    parts.forEach((list, part) => {
      const b = Buffer.from(JSON.stringify({ v: 1, t: 'want', seq: this.wantSeq, part, parts: parts.length, tracks: list }));
      this.o.endpoint.sendControl(peer, b, 0, b.length);
    });
  }
}
