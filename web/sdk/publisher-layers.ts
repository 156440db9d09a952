/**
 * Which simulcast layers of our camera are encoded: the server says which ones someone watches
 * (`videoLayers`, dynacast), and this device holds back the top one while its encoder is CPU-limited
 * (outbound-rtp `qualityLimitationReason: cpu`): one layer less to encode saves more than Chrome's own
 * resolution cuts. An uplink that cannot carry every layer needs nothing here: Chrome's simulcast rate
 * allocation stops encoding the top layers its estimate cannot cover and resumes them when it can, and the
 * server moves viewers off a layer that went quiet. A layer is active when it is wanted and not held back;
 * the lowest layer is never turned off here. Changes go through `RTCRtpSender.setParameters`, one at a time.
 */

/** Consecutive CPU-limited samples (one per report interval) before the top active layer is held back. */
const LIMIT_AFTER = 2;
/** A layer held back for CPU is tried again after this long. */
const CPU_HOLD_MS = 20_000;

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
  /** The server's wish per rid (all wanted until it says otherwise). */
  private readonly wanted: boolean[];
  /** Held back by this device, with the reason and since when. */
  private readonly held: Array<{ reason: 'cpu'; since: number } | null>;
  private cpuStreak = 0;
  private applying: Promise<void> = Promise.resolve();
  private applied: boolean[] | null = null;
  onError: (e: Error) => void = () => {};

  constructor(
    readonly trackId: string,
    private readonly sender: RTCRtpSender,
  ) {
    const enc = sender.getParameters().encodings ?? [];
    this.rids = enc.map((e, i) => e.rid ?? String(i));
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
  active(): Array<{ rid: string; active: boolean; heldFor: 'cpu' | null; wanted: boolean }> {
    return this.rids.map((rid, i) => ({ rid, active: this.isActive(i), heldFor: this.held[i]?.reason ?? null, wanted: this.wanted[i] }));
  }

  /** One stats sample (about every 2 s): hold back the top layer, or try a held one again. */
  sample(s: LayerSample): void {
    if (this.rids.length < 2) return;
    const top = this.topActive();
    const reason = top >= 0 ? s.byRid.get(this.rids[top])?.qualityLimitationReason : undefined;
    this.cpuStreak = reason === 'cpu' ? this.cpuStreak + 1 : 0;
    let changed = false;
    if (top > 0 && this.cpuStreak >= LIMIT_AFTER) {
      this.held[top] = { reason: 'cpu', since: s.nowMs };
      this.cpuStreak = 0;
      changed = true;
    }
    // Restore the lowest held layer after a while without CPU trouble.
    const next = this.held.findIndex((h) => h !== null);
    if (!changed && next >= 0 && s.nowMs - this.held[next]!.since >= CPU_HOLD_MS && reason !== 'cpu') {
      this.held[next] = null;
      changed = true;
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
