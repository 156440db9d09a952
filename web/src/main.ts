import { ProximaClient } from '../sdk/proxima-client.ts';
import { readParams } from './params.ts';
import { MapView } from './map-view.ts';
import { Movement } from './movement.ts';
import { VideoStrip } from './video-strip.ts';
import { Toolbar } from './toolbar.ts';
import { renderPeople } from './people-panel.ts';
import { FrameWatches } from './frame-watch.ts';
import { installAutomation } from './automation.ts';

/** The page: join from the URL parameters, publish camera and microphone, draw the space, wire the controls. */
const params = readParams(location.search);
const client = new ProximaClient(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`, {
  ...(params.region ? { region: params.region } : {}),
  chooseNode: params.region !== undefined || params.pick,
});
const $ = (id: string) => document.getElementById(id)!;
const statusEl = $('status');
const toastEl = $('toast');
const frames = new FrameWatches();

let toastTimer = 0;
function toast(message: string): void {
  toastEl.textContent = message;
  toastEl.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (toastEl.hidden = true), 3500);
}

const strip = new VideoStrip($('strip'), client, (el, id) => frames.watch(el, id), (el) => frames.unwatch(el));
const toolbar = new Toolbar($('toolbar'), client, toast);
const movement = new Movement(client, toast);
const view = new MapView($('map') as HTMLCanvasElement, () =>
  client.map && client.self ? { map: client.map, self: client.self, people: [...client.people.values()], links: client.links, target: movement.target } : null,
);
movement.attach($('map') as HTMLCanvasElement, (x, y) => view.tileAt(x, y));
movement.onTargetChange = () => view.invalidate();
view.start();
for (const ev of ['joined', 'peopleChanged', 'links', 'selfChanged'] as const) client.on(ev, () => view.invalidate());

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
client.on('error', (e) => {
  console.error(`proxima: ${e.message}`);
  toast(e.message);
});
client.on('closed', ({ code, reason }) => {
  statusEl.textContent = `disconnected (${code}${reason ? ` ${reason}` : ''})`;
  statusEl.classList.add('error');
});
client.on('reconnecting', () => {
  statusEl.textContent = 'node lost: moving to another node…';
});
client.on('reconnected', ({ ms }) => {
  statusEl.classList.remove('error');
  showStatus();
  toast(`moved to another node in ${Math.round(ms)} ms`);
  strip.refresh();
  refreshPeople();
});

async function openMedia(): Promise<MediaStream | null> {
  for (const c of [{ audio: true, video: params.video }, { audio: true }, { video: true }] as MediaStreamConstraints[]) {
    try {
      return await navigator.mediaDevices.getUserMedia(c);
    } catch {
      // try with less
    }
  }
  return null;
}

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
  if (params.publish && joined.grants?.publish !== false) {
    const stream = await openMedia();
    if (!stream) {
      toolbar.setMedia('no camera or microphone');
    } else {
      await client.publish(stream, { simulcast: params.simulcast });
      strip.setLocal(stream, joined.participantId, joined.self?.name ?? params.name);
      toolbar.setMedia([stream.getVideoTracks().length ? 'camera' : '', stream.getAudioTracks().length ? 'mic' : ''].filter(Boolean).join(' + ') + ' live');
    }
  } else {
    toolbar.setMedia(params.publish ? 'viewer (no publish grant)' : 'not publishing');
  }
  return joined.participantId;
})();

ready.catch((e: Error) => {
  statusEl.textContent = `error: ${e.message}`;
  statusEl.classList.add('error');
});

// The quality overlay, about once a second.
window.setInterval(() => {
  if (!client.subscribePc) return;
  void client.peerStats().then((s) => strip.showStats(s), () => undefined);
}, 1000);

installAutomation(client, ready, frames);
