import type { Page } from './browser.ts';

/** Sums of a page's inbound-rtp stats (from window.proxima.stats()), by kind. */
export interface InboundSums {
  audioPackets: number;
  samples: number;
  videoPackets: number;
  framesDecoded: number;
  frameWidth: number;
  retransmitted: number;
  bytes: number;
}

export async function inbound(page: Page): Promise<InboundSums> {
  return page.evaluate(async () => {
    const st = await (window as any).proxima.stats();
    const sum = { audioPackets: 0, samples: 0, videoPackets: 0, framesDecoded: 0, frameWidth: 0, retransmitted: 0, bytes: 0 };
    for (const s of st.inbound) {
      sum.bytes += s.bytesReceived ?? 0;
      if (s.kind === 'audio') {
        sum.audioPackets += s.packetsReceived ?? 0;
        sum.samples += s.totalSamplesReceived ?? 0;
      } else {
        sum.videoPackets += s.packetsReceived ?? 0;
        sum.framesDecoded += s.framesDecoded ?? 0;
        sum.frameWidth = Math.max(sum.frameWidth, s.frameWidth ?? 0);
        sum.retransmitted += s.retransmittedPacketsReceived ?? 0;
      }
    }
    return sum;
  });
}
