import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client';
import { DROP_REASONS, dropCounts } from './drop-reasons.ts';

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

/** Bandwidth control towards subscribers and layer control towards publishers (control loops, not per packet). */
export const bweStats = {
  allocationChanges: 0,
  probeClusters: 0,
  dynacastUpdates: 0,
};

/** Live object counts, maintained by the objects' own constructors/close(). */
export const objectCounts = {
  transports: 0,
  producers: 0,
  consumers: 0,
  participants: 0,
};

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'proxima_process_' });

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

  counter('proxima_rtp_packets_received_total', 'RTP packets received from publishers (after SRTP)', () => packetStats.rtpPacketsIn);
  counter('proxima_rtp_bytes_received_total', 'RTP bytes received from publishers (after SRTP)', () => packetStats.rtpBytesIn);
  counter('proxima_rtp_packets_sent_total', 'RTP packets sent to subscribers, including RTX', () => packetStats.rtpPacketsOut);
  counter('proxima_rtp_bytes_sent_total', 'RTP bytes sent to subscribers, including RTX (before SRTP)', () => packetStats.rtpBytesOut);
  counter('proxima_rtcp_packets_received_total', 'RTCP compound packets received', () => packetStats.rtcpPacketsIn);
  counter('proxima_rtcp_packets_sent_total', 'RTCP compound packets sent', () => packetStats.rtcpPacketsOut);
  counter('proxima_rtx_packets_received_total', 'RTX retransmissions received from publishers', () => packetStats.rtxPacketsIn);
  counter('proxima_rtx_packets_sent_total', 'RTX retransmissions sent to subscribers', () => packetStats.rtxPacketsOut);
  counter('proxima_rtx_duplicates_sent_total', 'Second copies of retransmissions sent on lossy paths (included in rtx_packets_sent)', () => packetStats.rtxDuplicatesOut);
  counter('proxima_rtx_proactive_sent_total', 'Retransmissions of packets the subscriber’s transport-wide feedback reported lost, sent before any NACK (lossy paths)', () => packetStats.rtxProactiveOut);
  counter('proxima_nacks_received_total', 'Generic NACK sequence numbers requested by subscribers', () => packetStats.nacksReceived);
  counter('proxima_nacks_sent_total', 'Generic NACK sequence numbers requested from publishers', () => packetStats.nacksSent);
  counter('proxima_keyframe_requests_sent_total', 'PLI/FIR sent to publishers (after throttling)', () => packetStats.keyframeRequestsSent);
  counter('proxima_keyframe_requests_received_total', 'PLI/FIR received from subscribers', () => packetStats.keyframeRequestsReceived);
  counter('proxima_stun_requests_total', 'STUN binding requests answered', () => packetStats.stunRequests);

  counter('proxima_allocation_changes_total', 'Per-subscriber layer allocations that changed what is forwarded', () => bweStats.allocationChanges);
  counter('proxima_probe_clusters_total', 'Bandwidth probe clusters started towards subscribers', () => bweStats.probeClusters);
  counter('proxima_dynacast_updates_total', 'Layer on/off changes sent to publishers (dynacast)', () => bweStats.dynacastUpdates);

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

  gauge('proxima_transports', 'Open WebRTC transports', () => objectCounts.transports);
  gauge('proxima_producers', 'Open producers (published tracks)', () => objectCounts.producers);
  gauge('proxima_consumers', 'Open consumers (subscribed tracks)', () => objectCounts.consumers);
  gauge('proxima_participants', 'Joined participants', () => objectCounts.participants);
  return registry;
}
