import type { PeerStats } from '../sdk/peer-stats.ts';
import type { ProximaClient, RemoteTrackEvent } from '../sdk/proxima-client.ts';
import { colorFor, initials } from './palette.ts';

interface Bubble {
  root: HTMLElement;
  video: HTMLVideoElement;
  label: HTMLElement;
  quality: HTMLElement;
  gain: HTMLElement;
  videoTrack: MediaStreamTrack | null;
}

/**
 * The strip of video bubbles: you first, then everyone you receive (by link priority), each with a name and a
 * quality overlay (kbps, loss, RTT) refreshed from the SDK's per-peer stats.
 */
export class VideoStrip {
  private readonly bubbles = new Map<string, Bubble>();
  private self: Bubble | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly client: ProximaClient,
    private readonly onVideo: (el: HTMLVideoElement, publisherId: string) => void,
    private readonly onVideoEnded: (el: HTMLVideoElement) => void,
  ) {}

  setLocal(stream: MediaStream, id: string, name: string): void {
    const b = this.self ?? (this.self = this.make(id, name));
    b.root.classList.add('self');
    b.root.dataset.self = '1';
    b.video.muted = true;
    const v = stream.getVideoTracks()[0];
    if (v) {
      b.video.srcObject = new MediaStream([v]);
      b.root.classList.add('has-video');
    }
    b.quality.hidden = true;
    this.root.prepend(b.root);
    this.refresh();
  }

  addTrack(e: RemoteTrackEvent): void {
    const b = this.bubbleFor(e.publisherId);
    if (e.track.kind !== 'video') return;
    b.videoTrack = e.track;
    b.video.srcObject = new MediaStream([e.track]);
    b.root.classList.add('has-video');
    this.onVideo(b.video, e.publisherId);
  }

  removeTrack(e: RemoteTrackEvent): void {
    const b = this.bubbles.get(e.publisherId);
    if (!b) return;
    if (b.videoTrack === e.track) {
      b.videoTrack = null;
      b.video.srcObject = null;
      this.onVideoEnded(b.video);
      b.root.classList.remove('has-video');
    }
    this.refresh();
  }

  /** Names, spotlight, gain, order; and bubbles for people no longer linked nor sending go away. */
  refresh(): void {
    const c = this.client;
    if (this.self && c.self) {
      this.self.label.textContent = 'You';
      this.self.label.title = c.self.name;
      this.self.root.classList.toggle('spotlit', c.self.spotlit);
    }
    for (const [id, b] of this.bubbles) {
      if (!c.links.has(id) && c.tracksOf(id).length === 0) {
        b.root.remove();
        this.bubbles.delete(id);
        this.onVideoEnded(b.video);
      }
    }
    for (const id of c.links.keys()) if (id !== c.participantId) this.bubbleFor(id);
    const order = [...this.bubbles.entries()].sort(([a], [b]) => (c.links.get(b)?.priority ?? -1) - (c.links.get(a)?.priority ?? -1));
    // Order with CSS, never by moving nodes: a <video> taken out of the document pauses (a visible freeze).
    let rank = 1;
    for (const [id, b] of order) {
      b.root.style.order = String(rank++);
      const p = c.people.get(id);
      b.label.textContent = p?.name ?? c.publishers.get(id)?.name ?? id;
      (b.root.querySelector('.avatar') as HTMLElement).textContent = initials(b.label.textContent);
      b.root.classList.toggle('spotlit', !!p?.spotlit);
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

  private bubbleFor(id: string): Bubble {
    let b = this.bubbles.get(id);
    if (!b) {
      b = this.make(id, this.client.people.get(id)?.name ?? id);
      this.bubbles.set(id, b);
      this.root.appendChild(b.root);
    }
    return b;
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
    root.append(avatar, video, label, quality, gain);
    return { root, video, label, quality, gain, videoTrack: null };
  }
}
