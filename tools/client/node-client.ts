/** One participant of a headless client over the real signaling WebSocket. */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { generateIceCredentials } from '../../src/transport/ice/ice-lite.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { guestToken } from './guest-token.ts';
import { NodePeer, randomSsrc, type OutgoingStream } from './node-peer.ts';
import { openUdpLink } from './udp-link.ts';
import { PEER_EXT, PEER_PT, PEER_SIMULCAST_EXT, answerSubscribeOffer, buildPublishOffer, remoteTransportOf, type OfferedTrack } from './peer-sdp.ts';

export interface TrackInfo {
  trackId: string;
  kind: 'audio' | 'video';
  mid?: string;
}

type Msg = { type: string; id?: number; [k: string]: unknown };

/**
 * One participant over the real WebSocket (protocol v1, src/signaling/messages.ts): a publish NodePeer
 * (we offer, RFC 3264) and a subscribe NodePeer (the server offers, we answer setup:active).
 */
export class NodeClient {
  participantId = '';
  /** The server's `joined` answer (map, people, grants). */
  joined: Msg = { type: 'joined' };
  publisher: NodePeer | null = null;
  subscriber: NodePeer | null = null;
  /** m-lines of the latest subscribe offer. */
  subscribeTracks: OfferedTrack[] = [];
  offersAnswered = 0;
  /** Set once the signaling WebSocket closed, by whichever side. */
  closed: { code: number; reason: string } | null = null;
  onClose: (code: number, reason: string) => void = () => {};
  /** Called when the subscribe peer is created (before it connects), to hook its packets. */
  onSubscriberPeer: (peer: NodePeer) => void = () => {};
  /** Called with every push (a message that answers no request), whether or not pushes are retained. */
  onPush: (m: Msg) => void = () => {};
  /** Called with the m-lines of each subscribe offer once it is answered. */
  onSubscribeTracks: (tracks: OfferedTrack[]) => void = () => {};
  /** Every push (message without a pending request id), oldest first; empty when `retainPushes` is off. */
  readonly pushes: Msg[] = [];
  /** Keep pushes for nextPush (tests); a load generator turns it off so hours of pushes do not pile up. */
  retainPushes = true;
  readonly errors: Error[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Msg) => void; reject: (e: Error) => void }>();
  private offerChain: Promise<void> = Promise.resolve();
  private readonly subIce = generateIceCredentials();
  private subReady: Promise<NodePeer> | null = null;

  private constructor(
    private readonly ws: WebSocket,
    readonly certificate: DtlsCertificate,
  ) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.onClose(code, String(reason));
      for (const p of this.pending.values()) p.reject(new Error(`signaling closed (${code} ${String(reason)})`));
      this.pending.clear();
    });
  }

  /** Connect to `httpUrl`'s /ws and join `space`. */
  static async join(httpUrl: string, space: string, name: string, opts: { certificate?: DtlsCertificate; x?: number; y?: number; token?: string; beforeJoin?: (c: NodeClient) => void } = {}): Promise<NodeClient> {
    const certificate = opts.certificate ?? (await createDtlsCertificate());
    const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const c = new NodeClient(ws, certificate);
    // Hooks must be in place before the join: the first subscribe offer can follow it at once.
    opts.beforeJoin?.(c);
    const r = await c.request('join', { space, name, token: opts.token ?? (await guestToken(httpUrl, space, name)), ...(opts.x !== undefined ? { x: opts.x, y: opts.y } : {}) });
    c.participantId = String(r.participantId);
    c.joined = r;
    return c;
  }

  /** A message that gets no response (subscriberAnswer, report). */
  notify(type: string, body: Record<string, unknown> = {}): void {
    this.ws.send(JSON.stringify({ v: 1, type, ...body }));
  }

  request(type: string, body: Record<string, unknown> = {}): Promise<Msg> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ v: 1, id, type, ...body }));
    });
  }

  /**
   * Publish Opus and/or VP8 (+RTX) from a new publish transport; resolves once DTLS is up. With
   * `simulcast` (rids, e.g. ['q', 'h', 'f']) the video goes out like Chrome's rid-based simulcast: one
   * stream per layer keyed `video/<rid>`, each with its own SSRC and RTX SSRC, naming itself with the mid,
   * rtp-stream-id and (on RTX) repaired-rtp-stream-id extensions; the offer carries no a=ssrc.
   */
  async publish(opts: { audio?: boolean; video?: boolean; simulcast?: string[] } = {}): Promise<{ peer: NodePeer; tracks: TrackInfo[] }> {
    if (this.publisher) throw new Error('already publishing');
    const ice = generateIceCredentials();
    const streamId = `s${randomBytes(4).toString('hex')}`;
    const streams: OutgoingStream[] = [];
    const rids = opts.simulcast ?? [];
    const audio = opts.audio ?? true ? { ssrc: randomSsrc(), trackId: `${streamId}-a` } : undefined;
    const video = opts.video ?? true ? { ssrc: randomSsrc(), rtxSsrc: randomSsrc(), trackId: `${streamId}-v` } : undefined;
    if (audio) streams.push({ kind: 'audio', ssrc: audio.ssrc, payloadType: PEER_PT.opus, clockRate: 48000 });
    if (video && rids.length === 0) streams.push({ kind: 'video', ssrc: video.ssrc, payloadType: PEER_PT.vp8, clockRate: 90000, rtxSsrc: video.rtxSsrc, rtxPayloadType: PEER_PT.vp8Rtx });
    if (video && rids.length > 0) {
      // buildPublishOffer numbers m-lines in order: audio first when present.
      const mid = audio ? '1' : '0';
      for (const rid of rids) {
        streams.push({ kind: 'video', key: `video/${rid}`, mid, rid, ssrc: randomSsrc(), payloadType: PEER_PT.vp8, clockRate: 90000, rtxSsrc: randomSsrc(), rtxPayloadType: PEER_PT.vp8Rtx });
      }
    }
    const cname = `c${randomBytes(4).toString('hex')}`;
    const sdp = buildPublishOffer({
      ice,
      fingerprint: this.certificate.fingerprint,
      cname,
      streamId,
      ...(audio ? { audio } : {}),
      ...(video ? { video: rids.length > 0 ? { trackId: video.trackId } : video } : {}),
      ...(video && rids.length > 0 ? { simulcast: { rids } } : {}),
    });
    const r = await this.request('publish', { sdp });
    const remote = remoteTransportOf(String(r.sdp));
    const link = await openUdpLink(remote.candidate.ip, remote.candidate.port);
    const ext = rids.length > 0 ? { ...PEER_EXT, ...PEER_SIMULCAST_EXT } : PEER_EXT;
    const peer = new NodePeer({ link, certificate: this.certificate, ice, streams, ext, cname });
    this.publisher = peer;
    // RFC 5763 §5: the server answered active (it is the DTLS client) or passive.
    await peer.connect({ iceUfrag: remote.iceUfrag, icePwd: remote.icePwd, fingerprint: remote.fingerprint, dtlsRole: remote.setup === 'active' ? 'server' : 'client' });
    return { peer, tracks: r.tracks as TrackInfo[] };
  }

  async subscribe(publisherId: string, trackIds?: string[]): Promise<string[]> {
    const r = await this.request('subscribe', { publisherId, ...(trackIds ? { trackIds } : {}) });
    return r.trackIds as string[];
  }

  async unsubscribe(publisherId: string, trackIds?: string[]): Promise<string[]> {
    const r = await this.request('unsubscribe', { publisherId, ...(trackIds ? { trackIds } : {}) });
    return r.trackIds as string[];
  }

  /** The subscribe transport, once connected (it starts with the first subscriber offer). */
  subscriberReady(timeoutMs = 10_000): Promise<NodePeer> {
    if (this.subReady) return this.subReady;
    return new Promise((resolve, reject) => {
      const end = Date.now() + timeoutMs;
      const poll = () => {
        if (this.subReady) return void this.subReady.then(resolve, reject);
        if (Date.now() > end) return reject(new Error(`no subscriber offer within ${timeoutMs} ms`));
        setTimeout(poll, 20);
      };
      poll();
    });
  }

  /** The first push of `type` not yet taken, waiting for it if needed. */
  async nextPush(type: string, timeoutMs = 5000): Promise<Msg> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.pushes.findIndex((m) => m.type === type);
      if (i >= 0) return this.pushes.splice(i, 1)[0]!;
      if (Date.now() > end) throw new Error(`no ${type} push within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.publisher?.close();
    this.subscriber?.close();
    this.ws.close();
  }

  private onMessage(text: string): void {
    let m: Msg;
    try {
      m = JSON.parse(text) as Msg;
    } catch {
      this.errors.push(new Error(`non-JSON frame: ${text.slice(0, 80)}`));
      return;
    }
    const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (p) {
      this.pending.delete(m.id!);
      if (m.type === 'error') p.reject(new Error(`${String(m.code)}: ${String(m.message)}`));
      else p.resolve(m);
      return;
    }
    if (m.type === 'subscriberOffer') {
      // Offers are answered one at a time, in order, like the browser SDK does.
      this.offerChain = this.offerChain.then(() => this.answer(Number(m.offerId), String(m.sdp))).catch((e: Error) => void this.errors.push(e));
    }
    if (this.retainPushes) this.pushes.push(m);
    this.onPush(m);
  }

  private async answer(offerId: number, sdp: string): Promise<void> {
    const a = answerSubscribeOffer(sdp, { ice: this.subIce, fingerprint: this.certificate.fingerprint });
    this.subscribeTracks = a.tracks;
    this.ws.send(JSON.stringify({ v: 1, type: 'subscriberAnswer', offerId, sdp: a.sdp }));
    this.offersAnswered++;
    this.onSubscribeTracks(a.tracks);
    if (this.subscriber) return;
    const link = await openUdpLink(a.remote.candidate.ip, a.remote.candidate.port);
    const peer = new NodePeer({ link, certificate: this.certificate, ice: this.subIce });
    this.subscriber = peer;
    this.onSubscriberPeer(peer);
    // We answered setup:active: we are the DTLS client.
    this.subReady = peer.connect({ iceUfrag: a.remote.iceUfrag, icePwd: a.remote.icePwd, fingerprint: a.remote.fingerprint, dtlsRole: 'client' }).then(() => peer);
    this.subReady.catch((e: Error) => void this.errors.push(e));
  }
}
