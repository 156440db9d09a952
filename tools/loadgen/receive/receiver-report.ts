/** The receiver report both load receivers send: a block per active stream, 31 blocks a packet at most. */
import { writeRr } from '../../../src/rtp/rtcp-reports.ts';
import type { ReceiveStats } from '../../../src/media/receive-stats.ts';

const MAX_BLOCKS = 31; // RFC 3550 §6.4.2: the report count is 5 bits

export function sendReceiverReports(peer: { readonly rtcpSsrc: number; sendRtcp(buf: Buffer): unknown }, streams: Iterable<{ active: boolean; rtcpStats: ReceiveStats }>, now: number): void {
  const blocks = [];
  for (const s of streams) {
    if (!s.active) continue;
    const b = s.rtcpStats.makeReportBlock(now);
    if (b) blocks.push(b);
  }
  for (let i = 0; i < blocks.length; i += MAX_BLOCKS) peer.sendRtcp(writeRr(peer.rtcpSsrc, blocks.slice(i, i + MAX_BLOCKS)));
}
