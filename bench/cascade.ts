/**
 * Cluster mode (docs/cascading.md): what the relay path costs.
 *
 * 1. Delay: an in-process five-node cluster with the five-region RTT matrix of
 *    test/integration/cluster-routes.test.ts (weather proxies on the relay links, rtt/2 each way; two
 *    detours through a third node). A headless publisher on eu-west sends audio and video whose payloads
 *    carry their send time (one process, one clock); two listeners per node, next to the publisher in the
 *    space, record one-way delay. Per receiving node: the path its copy takes (each node's upstream, hop by
 *    hop), the matrix's one-way latency over that path (Σ rtt/2), the measured delay, and the overhead per
 *    hop = (measured − path latency − the origin's own listeners' delay) / hops. The proxies' own lateness
 *    (their timers fire late) is measured on every relay link during the window and subtracted too, and a
 *    lone proxy between two plain UDP sockets is measured before any cluster starts.
 * 2. Backhaul, over the same window: per relay link used and per track, the relay's RTP bytes and its
 *    datagram overhead against what the publisher sent (the origin producer's received RTP); per link all
 *    datagrams (RTCP, wants, pings included); the town hall's total against a full mesh and against no
 *    cascading at all.
 * 3. Reconnection: three node processes (n2 in the middle of n1–n3), people on each, kill -9 of n2: for the
 *    people on n2, signaling lost → rejoined elsewhere → first media; for the person on n3, the longest gap
 *    in n1's publisher's video (the tree repair) and when it hears n2's talker again.
 *
 * Run: node --import tsx bench/cascade.ts [--runs 3] [--seconds 10] [--parts proxy,delay,failover]
 */
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startCluster, rttOf, chosenPath } from '../test/testkit/cluster.ts';
import { startProcessCluster, type ProcessCluster } from '../test/testkit/cluster-processes.ts';
import { FIVE_REGIONS, FIVE_REGION_RTT, MIDDLE_OF_THREE } from '../test/testkit/regions.ts';
import { pumpMedia } from '../test/testkit/media-pump.ts';
import { NodeClient } from '../tools/client/node-client.ts';
import { ClusterPerson } from '../tools/client/cluster-person.ts';
import type { RtpView } from '../src/rtp/rtp-packet.ts';
import type { WeatherProxy } from '../tools/weather/udp-proxy.ts';
import { pathTo, shortestPaths } from '../src/cascade/routes/index.ts';
import { RELAY_OVERHEAD } from '../src/transport/relay/relay-packet.ts';
import { median } from './lib/stats.ts';
import { fmt, printTable, type Cell } from './lib/table.ts';
import { writeResults } from './lib/results.ts';
import { readStamp, stampedPump, type StampedPump } from './lib/stamped-pump.ts';
import { calibrateProxy, summarize, watchLateness, type DelaySummary } from './lib/weather-lateness.ts';
import { Arrivals } from '../test/testkit/arrivals.ts';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, seconds: { type: 'string', default: '10' }, parts: { type: 'string', default: 'proxy,delay,failover' } },
});
const RUNS = Number(args.runs);
const WINDOW_S = Number(args.seconds);
const PARTS = new Set(args.parts.split(','));
if (!(RUNS >= 1) || !(WINDOW_S > 0)) throw new Error('usage: --runs N (≥ 1) --seconds S (> 0) --parts proxy,delay,failover');

const NODES = FIVE_REGIONS;
const RTT = FIVE_REGION_RTT;
const ORIGIN = 'eu-west';
const SPACE = 'cascade-bench';
const PUB_AT = { x: 10, y: 16 };
/** Two listeners per node, all within the connect radius of the publisher and of each other. */
const LISTENER_SPOTS = [8, 9, 10, 11, 12].flatMap((x) => [
  { x, y: 15 },
  { x, y: 17 },
]);
const LISTENERS_PER_NODE = 2;
const VIDEO = { videoBytes: 800, videoPackets: 3, audioBytes: 80 };
/** IPv4 + UDP headers, per datagram. */
const IP_UDP = 28;
const LOOP_RESOLUTION_MS = 10;
const KINDS = ['audio', 'video'] as const;
type Kind = (typeof KINDS)[number];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`${s}\n`);
async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs: number, everyMs = 100): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : x);
const med = (xs: number[]) => median(xs.filter((x) => Number.isFinite(x)));

// ── 0. what one weather proxy adds ──────────────────────────────────────────────────────────────────

interface ProxyCalibration {
  direct: DelaySummary;
  /** Per configured delay: one-way minus the delay. */
  proxied: Record<string, DelaySummary>;
}

async function proxyCalibration(): Promise<ProxyCalibration> {
  const direct = summarize(await calibrateProxy(null));
  const proxied: Record<string, DelaySummary> = {};
  for (const d of [0, 30, 45]) proxied[String(d)] = summarize(await calibrateProxy(d));
  return { direct, proxied };
}

// ── 1 + 2. delay and backhaul, in-process five-node cluster ─────────────────────────────────────────

interface Listener {
  node: string;
  name: string;
  client: NodeClient | null;
  kinds: Map<number, Kind>;
  /** Stamp counter → delay (ms), first copy only, while measuring. */
  got: Record<Kind, Map<number, number>>;
  packets: Record<Kind, number>;
}

interface TrackCount {
  packets: number;
  bytes: number;
}
interface Snapshot {
  t: number;
  /** What the origin's producers received from the publisher (RTP after SRTP, header + payload). */
  pub: Record<Kind, TrackCount>;
  /** "from→to": media of the publisher's tracks sent on the link, and every datagram sent on it. */
  links: Map<string, { media: Record<Kind, TrackCount>; packetsSent: number; bytesSent: number }>;
}

interface NodeDelay {
  node: string;
  path: string[];
  hops: number;
  /** Σ rtt/2 over the path's links (configured matrix). */
  pathLatencyMs: number;
  delay: Record<Kind, DelaySummary>;
  /** Video, first packet of each frame only (no wait behind the frame's other packets anywhere). */
  videoFirst: DelaySummary;
  lost: Record<Kind, number>;
  expected: Record<Kind, number>;
  /** Σ over the path's links of the median proxy lateness on that link during the window. */
  proxyLatenessMs: number;
  /** (median delay − path latency − origin's median delay) / hops; and the same minus the proxies' lateness. */
  overheadPerHopMs: Record<Kind, number>;
  relayOverheadPerHopMs: Record<Kind, number>;
  relayOverheadPerHopVideoFirstMs: number;
}

interface LinkBackhaul {
  link: string;
  per: Record<Kind, { pps: number; rtpBps: number; wireBps: number; copies: number; wireOverPub: number }>;
  /** All datagrams on the link (media, RTCP, wants, pings) with IP/UDP headers, bytes/s; and the reverse direction's. */
  allWireBps: number;
  reverseWireBps: number;
}

interface DelayRun {
  run: number;
  routesAsShortest: boolean;
  nodes: NodeDelay[];
  backhaul: LinkBackhaul[];
  pub: Record<Kind, { pps: number; rtpBps: number }>;
  townhall: {
    treeTotalBps: number;
    treeOriginEgressBps: number;
    treeBusiestLinkBps: number;
    treeStreams: number;
    meshTotalBps: number;
    meshOriginEgressBps: number;
    meshStreams: number;
    noCascadeTotalBps: number;
    noCascadeStreams: number;
  };
  proxyLateness: Record<string, DelaySummary>;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  cpuPctOfOneCore: number;
  keyframes: number;
}

function configuredShortest(origin: string, to: string): string[] | null {
  const m = new Map<string, Map<string, number>>();
  for (const a of NODES) m.set(a, new Map(NODES.filter((b) => b !== a).map((b) => [b, rttOf(RTT, a, b)!])));
  return pathTo(shortestPaths(m, origin), to);
}

const pathLatency = (path: string[]) => path.slice(1).reduce((s, n, i) => s + rttOf(RTT, path[i]!, n)! / 2, 0);

async function delayRun(run: number): Promise<DelayRun> {
  const cluster = await startCluster(
    NODES.map((id) => ({ id, region: id })),
    { rtt: RTT },
  );
  const clients: NodeClient[] = [];
  let pump: StampedPump | null = null;
  try {
    await until('RTT rows everywhere', () => NODES.every((a) => NODES.every((b) => a === b || cluster.node(a).cluster!.rtt.matrix().get(a)?.has(b))), 20_000);
    await sleep(1500);
    const same = () => NODES.every((to) => to === ORIGIN || JSON.stringify(chosenPath(cluster, ORIGIN, to)) === JSON.stringify(configuredShortest(ORIGIN, to)));
    const routesAsShortest = await until('routes = shortest paths', same, 15_000).then(
      () => true,
      () => false,
    );
    const proxies = new Map<string, WeatherProxy>();
    for (const [a, row] of cluster.links) for (const [b, p] of row) proxies.set(`${a}→${b}`, p);
    const lateness = watchLateness(proxies);

    const pub = await NodeClient.join(cluster.node(ORIGIN).url, SPACE, 'Speaker', PUB_AT);
    clients.push(pub);
    const { peer: pubPeer } = await pub.publish();
    pump = stampedPump(pubPeer, VIDEO);

    let measuring = false;
    const listeners: Listener[] = [];
    let spot = 0;
    for (const node of NODES) {
      for (let k = 0; k < LISTENERS_PER_NODE; k++) {
        const l: Listener = { node, name: `L${k}@${node}`, client: null, kinds: new Map(), got: { audio: new Map(), video: new Map() }, packets: { audio: 0, video: 0 } };
        const onRtp = (v: RtpView) => {
          const kind = l.kinds.get(v.ssrc);
          if (!kind) return; // RTX, or not the publisher's
          l.packets[kind]++;
          if (!measuring) return;
          const s = readStamp(v.buf, v.payloadOffset, v.payloadLength);
          if (s && !l.got[kind].has(s.counter)) l.got[kind].set(s.counter, performance.now() - s.sentAt);
        };
        const c = await NodeClient.join(cluster.node(node).url, SPACE, l.name, {
          ...LISTENER_SPOTS[spot++]!,
          beforeJoin: (c) => {
            c.retainPushes = false;
            c.onSubscribeTracks = (tracks) => {
              l.kinds = new Map(tracks.filter((t) => t.ssrc !== undefined && t.streamId === pub.participantId).map((t) => [t.ssrc!, t.kind]));
            };
            c.onSubscriberPeer = (peer) => {
              peer.onRtp = onRtp;
            };
          },
        });
        l.client = c;
        clients.push(c);
        listeners.push(l);
      }
    }
    await until('every listener gets audio and video', () => listeners.every((l) => l.packets.audio > 50 && l.packets.video > 50), 30_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${listeners.map((l) => `${l.name} a${l.packets.audio} v${l.packets.video}`).join(', ')}`);
    });
    await sleep(2000); // keyframes, route switches and wants settle

    const originNode = cluster.node(ORIGIN);
    const producers = [...originNode.spaces.get(SPACE)!.participants.get(pub.participantId)!.localProducers.values()];
    const originNum = originNode.cluster!.nodeNum;
    const streamsOf = new Map<Kind, Set<number>>(producers.map((p) => [p.kind as Kind, new Set(originNode.cluster!.relay.localDesc(p.id)!.streamIds)]));
    const snapshot = (): Snapshot => {
      const pubCount = Object.fromEntries(KINDS.map((k) => [k, { packets: 0, bytes: 0 }])) as Record<Kind, TrackCount>;
      for (const p of producers) for (const l of p.layers) (pubCount[p.kind as Kind].packets += l.stats.packets), (pubCount[p.kind as Kind].bytes += l.stats.bytes);
      const links: Snapshot['links'] = new Map();
      for (const n of NODES) {
        for (const peer of cluster.node(n).cluster!.endpoint.stats().peers) {
          const media = Object.fromEntries(KINDS.map((k) => [k, { packets: 0, bytes: 0 }])) as Record<Kind, TrackCount>;
          for (const s of peer.streamsSent) {
            if (s.originNum !== originNum) continue;
            for (const k of KINDS) if (streamsOf.get(k)?.has(s.streamId)) (media[k].packets += s.rtpPackets), (media[k].bytes += s.rtpBytes);
          }
          links.set(`${n}→${peer.id}`, { media, packetsSent: peer.packetsSent, bytesSent: peer.bytesSent });
        }
      }
      return { t: performance.now(), pub: pubCount, links };
    };

    // The window.
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    const counter0 = { ...pump.sent };
    const keyframes0 = pump.keyframes;
    lateness.start();
    loop.enable();
    const cpu0 = process.cpuUsage();
    const s0 = snapshot();
    measuring = true;
    await sleep(WINDOW_S * 1000);
    const s1 = snapshot();
    const cpu1 = process.cpuUsage(cpu0);
    const counter1 = { ...pump.sent };
    await sleep(500); // the last stamped packets arrive (longest path ≈ 90 ms one way)
    measuring = false;
    loop.disable();
    const seconds = (s1.t - s0.t) / 1000;
    const late = lateness.samples();

    // Delay per node.
    const inWindow = (l: Listener, k: Kind) => [...l.got[k]].filter(([c]) => c >= counter0[k] && c < counter1[k]).map(([, d]) => d);
    const nodes: NodeDelay[] = NODES.map((node) => {
      const here = listeners.filter((l) => l.node === node);
      const path = node === ORIGIN ? [ORIGIN] : (chosenPath(cluster, ORIGIN, node) ?? []);
      const delay = {} as Record<Kind, DelaySummary>;
      const lost = {} as Record<Kind, number>;
      const expected = {} as Record<Kind, number>;
      for (const k of KINDS) {
        const xs = here.flatMap((l) => inWindow(l, k));
        delay[k] = summarize(xs);
        expected[k] = (counter1[k] - counter0[k]) * here.length;
        lost[k] = expected[k] - xs.length;
      }
      const videoFirst = summarize(here.flatMap((l) => [...l.got.video].filter(([c]) => c >= counter0.video && c < counter1.video && c % VIDEO.videoPackets === 0).map(([, d]) => d)));
      const links = path.slice(1).map((n, i) => `${path[i]}→${n}`);
      const proxyLatenessMs = links.reduce((s, l) => s + median(late.get(l) ?? []), 0);
      return { node, path, hops: path.length - 1, pathLatencyMs: pathLatency(path), delay, videoFirst, lost, expected, proxyLatenessMs, overheadPerHopMs: { audio: NaN, video: NaN }, relayOverheadPerHopMs: { audio: NaN, video: NaN }, relayOverheadPerHopVideoFirstMs: NaN };
    });
    const base = nodes.find((n) => n.node === ORIGIN)!;
    for (const n of nodes) {
      if (n.hops === 0) continue;
      for (const k of KINDS) {
        const over = n.delay[k].median - n.pathLatencyMs - base.delay[k].median;
        n.overheadPerHopMs[k] = over / n.hops;
        n.relayOverheadPerHopMs[k] = (over - n.proxyLatenessMs) / n.hops;
      }
      n.relayOverheadPerHopVideoFirstMs = (n.videoFirst.median - n.pathLatencyMs - base.videoFirst.median - n.proxyLatenessMs) / n.hops;
    }

    // Backhaul per link used.
    const pubRate = Object.fromEntries(KINDS.map((k) => [k, { pps: (s1.pub[k].packets - s0.pub[k].packets) / seconds, rtpBps: (s1.pub[k].bytes - s0.pub[k].bytes) / seconds }])) as DelayRun['pub'];
    const used = [...new Set(nodes.flatMap((n) => n.path.slice(1).map((m, i) => `${n.path[i]}→${m}`)))].sort();
    const linkWire = (key: string) => {
      const a = s0.links.get(key);
      const b = s1.links.get(key);
      if (!a || !b) return 0;
      return (b.bytesSent - a.bytesSent + (b.packetsSent - a.packetsSent) * IP_UDP) / seconds;
    };
    const backhaul: LinkBackhaul[] = used.map((key) => {
      const a = s0.links.get(key)!;
      const b = s1.links.get(key)!;
      const per = {} as LinkBackhaul['per'];
      for (const k of KINDS) {
        const pkts = (b.media[k].packets - a.media[k].packets) / seconds;
        const rtp = (b.media[k].bytes - a.media[k].bytes) / seconds;
        const wire = rtp + pkts * (RELAY_OVERHEAD + IP_UDP);
        per[k] = { pps: pkts, rtpBps: rtp, wireBps: wire, copies: rtp / pubRate[k].rtpBps, wireOverPub: wire / pubRate[k].rtpBps };
      }
      const [from, to] = key.split('→') as [string, string];
      return { link: key, per, allWireBps: linkWire(key), reverseWireBps: linkWire(`${to}→${from}`) };
    });
    // Media on any other link (should be none: one upstream per node).
    const stray = [...s1.links.keys()].filter((k) => !used.includes(k)).map((k) => [k, KINDS.reduce((s, kind) => s + s1.links.get(k)!.media[kind].packets - (s0.links.get(k)?.media[kind].packets ?? 0), 0)] as const).filter(([, n]) => n > 0);
    if (stray.length > 0) log(`  run ${run}: media on links off the tree: ${JSON.stringify(stray)}`);

    // Town hall: the tree as measured against a mesh (each node straight from the origin) and no cascading
    // (every listener not on the origin connects to it across the long haul), computed from the same rates.
    const perCopyWire = KINDS.reduce((s, k) => s + med(backhaul.map((b) => b.per[k].wireBps)), 0);
    const srtpTag = pubPeer.srtpProfile === 'AEAD_AES_128_GCM' ? 16 : 10;
    const perListenerWire = KINDS.reduce((s, k) => s + pubRate[k].rtpBps + pubRate[k].pps * (srtpTag + IP_UDP), 0);
    const treeMedia = backhaul.map((b) => KINDS.reduce((s, k) => s + b.per[k].wireBps, 0));
    const remoteListeners = listeners.filter((l) => l.node !== ORIGIN).length;
    const townhall: DelayRun['townhall'] = {
      treeTotalBps: treeMedia.reduce((a, b) => a + b, 0),
      treeOriginEgressBps: backhaul.reduce((s, b, i) => s + (b.link.startsWith(`${ORIGIN}→`) ? treeMedia[i]! : 0), 0),
      treeBusiestLinkBps: Math.max(...treeMedia),
      treeStreams: backhaul.length,
      meshTotalBps: (NODES.length - 1) * perCopyWire,
      meshOriginEgressBps: (NODES.length - 1) * perCopyWire,
      meshStreams: NODES.length - 1,
      noCascadeTotalBps: remoteListeners * perListenerWire,
      noCascadeStreams: remoteListeners,
    };
    const proxyLateness = Object.fromEntries([...late].filter(([, xs]) => xs.length > 0).map(([k, xs]) => [k, summarize(xs)]));
    const cpuPct = ((cpu1.user + cpu1.system) / 1000 / (seconds * 1000)) * 100;
    const r: DelayRun = {
      run,
      routesAsShortest,
      nodes,
      backhaul,
      pub: pubRate,
      townhall,
      proxyLateness,
      // The histogram records each 10 ms sampling interval whole: lateness is what exceeds it.
      eventLoopDelayMs: { p50: loop.percentile(50) / 1e6 - LOOP_RESOLUTION_MS, p99: loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS, max: loop.max / 1e6 - LOOP_RESOLUTION_MS },
      cpuPctOfOneCore: cpuPct,
      keyframes: pump.keyframes - keyframes0,
    };
    log(
      `  delay run ${run}: ${nodes.map((n) => `${n.node} ${n.path.join('>')} audio ${n.delay.audio.median.toFixed(1)} video ${n.delay.video.median.toFixed(1)}`).join('; ')}; loop p99 ${r.eventLoopDelayMs.p99.toFixed(1)} ms, cpu ${cpuPct.toFixed(0)}%${routesAsShortest ? '' : ' (ROUTES NOT AS THE MATRIX SAYS)'}`,
    );
    return r;
  } finally {
    pump?.stop();
    for (const c of clients) c.close();
    await cluster.close();
  }
}

// ── 3. reconnection after kill -9, node processes ────────────────────────────────────────────────────

interface FailoverRun {
  run: number;
  /** ms after the kill, per person on n2. */
  onN2: Array<{ name: string; lostMs: number; rejoinedMs: number; mediaMs: number; to: string }>;
  /** At P3 on n3: when P2's voice came back, and the longest gap in P1's video (and when it began, ms after the kill). */
  p3HearsP2Ms: number;
  p3VideoGapMs: number;
  p3VideoGapStartMs: number;
  /** Wall clock of the kill (to line up with the nodes' log lines, e.g. "relay peer silent"). */
  killedAtIso: string;
}

async function failoverRun(run: number): Promise<FailoverRun> {
  const cluster: ProcessCluster = await startProcessCluster(MIDDLE_OF_THREE.nodes, { rtt: MIDDLE_OF_THREE.rtt });
  const people: ClusterPerson[] = [];
  try {
    const url = (id: string) => cluster.node(id).url;
    const nameOf = new Map([...cluster.nodes.values()].map((n) => [n.url, n.id]));
    const video = new Arrivals('video');
    const voices = new Arrivals('audio');
    const start = (name: string, node: string, at: { x: number; y: number }, extra: Partial<Parameters<typeof ClusterPerson.start>[0]>) =>
      ClusterPerson.start({ entry: url(node), prefer: url(node), region: 'eu', space: `${SPACE}-failover`, name, ...at, ...extra });
    // P1's video and audio, P2's voice (headless downlinks stay at the initial 1 Mbit/s: room for one video).
    const p1 = await start('P1', 'n1', { x: 4, y: 16 }, { publish: (peer) => pumpMedia(peer, { senderReports: true }) });
    people.push(p1);
    const p2 = await start('P2', 'n2', { x: 5, y: 17 }, { publish: (peer) => pumpMedia(peer, { video: false }), publishKinds: { video: false } });
    people.push(p2);
    const q2 = await start('Q2', 'n2', { x: 5, y: 15 }, {});
    people.push(q2);
    const p3 = await start('P3', 'n3', { x: 6, y: 16 }, { onRtp: (v, who) => (video.record(v, who), voices.record(v, who)) });
    people.push(p3);
    if (p2.url !== url('n2') || q2.url !== url('n2')) throw new Error('P2/Q2 not on n2');
    await until('P3 receives P1 and P2', () => video.byPublisher.get(p1.participantId)?.length && voices.byPublisher.get(p2.participantId)?.length, 20_000);
    await until('Q2 receives P1', () => q2.client?.subscriber?.received.size, 20_000);
    // RTT rows converge (P1's video then reaches n3 through n2) and streams settle, as in the test.
    await sleep(4000);
    const killedAt = performance.now();
    const killedAtIso = new Date().toISOString();
    await cluster.node('n2').kill();
    await until('P2 and Q2 rejoined elsewhere with media', () => p2.failovers[0]?.mediaAt && q2.failovers[0]?.mediaAt, 15_000);
    await until('P3 hears P2 again', () => Number.isFinite(voices.firstAfter(p2.participantId, killedAt)), 15_000);
    await sleep(1500);
    const end = performance.now();
    const g = video.longestGap(p1.participantId, killedAt - 2000, end);
    const onN2 = [p2, q2].map((p) => {
      const f = p.failovers[0]!;
      return { name: p.o.name, lostMs: f.lostAt - killedAt, rejoinedMs: f.rejoinedAt - killedAt, mediaMs: f.mediaAt - killedAt, to: nameOf.get(f.to) ?? f.to };
    });
    const r: FailoverRun = { run, onN2, p3HearsP2Ms: voices.firstAfter(p2.participantId, killedAt) - killedAt, p3VideoGapMs: g.gap, p3VideoGapStartMs: g.at - killedAt, killedAtIso };
    log(
      `  failover run ${run} (kill at ${killedAtIso}): ${onN2.map((p) => `${p.name} lost ${p.lostMs.toFixed(0)} rejoined ${p.to} ${p.rejoinedMs.toFixed(0)} media ${p.mediaMs.toFixed(0)}`).join('; ')}; P3 hears P2 ${r.p3HearsP2Ms.toFixed(0)}, P1 video gap ${g.gap.toFixed(0)} ms from ${r.p3VideoGapStartMs.toFixed(0)} ms`,
    );
    return r;
  } finally {
    for (const p of people) p.close();
    await cluster.close();
  }
}

// ── main ─────────────────────────────────────────────────────────────────────────────────────────────

const startedAt = performance.now();
let calibration: ProxyCalibration | null = null;
if (PARTS.has('proxy')) {
  log('cascade: a lone weather proxy between two UDP sockets');
  calibration = await proxyCalibration();
}
const delayRuns: DelayRun[] = [];
if (PARTS.has('delay')) {
  log(`cascade: ${RUNS} run(s) of the five-node cluster, ${WINDOW_S} s windows`);
  for (let i = 1; i <= RUNS; i++) delayRuns.push(await delayRun(i));
}
const failoverRuns: FailoverRun[] = [];
if (PARTS.has('failover')) {
  log(`cascade: ${RUNS} run(s) of kill -9 in a three-node process cluster`);
  for (let i = 1; i <= RUNS; i++) failoverRuns.push(await failoverRun(i));
}

// Medians over runs.
/** Rounded the table's way, without a "-0". */
const fmt0 = (x: number) => fmt(Math.round(x) + 0, 0);
const runsNote = (xs: number[]) => xs.map(fmt0).join(', ');
const medians: Record<string, unknown> = {};
if (calibration) {
  const c = calibration;
  printTable(
    'One weather proxy between two UDP sockets, no cluster running: one-way time minus the configured delay, ms (200 datagrams each)',
    ['configured delay', 'median', 'p95', 'p99', 'max'],
    [
      ['no proxy (direct)', fmt(c.direct.median, 2), fmt(c.direct.p95, 2), fmt(c.direct.p99, 2), fmt(c.direct.max, 2)],
      ...Object.entries(c.proxied).map(([d, s]) => [`${d} ms`, fmt(s.median, 2), fmt(s.p95, 2), fmt(s.p99, 2), fmt(s.max, 2)] as Cell[]),
    ],
  );
}
if (delayRuns.length > 0) {
  const rows: Cell[][] = [];
  const delayMedians: Record<string, unknown> = {};
  for (const node of NODES) {
    const per = delayRuns.map((r) => r.nodes.find((n) => n.node === node)!);
    const m = (f: (n: NodeDelay) => number) => med(per.map(f));
    const paths = [...new Set(per.map((n) => n.path.join('→')))].join(' | ');
    const fig = {
      path: paths,
      hops: per[0]!.hops,
      pathLatencyMs: m((n) => n.pathLatencyMs),
      audioMedianMs: m((n) => n.delay.audio.median),
      audioP95Ms: m((n) => n.delay.audio.p95),
      videoMedianMs: m((n) => n.delay.video.median),
      videoP95Ms: m((n) => n.delay.video.p95),
      proxyLatenessMs: m((n) => n.proxyLatenessMs),
      overheadPerHopAudioMs: m((n) => n.overheadPerHopMs.audio),
      overheadPerHopVideoMs: m((n) => n.overheadPerHopMs.video),
      relayOverheadPerHopAudioMs: m((n) => n.relayOverheadPerHopMs.audio),
      relayOverheadPerHopVideoMs: m((n) => n.relayOverheadPerHopMs.video),
      videoFirstMedianMs: m((n) => n.videoFirst.median),
      relayOverheadPerHopVideoFirstMs: m((n) => n.relayOverheadPerHopVideoFirstMs),
      lossPct: m((n) => (100 * KINDS.reduce((s, k) => s + n.lost[k], 0)) / KINDS.reduce((s, k) => s + n.expected[k], 0)),
    };
    delayMedians[node] = fig;
    const hop = (x: number) => (per[0]!.hops === 0 ? '-' : fmt(x, 1));
    rows.push([
      node === ORIGIN ? `${node} (origin)` : node,
      paths,
      fig.hops,
      fmt(fig.pathLatencyMs, 0),
      fmt(fig.audioMedianMs, 1),
      fmt(fig.audioP95Ms, 1),
      fmt(fig.videoMedianMs, 1),
      fmt(fig.videoP95Ms, 1),
      per[0]!.hops === 0 ? '-' : fmt(fig.proxyLatenessMs, 1),
      hop(fig.overheadPerHopAudioMs),
      hop(fig.overheadPerHopVideoMs),
      hop(fig.relayOverheadPerHopAudioMs),
      hop(fig.relayOverheadPerHopVideoMs),
      hop(fig.relayOverheadPerHopVideoFirstMs),
      fmt(fig.lossPct, 2),
    ]);
  }
  printTable(
    `Delay through the relay path, publisher on ${ORIGIN}, ${LISTENERS_PER_NODE} listeners per node, ms (median of ${delayRuns.length} run(s) × ${WINDOW_S} s)`,
    ['receiving node', 'path', 'hops', 'path one-way', 'audio p50', 'audio p95', 'video p50', 'video p95', 'proxies late (Σ)', 'over/hop audio', 'over/hop video', 'relay/hop audio', 'relay/hop video', 'relay/hop video 1st', 'loss %'],
    rows,
  );
  const el = { p50: med(delayRuns.map((r) => r.eventLoopDelayMs.p50)), p99: med(delayRuns.map((r) => r.eventLoopDelayMs.p99)), max: med(delayRuns.map((r) => r.eventLoopDelayMs.max)) };
  const cpu = med(delayRuns.map((r) => r.cpuPctOfOneCore));
  const lateMedians = delayRuns.flatMap((r) => Object.values(r.proxyLateness).map((s) => s.median));
  const lateP99s = delayRuns.flatMap((r) => Object.values(r.proxyLateness).map((s) => s.p99));
  process.stdout.write(
    `over/hop = (p50 − path one-way − origin's p50) / hops; relay/hop = the same minus the proxies' own lateness on the path's links (Σ of per-link medians); video 1st = first packet of each frame only.\n` +
      `Proxy lateness per relay link in the cluster (push → delivery − configured delay): per-link medians ${fmt(Math.min(...lateMedians), 2)}–${fmt(Math.max(...lateMedians), 2)} ms, p99s up to ${fmt(Math.max(...lateP99s), 1)} ms.\n` +
      `Process during the window: event-loop lateness (beyond the 10 ms sampling interval) p50 ${fmt(el.p50, 1)} / p99 ${fmt(el.p99, 1)} / max ${fmt(el.max, 1)} ms, CPU ${fmt(cpu, 0)}% of one core (5 nodes, 20 proxies, 11 clients in one process); routes as the matrix's shortest paths in ${delayRuns.filter((r) => r.routesAsShortest).length}/${delayRuns.length} runs.\n\n`,
  );

  const linkRows: Cell[][] = [];
  const backhaulMedians: Record<string, unknown> = {};
  const links = [...new Set(delayRuns.flatMap((r) => r.backhaul.map((b) => b.link)))].sort();
  for (const link of links) {
    const per = delayRuns.map((r) => r.backhaul.find((b) => b.link === link)).filter((b): b is LinkBackhaul => !!b);
    const fig: Record<string, unknown> = {};
    for (const k of KINDS) {
      const m = (f: (b: LinkBackhaul) => number) => med(per.map(f));
      const pub = med(delayRuns.map((r) => r.pub[k].rtpBps));
      const f = { pps: m((b) => b.per[k].pps), rtpBps: m((b) => b.per[k].rtpBps), wireBps: m((b) => b.per[k].wireBps), pubRtpBps: pub, copies: m((b) => b.per[k].copies), wireOverPub: m((b) => b.per[k].wireOverPub) };
      fig[k] = f;
      linkRows.push([link, k, fmt(f.pps, 1), fmt(f.pubRtpBps, 0), fmt(f.rtpBps, 0), fmt(f.wireBps, 0), fmt(f.copies, 3), fmt(f.wireOverPub, 3), k === 'audio' ? fmt(med(per.map((b) => b.allWireBps)), 0) : '', k === 'audio' ? fmt(med(per.map((b) => b.reverseWireBps)), 0) : '']);
    }
    fig.allWireBps = med(per.map((b) => b.allWireBps));
    fig.reverseWireBps = med(per.map((b) => b.reverseWireBps));
    backhaulMedians[link] = fig;
  }
  printTable(
    `Backhaul per relay link used and per track, bytes/s (median of ${delayRuns.length} run(s) × ${WINDOW_S} s)`,
    ['link', 'track', 'pkt/s', 'publisher RTP B/s', 'relay RTP B/s', 'relay wire B/s', 'copies', 'wire / publisher', 'link all B/s', 'reverse all B/s'],
    linkRows,
  );
  process.stdout.write(
    `relay RTP = the RTP packets as the origin received them (header, extensions, payload); relay wire = + ${RELAY_OVERHEAD} B relay header/tag + ${IP_UDP} B IPv4/UDP per datagram; copies = relay RTP / publisher RTP (the origin producer's); link all = every datagram on the link (media, RTCP, wants, pings) with IP/UDP; reverse = the other direction (NACK/PLI/RR, wants, pongs).\n\n`,
  );
  const th = (f: (t: DelayRun['townhall']) => number) => med(delayRuns.map((r) => f(r.townhall)));
  const thFig = {
    tree: { streams: th((t) => t.treeStreams), totalBps: th((t) => t.treeTotalBps), originEgressBps: th((t) => t.treeOriginEgressBps), busiestLinkBps: th((t) => t.treeBusiestLinkBps) },
    mesh: { streams: th((t) => t.meshStreams), totalBps: th((t) => t.meshTotalBps), originEgressBps: th((t) => t.meshOriginEgressBps) },
    noCascade: { streams: th((t) => t.noCascadeStreams), totalBps: th((t) => t.noCascadeTotalBps) },
  };
  printTable(
    `Town hall (1 speaker on ${ORIGIN}, ${LISTENERS_PER_NODE} listeners on each of ${NODES.length} nodes): long-haul bytes/s, media only, with IP/UDP (median of ${delayRuns.length} run(s))`,
    ['shape', 'streams across regions', 'total B/s', 'origin egress B/s', 'busiest link B/s'],
    [
      ['tree (measured)', thFig.tree.streams, fmt(thFig.tree.totalBps, 0), fmt(thFig.tree.originEgressBps, 0), fmt(thFig.tree.busiestLinkBps, 0)],
      ['full mesh: every node from the origin (computed)', thFig.mesh.streams, fmt(thFig.mesh.totalBps, 0), fmt(thFig.mesh.originEgressBps, 0), fmt(thFig.mesh.totalBps / thFig.mesh.streams, 0)],
      ['no cascade: every remote listener on the origin (computed)', thFig.noCascade.streams, fmt(thFig.noCascade.totalBps, 0), fmt(thFig.noCascade.totalBps, 0), fmt(thFig.noCascade.totalBps, 0)],
    ],
  );
  medians.delay = delayMedians;
  medians.eventLoopDelayMs = el;
  medians.cpuPctOfOneCore = cpu;
  medians.backhaul = backhaulMedians;
  medians.townhall = thFig;
}
if (failoverRuns.length > 0) {
  const rows: Cell[][] = [];
  const fo: Record<string, unknown> = {};
  for (const name of ['P2', 'Q2']) {
    const per = failoverRuns.map((r) => r.onN2.find((p) => p.name === name)!);
    const what = name === 'P2' ? 'P2 on n2 (talks)' : 'Q2 on n2 (listens)';
    for (const [label, key] of [
      ['signaling lost', 'lostMs'],
      ['rejoined another node', 'rejoinedMs'],
      ['first media received', 'mediaMs'],
    ] as const) {
      const xs = per.map((p) => p[key]);
      fo[`${name}.${key}`] = med(xs);
      rows.push([`${what}: ${label}`, fmt0(med(xs)), runsNote(xs)]);
    }
  }
  const hears = failoverRuns.map((r) => r.p3HearsP2Ms);
  const gaps = failoverRuns.map((r) => r.p3VideoGapMs);
  const gapStarts = failoverRuns.map((r) => r.p3VideoGapStartMs);
  fo.p3HearsP2Ms = med(hears);
  fo.p3VideoGapMs = med(gaps);
  fo.p3VideoGapStartMs = med(gapStarts);
  rows.push(['P3 on n3: hears P2 again', fmt0(med(hears)), runsNote(hears)]);
  rows.push(["P3 on n3: longest gap in P1's video", fmt0(med(gaps)), runsNote(gaps)]);
  rows.push(['  … which began (after the kill)', fmt0(med(gapStarts)), runsNote(gapStarts)]);
  printTable(`Reconnection after kill -9 of n2 (n1–n2–n3, 40/40 ms, n1–n3 120 ms), ms after the kill (median of ${failoverRuns.length} run(s))`, ['figure', 'median', 'runs'], rows);
  medians.failover = fo;
}

/** Numbers to 3 decimals for the JSON (ms and bytes/s: finer is noise). */
const rounded = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' ? round(v, 3) : v)));
const path = writeResults('cascade', {
  config: {
    runs: RUNS,
    windowSeconds: WINDOW_S,
    parts: [...PARTS],
    delay: { nodes: NODES, rttMs: RTT, origin: ORIGIN, listenersPerNode: LISTENERS_PER_NODE, media: { ...VIDEO, videoFps: 30, audioPacketMs: 20 }, relayOverheadBytes: RELAY_OVERHEAD, ipUdpBytes: IP_UDP },
    failover: { nodes: MIDDLE_OF_THREE.nodes, rttMs: MIDDLE_OF_THREE.rtt, people: { P1: 'n1, audio + video', P2: 'n2, audio', Q2: 'n2, listens', P3: 'n3, listens' } },
  },
  medians: rounded(medians),
  proxyCalibration: rounded(calibration),
  delayRuns: rounded(delayRuns),
  failoverRuns: rounded(failoverRuns),
  tookSeconds: round((performance.now() - startedAt) / 1000, 1),
});
process.stdout.write(`wrote ${path} (${fmt((performance.now() - startedAt) / 1000, 0)} s)\n`);
process.exit(0);
