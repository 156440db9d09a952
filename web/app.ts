import { ProximaClient, type PublisherInfo } from './sdk/proxima-client.ts';

/**
 * The page served at /: join a space, publish the camera, and subscribe to others with a click.
 * URL parameters: space (default "lobby"), name, publish (1/0, default 1), autosubscribe (1/0, default 0).
 * Automation surface for tests: window.proxima (see README).
 */
const params = new URLSearchParams(location.search);
const space = params.get('space') ?? 'lobby';
const name = params.get('name') ?? `guest-${Math.floor(Math.random() * 1000)}`;
const doPublish = params.get('publish') !== '0';
const autoSubscribe = params.get('autosubscribe') === '1';

const client = new ProximaClient(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
const statusEl = document.getElementById('status')!;
const controls = document.getElementById('controls')!;
const videos = document.getElementById('videos')!;
const elements = new Map<string, HTMLMediaElement>();

/** Per received video: frames shown and the longest gap between two of them (what a person sees as a freeze). */
interface FrameWatch {
  publisherId: string;
  frames: number;
  lastMs: number;
  maxGapMs: number;
}
const frameWatches: FrameWatch[] = [];

function watchFrames(el: HTMLVideoElement, publisherId: string): void {
  const w: FrameWatch = { publisherId, frames: 0, lastMs: 0, maxGapMs: 0 };
  frameWatches.push(w);
  const onFrame = (now: number) => {
    if (w.frames > 0) w.maxGapMs = Math.max(w.maxGapMs, now - w.lastMs);
    w.frames++;
    w.lastMs = now;
    el.requestVideoFrameCallback(onFrame);
  };
  el.requestVideoFrameCallback(onFrame);
}

client.on('track', ({ publisherId, track, stream }) => {
  const el = document.createElement(track.kind === 'video' ? 'video' : 'audio') as HTMLMediaElement;
  el.autoplay = true;
  (el as HTMLVideoElement).playsInline = true;
  el.dataset.publisher = publisherId;
  el.srcObject = new MediaStream([track]);
  void stream;
  videos.appendChild(el);
  elements.set(track.id, el);
  if (track.kind === 'video') watchFrames(el as HTMLVideoElement, publisherId);
  track.addEventListener('ended', () => el.remove());
});

function renderControls(): void {
  controls.replaceChildren();
  for (const p of client.publishers.values()) {
    const b = document.createElement('button');
    b.textContent = `watch ${p.name}`;
    b.onclick = () => void client.subscribe(p.participantId);
    controls.appendChild(b);
  }
}
const onPublisher = (p: PublisherInfo) => {
  renderControls();
  if (autoSubscribe) void client.subscribe(p.participantId);
};
client.on('publisherJoined', onPublisher);
client.on('tracksChanged', renderControls);
client.on('publisherLeft', renderControls);

async function statsSummary() {
  const out = { inbound: [] as Record<string, unknown>[], outbound: [] as Record<string, unknown>[], availableOutgoingBitrate: 0 };
  for (const pc of [client.subscribePc, client.publishPc]) {
    if (!pc) continue;
    const report = await pc.getStats();
    report.forEach((s: Record<string, unknown>) => {
      if (s.type === 'inbound-rtp') out.inbound.push(s);
      if (s.type === 'outbound-rtp') out.outbound.push(s);
      if (s.type === 'candidate-pair' && s.nominated && pc === client.publishPc && typeof s.availableOutgoingBitrate === 'number') {
        out.availableOutgoingBitrate = s.availableOutgoingBitrate;
      }
    });
  }
  return out;
}

const ready = (async () => {
  const joined = await client.join(space, name);
  statusEl.textContent = `joined ${space} as ${name} (${joined.participantId})`;
  renderControls();
  if (doPublish) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    await client.publish(stream);
    const self = document.createElement('video');
    self.muted = true;
    self.autoplay = true;
    self.srcObject = stream;
    videos.prepend(self);
  }
  if (autoSubscribe) for (const p of joined.publishers) await client.subscribe(p.participantId);
  return joined.participantId;
})();

ready.catch((e: Error) => {
  statusEl.textContent = `error: ${e.message}`;
});

Object.assign(window, {
  proxima: {
    ready,
    client,
    get participantId() {
      return client.participantId;
    },
    publishers: () => [...client.publishers.values()],
    subscribe: (id: string, trackIds?: string[]) => client.subscribe(id, trackIds),
    unsubscribe: (id: string, trackIds?: string[]) => client.unsubscribe(id, trackIds),
    leave: () => client.leave(),
    stats: statsSummary,
    /** Frames shown and the longest gap, per received video; `reset` starts a new measuring window. */
    frameGaps: (reset = false) => {
      const now = performance.now();
      const r = frameWatches.map((w) => ({ publisherId: w.publisherId, frames: w.frames, maxGapMs: Math.max(w.maxGapMs, w.frames > 0 ? now - w.lastMs : 0) }));
      if (reset) for (const w of frameWatches) w.maxGapMs = 0;
      return r;
    },
  },
});
