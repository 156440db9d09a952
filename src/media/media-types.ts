import type { RtpView } from '../rtp/rtp-packet.ts';

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
  ssrc: number;
  rtxSsrc: number | null;
}

/**
 * Everything that receives a producer's packets implements this: a local subscriber (Consumer) today,
 * a relay to another node or a recorder later. `forward` runs on the hot path: synchronous, no allocation.
 */
export interface RtpSink {
  readonly id: string;
  forward(view: RtpView, keyframe: boolean, nowMs: number): void;
  /** The producer saw a padding-only packet (not forwarded): close the sequence gap. */
  skip(view: RtpView): void;
}

/** The transport a consumer sends through (a WebRtcTransport in practice). */
export interface OutgoingTransport {
  readonly connected: boolean;
  nextTransportSeq(): number;
  sendRtp(buf: Buffer, length: number): boolean;
  sendRtcp(buf: Buffer, length?: number): boolean;
}
