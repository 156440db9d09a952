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
