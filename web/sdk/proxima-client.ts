import { SignalingError, SignalingSocket, SILENT_CLOSE_CODE, type ServerPush } from './signaling-socket.ts';
import { IceWatch } from './ice-watch.ts';
import { reconnectDelay, reconnectOrder } from './reconnect.ts';
import { fetchGuestToken, tokenUrlFor, TokenUnavailableError } from './token.ts';
import { PeerAudio } from './peer-audio.ts';
import { PeerStatsSampler, type PeerStats } from './peer-stats.ts';
import type { Grants, JoinedMessage, Link, Mode, Person, PublisherInfo, SpaceMap, TrackInfo, VideoLayer } from './protocol.ts';
import { videoEncodings, type SimulcastOptions } from './simulcast.ts';
import { PublisherLayers } from './publisher-layers.ts';
import { deviceHint, publishSample, ReportSampler, type ClientReportBody, type ReceiveLimits } from './client-report.ts';
import { classifyMediaError, listDevices, openLocalMedia, type LocalMediaRequest, type MediaErrorEvent } from './local-media.ts';
import { UplinkSampler, type UplinkStats } from './uplink-stats.ts';
import { FlowWatch, MIN_GAP_MS, rtpBytes, type LiveState } from './live-state.ts';
import type { TrackSource } from './protocol.ts';

export type { Grants, Link, MapArea, Mode, Person, PublisherInfo, Rect, SpaceMap, TrackInfo, TrackSource } from './protocol.ts';
export type { PeerStats } from './peer-stats.ts';
export type { ReceiveLimits } from './client-report.ts';
export type { MediaErrorEvent } from './local-media.ts';
export type { UplinkStats } from './uplink-stats.ts';
export type { LiveState } from './live-state.ts';

/**
 * How `publish` sends video (see sdk/simulcast.ts), what its video is (default: the camera), and in which
 * codec (default VP8; `h264`: Constrained Baseline, for hardware encoders and devices that decode nothing else).
 */
export type PublishOptions = SimulcastOptions & { source?: 'camera' | 'screen'; codec?: 'vp8' | 'h264' };

/** One track we publish: its transceiver, the track it carries when unmuted, the server's track id. */
interface LocalTrack {
  transceiver: RTCRtpTransceiver;
  track: MediaStreamTrack;
  stream: MediaStream;
  trackId: string | null;
}

export interface RemoteTrackEvent {
  publisherId: string;
  trackId: string;
  track: MediaStreamTrack;
  stream: MediaStream;
}

export interface JoinOptions {
  /** An access token; without one the client asks `POST /api/token` for a guest token. */
  token?: string;
  /** Where to appear (default: the map's spawn point). */
  x?: number;
  y?: number;
  mode?: Mode;
}

export interface JoinResult {
  participantId: string;
  publishers: PublisherInfo[];
  self: Person;
  people: Person[];
  map: SpaceMap;
  grants: Grants;
}

export interface ClientOptions {
  /** Where guest tokens come from (default: /api/token on the signaling URL's host). */
  tokenUrl?: string;
  /** Play received audio through detached `<audio>` elements whose volume follows the link gain (default true). */
  playAudio?: boolean;
  /** Report device, decode and encode limits to the server this often (ms); 0 turns reports off. Default 2000. */
  reportIntervalMs?: number;
  /**
   * When the signaling drops, get back by itself (default true): resume the session where it was (a network
   * change: same participant, ICE restarted on both connections), else join again at the same place with
   * the same name and publish the same media — on the same server (it restarted) or, in cluster mode, on
   * another node (it died or is drained; the nodes come from `GET /api/cluster` of the node first joined,
   * best first for `region`). Retries with backoff (250 ms, growing to ~2 s) until it is back or `leave()`.
   */
  failover?: boolean;
  /** Region hint for choosing nodes. */
  region?: string;
  /**
   * Cluster mode: before joining, pick the node to join instead of the one at `url` — the best of
   * `region` when given, else the one with the lowest measured RTT (a few `GET /healthz` per node).
   * Default false: join where `url` says.
   */
  chooseNode?: boolean;
}

type Events = {
  joined: JoinResult;
  /** People who appeared, moved or changed (upserts; never yourself) and who left. */
  peopleChanged: { upserts: Person[]; removed: string[] };
  /** Your own position, mode or spotlight changed. */
  selfChanged: Person;
  /** The server's new desired link set (whom you receive, at which gain). */
  links: Map<string, Link>;
  publisherJoined: PublisherInfo;
  tracksChanged: PublisherInfo;
  publisherLeft: { participantId: string };
  track: RemoteTrackEvent;
  trackEnded: RemoteTrackEvent;
  /** The signaling dropped (`code` 4900: the SDK gave up on a socket that stopped answering). */
  closed: { code: number; reason: string };
  /** Getting back after the signaling dropped (see ClientOptions.failover). */
  reconnecting: { from: string; code: number; reason: string };
  /**
   * Back, `ms` after the drop: `resumed` = the same session (same participant id, media kept, ICE restarted);
   * otherwise joined again (a new participant id, on `url`: the same server or another node).
   */
  reconnected: { url: string; participantId: string; ms: number; resumed: boolean };
  /**
   * The server refused the token while getting back (a restarted server with a new secret, an expired
   * token) and it was the application's: give a new one with `setToken(token)`; the client then goes on.
   * Guest tokens (fetched by the SDK) are renewed without asking.
   */
  tokenNeeded: { space: string; name: string; reason: string };
  /** An ICE restart of one connection began (its path was lost, or the signaling had to be resumed). */
  iceRestart: { connection: MediaConnection; reason: string };
  /** One connection's media failed (ICE or DTLS) and restarting did not bring it back, or the server gave up on it. */
  mediaFailed: { connection: MediaConnection; reason: string };
  /** A connection reported failed carries media again. */
  mediaRecovered: { connection: MediaConnection };
  error: Error;
  /** Someone we receive (or we ourselves) started or stopped speaking, as the server hears it. */
  speaking: { participantId: string; speaking: boolean };
  /** Once a second: our connection quality both ways and the sending quality of the people we receive (`quality`). */
  quality: ConnectionQuality;
  /** A camera, microphone, speaker or screen could not be used (denied, missing, busy), in plain words. */
  mediaError: MediaErrorEvent;
  /** One of our own tracks was muted, unmuted, switched, started or stopped. */
  localTrack: { source: TrackSource; track: MediaStreamTrack | null; muted: boolean };
};

export type QualityLevel = 'excellent' | 'good' | 'poor' | 'lost';
/** A 1–5 score, its level, and which side it blames (docs/quality.md): `your_downlink`, `their_uplink`, `server`, `your_uplink`, `your_device`. */
export interface QualityScore {
  score: number;
  level: QualityLevel;
  cause: string | null;
}
export interface ConnectionQuality {
  /** What we receive; null when we receive nothing. */
  down: QualityScore | null;
  /** What we send; null when we send nothing. */
  up: QualityScore | null;
  /** The sending quality of each person we receive, by participant id. */
  peers: Record<string, QualityLevel>;
}

/** Our two media connections: what we send, and what we receive. */
export type MediaConnection = 'publish' | 'subscribe';

const BASE_PC_CONFIG: RTCConfiguration = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: [] };

/**
 * The Proxima browser SDK: one signaling socket and two RTCPeerConnections (publish: we offer; subscribe:
 * the server offers, driven by where people stand). It keeps the space's state (you, the people, the map,
 * your links) and plays received audio at the link gain. It never draws: a UI builds on its events.
 */
export class ProximaClient {
  participantId: string | null = null;
  self: Person | null = null;
  /** Everyone else in the space, by id. */
  readonly people = new Map<string, Person>();
  map: SpaceMap | null = null;
  grants: Grants = { publish: false, spotlight: false, moderator: false };
  /** Whom we receive (participant id → gain and priority), as the server last said. */
  readonly links = new Map<string, Link>();
  readonly publishers = new Map<string, PublisherInfo>();
  /** Received tracks that are live, by track. */
  readonly remoteTracks = new Map<MediaStreamTrack, RemoteTrackEvent>();
  readonly audio: PeerAudio | null;
  publishPc: RTCPeerConnection | null = null;
  subscribePc: RTCPeerConnection | null = null;
  private sig: SignalingSocket | null = null;
  private pcConfig: RTCConfiguration = BASE_PC_CONFIG;
  private readonly listeners = new Map<keyof Events, Set<(e: never) => void>>();
  private offerChain: Promise<void> = Promise.resolve();
  private readonly sampler = new PeerStatsSampler();
  private readonly tokenUrl: string;
  /** Our simulcast video senders by server track id: the server's dynacast wishes and our own limits. */
  readonly publishedLayers = new Map<string, PublisherLayers>();
  private readonly reportSampler = new ReportSampler();
  private readonly reportIntervalMs: number;
  private reportTimer: ReturnType<typeof setInterval> | null = null;
  private limits: ReceiveLimits | null = null;
  /** The latest report sent (for a UI or a test). */
  lastReport: ClientReportBody | null = null;
  /** The node we are on now (its signaling URL), and the cluster's others, best first. */
  currentUrl: string;
  private clusterUrls: string[] = [];
  private joinedAs: { space: string; name: string; opts: JoinOptions } | null = null;
  private published: Array<{ stream: MediaStream; opts: PublishOptions }> = [];
  private leaving = false;
  private readonly failover: boolean;
  /** The secret `joined` gave for resuming this session from a new socket. */
  private resumeToken: string | null = null;
  /** The token came from the guest endpoint (the SDK may fetch another) rather than from the application. */
  private guestToken = false;
  private readonly tokenUrlGiven: boolean;
  /** Waiting for `setToken` after `tokenNeeded`. */
  private tokenWaiter: ((token: string) => void) | null = null;
  private reconnecting = false;
  private readonly iceWatches: Record<MediaConnection, IceWatch | null> = { publish: null, subscribe: null };
  /** Connections reported by `mediaFailed` and not connected since. */
  private readonly mediaDown = new Set<MediaConnection>();
  private readonly region: string | undefined;
  private readonly chooseNode: boolean;
  /** Who speaks now among those we receive (and ourselves), as the server last said. */
  readonly speaking = new Set<string>();
  /** The server's latest view of our connection quality (null until the first `quality`). */
  quality: ConnectionQuality | null = null;
  /** What we publish, by source. */
  private readonly local = new Map<TrackSource, LocalTrack>();
  /** Muted by us: kept across a republish (failover). */
  private readonly mutedSources = new Set<TrackSource>();
  private readonly uplink = new UplinkSampler();
  private readonly flows = { publish: new FlowWatch(), subscribe: new FlowWatch() };
  private screenOps: Promise<unknown> = Promise.resolve();

  constructor(
    url: string,
    opts: ClientOptions = {},
  ) {
    this.tokenUrl = opts.tokenUrl ?? tokenUrlFor(url);
    this.tokenUrlGiven = opts.tokenUrl !== undefined;
    this.audio = opts.playAudio === false ? null : new PeerAudio();
    this.reportIntervalMs = opts.reportIntervalMs ?? 2000;
    this.currentUrl = url;
    this.failover = opts.failover ?? true;
    this.region = opts.region;
    this.chooseNode = opts.chooseNode ?? false;
    // The device went (back) online: find out now whether the signaling survived.
    globalThis.addEventListener?.('online', () => this.sig?.probe());
  }

  on<K extends keyof Events>(event: K, fn: (e: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as (e: never) => void);
    return () => set!.delete(fn as (e: never) => void);
  }

  private emit<K extends keyof Events>(event: K, e: Events[K]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        (fn as (e: Events[K]) => void)(e);
      } catch (err) {
        if (event !== 'error') this.emit('error', err as Error);
      }
    }
  }

  /** Join `space` as `name`. The third argument may be a token string (older callers) or options. */
  async join(space: string, name: string, opts: JoinOptions | string = {}): Promise<JoinResult> {
    const o: JoinOptions = typeof opts === 'string' ? { token: opts } : opts;
    let token = o.token;
    if (!token) {
      try {
        token = await fetchGuestToken(this.tokenUrl, space, name);
        this.guestToken = true;
      } catch (e) {
        if (!(e instanceof TokenUnavailableError)) throw e; // a server without tokens: join without one
      }
    }
    this.joinedAs = { space, name, opts: { ...o, ...(token ? { token } : {}) } };
    if (this.chooseNode) this.currentUrl = await this.pickNode().catch(() => this.currentUrl);
    const result = await this.joinAt(this.currentUrl, space, name, { ...o, ...(token ? { token } : {}) });
    if (this.failover) void this.learnCluster();
    return result;
  }

  private async joinAt(url: string, space: string, name: string, o: JoinOptions): Promise<JoinResult> {
    const sig = await SignalingSocket.open(url);
    try {
      return await this.joinOn(sig, url, space, name, o);
    } catch (e) {
      sig.close();
      throw e;
    }
  }

  /** This socket is our signaling now: pushes, the keepalive, reports, and getting back when it drops. */
  private attach(sig: SignalingSocket, url: string): void {
    this.sig = sig;
    this.currentUrl = url;
    sig.onPush = (m) => this.onPush(m);
    sig.onClose = (code, reason) => {
      if (this.sig !== sig) return;
      if (this.reportTimer) clearInterval(this.reportTimer);
      this.reportTimer = null;
      this.emit('closed', { code, reason });
      // 4000: the server closed the session because a media connection failed (docs/signaling.md).
      if (code === 4000) this.mediaFailed(/subscribe/.test(reason) ? 'subscribe' : 'publish', reason);
      if (this.failover && !this.leaving) void this.reconnect(url, code, reason);
    };
    sig.keepAlive();
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.reportTimer = this.reportIntervalMs > 0 ? setInterval(() => void this.sendReport(), this.reportIntervalMs) : null;
  }

  private async joinOn(sig: SignalingSocket, url: string, space: string, name: string, o: JoinOptions): Promise<JoinResult> {
    const token = o.token;
    sig.onPush = (m) => this.onPush(m);
    const body: Record<string, unknown> = { space, name };
    if (token) body.token = token;
    if (o.x !== undefined) body.x = o.x;
    if (o.y !== undefined) body.y = o.y;
    if (o.mode) body.mode = o.mode;
    const r = (await sig.request('join', body)) as ServerPush & JoinedMessage & { resumeToken?: string };
    this.attach(sig, url);
    this.participantId = r.participantId;
    this.resumeToken = r.resumeToken ?? null;
    if (r.iceServers?.length) this.pcConfig = { ...BASE_PC_CONFIG, iceServers: r.iceServers };
    for (const p of r.publishers ?? []) this.publishers.set(p.participantId, p);
    this.self = r.self ? { ...r.self } : null;
    for (const p of r.people ?? []) if (p.id !== r.participantId) this.people.set(p.id, { ...p });
    this.map = r.map ?? null;
    if (r.grants) this.grants = r.grants;
    const result: JoinResult = { participantId: r.participantId, publishers: r.publishers ?? [], self: r.self, people: r.people ?? [], map: r.map, grants: this.grants };
    this.emit('joined', result);
    return result;
  }

  /**
   * Publish every track of `stream` (sendonly). Video goes out as three simulcast layers with temporal
   * layers unless `{ simulcast: false }` (sdk/simulcast.ts); the server turns off layers nobody watches.
   */
  async publish(stream: MediaStream, opts: PublishOptions = {}): Promise<TrackInfo[]> {
    if (!this.published.some((p) => p.stream === stream)) this.published.push({ stream, opts });
    return this.publishNow(stream, opts);
  }

  private async publishNow(stream: MediaStream, opts: PublishOptions): Promise<TrackInfo[]> {
    const sig = this.requireSignaling();
    const pc = this.publishPc ?? (this.publishPc = this.newPc('publish'));
    const added: RTCRtpTransceiver[] = [];
    for (const track of stream.getTracks()) {
      const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [stream] };
      // H.264 here has no temporal layers the server could drop (no descriptor): one layer per encoding.
      const encodingOpts = opts.codec === 'h264' ? { ...opts, scalabilityMode: 'L1T1' } : opts;
      if (track.kind === 'video') init.sendEncodings = videoEncodings(track.getSettings().height ?? 480, encodingOpts);
      const tr = pc.addTransceiver(track, init);
      if (track.kind === 'video' && opts.codec === 'h264') preferH264(tr);
      added.push(tr);
      this.local.set(track.kind === 'audio' ? 'microphone' : (opts.source ?? 'camera'), { transceiver: tr, track, stream, trackId: null });
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const r = (await sig.request('publish', { sdp: offer.sdp, sources: this.publishSources() })) as ServerPush & { sdp: string; tracks: TrackInfo[] };
    await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
    await this.afterPublish(r.tracks);
    for (const t of added) {
      const info = r.tracks.find((x) => x.mid !== undefined && x.mid === t.mid);
      if (!info || t.sender.track?.kind !== 'video' || this.publishedLayers.has(info.trackId)) continue;
      const layers = new PublisherLayers(info.trackId, t.sender);
      layers.onError = (e) => this.emit('error', e);
      this.publishedLayers.set(info.trackId, layers);
    }
    return r.tracks;
  }

  /**
   * Limits of this device or UI (videos shown at most, tallest tile in pixels): the server allocates within
   * them on top of what it measures. Sent at once and with every report.
   */
  setReceiveLimits(limits: ReceiveLimits): void {
    this.limits = { ...limits }; // {} lifts earlier limits
    void this.sendReport();
  }

  /** Gather and send one report now (normally every reportIntervalMs). */
  async sendReport(): Promise<void> {
    const sig = this.sig;
    if (!sig) return;
    const now = performance.now();
    const [sub, pub] = await Promise.all([this.subscribePc?.getStats().catch(() => null) ?? null, this.publishPc?.getStats().catch(() => null) ?? null]);
    const body: ClientReportBody = { device: deviceHint() };
    const receive = this.reportSampler.receive(sub, now);
    if (receive) body.receive = receive;
    const published = publishSample(pub, now);
    if (published) {
      body.publish = published.report;
      for (const l of this.publishedLayers.values()) l.sample(published.sample);
    }
    if (this.limits) body.limits = { ...this.limits };
    if (this.sig !== sig) return;
    this.lastReport = body;
    sig.notify('report', body as Record<string, unknown>);
  }

  /**
   * Step to an adjacent tile, or with `goTo` walk to any tile (the server finds the way and answers when
   * you arrive). Resolves with where you stand; rejects with a SignalingError (`bad_move`, …).
   */
  async move(x: number, y: number, opts: { goTo?: boolean } = {}): Promise<{ x: number; y: number }> {
    const r = (await this.requireSignaling().request('move', { x, y, ...(opts.goTo ? { goTo: true } : {}) })) as ServerPush & { x: number; y: number };
    this.updateSelf({ x: r.x, y: r.y });
    return { x: r.x, y: r.y };
  }

  async setMode(mode: Mode): Promise<Mode> {
    const r = (await this.requireSignaling().request('setMode', { mode })) as ServerPush & { mode: Mode };
    this.updateSelf({ mode: r.mode });
    return r.mode;
  }

  /** Put yourself (or, with the spotlight grant, `participantId`) in or out of the spotlight. */
  async spotlight(on: boolean, participantId?: string): Promise<{ participantId: string; on: boolean }> {
    const r = (await this.requireSignaling().request('spotlight', { on, ...(participantId ? { participantId } : {}) })) as ServerPush & {
      participantId: string;
      on: boolean;
    };
    if (r.participantId === this.participantId) this.updateSelf({ spotlit: r.on });
    else {
      const p = this.people.get(r.participantId);
      if (p) {
        p.spotlit = r.on;
        this.emit('peopleChanged', { upserts: [p], removed: [] });
      }
    }
    return { participantId: r.participantId, on: r.on };
  }

  /** Explicit subscriptions (protocol v1); with proximity the server subscribes for you. */
  async subscribe(publisherId: string, trackIds?: string[]): Promise<string[]> {
    const r = (await this.requireSignaling().request('subscribe', { publisherId, ...(trackIds ? { trackIds } : {}) })) as ServerPush & { trackIds: string[] };
    return r.trackIds;
  }

  async unsubscribe(publisherId: string, trackIds?: string[]): Promise<string[]> {
    const r = (await this.requireSignaling().request('unsubscribe', { publisherId, ...(trackIds ? { trackIds } : {}) })) as ServerPush & { trackIds: string[] };
    return r.trackIds;
  }

  /** Receive statistics per person we get media from (see PeerStats). */
  peerStats(): Promise<Map<string, PeerStats>> {
    const pc = this.subscribePc;
    return this.sampler.sample(pc, (trackIdentifier, mid) => {
      for (const t of this.remoteTracks.values()) if (t.trackId === trackIdentifier) return t.publisherId;
      if (!pc || mid === undefined) return undefined;
      const tr = pc.getTransceivers().find((x) => x.mid === mid);
      return tr ? this.remoteTracks.get(tr.receiver.track)?.publisherId : undefined;
    });
  }

  /** Live received tracks of one person. */
  tracksOf(participantId: string): RemoteTrackEvent[] {
    return [...this.remoteTracks.values()].filter((t) => t.publisherId === participantId);
  }

  // ---- own media: mute, devices, screen, uplink, live ----

  /**
   * Mute or unmute your microphone ('audio') or camera ('video'). Muting swaps the sender's track for none
   * (`replaceTrack(null)`): nothing leaves the device, not even silence or black frames, and no
   * renegotiation happens. The server is told with `setMuted`: a stream that merely stops looks like a
   * broken uplink, so the message is what lets it stop forwarding at once, end "speaking" and show the
   * state to the others. Before publishing, the wish is kept and applied when the track is published.
   */
  async setMuted(kind: 'audio' | 'video', muted: boolean): Promise<void> {
    await this.setSourceMuted(kind === 'audio' ? 'microphone' : 'camera', muted);
  }

  isMuted(kind: 'audio' | 'video'): boolean {
    return this.mutedSources.has(kind === 'audio' ? 'microphone' : 'camera');
  }

  private async setSourceMuted(source: TrackSource, muted: boolean): Promise<void> {
    if (muted) this.mutedSources.add(source);
    else this.mutedSources.delete(source);
    const l = this.local.get(source);
    if (l) {
      // Unmuting: the track first, then the server (which asks for a keyframe of a running encoder).
      await l.transceiver.sender.replaceTrack(muted ? null : l.track);
      if (l.trackId && this.sig) await this.sig.request('setMuted', { trackId: l.trackId, muted });
    }
    this.emit('localTrack', { source, track: l?.track ?? null, muted });
  }

  /** The track we publish as `source` (also while muted), or null. */
  localTrack(source: TrackSource): MediaStreamTrack | null {
    return this.local.get(source)?.track ?? null;
  }

  /** The server's id of the track we publish as `source` (what listeners know it by), or null. */
  localTrackId(source: TrackSource): string | null {
    return this.local.get(source)?.trackId ?? null;
  }

  /** The mid of the m-line carrying `source` on the publish connection (to read its stats), or null. */
  localMid(source: TrackSource): string | null {
    return this.local.get(source)?.transceiver.mid ?? null;
  }

  /**
   * Send `track` instead of the current microphone or camera (another device, a processed track) with
   * `RTCRtpSender.replaceTrack`: no renegotiation, and listeners keep the same track. The old track is
   * stopped unless `{ stopOld: false }`. While muted, the new track is kept for the unmute.
   */
  async replaceTrack(source: 'microphone' | 'camera', track: MediaStreamTrack, opts: { stopOld?: boolean } = {}): Promise<void> {
    const l = this.local.get(source);
    if (!l) throw new Error(`nothing is published as ${source}`);
    if (track.kind !== l.track.kind) throw new Error(`a ${track.kind} track cannot replace the ${source}`);
    const old = l.track;
    if (!this.mutedSources.has(source)) await l.transceiver.sender.replaceTrack(track);
    l.track = track;
    // The published stream follows, so a republish after failover sends the new track.
    l.stream.removeTrack(old);
    l.stream.addTrack(track);
    if (opts.stopOld !== false && old !== track) old.stop();
    this.emit('localTrack', { source, track, muted: this.mutedSources.has(source) });
  }

  /** Open another camera or microphone by device id and send it in place of the current one. */
  async switchDevice(kind: 'camera' | 'microphone', deviceId: string): Promise<MediaStreamTrack> {
    const cur = this.local.get(kind)?.track.getSettings();
    const c: MediaTrackConstraints = { deviceId: { exact: deviceId } };
    if (kind === 'camera' && cur?.width && cur.height) Object.assign(c, { width: cur.width, height: cur.height });
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(kind === 'camera' ? { video: c } : { audio: c });
    } catch (e) {
      this.emit('mediaError', classifyMediaError(kind, e));
      throw e;
    }
    const track = stream.getTracks()[0]!;
    await this.replaceTrack(kind, track);
    return track;
  }

  /** Cameras, microphones and speakers of this device. */
  listDevices(): ReturnType<typeof listDevices> {
    return listDevices(() => navigator.mediaDevices.enumerateDevices());
  }

  /** Play everyone on this output device (`HTMLMediaElement.setSinkId`, where the browser has it). */
  async setAudioOutput(deviceId: string): Promise<void> {
    if (!this.audio) throw new Error('this client does not play audio');
    try {
      await this.audio.setSinkId(deviceId);
    } catch (e) {
      this.emit('mediaError', classifyMediaError('speaker', e));
      throw e;
    }
  }

  /**
   * Camera and microphone, each on its own if both together fail: a `mediaError` per device that could
   * not be opened (denied, missing, busy). Resolves with what could be opened, or null.
   */
  async openMedia(req: LocalMediaRequest = { audio: true, video: true }): Promise<MediaStream | null> {
    const r = await openLocalMedia(req, (c) => navigator.mediaDevices.getUserMedia(c));
    for (const e of r.errors) this.emit('mediaError', e);
    return r.stream;
  }

  /**
   * Whether there is somewhere to play sound; `mediaError` (speaker, not-found) if not. Browsers that list
   * outputs only after `selectAudioOutput` (Firefox) cannot be judged: true.
   */
  async checkAudioOutput(): Promise<boolean> {
    if ('selectAudioOutput' in navigator.mediaDevices) return true;
    const d = await this.listDevices();
    if (d.speakers.length > 0) return true;
    this.emit('mediaError', classifyMediaError('speaker', { name: 'NotFoundError' }));
    return false;
  }

  /**
   * Share a screen (getDisplayMedia) as a second video of ours, one encoding (no simulcast), marked
   * `source: 'screen'`; proximity carries it like the camera. Ends by itself when the browser's own
   * "stop sharing" ends the track.
   */
  shareScreen(constraints: DisplayMediaStreamOptions = { video: { frameRate: 15 }, audio: false }): Promise<MediaStreamTrack> {
    const run = async () => {
      if (this.local.has('screen')) return this.local.get('screen')!.track;
      let stream: MediaStream;
      try {
        stream = await navigator.mediaDevices.getDisplayMedia(constraints);
      } catch (e) {
        this.emit('mediaError', classifyMediaError('screen', e));
        throw e;
      }
      const track = stream.getVideoTracks()[0]!;
      for (const t of stream.getAudioTracks()) t.stop(); // screen audio is not part of the space
      track.contentHint = 'detail'; // text stays sharp: resolution before frame rate
      track.addEventListener('ended', () => void this.stopScreen());
      await this.publish(new MediaStream([track]), { simulcast: false, source: 'screen' });
      this.emit('localTrack', { source: 'screen', track, muted: false });
      return track;
    };
    const p = this.screenOps.then(run, run);
    this.screenOps = p.catch(() => undefined);
    return p;
  }

  /** Stop sharing the screen: its m-line is stopped and the server ends the track for everyone. */
  stopScreen(): Promise<void> {
    const run = async () => {
      const l = this.local.get('screen');
      if (!l) return;
      this.local.delete('screen');
      this.published = this.published.filter((p) => p.stream !== l.stream);
      l.track.stop();
      const pc = this.publishPc;
      if (pc && this.sig && pc.signalingState !== 'closed') {
        l.transceiver.stop();
        const offer = await pc.createOffer();
        await pc.setLocalDescription(offer);
        const r = (await this.sig.request('publish', { sdp: offer.sdp, sources: this.publishSources() })) as ServerPush & { sdp: string };
        await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
      }
      this.emit('localTrack', { source: 'screen', track: null, muted: false });
    };
    const p = this.screenOps.then(run, run);
    this.screenOps = p.catch(() => undefined);
    return p;
  }

  /** Our uplink from the publish connection's getStats() (null before publishing): see UplinkStats. */
  async uplinkStats(): Promise<UplinkStats | null> {
    const pc = this.publishPc;
    if (!pc) return null;
    return this.uplink.sample(statsList(await pc.getStats()));
  }

  /**
   * Whether media really flows: publishing = the publish connection is connected and its outbound RTP
   * bytes grow; receiving = the same for the subscribe connection's inbound bytes. Without a recent
   * earlier sample it samples twice, MIN_GAP_MS apart.
   */
  async liveState(): Promise<LiveState> {
    const once = () =>
      Promise.all([flowOf(this.publishPc, 'outbound', this.flows.publish), flowOf(this.subscribePc, 'inbound', this.flows.subscribe)]);
    let [pub, sub] = await once();
    if (pub === null || sub === null) {
      await new Promise((r) => setTimeout(r, MIN_GAP_MS + 20));
      [pub, sub] = await once();
    }
    return { publishing: pub === true, receiving: sub === true };
  }

  /** Which source each of our m-lines carries (sent with every publish offer). */
  private publishSources(): Array<{ mid: string; source: TrackSource }> {
    const out: Array<{ mid: string; source: TrackSource }> = [];
    for (const [source, l] of this.local) if (l.transceiver.mid) out.push({ mid: l.transceiver.mid, source });
    return out;
  }

  /** Learn the server's ids of what we publish, and mute again what was muted (a republish after failover). */
  private async afterPublish(tracks: TrackInfo[]): Promise<void> {
    for (const [source, l] of this.local) {
      const info = tracks.find((t) => t.mid !== undefined && t.mid === l.transceiver.mid);
      if (!info || l.trackId === info.trackId) continue;
      l.trackId = info.trackId;
      if (this.mutedSources.has(source)) {
        await l.transceiver.sender.replaceTrack(null);
        await this.sig?.request('setMuted', { trackId: info.trackId, muted: true });
      }
    }
  }

  /** The cluster's nodes (signaling URLs), best first for our region; a single node has none. */
  private async learnCluster(): Promise<void> {
    try {
      const http = this.currentUrl.replace(/^ws/, 'http').replace(/\/ws$/, '');
      const r = await fetch(`${http}/api/cluster${this.region ? `?region=${encodeURIComponent(this.region)}` : ''}`);
      if (!r.ok) return;
      const body = (await r.json()) as { nodes?: Array<{ signalingUrl: string; draining: boolean }> };
      this.clusterUrls = (body.nodes ?? []).filter((n) => !n.draining).map((n) => `${n.signalingUrl.replace(/^http/, 'ws').replace(/\/$/, '')}/ws`);
    } catch {
      /* not a cluster, or not reachable: no failover */
    }
  }

  /**
   * The node to join: the cluster's best for our region (the server orders them), else the one that
   * answers fastest (median of three `GET /healthz` each). A single node: where we are.
   */
  private async pickNode(): Promise<string> {
    await this.learnCluster();
    const urls = this.clusterUrls;
    if (urls.length <= 1) return this.currentUrl;
    if (this.region) return urls[0]!;
    const rtts = await Promise.all(
      urls.slice(0, 8).map(async (u) => {
        const http = u.replace(/^ws/, 'http').replace(/\/ws$/, '');
        const samples: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          try {
            await fetch(`${http}/healthz`, { cache: 'no-store' });
            samples.push(performance.now() - t);
          } catch {
            return Infinity;
          }
        }
        return samples.sort((a, b) => a - b)[1]!;
      }),
    );
    let best = 0;
    rtts.forEach((r, i) => {
      if (r < rtts[best]!) best = i;
    });
    return Number.isFinite(rtts[best]!) ? urls[best]! : this.currentUrl;
  }

  /**
   * The signaling dropped: get back (one mechanism for a restarted server, a changed network and a dead
   * cluster node). Round after round, with backoff (reconnect.ts), first where we were — a `resume` keeps the
   * session and its media, ICE restarted on both connections; a server that no longer knows the session gets
   * a fresh join at the same place with the same name, and the same media published again — then the
   * cluster's other nodes. Media keeps flowing meanwhile where it still can.
   */
  private async reconnect(from: string, code: number, reason: string): Promise<void> {
    if (this.reconnecting || !this.joinedAs) return;
    this.reconnecting = true;
    const started = performance.now();
    this.emit('reconnecting', { from, code, reason });
    try {
      for (let round = 0; !this.leaving; round++) {
        for (const url of reconnectOrder(from, this.clusterUrls, code === 4002)) {
          if (this.leaving) return;
          let how: 'resumed' | 'joined';
          try {
            how = await this.rejoin(url);
          } catch (e) {
            if (e instanceof TokenNeeded) await this.waitForToken(e.message);
            continue;
          }
          this.emit('reconnected', { url, participantId: this.participantId ?? '', ms: performance.now() - started, resumed: how === 'resumed' });
          return;
        }
        await new Promise((r) => setTimeout(r, reconnectDelay(round)));
      }
    } finally {
      this.reconnecting = false;
      // Dropped again while we were getting back in: start over.
      const sig = this.sig;
      if (sig?.isClosed && !this.leaving) void this.reconnect(this.currentUrl, SILENT_CLOSE_CODE, 'signaling dropped while reconnecting');
    }
  }

  /** One attempt at `url`: resume there if we can, else join again. Throws when that fails. */
  private async rejoin(url: string): Promise<'resumed' | 'joined'> {
    const as = this.joinedAs!;
    const sig = await SignalingSocket.open(url);
    try {
      if (url === this.currentUrl && this.resumeToken && this.participantId) {
        try {
          const r = await sig.request('resume', { participantId: this.participantId, resumeToken: this.resumeToken });
          this.adoptResumed(sig, url, r as ServerPush & ResumedBody);
          return 'resumed';
        } catch (e) {
          if (!(e instanceof SignalingError) || e.code !== 'resume_failed') throw e;
        }
      }
      // A new session: what belonged to the old one goes (that server forgot it, or this is another node).
      this.dropSession();
      const opts: JoinOptions = { ...as.opts, ...(this.self ? { x: this.self.x, y: this.self.y, mode: this.self.mode } : {}) };
      try {
        await this.joinOn(sig, url, as.space, as.name, opts);
      } catch (e) {
        if (!(e instanceof SignalingError) || e.code !== 'unauthorized') throw e;
        // A restarted server signs with a new secret (the embedded default is random per start).
        if (!this.guestToken) throw new TokenNeeded(e.message);
        as.opts.token = await fetchGuestToken(this.tokenUrlGiven ? this.tokenUrl : tokenUrlFor(url), as.space, as.name);
        await this.joinOn(sig, url, as.space, as.name, { ...opts, token: as.opts.token });
      }
      for (const p of this.published) await this.publishNow(p.stream, p.opts).catch((e: Error) => this.emit('error', e));
      return 'joined';
    } catch (e) {
      if (this.sig !== sig) sig.close();
      throw e;
    }
  }

  /** The session is ours again on `sig`: take the server's snapshot, then restart ICE (the network may have changed). */
  private adoptResumed(sig: SignalingSocket, url: string, r: ResumedBody): void {
    this.attach(sig, url);
    this.participantId = r.participantId;
    const gone = [...this.people.keys()].filter((id) => !r.people.some((p) => p.id === id));
    this.people.clear();
    for (const p of r.people) if (p.id !== r.participantId) this.people.set(p.id, { ...p });
    this.publishers.clear();
    for (const p of r.publishers) this.publishers.set(p.participantId, p);
    this.emit('peopleChanged', { upserts: [...this.people.values()], removed: gone });
    if (this.self) this.updateSelf({ ...r.self });
    this.applyLinks(r.links);
    this.iceWatches.publish?.restartNow('signaling resumed');
    this.iceWatches.subscribe?.restartNow('signaling resumed');
  }

  /** Forget the session: its connections, what we received, whom we knew. */
  private dropSession(): void {
    for (const w of Object.values(this.iceWatches)) w?.stop();
    this.iceWatches.publish = this.iceWatches.subscribe = null;
    this.publishPc?.close();
    this.subscribePc?.close();
    this.publishPc = this.subscribePc = null;
    this.publishedLayers.clear();
    for (const t of [...this.remoteTracks.values()]) this.endTrack(t);
    this.links.clear();
    this.publishers.clear();
    this.people.clear();
    this.resumeToken = null;
  }

  /** Tell the application its token was refused, and wait for `setToken`. */
  private waitForToken(reason: string): Promise<void> {
    const as = this.joinedAs!;
    return new Promise((resolve) => {
      this.tokenWaiter = (token) => {
        as.opts.token = token;
        resolve();
      };
      this.emit('tokenNeeded', { space: as.space, name: as.name, reason });
    });
  }

  /** A new token for getting back in (after `tokenNeeded`), or for the next time the signaling drops. */
  setToken(token: string): void {
    if (this.joinedAs) this.joinedAs.opts.token = token;
    this.guestToken = false;
    const w = this.tokenWaiter;
    this.tokenWaiter = null;
    w?.(token);
  }

  /** A peer connection with its ICE watched: restarts when its path is lost, `mediaFailed` when that does not help. */
  private newPc(which: MediaConnection): RTCPeerConnection {
    const pc = new RTCPeerConnection(this.pcConfig);
    this.iceWatches[which]?.stop();
    this.iceWatches[which] = new IceWatch(pc, {
      restart: (reason) => this.restartIce(which, pc, reason),
      failed: (reason) => this.mediaFailed(which, reason),
      recovered: () => undefined, // said below, for this connection or the next one of its kind
      // A lost path often means a new network, which also leaves the signaling socket dead without a word.
      lost: () => this.sig?.probe(),
    });
    let watchedIce: RTCIceTransport | null = null;
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected' && this.mediaDown.delete(which)) this.emit('mediaRecovered', { connection: which });
      // The browser moved its media to another candidate pair by itself (a new address found by continual
      // gathering): the signaling socket on the old network is likely dead without a word, so ask now.
      // RTCIceTransport's event exists in Chromium; elsewhere the keepalive finds out within ~2 s.
      const ice = pc.getTransceivers().find((t) => t.sender.transport)?.sender.transport?.iceTransport ?? null;
      if (pc.connectionState === 'connected' && ice && ice !== watchedIce && 'onselectedcandidatepairchange' in ice) {
        watchedIce = ice;
        let first = true;
        ice.addEventListener('selectedcandidatepairchange', () => {
          if (!first) this.sig?.probe();
          first = false;
        });
      }
    });
    // A candidate gathered on a connected connection is a new network (continual gathering): the signaling
    // socket of the old one is likely dead without a word, so ask now rather than at the next ping.
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate && pc.connectionState === 'connected') this.sig?.probe();
    });
    return pc;
  }

  private mediaFailed(which: MediaConnection, reason: string): void {
    this.mediaDown.add(which);
    this.emit('mediaFailed', { connection: which, reason });
  }

  /**
   * ICE restart (RFC 8445 §9): the publish connection offers again with new credentials (`iceRestart`); for
   * the subscribe connection, where the server offers, we ask it to (`restartIce`). False when there is no
   * signaling to do it with (a resume restarts both anyway).
   */
  private restartIce(which: MediaConnection, pc: RTCPeerConnection, reason: string): boolean {
    const sig = this.sig;
    if (!sig || sig.isClosed || pc.signalingState === 'closed') return false;
    this.emit('iceRestart', { connection: which, reason });
    if (which === 'subscribe') {
      sig.request('restartIce').catch((e: Error) => this.emit('error', e));
      return true;
    }
    const run = async (): Promise<void> => {
      // Another negotiation of ours in flight (a track added): restart right after it.
      for (let i = 0; i < 50 && pc.signalingState !== 'stable' && pc.signalingState !== 'closed'; i++) await new Promise((r) => setTimeout(r, 100));
      if (pc !== this.publishPc || sig !== this.sig || pc.signalingState !== 'stable') return;
      const offer = await pc.createOffer({ iceRestart: true });
      await pc.setLocalDescription(offer);
      const r = (await sig.request('publish', { sdp: offer.sdp })) as ServerPush & { sdp: string };
      await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
    };
    run().catch((e: Error) => {
      if (pc === this.publishPc && pc.signalingState === 'have-local-offer') void pc.setLocalDescription({ type: 'rollback' }).catch(() => undefined);
      if (!sig.isClosed) this.emit('error', e);
    });
    return true;
  }

  async leave(): Promise<void> {
    this.leaving = true;
    for (const w of Object.values(this.iceWatches)) w?.stop();
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.reportTimer = null;
    if (this.sig) {
      await this.sig.request('leave').catch(() => undefined);
      this.sig.close();
      this.sig = null;
    }
    this.publishPc?.close();
    this.subscribePc?.close();
    this.publishPc = this.subscribePc = null;
    for (const t of [...this.remoteTracks.values()]) this.endTrack(t);
    this.audio?.close();
  }

  private requireSignaling(): SignalingSocket {
    if (!this.sig) throw new Error('join a space first');
    return this.sig;
  }

  private updateSelf(change: Partial<Person>): void {
    if (!this.self) return;
    Object.assign(this.self, change);
    this.emit('selfChanged', this.self);
  }

  private onPush(m: ServerPush): void {
    switch (m.type) {
      case 'subscriberOffer':
        // Offers are applied one at a time, in order.
        this.offerChain = this.offerChain.then(() => this.applySubscriberOffer(m.offerId as number, m.sdp as string)).catch((e: Error) => this.emit('error', e));
        break;
      case 'peopleChanged':
        this.applyPeopleChanged(m.upserts as Person[], m.removed as string[]);
        break;
      case 'links':
        this.applyLinks(m.links as Link[]);
        break;
      case 'publisherJoined':
      case 'tracksChanged': {
        const p = m.publisher as PublisherInfo;
        this.publishers.set(p.participantId, p);
        this.emit(m.type, p);
        break;
      }
      case 'videoLayers':
        this.publishedLayers.get(m.trackId as string)?.setWanted(m.layers as VideoLayer[]);
        break;
      case 'speaking': {
        const id = m.participantId as string;
        if (m.speaking === true) this.speaking.add(id);
        else this.speaking.delete(id);
        this.emit('speaking', { participantId: id, speaking: m.speaking === true });
        break;
      }
      case 'quality':
        this.quality = { down: (m.down as QualityScore | null) ?? null, up: (m.up as QualityScore | null) ?? null, peers: (m.peers as Record<string, QualityLevel>) ?? {} };
        this.emit('quality', this.quality);
        break;
      case 'publisherLeft':
        this.publishers.delete(m.participantId as string);
        this.emit('publisherLeft', { participantId: m.participantId as string });
        break;
      case 'error':
        this.emit('error', new Error(`${m.code}: ${m.message}`));
        break;
    }
  }

  private applyPeopleChanged(upserts: Person[], removed: string[]): void {
    const others: Person[] = [];
    for (const p of upserts) {
      if (p.id === this.participantId) {
        if (this.self) this.updateSelf({ x: p.x, y: p.y, mode: p.mode, spotlit: p.spotlit, name: p.name });
        continue;
      }
      const cur = this.people.get(p.id);
      if (cur) Object.assign(cur, p);
      else this.people.set(p.id, { ...p });
      others.push(this.people.get(p.id)!);
    }
    const gone = removed.filter((id) => this.people.delete(id));
    if (others.length || gone.length) this.emit('peopleChanged', { upserts: others, removed: gone });
  }

  private applyLinks(links: Link[]): void {
    this.links.clear();
    for (const l of links) this.links.set(l.participantId, { ...l });
    this.audio?.setGains(new Map(links.map((l) => [l.participantId, l.gain])));
    // Speaking comes only while linked: someone who went out of range is not "still speaking".
    for (const id of [...this.speaking]) {
      if (id === this.participantId || this.links.has(id)) continue;
      this.speaking.delete(id);
      this.emit('speaking', { participantId: id, speaking: false });
    }
    this.emit('links', this.links);
  }

  private async applySubscriberOffer(offerId: number, sdp: string): Promise<void> {
    let pc = this.subscribePc;
    if (!pc) {
      pc = this.subscribePc = this.newPc('subscribe');
      pc.ontrack = (ev) => this.onRemoteTrack(ev.track, ev.streams[0] ?? new MediaStream([ev.track]));
    }
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.requireSignaling().notify('subscriberAnswer', { offerId, sdp: answer.sdp });
    this.reconcileTracks(pc);
  }

  private onRemoteTrack(track: MediaStreamTrack, stream: MediaStream): void {
    const known = this.remoteTracks.get(track);
    if (known) {
      if (known.publisherId === stream.id) return;
      this.endTrack(known); // a reused m-line now carries someone else
    }
    const e: RemoteTrackEvent = { publisherId: stream.id, trackId: track.id, track, stream };
    this.remoteTracks.set(track, e);
    if (track.kind === 'audio') this.audio?.add(e.publisherId, track);
    const end = () => {
      if (this.remoteTracks.get(track) === e) this.endTrack(e);
    };
    track.addEventListener('ended', end, { once: true });
    stream.addEventListener('removetrack', (ev) => {
      if (ev.track === track) end();
    });
    this.emit('track', e);
  }

  /** After each negotiation: a track whose m-line no longer receives (inactive, stopped) has ended. */
  private reconcileTracks(pc: RTCPeerConnection): void {
    const receiving = new Set<MediaStreamTrack>();
    for (const t of pc.getTransceivers()) {
      const dir = t.currentDirection;
      if (dir === 'recvonly' || dir === 'sendrecv') receiving.add(t.receiver.track);
    }
    for (const e of [...this.remoteTracks.values()]) if (!receiving.has(e.track)) this.endTrack(e);
  }

  private endTrack(e: RemoteTrackEvent): void {
    if (this.remoteTracks.get(e.track) !== e) return;
    this.remoteTracks.delete(e.track);
    if (e.track.kind === 'audio') this.audio?.remove(e.track);
    this.emit('trackEnded', e);
  }
}

function statsList(report: RTCStatsReport): Array<Record<string, unknown> & { type: string; id: string; timestamp: number }> {
  const out: Array<Record<string, unknown> & { type: string; id: string; timestamp: number }> = [];
  report.forEach((s: Record<string, unknown> & { type: string; id: string; timestamp: number }) => out.push(s));
  return out;
}

/** One direction's flow (see FlowWatch): false while its connection is not connected. */
async function flowOf(pc: RTCPeerConnection | null, direction: 'outbound' | 'inbound', watch: FlowWatch): Promise<boolean | null> {
  if (!pc || pc.connectionState !== 'connected') {
    watch.reset();
    return false;
  }
  const list = statsList(await pc.getStats());
  return watch.observe(performance.now(), rtpBytes(list, direction));
}

/** The `resumed` answer (src/signaling/messages.ts ResumedSchema). */
interface ResumedBody {
  participantId: string;
  self: Person;
  people: Person[];
  publishers: PublisherInfo[];
  links: Link[];
}

/** The application's token was refused while getting back: `tokenNeeded`, then wait for `setToken`. */
class TokenNeeded extends Error {}

/** Puts Constrained Baseline H.264 with packetization-mode 1 first (what the server takes: RFC 7742 §6.2). */
function preferH264(tr: RTCRtpTransceiver): void {
  const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
  const cb = (c: RTCRtpCodec) => c.mimeType.toLowerCase() === 'video/h264' && /packetization-mode=1/.test(c.sdpFmtpLine ?? '') && /profile-level-id=42e0/i.test(c.sdpFmtpLine ?? '');
  const first = codecs.filter(cb);
  if (first.length === 0) throw new Error('this browser cannot send H.264 Constrained Baseline');
  tr.setCodecPreferences([...first, ...codecs.filter((c) => !cb(c))]);
}
