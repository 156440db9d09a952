/**
 * Which simulcast layers of our camera are encoded: the server says which ones someone watches
 * (`videoLayers`, dynacast), and this device may hold back the top ones when its own uplink or CPU cannot
 * carry them (Chrome reports why it limits quality in outbound-rtp `qualityLimitationReason`). A layer is
 * active when it is wanted and not held back; the lowest layer is never turned off here. Changes go through
 * `RTCRtpSender.setParameters`, one at a time.
 */

/** Consecutive limited samples (one per report interval) before the top active layer is held back. */
const LIMIT_AFTER = 2;
/** A layer held back for CPU is tried again after this long. */
const CPU_HOLD_MS = 20_000;
/** Uplink: hold back when the estimate stays below this share of the active layers' ceilings… */
const BANDWIDTH_LOW = 0.8;
/** …and bring one back when it covers this share of them with that layer, for RESTORE_AFTER samples. */
const BANDWIDTH_HIGH = 1.2;
const RESTORE_AFTER = 3;

export interface LayerSample {
  /** outbound-rtp of this sender, by rid. */
  byRid: Map<string, { qualityLimitationReason?: string; framesPerSecond?: number; frameHeight?: number; active?: boolean }>;
  /** The publish connection's availableOutgoingBitrate (bps), 0 when unknown. */
  availableOutgoingBitrate: number;
  nowMs: number;
}

export class PublisherLayers {
  /** Rids lowest first (as encoded), with their ceilings. */
  readonly rids: string[];
  private readonly maxBitrate: number[];
  /** The server's wish per rid (all wanted until it says otherwise). */
  private readonly wanted: boolean[];
  /** Held back by this device, with the reason and since when. */
  private readonly held: Array<{ reason: 'cpu' | 'bandwidth'; since: number } | null>;
  private cpuStreak = 0;
  private lowStreak = 0;
  private highStreak = 0;
  private applying: Promise<void> = Promise.resolve();
  private applied: boolean[] | null = null;
  onError: (e: Error) => void = () => {};

  constructor(
    readonly trackId: string,
    private readonly sender: RTCRtpSender,
  ) {
    const enc = sender.getParameters().encodings ?? [];
    this.rids = enc.map((e, i) => e.rid ?? String(i));
    this.maxBitrate = enc.map((e) => e.maxBitrate ?? 0);
    this.wanted = enc.map(() => true);
    this.held = enc.map(() => null);
  }

  /** The server's dynacast wish. Unknown rids are ignored. */
  setWanted(layers: ReadonlyArray<{ rid: string; active: boolean }>): void {
    for (const l of layers) {
      const i = this.rids.indexOf(l.rid);
      if (i >= 0) this.wanted[i] = l.active;
    }
    this.apply();
  }

  /** What is active now (wanted and not held back), by rid. */
  active(): Array<{ rid: string; active: boolean; heldFor: 'cpu' | 'bandwidth' | null; wanted: boolean }> {
    return this.rids.map((rid, i) => ({ rid, active: this.isActive(i), heldFor: this.held[i]?.reason ?? null, wanted: this.wanted[i] }));
  }

  /** One stats sample (about every 2 s): hold back or restore the top layer. */
  sample(s: LayerSample): void {
    if (this.rids.length < 2) return;
    const top = this.topActive();
    const reason = top >= 0 ? s.byRid.get(this.rids[top])?.qualityLimitationReason : undefined;
    this.cpuStreak = reason === 'cpu' ? this.cpuStreak + 1 : 0;
    const need = this.ceilingSum((i) => this.isActive(i));
    const aob = s.availableOutgoingBitrate;
    this.lowStreak = aob > 0 && need > 0 && aob < BANDWIDTH_LOW * need && reason === 'bandwidth' ? this.lowStreak + 1 : 0;
    let changed = false;
    if (top > 0 && (this.cpuStreak >= LIMIT_AFTER || this.lowStreak >= LIMIT_AFTER)) {
      this.held[top] = { reason: this.cpuStreak >= LIMIT_AFTER ? 'cpu' : 'bandwidth', since: s.nowMs };
      this.cpuStreak = this.lowStreak = this.highStreak = 0;
      changed = true;
    }
    // Restore the lowest held layer: CPU holds after a while, bandwidth holds when the uplink has room.
    const next = this.held.findIndex((h) => h !== null);
    if (!changed && next >= 0) {
      const h = this.held[next]!;
      const withIt = this.ceilingSum((i) => this.isActive(i) || i === next);
      this.highStreak = aob > BANDWIDTH_HIGH * withIt ? this.highStreak + 1 : 0;
      if ((h.reason === 'cpu' && s.nowMs - h.since >= CPU_HOLD_MS && reason !== 'cpu') || (h.reason === 'bandwidth' && this.highStreak >= RESTORE_AFTER)) {
        this.held[next] = null;
        this.highStreak = 0;
        changed = true;
      }
    }
    if (changed) this.apply();
  }

  private isActive(i: number): boolean {
    return i === 0 || (this.wanted[i] && this.held[i] === null);
  }

  private topActive(): number {
    for (let i = this.rids.length - 1; i >= 0; i--) if (this.isActive(i)) return i;
    return -1;
  }

  private ceilingSum(pick: (i: number) => boolean): number {
    let s = 0;
    for (let i = 0; i < this.rids.length; i++) if (pick(i)) s += this.maxBitrate[i];
    return s;
  }

  /** Serialised setParameters; a change while one is in flight is applied after it. */
  private apply(): void {
    this.applying = this.applying
      .then(async () => {
        const want = this.rids.map((_, i) => this.isActive(i));
        if (this.applied && want.every((a, i) => a === this.applied![i])) return;
        const p = this.sender.getParameters();
        if (!p.encodings || p.encodings.length !== want.length) return;
        p.encodings.forEach((e, i) => (e.active = want[i]));
        await this.sender.setParameters(p);
        this.applied = want;
      })
      .catch((e: Error) => this.onError(e));
  }
}
