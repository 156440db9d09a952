/**
 * Adaptation end to end: a Chromium subscriber among four publishers at 1–4 tiles, each sending three
 * simulcast layers (160×90 / 320×180 / 640×360, VP8 L1T3, talking all the time), every packet through the
 * weather proxy, the weather on the subscriber's own link. The publishers are headless clip publishers
 * (test/testkit/adaptation.ts says why); dynacast with Chromium publishers is test/e2e/dynacast.test.ts.
 *
 * 1. Clear weather: the nearest publisher reaches its top layer.
 * 2. 300 kbit/s for 20 s: audio from all four keeps flowing, the farthest video pauses first, the nearest is
 *    never paused and keeps playing on a lower layer; after the cap lifts, the nearest is back on its top layer.
 * 3. 5 % loss and 50 ms jitter for 30 s: RTX repairs the losses, no video stops.
 *
 * These assert behaviour with limits a correct server meets on a busy two-core machine (one core kept busy:
 * `node scripts/run-tests.mjs --repeat 10 --load test/e2e/adaptation`). The figures themselves — join → top
 * layer ≤ 5 s, audio gaps ≤ 200 ms and the nearest's freezes ≤ 500 ms under the cap, top layer ≤ 5 s after the
 * lift, ≥ 95 % repaired — are distributions over runs in bench/adaptation-weather.ts: this machine's own
 * scheduling moves them (the weather proxy and the headless publishers share the test's event loop).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptationScenario, repairDropsSince, traceLine, type TimelinePoint } from '../testkit/adaptation.ts';
import { waitFor } from '../testkit/browser.ts';
import { serverDiagnostics } from '../testkit/proxima.ts';
import { dropCounts } from '../../src/metrics/drop-reasons.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CAP_KBPS = 300;
/** A drop-tail buffer of 250 ms at the cap (a sanely sized router without AQM); the bench also runs 1 s. */
const CAP_QUEUE_BYTES = (CAP_KBPS * 1000 * 0.25) / 8;
/** The first second after the weather turns: the buffer fills before any sender can hear of it. */
const TRANSITION_MS = 1000;
/** How long a correct server may take on a busy machine to reach a layer the link carries (the bench has the figure). */
const PATIENCE_MS = 15_000;
/** A gap this long is audio that stopped, not a late packet. */
const AUDIO_STOPPED_MS = 1000;
/** A freeze this long is a video that stopped (paused, or starved of repairs), not a late frame. */
const VIDEO_STOPPED_MS = 1000;
/**
 * Under loss and jitter: the nearest face keeps playing (a lost keyframe costs a PLI round trip on a busy
 * machine), and a farther one the estimate paused for a moment resumes: pauses are never stuck.
 */
const NEAREST_STOPPED_LOSSY_MS = 1500;
const PAUSE_STUCK_MS = 3000;
/** RTX repairs most losses (the bench's figure is ≥ 95 % in every run). */
const MOST_REPAIRED = 0.9;

describe('adaptation: four simulcast publishers, a Chromium subscriber, the weather on its link', () => {
  let s: AdaptationScenario;
  before(async () => {
    s = await AdaptationScenario.start({ publishers: 'headless', space: 'adaptation' });
  });
  after(async () => {
    await s?.close();
  });

  const nearest = () => s.publishers[0];
  const top = () => s.topHeight;
  const diag = (extra = '') => `${extra}; server ${serverDiagnostics()}; downlink ${JSON.stringify(s.participant(s.subId)?.downlink?.snapshot().estimator ?? null)}\nserver trace (250 ms):\n${s.recentTrace()}`;
  const nearestOnTop = () => s.nearestOnTop();

  it('clear weather: the nearest publisher reaches its top layer', async () => {
    const t0 = Date.now();
    await s.join();
    await waitFor('the nearest publisher’s top layer at the page', nearestOnTop, PATIENCE_MS, 100).catch((e: Error) => {
      throw new Error(diag(e.message));
    });
    const ms = Date.now() - t0;
    console.log(`adaptation: join → nearest on its top layer (${top()}p) in ${ms} ms`);
    // Everyone is seen.
    await waitFor('video from all four', async () => (await s.pageVideos()).filter((v) => v.frames > 10).length === 4, 10_000);
  });

  it(`${CAP_KBPS} kbit/s for 20 s: audio flows, the farthest pauses first, the nearest is never paused and keeps playing; back on top after the lift`, async () => {
    await sleep(3000);
    await s.pageVideos(true);
    const pageT0 = await s.pageNow();
    s.weather({ rateKbps: CAP_KBPS, queueBytes: CAP_QUEUE_BYTES });
    const capped = await s.record(20_000, 250);
    const trace = () => `\n${capped.map(traceLine).join('\n')}`;
    const videos = await s.pageVideos(true);
    s.weather({});
    const liftAt = Date.now();
    // When the estimate found the room, when the nearest was allocated its top layer, when it was forwarded.
    const seen: Record<string, number> = {};
    await waitFor(
      'the nearest back on its top layer',
      async () => {
        const c = s.consumers(nearest().id).video;
        const est = s.participant(s.subId)?.downlink?.estimator.estimate(performance.now()) ?? 0;
        const t = Date.now() - liftAt;
        if (est >= 1_500_000) seen.estimate ??= t;
        if (c?.target?.spatial === 2) seen.allocated ??= t;
        if (c?.current?.spatial === 2) seen.forwarded ??= t;
        return nearestOnTop();
      },
      PATIENCE_MS,
      100,
    ).catch((e: Error) => {
      throw new Error(diag(`${e.message} (${JSON.stringify(seen)})`));
    });
    const recoverMs = Date.now() - liftAt;

    const steady = capped.filter((p) => p.t >= TRANSITION_MS);
    const gaps = (pts: TimelinePoint[], i: number) => Math.max(0, ...pts.map((p) => p.tracks[i].audioGapMs));
    const firstPause = s.publishers.map((_, i) => capped.find((p) => p.tracks[i].target === '-')?.t ?? Infinity);
    const nearestFreezes = videos.find((v) => v.publisherId === nearest().id)?.freezes.filter((f) => f.atMs >= pageT0) ?? [];
    const steadyFreeze = Math.max(0, ...nearestFreezes.filter((f) => f.atMs >= pageT0 + TRANSITION_MS).map((f) => f.gapMs));
    const transitionFreeze = Math.max(0, ...nearestFreezes.filter((f) => f.atMs < pageT0 + TRANSITION_MS).map((f) => f.gapMs));
    const layers = [...new Set(steady.map((p) => p.tracks[0].current))].join(',');
    console.log(
      `adaptation: ${CAP_KBPS} kbit/s (${CAP_QUEUE_BYTES} B queue): estimate ${Math.round(Math.min(...steady.map((p) => p.estimateBps)) / 1000)}–${Math.round(Math.max(...steady.map((p) => p.estimateBps)) / 1000)} kbps, ` +
        `received ${Math.round(steady.reduce((a, p) => a + p.rxKbps, 0) / steady.length)} kbit/s; audio gaps max ${s.publishers.map((_, i) => gaps(steady, i)).join('/')} ms ` +
        `(transition ${s.publishers.map((_, i) => gaps(capped.filter((p) => p.t < TRANSITION_MS), i)).join('/')} ms); first pause ${firstPause.map((t) => (Number.isFinite(t) ? `${t} ms` : 'never')).join('/')}; ` +
        `nearest on ${layers}, freeze max ${Math.round(steadyFreeze)} ms (transition ${Math.round(transitionFreeze)} ms); top layer again ${recoverMs} ms after the lift (estimate ≥ 1.5 Mbps at ${seen.estimate} ms, allocated ${seen.allocated} ms, forwarded ${seen.forwarded} ms)`,
    );

    // Audio from all four keeps flowing: never stopped (the 200 ms figure is the bench's).
    for (const [i, p] of s.publishers.entries()) assert.ok(gaps(capped, i) <= AUDIO_STOPPED_MS, diag(`${p.name}: audio gap ${gaps(capped, i)} ms${trace()}`));
    // The farthest pauses first: nobody nearer pauses before someone farther does; and it does pause.
    assert.ok(Number.isFinite(firstPause[3]), 'the farthest video pauses under the cap');
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 4; j++) assert.ok(firstPause[j] <= firstPause[i], `P${j + 1} (farther) paused at ${firstPause[j]}, P${i + 1} at ${firstPause[i]}`);
    // The nearest keeps playing, on a lower layer, without a freeze over 500 ms.
    assert.equal(firstPause[0], Infinity, diag(`the nearest video was paused${trace()}`));
    assert.ok(steady.every((p) => p.tracks[0].current !== 's2t2'), diag(`the nearest steps down (${layers})${trace()}`));
    assert.ok(steadyFreeze <= VIDEO_STOPPED_MS, diag(`nearest froze ${Math.round(steadyFreeze)} ms${trace()}`));
  });

  it('5 % loss and 50 ms jitter for 30 s: RTX repairs the losses (≥ 90 %), the nearest keeps playing, no pause is stuck', async () => {
    await sleep(3000);
    // Recovery measured on the wire: every media packet the weather dropped, and whether a retransmission of
    // it (RTX SSRC + RTX seq in the clear header; the server logs which packet each one repeats) got through.
    const consumers = s.publishers.map((p) => s.consumers(p.id).video!);
    s.wire.trace(consumers.flatMap((c) => [c.params.ssrc, c.params.rtxSsrc!]));
    const resent = consumers.map(() => new Map<number, number[]>()); // rtx seq → original seq, per video
    consumers.forEach((c, i) => {
      c.onResend = (seq, rtxSeq) => {
        const m = resent[i];
        m.set(rtxSeq, [...(m.get(rtxSeq) ?? []), seq]);
      };
    });
    await s.pageVideos(true);
    const dropsBefore = new Map(dropCounts());
    s.weather({ loss: 0.05, delayMs: 20, jitterMs: 50 });
    const lossy = await s.record(30_000, 500);
    const videos = await s.pageVideos(true);
    s.weather({});
    await sleep(1500); // the last retransmissions land
    for (const c of consumers) c.onResend = null;
    let lostOnWire = 0;
    let recoveredCount = 0;
    const per: string[] = [];
    consumers.forEach((c, i) => {
      const lost = s.wire.lostSeqs.get(c.params.ssrc) ?? [];
      const got = new Set<number>();
      for (const rtxSeq of s.wire.deliveredSeqs.get(c.params.rtxSsrc!) ?? []) for (const seq of resent[i].get(rtxSeq) ?? []) got.add(seq);
      const rec = lost.filter((x) => got.has(x)).length;
      lostOnWire += lost.length;
      recoveredCount += rec;
      per.push(`${s.publishers[i].name} ${rec}/${lost.length}`);
    });
    const recovered = lostOnWire > 0 ? recoveredCount / lostOnWire : 1;
    const drops = repairDropsSince(dropsBefore);
    const worst = Math.max(0, ...videos.map((v) => v.maxGapMs));
    console.log(`adaptation: 5 % loss + 50 ms jitter: ${lostOnWire} video packets lost on the link, ${recoveredCount} of them delivered again by RTX (${(recovered * 100).toFixed(1)} %; ${per.join(', ')}); repair drops: ${drops || 'none'}; longest frame gap ${Math.round(worst)} ms`);
    assert.ok(lostOnWire > 50, diag(`the weather dropped video packets (${lostOnWire}); longest frame gap ${Math.round(worst)} ms\n${lossy.map(traceLine).join('\n')}`));
    // Chromium uses RTX: neither the cap (probe padding lost at a full link's tail) nor this loss may mark it
    // as a receiver that discards RTX.
    const watch = s.participant(s.subId)?.subscribeSession?.rtxWatch;
    assert.equal(watch?.discarding, false, diag(`Chromium taken for a receiver that discards RTX (by ${watch?.byFeedback ? 'feedback' : 'NACKs'}: ${watch?.unheeded} of ${watch?.repairs} repairs NACKed again)`));
    assert.ok(recovered >= MOST_REPAIRED, diag(`${(recovered * 100).toFixed(1)} % recovered`));
    for (const v of videos) assert.ok(v.maxGapMs <= (v.publisherId === nearest().id ? NEAREST_STOPPED_LOSSY_MS : PAUSE_STUCK_MS), diag(`${s.publishers.find((p) => p.id === v.publisherId)?.name}: frame gap ${Math.round(v.maxGapMs)} ms\n${lossy.map(traceLine).join('\n')}`));
  });
});
