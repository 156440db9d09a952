/**
 * Headless publisher and subscriber for Janus's VideoRoom over its HTTP API: the same NodePeer (ICE
 * controlling, DTLS, SRTP from src/transport) and SDP as NodeClient uses against Proxima.
 * Publish: create session → attach → joinandconfigure with our offer → Janus's answer.
 * Subscribe: join as subscriber with streams [{ feed }] → Janus's offer → start with our answer.
 */
import { randomBytes } from 'node:crypto';
import { generateIceCredentials } from '../../src/transport/ice/ice-lite.ts';
import { createDtlsCertificate, type DtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { NodePeer, randomSsrc, type OutgoingStream } from '../client/node-peer.ts';
import { PEER_EXT, PEER_PT, answerSubscribeOffer, buildPublishOffer, remoteTransportOf, type OfferedTrack } from '../client/peer-sdp.ts';
import { JanusSession, type JanusHandle } from './janus-http.ts';
import { openJanusLink, type JanusLink } from './janus-link.ts';
import { SubscriberRtcp } from './janus-rtcp.ts';

export const VIDEOROOM = 'janus.plugin.videoroom';

export type FeedId = number | string;
export type RoomId = number | string;

export interface RoomOptions {
  /** Default: Janus picks a random id. */
  room?: RoomId;
  /** Max concurrent publishers. Default 100. */
  publishers?: number;
  /** Video bitrate Janus advertises to publishers in REMB, bps. Default 2 Mbps (room for 500 kbps streams). */
  bitrate?: number;
  /** Periodic FIR/PLI to publishers every N s; 0 = none (default): only on subscriber join. */
  firFreq?: number;
  description?: string;
}

export interface PublishOptions {
  audio?: boolean;
  video?: boolean;
  certificate?: DtlsCertificate;
  display?: string;
  /** Local address to bind and advertise (the namespace's 127.0.0.1 by default). */
  bindIp?: string;
  connectTimeoutMs?: number;
}

export interface SubscribeOptions {
  certificate?: DtlsCertificate;
  bindIp?: string;
  connectTimeoutMs?: number;
  /** Receiver report period like a browser's; 0 = none (then Janus answers no NACKs: see janus-rtcp.ts). Default 1000. */
  receiverReportMs?: number;
  /**
   * Where to send instead of Janus's candidate, given that candidate (e.g. a weather proxy forwarding to
   * it). Janus is ICE-lite: it answers, and sends media to, whatever address our checks come from.
   */
  remote?: (janusCandidate: { ip: string; port: number }) => { ip: string; port: number } | Promise<{ ip: string; port: number }>;
}

export interface JanusPublication {
  peer: NodePeer;
  feedId: FeedId;
  room: RoomId;
  session: JanusSession;
  handle: JanusHandle;
  link: JanusLink;
  /** Janus's answer. */
  answerSdp: string;
  /** Our DTLS role (Janus's answer picks the other). */
  dtlsRole: 'client' | 'server';
  /** Leaves the room (destroys the session) and closes the peer. Safe to call twice. */
  close(): Promise<void>;
}

export interface JanusSubscription {
  peer: NodePeer;
  /** Janus's offer, one entry per m-line: payload types, ssrc/rtxSsrc and extension ids as offered. */
  tracks: OfferedTrack[];
  /** The `streams` list of Janus's `attached` event. */
  streams: Array<Record<string, unknown>>;
  /** Receiver reports, and PLI/NACK in the form Janus attributes to video (use these, not peer.sendPli/sendNack). */
  rtcp: SubscriberRtcp;
  session: JanusSession;
  handle: JanusHandle;
  link: JanusLink;
  offerSdp: string;
  answerSdp: string;
  close(): Promise<void>;
}

/** Closes what a half-built publish/subscribe opened, then rethrows. */
async function unwind(e: unknown, peer: NodePeer | null, link: JanusLink | null, session: JanusSession | null): Promise<never> {
  peer?.close();
  link?.close();
  await session?.destroy().catch(() => undefined);
  throw e;
}

export class JanusVideoRoomClient {
  /** Creates a room (VP8 + Opus, no recording) from a throwaway session; resolves with its id. */
  static async createRoom(url: string, opts: RoomOptions = {}): Promise<RoomId> {
    const session = await JanusSession.create(url);
    try {
      const h = await session.attach(VIDEOROOM);
      const r = await h.message({
        request: 'create',
        ...(opts.room !== undefined ? { room: opts.room } : {}),
        description: opts.description ?? 'proxima bench',
        publishers: opts.publishers ?? 100,
        bitrate: opts.bitrate ?? 2_000_000,
        bitrate_cap: false,
        fir_freq: opts.firFreq ?? 0,
        audiocodec: 'opus',
        videocodec: 'vp8',
        record: false,
        permanent: false,
      });
      if (r.data.videoroom !== 'created') throw new Error(`Janus create room: unexpected ${JSON.stringify(r.data)}`);
      return r.data.room as RoomId;
    } finally {
      await session.destroy();
    }
  }

  static async destroyRoom(url: string, room: RoomId): Promise<void> {
    const session = await JanusSession.create(url);
    try {
      const h = await session.attach(VIDEOROOM);
      await h.message({ request: 'destroy', room });
    } finally {
      await session.destroy();
    }
  }

  /** Joins `room` as a publisher of Opus and/or VP8 (+RTX); resolves once DTLS is up. */
  static async publish(url: string, room: RoomId, opts: PublishOptions = {}): Promise<JanusPublication> {
    const certificate = opts.certificate ?? (await createDtlsCertificate());
    const ice = generateIceCredentials();
    const streamId = `s${randomBytes(4).toString('hex')}`;
    const cname = `c${randomBytes(4).toString('hex')}`;
    const audio = (opts.audio ?? true) ? { ssrc: randomSsrc(), trackId: `${streamId}-a` } : undefined;
    const video = (opts.video ?? true) ? { ssrc: randomSsrc(), rtxSsrc: randomSsrc(), trackId: `${streamId}-v` } : undefined;
    const streams: OutgoingStream[] = [];
    if (audio) streams.push({ kind: 'audio', ssrc: audio.ssrc, payloadType: PEER_PT.opus, clockRate: 48000 });
    if (video) streams.push({ kind: 'video', ssrc: video.ssrc, payloadType: PEER_PT.vp8, clockRate: 90000, rtxSsrc: video.rtxSsrc, rtxPayloadType: PEER_PT.vp8Rtx });
    const bindIp = opts.bindIp ?? '127.0.0.1';
    let session: JanusSession | null = null;
    let link: JanusLink | null = null;
    let peer: NodePeer | null = null;
    try {
      link = await openJanusLink(ice, bindIp);
      session = await JanusSession.create(url);
      const handle = await session.attach(VIDEOROOM);
      const sdp = buildPublishOffer({ ice, fingerprint: certificate.fingerprint, cname, streamId, ...(audio ? { audio } : {}), ...(video ? { video } : {}), candidate: { ip: link.address, port: link.port } });
      const r = await handle.message({ request: 'joinandconfigure', room, ptype: 'publisher', display: opts.display ?? cname }, { type: 'offer', sdp, trickle: false });
      if (r.data.videoroom !== 'joined' || !r.jsep || r.jsep.type !== 'answer') throw new Error(`Janus joinandconfigure: no joined event with an answer: ${JSON.stringify(r.data)}`);
      const answerSdp = r.jsep.sdp;
      const remote = remoteTransportOf(answerSdp, { preferIp: bindIp });
      link.setRemote(remote.candidate.ip, remote.candidate.port);
      peer = new NodePeer({ link, certificate, ice, streams, ext: PEER_EXT, cname });
      // RFC 5763 §5: Janus answers actpass with active (it is the DTLS client), but honour either.
      const dtlsRole = remote.setup === 'active' ? 'server' : 'client';
      if (dtlsRole === 'client') await link.checkAnswered(1000);
      await peer.connect({ iceUfrag: remote.iceUfrag, icePwd: remote.icePwd, fingerprint: remote.fingerprint, dtlsRole }, opts.connectTimeoutMs);
      const s = session;
      const p = peer;
      let closing: Promise<void> | null = null;
      return {
        peer,
        feedId: r.data.id as FeedId,
        room,
        session,
        handle,
        link,
        answerSdp,
        dtlsRole,
        close: () =>
          (closing ??= (async () => {
            p.close();
            await s.destroy();
          })()),
      };
    } catch (e) {
      return unwind(e, peer, link, session);
    }
  }

  /**
   * Subscribes to every stream of `feedId`; resolves once DTLS is up. Several feeds make one multistream
   * subscription (Janus ≥ 1.0): one PeerConnection, m-lines in order of the feeds (see `streams` for which
   * mid carries which feed).
   */
  static async subscribe(url: string, room: RoomId, feedId: FeedId | readonly FeedId[], opts: SubscribeOptions = {}): Promise<JanusSubscription> {
    const certificate = opts.certificate ?? (await createDtlsCertificate());
    const ice = generateIceCredentials();
    const bindIp = opts.bindIp ?? '127.0.0.1';
    let session: JanusSession | null = null;
    let link: JanusLink | null = null;
    let peer: NodePeer | null = null;
    try {
      link = await openJanusLink(ice, bindIp);
      session = await JanusSession.create(url);
      const handle = await session.attach(VIDEOROOM);
      const feeds: readonly FeedId[] = Array.isArray(feedId) ? feedId : [feedId as FeedId];
      const r = await handle.message({ request: 'join', room, ptype: 'subscriber', streams: feeds.map((feed) => ({ feed })) });
      if (r.data.videoroom !== 'attached' || !r.jsep || r.jsep.type !== 'offer') throw new Error(`Janus subscriber join: no attached event with an offer: ${JSON.stringify(r.data)}`);
      const offerSdp = r.jsep.sdp;
      const a = answerSubscribeOffer(offerSdp, { ice, fingerprint: certificate.fingerprint, candidate: { ip: link.address, port: link.port }, preferIp: bindIp });
      const to = opts.remote ? await opts.remote(a.remote.candidate) : a.remote.candidate;
      link.setRemote(to.ip, to.port);
      peer = new NodePeer({ link, certificate, ice });
      const rtcp = new SubscriberRtcp(peer, link, a.tracks, opts.receiverReportMs || 1000);
      // Janus starts ICE for this handle when it has our answer: start first, then check.
      await handle.message({ request: 'start' }, { type: 'answer', sdp: a.sdp, trickle: false });
      // We answered setup:active: we are the DTLS client, so let Janus's check be answered first (see JanusLink).
      await link.checkAnswered(1000);
      await peer.connect({ iceUfrag: a.remote.iceUfrag, icePwd: a.remote.icePwd, fingerprint: a.remote.fingerprint, dtlsRole: 'client' }, opts.connectTimeoutMs);
      if (opts.receiverReportMs !== 0) rtcp.start();
      const s = session;
      const p = peer;
      let closing: Promise<void> | null = null;
      return {
        peer,
        tracks: a.tracks,
        streams: (r.data.streams as Array<Record<string, unknown>> | undefined) ?? [],
        rtcp,
        session,
        handle,
        link,
        offerSdp,
        answerSdp: a.sdp,
        close: () =>
          (closing ??= (async () => {
            rtcp.stop();
            p.close();
            await s.destroy();
          })()),
      };
    } catch (e) {
      return unwind(e, peer, link, session);
    }
  }
}
