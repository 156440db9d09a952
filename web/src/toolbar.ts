import { MODES, type Mode } from '../sdk/protocol.ts';
import type { LiveState, ProximaClient } from '../sdk/proxima-client.ts';

const LABELS: Record<Mode, string> = { normal: 'Normal', quiet: 'Quiet', ghost: 'Ghost', dnd: 'Do not disturb' };
const TITLES: Record<Mode, string> = {
  normal: 'See and hear whoever is near (up to 5 tiles)',
  quiet: 'Only the 8 tiles around you (diagonals too)',
  ghost: 'Pass through without being seen or heard',
  dnd: 'Nobody connects to you',
};

/** What the page publishes, for the media buttons and the live indicator. */
export interface MediaState {
  hasMic: boolean;
  hasCamera: boolean;
  sharing: boolean;
  /** Publishing is allowed and wanted (not `publish=0`, the token grants it). */
  canPublish: boolean;
}

export interface ToolbarActions {
  toggleMic(): void;
  toggleCamera(): void;
  toggleScreen(): void;
  toggleDevices(): void;
}

function button(cls: string, control: string, text: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = cls;
  b.dataset.control = control;
  b.textContent = text;
  b.title = title;
  return b;
}

/** The bottom bar: mic, camera, screen, devices; the mode switch; spotlight; whether media really flows. */
export class Toolbar {
  private readonly modeButtons = new Map<Mode, HTMLButtonElement>();
  private readonly spot: HTMLButtonElement;
  private readonly live: HTMLElement;
  private readonly mic: HTMLButtonElement;
  private readonly cam: HTMLButtonElement;
  private readonly screen: HTMLButtonElement;
  private readonly devices: HTMLButtonElement;
  private media: MediaState = { hasMic: false, hasCamera: false, sharing: false, canPublish: false };
  private lastLive: LiveState = { publishing: false, receiving: false };
  private note = '';

  constructor(
    root: HTMLElement,
    private readonly client: ProximaClient,
    onError: (message: string) => void,
    actions: ToolbarActions,
  ) {
    const mediaGroup = document.createElement('div');
    mediaGroup.className = 'controls';
    this.mic = button('ctl', 'mic', 'Mic', 'Mute or unmute your microphone (M)');
    this.cam = button('ctl', 'camera', 'Camera', 'Turn your camera off or on (V)');
    this.screen = button('ctl', 'screen', 'Share screen', 'Show your screen to the people near you');
    this.devices = button('ctl icon', 'devices', '⚙', 'Camera, microphone and speaker');
    this.devices.setAttribute('aria-label', 'devices');
    this.mic.onclick = () => actions.toggleMic();
    this.cam.onclick = () => actions.toggleCamera();
    this.screen.onclick = () => actions.toggleScreen();
    this.devices.onclick = () => actions.toggleDevices();
    mediaGroup.append(this.mic, this.cam, this.screen, this.devices);

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
    this.live = document.createElement('span');
    this.live.className = 'media';
    this.live.id = 'live';
    const hint = document.createElement('span');
    hint.className = 'hint';
    hint.textContent = 'Arrows / WASD to step · click to walk';
    root.append(mediaGroup, seg, this.spot, this.live, hint);
    this.refresh();
  }

  /** What is published changed (a track added, a share started or stopped). */
  setMedia(m: MediaState, note = ''): void {
    this.media = m;
    this.note = note;
    this.refresh();
  }

  /** The measured truth of what flows (client.liveState(), about once a second). */
  setLive(l: LiveState): void {
    this.lastLive = l;
    this.renderLive();
  }

  refresh(): void {
    const c = this.client;
    const self = c.self;
    for (const [m, b] of this.modeButtons) b.setAttribute('aria-pressed', String(self?.mode === m));
    this.spot.hidden = !c.grants.spotlight;
    this.spot.setAttribute('aria-pressed', String(!!self?.spotlit));
    const m = this.media;
    const micOff = c.isMuted('audio');
    const camOff = c.isMuted('video');
    this.mic.hidden = this.cam.hidden = this.screen.hidden = !m.canPublish;
    this.mic.disabled = !m.hasMic;
    this.cam.disabled = !m.hasCamera;
    this.mic.textContent = micOff ? 'Unmute' : 'Mute';
    this.mic.classList.toggle('off', micOff || !m.hasMic);
    this.mic.setAttribute('aria-pressed', String(micOff));
    this.cam.textContent = camOff || !m.hasCamera ? 'Start video' : 'Stop video';
    this.cam.classList.toggle('off', camOff || !m.hasCamera);
    this.cam.setAttribute('aria-pressed', String(camOff));
    this.screen.textContent = m.sharing ? 'Stop sharing' : 'Share screen';
    this.screen.setAttribute('aria-pressed', String(m.sharing));
    this.renderLive();
  }

  /**
   * Green "live" only when the publish connection is up and bytes leave; otherwise say what is true:
   * muted, connecting, not sending, receiving only.
   */
  private renderLive(): void {
    const c = this.client;
    const l = this.lastLive;
    const m = this.media;
    const sending = [m.hasMic && !c.isMuted('audio') ? 'mic' : '', m.hasCamera && !c.isMuted('video') ? 'camera' : '', m.sharing ? 'screen' : ''].filter(Boolean);
    let text: string;
    let state: string;
    if (!m.canPublish || (!m.hasMic && !m.hasCamera && !m.sharing)) {
      state = l.receiving ? 'receiving' : 'idle';
      text = this.note || (l.receiving ? 'receiving' : 'not publishing');
    } else if (sending.length === 0) {
      state = 'muted';
      text = 'muted';
    } else if (l.publishing) {
      state = 'live';
      text = `${sending.join(' + ')} live`;
    } else {
      state = c.publishPc?.connectionState === 'connected' ? 'stalled' : 'connecting';
      text = state === 'stalled' ? 'not sending' : 'connecting…';
    }
    this.live.dataset.state = state;
    this.live.dataset.publishing = String(l.publishing);
    this.live.dataset.receiving = String(l.receiving);
    this.live.replaceChildren(Object.assign(document.createElement('b'), { textContent: state === 'live' ? '●' : '○' }), ` ${text}`);
    this.live.title = `publishing: ${l.publishing ? 'media leaves' : 'nothing leaves'} · receiving: ${l.receiving ? 'media arrives' : 'nothing arrives'}`;
  }
}
