import { SignalingSocket, type ServerPush } from './signaling-socket.ts';
import { fetchGuestToken, tokenUrlFor, TokenUnavailableError } from './token.ts';
import { PeerAudio } from './peer-audio.ts';
import { PeerStatsSampler, type PeerStats } from './peer-stats.ts';
import type { Grants, JoinedMessage, Link, Mode, Person, PublisherInfo, SpaceMap, TrackInfo, VideoLayer } from './protocol.ts';
import { videoEncodings, type SimulcastOptions } from './simulcast.ts';
import { PublisherLayers } from './publisher-layers.ts';
import { deviceHint, publishSample, ReportSampler, type ClientReportBody, type ReceiveLimits } from './client-report.ts';

export type { Grants, Link, MapArea, Mode, Person, PublisherInfo, Rect, SpaceMap, TrackInfo } from './protocol.ts';
export type { PeerStats } from './peer-stats.ts';
export type { ReceiveLimits } from './client-report.ts';

/** How `publish` sends video (see sdk/simulcast.ts). */
export type PublishOptions = SimulcastOptions;

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
   * Cluster mode: when the node's signaling drops (the node died or is drained), join another node of the
   * cluster at the same place and publish the same media again (default true). The nodes come from
   * `GET /api/cluster` of the node first joined, best first for `region`.
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
  closed: { code: number; reason: string };
  /** The node's signaling dropped; trying the other nodes of the cluster. */
  reconnecting: { from: string };
  /** In again on another node (new participant id), `ms` after the drop. */
  reconnected: { url: string; participantId: string; ms: number };
  error: Error;
};

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
  grants: Grants = { publish: false, spotlight: false };
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
  private readonly region: string | undefined;
  private readonly chooseNode: boolean;

  constructor(
    url: string,
    opts: ClientOptions = {},
  ) {
    this.tokenUrl = opts.tokenUrl ?? tokenUrlFor(url);
    this.audio = opts.playAudio === false ? null : new PeerAudio();
    this.reportIntervalMs = opts.reportIntervalMs ?? 2000;
    this.currentUrl = url;
    this.failover = opts.failover ?? true;
    this.region = opts.region;
    this.chooseNode = opts.chooseNode ?? false;
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
    const token = o.token;
    const sig = await SignalingSocket.open(url);
    this.sig = sig;
    this.currentUrl = url;
    sig.onPush = (m) => this.onPush(m);
    sig.onClose = (code, reason) => {
      if (this.sig !== sig) return;
      if (this.reportTimer) clearInterval(this.reportTimer);
      this.reportTimer = null;
      this.emit('closed', { code, reason });
      if (this.failover && !this.leaving && this.clusterUrls.length > 1) void this.reconnect(url);
    };
    const body: Record<string, unknown> = { space, name };
    if (token) body.token = token;
    if (o.x !== undefined) body.x = o.x;
    if (o.y !== undefined) body.y = o.y;
    if (o.mode) body.mode = o.mode;
    const r = (await sig.request('join', body)) as ServerPush & JoinedMessage;
    this.participantId = r.participantId;
    if (r.iceServers?.length) this.pcConfig = { ...BASE_PC_CONFIG, iceServers: r.iceServers };
    for (const p of r.publishers ?? []) this.publishers.set(p.participantId, p);
    this.self = r.self ? { ...r.self } : null;
    for (const p of r.people ?? []) if (p.id !== r.participantId) this.people.set(p.id, { ...p });
    this.map = r.map ?? null;
    if (r.grants) this.grants = r.grants;
    const result: JoinResult = { participantId: r.participantId, publishers: r.publishers ?? [], self: r.self, people: r.people ?? [], map: r.map, grants: this.grants };
    this.emit('joined', result);
    if (this.reportIntervalMs > 0) this.reportTimer = setInterval(() => void this.sendReport(), this.reportIntervalMs);
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
    const pc = this.publishPc ?? (this.publishPc = new RTCPeerConnection(this.pcConfig));
    const added: RTCRtpTransceiver[] = [];
    for (const track of stream.getTracks()) {
      const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: [stream] };
      if (track.kind === 'video') init.sendEncodings = videoEncodings(track.getSettings().height ?? 480, opts);
      added.push(pc.addTransceiver(track, init));
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const r = (await sig.request('publish', { sdp: offer.sdp })) as ServerPush & { sdp: string; tracks: TrackInfo[] };
    await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
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
   * Our node is gone: drop its connections, then join the next node that answers, at the same place,
   * with the same token, and publish the same streams again. Whom we receive follows our position there.
   */
  private async reconnect(failed: string): Promise<void> {
    const as = this.joinedAs;
    if (!as) return;
    const started = performance.now();
    this.emit('reconnecting', { from: failed });
    this.publishPc?.close();
    this.subscribePc?.close();
    this.publishPc = this.subscribePc = null;
    this.publishedLayers.clear();
    for (const t of [...this.remoteTracks.values()]) this.endTrack(t);
    this.links.clear();
    this.publishers.clear();
    this.people.clear();
    const opts: JoinOptions = { ...as.opts, ...(this.self ? { x: this.self.x, y: this.self.y, mode: this.self.mode } : {}) };
    for (let round = 0; round < 50 && !this.leaving; round++) {
      const order = [...this.clusterUrls.filter((u) => u !== failed), ...(round > 0 ? [failed] : [])];
      for (const url of order) {
        try {
          await this.joinAt(url, as.space, as.name, opts);
        } catch {
          continue;
        }
        for (const p of this.published) await this.publishNow(p.stream, p.opts).catch((e: Error) => this.emit('error', e));
        this.emit('reconnected', { url, participantId: this.participantId ?? '', ms: performance.now() - started });
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    this.emit('error', new Error('no node of the cluster answers'));
  }

  async leave(): Promise<void> {
    this.leaving = true;
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
    this.emit('links', this.links);
  }

  private async applySubscriberOffer(offerId: number, sdp: string): Promise<void> {
    let pc = this.subscribePc;
    if (!pc) {
      pc = this.subscribePc = new RTCPeerConnection(this.pcConfig);
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
