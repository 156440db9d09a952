import type { NodePeer } from '../../tools/client/node-peer.ts';
import { opusPayload, vp8Payload } from './synthetic-media.ts';

/**
 * Keeps a NodePeer publishing like a camera: a 30 fps VP8-looking frame (3 packets) and a 20 ms Opus
 * packet, with a keyframe at start and whenever the SFU sends a PLI. Stop it with the returned function.
 */
export function pumpMedia(peer: NodePeer): () => void {
  let frame = 0;
  let plisSeen = 0;
  let ts = 0;
  const video = setInterval(() => {
    const plis = peer.rtcpOf('pli').length;
    const key = frame === 0 || plis > plisSeen;
    plisSeen = plis;
    ts += 3000;
    for (let i = 0; i < 3; i++) peer.sendRtp('video', vp8Payload(600, { keyframe: key, first: i === 0, seed: frame }), { timestamp: ts, marker: i === 2 });
    frame++;
  }, 33);
  let ats = 0;
  const audio = setInterval(() => {
    ats += 960;
    peer.sendRtp('audio', opusPayload(80, ats), { timestamp: ats });
  }, 20);
  return () => {
    clearInterval(video);
    clearInterval(audio);
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
