import type { PeerStats } from '../sdk/peer-stats.ts';
import { sourceOf, type TrackInfo } from '../sdk/protocol.ts';
import type { ProximaClient, RemoteTrackEvent, UplinkStats } from '../sdk/proxima-client.ts';
import { describeUplink } from '../sdk/uplink-stats.ts';
import { colorFor, initials } from './palette.ts';

interface Bubble {
  root: HTMLElement;
  video: HTMLVideoElement;
  label: HTMLElement;
  quality: HTMLElement;
  /** The server's connection-quality level (src/quality): theirs sending, or yours both ways. */
  score: HTMLElement;
  gain: HTMLElement;
  videoTrack: MediaStreamTrack | null;
}

/**
 * The strip of video bubbles: you first, then everyone you receive (by link priority), each with a name, a
 * quality overlay (kbps, loss, RTT), a speaking ring and muted-microphone / camera-off marks. A shared screen
 * is a tile of its own, larger, next to its owner. Your own tile shows your uplink (bitrate, simulcast
 * layers sending, what limits the encoder).
 */
export class VideoStrip {
  private readonly bubbles = new Map<string, Bubble>();
  /** Screen tiles by publisher id (yours under your id). */
  private readonly screens = new Map<string, Bubble>();
  private self: Bubble | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly client: ProximaClient,
    private readonly onVideo: (el: HTMLVideoElement, publisherId: string) => void,
    private readonly onVideoEnded: (el: HTMLVideoElement) => void,
  ) {}

  /** Your own tile (before publishing: the avatar only). */
  setLocal(id: string, name: string): void {
    const b = this.self ?? (this.self = this.make(id, name));
    b.root.classList.add('self');
    b.root.dataset.self = '1';
    b.quality.classList.add('uplink');
    b.quality.textContent = '';
    this.root.prepend(b.root);
    this.refreshLocal();
  }

  /** Your camera and screen as they are now (after a mute, a device switch, a share). */
  refreshLocal(): void {
    const b = this.self;
    if (!b) return;
    const cam = this.client.localTrack('camera');
    const camOn = cam !== null && !this.client.isMuted('video');
    if (cam !== b.videoTrack) {
      b.videoTrack = cam;
      b.video.srcObject = cam ? new MediaStream([cam]) : null;
    }
    b.root.classList.toggle('has-video', camOn);
    b.root.classList.toggle('cam-off', !camOn);
    b.root.classList.toggle('mic-muted', this.client.localTrack('microphone') === null || this.client.isMuted('audio'));
    const screen = this.client.localTrack('screen');
    const id = b.root.dataset.participant!;
    if (screen) {
      const s = this.screenTile(id, 'Your screen');
      s.root.dataset.self = '1';
      if (s.videoTrack !== screen) {
        s.videoTrack = screen;
        s.video.srcObject = new MediaStream([screen]);
        s.root.classList.add('has-video');
      }
      s.root.style.order = '0';
    } else this.dropScreen(id);
  }

  addTrack(e: RemoteTrackEvent): void {
    if (e.track.kind !== 'video') {
      this.bubbleFor(e.publisherId);
      return;
    }
    const info = this.trackInfo(e.publisherId, e.trackId);
    const b = info && sourceOf(info) === 'screen' ? this.screenTile(e.publisherId, '') : this.bubbleFor(e.publisherId);
    b.videoTrack = e.track;
    b.video.srcObject = new MediaStream([e.track]);
    b.root.classList.add('has-video');
    this.onVideo(b.video, e.publisherId);
  }

  removeTrack(e: RemoteTrackEvent): void {
    const screen = this.screens.get(e.publisherId);
    if (screen?.videoTrack === e.track) this.dropScreen(e.publisherId);
    const b = this.bubbles.get(e.publisherId);
    if (b && b.videoTrack === e.track) {
      b.videoTrack = null;
      b.video.srcObject = null;
      this.onVideoEnded(b.video);
      b.root.classList.remove('has-video');
    }
    this.refresh();
  }

  /** Names, spotlight, gain, speaking, mutes, order; bubbles of people no longer linked nor sending go away. */
  refresh(): void {
    const c = this.client;
    if (this.self && c.self) {
      this.self.label.textContent = 'You';
      this.self.label.title = c.self.name;
      this.self.root.classList.toggle('spotlit', c.self.spotlit);
      this.self.root.classList.toggle('speaking', c.speaking.has(c.self.id));
      // Yours: the worse direction, and whose side it blames.
      const q = c.quality;
      const worst = [q?.down, q?.up].filter((x) => !!x).sort((a, b) => a!.score - b!.score)[0] ?? null;
      showScore(this.self, worst ? worst.level : null, worst ? `${worst.level} (${worst.score.toFixed(1)})${worst.cause ? ` · ${CAUSE_TEXT[worst.cause] ?? worst.cause}` : ''}` : '');
    }
    for (const [id, b] of this.bubbles) {
      if (!c.links.has(id) && c.tracksOf(id).length === 0) {
        b.root.remove();
        this.bubbles.delete(id);
        this.onVideoEnded(b.video);
        this.dropScreen(id);
      }
    }
    for (const id of c.links.keys()) if (id !== c.participantId) this.bubbleFor(id);
    const order = [...this.bubbles.entries()].sort(([a], [b]) => (c.links.get(b)?.priority ?? -1) - (c.links.get(a)?.priority ?? -1));
    // Order with CSS, never by moving nodes: a <video> taken out of the document pauses (a visible freeze).
    let rank = 1;
    for (const [id, b] of order) {
      b.root.style.order = String(rank++);
      const screen = this.screens.get(id);
      if (screen) screen.root.style.order = String(rank++);
      const p = c.people.get(id);
      const name = p?.name ?? c.publishers.get(id)?.name ?? id;
      b.label.textContent = name;
      (b.root.querySelector('.avatar') as HTMLElement).textContent = initials(name);
      if (screen) screen.label.textContent = `${name}’s screen`;
      b.root.classList.toggle('spotlit', !!p?.spotlit);
      b.root.classList.toggle('speaking', c.speaking.has(id));
      const tracks = c.publishers.get(id)?.tracks ?? [];
      const mic = tracks.find((t) => sourceOf(t) === 'microphone');
      const cam = tracks.find((t) => sourceOf(t) === 'camera');
      b.root.classList.toggle('mic-muted', !mic || mic.muted === true);
      b.root.classList.toggle('cam-off', !cam || cam.muted === true);
      const level = c.quality?.peers[id] ?? null;
      showScore(b, level, level ? `${name} sends: ${level}` : '');
      const gain = c.links.get(id)?.gain ?? 0;
      b.gain.style.width = `${Math.round(gain * 100)}%`;
      b.root.style.opacity = c.links.has(id) ? String(0.55 + 0.45 * gain) : '0.4';
    }
  }

  showStats(stats: Map<string, PeerStats>): void {
    for (const [id, b] of this.bubbles) {
      const s = stats.get(id);
      if (!s) {
        b.quality.textContent = 'no media';
        b.quality.className = 'quality';
        continue;
      }
      const rtt = s.rttMs === null ? '–' : `${Math.round(s.rttMs)}`;
      const res = s.video && s.video.frameWidth ? `${s.video.frameWidth}×${s.video.frameHeight} ` : '';
      b.quality.textContent = `${res}${Math.round(s.kbps)} kbps\n${s.lossPct.toFixed(1)}% loss · ${rtt} ms`;
      b.quality.className = `quality ${s.lossPct > 5 || (s.rttMs ?? 0) > 300 ? 'poor' : s.lossPct > 1 || (s.rttMs ?? 0) > 150 ? 'fair' : 'good'}`;
    }
  }

  /** Your uplink on your own tile: rate, layers (q h f; … = on but not sending yet, ✕ = off), limitation. */
  showUplink(u: UplinkStats | null): void {
    const b = this.self;
    if (!b) return;
    if (!u) {
      b.quality.textContent = '';
      b.quality.className = 'quality uplink';
      return;
    }
    const mid = this.client.localMid('camera') ?? undefined;
    b.quality.textContent = `↑ ${describeUplink(u, mid)}`;
    b.quality.className = `quality uplink ${u.qualityLimitationReason === 'none' ? 'good' : u.qualityLimitationReason === 'bandwidth' ? 'fair' : 'poor'}`;
  }

  private trackInfo(publisherId: string, trackId: string): TrackInfo | undefined {
    return this.client.publishers.get(publisherId)?.tracks.find((t) => t.trackId === trackId);
  }

  private bubbleFor(id: string): Bubble {
    let b = this.bubbles.get(id);
    if (!b) {
      b = this.make(id, this.client.people.get(id)?.name ?? id);
      this.bubbles.set(id, b);
      this.root.appendChild(b.root);
    }
    return b;
  }

  private screenTile(id: string, label: string): Bubble {
    let s = this.screens.get(id);
    if (!s) {
      s = this.make(id, label);
      s.root.classList.add('screen');
      s.root.dataset.source = 'screen';
      s.quality.hidden = true;
      s.gain.hidden = true;
      s.root.querySelector('.avatar')!.textContent = '';
      this.screens.set(id, s);
      this.root.appendChild(s.root);
    }
    return s;
  }

  private dropScreen(id: string): void {
    const s = this.screens.get(id);
    if (!s) return;
    this.onVideoEnded(s.video);
    s.video.srcObject = null;
    s.root.remove();
    this.screens.delete(id);
  }

  private make(id: string, name: string): Bubble {
    const root = document.createElement('div');
    root.className = 'bubble';
    root.dataset.participant = id;
    const avatar = document.createElement('div');
    avatar.className = 'avatar';
    avatar.style.background = `linear-gradient(135deg, ${colorFor(id, 38)}, ${colorFor(id, 24)})`;
    avatar.textContent = initials(name);
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // audio plays through the SDK's gain-controlled elements
    video.dataset.publisher = id;
    const label = document.createElement('div');
    label.className = 'label';
    label.textContent = name;
    const quality = document.createElement('div');
    quality.className = 'quality';
    quality.textContent = '…';
    const gain = document.createElement('div');
    gain.className = 'gain';
    // Shown by CSS from the bubble's classes: .mic-muted, .cam-off.
    const micOff = document.createElement('div');
    micOff.className = 'mic-off';
    micOff.title = 'microphone muted';
    micOff.setAttribute('aria-label', 'microphone muted');
    micOff.innerHTML = MIC_OFF_SVG;
    const camOff = document.createElement('div');
    camOff.className = 'cam-off-badge';
    camOff.title = 'camera off';
    camOff.setAttribute('aria-label', 'camera off');
    camOff.innerHTML = CAM_OFF_SVG;
    const score = document.createElement('div');
    score.className = 'score';
    score.hidden = true;
    root.append(avatar, video, label, quality, score, gain, micOff, camOff);
    return { root, video, label, quality, score, gain, videoTrack: null };
  }
}

/** The server's causes (docs/quality.md) in plain words. */
const CAUSE_TEXT: Record<string, string> = {
  your_downlink: 'your connection (receiving)',
  your_uplink: 'your connection (sending)',
  their_uplink: 'their connection',
  your_device: 'your device',
  server: 'the server',
};

function showScore(b: Bubble, level: string | null, text: string): void {
  b.score.hidden = level === null;
  b.score.textContent = text;
  b.score.title = text;
  if (level === null) delete b.root.dataset.quality;
  else b.root.dataset.quality = level;
}

const MIC_OFF_SVG =
  '<svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="M9 9v2a3 3 0 0 0 5.1 2.1M15 10V5a3 3 0 0 0-5.9-.8"/><path d="M19 11a7 7 0 0 1-1.2 3.9M5 11a7 7 0 0 0 11.2 5.6M12 18v3"/><path d="M3 3l18 18"/></svg>';
const CAM_OFF_SVG =
  '<svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="M10.5 6H14a2 2 0 0 1 2 2v3.5l5-3v7.5M16 16a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2"/><path d="M3 3l18 18"/></svg>';
