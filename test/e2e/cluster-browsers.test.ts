/**
 * Acceptance, cluster mode with real browsers: Chromium A on node n1 and Chromium B on node n3 stand next
 * to each other in the same space; each decodes the other's video and plays the other's audio; and the
 * relay link counters show exactly one copy of each stream per link used.
 *
 * The RTT matrix is made real by weather proxies on the relay links: n1–n2 40 ms, n2–n3 40 ms, n1–n3
 * 120 ms. The direct link costs 60 ms one way, the detour 20 + 2 (hop) + 20 = 42 ms, so once the RTT rows
 * have converged every track between n1 and n3 goes through n2 (before the first rows the direct link is
 * used; a route change is make before break). Then n1–n2 worsens to 200 ms: the detour costs 122 ms, and
 * the live tracks move to the direct link while both keep decoding, and n2 goes quiet.
 *
 * Which streams should flow (simulcast q/h/f from the web SDK, 640×360 with Chrome's legacy layer limit off):
 * audio always; of the video layers, the one the far viewer's consumer forwards and the lowest (dynacast
 * keeps it on), on every link of the path; the layers nobody downstream wants are off on the relay links
 * and, the relay sink being the publisher's only sink, off at the publisher too. So per stream, in a window
 * with stable routes and wants: what each used link carried (sent at one end, received at the other) = what the
 * origin's producer layer received (± a few packets in flight and repairs), and the unused links (n1→n3
 * directly while routed via n2, anything back up the path, n2 once routed directly) carry none of it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../testkit/cluster.ts';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import { SIMULCAST_TRIAL } from '../testkit/adaptation.ts';
import { serverDiagnostics } from '../testkit/proxima.ts';
import { dropCounts } from '../../src/metrics/drop-reasons.ts';
import { cascadeStats } from '../../src/metrics/registry.ts';
import type { Producer } from '../../src/media/producer.ts';
import { Consumer } from '../../src/media/consumer.ts';
import type { TrackDesc } from '../../src/cascade/relay/track-desc.ts';

const SPACE = 'cluster-browsers';
const RTT = { 'n1|n2': 40, 'n1|n3': 120, 'n2|n3': 40 };
const NODES = ['n1', 'n2', 'n3'] as const;
type NodeId = (typeof NODES)[number];
/** The measured window (ms), and how long routes and layer wants must have been stable before it starts. */
const WINDOW_MS = 4000;
const STABLE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Peer {
  id: string;
  audio: { packetsReceived: number; totalSamplesReceived: number };
  video: { framesDecoded: number; frameWidth: number; frameHeight: number };
}

interface Person {
  name: string;
  node: NodeId;
  page: Page;
  id: string;
}

/** One stream of a published track, named cluster-wide by (originNum, streamId). */
interface Stream {
  trackId: string;
  kind: 'audio' | 'video';
  /** Index in the producer's layers (a=simulcast order); its rid ('-' for audio). */
  index: number;
  rid: string;
  originNum: number;
  streamId: number;
}

/** One publisher's tracks, their streams, and the path they should take: origin … the viewer's node. */
interface Tree {
  who: Person;
  viewer: Person;
  path: NodeId[];
  producers: Producer[];
  descs: TrackDesc[];
  streams: Stream[];
}

type Link = [NodeId, NodeId];
const ALL_LINKS: Link[] = NODES.flatMap((a) => NODES.filter((b) => b !== a).map((b) => [a, b] as Link));
const usedLinks = (t: Tree): Link[] => t.path.slice(1).map((n, i) => [t.path[i]!, n]);
const isUsed = (t: Tree, [x, y]: Link) => usedLinks(t).some(([a, b]) => a === x && b === y);

describe('Chromium on two nodes of three: routed along the cheapest path, one copy per link', () => {
  let cluster: TestCluster;
  /** One Chromium per person: a second page in the same browser is a background tab, whose frame callbacks run at 1 Hz. */
  const browsers: TestBrowser[] = [];
  let startedAt = 0;
  let a: Person;
  let b: Person;

  before(async () => {
    startedAt = Date.now();
    cluster = await startCluster(NODES.map((id) => ({ id, region: 'eu' })), { rtt: RTT });
    // Loopback flags: the cluster's nodes run on 127.0.0.1 with per-node media ports (one machine, many nodes).
    for (let i = 0; i < 2; i++) browsers.push(await TestBrowser.launch([SIMULCAST_TRIAL]));
  });
  after(async () => {
    await Promise.all(browsers.map((x) => x.close()));
    await cluster?.close();
  });

  const peerOf = async (who: Person, other: Person): Promise<Peer | undefined> =>
    ((await who.page.evaluate(() => (window as any).proxima.peers())) as Peer[]).find((p) => p.id === other.id);

  const open = async (browser: TestBrowser, name: string, node: NodeId, at: { x: number; y: number }): Promise<Person> => {
    const page = await browser.page(`${cluster.node(node).url}/?space=${SPACE}&name=${name}&x=${at.x}&y=${at.y}&video=640x360`);
    const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
    return { name, node, page, id };
  };

  const clusterOf = (n: NodeId) => cluster.node(n).cluster!;
  const relayOf = (n: NodeId) => clusterOf(n).relay;

  /** RTP packets of one stream a node sent to / received from a peer (cumulative). */
  const linkCount = (from: NodeId, to: NodeId, dir: 'sent' | 'received', s: Stream): number => {
    const peer = clusterOf(from).endpoint.stats().peers.find((p) => p.id === to);
    assert.ok(peer, `${from} has a relay peer ${to}`);
    const list = dir === 'sent' ? peer.streamsSent : peer.streamsReceived;
    return list.find((x) => x.originNum === s.originNum && x.streamId === s.streamId)?.rtpPackets ?? 0;
  };

  /** Every counter of a tree's streams at this moment: the origin's layer receive counts, and both ends of every link. */
  const snapshot = (t: Tree): Map<string, number> => {
    const out = new Map<string, number>();
    for (const s of t.streams) {
      const p = t.producers.find((x) => x.id === s.trackId)!;
      out.set(`origin ${s.streamId}`, p.layers[s.index]!.stats.packets);
      for (const [x, y] of ALL_LINKS) {
        out.set(`${x}>${y} sent ${s.streamId}`, linkCount(x, y, 'sent', s));
        out.set(`${x}>${y} received ${s.streamId}`, linkCount(y, x, 'received', s));
      }
    }
    return out;
  };

  /** Per video layer (a=simulcast order), what each node of the path asks for: the publisher's dynacast, and the wants up each link. */
  const layerWants = (t: Tree): string => {
    const video = t.descs.find((d) => d.kind === 'video')!;
    const at = (n: NodeId): string => {
      const p = n === t.who.node ? t.producers.find((x) => x.kind === 'video')! : relayOf(n).upstreamOfTrack(video.trackId) !== null ? relayOf(n).relayedProducer(video) : null;
      return p ? p.layers.map((l) => `${l.rid}${l.requested ? '+' : '-'}`).join('') : 'none';
    };
    return t.path.map((n) => `${n}:${at(n)}`).join(' ');
  };

  /** The rid of the layer the viewer's consumer forwards now (at the viewer's node), null when none. */
  const watchedRid = (t: Tree): string | null => {
    const video = t.descs.find((d) => d.kind === 'video')!;
    const p = cluster.node(t.viewer.node).spaces.get(SPACE)?.remotes.get(t.who.id)?.producers.get(video.trackId) as Producer | undefined;
    const cur = p?.sinks.find((x): x is Consumer => x instanceof Consumer)?.current;
    return cur ? (p!.bySpatial[cur.spatial]?.rid ?? null) : null;
  };

  const treeOf = (who: Person, viewer: Person, path: NodeId[]): Tree => {
    const producers = [...cluster.node(who.node).spaces.get(SPACE)!.participants.get(who.id)!.localProducers.values()];
    const descs = producers.map((p) => relayOf(who.node).localDesc(p.id)!);
    const streams: Stream[] = [];
    for (const d of descs)
      d.streamIds.forEach((streamId, index) =>
        streams.push({ trackId: d.trackId, kind: d.kind as 'audio' | 'video', index, rid: d.rids[index] ?? '-', originNum: d.originNum, streamId }),
      );
    return { who, viewer, path, producers, descs, streams };
  };

  /** Every track of the tree is taken along its path, and no node sends it anywhere else (the old route broken). */
  const routed = (t: Tree): boolean =>
    t.descs.every(
      (d) =>
        t.path.slice(1).every((n, i) => relayOf(n).upstreamOfTrack(d.trackId) === t.path[i]) &&
        ALL_LINKS.every((l) => relayOf(l[0]).sinkTracks(l[1]).includes(d.trackId) === isUsed(t, l)),
    );
  const routeDetail = (trees: Tree[]): string =>
    trees
      .flatMap((t) =>
        t.descs.map(
          (d) =>
            `${t.who.name}/${d.kind}: upstreams ${NODES.map((n) => `${n}←${relayOf(n).upstreamOfTrack(d.trackId)}`).join(' ')}, sinks ${ALL_LINKS.filter((l) => relayOf(l[0]).sinkTracks(l[1]).includes(d.trackId))
              .map((l) => l.join('>'))
              .join(' ')}`,
        ),
      )
      .join('; ');
  const waitRouted = (trees: Tree[], what: string, since: number) =>
    waitFor(what, () => (trees.every(routed) ? Date.now() - since : 0), 20_000, 100).catch((e: Error) => {
      throw new Error(`${e.message}: ${routeDetail(trees)}`);
    });

  /** Both keep decoding each other's video (with a size) and receiving audio, over 1.5 s. */
  const bothDecode = async () => {
    const pairs: Array<[Person, Person]> = [
      [b, a],
      [a, b],
    ];
    const x = await Promise.all(pairs.map(([w, f]) => peerOf(w, f)));
    await sleep(1500);
    const y = await Promise.all(pairs.map(([w, f]) => peerOf(w, f)));
    pairs.forEach(([who, from], i) => {
      const p = x[i];
      const q = y[i];
      assert.ok(p && q, `${who.name} has ${from.name} as a peer`);
      assert.ok(q.video.framesDecoded > p.video.framesDecoded, `${who.name} keeps decoding ${from.name}'s video (${p.video.framesDecoded} → ${q.video.framesDecoded})`);
      assert.ok(q.video.frameWidth > 0 && q.video.frameHeight > 0, `${who.name} decodes ${from.name}'s video with a size (${q.video.frameWidth}×${q.video.frameHeight})`);
      assert.ok(q.audio.packetsReceived > p.audio.packetsReceived, `${who.name} receives ${from.name}'s audio packets (${p.audio.packetsReceived} → ${q.audio.packetsReceived})`);
      assert.ok(q.audio.totalSamplesReceived > p.audio.totalSamplesReceived, `${who.name} plays ${from.name}'s audio samples`);
    });
  };

  /**
   * Waits until the routes and the layer wants along every path have been stable for STABLE_MS, counts over
   * WINDOW_MS (again if either changes inside it: on a loaded machine a stalled event loop inflates every
   * RTT sample of the in-process nodes alike, which can flip the routes for a second), and checks one copy
   * per used link, none elsewhere. Returns report lines.
   */
  const measureOneCopy = async (trees: Tree[]): Promise<string[]> => {
    const wantsNow = () =>
      trees.map((t) => `${routed(t) ? 'routed' : 'NOT ROUTED'} ${layerWants(t)} ${t.viewer.name} gets ${watchedRid(t)}`).join(' | ') + ` switches ${cascadeStats.upstreamSwitches}`;
    let measured: Array<{ t: Tree; d: Map<string, number>; wants: string; rid: string | null; height: number }> | null = null;
    const attempts: string[] = [];
    for (let attempt = 0; attempt < 4 && measured === null; attempt++) {
      let since = Date.now();
      let last = wantsNow();
      await waitFor(
        'stable routes and layer wants',
        async () => {
          await sleep(250);
          const now = wantsNow();
          if (now !== last) {
            last = now;
            since = Date.now();
          }
          return Date.now() - since >= STABLE_MS && trees.every(routed);
        },
        15_000,
        0,
      );
      const w0 = wantsNow();
      const s0 = trees.map(snapshot);
      let changed = '';
      for (let waited = 0; waited < WINDOW_MS; waited += 250) {
        await sleep(250);
        if (!changed && wantsNow() !== w0) changed = wantsNow();
      }
      const s1 = trees.map(snapshot);
      if (changed) {
        attempts.push(`window ${attempt}: routes or wants changed (${w0} → ${changed})`);
        continue;
      }
      const heights = await Promise.all(trees.map(async (t) => (await peerOf(t.viewer, t.who))!.video.frameHeight));
      measured = trees.map((t, i) => ({ t, d: new Map([...s1[i]!].map(([k, v]) => [k, v - (s0[i]!.get(k) ?? 0)])), wants: layerWants(t), rid: watchedRid(t), height: heights[i]! }));
    }
    assert.ok(measured, `the routes and layer wants were stable through a ${WINDOW_MS} ms window: ${attempts.join('; ')}`);

    const lines: string[] = [...attempts];
    for (const { t, d, wants, rid, height } of measured) {
      const used = usedLinks(t);
      const video = t.producers.find((p) => p.kind === 'video')!;
      // The layer the far viewer's consumer forwards, and the lowest one: these must flow.
      const watched = video.layers.find((l) => l.rid === rid);
      assert.ok(watched, `${t.viewer.name}'s consumer of ${t.who.name}'s video forwards a layer (${rid})`);
      const lowest = video.bySpatial[0]!;
      lines.push(`${t.who.name} (${t.path.join('→')}) wants ${wants}; ${t.viewer.name} is forwarded ${watched.rid} (${watched.width}x${watched.height}), decodes ${height} px high; lowest ${lowest.rid}`);
      const checks: Array<() => void> = [];
      for (const s of t.streams) {
        const origin = d.get(`origin ${s.streamId}`)!;
        const what = `${t.who.name} ${s.kind}${s.kind === 'video' ? ` ${s.rid}` : ''} (stream ${s.originNum}/${s.streamId})`;
        const counts = ALL_LINKS.filter((l) => isUsed(t, l) || d.get(`${l[0]}>${l[1]} sent ${s.streamId}`) || d.get(`${l[0]}>${l[1]} received ${s.streamId}`))
          .map(([x, y]) => `${x}>${y} ${d.get(`${x}>${y} sent ${s.streamId}`)}/${d.get(`${x}>${y} received ${s.streamId}`)}`)
          .join(', ');
        lines.push(`  ${what}: origin received ${origin}; link sent/received ${counts} (links not listed: 0/0)`);
        const tol = Math.max(8, Math.ceil(origin * 0.03));
        const mustFlow = s.kind === 'audio' || s.index === watched.index || s.index === lowest.index;
        const why = () => `\n${lines.join('\n')}\nserver ${serverDiagnostics()}`;
        checks.push(() => {
          if (mustFlow) assert.ok(origin >= (s.kind === 'audio' ? 40 : 10) * (WINDOW_MS / 1000) * 0.5, `${what} flows at the origin: ${origin} packets in ${WINDOW_MS} ms${why()}`);
          for (const [x, y] of used) {
            const sent = d.get(`${x}>${y} sent ${s.streamId}`)!;
            const got = d.get(`${x}>${y} received ${s.streamId}`)!;
            assert.ok(Math.abs(sent - origin) <= tol, `${what}: ${x}→${y} sent ${sent} packets, the origin received ${origin} (one copy, ±${tol})${why()}`);
            assert.ok(Math.abs(got - origin) <= tol, `${what}: ${y} received ${got} from ${x}, the origin received ${origin} (one copy, ±${tol})${why()}`);
          }
          for (const [x, y] of ALL_LINKS) {
            if (isUsed(t, [x, y])) continue;
            assert.equal(d.get(`${x}>${y} sent ${s.streamId}`), 0, `${what}: the unused link ${x}→${y} carries none of it${why()}`);
            assert.equal(d.get(`${x}>${y} received ${s.streamId}`), 0, `${what}: ${y} received none of it from ${x}${why()}`);
          }
          // Dynacast: a layer neither watched nor the lowest is wanted on no link, hence not encoded.
          if (!mustFlow) assert.ok(origin <= tol, `${what}: nobody watches it, yet the publisher sends it (${origin} packets)${why()}`);
        });
      }
      for (const c of checks) c();
    }
    return lines;
  };

  it('A on n1 and B on n3 decode each other through n2, each stream crossing each used link once', async () => {
    // The route the cluster should pick, both ways, as soon as the RTT rows say so.
    const routeConverged = waitFor(
      'n1 ↔ n3 routed via n2',
      () => {
        const c = clusterOf;
        return c('n3').upstreamOf('n1') === 'n2' && c('n2').upstreamOf('n1') === 'n1' && c('n1').upstreamOf('n3') === 'n2' && c('n2').upstreamOf('n3') === 'n3' ? Date.now() - startedAt : 0;
      },
      20_000,
      100,
    );
    routeConverged.catch(() => {}); // awaited below; a failure before that is not an unhandled rejection
    const switchesBefore = cascadeStats.upstreamSwitches;
    const t0 = Date.now();
    [a, b] = await Promise.all([open(browsers[0]!, 'A', 'n1', { x: 30, y: 20 }), open(browsers[1]!, 'B', 'n3', { x: 32, y: 20 })]);
    const readyAt = Date.now();

    // First decoded frame of the other, each way, counted from both pages being joined and publishing.
    const firstFrame = async (who: Person, from: Person) =>
      waitFor(`${who.name} to decode ${from.name}`, async () => (((await peerOf(who, from))?.video.framesDecoded ?? 0) > 0 ? Date.now() - readyAt : 0), 25_000, 100).catch((e: Error) => {
        throw new Error(`${e.message}; server ${serverDiagnostics()}`);
      });
    const [bDecodesA, aDecodesB] = await Promise.all([firstFrame(b, a), firstFrame(a, b)]);
    const routeMs = await routeConverged;

    const trees = [treeOf(a, b, ['n1', 'n2', 'n3']), treeOf(b, a, ['n3', 'n2', 'n1'])];
    for (const t of trees) assert.equal(t.streams.filter((s) => s.kind === 'audio').length, 1, `${t.who.name} publishes one audio stream`);
    const tracksRouted = await waitRouted(trees, 'every track taken via n2 and nothing sent directly', startedAt);
    await bothDecode();
    const lines = await measureOneCopy(trees);
    process.stdout.write(
      `# cluster browsers: pages ready ${readyAt - t0} ms after opening; route n1↔n3 via n2 at ${routeMs} ms after cluster start, every track on it (direct sinks gone) at ${tracksRouted} ms; ` +
        `${cascadeStats.upstreamSwitches - switchesBefore} make-before-break upstream switches; first frame B←A ${bDecodesA} ms, A←B ${aDecodesB} ms after both joined\n# ${lines.join('\n# ')}\n`,
    );
  });

  it('n1–n2 worsens to 200 ms: the live tracks move to the direct link, both keep decoding, n2 goes quiet', async () => {
    assert.ok(a && b, 'the first test opened both pages');
    const trees = [treeOf(a, b, ['n1', 'n3']), treeOf(b, a, ['n3', 'n1'])];
    const switchesBefore = cascadeStats.upstreamSwitches;
    await Promise.all([a, b].map((p) => p.page.evaluate(() => (window as any).proxima.frameGaps(true))));
    const pageT0 = await Promise.all([a, b].map((p) => p.page.evaluate(() => performance.now())));
    const stats0 = { ...cascadeStats };
    const drops0 = new Map(dropCounts());
    const t0 = Date.now();
    cluster.setRtt('n1', 'n2', 200);
    const routeMs = await waitFor('n1 ↔ n3 routed directly', () => (clusterOf('n3').upstreamOf('n1') === 'n1' && clusterOf('n1').upstreamOf('n3') === 'n3' ? Date.now() - t0 : 0), 15_000, 100);
    const tracksMs = await waitRouted(trees, 'every track taken directly and nothing through n2', t0);
    await bothDecode();
    const lines = await measureOneCopy(trees);
    const gaps = await Promise.all(
      [
        [b, a],
        [a, b],
      ].map(async ([who, from]) => ((await who!.page.evaluate(() => (window as any).proxima.frameGaps())) as Array<{ publisherId: string; frames: number; maxGapMs: number; freezes: Array<{ atMs: number; gapMs: number }> }>).find((g) => g.publisherId === from!.id)),
    );
    const freezes = gaps.map((g, i) => (g?.freezes ?? []).map((f) => `${Math.round(f.atMs - pageT0[i === 0 ? 1 : 0]!)}+${Math.round(f.gapMs)}`).join(' '));
    const drops = dropCounts().filter(([r, n]) => n !== (drops0.get(r) ?? 0)).map(([r, n]) => `${r}=${n - (drops0.get(r) ?? 0)}`).join(' ');
    const cs = Object.entries(cascadeStats).map(([k, v]) => `${k}=${v - stats0[k as keyof typeof stats0]}`).join(' ');
    process.stdout.write(
      `# route switch: direct route ${routeMs} ms after the RTT change, every track on it (n2 sinks gone) at ${tracksMs} ms; ${cascadeStats.upstreamSwitches - switchesBefore} upstream switches; ` +
        `longest frame gap B←A ${gaps[0]?.maxGapMs.toFixed(0)} ms, A←B ${gaps[1]?.maxGapMs.toFixed(0)} ms from the RTT change to the end of the window; ` +
        `freezes ≥ 200 ms (at ms after the change + gap): B←A [${freezes[0]}], A←B [${freezes[1]}]; cascade ${cs}; drops ${drops}\n# ${lines.join('\n# ')}\n`,
    );
    for (const [i, g] of gaps.entries()) {
      const who = i === 0 ? 'B' : 'A';
      assert.ok(g && g.frames > 0, `${who} showed frames across the switch`);
      assert.ok(g.maxGapMs <= 500, `${who}: no freeze over 500 ms across the switch (longest gap ${g.maxGapMs.toFixed(0)} ms; freezes ${freezes[i]})`);
    }
  });
});
