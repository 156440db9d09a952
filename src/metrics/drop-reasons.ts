/**
 * Every place on the packet path that drops a packet names one of these reasons and counts it with
 * `countDrop`. The names are the `reason` label of `proxima_packets_dropped_total`.
 * Counting is a typed-array increment: no allocation, no label hashing on the hot path.
 */
export const DROP_REASONS = [
  // demultiplexing (RFC 7983)
  'unknown_first_byte',
  'unknown_remote_address',
  'packet_too_short',
  // STUN / ICE
  'stun_malformed',
  'stun_unknown_ufrag',
  'stun_bad_integrity',
  'stun_bad_fingerprint',
  'stun_unsupported',
  'stun_replayed',
  // DTLS
  'dtls_not_ready',
  'dtls_error',
  // SRTP / SRTCP
  'srtp_not_ready',
  'srtp_auth_failed',
  'srtp_replayed',
  'srtp_too_old',
  'srtp_malformed',
  'srtcp_auth_failed',
  'srtcp_replayed',
  'srtcp_too_old',
  'srtcp_malformed',
  // RTP / RTCP parsing
  'rtp_malformed',
  'rtp_bad_version',
  'rtp_bad_padding',
  'rtp_bad_extension',
  'rtcp_malformed',
  'rtcp_unknown_type',
  // routing
  'unknown_ssrc',
  'unknown_payload_type',
  'padding_only',
  'rtx_malformed',
  'rtx_unknown_ssrc',
  // simulcast: an unknown SSRC whose mid/rid (RFC 8852) names no layer of this transport
  'rid_unknown',
  'no_subscriber',
  'consumer_paused',
  'not_keyframe',
  'duplicate',
  'stale_source',
  // layer selection (per consumer): another simulcast layer than the one forwarded, the allocator paused
  // the video, a VP8 temporal layer above the target, the target layer's packets before its keyframe
  'layer_not_selected',
  'layer_paused',
  'temporal_layer_dropped',
  'switch_waiting_keyframe',
  'too_large',
  'send_failed',
  'nack_not_in_cache',
  // a NACK for a packet resent less than an RTT ago (the first resend is still on its way); a NACK while the
  // video is paused or waits for a keyframe (the resend could not be decoded)
  'nack_too_soon',
  'nack_not_decodable',
  // towards a subscriber: retransmissions over their share of the estimate, the pacer queue full or
  // a packet waiting too long in it, the queue cleared when the transport closed
  'rtx_rate_limited',
  'pacer_queue_full',
  'pacer_expired',
  'pacer_cleared',
  'impairment_loss',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

const index = new Map<DropReason, number>(DROP_REASONS.map((r, i) => [r, i]));
const counts = new Float64Array(DROP_REASONS.length);

export function countDrop(reason: DropReason): void {
  counts[index.get(reason)!]++;
}

export function dropCount(reason: DropReason): number {
  return counts[index.get(reason)!];
}

/** Snapshot for export; used by the metrics registry and by tests. */
export function dropCounts(): ReadonlyArray<readonly [DropReason, number]> {
  return DROP_REASONS.map((r, i) => [r, counts[i]] as const);
}
