/**
 * A person of a capacity run against Proxima: joins at a position, publishes a clip with send-time RTP
 * timestamps if asked, and receives through a LightReceiver (counting, not viewing). The caller drives every
 * receiver's `tick()` from one timer.
 */
import { NodeClient } from '../../client/node-client.ts';
import type { DtlsCertificate } from '../../../src/transport/dtls/certificate.ts';
import { systemClock } from '../../../src/util/clock.ts';
import type { MediaClip } from '../media/clip.ts';
import { ClipPublisher } from '../publish/clip-publisher.ts';
import { LightReceiver } from '../receive/light-receiver.ts';
import type { Histogram } from '../receive/histogram.ts';
import type { PersonSpec } from '../person.ts';
import { inboundStreamsOf } from '../receive/inbound-stream.ts';

export interface LightPerson {
  spec: PersonSpec;
  client: NodeClient;
  publisher: ClipPublisher | null;
  receiver: LightReceiver;
  /** Problems after joining (signaling closed…). */
  errors: string[];
  close(): void;
}

export interface LightPersonOptions {
  url: string;
  space: string;
  token?: string;
  clip: MediaClip;
  thumbClip: MediaClip;
  certificate: DtlsCertificate;
  /** Where the receiver puts its delay samples (shared by a process's people). */
  delay?: Histogram;
  /** Audio's delay samples alone (also in `delay`). */
  audioDelay?: Histogram;
  authEvery?: number;
  random?: () => number;
}

export async function joinLightPerson(spec: PersonSpec, o: LightPersonOptions): Promise<LightPerson> {
  let client: NodeClient | null = null;
  let closing = false;
  const errors: string[] = [];
  const receiver = new LightReceiver(() => client?.subscriber ?? null, systemClock, o.delay, o.authEvery, o.audioDelay);
  client = await NodeClient.join(o.url, o.space, spec.name, {
    certificate: o.certificate,
    ...(o.token ? { token: o.token } : {}),
    ...(spec.x !== undefined && spec.y !== undefined ? { x: spec.x, y: spec.y } : {}),
    beforeJoin: (nc) => {
      nc.retainPushes = false;
      nc.onClose = (code, reason) => {
        if (!closing) errors.push(`${spec.name}: signaling closed (${code} ${reason})`);
      };
      nc.onSubscriberPeer = (peer) => {
        peer.onProtectedRtp = (buf) => receiver.handleProtected(buf);
        peer.onRtp = (v) => receiver.handleRtp(v);
        peer.onRtcp = (p) => receiver.handleRtcp(p);
      };
      nc.onSubscribeTracks = (tracks) => {
        const { infos, transportCcExt } = inboundStreamsOf(tracks);
        receiver.setStreams(infos, transportCcExt);
      };
    },
  });
  const c = client;
  let publisher: ClipPublisher | null = null;
  try {
    if (spec.publish) {
      const { peer } = await c.publish({ audio: true, video: true });
      const clip = spec.thumbnail ? o.thumbClip : o.clip;
      const rnd = o.random ?? Math.random;
      publisher = new ClipPublisher(peer, clip, systemClock, {
        video: [{ key: 'video', layer: spec.thumbnail ? 0 : (spec.videoLayer ?? clip.layers.length - 1) }],
        audioKey: 'audio',
        talkShare: spec.talkShare ?? 1,
        startFrame: Math.floor(rnd() * clip.frameCount),
        random: rnd,
        sendTimeTimestamps: true,
      });
      publisher.start();
    }
    if (spec.spotlight) await c.request('spotlight', { on: true });
  } catch (e) {
    publisher?.stop();
    c.close();
    throw new Error(`${spec.name}: ${(e as Error).message}`);
  }
  return {
    spec,
    client: c,
    publisher,
    receiver,
    errors,
    close: () => {
      closing = true;
      publisher?.stop();
      c.close();
    },
  };
}
