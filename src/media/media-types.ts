import type { RtpView } from '../rtp/rtp-packet.ts';
import type { Vp8Descriptor } from '../rtp/vp8.ts';
import type { ProducerLayer } from './producer-layer.ts';
import type { PacerPriority } from '../bwe/pacer.ts';
import type { LayerTarget } from '../allocation/types.ts';

export type MediaKind = 'audio' | 'video';
export type CodecName = 'opus' | 'vp8' | 'h264';

/** What a publisher's track looks like on the wire, from the negotiated publish SDP. */
export interface ProducerParams {
  id: string;
  publisherId: string;
  kind: MediaKind;
  mid: string;
  codec: CodecName;
  clockRate: number;
  payloadType: number;
  rtxPayloadType: number | null;
  /** The a=ssrc media SSRC and its FID repair SSRC; unused (0 / null) with `rids`. */
  ssrc: number;
  rtxSsrc: number | null;
  /**
   * RFC 8853 simulcast without a=ssrc: the rids of a=simulcast:send, in the offer's order. Each becomes a
   * layer whose SSRCs are learned from the mid / rtp-stream-id / repaired-rtp-stream-id extensions.
   */
  rids?: readonly string[];
}

/**
 * What the producer learned about the packet it fans out, parsed once for every sink. Reused for every
 * packet: valid only during the `forward` call.
 */
export interface PacketMeta {
  /** The stream (simulcast layer, or the only one) the packet came in on. */
  layer: ProducerLayer;
  /** First packet of a key frame. */
  keyframe: boolean;
  /** The VP8 payload descriptor (RFC 7741 §4.2) of this packet; null for other codecs. */
  vp8: Vp8Descriptor | null;
}

/**
 * Everything that receives a producer's packets implements this: a local subscriber (Consumer) today,
 * a relay to another node or a recorder later. `forward` runs on the hot path: synchronous, no allocation.
 */
export interface RtpSink {
  readonly id: string;
  forward(view: RtpView, meta: PacketMeta, nowMs: number): void;
  /** The producer saw a padding-only packet on `layer` (not forwarded): close the sequence gap. */
  skip(view: RtpView, layer: ProducerLayer): void;
  /** Dynacast: the layer (spatial rank) this sink needs of a video, null for none. Read a few times a second. */
  demand?(): LayerTarget | null;
  /** Dynacast for a sink that stands for many subscribers (a relay to another node): spatial ranks as bits. */
  demandMask?(): number;
}

/**
 * Bytes a packet costs on the wire beyond its RTP length: IPv4 (20) + UDP (8) + the SRTP tag (10, 16 for
 * AEAD_AES_128_GCM; 10 is the common case). Layer meters and the bandwidth estimator both count it, so the
 * allocator's bitrates and the estimate are in the same unit; for 50 small audio packets a second it is a
 * quarter of the bitrate.
 */
export const WIRE_OVERHEAD_BYTES = 38;

/**
 * What a consumer sends through: the subscribe transport's PacedSender in the server. `priority` is the
 * pacer class (src/bwe/pacer.ts: audio, retransmission, video); `tccOffset` is where in `buf` the 2-byte
 * transport-wide sequence number goes (-1: none), written when the packet actually leaves.
 */
export interface OutgoingTransport {
  readonly connected: boolean;
  /** Latest RTT to the subscriber (ms), -1 when unknown. */
  readonly rttMs: number;
  /** The path loses packets often enough that each retransmission is sent twice (see PacedSender). */
  readonly lossy: boolean;
  /** The path loses packets: audio goes with RFC 2198 redundancy where the subscriber took `red`. */
  readonly redWanted: boolean;
  sendRtp(buf: Buffer, length: number, priority: PacerPriority, tccOffset: number): boolean;
  sendRtcp(buf: Buffer, length?: number): boolean;
  /** A probe's padding packet, sent at once (the pacer already counted it). */
  sendProbe(buf: Buffer, length: number, tccOffset: number, clusterId: number): boolean;
}
