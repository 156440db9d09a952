/** Inputs for the flood tests and benches of issue 15 (hostile clients within their rights to connect). */
import { CHROME_PLAIN_OFFER } from '../../../src/signaling/sdp/test-fixtures.ts';
import { MAX_SDP_BYTES } from '../../../src/signaling/messages.ts';

/**
 * A publish offer grown to `bytes` (default the 64 KiB message cap) with `a=rtcp-fb:<pt> x` lines under the
 * first video payload type: a few thousand feedback lines for one codec, what made parsing quadratic.
 */
export function rtcpFbFloodOffer(bytes = MAX_SDP_BYTES): { sdp: string; fbLines: number } {
  const video = CHROME_PLAIN_OFFER.indexOf('m=video');
  const pt = /^m=video \d+ \S+ (\d+)/m.exec(CHROME_PLAIN_OFFER.slice(video))![1]!;
  const nl = CHROME_PLAIN_OFFER.indexOf('\r\n', video) + 2;
  const line = `a=rtcp-fb:${pt} x\r\n`;
  const n = Math.floor((bytes - CHROME_PLAIN_OFFER.length) / line.length);
  return { sdp: CHROME_PLAIN_OFFER.slice(0, nl) + line.repeat(n) + CHROME_PLAIN_OFFER.slice(nl), fbLines: n };
}

/**
 * One transport-cc feedback (RTPFB FMT 15, draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) of 40
 * bytes claiming 65,535 statuses, all "not received" in ten run-length chunks: valid, and as costly as a
 * feedback can be made for its size.
 */
export function twccClaimFlood(senderSsrc: number, mediaSsrc: number, baseSeq = 0): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x8f;
  b[1] = 205;
  b.writeUInt16BE(9, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  b.writeUInt16BE(baseSeq & 0xffff, 12);
  b.writeUInt16BE(0xffff, 14);
  for (let c = 0; c < 10; c++) b.writeUInt16BE(0x1fff, 20 + 2 * c);
  return b;
}
