/**
 * One detached `<audio>` element per remote audio track, its volume set from the link gain of the person it
 * belongs to. HTMLMediaElement.volume is used rather than Web Audio: it applies to WebRTC audio in Chromium
 * (also headless with --autoplay-policy=no-user-gesture-required) without the AudioContext resume dance.
 * The elements are never inserted into the document; nothing is drawn.
 */
interface AudioEntry {
  publisherId: string;
  track: MediaStreamTrack;
  el: HTMLAudioElement;
}

export class PeerAudio {
  private readonly entries = new Map<MediaStreamTrack, AudioEntry>();
  private gains: Map<string, number> | null = null;
  private deafened = false;
  /** The audio output every element plays to ('' = the system default). */
  sinkId = '';

  /** Start playing `track` (an audio track received from `publisherId`). */
  add(publisherId: string, track: MediaStreamTrack): HTMLAudioElement {
    this.remove(track);
    const el = document.createElement('audio');
    el.autoplay = true;
    el.dataset.publisher = publisherId;
    el.srcObject = new MediaStream([track]);
    const entry = { publisherId, track, el };
    this.entries.set(track, entry);
    this.apply(entry);
    if (this.sinkId) void this.routeTo(el, this.sinkId);
    el.play().catch(() => undefined); // autoplay may need a gesture outside tests; volume still follows
    return el;
  }

  remove(track: MediaStreamTrack): void {
    const e = this.entries.get(track);
    if (!e) return;
    e.el.pause();
    e.el.srcObject = null;
    this.entries.delete(track);
  }

  /**
   * The whole set of gains (participant id → 0..1). Before the first call every peer plays at full volume
   * (explicit subscriptions); after it, someone absent from the set is silent.
   */
  setGains(gains: Map<string, number>): void {
    this.gains = gains;
    for (const e of this.entries.values()) this.apply(e);
  }

  /** Silence everything (e.g. do-not-disturb) without forgetting the gains. */
  setDeafened(on: boolean): void {
    this.deafened = on;
    for (const e of this.entries.values()) this.apply(e);
  }

  /** Whether this browser can choose the audio output (HTMLMediaElement.setSinkId). */
  static canChooseOutput(): boolean {
    return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
  }

  /** Play everything (now and later) on this output device; rejects where the browser cannot choose. */
  async setSinkId(deviceId: string): Promise<void> {
    if (!PeerAudio.canChooseOutput()) throw new Error('this browser cannot choose the audio output');
    this.sinkId = deviceId;
    await Promise.all([...this.entries.values()].map((e) => this.routeTo(e.el, deviceId)));
  }

  private routeTo(el: HTMLAudioElement, deviceId: string): Promise<void> {
    return (el as HTMLAudioElement & { setSinkId(id: string): Promise<void> }).setSinkId(deviceId);
  }

  gainOf(publisherId: string): number {
    if (this.deafened) return 0;
    if (!this.gains) return 1;
    return this.gains.get(publisherId) ?? 0;
  }

  elements(): Array<{ publisherId: string; trackId: string; el: HTMLAudioElement }> {
    return [...this.entries.values()].map((e) => ({ publisherId: e.publisherId, trackId: e.track.id, el: e.el }));
  }

  close(): void {
    for (const t of [...this.entries.keys()]) this.remove(t);
  }

  private apply(e: AudioEntry): void {
    e.el.volume = Math.min(1, Math.max(0, this.gainOf(e.publisherId)));
  }
}
