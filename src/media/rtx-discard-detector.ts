/**
 * Tells, per subscriber, whether its receiver throws our RTX away (issue 13: Pion 3.1 discards RTX payloads,
 * so a repair never arrives and it NACKs the same sequence numbers again and again). The evidence is a NACK
 * for a packet we already repaired by RTX, long enough ago that the repair had arrived (an RTT and a margin):
 * an "unheeded" repair. Each packet counts once, however often it is NACKed again.
 *
 * A working receiver also re-NACKs now and then: a repair can be lost too. On a lossy path every repair goes
 * out twice (PacedSender.lossy), so both copies are lost ~p² of the time; even at 20 % random loss with single
 * copies that is a fifth of the repairs. A receiver that discards RTX re-NACKs every one. So it takes both
 * UNHEEDED_MIN_PACKETS unheeded repairs and UNHEEDED_SHARE of the packets repaired in the same window.
 *
 * The second, faster evidence is its transport-wide feedback: it reports (nearly) every packet on an RTX
 * SSRC lost — repairs and probe padding alike — while the media beside them arrive. Probe padding starts
 * with the connection, so this usually decides within the first seconds, before any media loss, and before
 * the "lost" RTX has cut the loss-based estimate under the video (issue 13: paused for good, since a paused
 * video gives no NACKs and its probes were discarded too). On a congested or lossy path RTX and media are
 * lost alike; here RTX_LOST_SHARE of at least RTX_MIN_PACKETS RTX packets while media lose under
 * MEDIA_LOST_MAX_SHARE, judged every FEEDBACK_WINDOW_MS; a window with fewer RTX packets is extended (up to
 * FEEDBACK_MAX_WINDOW_MS): periodic probe clusters of ~10 packets every 1–2 s are all a paused video sends.
 *
 * Pure logic on injected times; the consumers report to the one detector of their subscribe session. Nothing
 * allocates.
 */

/**
 * Unheeded repairs needed: a lost repair is rare, five in one window are not chance. At 2 % loss of a
 * ~60 packet/s video (~1.2 losses a second) this is reached in about 4 s.
 */
export const UNHEEDED_MIN_PACKETS = 5;
/** …and at least this share of the packets repaired in the window (a discarding receiver: ~all of them). */
export const UNHEEDED_SHARE = 0.5;
/**
 * Evidence is counted in two consecutive windows of this length (the current and the previous one): long
 * enough to see UNHEEDED_MIN_PACKETS at low loss rates, short enough that old noise does not add up.
 */
export const UNHEEDED_WINDOW_MS = 4000;
/** A repair counts as unheeded only this long (plus the RTT) after it left: its NACK may have crossed it. */
export const REPAIR_GRACE_MS = 20;
/** RTX packets (repairs and padding) a feedback window needs before it may decide: a probe cluster or two. */
export const RTX_MIN_PACKETS = 20;
/** …of which feedback reported at least this share lost (a discarding receiver: all but those not yet reported)… */
export const RTX_LOST_SHARE = 0.8;
/** …while media packets sent in the same window lost less than this (loss that hits everything is the path's). */
export const MEDIA_LOST_MAX_SHARE = 0.2;
export const FEEDBACK_WINDOW_MS = 2000;
/**
 * A window in which the path showed a queue this deep decides nothing: probe padding bursts into a link
 * running full are lost at its tail while the media beside them mostly pass (a 300 kbit/s cap with a 250 ms
 * buffer looked exactly like a discarding receiver and cost a Chromium its RTX and its probes).
 */
export const CONGESTED_QUEUE_MS = 80;
/**
 * Nor does a repair NACKed again within this long of such a queue: a link running full drops repairs at its
 * tail and holds the rest past any RTT the receiver waits before asking again (a Chromium behind a 300 kbit/s
 * cap was taken for a discarding receiver by its re-NACKs and lost RTX, and with it its probes, for good).
 */
export const CONGESTED_MEMORY_MS = 2000;
export const FEEDBACK_MAX_WINDOW_MS = 10_000;
/** RTT assumed before one was measured. */
const UNKNOWN_RTT_MS = 100;

export class RtxDiscardDetector {
  /** Once set it stays: the subscriber gets repairs in the original stream from then on. */
  discarding = false;
  /** Called once, when `discarding` becomes true. */
  onDetected: (() => void) | null = null;
  /** Totals since creation (for logs and tests). */
  repairs = 0;
  unheeded = 0;
  private windowStart = -Infinity;
  private curRepairs = 0;
  private curUnheeded = 0;
  private prevRepairs = 0;
  private prevUnheeded = 0;
  // Counter values (RTX sent/lost, media sent/lost) when the current feedback window began.
  private fbStart = -Infinity;
  private fbRtxSent = 0;
  private fbRtxLost = 0;
  private fbMediaSent = 0;
  private fbMediaLost = 0;

  /** How long after a repair left a NACK of the same packet says the repair was not used. */
  judgeMs(rttMs: number): number {
    return (rttMs > 0 ? rttMs : UNKNOWN_RTT_MS) + REPAIR_GRACE_MS;
  }

  /** The first RTX of a packet went out. */
  onRepairSent(nowMs: number): void {
    this.roll(nowMs);
    this.repairs++;
    if (nowMs - this.congestedAtMs >= CONGESTED_MEMORY_MS) this.curRepairs++;
  }

  /** A packet repaired by RTX at least judgeMs() ago was NACKed again (call once per packet). */
  onUnheededRepair(nowMs: number): void {
    this.roll(nowMs);
    this.unheeded++;
    if (this.discarding || nowMs - this.congestedAtMs < CONGESTED_MEMORY_MS) return;
    this.curUnheeded++;
    const unheeded = this.curUnheeded + this.prevUnheeded;
    const repairs = this.curRepairs + this.prevRepairs;
    if (unheeded >= UNHEEDED_MIN_PACKETS && unheeded >= UNHEEDED_SHARE * repairs) {
      this.discarding = true;
      this.onDetected?.();
    }
  }

  /**
   * Media loop: running totals of packets sent on RTX SSRCs and on media SSRCs, and of those transport-wide
   * feedback reported lost. Judged once per FEEDBACK_WINDOW_MS.
   */
  judgeFeedback(nowMs: number, rtxSent: number, rtxLost: number, mediaSent: number, mediaLost: number, queueMs = 0): void {
    if (queueMs >= CONGESTED_QUEUE_MS) {
      this.fbCongested = true;
      this.congestedAtMs = nowMs;
    }
    if (nowMs - this.fbStart < FEEDBACK_WINDOW_MS) return;
    const rs = rtxSent - this.fbRtxSent;
    const rl = rtxLost - this.fbRtxLost;
    const ms = mediaSent - this.fbMediaSent;
    const ml = mediaLost - this.fbMediaLost;
    const judged = this.fbStart !== -Infinity;
    // Too few RTX packets to tell yet: keep counting into this window (unless it is old).
    if (judged && rs < RTX_MIN_PACKETS && nowMs - this.fbStart < FEEDBACK_MAX_WINDOW_MS) return;
    this.fbStart = nowMs;
    this.fbRtxSent = rtxSent;
    this.fbRtxLost = rtxLost;
    this.fbMediaSent = mediaSent;
    this.fbMediaLost = mediaLost;
    const congested = this.fbCongested;
    this.fbCongested = false;
    if (!judged || this.discarding || congested) return;
    if (rs >= RTX_MIN_PACKETS && rl >= RTX_LOST_SHARE * rs && ml < MEDIA_LOST_MAX_SHARE * ms) {
      this.byFeedback = true;
      this.discarding = true;
      this.onDetected?.();
    }
  }

  /** Whether transport-wide feedback decided (else repeated NACKs did). */
  byFeedback = false;
  /** The path showed a queue in the current feedback window (see CONGESTED_QUEUE_MS), and when it last did. */
  private fbCongested = false;
  private congestedAtMs = -Infinity;

  private roll(nowMs: number): void {
    if (nowMs - this.windowStart < UNHEEDED_WINDOW_MS) return;
    const gap = nowMs - this.windowStart >= 2 * UNHEEDED_WINDOW_MS;
    this.prevRepairs = gap ? 0 : this.curRepairs;
    this.prevUnheeded = gap ? 0 : this.curUnheeded;
    this.curRepairs = 0;
    this.curUnheeded = 0;
    this.windowStart = nowMs;
  }
}
