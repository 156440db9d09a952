import { MODES, type Mode } from '../sdk/protocol.ts';
import type { ProximaClient } from '../sdk/proxima-client.ts';

const LABELS: Record<Mode, string> = { normal: 'Normal', quiet: 'Quiet', ghost: 'Ghost', dnd: 'Do not disturb' };
const TITLES: Record<Mode, string> = {
  normal: 'See and hear whoever is near',
  quiet: 'Only people right next to you',
  ghost: 'Pass through without being seen or heard',
  dnd: 'Nobody connects to you',
};

/** The bottom bar: mode switch, the spotlight toggle (when the token grants it), what is published. */
export class Toolbar {
  private readonly modeButtons = new Map<Mode, HTMLButtonElement>();
  private readonly spot: HTMLButtonElement;
  private readonly media: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly client: ProximaClient,
    onError: (message: string) => void,
  ) {
    const seg = document.createElement('div');
    seg.className = 'segmented';
    seg.setAttribute('role', 'group');
    seg.setAttribute('aria-label', 'mode');
    for (const m of MODES) {
      const b = document.createElement('button');
      b.className = `mode-${m}`;
      b.dataset.mode = m;
      b.textContent = LABELS[m];
      b.title = TITLES[m];
      b.onclick = () => void client.setMode(m).catch((e: Error) => onError(e.message));
      this.modeButtons.set(m, b);
      seg.appendChild(b);
    }
    this.spot = document.createElement('button');
    this.spot.className = 'solo';
    this.spot.id = 'spotlight';
    this.spot.textContent = '★ Spotlight';
    this.spot.title = 'Everyone in the space sees and hears you';
    this.spot.hidden = true;
    this.spot.onclick = () => void client.spotlight(!client.self?.spotlit).catch((e: Error) => onError(e.message));
    this.media = document.createElement('span');
    this.media.className = 'media';
    const hint = document.createElement('span');
    hint.className = 'hint';
    hint.textContent = 'Arrows / WASD to step · click to walk';
    root.append(seg, this.spot, this.media, hint);
    this.refresh();
  }

  setMedia(text: string): void {
    this.media.innerHTML = '';
    const b = document.createElement('b');
    b.textContent = '●';
    this.media.append(b, ` ${text}`);
  }

  refresh(): void {
    const self = this.client.self;
    for (const [m, b] of this.modeButtons) b.setAttribute('aria-pressed', String(self?.mode === m));
    this.spot.hidden = !this.client.grants.spotlight;
    this.spot.setAttribute('aria-pressed', String(!!self?.spotlit));
  }
}
