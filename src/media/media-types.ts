import type { RtpView } from '../rtp/rtp-packet.ts';
import type { Vp8Descriptor } from '../rtp/vp8.ts';
import type { ProducerLayer } from './producer-layer.ts';

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
}

/** The transport a consumer sends through (a WebRtcTransport in practice). */
export interface OutgoingTransport {
  readonly connected: boolean;
  nextTransportSeq(): number;
  sendRtp(buf: Buffer, length: number): boolean;
  sendRtcp(buf: Buffer, length?: number): boolean;
}
