import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { DROP_REASONS, dropCounts } from './drop-reasons.ts';
import { HotHistogram, addCounts, type HistogramCounts } from './hot-histogram.ts';

/**
 * The one place every metric is named and described. The packet path bumps plain numbers in
 * `packetStats` (no label hashing per packet); prom-client reads them at scrape time.
 */
export const packetStats = {
  rtpPacketsIn: 0,
  rtpBytesIn: 0,
  rtpPacketsOut: 0,
  rtpBytesOut: 0,
  rtcpPacketsIn: 0,
  rtcpPacketsOut: 0,
  rtxPacketsIn: 0,
  rtxPacketsOut: 0,
  rtxDuplicatesOut: 0,
  rtxProactiveOut: 0,
  nacksReceived: 0,
  nacksSent: 0,
  keyframeRequestsSent: 0,
  keyframeRequestsReceived: 0,
  stunRequests: 0,
};

/**
 * Subscribers whose receiver throws RTX away (src/media/rtx-discard-detector.ts) and the repairs they get
 * in the original stream instead.
 */
export const repairStats = {
  /** Subscribers detected discarding RTX (each once). */
  rtxDiscardingSubscribers: 0,
  /** Retransmissions sent in the original stream (same SSRC and sequence number) to such subscribers. */
  originalStreamResends: 0,
};

/** Bandwidth control towards subscribers and layer control towards publishers (control loops, not per packet). */
export const bweStats = {
  allocationChanges: 0,
  probeClusters: 0,
  dynacastUpdates: 0,
  /** Estimator decisions towards subscribers (src/bwe/README.md, "Where this departs from GCC"). */
  overuseCuts: 0,
  capacityDrops: 0,
  capacityDropsUnconfirmed: 0,
  stallHolds: 0,
  rebases: 0,
};

/**
 * Relay links between SFU nodes (src/transport/relay), all endpoints of the process together. Datagram
 * counts are authenticated datagrams of every type (RTP, RTCP, PING, PONG, CONTROL); bytes are UDP payload
 * bytes (header + ciphertext + tag). Per-peer and per-stream numbers: `RelayEndpoint.stats()`.
 */
export const relayStats = {
  datagramsSent: 0,
  bytesSent: 0,
  datagramsReceived: 0,
  bytesReceived: 0,
  pingsSent: 0,
  pongsReceived: 0,
  /** A send found every pooled buffer still held by the socket and the pool at its limit, so it allocated one. */
  sendSlotFallbacks: 0,
  /** Peers currently added, over all endpoints. */
  peers: 0,
};

/**
 * Counters of the media worker threads (src/server/workers), summed into this process's metrics: the pool
 * installs a reader; without workers it reads 0.
 */
let remoteReader: ((group: 'packets' | 'workers' | 'objects', key: string) => number) | null = null;
export function setRemoteStatReader(read: typeof remoteReader): void {
  remoteReader = read;
}
function remoteStat(group: 'packets' | 'workers' | 'objects', key: string): number {
  return remoteReader === null ? 0 : remoteReader(group, key);
}

/** Media workers (src/transport/workers): records crossing between workers through shared-memory rings. */
export const workerStats = {
  /** Records (RTP, RTCP, control) written to another worker's ring, and read from ours. */
  recordsSent: 0,
  recordsReceived: 0,
  /** Times an idle reader was woken by its doorbell (under load readers do not sleep, so this stays low). */
  wakeups: 0,
};

/** Cascading (src/cascade): tracks between nodes, counted over the process. */
export const cascadeStats = {
  /** A relayed track moved to a new upstream node (a route change or a failure). */
  upstreamSwitches: 0,
  /** Packets sent again to a downstream node from this node's cache. */
  nacksAnswered: 0,
  /** Sequence numbers NACKed towards upstream nodes. */
  nacksSentUp: 0,
  keyframeRequestsUp: 0,
};

/**
 * Limits on what one client may make the server do (issue 15; config limits.*). Packets refused on the packet
 * path are drop reasons (ingress_rate_limited, rtcp_rate_limited, dtls_*); these are the rest.
 */
export const limitStats = {
  /** Signaling messages answered rate_limited, by the bucket that refused them (src/server/signaling-limits.ts). */
  signalingLimitedMessage: 0,
  signalingLimitedOffer: 0,
  signalingLimitedMove: 0,
  /** WebSockets closed for sustained abuse (1008), and for not joining within the deadline (4008). */
  signalingClosedAbuse: 0,
  signalingClosedUnjoined: 0,
  /** Participants disconnected because their ingress (publisher media, subscriber RTCP) stayed over its limit. */
  ingressDisconnects: 0,
  /** DTLS handshakes given up on their deadline (src/transport/dtls/handshake-guard.ts), and those in progress. */
  dtlsHandshakeTimeouts: 0,
  dtlsHandshakesInProgress: 0,
  /** POST /api/token answered 429 (auth.guestTokensPerMinute per address). */
  guestTokensRefused: 0,
  /** /ws upgrades refused for their Origin (http.allowedOrigins). */
  wsOriginRefused: 0,
};

/** The flight recorder (src/recorder): events recorded, stored, refused, lost; the size of its file. */
export const recorderStats = {
  recorded: 0,
  stored: 0,
  /** Refused by the storage thread's validation (a bug: logged with the first reason). */
  invalid: 0,
  /** Lost: the buffer was full (storage too slow) or a write failed. */
  lost: 0,
  /** Moves folded into a later one (at most a few per second per person are kept). */
  movesCoalesced: 0,
  fileBytes: 0,
};

/** Live object counts of this thread, maintained by the objects' own constructors/close(); the media workers' are added to the gauges. */
export const objectCounts = {
  transports: 0,
  producers: 0,
  consumers: 0,
  participants: 0,
};

/**
 * Latency histograms, in ms here and in seconds on /metrics, filled where the thing happens (HotHistogram:
 * no allocation, safe on the packet path). Media workers send theirs with their stats; /metrics sums them.
 */
export const histograms = {
  /** A forwarded RTP packet (media or RTX) from the subscriber's pacer taking it to its send; 0 when it left at once. */
  forwardingDelay: new HotHistogram([0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
  /** A participant's subscriber made (its join) → the first video packet sent to it on a track it got then. */
  joinFirstFrame: new HotHistogram([100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000]),
  /** A track subscribed on an already connected subscriber (a walk-in) → its first video packet sent. */
  walkInFirstFrame: new HotHistogram([50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000]),
  /** Connection-quality scores (1–5, not ms), one per participant, direction and second (docs/quality.md). */
  qualityDown: new HotHistogram([1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]),
  qualityUp: new HotHistogram([1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]),
};
export type HistogramName = keyof typeof histograms;
export const HISTOGRAM_NAMES = Object.keys(histograms) as HistogramName[];

let remoteHistograms: ((name: HistogramName) => HistogramCounts[]) | null = null;
/** The worker pool installs this: each live or dead worker's last counts for a histogram. */
export function setRemoteHistogramReader(read: typeof remoteHistograms): void {
  remoteHistograms = read;
}
/** This thread's counts plus the workers'. */
export function histogramCounts(name: HistogramName): HistogramCounts {
  const total = histograms[name].snapshot();
  for (const c of remoteHistograms?.(name) ?? []) addCounts(total, c);
  return total;
}

/** Why a control-plane message (NATS subject or KV value, src/cascade/control) was dropped. */
export const CONTROL_INVALID_REASONS = ['too_large', 'utf8', 'json', 'version', 'schema'] as const;
export type ControlInvalidReason = (typeof CONTROL_INVALID_REASONS)[number];
/** kind → reason → count; kinds are the control message names (a fixed set in cascade/control/messages.ts). */
const controlInvalid = new Map<string, Map<ControlInvalidReason, number>>();
export function countControlInvalid(kind: string, reason: ControlInvalidReason): void {
  let byReason = controlInvalid.get(kind);
  if (!byReason) controlInvalid.set(kind, (byReason = new Map()));
  byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
}
/** For tests and diagnostics: the count for one kind (all reasons, or one). */
export function controlInvalidCount(kind: string, reason?: ControlInvalidReason): number {
  const byReason = controlInvalid.get(kind);
  if (!byReason) return 0;
  if (reason) return byReason.get(reason) ?? 0;
  let n = 0;
  for (const v of byReason.values()) n += v;
  return n;
}

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  // The event-loop lag histogram samples with a timer: prom-client's default of every 10 ms cost ~7 ms of CPU
  // a second here (bench/idle-cost.ts), most of an idle server's; every 100 ms still gives ~150 samples a scrape.
  // No prefix: process_* and nodejs_* are the names every Node.js dashboard and alert already knows.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });

  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });

  counter('proxima_rtp_packets_received_total', 'RTP packets received from publishers (after SRTP)', () => packetStats.rtpPacketsIn + remoteStat('packets', 'rtpPacketsIn'));
  counter('proxima_rtp_bytes_received_total', 'RTP bytes received from publishers (after SRTP)', () => packetStats.rtpBytesIn + remoteStat('packets', 'rtpBytesIn'));
  counter('proxima_rtp_packets_sent_total', 'RTP packets sent to subscribers, including RTX', () => packetStats.rtpPacketsOut + remoteStat('packets', 'rtpPacketsOut'));
  counter('proxima_rtp_bytes_sent_total', 'RTP bytes sent to subscribers, including RTX (before SRTP)', () => packetStats.rtpBytesOut + remoteStat('packets', 'rtpBytesOut'));
  counter('proxima_rtcp_packets_received_total', 'RTCP compound packets received', () => packetStats.rtcpPacketsIn + remoteStat('packets', 'rtcpPacketsIn'));
  counter('proxima_rtcp_packets_sent_total', 'RTCP compound packets sent', () => packetStats.rtcpPacketsOut + remoteStat('packets', 'rtcpPacketsOut'));
  counter('proxima_rtx_packets_received_total', 'RTX retransmissions received from publishers', () => packetStats.rtxPacketsIn + remoteStat('packets', 'rtxPacketsIn'));
  counter('proxima_rtx_packets_sent_total', 'RTX retransmissions sent to subscribers', () => packetStats.rtxPacketsOut + remoteStat('packets', 'rtxPacketsOut'));
  counter('proxima_rtx_duplicates_sent_total', 'Second copies of retransmissions sent on lossy paths (included in rtx_packets_sent)', () => packetStats.rtxDuplicatesOut + remoteStat('packets', 'rtxDuplicatesOut'));
  counter('proxima_rtx_proactive_sent_total', 'Retransmissions of packets the subscriber’s transport-wide feedback reported lost, sent before any NACK (lossy paths)', () => packetStats.rtxProactiveOut + remoteStat('packets', 'rtxProactiveOut'));
  counter('proxima_nacks_received_total', 'Generic NACK sequence numbers requested by subscribers', () => packetStats.nacksReceived + remoteStat('packets', 'nacksReceived'));
  counter('proxima_nacks_sent_total', 'Generic NACK sequence numbers requested from publishers', () => packetStats.nacksSent + remoteStat('packets', 'nacksSent'));
  counter('proxima_keyframe_requests_sent_total', 'PLI/FIR sent to publishers (after throttling)', () => packetStats.keyframeRequestsSent + remoteStat('packets', 'keyframeRequestsSent'));
  counter('proxima_keyframe_requests_received_total', 'PLI/FIR received from subscribers', () => packetStats.keyframeRequestsReceived + remoteStat('packets', 'keyframeRequestsReceived'));
  counter('proxima_stun_requests_total', 'STUN binding requests answered', () => packetStats.stunRequests + remoteStat('packets', 'stunRequests'));

  counter('proxima_rtx_discarding_subscribers_total', 'Subscribers detected throwing RTX away (NACKs again for packets already repaired by RTX); they get repairs in the original stream', () => repairStats.rtxDiscardingSubscribers);
  counter('proxima_original_stream_resends_total', 'Retransmissions sent in the original stream (same SSRC and sequence number) to subscribers that discard RTX', () => repairStats.originalStreamResends);

  counter('proxima_allocation_changes_total', 'Per-subscriber layer allocations that changed what is forwarded', () => bweStats.allocationChanges);
  counter('proxima_probe_clusters_total', 'Bandwidth probe clusters started towards subscribers', () => bweStats.probeClusters);
  counter('proxima_dynacast_updates_total', 'Layer on/off changes sent to publishers (dynacast)', () => bweStats.dynacastUpdates);
  counter('proxima_bwe_overuse_cuts_total', 'Delay over-use signals that cut an estimate (GCC decrease)', () => bweStats.overuseCuts);
  counter('proxima_bwe_capacity_drops_total', 'Sudden capacity drops that cut an estimate (confirmed by a second feedback)', () => bweStats.capacityDrops);
  counter('proxima_bwe_capacity_drops_unconfirmed_total', 'Feedbacks that looked like a capacity drop but were not confirmed (jitter, stalls)', () => bweStats.capacityDropsUnconfirmed);
  counter('proxima_bwe_stall_holds_total', 'Delay signals held instead of cut after a release burst (a stalled process or path)', () => bweStats.stallHolds);
  counter('proxima_bwe_rebases_total', 'Standing queues that did not drain, taken as the path\'s new base delay', () => bweStats.rebases);

  new Counter({
    name: 'proxima_packets_dropped_total',
    help: 'Packets dropped on the packet path, by named reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of dropCounts()) this.inc({ reason }, n);
    },
  });
  void DROP_REASONS;
  new Counter({
    name: 'proxima_control_messages_invalid_total',
    help: 'Control-plane messages between nodes (NATS) dropped as invalid, by message kind and reason',
    labelNames: ['kind', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, byReason] of controlInvalid) for (const [reason, n] of byReason) this.inc({ kind, reason }, n);
    },
  });

  counter('proxima_relay_datagrams_sent_total', 'Datagrams sent on relay links to other SFU nodes (all types)', () => relayStats.datagramsSent);
  counter('proxima_relay_bytes_sent_total', 'UDP payload bytes sent on relay links (header + ciphertext + tag)', () => relayStats.bytesSent);
  counter('proxima_relay_datagrams_received_total', 'Authenticated datagrams received on relay links (all types)', () => relayStats.datagramsReceived);
  counter('proxima_relay_bytes_received_total', 'UDP payload bytes of authenticated datagrams received on relay links', () => relayStats.bytesReceived);
  counter('proxima_relay_pings_sent_total', 'RTT pings sent to relay peers', () => relayStats.pingsSent);
  counter('proxima_relay_pongs_received_total', 'RTT pongs received from relay peers (each one RTT sample)', () => relayStats.pongsReceived);
  counter('proxima_relay_send_slot_fallbacks_total', 'Relay sends that found every pooled send buffer still in the socket (pool at its limit) and allocated one', () => relayStats.sendSlotFallbacks);
  gauge('proxima_relay_peers', 'Relay peers (other SFU nodes) currently linked', () => relayStats.peers);
  counter('proxima_worker_records_sent_total', 'Records (RTP, RTCP, control) written to another media worker ring', () => workerStats.recordsSent + remoteStat('workers', 'recordsSent'));
  counter('proxima_worker_records_received_total', 'Records read from this media worker rings', () => workerStats.recordsReceived + remoteStat('workers', 'recordsReceived'));
  counter('proxima_worker_wakeups_total', 'Idle media worker ring readers woken by a writer', () => workerStats.wakeups + remoteStat('workers', 'wakeups'));
  counter('proxima_cascade_upstream_switches_total', 'Relayed tracks moved to a new upstream node (route change or failure)', () => cascadeStats.upstreamSwitches);
  counter('proxima_cascade_nacks_answered_total', 'Packets resent to a downstream node from this node cache', () => cascadeStats.nacksAnswered);
  counter('proxima_cascade_nacks_sent_up_total', 'Sequence numbers NACKed towards upstream nodes', () => cascadeStats.nacksSentUp);
  counter('proxima_cascade_keyframe_requests_up_total', 'Keyframe requests sent towards upstream nodes', () => cascadeStats.keyframeRequestsUp);

  new Counter({
    name: 'proxima_signaling_rate_limited_total',
    help: 'Signaling messages answered rate_limited, by the bucket that refused them (per connection or per IP)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ kind: 'message' }, limitStats.signalingLimitedMessage);
      this.inc({ kind: 'offer' }, limitStats.signalingLimitedOffer);
      this.inc({ kind: 'move' }, limitStats.signalingLimitedMove);
    },
  });
  new Counter({
    name: 'proxima_signaling_closed_total',
    help: 'WebSockets the server closed: sustained rate-limit abuse (1008) or no join within the deadline (4008)',
    labelNames: ['why'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ why: 'abuse' }, limitStats.signalingClosedAbuse);
      this.inc({ why: 'join_deadline' }, limitStats.signalingClosedUnjoined);
    },
  });
  counter('proxima_ingress_disconnects_total', 'Participants disconnected because their ingress (publisher media, subscriber RTCP) stayed over its limit', () => limitStats.ingressDisconnects);
  counter('proxima_dtls_handshake_timeouts_total', 'DTLS handshakes dropped because they did not finish within limits.dtls.handshakeTimeoutMs', () => limitStats.dtlsHandshakeTimeouts);
  gauge('proxima_dtls_handshakes_in_progress', 'DTLS handshakes in progress (capped by limits.dtls.maxHandshakes)', () => limitStats.dtlsHandshakesInProgress);
  counter('proxima_guest_tokens_refused_total', 'Guest tokens refused (429): more than auth.guestTokensPerMinute from one address', () => limitStats.guestTokensRefused);
  counter('proxima_recorder_events_recorded_total', 'Events handed to the flight recorder', () => recorderStats.recorded);
  counter('proxima_recorder_events_stored_total', 'Recorder events written to its storage', () => recorderStats.stored);
  counter('proxima_recorder_events_invalid_total', 'Recorder events refused by validation (a bug; the log says which)', () => recorderStats.invalid);
  counter('proxima_recorder_events_lost_total', 'Recorder events lost: buffer full while storage lagged, or a failed write', () => recorderStats.lost);
  counter('proxima_recorder_moves_coalesced_total', 'Moves folded into a later one before recording (a few per second per person are kept)', () => recorderStats.movesCoalesced);
  gauge('proxima_recorder_file_bytes', 'Size of the recorder database file', () => recorderStats.fileBytes);
  counter('proxima_ws_origin_refused_total', 'WebSocket upgrades refused for a page origin not allowed (http.allowedOrigins)', () => limitStats.wsOriginRefused);

  /** `divisor`: 1000 for the ms histograms (exported in seconds), 1 for unitless ones. */
  const histogram = (name: string, help: string, key: HistogramName, divisor = 1000) => {
    const boundsS = histograms[key].boundsMs.map((b) => b / divisor);
    const counted = () => {
      const c = histogramCounts(key);
      const values: Array<{ labels: Record<string, string | number>; sharedLabels: Record<string, never>; value: number; metricName: string }> = [];
      const value = (labels: Record<string, string | number>, v: number, suffix: string) => values.push({ labels, sharedLabels: {}, value: v, metricName: `${name}${suffix}` });
      let cumulative = 0;
      for (let i = 0; i < boundsS.length; i++) value({ le: boundsS[i]! }, (cumulative += c.counts[i] ?? 0), '_bucket');
      value({ le: '+Inf' }, (cumulative += c.counts[boundsS.length] ?? 0), '_bucket');
      value({}, c.sum / divisor, '_sum');
      value({}, cumulative, '_count');
      return values;
    };
    // prom-client's Histogram observes one value at a time; ours are counted on the packet path and only read
    // here. Its registry renders getForPromString() (prom-client lib/registry.js); get() serves the rest.
    class CountsHistogram extends Histogram<string> {
      async getForPromString() {
        return { name, help, type: 'histogram', aggregator: 'sum', values: counted() };
      }
      override async get() {
        return { ...(await super.get()), values: counted().map(({ labels, value, metricName }) => ({ labels, value, metricName })) };
      }
    }
    new CountsHistogram({ name, help, buckets: boundsS, registers: [registry] });
  };
  histogram('proxima_forwarding_delay_seconds', 'Time a forwarded RTP packet (media or RTX) waited in the server: the subscriber pacer queue (the rest of the path runs on arrival, in microseconds); 0 when it left at once', 'forwardingDelay');
  histogram('proxima_join_first_frame_seconds', 'A participant joined (its subscriber was made) to the first video packet sent to it', 'joinFirstFrame');
  histogram('proxima_quality_score_receiving', 'Connection-quality score (1-5) of what participants receive, one observation per participant and second', 'qualityDown', 1);
  histogram('proxima_quality_score_sending', 'Connection-quality score (1-5) of what participants send, one observation per participant and second', 'qualityUp', 1);
  histogram('proxima_walk_in_first_frame_seconds', 'A track subscribed on an already connected subscriber (someone walked into range) to its first video packet sent', 'walkInFirstFrame');

  gauge('proxima_transports', 'Open WebRTC transports', () => objectCounts.transports + remoteStat('objects', 'transports'));
  gauge('proxima_producers', 'Open producers (published tracks; with media workers, relay-fed copies on other workers too)', () => objectCounts.producers + remoteStat('objects', 'producers'));
  gauge('proxima_consumers', 'Open consumers (subscribed tracks)', () => objectCounts.consumers + remoteStat('objects', 'consumers'));
  gauge('proxima_participants', 'Joined participants', () => objectCounts.participants);
  return registry;
}
