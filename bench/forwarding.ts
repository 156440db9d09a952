/**
 * Forwarding rate of the packet path in one process: 1 publisher → 1, 10, 50 subscribers, SRTP on both
 * sides. The publisher's NodePeer protects each batch ahead of time (excluded from the figures); the
 * server's transport gets them through the VirtualNetwork's demux (handleSrtp → PublishSession → Producer
 * → Consumers → SRTP protect → send). What the server sends is counted and dropped ("virtual") or sent
 * to a sink socket in another process over loopback ("udp").
 *
 * Run: node --import tsx bench/forwarding.ts [--runs 5] [--seconds 3] [--subs 1,10,50] [--networks virtual,udp]
 */
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics } from 'node:v8';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { MediaMux } from '../src/transport/media-mux.ts';
import { bindMediaSocket } from '../src/transport/udp-socket.ts';
import { dropCounts } from '../src/metrics/drop-reasons.ts';
import type { NodePeer } from '../tools/client/node-peer.ts';
import { opusPayload, vp8Payload } from '../test/testkit/synthetic-media.ts';
import { buildInProcessSfu, type InProcessSfu } from './lib/in-process-sfu.ts';
import { forcedGc } from './lib/gc.ts';
import { median } from './lib/stats.ts';
import { fmt, printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';
import { startUdpSink, type UdpSink } from './lib/udp-sink.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    subs: { type: 'string', default: '1,10,50' },
    networks: { type: 'string', default: 'virtual,udp' },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const SUBS = args.subs!.split(',').map(Number);
const NETWORKS = args.networks!.split(',') as ('virtual' | 'udp')[];

// The mix: per 30 fps frame, 6 video packets of 1200 bytes and 2 Opus packets (~75% video by count,
// ~97% by bytes), a keyframe every 60 frames.
const VIDEO_PACKET = 1200;
const VIDEO_PAYLOAD = VIDEO_PACKET - 12 - 8; // RTP header and the one-byte extension block (transport-cc)
const AUDIO_PAYLOAD = 100;
const FRAME = ['v', 'v', 'v', 'a', 'v', 'v', 'v', 'a'] as const;
const KEYFRAME_EVERY = 60;
/** Input packets protected per batch, then fed; the loop yields to timers and I/O between batches. */
const BATCH = 128;
const ALLOC_SAMPLES = 15;
const ALLOC_BATCH = 16;

/** Produces SRTP packets of the mix, protected by the publisher's peer. */
class MixSource {
  private frame = 0;
  private pos = 0;
  private videoInFrame = 0;
  private videoTs = 90_000;
  private audioTs = 48_000;
  private readonly payloads = {
    keyFirst: vp8Payload(VIDEO_PAYLOAD, { keyframe: true, first: true }),
    deltaFirst: vp8Payload(VIDEO_PAYLOAD, { keyframe: false, first: true }),
    rest: vp8Payload(VIDEO_PAYLOAD, { keyframe: false, first: false }),
    audio: opusPayload(AUDIO_PAYLOAD),
  };

  constructor(private readonly peer: NodePeer) {}

  next(): Buffer {
    const kind = FRAME[this.pos]!;
    this.pos = (this.pos + 1) % FRAME.length;
    let out: Buffer;
    if (kind === 'a') {
      out = this.peer.protectRtp('audio', this.payloads.audio, { timestamp: this.audioTs });
      this.audioTs = (this.audioTs + 960) >>> 0;
    } else {
      const first = this.videoInFrame === 0;
      const last = this.videoInFrame === 5;
      const p = !first ? this.payloads.rest : this.frame % KEYFRAME_EVERY === 0 ? this.payloads.keyFirst : this.payloads.deltaFirst;
      out = this.peer.protectRtp('video', p, { timestamp: this.videoTs, marker: last });
      this.videoInFrame++;
      if (last) {
        this.videoInFrame = 0;
        this.frame++;
        this.videoTs = (this.videoTs + 3000) >>> 0;
      }
    }
    return out;
  }
}

interface Run {
  inPackets: number;
  outPackets: number;
  cpuS: number;
  wallS: number;
}

/** Everything the server sent, by kind, as the sink saw it. */
const sent = { rtp: 0, rtcp: 0 };
const isRtcp = (b: Buffer) => b[1]! >= 192 && b[1]! <= 223; // RFC 5761 §4

function youngBytes(): number {
  let n = 0;
  for (const sp of getHeapSpaceStatistics()) if (sp.space_name === 'new_space' || sp.space_name === 'new_large_object_space') n += sp.space_used_size;
  return n;
}

function cpuUs(since?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

class Feeder {
  private readonly batch: Buffer[] = new Array<Buffer>(BATCH);
  private lastTick = 0;
  private lastSr = 0;

  constructor(
    private readonly sfu: InProcessSfu,
    private readonly src: MixSource,
  ) {}

  /** Feed for `seconds` of feeding time; the peer's protect step is excluded from CPU and wall time. */
  async run(seconds: number): Promise<Run> {
    const out0 = sent.rtp;
    let inPackets = 0;
    let exclCpu = 0;
    let exclWall = 0;
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    while (performance.now() - w0 - exclWall < seconds * 1000) {
      const pc = process.cpuUsage();
      const pw = performance.now();
      for (let i = 0; i < BATCH; i++) this.batch[i] = this.src.next();
      exclWall += performance.now() - pw;
      exclCpu += cpuUs(pc);
      this.feedBatch(BATCH);
      inPackets += BATCH;
      this.housekeeping();
      await yieldToLoop();
    }
    return { inPackets, outPackets: sent.rtp - out0, cpuS: (cpuUs(c0) - exclCpu) / 1e6, wallS: (performance.now() - w0 - exclWall) / 1000 };
  }

  /**
   * Young-generation bytes (short-lived JS objects) and ArrayBuffer bytes allocated per packet out,
   * between forced GCs. Young generation only: code the JIT installs meanwhile lands in other spaces.
   */
  allocation(gc: () => void): { heap: number; buffers: number } {
    const heap: number[] = [];
    const buffers: number[] = [];
    for (let k = 0; k < ALLOC_SAMPLES; k++) {
      for (let i = 0; i < ALLOC_BATCH; i++) this.batch[i] = this.src.next();
      gc();
      const y0 = youngBytes();
      const b0 = process.memoryUsage().arrayBuffers;
      const o0 = sent.rtp;
      this.feedBatch(ALLOC_BATCH);
      const y1 = youngBytes();
      const b1 = process.memoryUsage().arrayBuffers;
      const n = sent.rtp - o0;
      heap.push((y1 - y0) / n);
      buffers.push((b1 - b0) / n);
    }
    return { heap: median(heap), buffers: median(buffers) };
  }

  private feedBatch(n: number): void {
    const link = this.sfu.publisher.link;
    for (let i = 0; i < n; i++) link.sendSync(this.batch[i]!);
  }

  /** The media loop's 20 ms tick (feedback, reports) and the publisher's SR every second. */
  private housekeeping(): void {
    const now = this.sfu.clock.now();
    if (now - this.lastTick >= 20) {
      this.lastTick = now;
      this.sfu.tick(now);
    }
    if (now - this.lastSr >= 1000) {
      this.lastSr = now;
      this.sfu.publisher.peer.sendSenderReport('video');
      this.sfu.publisher.peer.sendSenderReport('audio');
    }
  }
}

interface Result {
  subscribers: number;
  network: 'virtual' | 'udp';
  runs: Run[];
  inPerWallS: number;
  outPerCpuS: number;
  outPerWallS: number;
  cpuUsPerOut: number;
  retainedBytesPerOut: number;
  heapAllocBytesPerOut: number;
  bufferBytesPerOut: number;
  /** udp: datagrams the sink received / datagrams sent to it. */
  sinkDelivered: number | null;
  rtcpSent: number;
  drops: Record<string, number>;
}

async function measure(subscribers: number, network: 'virtual' | 'udp', gc: () => void): Promise<Result> {
  const sfu = await buildInProcessSfu({ subscribers });
  let sink: UdpSink | null = null;
  let mux: MediaMux | null = null;
  let toSink: (buf: Buffer) => void = () => {};
  if (network === 'udp') {
    sink = await startUdpSink();
    const socket = await bindMediaSocket('udp4', 0, '127.0.0.1'); // the server's own socket setup
    mux = new MediaMux(socket);
    const port = sink.port;
    const m = mux;
    toSink = (buf) => m.send(buf, '127.0.0.1', port);
  }
  const count = (buf: Buffer) => {
    if (isRtcp(buf)) sent.rtcp++;
    else sent.rtp++;
    toSink(buf);
  };
  for (const l of [sfu.publisher.link, ...sfu.subscribers.map((s) => s.link)]) l.mediaSink = count;
  const drops0 = new Map(dropCounts());
  const feeder = new Feeder(sfu, new MixSource(sfu.publisher.peer));
  try {
    await feeder.run(1); // warm-up: JIT, caches, every consumer past its first keyframe
    await new Promise((res) => setTimeout(res, 200)); // in-flight datagrams land before the baseline
    const sink0 = sink ? (await sink.count()).packets : 0;
    const sent0 = sent.rtp + sent.rtcp;
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) runs.push(await feeder.run(SECONDS));
    await new Promise((res) => setTimeout(res, 200)); // in-flight datagrams land
    gc();
    const retained = process.memoryUsage().heapUsed - heap0;
    const outTotal = runs.reduce((n, r) => n + r.outPackets, 0);
    const inTotal = runs.reduce((n, r) => n + r.inPackets, 0);
    if (outTotal !== inTotal * subscribers) process.stderr.write(`warning: ${outTotal} packets out for ${inTotal} in × ${subscribers} subscribers\n`);
    if (sfu.failures.length > 0) throw new Error(`transports failed during the runs: ${sfu.failures.join('; ')}`);
    const sinkDelivered = sink ? ((await sink.count()).packets - sink0) / (sent.rtp + sent.rtcp - sent0) : null;
    const alloc = feeder.allocation(gc);
    const drops: Record<string, number> = {};
    for (const [reason, n] of dropCounts()) if (n > drops0.get(reason)!) drops[reason] = n - drops0.get(reason)!;
    const perRun = (f: (r: Run) => number) => median(runs.map(f));
    return {
      subscribers,
      network,
      runs,
      inPerWallS: perRun((r) => r.inPackets / r.wallS),
      outPerCpuS: perRun((r) => r.outPackets / r.cpuS),
      outPerWallS: perRun((r) => r.outPackets / r.wallS),
      cpuUsPerOut: perRun((r) => (r.cpuS * 1e6) / r.outPackets),
      retainedBytesPerOut: retained / outTotal,
      heapAllocBytesPerOut: alloc.heap,
      bufferBytesPerOut: alloc.buffers,
      sinkDelivered,
      rtcpSent: sent.rtcp,
      drops,
    };
  } finally {
    sfu.close();
    mux?.close();
    mux?.socket.close();
    await sink?.close();
  }
}

const gc = forcedGc();
const results: Result[] = [];
for (const network of NETWORKS) {
  for (const subs of SUBS) {
    process.stderr.write(`forwarding: ${subs} subscriber(s), ${network} network, ${RUNS} × ${SECONDS} s…\n`);
    results.push(await measure(subs, network, gc));
  }
}

printTable(
  `Forwarding, 1 publisher → N subscribers, SRTP both sides (median of ${RUNS} runs × ${SECONDS} s; ${VIDEO_PACKET}-byte video + ${AUDIO_PAYLOAD + 20}-byte audio, 3:1)`,
  ['subs', 'network', 'in pkt/s', 'out pkt/CPU-s', 'out pkt/wall-s', 'CPU µs/out', 'retained B/out', 'young alloc B/out', 'buffer B/out', 'sink got'],
  results.map((r) => [
    r.subscribers,
    r.network,
    Math.round(r.inPerWallS),
    Math.round(r.outPerCpuS),
    Math.round(r.outPerWallS),
    fmt(r.cpuUsPerOut, 2),
    fmt(r.retainedBytesPerOut, 2),
    fmt(r.heapAllocBytesPerOut, 0),
    fmt(r.bufferBytesPerOut, 0),
    r.sinkDelivered === null ? '-' : `${fmt(r.sinkDelivered * 100, 1)}%`,
  ]),
);
const path = writeResults('forwarding', {
  config: { runs: RUNS, secondsPerRun: SECONDS, videoPacketBytes: VIDEO_PACKET, audioPayloadBytes: AUDIO_PAYLOAD, frame: FRAME.join(''), keyframeEvery: KEYFRAME_EVERY, batch: BATCH },
  results,
});
process.stdout.write(`wrote ${path}\n`);
process.exit(0); // the sink processes are gone; don't wait on timers of closed transports
