import type { NodePeer } from '../../tools/client/node-peer.ts';
import { opusPayload, vp8Payload } from './synthetic-media.ts';

export interface PumpOptions {
  /** Also take FIR (RFC 5104 §4.3.1) as a keyframe request, as browsers do. */
  keyframeOnFir?: boolean;
  /** Send an SR per stream every second, as browsers do. */
  senderReports?: boolean;
  /** Build every Nth non-keyframe video packet (its seq used) but do not send it: a loss to be NACKed. */
  withholdEvery?: number;
  /** Called for each withheld packet. */
  onWithheld?: () => void;
  /** Send video too (default true; false for an audio-only publisher). */
  video?: boolean;
}

/**
 * Keeps a NodePeer publishing like a camera: a 30 fps VP8-looking frame (3 packets) and a 20 ms Opus
 * packet, with a keyframe at start and whenever the SFU sends a PLI. Stop it with the returned function.
 */
export function pumpMedia(peer: NodePeer, opts: PumpOptions = {}): () => void {
  let frame = 0;
  let requestsSeen = 0;
  let ts = 0;
  let vpkt = 0;
  const withholdEvery = opts.withholdEvery ?? 0;
  const video = setInterval(() => {
    if (opts.video === false) return;
    const requests = peer.rtcpOf('pli').length + (opts.keyframeOnFir ? peer.rtcpOf('fir').length : 0);
    const key = frame === 0 || requests > requestsSeen;
    requestsSeen = requests;
    ts += 3000;
    for (let i = 0; i < 3; i++) {
      const payload = vp8Payload(600, { keyframe: key, first: i === 0, seed: frame });
      const sendOpts = { timestamp: ts, marker: i === 2 };
      if (withholdEvery > 0 && ++vpkt % withholdEvery === 0 && !key) {
        peer.protectRtp('video', payload, sendOpts);
        opts.onWithheld?.();
      } else peer.sendRtp('video', payload, sendOpts);
    }
    frame++;
  }, 33);
  let ats = 0;
  const audio = setInterval(() => {
    ats += 960;
    peer.sendRtp('audio', opusPayload(80, ats), { timestamp: ats });
  }, 20);
  const sr = opts.senderReports
    ? setInterval(() => {
        peer.sendSenderReport('audio');
        peer.sendSenderReport('video');
      }, 1000)
    : null;
  return () => {
    clearInterval(video);
    clearInterval(audio);
    if (sr) clearInterval(sr);
  };
}

/** RTP packets a subscriber received so far, summed over its streams. */
export function packetsReceived(peer: NodePeer | null): number {
  let n = 0;
  for (const s of peer?.received.values() ?? []) n += s.packets;
  return n;
}

/** The last payload byte of a simulcast layer's packets: this plus the layer's index (rids lowest first). */
export const LAYER_TAG = 0xa0;

/**
 * Keeps a simulcast NodePeer (NodeClient.publish({ simulcast: rids })) publishing like Chrome: per layer
 * (rids lowest first) a 30 fps frame of two packets, 320×180 scaled up by 2 per layer in the key frame
 * header, the layer's own 15-bit PictureID and TL0PICIDX, the last payload byte LAYER_TAG + index; a key
 * frame at start and whenever the SFU sends a PLI for that layer's SSRC. Stop it with the returned function.
 */
export function pumpSimulcast(peer: NodePeer, rids: readonly string[]): () => void {
  const layers = rids.map((rid, i) => ({
    key: `video/${rid}`,
    ssrc: peer.stream(`video/${rid}`).ssrc,
    index: i,
    pictureId: (i * 9000) & 0x7fff,
    tl0: (i * 70) & 0xff,
    plisSeen: 0,
  }));
  let frame = 0;
  let ts = 0;
  const timer = setInterval(() => {
    ts += 3000;
    for (const l of layers) {
      const plis = peer.rtcpOf('pli').filter((p) => p.mediaSsrc === l.ssrc).length;
      const keyframe = frame === 0 || plis > l.plisSeen;
      l.plisSeen = plis;
      l.tl0 = (l.tl0 + 1) & 0xff;
      for (let i = 0; i < 2; i++) {
        const payload = vp8Payload(300 + 200 * l.index, {
          keyframe,
          first: i === 0,
          seed: frame,
          descriptor: { pictureId: l.pictureId, tl0PicIdx: l.tl0, tid: 0 },
          width: 320 << l.index,
          height: 180 << l.index,
        });
        payload[payload.length - 1] = LAYER_TAG + l.index;
        peer.sendRtp(l.key, payload, { timestamp: ts, marker: i === 1 });
      }
      l.pictureId = (l.pictureId + 1) & 0x7fff;
    }
    frame++;
  }, 33);
  return () => clearInterval(timer);
}
