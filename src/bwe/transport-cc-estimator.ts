/**
 * Send-side bandwidth estimation from transport-wide CC feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01), GCC-style (draft-ietf-rmcat-gcc-02):
 *
 *   onPacketSent ─► SendHistory (seq → send time, size, probe cluster)
 *   feedback ─► per packet (send, arrival, size) ─┬► PacketGrouper ─► TrendlineDetector ─► AIMD (delay-based)
 *                                                 ├► AckedBitrate (received rate, 500 ms)
 *                                                 ├► loss windows ─► LossBasedControl
 *                                                 └► Prober (probe packets) ─► result raises both
 *   estimate = clamp(min(delay-based, loss-based, REMB if any), min, max)
 */
import { AckedBitrate } from './acked-bitrate.ts';
import { bweStats } from '../metrics/registry.ts';
import { AIMD_BETA, AimdRateControl } from './aimd-rate-control.ts';
import { PacketGrouper, TrendlineDetector } from './delay-based.ts';
import type { BandwidthEstimator, BweStats, TwccFeedback } from './estimator.ts';
import { LOSS_HIGH, LossBasedControl } from './loss-based.ts';
import { Prober, RELEASE_BURST_COMPRESSION, type ProbeCluster, type ProberOptions } from './prober.ts';
import { FB_LOST, FB_NONE, FB_RECEIVED, SendHistory, type SendHistoryOptions } from './send-history.ts';

export interface TransportCcOptions {
  /**
   * Estimate before any feedback. Default 1 Mbps: enough for a 360p camera plus audio for the first
   * subscription at once, while the first probe (3×) checks for more and an overshoot on a thinner path is
   * cut within a few feedback rounds.
   */
  initialBps?: number;
  /** Default 30 kbps: audio plus the lowest video layer's keyframes still trickle. */
  minBps?: number;
  /** Default 20 Mbps. */
  maxBps?: number;
  history?: SendHistoryOptions;
  /** Probing; false disables it (planProbe then always returns null). */
  probing?: ProberOptions | false;
  /**
   * While sending, no feedback for this long halves the estimate (once per period): the return path or the
   * receiver is gone and we should not keep pushing. 0 disables. Default 3000 ms.
   */
  feedbackTimeoutMs?: number;
}

const TWCC_REF_US = 64_000;
/**
 * Each packet sent may be named by feedback a few times (lost, then received late; a feedback repeated):
 * statuses looked up are paid from credits earned per packet sent, capped so a quiet spell saves little.
 */
const ACK_CREDITS_PER_PACKET = 4;
const ACK_CREDITS_START = 1024;
const ACK_CREDITS_MAX = 65_536;
const SCRATCH_START = 1024;
/**
 * A standing queue: GCC reacts to the delay's gradient, so a queue that built before it reacted (a link that
 * dropped under us, a deep buffer) stays full when the rate merely matches the link. When the smallest
 * one-way delay of QUEUE_FEEDBACKS feedbacks in a row is QUEUE_MS above the path's base (its minimum over
 * BASE_WINDOW_MS × 2), the estimate is held at DRAIN_FACTOR × the delivered rate, at most once per
 * DRAIN_EVERY_MS: the link then drains at ≥ 15 % of its rate. While the queue lasts, the delivered rate is the
 * link's, so this does not compound.
 */
const QUEUE_MS = 150;
/**
 * A link that suddenly carries a fraction of what we send (the weather turned, a cap dropped): the queue
 * grows by tens of ms per feedback and the receiver gets less than half of what left us over the last
 * 200 ms. The trendline needs several feedbacks to say so, while a deep buffer overflows in a few hundred
 * ms; this cuts at once to β × what arrived, which is the link's rate while it runs full.
 */
const DROP_QUEUE_MS = 60;
const DROP_QUEUE_RISE_MS = 20;
const DROP_DELIVERED_SHARE = 0.5;
const SENT_BUCKET_MS = 50;
const SENT_BUCKETS = 8;
/**
 * An over-use counts only when the least delayed packet of the feedback is this far above the base delay:
 * a link running full delays every packet (one 1200-byte packet is 10 ms at 1 Mbps), a burst or scheduling
 * jitter does not.
 */
const QUEUE_EVIDENCE_MS = 8;
const QUEUE_FEEDBACKS = 3;
const BASE_WINDOW_MS = 15_000;
const DRAIN_FACTOR = 0.85;
const DRAIN_EVERY_MS = 1000;
/** Loss while the queue is above this is taken for congestion (it holds or cuts the estimate); a jittery path keeps a few tens of ms. */
export const LOSS_QUEUE_MS = 80;
/** No probe this soon after the estimate went down. */
const PROBE_AFTER_CUT_MS = 1500;
/** How long after a probe cluster an over-use is taken for its own queue (feedback interval + RTT + drain). */
const PROBE_QUEUE_MS = 400;
/** Short received-rate window a decrease may use when the rate just went up. */
const RECENT_WINDOW_MS = 200;
/** An over-use decrease starts from the highest received rate measured over this much arrival time. */
const DECREASE_PEAK_MS = 1000;
/**
 * A release burst: packets that left us over at least STALL_MIN_SEND_SPAN_MS arrived within
 * RELEASE_BURST_COMPRESSION of that span, after waiting at least STALL_MIN_PEAK_MS. No bottleneck delivers faster
 * than we sent; something held them and let them go at once — our own process or the receiver's stalled,
 * a Wi-Fi burst, a path that paused. Its delay is not a queue at a link running full, so for
 * STALL_HOLD_MS the delay signals (over-use, capacity drop, standing queue) hold instead of cutting.
 */
const STALL_MIN_SEND_SPAN_MS = 30;
const STALL_MIN_PEAK_MS = 20;
const STALL_HOLD_MS = 500;
/**
 * The hold applies only while the queue is shallower than this: a link that runs full keeps a queue between
 * bursts, and a stall on top of it does not make it any less full.
 */
const STALL_MAX_QUEUE_MS = 40;
/**
 * A capacity-drop cut needs a second feedback within DROP_CONFIRM_MS that still shows it, and the two
 * delivered rates must agree (the smaller ≥ DROP_AGREE × the larger): a link that dropped delivers at its
 * new rate in both; a stall or jitter makes a trickle, then a burst. The second must also show the buffer
 * still filling: its queue DROP_QUEUE_RISE_MS deeper than the first's, or DROP_CONFIRM_LOSS of its packets lost.
 */
const DROP_CONFIRM_MS = 400;
const DROP_AGREE = 0.7;
/** Loss in the confirming feedback that shows the buffer overflowing (see checkCapacityDrop). */
const DROP_CONFIRM_LOSS = 0.2;
/**
 * A standing queue that does not shrink after a drain hold is no queue: the path's delay went up (a route
 * change, a delay spike). Its new delay becomes the base instead of cutting again (see QUEUE_MS).
 */
const REBASE_SHRINK = 0.8;

export class TransportCcEstimator implements BandwidthEstimator {
  readonly minBps: number;
  readonly maxBps: number;
  readonly history: SendHistory;
  readonly prober: Prober | null;
  private readonly grouper = new PacketGrouper();
  private readonly trend = new TrendlineDetector();
  private readonly acked = new AckedBitrate();
  private readonly aimd: AimdRateControl;
  private readonly loss: LossBasedControl;
  private readonly feedbackTimeoutMs: number;
  private rembBps = Infinity;
  private ackedBps = 0;
  private current: number;
  private lastSentMs = -Infinity;
  private lastFeedbackMs = -1;
  private lastTimeoutCutMs = -Infinity;
  private refUnwrapped = NaN;
  /** When the estimate last went down: losses of packets sent before were already answered. */
  private lastCutMs = -Infinity;
  // Per-feedback scratch: received packets, sorted by arrival before the delay-based pass.
  private sSend = new Float64Array(SCRATCH_START);
  private sArr = new Float64Array(SCRATCH_START);
  private sSize = new Float64Array(SCRATCH_START);
  private sCluster = new Int32Array(SCRATCH_START);
  private sOrder = new Int32Array(SCRATCH_START);
  feedbacks = 0;
  /** Statuses feedback may still make us look up (see ACK_CREDITS_PER_PACKET). */
  private ackCredits = ACK_CREDITS_START;
  /** Statuses of known seqs skipped because feedback named more than we could have sent (see ACK_CREDITS_PER_PACKET). */
  statusesOverBudget = 0;
  /** Feedback statuses naming seqs we do not know (never sent, too old, or overwritten). */
  unknownSeqs = 0;
  /** Packets feedback reported lost (each once). */
  packetsLost = 0;
  probesApplied = 0;
  /** Told of each transport seq feedback first reports lost (repairs; see SubscribeSession). */
  onLost: ((transportSeq: number) => void) | null = null;
  /** Over-use signals ignored because a probe cluster had just been sent. */
  probeOveruses = 0;
  /** Over-use signals ignored because no packet of the feedback had queued (see QUEUE_EVIDENCE_MS). */
  noQueueOveruses = 0;
  /** Over-use signals that cut the estimate (§6 decrease). */
  overuseCuts = 0;
  /** Times a standing queue capped the estimate. */
  queueDrains = 0;
  /** Times a sudden capacity drop cut the estimate (see DROP_QUEUE_MS). */
  capacityDrops = 0;
  /** Feedbacks that looked like a capacity drop once but were not confirmed by the next (see DROP_CONFIRM_MS). */
  dropsUnconfirmed = 0;
  /** Release bursts seen (see RELEASE_BURST_COMPRESSION), and delay signals they made hold instead of cut. */
  stallReleases = 0;
  stallHolds = 0;
  /** Times the base delay moved up because a "standing queue" did not drain (see REBASE_SHRINK). */
  rebases = 0;
  private stallUntilMs = -Infinity;
  /** First feedback of a possible capacity drop: its delivered rate and time (0: none pending). */
  private dropEvidenceBps = 0;
  private dropEvidenceMs = -Infinity;
  private dropEvidenceQueueMs = 0;
  /** Queue delay at the last drain hold (see REBASE_SHRINK). */
  private drainQueueMs = 0;
  private prevQueueMs = 0;
  private fbRecvBps = 0;
  // Bytes we sent per 50 ms bucket (by send time), for the rate we sent lately.
  private readonly sentBuckets = new Float64Array(SENT_BUCKETS);
  private sentBucket = -1;
  /** Queueing delay estimate of the latest feedback (ms): its smallest one-way delay above the path's base. */
  queueMs = 0;
  /**
   * Interarrival jitter (ms), RFC 3550 §6.4.1's estimator over consecutive received packets in arrival
   * order: how far arrival spacing strays from send spacing. The prober sizes its clusters by it.
   */
  jitterMs = 0;
  private jitterSend = NaN;
  private jitterArr = NaN;
  // Base one-way delay: minimum over the current and the previous window (receiver clock − ours, ms).
  private baseCur = Infinity;
  private basePrev = Infinity;
  private baseWindowStart = -Infinity;
  private queueStreak = 0;
  private lastDrainMs = -Infinity;

  constructor(opts: TransportCcOptions = {}) {
    this.minBps = opts.minBps ?? 30_000;
    this.maxBps = opts.maxBps ?? 20_000_000;
    if (!(this.minBps > 0 && this.maxBps >= this.minBps)) throw new RangeError('need 0 < minBps <= maxBps');
    const initial = Math.min(this.maxBps, Math.max(this.minBps, opts.initialBps ?? 1_000_000));
    this.history = new SendHistory(opts.history);
    this.prober = opts.probing === false ? null : new Prober({ maxBps: this.maxBps, ...opts.probing });
    this.aimd = new AimdRateControl(initial, this.minBps, this.maxBps);
    this.loss = new LossBasedControl(initial, this.minBps, this.maxBps);
    this.feedbackTimeoutMs = opts.feedbackTimeoutMs ?? 3000;
    this.current = initial;
  }

  onPacketSent(transportSeq: number, sizeBytes: number, nowMs: number, isProbe = false, receiverDrops = false): void {
    if (this.ackCredits < ACK_CREDITS_MAX) this.ackCredits += ACK_CREDITS_PER_PACKET;
    const cluster = isProbe && this.prober ? this.prober.onProbeSent(sizeBytes, nowMs) : -1;
    this.advanceSent(nowMs);
    this.sentBuckets[this.sentBucket % SENT_BUCKETS] += sizeBytes;
    this.history.add(transportSeq, sizeBytes, nowMs, cluster, receiverDrops);
    this.lastSentMs = nowMs;
  }

  onTransportFeedback(fb: TwccFeedback, nowMs: number): void {
    this.feedbacks++;
    this.lastFeedbackMs = nowMs;
    // The 24-bit reference time wraps (every ~12 days): unwrap it against the previous feedback.
    if (Number.isNaN(this.refUnwrapped)) this.refUnwrapped = fb.referenceTime;
    else {
      const d = ((((fb.referenceTime - this.refUnwrapped) % 0x1000000) + 0x1800000) % 0x1000000) - 0x800000;
      this.refUnwrapped += d;
    }
    const offsetUs = (this.refUnwrapped - fb.referenceTime) * TWCC_REF_US;
    const h = this.history;
    // Only packets we sent can be acknowledged, so the statuses worth looking at are those naming seqs in
    // the send history's window; the rest of a claimed count (16 bits, chosen by the peer) is counted as
    // unknown in one step. The window is also paid for: each status looked at spends one credit, and
    // credits come only from packets sent (ACK_CREDITS_PER_PACKET each), so the work all feedback can cause
    // is bounded by what we send, however often and however large the feedback.
    const recvN = fb.recvOffset.length;
    this.ensureScratch(recvN);
    const ext0 = h.unwrap(fb.baseSeq);
    const hi = h.highestSeq;
    const lo = Math.max(0, hi - h.capacity + 1);
    const kStart = Math.min(fb.statusCount, Math.max(0, lo - ext0));
    let kEnd = Math.max(kStart, Math.min(fb.statusCount, hi - ext0 + 1));
    if (kEnd - kStart > this.ackCredits) {
      this.statusesOverBudget += kEnd - kStart - Math.floor(this.ackCredits);
      kEnd = kStart + Math.floor(this.ackCredits);
    }
    this.ackCredits -= kEnd - kStart;
    this.unknownSeqs += fb.statusCount - (kEnd - kStart);
    let r = 0;
    while (r < recvN && fb.recvOffset[r] < kStart) r++;

    let n = 0;
    let lost = 0;
    let total = 0;
    let recovered = 0;
    for (let k = kStart; k < kEnd; k++) {
      const arrUs = r < recvN && fb.recvOffset[r] === k ? fb.recvArrivalUs[r++] : NaN;
      const slot = h.lookupExt(ext0 + k, nowMs);
      if (slot < 0) {
        this.unknownSeqs++;
        continue;
      }
      const prev = h.statusAt(slot);
      // Loss statistics only count packets sent after the last cut: a queue that overflowed before we
      // reacted reports its losses up to a (bloated) RTT later, and must not be punished twice. Nor do
      // packets the receiver throws away unseen (RTX to one that discards it): their loss is not the path's.
      const counts = h.sendMsAt(slot) >= this.lastCutMs && !h.receiverDropsAt(slot);
      if (Number.isNaN(arrUs)) {
        if (prev !== FB_NONE) continue; // already reported (lost or received)
        h.setStatus(slot, FB_LOST);
        this.packetsLost++;
        this.onLost?.((fb.baseSeq + k) & 0xffff);
        if (counts) {
          lost++;
          total++;
        }
        const c = h.clusterAt(slot);
        if (c >= 0 && this.prober) this.prober.onProbeFeedback(c, NaN, h.sizeAt(slot));
        continue;
      }
      if (prev === FB_RECEIVED) continue; // duplicate report
      if (counts) {
        if (prev === FB_LOST) recovered++;
        else total++;
      }
      h.setStatus(slot, FB_RECEIVED);
      this.sSend[n] = h.sendMsAt(slot);
      this.sArr[n] = (arrUs + offsetUs) / 1000;
      this.sSize[n] = h.sizeAt(slot);
      // A probe packet first reported lost was already counted by the prober.
      this.sCluster[n] = prev === FB_NONE ? h.clusterAt(slot) : -1;
      n++;
    }

    // Delay-based pass in arrival order (insertion sort: feedback is nearly sorted already).
    const order = this.sOrder;
    for (let i = 0; i < n; i++) {
      const a = this.sArr[i];
      let j = i - 1;
      while (j >= 0 && this.sArr[order[j]] > a) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = i;
    }
    for (let i = 0; i < n; i++) {
      const p = order[i];
      const size = this.sSize[p];
      this.acked.add(this.sArr[p], size);
      if (!Number.isNaN(this.jitterArr)) {
        const d = this.sArr[p] - this.jitterArr - (this.sSend[p] - this.jitterSend);
        this.jitterMs += (Math.abs(d) - this.jitterMs) / 16;
      }
      this.jitterSend = this.sSend[p];
      this.jitterArr = this.sArr[p];
      if (this.sCluster[p] >= 0 && this.prober) this.prober.onProbeFeedback(this.sCluster[p], this.sArr[p], size);
      if (this.grouper.add(this.sSend[p], this.sArr[p])) {
        this.trend.update(this.grouper.sendDelta, this.grouper.arrivalDelta, this.grouper.groupArrival);
      }
    }

    if (n > 0) {
      this.ackedBps = this.acked.rate();
      this.trackQueue(n, nowMs);
    }
    let signal = this.trend.signal;
    // A probe's burst queues at the bottleneck by design: an over-use right after one is the probe's, the
    // cluster's result says what the path carries; cutting the media's rate for it would be self-harm.
    if (signal === 'overuse' && this.prober && this.prober.probedWithin(nowMs, PROBE_QUEUE_MS)) {
      signal = 'underuse'; // AIMD holds
      this.probeOveruses++;
    } else if (signal === 'overuse' && this.stalled(nowMs)) {
      // Delay from a release burst (see RELEASE_BURST_COMPRESSION): something paused, no link ran full.
      signal = 'underuse';
      this.stallHolds++;
      bweStats.stallHolds++;
    } else if (signal === 'overuse' && n > 0 && this.queueMs < QUEUE_EVIDENCE_MS) {
      // Congestion keeps a queue: even the least delayed packet of this feedback waits. When it did not, the
      // rising trend was a burst (a keyframe) or jitter (a busy machine), not a link running full.
      signal = 'underuse';
      this.noQueueOveruses++;
    }
    // Under over-use the link runs full: this feedback's packets arrived at its rate, and so did the last
    // 200 and 500 ms. Each can read low — a window across a pause in arrivals (a delay step, a blackout's
    // end, a stalled process, jitter bunching packets), one feedback's few packets when we send little — so
    // the cut takes the largest, including the highest 500 ms rate of the last DECREASE_PEAK_MS (GCC's own
    // is the 500 ms rate; the deployed one smooths it over seconds). Without that, under jitter with one
    // core busy, a window reading 1.2 Mbit/s half a second after 2.7 arrived cut 2.3 Mbit/s to 1.0 at once.
    // The peak is left out while a queue stays deep (two feedbacks in a row): then the link runs full and
    // delivers its rate now (with a 300 kbit/s cap under a 250 ms buffer, cuts from the last second's 800k held
    // the estimate at 700k while a third of the packets overflowed); one deep reading is what jitter and a busy
    // machine make. A link that dropped from under us is also cut for by the capacity-drop rule, which does
    // not wait for the windows to forget what came before.
    let recent = 0;
    if (signal === 'overuse') {
      const deep = n > 0 && this.queueMs >= LOSS_QUEUE_MS && this.prevQueueMs >= LOSS_QUEUE_MS;
      recent = Math.max(this.fbRecvBps, this.acked.recentRate(RECENT_WINDOW_MS), this.ackedBps, deep ? 0 : this.acked.peakRate(DECREASE_PEAK_MS));
    }
    this.aimd.update(signal, this.ackedBps, recent, nowMs);
    if (this.aimd.lastAction === 'decrease') {
      this.overuseCuts++;
      bweStats.overuseCuts++;
    }
    // Loss with a queue building is congestion; without one, the medium's (see LossBasedControl).
    const queueing = signal === 'overuse' || this.queueMs > LOSS_QUEUE_MS;
    if (total > 0 || recovered > 0) this.loss.onFeedback(lost, total, recovered, nowMs, queueing);
    if (this.prober) {
      // A cluster that itself arrived as a release burst is dropped by the prober (RELEASE_BURST_COMPRESSION); one
      // merely evaluated near another burst — jitter makes them every few hundred ms — still counts.
      const r = this.prober.evaluate(nowMs);
      // The probe's rate becomes a floor for both controllers, unless the path is already signalling
      // overuse (then the probe itself may have built the queue: it does not hold).
      if (r > 0 && signal !== 'overuse' && r > this.current) {
        this.aimd.raiseTo(r);
        this.loss.raiseTo(r);
        this.probesApplied++;
      }
    }
    if (n > 0) this.checkCapacityDrop(nowMs, total > 0 ? lost / total : 0);
    if (n > 0) this.prevQueueMs = this.queueMs;
    if (this.queueStreak >= QUEUE_FEEDBACKS && nowMs - this.lastDrainMs >= DRAIN_EVERY_MS && this.ackedBps > 0 && !this.stalled(nowMs)) {
      if (
        this.lastDrainMs > -Infinity &&
        nowMs - this.lastDrainMs < 2 * DRAIN_EVERY_MS &&
        this.queueMs >= REBASE_SHRINK * this.drainQueueMs &&
        this.loss.lossFraction < LOSS_HIGH
      ) {
        // A second of holding under the delivered rate did not shrink it: the path's delay rose, not a queue.
        // Unless the buffer overflows (> 10 % lost): a path whose delay rose delivers what it is sent, and a
        // rebase there hid a full 250 ms buffer from every delay rule while a third of the packets were lost.
        this.rebase();
      } else {
        const target = DRAIN_FACTOR * Math.max(this.ackedBps, this.fbRecvBps);
        if (target < this.aimd.bps) {
          this.aimd.limitTo(target);
          this.lastDrainMs = nowMs;
          this.drainQueueMs = this.queueMs;
          this.queueDrains++;
        }
      }
    }
    this.loss.capTo(this.aimd.bps);
    this.combine(nowMs);
  }

  /**
   * A link that suddenly carries a fraction of what we send (DROP_QUEUE_MS): the queue jumped, and the packets
   * of this feedback arrived back to back at the link's rate, under half of what we sent. One feedback can
   * lie, so it only arms the cut; a second confirms it as DROP_CONFIRM_MS says, and the cut goes at once to
   * β × the larger of the two delivered rates.
   */
  private checkCapacityDrop(nowMs: number, fbLoss: number): void {
    const pending = this.dropEvidenceBps > 0 && nowMs - this.dropEvidenceMs <= DROP_CONFIRM_MS;
    if (this.dropEvidenceBps > 0 && !pending) {
      this.dropsUnconfirmed++;
      bweStats.capacityDropsUnconfirmed++;
      this.dropEvidenceBps = 0;
    }
    if (this.stalled(nowMs) || nowMs - this.lastCutMs <= RECENT_WINDOW_MS) return;
    const rising = this.queueMs - this.prevQueueMs > DROP_QUEUE_RISE_MS;
    if (this.queueMs <= DROP_QUEUE_MS || (!pending && !rising)) {
      if (pending && this.queueMs <= DROP_QUEUE_MS) {
        this.dropsUnconfirmed++;
        bweStats.capacityDropsUnconfirmed++;
        this.dropEvidenceBps = 0;
      }
      return;
    }
    const delivered = this.fbRecvBps > 0 ? this.fbRecvBps : this.acked.recentRate(RECENT_WINDOW_MS);
    const sent = this.sentRate(nowMs);
    if (!(delivered > 0 && delivered < DROP_DELIVERED_SHARE * sent && AIMD_BETA * delivered < this.aimd.bps)) return;
    // A link that dropped keeps filling its buffer until it overflows: the queue still rises, or packets are
    // lost. Jitter that bunches packets (Wi-Fi, a busy relay) makes the same first sign and then neither.
    // And over the last 200 ms, not just within one feedback, under half of what we sent arrived: jitter
    // bunches one feedback's packets into a trickle, the next into a burst, but over a few feedbacks delivers
    // what was sent (two 50 ms trickles in a row under 50 ms jitter cut 2.2 Mbit/s to 634k, then to 321k).
    const worse =
      (this.queueMs >= this.dropEvidenceQueueMs + DROP_QUEUE_RISE_MS || fbLoss >= DROP_CONFIRM_LOSS) &&
      this.acked.recentRate(RECENT_WINDOW_MS) < DROP_DELIVERED_SHARE * sent;
    if (!pending || !worse || Math.min(delivered, this.dropEvidenceBps) < DROP_AGREE * Math.max(delivered, this.dropEvidenceBps)) {
      // The first sign, or a second that does not confirm it: this one becomes the evidence to confirm.
      if (pending) {
        this.dropsUnconfirmed++;
        bweStats.capacityDropsUnconfirmed++;
      }
      this.dropEvidenceBps = delivered;
      this.dropEvidenceMs = nowMs;
      this.dropEvidenceQueueMs = this.queueMs;
      return;
    }
    this.aimd.limitTo(AIMD_BETA * Math.max(delivered, this.dropEvidenceBps));
    this.capacityDrops++;
    bweStats.capacityDrops++;
    this.dropEvidenceBps = 0;
  }

  /** In a release burst's aftermath with a shallow queue: delay evidence is the stall's (see RELEASE_BURST_COMPRESSION). */
  private stalled(nowMs: number): boolean {
    return nowMs < this.stallUntilMs && this.queueMs < STALL_MAX_QUEUE_MS;
  }

  /** The path's delay moved: today's least delay is its base (queue 0), and the standing-queue count restarts. */
  private rebase(): void {
    const min = this.queueMs + Math.min(this.baseCur, this.basePrev);
    this.baseCur = this.basePrev = min;
    this.queueMs = 0;
    this.prevQueueMs = 0;
    this.queueStreak = 0;
    this.lastDrainMs = -Infinity;
    this.rebases++;
    bweStats.rebases++;
  }

  /** What we sent over the last RECENT_WINDOW_MS (bps), from the 50 ms buckets. */
  private sentRate(nowMs: number): number {
    this.advanceSent(nowMs);
    const k = Math.ceil(RECENT_WINDOW_MS / SENT_BUCKET_MS);
    let bytes = 0;
    for (let i = 0; i < k; i++) bytes += this.sentBuckets[(this.sentBucket - i + SENT_BUCKETS * 4) % SENT_BUCKETS];
    return (bytes * 8000) / (k * SENT_BUCKET_MS);
  }

  private advanceSent(nowMs: number): void {
    const b = Math.floor(nowMs / SENT_BUCKET_MS);
    if (this.sentBucket < 0) this.sentBucket = b;
    const steps = Math.min(SENT_BUCKETS, b - this.sentBucket);
    for (let i = 1; i <= steps; i++) this.sentBuckets[(this.sentBucket + i) % SENT_BUCKETS] = 0;
    if (b > this.sentBucket) this.sentBucket = b;
  }

  /** One feedback's smallest one-way delay against the path's base (see QUEUE_MS). */
  private trackQueue(n: number, nowMs: number): void {
    let min = Infinity;
    let max = -Infinity;
    let first = Infinity;
    let last = -Infinity;
    let firstSent = Infinity;
    let lastSent = -Infinity;
    let lastSentOwd = 0;
    let bytes = 0;
    let firstSize = 0;
    for (let i = 0; i < n; i++) {
      const owd = this.sArr[i] - this.sSend[i];
      if (owd < min) min = owd;
      if (owd > max) max = owd;
      const a = this.sArr[i];
      if (a < first) (first = a), (firstSize = this.sSize[i]);
      if (a > last) last = a;
      if (this.sSend[i] < firstSent) firstSent = this.sSend[i];
      if (this.sSend[i] > lastSent) (lastSent = this.sSend[i]), (lastSentOwd = owd);
      bytes += this.sSize[i];
    }
    // Received rate of this feedback's packets (the first one only opens the interval).
    this.fbRecvBps = n >= 4 && last - first >= 20 ? ((bytes - firstSize) * 8000) / (last - first) : 0;
    if (nowMs - this.baseWindowStart >= BASE_WINDOW_MS) {
      this.basePrev = this.baseCur;
      this.baseCur = Infinity;
      this.baseWindowStart = nowMs;
    }
    if (min < this.baseCur) this.baseCur = min;
    const base = Math.min(this.baseCur, this.basePrev);
    this.queueMs = Math.max(0, min - base);
    const sendSpan = lastSent - firstSent;
    if (n >= 4 && sendSpan >= STALL_MIN_SEND_SPAN_MS && last - first <= RELEASE_BURST_COMPRESSION * sendSpan && max - base >= STALL_MIN_PEAK_MS) {
      this.stallUntilMs = nowMs + STALL_HOLD_MS;
      this.stallReleases++;
      // Every packet of a release waited for it, so its least delay is no queue: what the last one sent
      // found is what the path holds now.
      this.queueMs = Math.max(0, lastSentOwd - base);
      if (this.queueMs <= QUEUE_MS) this.queueStreak = 0;
    }
    this.queueStreak = this.queueMs > QUEUE_MS ? this.queueStreak + 1 : 0;
  }

  onRemb(bps: number, nowMs: number): void {
    if (bps > 0 && Number.isFinite(bps)) {
      this.rembBps = bps;
      this.combine(nowMs);
    }
  }

  onRtt(rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return;
    this.aimd.rttMs = rttMs;
    this.loss.rttMs = rttMs;
  }

  estimate(nowMs: number): number {
    const t = this.feedbackTimeoutMs;
    if (t > 0 && this.lastFeedbackMs >= 0 && this.lastSentMs > this.lastFeedbackMs) {
      const since = nowMs - Math.max(this.lastFeedbackMs, this.lastTimeoutCutMs);
      if (since >= t) {
        this.aimd.scale(0.5);
        this.loss.scale(0.5);
        this.lastTimeoutCutMs = nowMs;
        this.combine(nowMs);
      }
    }
    return this.current;
  }

  /** Loss fraction of the last completed loss window (0..1); cheap, unlike stats(). */
  get lossFraction(): number {
    return this.loss.lossFraction;
  }

  /** The delay-based estimate alone (bps): what the link carries by its queue, whatever loss says. */
  get delayBasedBps(): number {
    return this.aimd.bps;
  }

  /** Received rate measured from feedback (bps), 0 until known: for the allocator and the prober. */
  ackedBitrate(): number {
    return this.ackedBps;
  }

  /** Convenience for the sender loop: the prober's decision for the current estimate. */
  planProbe(nowMs: number, wantedBps: number): ProbeCluster | null {
    // Right after a cut the path is full: a probe would only add to the queue it is draining.
    if (!this.prober || nowMs - this.lastCutMs < PROBE_AFTER_CUT_MS) return null;
    return this.prober.plan(nowMs, this.estimate(nowMs), wantedBps, this.jitterMs);
  }

  stats(): BweStats {
    return {
      kind: 'transport-cc',
      estimateBps: this.current,
      state: this.aimd.lastAction,
      signal: this.trend.signal,
      delayTrend: this.trend.trend,
      threshold: this.trend.threshold,
      lossFraction: this.loss.lossFraction,
      ackedBps: this.ackedBps,
      delayBasedBps: this.aimd.bps,
      lossBasedBps: this.loss.bps,
      feedbacks: this.feedbacks,
      probesApplied: this.probesApplied,
      probesEvaluated: this.prober ? this.prober.stats.clustersEvaluated : 0,
    };
  }

  private combine(nowMs: number): void {
    const v = Math.min(this.maxBps, Math.max(this.minBps, Math.min(this.aimd.bps, this.loss.bps, this.rembBps)));
    if (v < this.current) this.lastCutMs = nowMs;
    this.current = v;
  }

  private ensureScratch(n: number): void {
    if (n <= this.sSend.length) return;
    let cap = this.sSend.length;
    while (cap < n) cap *= 2;
    this.sSend = new Float64Array(cap);
    this.sArr = new Float64Array(cap);
    this.sSize = new Float64Array(cap);
    this.sCluster = new Int32Array(cap);
    this.sOrder = new Int32Array(cap);
  }
}
