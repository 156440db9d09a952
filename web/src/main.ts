import { ProximaClient, type MediaErrorEvent } from '../sdk/proxima-client.ts';
import { sourceOf } from '../sdk/protocol.ts';
import { readParams } from './params.ts';
import { MapView } from './map-view.ts';
import { Movement } from './movement.ts';
import { VideoStrip } from './video-strip.ts';
import { Toolbar, type MediaState } from './toolbar.ts';
import { renderPeople } from './people-panel.ts';
import { FrameWatches } from './frame-watch.ts';
import { Notices } from './notices.ts';
import { DevicesPanel } from './devices-panel.ts';
import { installAutomation } from './automation.ts';
import { installConnectionStatus } from './connection-status.ts';

/** The page: join from the URL parameters, publish camera and microphone, draw the space, wire the controls. */
const params = readParams(location.search);
const client = new ProximaClient(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, {
  ...(params.region ? { region: params.region } : {}),
  chooseNode: params.region !== undefined || params.pick,
  failover: params.reconnect,
});
const $ = (id: string) => document.getElementById(id)!;
const statusEl = $('status');
const toastEl = $('toast');
const frames = new FrameWatches();
const notices = new Notices($('notices'));

let toastTimer = 0;
function toast(message: string): void {
  toastEl.textContent = message;
  toastEl.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (toastEl.hidden = true), 3500);
}

let media: MediaState = { hasMic: false, hasCamera: false, sharing: false, canPublish: false };
const currentMedia = (): MediaState => ({
  canPublish: media.canPublish,
  hasMic: client.localTrack('microphone') !== null,
  hasCamera: client.localTrack('camera') !== null,
  sharing: client.localTrack('screen') !== null,
});

const strip = new VideoStrip($('strip'), client, (el, id) => frames.watch(el, id), (el) => frames.unwatch(el));
const devices = new DevicesPanel(client, toast);
$('stage').appendChild(devices.el);
const fail = (e: Error) => toast(e.message);
const actions = {
  toggleMic: () => (media.hasMic ? void client.setMuted('audio', !client.isMuted('audio')).catch(fail) : void retry('microphone')),
  toggleCamera: () => (media.hasCamera ? void client.setMuted('video', !client.isMuted('video')).catch(fail) : void retry('camera')),
  toggleScreen: () => void (media.sharing ? client.stopScreen() : client.shareScreen().then(() => undefined)).catch(fail),
  toggleDevices: () => devices.toggle(),
};
const toolbar = new Toolbar($('toolbar'), client, toast, actions);
const movement = new Movement(client, toast);
/** Whose microphone is off: muted, or a publisher sending no audio at all. */
const micMuted = (id: string): boolean => {
  if (id === client.participantId) return media.canPublish && (!media.hasMic || client.isMuted('audio'));
  const pub = client.publishers.get(id);
  if (!pub || pub.tracks.length === 0) return false;
  const mic = pub.tracks.find((t) => sourceOf(t) === 'microphone');
  return !mic || mic.muted === true;
};
const view = new MapView($('map') as HTMLCanvasElement, () =>
  client.map && client.self
    ? { map: client.map, self: client.self, people: [...client.people.values()], links: client.links, target: movement.target, speaking: client.speaking, micMuted }
    : null,
);
movement.attach($('map') as HTMLCanvasElement, (x, y) => view.tileAt(x, y));
movement.onTargetChange = () => view.invalidate();
view.start();
for (const ev of ['joined', 'peopleChanged', 'links', 'selfChanged', 'speaking', 'tracksChanged', 'publisherJoined', 'publisherLeft', 'localTrack'] as const) client.on(ev, () => view.invalidate());

function showStatus(): void {
  const s = client.self;
  if (s) statusEl.textContent = `${s.name} · (${s.x}, ${s.y}) · ${s.mode} · hearing ${client.links.size}`;
}
const refreshPeople = () => renderPeople($('people'), client);

client.on('track', (e) => {
  strip.addTrack(e);
  strip.refresh();
});
client.on('trackEnded', (e) => strip.removeTrack(e));
client.on('links', () => {
  strip.refresh();
  refreshPeople();
  showStatus();
});
client.on('peopleChanged', () => {
  strip.refresh();
  refreshPeople();
});
client.on('selfChanged', () => {
  toolbar.refresh();
  strip.refresh();
  refreshPeople();
  showStatus();
});
client.on('speaking', () => strip.refresh());
client.on('quality', () => strip.refresh());
for (const ev of ['tracksChanged', 'publisherJoined', 'publisherLeft'] as const) client.on(ev, () => strip.refresh());
client.on('localTrack', () => {
  media = currentMedia();
  toolbar.setMedia(media);
  strip.refreshLocal();
});
client.on('mediaError', (e) => showMediaError(e));
client.on('error', (e) => {
  console.error(`proxima: ${e.message}`);
  toast(e.message);
});
// Signaling drops, reconnects, failed media connections: said on the page (src/connection-status.ts).
installConnectionStatus(client, { status: statusEl, toolbar: $('toolbar'), notices: document.getElementById('notices') ?? $('stage'), showStatus, toast });
client.on('reconnected', () => {
  strip.refresh();
  refreshPeople();
});

/** A blocked or missing device stays on screen, in plain words, with what can be done about it. */
function showMediaError(e: MediaErrorEvent): void {
  if (e.kind === 'camera' || e.kind === 'microphone') notices.show(e.kind, e.message, [{ label: 'Retry', run: () => void retry(e.kind as 'camera' | 'microphone') }]);
  else if (e.kind === 'speaker') notices.show('speaker', e.message, [{ label: 'Check again', run: () => void checkOutput() }]);
  else toast(e.message);
}

/** Ask for a camera or microphone again (after a denial was lifted, a device plugged in) and publish it. */
async function retry(kind: 'camera' | 'microphone'): Promise<void> {
  if (!media.canPublish || client.localTrack(kind)) return;
  const stream = await client.openMedia(kind === 'camera' ? { audio: false, video: params.video } : { audio: true, video: false });
  if (!stream) return; // the mediaError handler updated the notice
  notices.clear(kind);
  await client.publish(stream, { simulcast: params.simulcast, codec: params.codec }).catch(fail);
  media = currentMedia();
  toolbar.setMedia(media);
  strip.refreshLocal();
}

async function checkOutput(): Promise<void> {
  if (await client.checkAudioOutput().catch(() => true)) notices.clear('speaker');
}
navigator.mediaDevices?.addEventListener('devicechange', () => {
  void checkOutput();
  if (!devices.el.hidden) void devices.fill();
});

window.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement) return;
  if (!media.canPublish) return;
  if (e.key === 'm' || e.key === 'M') actions.toggleMic();
  if (e.key === 'v' || e.key === 'V') actions.toggleCamera();
});

const ready = (async () => {
  const spaceEl = $('space-name');
  spaceEl.replaceChildren('space ', Object.assign(document.createElement('b'), { textContent: params.space }));
  const joined = await client.join(params.space, params.name, { token: params.token, x: params.x, y: params.y, mode: params.mode });
  if (joined.map) spaceEl.append(` · ${joined.map.name}`);
  toolbar.refresh();
  refreshPeople();
  showStatus();
  if (params.maxVideos !== undefined || params.maxHeight !== undefined) client.setReceiveLimits({ maxVideos: params.maxVideos, maxHeight: params.maxHeight });
  ($('map') as HTMLCanvasElement).focus();
  void checkOutput();
  if (params.publish && joined.grants?.publish !== false) {
    media = { ...media, canPublish: true };
    strip.setLocal(joined.participantId, joined.self?.name ?? params.name);
    // Each device on its own if both fail: a blocked camera leaves the microphone (and a notice).
    const stream = await client.openMedia({ audio: true, video: params.video });
    if (stream) await client.publish(stream, { simulcast: params.simulcast, codec: params.codec });
    media = currentMedia();
    toolbar.setMedia(media);
    strip.refreshLocal();
  } else {
    toolbar.setMedia(media, params.publish ? 'viewer (no publish grant)' : 'not publishing');
  }
  return joined.participantId;
})();

ready.catch((e: Error) => {
  statusEl.textContent = `error: ${e.message}`;
  statusEl.classList.add('error');
});

// Overlays and the live indicator, about once a second, from measurements (getStats), never from intent.
window.setInterval(() => {
  if (client.subscribePc) void client.peerStats().then((s) => strip.showStats(s), () => undefined);
  if (client.publishPc) void client.uplinkStats().then((u) => strip.showUplink(u), () => undefined);
  void client.liveState().then((l) => toolbar.setLive(l), () => undefined);
}, 1000);

installAutomation(client, ready, frames, { labels: () => view.labels, notices: () => Array.from(document.querySelectorAll<HTMLElement>('.notice')).map((n) => ({ key: n.dataset.notice ?? '', text: n.querySelector('.text')?.textContent ?? '' })) });
