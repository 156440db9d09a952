/**
 * Issue 13, Proxima against Janus VideoRoom in one run: N headless subscribers that throw every RTX and
 * padding-only packet away (LoadReceiver `discardRtx`, as Pion 3.1 does) watch one headless publisher's
 * single 640x360 layer (the top layer of the sim360 clip, ~600 kbit/s), and 2 % of what each subscriber's
 * link carries towards it is dropped (WeatherProxy). Per server: the video each subscriber got as a share of
 * what the publisher sent (payload bytes, each sequence number once), loss left after retransmission, and the
 * longest time without a new video packet; measured from the moment the loss starts, so the time the server
 * needs to notice is in the figures. For Proxima also how many subscribers it switched to original-stream
 * repairs.
 *
 * Set-up as bench/adaptation-janus.ts (same libraries): a network namespace (Janus gathers no loopback
 * candidates), a fresh server process per measurement, the order alternating between runs. Proxima: every
 * client crosses one proxy (the server announces its port), each subscriber's own link gets the loss
 * (WeatherProxy.linkOf), the publisher's stays clear. Janus: each subscriber sends to a proxy of its own in
 * front of its handle's candidate (Janus is ICE-lite and answers the proxy's address); the publisher does not.
 *
 * Run (root): node --import tsx bench/rtx-discard-janus.ts [--runs 3] [--subscribers 10] [--seconds 30]
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { namespaceView, runInBenchNamespace } from './lib/in-namespace.ts';
import { waitFor as waitUntil } from '../test/testkit/browser.ts';
import { startJanus } from '../tools/janus/janus-process.ts';
import { JanusVideoRoomClient } from '../tools/janus/janus-client.ts';
import { loadClip, type MediaClip } from '../tools/loadgen/media/clip.ts';
import { ProximaTarget } from '../tools/loadgen/targets/proxima-target.ts';
import { JanusTarget } from '../tools/loadgen/targets/janus-target.ts';
import type { LoadPerson } from '../tools/loadgen/person.ts';
import { WeatherProxy } from '../tools/weather/udp-proxy.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../src/transport/dtls/certificate.ts';
import { systemClock } from '../src/util/clock.ts';
import { seededRandom } from '../src/util/prng.ts';
import { startProximaChild } from './lib/adaptation-proxima-server.ts';
import { median } from './lib/stats.ts';
import { fmt, printTable, type Cell } from './lib/table.ts';
import { writeResults } from './lib/results.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    subscribers: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    inside: { type: 'boolean', default: false },
    ns: { type: 'string' },
    veth: { type: 'string' },
  },
});
const thisFile = fileURLToPath(import.meta.url);

await runInBenchNamespace({
  file: thisFile,
  label: 'bench/rtx-discard-janus.ts',
  namespace: 'proxima-rtxd',
  inside: args.inside === true,
  passthrough: ['--runs', args.runs!, '--subscribers', args.subscribers!, '--seconds', args.seconds!],
});

const runs = Number(args.runs);
const subscribers = Number(args.subscribers);
const seconds = Number(args.seconds);
type Server = 'proxima' | 'janus';
const SPACE = 'rtxd';
const LOSS = 0.02;
const PUBLISHER_AT = { x: 20, y: 21 };
/** Open floor of the office map around the publisher (rows 20–22), all within its hearing and sight. */
const SPOTS = [
  [19, 21], [21, 21], [18, 21], [22, 21], [19, 20], [21, 20], [19, 22], [21, 22], [20, 20], [20, 22],
  [17, 21], [23, 21], [18, 20], [22, 20], [18, 22], [22, 22],
] as const;
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(subscribers) || subscribers < 1 || subscribers > SPOTS.length || !(seconds > 0)) {
  process.stderr.write(`--runs takes a positive integer, --subscribers 1..${SPOTS.length}, --seconds a positive number\n`);
  process.exit(2);
}

interface SubscriberResult {
  /** Video payload bytes received (each sequence number once) over what the publisher sent, in the window. */
  deliveredShare: number;
  kbps: number;
  /** Video sequence numbers never received, over those expected. */
  residualLoss: number;
  /** Longest time without a new video packet in the window (ms). */
  longestGapMs: number;
  nacksSent: number;
  rtxDiscarded: number;
}

interface Measurement {
  server: Server;
  run: number;
  publisherKbps: number;
  subscribers: SubscriberResult[];
  /** Proxima: subscribers the server switched to original-stream repairs by the end. */
  switched?: number;
  errors: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const nsView = namespaceView(args.ns!, args.veth!);

/** Polls every 100 ms (the test kit's waitFor). */
const waitFor = <T>(what: string, f: () => T | Promise<T>, timeoutMs: number) => waitUntil(what, f, timeoutMs, 100);

const videoFrames = (p: LoadPerson) => p.receivers[0]?.reports().find((r) => r.kind === 'video')?.frames?.framesDecoded ?? 0;

/** Loss on, the window measured: what each subscriber got against what the publisher sent. */
async function measureWindow(pub: LoadPerson, subs: LoadPerson[], lossOn: () => void): Promise<{ publisherKbps: number; results: SubscriberResult[] }> {
  lossOn();
  for (const s of subs) s.receivers[0]!.startWindow();
  const bytes0 = pub.publisher!.videoPayloadBytes;
  const discarded0 = subs.map((s) => s.receivers[0]!.discardedRtx);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const ms = performance.now() - t0;
  const sent = pub.publisher!.videoPayloadBytes - bytes0;
  const results = subs.map((s, i) => {
    const r = s.receivers[0]!.reports().find((x) => x.kind === 'video');
    if (!r) return { deliveredShare: 0, kbps: 0, residualLoss: 1, longestGapMs: ms, nacksSent: 0, rtxDiscarded: 0 };
    return {
      deliveredShare: r.payloadBytes / sent,
      kbps: (r.payloadBytes * 8) / ms,
      residualLoss: r.expected > 0 ? r.lost / r.expected : 1,
      longestGapMs: r.maxArrivalGapMs,
      nacksSent: r.nacksSent,
      rtxDiscarded: s.receivers[0]!.discardedRtx - discarded0[i]!,
    };
  });
  return { publisherKbps: (sent * 8) / ms, results };
}

async function measureProxima(run: number, clip: MediaClip, certificate: DtlsCertificate): Promise<Measurement> {
  const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, seed: run });
  await proxy.start();
  const server = await startProximaChild({ announcedPort: proxy.port });
  proxy.setTarget({ address: '127.0.0.1', port: server.mediaPort });
  const people: LoadPerson[] = [];
  try {
    const target = new ProximaTarget({ url: server.url, space: SPACE, clip, clock: systemClock, certificate, random: seededRandom(run) });
    const pub = await target.join({ name: 'P', publish: true, videoLayer: clip.layers.length - 1, ...PUBLISHER_AT });
    people.push(pub);
    const subs: LoadPerson[] = [];
    for (let i = 0; i < subscribers; i++) {
      const [x, y] = SPOTS[i]!;
      const s = await target.join({ name: `S${i + 1}`, publish: false, discardRtx: true, x, y });
      people.push(s);
      subs.push(s);
    }
    await waitFor('video at every subscriber', () => subs.every((s) => videoFrames(s) > 0), 30_000);
    const links: NonNullable<ReturnType<WeatherProxy["linkOf"]>>[] = [];
    for (const s of subs) {
      const port = await waitFor(`${s.spec.name}'s subscribe transport`, () => server.subscribePort(SPACE, s.id), 10_000);
      const link = proxy.linkOf(port);
      if (!link) throw new Error(`no weather-proxy client for upstream port ${port}`);
      links.push(link);
    }
    const { publisherKbps, results } = await measureWindow(pub, subs, () => {
      for (const l of links) l.down.setConfig({ loss: LOSS });
    });
    let switched = 0;
    for (const s of subs) if ((await server.subscriberState(SPACE, s.id, [pub.id])).rtxDiscarding) switched++;
    return { server: 'proxima', run, publisherKbps, subscribers: results, switched, errors: people.flatMap((p) => p.errors.map((e) => e.message)) };
  } finally {
    for (const p of people) p.close();
    await server.close();
    await proxy.close();
  }
}

async function measureJanus(run: number, clip: MediaClip, certificate: DtlsCertificate): Promise<Measurement> {
  const janus = await startJanus({ ns: nsView, debugLevel: 2 });
  // A proxy per subscriber, in front of the candidate of its own handle (a proxy has one target): its
  // downstream is that subscriber's link.
  const proxies: WeatherProxy[] = [];
  const people: LoadPerson[] = [];
  try {
    const room = await JanusVideoRoomClient.createRoom(janus.url, { publishers: 1 });
    const target = new JanusTarget({
      url: janus.url,
      room,
      clip,
      clock: systemClock,
      certificate,
      publishers: 1,
      random: seededRandom(run),
      subscribeAll: true,
      subscriberRemote: async (_spec, candidate) => {
        const proxy = new WeatherProxy({ listenPort: 0, target: { address: candidate.ip, port: candidate.port }, seed: run * 100 + proxies.length });
        proxies.push(proxy);
        await proxy.start();
        return { ip: '127.0.0.1', port: proxy.port };
      },
    });
    const pub = await target.join({ name: 'P', publish: true, videoLayer: clip.layers.length - 1 });
    people.push(pub);
    const subs: LoadPerson[] = [];
    for (let i = 0; i < subscribers; i++) {
      const s = await target.join({ name: `S${i + 1}`, publish: false, discardRtx: true });
      people.push(s);
      subs.push(s);
    }
    await waitFor('video at every subscriber', () => subs.every((s) => videoFrames(s) > 0), 30_000).catch((e: Error) => {
      throw new Error(`${e.message} (frames: ${subs.map((s) => videoFrames(s)).join(' ')}; packets: ${subs.map((s) => s.receivers[0]!.totals().packets).join(' ')})`);
    });
    const { publisherKbps, results } = await measureWindow(pub, subs, () => {
      for (const p of proxies) p.down.setConfig({ loss: LOSS });
    });
    return { server: 'janus', run, publisherKbps, subscribers: results, errors: people.flatMap((p) => p.errors.map((e) => e.message)) };
  } finally {
    for (const p of people) p.close();
    for (const p of proxies) await p.close();
    await janus.close();
  }
}

const clip = await loadClip({ layers: 'sim360' });
const certificate = await createDtlsCertificate();
const measurements: Measurement[] = [];
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-');
const pct2 = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-');
for (let run = 1; run <= runs; run++) {
  const order: Server[] = run % 2 === 1 ? ['janus', 'proxima'] : ['proxima', 'janus'];
  for (const server of order) {
    process.stdout.write(`run ${run}, ${server}: ${subscribers} RTX-discarding subscribers, ${LOSS * 100} % loss for ${seconds} s…\n`);
    const m = server === 'janus' ? await measureJanus(run, clip, certificate) : await measureProxima(run, clip, certificate);
    measurements.push(m);
    const d = m.subscribers.map((s) => s.deliveredShare);
    process.stdout.write(
      `  publisher ${fmt(m.publisherKbps)} kbit/s; delivered ${pct(median(d))} median, ${pct(Math.min(...d))} worst; residual loss ${pct2(median(m.subscribers.map((s) => s.residualLoss)))} median; ` +
        `longest gap ${fmt(Math.max(...m.subscribers.map((s) => s.longestGapMs)))} ms${m.switched !== undefined ? `; ${m.switched}/${subscribers} switched to original-stream repairs` : ''}\n`,
    );
    if (m.errors.length) process.stdout.write(`  errors: ${m.errors.join('; ')}\n`);
  }
}

// Per server: per run the median and the worst subscriber, then medians of those over runs.
const summary: Record<string, unknown>[] = [];
const rows: Cell[][] = [];
for (const server of ['proxima', 'janus'] as Server[]) {
  const ms = measurements.filter((m) => m.server === server);
  const over = (f: (s: SubscriberResult) => number, worst: (xs: number[]) => number) => ({
    median: median(ms.map((m) => median(m.subscribers.map(f)))),
    worst: median(ms.map((m) => worst(m.subscribers.map(f)))),
  });
  const delivered = over((s) => s.deliveredShare, (xs) => Math.min(...xs));
  const kbps = over((s) => s.kbps, (xs) => Math.min(...xs));
  const loss = over((s) => s.residualLoss, (xs) => Math.max(...xs));
  const gap = over((s) => s.longestGapMs, (xs) => Math.max(...xs));
  const nacks = over((s) => s.nacksSent, (xs) => Math.max(...xs));
  const publisherKbps = median(ms.map((m) => m.publisherKbps));
  const switched = server === 'proxima' ? median(ms.map((m) => m.switched ?? 0)) : null;
  summary.push({ server, publisherKbps, delivered, kbps, residualLoss: loss, longestGapMs: gap, nacksSent: nacks, switched });
  rows.push([
    server,
    fmt(publisherKbps),
    `${pct(delivered.median)} / ${pct(delivered.worst)}`,
    `${fmt(kbps.median)} / ${fmt(kbps.worst)}`,
    `${pct2(loss.median)} / ${pct2(loss.worst)}`,
    `${fmt(gap.median)} / ${fmt(gap.worst)}`,
    `${fmt(nacks.median)} / ${fmt(nacks.worst)}`,
    switched === null ? 'n/a' : `${fmt(switched)}/${subscribers}`,
  ]);
}
printTable(
  `${subscribers} RTX-discarding subscribers, ${LOSS * 100} % of their incoming media dropped, ${seconds} s from the loss's start — medians of ${runs} run${runs === 1 ? '' : 's'} (median subscriber / worst subscriber)`,
  ['server', 'publisher kbit/s', 'delivered % of publisher', 'kbit/s', 'residual loss', 'longest video gap ms', 'NACKs sent', 'original-stream repairs'],
  rows,
);
const path = writeResults('rtx-discard-janus', { runs, subscribers, seconds, loss: LOSS, summary, measurements });
process.stdout.write(`results: ${path}\n`);
