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
  // DTLS handshake limits (config limits.dtls): a handshake would exceed the handshakes in progress in total
  // or from one IP address; a ClientHello over its transport's rate (replays, retransmission storms)
  'dtls_handshake_limit',
  'dtls_hello_rate_limited',
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
  // the publisher muted the track (setMuted): packets still arriving (in flight, or a client that keeps
  // sending) go to nobody
  'track_muted',
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
  // ingress limits (config limits.ingress): a publisher over its bytes or packets per second, a subscriber's
  // RTCP over its rate
  'ingress_rate_limited',
  'rtcp_rate_limited',
  // ICE-TCP (RFC 6544, RFC 4571 framing): a frame towards a peer whose connection is closed or whose send
  // queue is over its bound (media over TCP is dropped rather than queued behind itself), a frame of a
  // connection ICE has not validated that is not STUN
  'tcp_not_connected',
  'tcp_backpressure',
  'tcp_unauthenticated',
  // relay links (src/transport/relay): datagrams between SFU nodes. In: shorter than header + tag, a version
  // we do not speak, a senderNum that names no peer, a counter of 0 or past 2^53, the AES-GCM tag failed
  // (tampered, or keys from another cluster secret), a counter already accepted or behind the replay window,
  // a type we do not know, a PING/PONG of the wrong size or a PONG answering no ping of ours, no handler
  // set, the handler threw. Out: no such peer, the payload over the datagram budget, the endpoint not
  // started or closed, an offset/length outside the buffer, the socket reported an error.
  'relay_truncated',
  'relay_bad_version',
  'relay_unknown_sender',
  'relay_bad_counter',
  'relay_auth_failed',
  'relay_replayed',
  'relay_too_old',
  'relay_unknown_type',
  'relay_malformed',
  'relay_no_handler',
  'relay_handler_error',
  'relay_unknown_peer',
  'relay_too_large',
  'relay_not_open',
  'relay_bad_range',
  'relay_send_failed',
  // cascading (src/cascade/relay): a packet of our own origin came back, a stream no track of this node
  // has, a packet from a node that is not this track's upstream (the old path after a switch), a want
  // that does not parse or is older than one already applied
  'relay_loop',
  'relay_unknown_stream',
  'relay_not_upstream',
  'relay_control_invalid',
  'relay_control_stale',
  // media workers (src/transport/workers): the ring towards another worker was full (that worker is behind),
  // or a record named a peer this worker has no ring for
  'worker_ring_full',
  'worker_unknown_peer',
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

/** Other threads' counters (media workers: src/server/workers), by reason index, summed into dropCounts. */
const sources = new Set<() => ArrayLike<number>>();

export function addDropSource(read: () => ArrayLike<number>): () => void {
  sources.add(read);
  return () => sources.delete(read);
}

/** Snapshot for export (this thread and every added source); used by the metrics registry and by tests. */
export function dropCounts(): ReadonlyArray<readonly [DropReason, number]> {
  const other = [...sources].map((read) => read());
  return DROP_REASONS.map((r, i) => [r, other.reduce((sum, o) => sum + (o[i] ?? 0), counts[i]!)] as const);
}

/** This thread's counters alone (what a media worker reports to the main thread). */
export function localDropCounts(): number[] {
  return Array.from(counts);
}
