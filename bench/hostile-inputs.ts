/**
 * What one hostile input costs the main thread (issue 15): a 64 KiB publish offer of ~3,900 a=rtcp-fb lines
 * (rejected at the cap, and parsed with the caps lifted to show the parser itself is linear), a plain Chrome
 * offer beside it, and a 40-byte transport-cc feedback claiming 65,535 statuses (parse + estimator).
 * Medians over --runs batches. Writes bench/results/hostile-inputs.json.
 *
 *   node --import tsx bench/hostile-inputs.ts [--runs 15]
 */
import { parseArgs } from 'node:util';
import { rtcpFbFloodOffer, twccClaimFlood } from '../test/testkit/hostile/floods.ts';
import { parsePublishOffer } from '../src/signaling/sdp/publish-offer.ts';
import { DEFAULT_SDP_LIMITS, setSdpLimits } from '../src/signaling/sdp/parse-common.ts';
import { CHROME_PLAIN_OFFER } from '../src/signaling/sdp/test-fixtures.ts';
import { parseRtcp } from '../src/rtp/rtcp-compound.ts';
import type { RtcpPacket, TwccPacket } from '../src/rtp/rtcp-types.ts';
import { TransportCcEstimator } from '../src/bwe/transport-cc-estimator.ts';
import { median } from './lib/stats.ts';
import { printTable } from './lib/table.ts';
import { writeResults } from './lib/results.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
const runs = Number(values.runs);

/** Median µs per call over `runs` batches of `n` calls. */
function time(n: number, fn: () => void): { medianUs: number; samplesUs: number[] } {
  for (let i = 0; i < n; i++) fn(); // warm-up
  const samplesUs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    samplesUs.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  return { medianUs: median(samplesUs), samplesUs };
}

const flood = rtcpFbFloodOffer();
const results: Record<string, { medianUs: number; samplesUs: number[] }> = {};
const outcome: Record<string, string> = {};
const sdpCase = (name: string, sdp: string, n: number) => {
  const r = parsePublishOffer(sdp);
  outcome[name] = 'message' in r ? `rejected: ${r.message}` : 'parsed';
  results[name] = time(n, () => parsePublishOffer(sdp));
};
sdpCase('sdp: Chrome offer (105 lines)', CHROME_PLAIN_OFFER, 200);
sdpCase(`sdp: 64 KiB offer, ${flood.fbLines} a=rtcp-fb (default caps)`, flood.sdp, 200);
setSdpLimits({ ...DEFAULT_SDP_LIMITS, maxRtcpFbPerPayload: 1e9, maxLinesPerMedia: 1e9 });
sdpCase(`sdp: same offer, caps lifted (parse cost)`, flood.sdp, 10);
setSdpLimits(DEFAULT_SDP_LIMITS);

const claim = twccClaimFlood(1, 2);
const out: RtcpPacket[] = [];
results['twcc: parse 40-byte 65,535-status claim'] = time(20_000, () => {
  out.length = 0;
  parseRtcp(claim, claim.length, out);
});
outcome['twcc: parse 40-byte 65,535-status claim'] = `recv entries ${(out[0] as TwccPacket).recvOffset.length}`;
const est = new TransportCcEstimator({ probing: false });
let seq = 0;
let now = 0;
const fb = out[0] as TwccPacket;
// A subscriber receiving ~2,000 packets/s whose feedback is the claim, 2,000 times a second.
results['twcc: estimator, the claim, 1 per packet sent'] = time(20_000, () => {
  est.onPacketSent(seq++ & 0xffff, 1200, (now += 0.5));
  est.onTransportFeedback(fb, now);
});
outcome['twcc: estimator, the claim, 1 per packet sent'] = `statuses over budget ${est.statusesOverBudget}`;

printTable(
  `Hostile inputs: median µs per call over ${runs} batches`,
  ['input', 'µs', 'outcome'],
  Object.entries(results).map(([k, v]) => [k, v.medianUs.toFixed(1), outcome[k] ?? '']),
);
writeResults('hostile-inputs', { runs, results, outcome });
