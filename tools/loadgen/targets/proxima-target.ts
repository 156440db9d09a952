/**
 * Load against a Proxima server over its real protocol (WebSocket signaling v1, ICE/DTLS/SRTP from the
 * project's own transport code): people join a space at a position; who receives whom follows from the
 * space's rules, the server offering subscribe m-lines as links appear.
 */
import { NodeClient } from '../../client/node-client.ts';
import type { DtlsCertificate } from '../../../src/transport/dtls/certificate.ts';
import type { Clock } from '../../../src/util/clock.ts';
import type { MediaClip } from '../media/clip.ts';
import { ClipPublisher } from '../publish/clip-publisher.ts';
import { LoadReceiver } from '../receive/receiver.ts';
import type { SendLog } from '../send-log.ts';
import type { LoadPerson, PersonSpec } from '../person.ts';
import { inboundStreamsOf } from '../receive/inbound-stream.ts';

/** rids of the clip's three layers, low to high, as the web client names them. */
const SIMULCAST_RIDS = ['q', 'h', 'f'] as const;

export interface ProximaTargetOptions {
  url: string;
  space: string;
  clip: MediaClip;
  /** The thumbnail clip, for people who publish one. */
  thumbClip?: MediaClip;
  clock: Clock;
  certificate: DtlsCertificate;
  /** Join tokens; default: guest tokens from the server's POST /api/token. */
  token?: (spec: PersonSpec) => string | undefined;
  freezeMs?: number;
  random?: () => number;
  stalls?: { blockedMs(fromMs: number, toMs: number): number };
}

export class ProximaTarget {
  readonly name = 'proxima';
  /** Send logs by participant id, shared by every receiver for end-to-end delay. */
  private readonly sendLogs = new Map<string, SendLog>();

  constructor(private readonly opts: ProximaTargetOptions) {}

  async join(spec: PersonSpec): Promise<LoadPerson> {
    const o = this.opts;
    const joinStartedAt = o.clock.now();
    const token = o.token?.(spec);
    const errors: Error[] = [];
    let closing = false;
    let client: NodeClient | null = null;
    const receiver = new LoadReceiver(() => client?.subscriber ?? null, o.clock, {
      sendLogs: (id) => this.sendLogs.get(id) ?? null,
      ...(o.freezeMs !== undefined ? { freezeMs: o.freezeMs } : {}),
      ...(o.stalls ? { stalls: o.stalls } : {}),
      ...(spec.discardRtx ? { discardRtx: true } : {}),
    });
    const hook = (c: NodeClient) => {
      c.retainPushes = false;
      c.onClose = (code, reason) => {
        if (!closing) errors.push(new Error(`${spec.name}: signaling closed (${code} ${reason})`));
      };
      c.onSubscriberPeer = (peer) => {
        peer.onRtp = (v) => receiver.handleRtp(v);
        peer.onRtcp = (p) => receiver.handleRtcp(p);
      };
      c.onSubscribeTracks = (tracks) => {
        const { infos, transportCcExt } = inboundStreamsOf(tracks);
        receiver.setStreams(infos, transportCcExt);
      };
    };
    client = await NodeClient.join(o.url, o.space, spec.name, {
      certificate: o.certificate,
      ...(spec.x !== undefined && spec.y !== undefined ? { x: spec.x, y: spec.y } : {}),
      ...(token ? { token } : {}),
      beforeJoin: hook,
    }).catch((e: Error) => {
      receiver.close();
      throw e;
    });
    const c = client;
    let publisher: ClipPublisher | null = null;
    // Dynacast: stop sending the layers the server says nobody watches, as the browser SDK does.
    c.onPush = (m) => {
      if (m.type !== 'videoLayers' || !publisher || !Array.isArray(m.layers)) return;
      for (const l of m.layers as Array<{ rid: string; active: boolean }>) publisher.setActive(`video/${l.rid}`, l.active);
    };
    try {
      if (spec.publish) {
        const simulcast = spec.simulcast === true && o.clip.layers.length === SIMULCAST_RIDS.length;
        const { peer } = await c.publish({ audio: true, video: true, ...(simulcast ? { simulcast: [...SIMULCAST_RIDS] } : {}) });
        const clip = !simulcast && spec.thumbnail && o.thumbClip ? o.thumbClip : o.clip;
        publisher = new ClipPublisher(peer, clip, o.clock, {
          video: simulcast
            ? SIMULCAST_RIDS.map((rid, layer) => ({ key: `video/${rid}`, layer }))
            : [{ key: 'video', layer: spec.thumbnail ? 0 : (spec.videoLayer ?? clip.layers.length - 1) }],
          audioKey: 'audio',
          talkShare: spec.talkShare ?? 1,
          startFrame: Math.floor((o.random ?? Math.random)() * clip.frameCount),
          ...(o.random ? { random: o.random } : {}),
        });
        this.sendLogs.set(c.participantId, publisher.sendLog);
        publisher.start();
      }
      if (spec.spotlight) await c.request('spotlight', { on: true });
    } catch (e) {
      publisher?.stop();
      receiver.close();
      c.close();
      throw new Error(`${spec.name}: ${(e as Error).message}`);
    }
    return {
      spec,
      id: c.participantId,
      joinStartedAt,
      publisher,
      receivers: [receiver],
      errors,
      walkTo: async (x, y) => {
        await c.request('move', { x, y, goTo: true });
      },
      close: () => {
        closing = true;
        publisher?.stop();
        receiver.close();
        c.close();
      },
    };
  }
}
