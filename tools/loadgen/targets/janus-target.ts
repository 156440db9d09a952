/**
 * The same load against a Janus VideoRoom, for side-by-side benchmarks: publishers join the room with
 * `joinandconfigure`, viewers subscribe to every publisher's feed. Janus has no space, so only the
 * non-spatial scenarios (pair, fanout) apply; positions and spotlights are ignored.
 */
import { JanusVideoRoomClient, type FeedId, type JanusSubscription, type RoomId } from '../../janus/janus-client.ts';
import { writeNack, writePli } from '../../../src/rtp/rtcp-feedback.ts';
import { writeRr, writeSdesCname } from '../../../src/rtp/rtcp-reports.ts';
import type { DtlsCertificate } from '../../../src/transport/dtls/certificate.ts';
import type { Clock } from '../../../src/util/clock.ts';
import type { MediaClip } from '../media/clip.ts';
import { ClipPublisher } from '../publish/clip-publisher.ts';
import { LoadReceiver } from '../receive/receiver.ts';
import type { SendLog } from '../send-log.ts';
import type { LoadPerson, PersonSpec } from '../person.ts';

export interface JanusTargetOptions {
  url: string;
  room: RoomId;
  clip: MediaClip;
  /** The thumbnail clip, for people who publish one. */
  thumbClip?: MediaClip;
  clock: Clock;
  certificate: DtlsCertificate;
  /** Publishers in the plan: viewers wait for all of them before subscribing. */
  publishers: number;
  freezeMs?: number;
  random?: () => number;
  stalls?: { blockedMs(fromMs: number, toMs: number): number };
  /**
   * Viewers take every publisher in one multistream subscription (one PeerConnection and transport, as a
   * browser on Janus ≥ 1.0 can) instead of one per publisher; their receivers then also see `stalls`.
   */
  subscribeAll?: boolean;
  /** Where a viewer sends instead of Janus's candidate (e.g. a weather proxy in front of it; see SubscribeOptions.remote). */
  subscriberRemote?: (spec: PersonSpec, janusCandidate: { ip: string; port: number }) => { ip: string; port: number } | Promise<{ ip: string; port: number }>;
}

export class JanusTarget {
  readonly name = 'janus';
  private readonly sendLogs = new Map<string, SendLog>();
  private readonly feeds: string[] = [];
  private readonly feedsByName = new Map<string, string>();
  private readonly allPublished: Promise<void>;
  private published: () => void = () => {};

  constructor(private readonly opts: JanusTargetOptions) {
    this.allPublished = new Promise((resolve) => (this.published = resolve));
    if (opts.publishers === 0) this.published();
  }

  /** The feed id (what receivers report as `publisherId`) of the publisher who joined as `name`. */
  feedOf(name: string): string | undefined {
    return this.feedsByName.get(name);
  }

  async join(spec: PersonSpec): Promise<LoadPerson> {
    const o = this.opts;
    const joinStartedAt = o.clock.now();
    const errors: Error[] = [];
    const closers: (() => Promise<void>)[] = [];
    const receivers: LoadReceiver[] = [];
    let publisher: ClipPublisher | null = null;
    const closeAll = () => {
      publisher?.stop();
      for (const r of receivers) r.close();
      for (const c of closers) c().catch((e: Error) => errors.push(e));
    };
    try {
      if (spec.publish) {
        const pub = await JanusVideoRoomClient.publish(o.url, o.room, { audio: true, video: true, certificate: o.certificate, display: spec.name });
        closers.push(() => pub.close());
        const clip = spec.thumbnail && o.thumbClip ? o.thumbClip : o.clip;
        publisher = new ClipPublisher(pub.peer, clip, o.clock, {
          video: [{ key: 'video', layer: spec.thumbnail ? 0 : (spec.videoLayer ?? clip.layers.length - 1) }],
          audioKey: 'audio',
          talkShare: spec.talkShare ?? 1,
          startFrame: Math.floor((o.random ?? Math.random)() * clip.frameCount),
          ...(o.random ? { random: o.random } : {}),
        });
        const feed = String(pub.feedId);
        this.sendLogs.set(feed, publisher.sendLog);
        publisher.start();
        this.feeds.push(feed);
        this.feedsByName.set(spec.name, feed);
        if (this.feeds.length === o.publishers) this.published();
      } else if (o.subscribeAll) {
        await this.allPublished;
        const sub = await JanusVideoRoomClient.subscribe(o.url, o.room, this.feeds.map(feedIdOf), {
          certificate: o.certificate,
          ...(o.subscriberRemote ? { remote: (c: { ip: string; port: number }) => o.subscriberRemote!(spec, c) } : {}),
        });
        closers.push(() => sub.close());
        receivers.push(this.multistreamReceiver(sub, spec.discardRtx === true));
      } else {
        await this.allPublished;
        for (const feed of this.feeds) {
          const sub = await JanusVideoRoomClient.subscribe(o.url, o.room, feedIdOf(feed), { certificate: o.certificate });
          closers.push(() => sub.close());
          // Janus's receiver reports come from sub.rtcp, which also wraps PLI/NACK the way Janus maps them to video.
          const peer = sub.peer;
          const r = new LoadReceiver(
            () => ({
              state: peer.state,
              rtcpSsrc: peer.rtcpSsrc,
              sendNack: (_ssrc: number, seqs: readonly number[]) => sub.rtcp.nack([...seqs]),
              sendPli: () => sub.rtcp.requestKeyframe(),
              sendRtcp: (b: Buffer) => peer.sendRtcp(b),
            }),
            o.clock,
            { sendLogs: (id) => this.sendLogs.get(id) ?? null, receiverReports: false, ...(o.freezeMs !== undefined ? { freezeMs: o.freezeMs } : {}), ...(spec.discardRtx ? { discardRtx: true } : {}) },
          );
          let twcc = 0;
          const infos = [];
          for (const t of sub.tracks) {
            if (t.ssrc === undefined) continue;
            if (t.ext.transportCc) twcc = t.ext.transportCc;
            infos.push({ publisherId: feed, kind: t.kind, ssrc: t.ssrc, ...(t.rtxSsrc !== undefined ? { rtxSsrc: t.rtxSsrc } : {}) });
          }
          r.setStreams(infos, twcc);
          peer.onRtp = (v) => r.handleRtp(v);
          peer.onRtcp = (p) => r.handleRtcp(p);
          receivers.push(r);
        }
      }
    } catch (e) {
      closeAll();
      throw new Error(`${spec.name}: ${(e as Error).message}`);
    }
    return {
      spec,
      id: spec.name,
      joinStartedAt,
      publisher,
      receivers,
      errors,
      walkTo: () => Promise.reject(new Error('Janus has no space to walk in')),
      close: closeAll,
    };
  }

  /**
   * One receiver for a multistream subscription: streams named by the feed Janus says each mid carries.
   * sub.rtcp's PLI/NACK name only the first video, so feedback here goes per SSRC, in the same RR-led
   * compound (Janus picks the m-line by the first report block, see janus-rtcp.ts).
   */
  private multistreamReceiver(sub: JanusSubscription, discardRtx: boolean): LoadReceiver {
    const o = this.opts;
    const peer = sub.peer;
    const feedOfMid = new Map<string, string>();
    for (const st of sub.streams) if (st.mid !== undefined && st.feed_id !== undefined) feedOfMid.set(String(st.mid), String(st.feed_id));
    const feedback = (ssrc: number, fb: Buffer) => {
      if (peer.state !== 'connected') return;
      const block = sub.rtcp.stats.get(ssrc)?.makeReportBlock(performance.now());
      peer.sendRtcp(Buffer.concat([writeRr(peer.rtcpSsrc, block ? [block] : []), writeSdesCname(peer.rtcpSsrc, peer.cname), fb]));
    };
    const r = new LoadReceiver(
      () => ({
        state: peer.state,
        rtcpSsrc: peer.rtcpSsrc,
        sendNack: (ssrc: number, seqs: readonly number[]) => feedback(ssrc, writeNack(peer.rtcpSsrc, ssrc, seqs)),
        sendPli: (ssrc: number) => feedback(ssrc, writePli(peer.rtcpSsrc, ssrc)),
        sendRtcp: (b: Buffer) => peer.sendRtcp(b),
      }),
      o.clock,
      {
        sendLogs: (id) => this.sendLogs.get(id) ?? null,
        receiverReports: false,
        ...(o.freezeMs !== undefined ? { freezeMs: o.freezeMs } : {}),
        ...(o.stalls ? { stalls: o.stalls } : {}),
        ...(discardRtx ? { discardRtx: true } : {}),
      },
    );
    let twcc = 0;
    const infos = [];
    for (const t of sub.tracks) {
      const feed = feedOfMid.get(t.mid);
      if (t.ssrc === undefined || feed === undefined) continue;
      if (t.ext.transportCc) twcc = t.ext.transportCc;
      infos.push({ publisherId: feed, kind: t.kind, ssrc: t.ssrc, ...(t.rtxSsrc !== undefined ? { rtxSsrc: t.rtxSsrc } : {}) });
    }
    r.setStreams(infos, twcc);
    peer.onRtp = (v) => r.handleRtp(v);
    peer.onRtcp = (p) => r.handleRtcp(p);
    return r;
  }
}

/** Janus reports numeric feed ids unless the room uses string ids. */
const feedIdOf = (feed: string): FeedId => (isNaN(Number(feed)) ? feed : Number(feed));
