/**
 * A headless camera + microphone whose every RTP payload carries its send time, for one-way delay on one
 * clock (sender and receivers in the same process, performance.now()). Like test/testkit/media-pump.ts: a
 * 30 fps VP8-looking frame of `videoPackets` packets (keyframe at start and on every PLI/FIR) and a 20 ms
 * Opus packet, plus an SR per stream every second as browsers send. The last STAMP_BYTES of each payload
 * are the stamp (magic, per-kind counter, send time); payloads cross the SFU and the relays unchanged.
 */
import type { NodePeer } from '../../tools/client/node-peer.ts';
import { opusPayload, vp8Payload } from '../../test/testkit/synthetic-media.ts';

export const STAMP_BYTES = 16;
const MAGIC = 0x50584d41; // "PXMA"

export interface StampedPumpOptions {
  /** Bytes of each VP8 payload (default 800) and packets per frame (default 3). */
  videoBytes?: number;
  videoPackets?: number;
  /** Bytes of each Opus payload (default 80: 32 kbit/s). */
  audioBytes?: number;
  video?: boolean;
}

export interface StampedPump {
  /** Packets sent per kind (the counter in the next stamp). */
  readonly sent: { audio: number; video: number };
  keyframes: number;
  stop(): void;
}

function stamp(payload: Buffer, counter: number): Buffer {
  const o = payload.length - STAMP_BYTES;
  payload.writeUInt32BE(MAGIC, o);
  payload.writeUInt32BE(counter >>> 0, o + 4);
  payload.writeDoubleBE(performance.now(), o + 8);
  return payload;
}

/** The stamp at the end of an RTP payload (buf[offset, offset+length)), or null when there is none. */
export function readStamp(buf: Buffer, offset: number, length: number): { counter: number; sentAt: number } | null {
  if (length < STAMP_BYTES) return null;
  const o = offset + length - STAMP_BYTES;
  if (buf.readUInt32BE(o) !== MAGIC) return null;
  return { counter: buf.readUInt32BE(o + 4), sentAt: buf.readDoubleBE(o + 8) };
}

export function stampedPump(peer: NodePeer, opts: StampedPumpOptions = {}): StampedPump {
  const videoBytes = opts.videoBytes ?? 800;
  const videoPackets = opts.videoPackets ?? 3;
  const audioBytes = opts.audioBytes ?? 80;
  const sent = { audio: 0, video: 0 };
  let keyframeWanted = true;
  const prevRtcp = peer.onRtcp;
  peer.onRtcp = (p) => {
    if (p.type === 'pli' || p.type === 'fir') keyframeWanted = true;
    prevRtcp(p);
  };
  const pump: StampedPump = { sent, keyframes: 0, stop: () => {} };
  let frame = 0;
  let ts = 0;
  const video =
    opts.video === false
      ? null
      : setInterval(() => {
          const key = keyframeWanted;
          keyframeWanted = false;
          if (key) pump.keyframes++;
          ts += 3000;
          for (let i = 0; i < videoPackets; i++) {
            const payload = vp8Payload(videoBytes, { keyframe: key, first: i === 0, seed: frame });
            peer.sendRtp('video', stamp(payload, sent.video++), { timestamp: ts, marker: i === videoPackets - 1 });
          }
          frame++;
        }, 33);
  let ats = 0;
  const audio = setInterval(() => {
    ats += 960;
    peer.sendRtp('audio', stamp(opusPayload(audioBytes, ats), sent.audio++), { timestamp: ats });
  }, 20);
  const sr = setInterval(() => {
    peer.sendSenderReport('audio');
    if (video) peer.sendSenderReport('video');
  }, 1000);
  pump.stop = () => {
    if (video) clearInterval(video);
    clearInterval(audio);
    clearInterval(sr);
    peer.onRtcp = prevRtcp;
  };
  return pump;
}
