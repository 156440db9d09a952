import { SignalingSocket, type ServerPush } from './signaling-socket.ts';

export interface TrackInfo {
  trackId: string;
  kind: 'audio' | 'video';
  mid?: string;
}
export interface PublisherInfo {
  participantId: string;
  name: string;
  tracks: TrackInfo[];
}

export interface RemoteTrackEvent {
  publisherId: string;
  trackId: string;
  track: MediaStreamTrack;
  stream: MediaStream;
}

type Events = {
  publisherJoined: PublisherInfo;
  tracksChanged: PublisherInfo;
  publisherLeft: { participantId: string };
  track: RemoteTrackEvent;
  closed: { code: number; reason: string };
  error: Error;
};

const PC_CONFIG: RTCConfiguration = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: [] };

/**
 * The Proxima browser SDK: one signaling socket and two RTCPeerConnections (publish: we offer;
 * subscribe: the server offers). A UI builds on this; it has no DOM dependencies.
 */
export class ProximaClient {
  participantId: string | null = null;
  readonly publishers = new Map<string, PublisherInfo>();
  publishPc: RTCPeerConnection | null = null;
  subscribePc: RTCPeerConnection | null = null;
  private sig: SignalingSocket | null = null;
  private readonly listeners = new Map<keyof Events, Set<(e: never) => void>>();
  private offerChain: Promise<void> = Promise.resolve();

  constructor(private readonly url: string) {}

  on<K extends keyof Events>(event: K, fn: (e: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as (e: never) => void);
    return () => set!.delete(fn as (e: never) => void);
  }

  private emit<K extends keyof Events>(event: K, e: Events[K]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as (e: Events[K]) => void)(e);
  }

  async join(space: string, name: string, token?: string): Promise<{ participantId: string; publishers: PublisherInfo[] }> {
    const sig = await SignalingSocket.open(this.url);
    this.sig = sig;
    sig.onPush = (m) => this.onPush(m);
    sig.onClose = (code, reason) => this.emit('closed', { code, reason });
    const r = (await sig.request('join', { space, name, ...(token ? { token } : {}) })) as ServerPush & { participantId: string; publishers: PublisherInfo[] };
    this.participantId = r.participantId;
    for (const p of r.publishers) this.publishers.set(p.participantId, p);
    return { participantId: r.participantId, publishers: r.publishers };
  }

  /** Publish every track of `stream` (sendonly). */
  async publish(stream: MediaStream): Promise<TrackInfo[]> {
    const sig = this.requireSignaling();
    const pc = this.publishPc ?? (this.publishPc = new RTCPeerConnection(PC_CONFIG));
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const r = (await sig.request('publish', { sdp: offer.sdp })) as ServerPush & { sdp: string; tracks: TrackInfo[] };
    await pc.setRemoteDescription({ type: 'answer', sdp: r.sdp });
    return r.tracks;
  }

  async subscribe(publisherId: string, trackIds?: string[]): Promise<string[]> {
    const r = (await this.requireSignaling().request('subscribe', { publisherId, ...(trackIds ? { trackIds } : {}) })) as ServerPush & { trackIds: string[] };
    return r.trackIds;
  }

  async unsubscribe(publisherId: string, trackIds?: string[]): Promise<string[]> {
    const r = (await this.requireSignaling().request('unsubscribe', { publisherId, ...(trackIds ? { trackIds } : {}) })) as ServerPush & { trackIds: string[] };
    return r.trackIds;
  }

  async leave(): Promise<void> {
    if (this.sig) {
      await this.sig.request('leave').catch(() => undefined);
      this.sig.close();
      this.sig = null;
    }
    this.publishPc?.close();
    this.subscribePc?.close();
    this.publishPc = this.subscribePc = null;
  }

  private requireSignaling(): SignalingSocket {
    if (!this.sig) throw new Error('join a space first');
    return this.sig;
  }

  private onPush(m: ServerPush): void {
    switch (m.type) {
      case 'subscriberOffer':
        // Offers are applied one at a time, in order.
        this.offerChain = this.offerChain.then(() => this.applySubscriberOffer(m.offerId as number, m.sdp as string)).catch((e: Error) => this.emit('error', e));
        break;
      case 'publisherJoined':
      case 'tracksChanged': {
        const p = m.publisher as PublisherInfo;
        this.publishers.set(p.participantId, p);
        this.emit(m.type, p);
        break;
      }
      case 'publisherLeft':
        this.publishers.delete(m.participantId as string);
        this.emit('publisherLeft', { participantId: m.participantId as string });
        break;
      case 'error':
        this.emit('error', new Error(`${m.code}: ${m.message}`));
        break;
    }
  }

  private async applySubscriberOffer(offerId: number, sdp: string): Promise<void> {
    let pc = this.subscribePc;
    if (!pc) {
      pc = this.subscribePc = new RTCPeerConnection(PC_CONFIG);
      pc.ontrack = (ev) => {
        const stream = ev.streams[0] ?? new MediaStream([ev.track]);
        this.emit('track', { publisherId: stream.id, trackId: ev.track.id, track: ev.track, stream });
      };
    }
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.requireSignaling().notify('subscriberAnswer', { offerId, sdp: answer.sdp });
  }
}
