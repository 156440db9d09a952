/**
 * The adaptation scenario shared by the Chromium acceptance tests and the weather-timeline bench: four
 * Chromium publishers at 1, 2, 3 and 4 tiles from one Chromium subscriber, each sending three simulcast
 * layers with VP8 temporal layers; every packet crosses the weather proxy, and the subscriber's own access
 * link (its `ClientLink`) carries the weather under test, so the publishers' uplinks stay clear.
 *
 * What is read, and where: the server's allocation and estimate (in process), what crossed the
 * subscriber's link per SSRC (the proxy sees RTP headers in the clear: arrivals, losses), and what the page
 * shows (frames, their height, freezes, audio concealment from getStats()).
 */
import { startTestServer } from './proxima.ts';
import { TestBrowser, waitFor, type Page } from './browser.ts';
import { WeatherProxy, type ClientLink } from '../../tools/weather/udp-proxy.ts';
import { loadClip } from '../../tools/loadgen/media/clip.ts';
import { ProximaTarget } from '../../tools/loadgen/targets/proxima-target.ts';
import type { LoadPerson } from '../../tools/loadgen/person.ts';
import { createDtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { systemClock } from '../../src/util/clock.ts';
import type { ImpairmentPatch } from '../../tools/weather/impairment.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import type { Participant } from '../../src/server/participant.ts';
import type { Consumer } from '../../src/media/consumer.ts';
import { TransportCcEstimator } from '../../src/bwe/transport-cc-estimator.ts';
import { describe } from '../../src/allocation/allocate.ts';
import { dropCounts } from '../../src/metrics/drop-reasons.ts';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The publishers' microphones: pink noise just under the voice-activity threshold (RFC 6464 level 50,
 * -50 dBov). Opus still spends real bits on it, but nobody "speaks", so priorities follow distance alone;
 * Chrome's default fake device beeps, which turns speaking on and off at random phases per publisher.
 */
export function quietNoiseFile(): string {
  const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../.cache/media');
  const file = join(dir, 'quiet-pink-noise.wav');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anoisesrc=color=pink:amplitude=0.004:seed=7', '-t', '30', '-ar', '48000', '-ac', '1', file]);
  }
  return file;
}

/** Chrome allows three simulcast layers only from 960×540 up unless this trial is off; 640×360 costs two cores less. */
export const SIMULCAST_TRIAL = '--force-fieldtrials=WebRTC-LegacySimulcastLayerLimit/Disabled/';
export const CAPTURE = { width: 640, height: 360 };

/** On the office map's open floor (rows 20–22): the subscriber, and publishers 1–4 tiles away. */
export const SUBSCRIBER_AT = { x: 20, y: 21 };
export const PUBLISHERS_AT = [
  { x: 21, y: 21, distance: 1 },
  { x: 18, y: 21, distance: 2 },
  { x: 20, y: 18, distance: 3 },
  { x: 24, y: 21, distance: 4 },
];

export interface Publisher {
  name: string;
  id: string;
  distance: number;
  /** A Chromium publisher's page, or a headless one's load-generator person. */
  page: Page | null;
  person: LoadPerson | null;
}

/**
 * Who publishes: Chromium pages (camera at CAPTURE, three simulcast layers with L1T3, what the SDK does), or
 * headless clip publishers (tools/loadgen: the same three layers at 320×180/640×360/1280×720 with the same
 * temporal structure, pre-encoded: no encoder on the two cores, so the subscriber's measurements see the
 * network and the server, not a starved machine).
 */
export type PublisherKind = 'chromium' | 'headless';

/** Per SSRC of what the subscriber's link carried down: arrivals, gaps and losses (RTP only: headers are in the clear). */
export class WireWatch {
  readonly delivered = new Map<number, number>();
  readonly lost = new Map<number, number>();
  /** Longest gap between two arrivals per SSRC since the last reset (ms). */
  readonly maxGap = new Map<number, number>();
  /** Sequence numbers lost, and delivered, for the SSRCs being traced (see trace()). */
  readonly lostSeqs = new Map<number, number[]>();
  readonly deliveredSeqs = new Map<number, Set<number>>();
  private readonly lastAt = new Map<number, number>();
  private readonly traced = new Set<number>();
  /** Arrival times (the proxy's clock, ms) of the SSRCs being timed (see time()). */
  readonly arrivals = new Map<number, number[]>();
  bytes = 0;

  attach(link: ClientLink): void {
    // A new link (the ICE path moved): gaps start over, or the first packet would count the move.
    this.lastAt.clear();
    link.down.onDeliver = (b, at) => {
      this.bytes += b.length;
      const ssrc = rtpSsrc(b);
      if (ssrc < 0) return;
      this.delivered.set(ssrc, (this.delivered.get(ssrc) ?? 0) + 1);
      const last = this.lastAt.get(ssrc);
      if (last !== undefined) this.maxGap.set(ssrc, Math.max(this.maxGap.get(ssrc) ?? 0, at - last));
      this.lastAt.set(ssrc, at);
      if (this.traced.has(ssrc)) this.deliveredSeqs.get(ssrc)!.add(b.readUInt16BE(2));
      this.arrivals.get(ssrc)?.push(at);
    };
    link.down.onLoss = (b) => {
      const ssrc = rtpSsrc(b);
      if (ssrc < 0) return;
      this.lost.set(ssrc, (this.lost.get(ssrc) ?? 0) + 1);
      if (this.traced.has(ssrc)) this.lostSeqs.get(ssrc)!.push(b.readUInt16BE(2));
    };
  }

  /** Record the sequence numbers of these SSRCs from now on (lost and delivered). */
  trace(ssrcs: readonly number[]): void {
    for (const x of ssrcs) {
      this.traced.add(x);
      this.lostSeqs.set(x, []);
      this.deliveredSeqs.set(x, new Set());
    }
  }

  /** Record when each packet of these SSRCs arrives from now on (e.g. audio, to see when it resumes after a blackout). */
  time(ssrcs: readonly number[]): void {
    for (const x of ssrcs) if (!this.arrivals.has(x)) this.arrivals.set(x, []);
  }

  /** The first arrival of `ssrc` at or after `t` (the proxy's clock, as the weather's own timers), or Infinity. */
  firstArrivalAfter(ssrc: number, t: number): number {
    const a = this.arrivals.get(ssrc);
    if (!a) throw new Error(`SSRC ${ssrc} is not timed (see time())`);
    return a.find((x) => x >= t) ?? Infinity;
  }

  /** Starts a new window for gaps (counts keep running). */
  resetGaps(): void {
    this.maxGap.clear();
  }
}

/** SSRC of an RTP packet (RFC 7983: first byte 128–191; RFC 5761: PT 64–95 with the marker folded in is RTCP), else -1. */
function rtpSsrc(b: Buffer): number {
  if (b.length < 12 || b[0] < 128 || b[0] > 191) return -1;
  if (b[1] >= 192 && b[1] <= 223) return -1;
  return b.readUInt32BE(8);
}

export interface ServerSample {
  t: number;
  estimateBps: number;
  ackedBps: number;
  state: string;
  signal: string;
  lossFraction: number;
  tracks: Array<{ publisher: string; kind: 'audio' | 'video'; target: string; current: string; reason: string; bitrate: number }>;
}

export interface PageVideo {
  publisherId: string;
  frames: number;
  maxGapMs: number;
  height: number;
  freezes: Array<{ atMs: number; gapMs: number }>;
}

/** One point of a recorded timeline (see AdaptationScenario.record). */
export interface TimelinePoint {
  /** ms since the recording started. */
  t: number;
  estimateBps: number;
  /** The estimator's counters at this point: what moved the estimate (see traceLine). */
  bwe?: {
    queueMs: number;
    jitterMs: number;
    loss: number;
    overuseCuts: number;
    capacityDrops: number;
    queueDrains: number;
    rebases: number;
    stallHolds: number;
    noQueueOveruses: number;
    probesApplied: number;
    delayBps: number;
    lossBps: number;
    ackedBps: number;
  };
  /** What crossed the subscriber's link down in the interval (kbit/s, UDP payloads). */
  rxKbps: number;
  state: string;
  /** Per publisher, nearest first. */
  tracks: Array<{
    name: string;
    distance: number;
    /** Allocated video layer ('-' paused) and what is forwarded now. */
    target: string;
    current: string;
    reason: string;
    /** Longest gap between audio packets delivered in the interval (ms). */
    audioGapMs: number;
    /** Height of the video the page shows, frames it showed so far. */
    height: number;
    frames: number;
  }>;
}

export class AdaptationScenario {
  readonly wire = new WireWatch();
  link: ClientLink | null = null;
  sub: Page | null = null;
  subId = '';
  joinedAt = 0;

  /** Height of the publishers' top layer. */
  readonly topHeight: number;

  private constructor(
    readonly server: ProximaServer,
    readonly proxy: WeatherProxy,
    readonly pubBrowser: TestBrowser | null,
    readonly subBrowser: TestBrowser,
    readonly publishers: Publisher[],
    readonly space: string,
    readonly kind: PublisherKind,
  ) {
    this.topHeight = CAPTURE.height;
  }

  /** Server, proxy and the four publishers, each sending all three layers; no subscriber yet. */
  static async start(opts: { publishers?: PublisherKind; space?: string } = {}): Promise<AdaptationScenario> {
    const kind = opts.publishers ?? 'headless';
    const space = opts.space ?? 'adapt';
    const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, seed: 7 });
    await proxy.start();
    const server = await startTestServer({ media: { announcedPort: proxy.port } });
    proxy.setTarget({ address: '127.0.0.1', port: server.media.port });
    // Publishers and subscriber in browsers of their own: pages of one Chromium share its processes, and the
    // subscriber's measurements must not see the publishers' encoders.
    // Loopback flags: media goes through the weather proxy on 127.0.0.1 (announcedPort), the impaired path.
    const pubBrowser = kind === 'chromium' ? await TestBrowser.launch([SIMULCAST_TRIAL, `--use-file-for-fake-audio-capture=${quietNoiseFile()}`]) : null;
    const subBrowser = await TestBrowser.launch();
    const publishers: Publisher[] = [];
    const s = new AdaptationScenario(server, proxy, pubBrowser, subBrowser, publishers, space, kind);
    try {
      const target =
        kind === 'headless' ? new ProximaTarget({ url: server.url, space, clip: await loadClip({ layers: 'sim360' }), clock: systemClock, certificate: await createDtlsCertificate() }) : null;
      for (const [i, at] of PUBLISHERS_AT.entries()) {
        const name = `P${i + 1}`;
        if (target) {
          const person = await target.join({ name, publish: true, simulcast: true, x: at.x, y: at.y });
          publishers.push({ name, id: person.id, distance: at.distance, page: null, person });
          continue;
        }
        // maxVideos=0: publishers near each other do not decode each other's video (two cores for five pages).
        const page = await pubBrowser!.page(`${server.url}/?space=${space}&name=${name}&x=${at.x}&y=${at.y}&video=${CAPTURE.width}x${CAPTURE.height}&maxVideos=0`);
        const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
        publishers.push({ name, id, distance: at.distance, page, person: null });
      }
      // Nobody watches yet, so dynacast turns h and f off as soon as they send: known (sending or on
      // standby at their measured rates) is what counts.
      await waitFor(
        'every publisher to have sent three layers',
        () => publishers.every((p) => s.videoProducer(p.id)?.layerOptions(performance.now()).some((o) => o.spatial === 2 && (o.height ?? 0) >= s.topHeight)),
        30_000,
        250,
      );
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** The server's side every 250 ms since join (estimate, estimator counters, targets), for failure messages. */
  readonly serverTrace: string[] = [];
  private traceTimer: NodeJS.Timeout | null = null;

  /** The last `n` lines of the server trace (one per 250 ms), newest last. */
  recentTrace(n = 48): string {
    return this.serverTrace.slice(-n).join('\n');
  }

  private traceServer(): void {
    const t0 = Date.now();
    this.traceTimer = setInterval(() => {
      const sv = this.serverSample();
      const tracks = this.publishers.map((p) => {
        const v = sv.tracks.find((x) => x.publisher === p.name && x.kind === 'video');
        return { name: p.name, distance: p.distance, target: v?.target ?? '-', current: v?.current ?? '-', reason: v?.reason ?? '?', audioGapMs: 0, height: 0, frames: 0 };
      });
      const a = this.participant(this.subId)?.downlink?.allocation;
      const est = this.participant(this.subId)?.downlink?.estimator;
      const pr = est instanceof TransportCcEstimator ? est.prober?.stats : undefined;
      const probes = pr ? ` probes${pr.clustersStarted}/${pr.clustersEvaluated}/${pr.clustersFailed}/${pr.clustersCompressed}c/${est instanceof TransportCcEstimator ? est.probesApplied : 0}up@${Math.round(pr.lastResultBps / 1000)}` : '';
      const extra = est instanceof TransportCcEstimator ? ` stall${est.stallReleases}/${est.stallHolds} rebase${est.rebases}${probes}` : '';
      this.serverTrace.push(`${traceLine({ t: Date.now() - t0, estimateBps: sv.estimateBps, rxKbps: 0, state: sv.state, bwe: this.bweCounters(), tracks })}${extra} || ${a ? describe(a) : '-'}`);
      if (this.serverTrace.length > 2000) this.serverTrace.splice(0, 1000);
    }, 250);
    this.traceTimer.unref();
  }

  /** The subscriber walks in (joins); resolves once its subscribe path exists and its link is known. */
  async join(): Promise<void> {
    this.joinedAt = Date.now();
    this.traceServer();
    const sub = await this.subBrowser.page(`${this.server.url}/?space=${this.space}&name=S&x=${SUBSCRIBER_AT.x}&y=${SUBSCRIBER_AT.y}&publish=0`);
    this.sub = sub;
    this.subId = (await sub.evaluate(() => (window as any).proxima.ready)) as string;
    const t = await waitFor('the subscribe transport to connect', () => {
      const tr = this.participant(this.subId)?.subscribeTransport;
      return tr?.connected ? tr : null;
    });
    const link = this.proxy.linkOf(t.remotePort);
    if (!link) throw new Error(`no proxy client for upstream port ${t.remotePort}`);
    this.link = link;
    this.wire.attach(link);
  }

  /** New weather on the subscriber's link, both directions. */
  weather(w: ImpairmentPatch): void {
    const link = this.currentLink();
    link.down.setConfig(w);
    link.up.setConfig(w);
    this.lastWeather = w;
    this.serverTrace.push(`--- weather ${JSON.stringify(w)}`);
  }

  private lastWeather: ImpairmentPatch = {};

  /**
   * The proxy client the subscribe path uses now: Chrome may check from several local addresses and move
   * the path once after the first one works (ICE nomination), so it is looked up again each time.
   */
  currentLink(): ClientLink {
    const t = this.participant(this.subId)?.subscribeTransport;
    if (!t || !this.link) throw new Error('join first');
    if (t.remotePort !== this.link.upstreamPort) {
      const next = this.proxy.linkOf(t.remotePort);
      if (!next) throw new Error(`no proxy client for upstream port ${t.remotePort}`);
      this.link.down.onDeliver = this.link.down.onLoss = null;
      this.link = next;
      this.wire.attach(next);
      next.down.setConfig(this.lastWeather);
      next.up.setConfig(this.lastWeather);
    }
    return this.link;
  }

  participant(id: string): Participant | undefined {
    return this.server.spaces.get(this.space)?.participants.get(id);
  }

  videoProducer(publisherId: string) {
    const p = this.participant(publisherId);
    return p ? [...p.localProducers.values()].find((x) => x.kind === 'video') : undefined;
  }

  /** The subscriber's consumers of a publisher. */
  consumers(publisherId: string): { audio?: Consumer; video?: Consumer } {
    const sub = this.participant(this.subId);
    const p = this.participant(publisherId);
    const out: { audio?: Consumer; video?: Consumer } = {};
    if (!sub || !p) return out;
    for (const prod of p.producers.values()) {
      const c = sub.consumerOf(prod.id);
      if (c) out[prod.kind] = c;
    }
    return out;
  }

  /** Whether the nearest publisher is forwarded on its top layer and the page shows it at full height. */
  async nearestOnTop(): Promise<boolean> {
    const near = this.publishers[0];
    const c = this.consumers(near.id).video;
    const v = (await this.pageVideos()).find((x) => x.publisherId === near.id);
    return c?.current?.spatial === 2 && v?.height === this.topHeight;
  }

  /** Polls nearestOnTop every 100 ms; false if it did not happen within `ms`. */
  async nearestOnTopWithin(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await this.nearestOnTop()) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** The server's view of the subscriber now. */
  serverSample(): ServerSample {
    const d = this.participant(this.subId)?.downlink ?? null;
    const snap = d?.snapshot();
    const tracks: ServerSample['tracks'] = [];
    for (const pub of this.publishers) {
      for (const [kind, c] of Object.entries(this.consumers(pub.id)) as Array<['audio' | 'video', Consumer]>) {
        const a = snap?.allocation?.tracks.find((t) => t.trackId === c.producer.id);
        const fmt = (l: { spatial: number; temporal: number } | null) => (l === null ? '-' : `s${l.spatial}t${l.temporal}`);
        tracks.push({ publisher: pub.name, kind, target: kind === 'audio' ? 'a' : fmt(c.target), current: kind === 'audio' ? 'a' : fmt(c.current), reason: a?.reason ?? '?', bitrate: a?.bitrate ?? 0 });
      }
    }
    const st = snap?.estimator;
    return {
      t: Date.now(),
      estimateBps: st?.estimateBps ?? 0,
      ackedBps: st?.ackedBps ?? 0,
      state: st?.state ?? '?',
      signal: st?.signal ?? '?',
      lossFraction: st?.lossFraction ?? 0,
      tracks,
    };
  }

  /** The subscriber's estimator internals (transport-cc only), for traces. */
  bweCounters(): TimelinePoint['bwe'] {
    const est = this.participant(this.subId)?.downlink?.estimator;
    if (!(est instanceof TransportCcEstimator)) return undefined;
    const st = est.stats();
    return {
      queueMs: Math.round(est.queueMs),
      jitterMs: Math.round(est.jitterMs),
      loss: st.lossFraction,
      overuseCuts: est.overuseCuts,
      capacityDrops: est.capacityDrops,
      queueDrains: est.queueDrains,
      rebases: est.rebases,
      stallHolds: est.stallHolds,
      noQueueOveruses: est.noQueueOveruses,
      probesApplied: est.probesApplied,
      delayBps: st.delayBasedBps,
      lossBps: st.lossBasedBps,
      ackedBps: st.ackedBps,
    };
  }

  /** What the subscriber's page shows per received video (frames, height, freezes; `reset` opens a window). */
  async pageVideos(reset = false): Promise<PageVideo[]> {
    return (await this.sub!.evaluate((r) => (window as any).proxima.frameGaps(r), reset)) as PageVideo[];
  }

  /** getStats() of the subscriber's inbound streams, by publisher: audio concealment, video loss and RTX. */
  async pageInbound(): Promise<Map<string, { audio?: Record<string, number>; video?: Record<string, number> }>> {
    const raw = (await this.sub!.evaluate(async () => {
      const c = (window as any).proxima.client;
      const pc: RTCPeerConnection | null = c.subscribePc;
      if (!pc) return [];
      const byTrack = new Map<string, string>();
      for (const t of c.remoteTracks.values()) byTrack.set(t.track.id, t.publisherId);
      const midOwner = new Map<string, string>();
      for (const tr of pc.getTransceivers()) if (tr.mid !== null && byTrack.has(tr.receiver.track.id)) midOwner.set(tr.mid, byTrack.get(tr.receiver.track.id)!);
      const out: Array<{ publisherId: string; kind: string; s: Record<string, number> }> = [];
      (await pc.getStats()).forEach((s: any) => {
        if (s.type !== 'inbound-rtp') return;
        const pid = byTrack.get(s.trackIdentifier) ?? midOwner.get(s.mid);
        if (!pid) return;
        const keep: Record<string, number> = {};
        for (const k of ['packetsReceived', 'packetsLost', 'retransmittedPacketsReceived', 'nackCount', 'framesDecoded', 'frameHeight', 'freezeCount', 'totalFreezesDuration', 'concealedSamples', 'totalSamplesReceived', 'bytesReceived', 'ssrc']) {
          if (typeof s[k] === 'number') keep[k] = s[k];
        }
        out.push({ publisherId: pid, kind: s.kind, s: keep });
      });
      return out;
    })) as Array<{ publisherId: string; kind: 'audio' | 'video'; s: Record<string, number> }>;
    const m = new Map<string, { audio?: Record<string, number>; video?: Record<string, number> }>();
    for (const r of raw) {
      const e = m.get(r.publisherId) ?? {};
      e[r.kind] = r.s;
      m.set(r.publisherId, e);
    }
    return m;
  }

  /** The subscriber page's clock (performance.now()), to place its freeze events. */
  async pageNow(): Promise<number> {
    return (await this.sub!.evaluate(() => performance.now())) as number;
  }

  /** Samples everything every `everyMs` for `ms`; `at(t)` runs before each sample (to change the weather). */
  async record(ms: number, everyMs: number, at?: (tMs: number) => void): Promise<TimelinePoint[]> {
    const out: TimelinePoint[] = [];
    const t0 = Date.now();
    let bytes = this.wire.bytes;
    let last = t0;
    this.wire.resetGaps();
    while (Date.now() - t0 < ms) {
      const next = t0 + (out.length + 1) * everyMs;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      const now = Date.now();
      at?.(now - t0);
      const server = this.serverSample();
      const videos = await this.pageVideos();
      const rx = ((this.wire.bytes - bytes) * 8) / Math.max(1, now - last);
      bytes = this.wire.bytes;
      last = now;
      const tracks = this.publishers.map((p) => {
        const c = this.consumers(p.id);
        const v = server.tracks.find((x) => x.publisher === p.name && x.kind === 'video');
        const pv = videos.find((x) => x.publisherId === p.id);
        return {
          name: p.name,
          distance: p.distance,
          target: v?.target ?? '-',
          current: v?.current ?? '-',
          reason: v?.reason ?? '?',
          audioGapMs: c.audio ? Math.round(this.wire.maxGap.get(c.audio.params.ssrc) ?? 0) : 0,
          height: pv?.height ?? 0,
          frames: pv?.frames ?? 0,
        };
      });
      this.wire.resetGaps();
      out.push({ t: now - t0, estimateBps: server.estimateBps, rxKbps: rx, state: server.state, bwe: this.bweCounters(), tracks });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.traceTimer) clearInterval(this.traceTimer);
    // PROXIMA_TRACE_FILE: the whole server trace, for a run that failed (one line per 250 ms).
    if (process.env.PROXIMA_TRACE_FILE) writeFileSync(process.env.PROXIMA_TRACE_FILE, `${this.serverTrace.join('\n')}\n`);
    for (const p of this.publishers) p.person?.close();
    await this.subBrowser.close();
    await this.pubBrowser?.close();
    await this.server.close();
    await this.proxy.close();
  }
}

/** One line per timeline point: what the server decided and why (for failure messages and bench logs). */
export function traceLine(p: TimelinePoint): string {
  const k = (bps: number) => Math.round(bps / 1000);
  const b = p.bwe;
  const bwe = b ? ` q${b.queueMs} loss${(b.loss * 100).toFixed(0)}% d${k(b.delayBps)} l${k(b.lossBps)} ack${k(b.ackedBps)} cuts${b.overuseCuts} drops${b.capacityDrops}/${b.queueDrains} j${b.jitterMs}` : '';
  return `${p.t} est${k(p.estimateBps)} ${p.state}${bwe} rx${Math.round(p.rxKbps)} | ${p.tracks.map((t) => `${t.name}:${t.target}/${t.current}`).join(' ')}`;
}

/**
 * Repairs the server dropped since `before` (a `new Map(dropCounts())` taken then), up to `now` (default: the
 * counts now), as "reason=count …": NACKs not answered, RTX not sent, packets the pacer gave up on.
 */
export function repairDropsSince(before: ReadonlyMap<string, number>, now: Iterable<readonly [string, number]> = dropCounts()): string {
  return [...now]
    .map(([r, n]) => [r, n - (before.get(r) ?? 0)] as const)
    .filter(([r, n]) => n > 0 && (r.startsWith('nack') || r.startsWith('rtx') || r.startsWith('pacer')))
    .map(([r, n]) => `${r}=${n}`)
    .join(' ');
}
