/**
 * Whether a publisher is speaking, from the ssrc-audio-level its browser puts on every audio packet
 * (RFC 6464: 0 = 0 dBov loudest … 127 = silence). A smoothed share of loud packets turns it on; it turns
 * off only after a hangover without voice, so the pauses between words (or a beeping test tone) do not
 * flap it and re-prioritise everyone's links several times a second. Per packet: no allocation.
 */
export class VoiceActivity {
  speaking = false;
  private loudShare = 0;
  private quietPackets = 0;

  constructor(
    /** A packet at or above this loudness (≤ this many -dBov) counts as voice. */
    private readonly loudLevel = 50,
    /** Smoothing per packet (20 ms): ~0.15 reaches the on-threshold in ~100 ms of voice. */
    private readonly alpha = 0.15,
    private readonly onAt = 0.5,
    /** Packets without voice before speaking ends (50 × 20 ms = 1 s). */
    private readonly hangover = 50,
  ) {}

  /** Forget the history: a muted microphone sends nothing, so no quiet packet would end `speaking`. */
  reset(): void {
    this.speaking = false;
    this.loudShare = 0;
    this.quietPackets = 0;
  }

  /** One packet's level (0–127, voice bit ignored). Returns true when `speaking` changed. */
  onLevel(level: number): boolean {
    const loud = level <= this.loudLevel;
    this.loudShare += this.alpha * ((loud ? 1 : 0) - this.loudShare);
    this.quietPackets = loud ? 0 : this.quietPackets + 1;
    if (!this.speaking && this.loudShare >= this.onAt) return (this.speaking = true);
    if (this.speaking && this.quietPackets >= this.hangover) {
      this.speaking = false;
      return true;
    }
    return false;
  }
}
