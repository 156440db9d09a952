/** The registry of fuzz targets: every parser and state machine a stranger's bytes reach (issue 15). */
import type { FuzzTarget } from './target.ts';
import { demuxTarget, dtlsHandshakeTarget, dtlsRecordTarget, h264Target, iceTcpTarget, rtcpTarget, rtpTarget, srtpTarget, stunTarget, vp8Target } from './targets/packets.ts';
import { sessionsTarget } from './targets/sessions.ts';
import { jwtTarget, relayTarget, sdpPublishTarget, sdpSubscribeTarget, signalingTarget } from './targets/control.ts';

export type { FuzzTarget } from './target.ts';

/** Name → factory (each instance holds its own sessions and state), in a stable order. */
export const TARGETS: ReadonlyArray<readonly [name: string, make: () => FuzzTarget]> = [
  ['demux', demuxTarget],
  ['ice-tcp', iceTcpTarget],
  ['stun', stunTarget],
  ['dtls-record', dtlsRecordTarget],
  ['dtls-handshake', dtlsHandshakeTarget],
  ['srtp', srtpTarget],
  ['rtp', rtpTarget],
  ['rtcp', rtcpTarget],
  ['sessions', sessionsTarget],
  ['vp8', vp8Target],
  ['h264', h264Target],
  ['sdp-publish', sdpPublishTarget],
  ['sdp-subscribe', sdpSubscribeTarget],
  ['signaling', signalingTarget],
  ['jwt', jwtTarget],
  ['relay', relayTarget],
];

export const TARGET_NAMES: readonly string[] = TARGETS.map(([n]) => n);

export function makeTarget(name: string): FuzzTarget {
  const f = TARGETS.find(([n]) => n === name);
  if (!f) throw new RangeError(`unknown fuzz target ${name} (known: ${TARGET_NAMES.join(', ')})`);
  const t = f[1]();
  if (t.name !== name) throw new Error(`target ${name} names itself ${t.name}`);
  return t;
}
