/**
 * Fuzz targets for what arrives as text or between nodes: SDP offer/answer handling, every signaling
 * message through the server's own parse path, join tokens, and relay datagrams (cluster mode) with the
 * TrackRelay behind them.
 */
import { createHmac } from 'node:crypto';
import { parsePublishOffer } from '../../../src/signaling/sdp/publish-offer.ts';
import { buildPublishAnswer } from '../../../src/signaling/sdp/publish-answer.ts';
import { parseSubscribeAnswer } from '../../../src/signaling/sdp/subscribe-answer.ts';
import { isSdpError } from '../../../src/signaling/sdp/types.ts';
import { LOCAL } from '../../../src/signaling/sdp/test-fixtures.ts';
import { MAX_MESSAGE_BYTES, MAX_SDP_BYTES, parseClientMessage } from '../../../src/signaling/messages.ts';
import { TokenError, verifyToken } from '../../../src/server/auth/tokens.ts';
import { RelayEndpoint, type RelayEndpointHandler } from '../../../src/transport/relay/relay-endpoint.ts';
import { RELAY_HEADER_LENGTH, RELAY_TAG_LENGTH, RelayHeaderView, nodeNumOf, sealRelay } from '../../../src/transport/relay/relay-packet.ts';
import { deriveLinkKeys, relayKeyPairFromRaw } from '../../../src/transport/relay/relay-keys.ts';
import { TrackRelay } from '../../../src/cascade/relay/track-relay.ts';
import type { TrackDesc } from '../../../src/cascade/relay/track-desc.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { createLogger } from '../../../src/util/logger.ts';
import type { FuzzTarget } from '../target.ts';
import { DropWatch } from './media-world.ts';

/** sdp-publish: a publish offer parsed and answered, as Participant.publish does. */
export function sdpPublishTarget(): FuzzTarget {
  return {
    name: 'sdp-publish',
    about: 'parsePublishOffer → buildPublishAnswer (Participant.publish)',
    kind: 'text',
    maxLen: MAX_SDP_BYTES + 16,
    headerBytes: 0,
    run(input) {
      const offer = parsePublishOffer(input.toString('utf8'));
      if (isSdpError(offer)) return offer.code;
      const answer = buildPublishAnswer(offer, LOCAL, undefined, { sessionKey: 'fuzz' });
      return `ok:${answer.setup}:${Math.min(answer.media.length, 4)}`;
    },
  };
}

/** sdp-subscribe: the browser's answer to a three-m-line subscribe offer, as Subscriber.onAnswer parses it. */
export function sdpSubscribeTarget(): FuzzTarget {
  const mids = ['0', '1', '2'];
  return {
    name: 'sdp-subscribe',
    about: 'parseSubscribeAnswer (Subscriber.onAnswer)',
    kind: 'text',
    maxLen: MAX_SDP_BYTES + 16,
    headerBytes: 0,
    run(input) {
      const a = parseSubscribeAnswer(input.toString('utf8'), mids);
      if (isSdpError(a)) return a.code;
      return `ok:${a.transport?.setup ?? 'none'}:${a.media.length}`;
    },
  };
}

/** signaling: one WebSocket text frame through parseClientMessage, the path SignalingConnection.onMessage takes. */
export function signalingTarget(): FuzzTarget {
  return {
    name: 'signaling',
    about: 'parseClientMessage: size cap, JSON with forbidden keys, version, every ClientMessage schema (zod)',
    kind: 'json',
    maxLen: MAX_MESSAGE_BYTES + 64,
    headerBytes: 0,
    run(input) {
      const r = parseClientMessage(input.toString('utf8'));
      if (r.ok) return `ok:${r.msg.type}`;
      const e = r.error as { code?: string; message?: string };
      return `${e.code}:${(e.message ?? '').slice(0, 24)}`;
    },
  };
}

export const FUZZ_TOKEN_SECRET = 'fuzz-token-secret-fuzz-token-secret-0123';
/** The verifier's clock: tokens in the corpus expire after it. */
export const FUZZ_NOW_S = 1_800_000_000;

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');
function sign(h: string, b: string): string {
  return createHmac('sha256', FUZZ_TOKEN_SECRET).update(`${h}.${b}`).digest('base64url');
}

/**
 * jwt: verifyToken. Envelope bit 1 clear: the rest is "header JSON \n claims JSON", made into a token here;
 * set: the rest is the token text itself. Bit 0: the signature is made valid for what precedes it, so claims
 * parsing is reached. TokenError is the documented failure; anything else escapes.
 */
export function jwtTarget(): FuzzTarget {
  return {
    name: 'jwt',
    about: 'verifyToken (HS256 join tokens, src/server/auth/tokens.ts)',
    kind: 'text',
    maxLen: 4096 + 1,
    headerBytes: 1,
    run(input) {
      const mode = input.length > 0 ? input[0] : 0;
      const rest = input.toString('utf8', 1);
      let token: string;
      if (mode & 2) {
        token = rest;
        if (mode & 1) {
          const parts = rest.split('.');
          if (parts.length >= 2) token = `${parts[0]}.${parts[1]}.${sign(parts[0], parts[1])}`;
        }
      } else {
        const nl = rest.indexOf('\n');
        const h = b64url(nl < 0 ? rest : rest.slice(0, nl));
        const b = b64url(nl < 0 ? '' : rest.slice(nl + 1));
        token = `${h}.${b}.${mode & 1 ? sign(h, b) : 'AAAA'}`;
      }
      const g = verifyToken(token, FUZZ_TOKEN_SECRET, FUZZ_NOW_S);
      return `ok:${g.publish}:${g.spotlight}`;
    },
    expected: (e) => e instanceof TokenError,
  };
}

/** Fixed relay identities, so a sealed input replays the same way in every run. */
const RELAY_A = { id: 'fuzz-a', raw: Buffer.alloc(32, 0x41) };
const RELAY_B = { id: 'fuzz-b', raw: Buffer.alloc(32, 0x42) };
export const RELAY_CLUSTER_SECRET = 'fuzz-cluster-secret-fuzz-cluster-secret!';
/** A video track of node fuzz-c that this node takes from fuzz-b: RTP for its streams reaches a Producer. */
export const RELAYED_DESC: TrackDesc = {
  trackId: 'tr-fuzz',
  publisherId: 'p-fuzz',
  origin: 'fuzz-c',
  originNum: nodeNumOf('fuzz-c'),
  kind: 'video',
  mid: '1',
  codec: 'vp8',
  clockRate: 90000,
  payloadType: 96,
  audioLevelExtId: 0,
  rids: ['q', 'h', 'f'],
  streamIds: [7, 8, 9],
};

/** What the fuzz peer fuzz-b uses to seal datagrams towards us (its send key = our receive key). */
export function relaySendKey(): Buffer {
  const a = relayKeyPairFromRaw(RELAY_A.raw);
  const b = relayKeyPairFromRaw(RELAY_B.raw);
  return deriveLinkKeys({ myPrivateKey: b.privateKey, peerPublicKeyB64: a.publicKeyB64, myId: RELAY_B.id, peerId: RELAY_A.id, clusterSecret: RELAY_CLUSTER_SECRET }).sendKey;
}

/**
 * relay: one datagram into RelayEndpoint's receive (header, sender, AES-GCM, replay window, PING/PONG) with a
 * TrackRelay behind it (RTP into a relay-fed Producer, RTCP feedback, CONTROL wants as JSON). Envelope bit 0:
 * the rest is header + plaintext, sealed here with fuzz-b's key (as a compromised or buggy node would send);
 * bit 1: sender and counter are set to fuzz-b's next one, so the replay window lets it through. The endpoint
 * contains its handler's throws; the harness counts them as escapes.
 */
export function relayTarget(): FuzzTarget {
  const clock = new FakeClock();
  const log = createLogger('silent');
  const key = relaySendKey();
  const bNum = nodeNumOf(RELAY_B.id);
  const watch = new DropWatch();
  const header = new RelayHeaderView();
  let counter = 0;
  let handlerError: unknown = null;
  let endpoint: RelayEndpoint;
  let relay: TrackRelay;
  const guard =
    <A extends unknown[]>(f: (...a: A) => void) =>
    (...a: A): void => {
      try {
        f(...a);
      } catch (e) {
        handlerError = e;
        throw e;
      }
    };
  const build = () => {
    relay?.close();
    endpoint?.close();
    endpoint = new RelayEndpoint({ nodeId: RELAY_A.id, keyPair: relayKeyPairFromRaw(RELAY_A.raw), clusterSecret: RELAY_CLUSTER_SECRET, host: '127.0.0.1', clock, log });
    endpoint.addPeer({ id: RELAY_B.id, publicKeyB64: relayKeyPairFromRaw(RELAY_B.raw).publicKeyB64, address: { host: '127.0.0.1', port: 9 } });
    relay = new TrackRelay({ nodeId: RELAY_A.id, nodeNum: nodeNumOf(RELAY_A.id), endpoint, upstreamOf: () => RELAY_B.id, clock, log });
    relay.relayedProducer(RELAYED_DESC);
    const h: RelayEndpointHandler = {
      onRtp: guard((...a: Parameters<TrackRelay['onRtp']>) => relay.onRtp(...a)),
      onRtcp: guard((...a: Parameters<TrackRelay['onRtcp']>) => relay.onRtcp(...a)),
      onRtt: () => {},
      onPeerSilent: guard((id: string) => relay.onPeerSilent(id)),
      onControl: guard((...a: Parameters<TrackRelay['onControl']>) => relay.onControl(...a)),
    };
    endpoint.setHandler(h);
    counter = 0;
  };
  build();
  return {
    name: 'relay',
    about: 'RelayEndpoint receive (header, AES-GCM, replay, ping/pong) → TrackRelay.onRtp/onRtcp/onControl',
    kind: 'bytes',
    maxLen: 1472 + 1,
    headerBytes: 1,
    run(input) {
      const mode = input.length > 0 ? input[0] : 0;
      let dgram = Buffer.from(input.subarray(1));
      if (dgram.length >= RELAY_HEADER_LENGTH && mode & 2) {
        dgram.writeUInt32BE(bNum, 4);
        counter++;
        dgram.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 8);
        dgram.writeUInt32BE(counter >>> 0, 12);
      }
      if (dgram.length >= RELAY_HEADER_LENGTH && mode & 1) {
        const plain = dgram.subarray(RELAY_HEADER_LENGTH);
        const out = Buffer.alloc(dgram.length + RELAY_TAG_LENGTH);
        dgram.copy(out, 0, 0, RELAY_HEADER_LENGTH);
        sealRelay(out, out.subarray(0, RELAY_HEADER_LENGTH), out.subarray(4, 16), key, plain, 0, plain.length);
        dgram = out;
      }
      handlerError = null;
      watch.mark();
      (endpoint as unknown as { receive(b: Buffer): void }).receive(dgram);
      clock.advance(5);
      if (handlerError !== null) throw handlerError;
      const drop = watch.moved();
      return drop ?? `ok:${header.parse(dgram, dgram.length) ?? dgram[1]}`;
    },
    maintain(n) {
      if (n % 4096 === 0) build();
    },
    close() {
      relay.close();
      endpoint.close();
    },
  };
}
