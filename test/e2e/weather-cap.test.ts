import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics, startTestServer } from '../testkit/proxima.ts';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import { packetStats } from '../../src/metrics/registry.ts';
import { WeatherProxy } from '../../tools/weather/udp-proxy.ts';
import type { ImpairmentPatch } from '../../tools/weather/impairment.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CAP_KBPS = 300;
/** A household uplink's drop-tail buffer: 40 KB is about 1.1 s of queue at 300 kbit/s. */
const CAP: ImpairmentPatch = { rateKbps: CAP_KBPS, queueBytes: 40_000 };
/** Opus with 20 ms frames and no DTX (we do not negotiate usedtx): 50 packets a second. */
const AUDIO_PPS = 50;

/** The subscriber's receive counters (sums over its inbound-rtp entries) and the publisher's send side. */
interface Sample {
  /** Page clock (ms) when the stats were read. */
  t: number;
  rxBytes: number;
  audioPackets: number;
  audioSamples: number;
  concealed: number;
  framesDecoded: number;
  txBytes: number;
  txPackets: number;
  availableOutgoingBitrate: number;
  /** Proxy counters read right after. */
  upOverflow: number;
  upReceived: number;
  /** Standing queue at the uplink bottleneck right now. */
  upQueueBytes: number;
}

async function sample(sub: Page, pub: Page, proxy: WeatherProxy): Promise<Sample> {
  // No named helpers inside evaluate: tsx's keepNames would reference a function the page lacks.
  const rx = await sub.evaluate(async () => {
    const st = await (window as any).proxima.stats();
    const r = { t: performance.timeOrigin + performance.now(), rxBytes: 0, audioPackets: 0, audioSamples: 0, concealed: 0, framesDecoded: 0 };
    for (const s of st.inbound) {
      // Payload and RTP headers: the cap also counts SRTP tags and RTCP, so this stays below it.
      r.rxBytes += (s.bytesReceived ?? 0) + (s.headerBytesReceived ?? 0);
      if (s.kind === 'audio') {
        r.audioPackets += s.packetsReceived ?? 0;
        r.audioSamples += s.totalSamplesReceived ?? 0;
        r.concealed += s.concealedSamples ?? 0;
      } else r.framesDecoded += s.framesDecoded ?? 0;
    }
    return r;
  });
  const tx = await pub.evaluate(async () => {
    const st = await (window as any).proxima.stats();
    const r = { txBytes: 0, txPackets: 0, availableOutgoingBitrate: st.availableOutgoingBitrate as number };
    for (const s of st.outbound) {
      r.txBytes += (s.bytesSent ?? 0) + (s.headerBytesSent ?? 0);
      r.txPackets += s.packetsSent ?? 0;
    }
    return r;
  });
  const st = proxy.stats();
  return { ...rx, ...tx, upOverflow: st.up.queue_overflow, upReceived: st.up.received, upQueueBytes: proxy.up.queuedBytes };
}

interface Measured {
  rxKbps: number;
  txKbps: number;
  /** Per ~1 s step. */
  steps: Array<{ rxKbps: number; audioPps: number; frames: number; concealedRatio: number; aobKbps: number; upQueueBytes: number }>;
  framesPerS: number;
  concealedRatio: number;
  upOverflowRatio: number;
}

/** Sample once a second for `seconds` and sum up the window. */
async function measure(sub: Page, pub: Page, proxy: WeatherProxy, seconds: number): Promise<Measured> {
  const samples = [await sample(sub, pub, proxy)];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    samples.push(await sample(sub, pub, proxy));
  }
  const kbitPerS = (bytes: number, ms: number) => (bytes * 8) / ms;
  const steps = samples.slice(1).map((b, i) => {
    const a = samples[i];
    const ms = b.t - a.t;
    return {
      rxKbps: kbitPerS(b.rxBytes - a.rxBytes, ms),
      audioPps: ((b.audioPackets - a.audioPackets) * 1000) / ms,
      frames: b.framesDecoded - a.framesDecoded,
      concealedRatio: (b.concealed - a.concealed) / Math.max(1, b.audioSamples - a.audioSamples),
      aobKbps: b.availableOutgoingBitrate / 1000,
      upQueueBytes: b.upQueueBytes,
    };
  });
  const first = samples[0];
  const last = samples[samples.length - 1];
  const ms = last.t - first.t;
  return {
    rxKbps: kbitPerS(last.rxBytes - first.rxBytes, ms),
    txKbps: kbitPerS(last.txBytes - first.txBytes, ms),
    steps,
    framesPerS: ((last.framesDecoded - first.framesDecoded) * 1000) / ms,
    concealedRatio: (last.concealed - first.concealed) / Math.max(1, last.audioSamples - first.audioSamples),
    upOverflowRatio: (last.upOverflow - first.upOverflow) / Math.max(1, last.upReceived - first.upReceived),
  };
}

/** Clear-weather windows the control may take to show more than the cap getting through (see there). */
const CONTROL_WINDOWS = 3;

describe('Chromium through the weather proxy', () => {
  it(`with ${CAP_KBPS} kbit/s each way, the subscriber receives under the cap, video keeps decoding and audio keeps flowing`, async () => {
    // The server must announce the proxy's port, and the proxy forward to the server's: proxy first,
    // then the server, then point the proxy at it.
    const proxy = new WeatherProxy({ listenPort: 0, target: { address: '127.0.0.1', port: 9 }, seed: 3 });
    await proxy.start();
    const server = await startTestServer({ media: { announcedPort: proxy.port } });
    proxy.setTarget({ address: '127.0.0.1', port: server.media.port });
    // Loopback flags: media goes through the weather proxy on 127.0.0.1 (announcedPort), the impaired path.
    const browser = await TestBrowser.launch();
    try {
      assert.equal(server.media.announcedPort, proxy.port);
      // Two tiles apart on the office floor: B receives A.
      const a = await browser.page(`${server.url}/?space=weather&name=A&x=30&y=20&video=640x480&simulcast=0`);
      const aId = (await a.evaluate(() => (window as any).proxima.ready)) as string;
      const b = await browser.page(`${server.url}/?space=weather&name=B&x=32&y=20&publish=0`);
      await b.evaluate(() => (window as any).proxima.ready);
      await waitFor('A to publish two tracks', () => b.evaluate((id) => (window as any).proxima.publishers().find((p: any) => p.participantId === id)?.tracks.length === 2, aId));
      await b.evaluate((id) => (window as any).proxima.subscribe(id), aId);
      await waitFor('B to decode A', async () => (await sample(b, a, proxy)).framesDecoded > 5).catch((e: Error) => {
        throw new Error(`${e.message}; server ${serverDiagnostics()}; proxy ${JSON.stringify(proxy.stats())}`);
      });

      // Control: clear weather, same pages, same measurement. Chrome starts its estimate at 300 kbit/s,
      // so give it a few seconds to climb first — longer on a busy machine, where A's encoder and estimate
      // ramp up slower (one run in ten with one core busy still sent 290 kbit/s after 7 s): up to three
      // 4 s windows, the first that carries more than the cap.
      await sleep(3000);
      let clear = await measure(b, a, proxy, 4);
      for (let k = 1; k < CONTROL_WINDOWS && !(clear.rxKbps > CAP_KBPS); k++) clear = await measure(b, a, proxy, 4);

      proxy.up.setConfig(CAP);
      proxy.down.setConfig(CAP);
      await sleep(8000); // Chrome's send-side estimate comes down from several Mbit/s
      const capped = await measure(b, a, proxy, 10);

      // B's bytes before the proxy's: whatever arrives in between counts for the proxy only.
      const finalRx = await sample(b, a, proxy);
      const rtpBytesIn = packetStats.rtpBytesIn;
      const st = proxy.stats();
      const r0 = (x: number) => x.toFixed(0);
      const r2 = (x: number) => x.toFixed(2);
      console.log(
        `weather-cap: clear rx ${r0(clear.rxKbps)} tx ${r0(clear.txKbps)} aob ${r0(clear.steps[clear.steps.length - 1].aobKbps)} kbit/s | ` +
          `capped ${CAP_KBPS}: rx ${r0(capped.rxKbps)} (max 1 s ${r0(Math.max(...capped.steps.map((s) => s.rxKbps)))}) tx ${r0(capped.txKbps)} ` +
          `aob ${r0(Math.min(...capped.steps.map((s) => s.aobKbps)))}–${r0(Math.max(...capped.steps.map((s) => s.aobKbps)))} kbit/s, ` +
          `${r2(capped.framesPerS)} fps, audio ${r0(Math.min(...capped.steps.map((s) => s.audioPps)))}–${r0(Math.max(...capped.steps.map((s) => s.audioPps)))} pkt/s, ` +
          `concealed ${r2(capped.concealedRatio * 100)}% (max 1 s ${r2(Math.max(...capped.steps.map((s) => s.concealedRatio)) * 100)}%), ` +
          `up overflow ${r2(capped.upOverflowRatio * 100)}%, up queue ≤ ${r0(Math.max(...capped.steps.map((s) => s.upQueueBytes)))} B | proxy up ${st.up.delivered} pkts ${st.up.deliveredBytes} B ovf ${st.up.queue_overflow}, down ${st.down.delivered} pkts ${st.down.deliveredBytes} B ovf ${st.down.queue_overflow}`,
      );
      const diag = () => `; server ${serverDiagnostics()}; proxy ${JSON.stringify(st)}`;

      // Every media byte crossed the weather: the server received no more RTP than the proxy forwarded
      // up (UDP payloads, SRTP tags and RTCP included), and B received no more than it forwarded down.
      assert.ok(rtpBytesIn > 0 && st.up.deliveredBytes >= rtpBytesIn, `server RTP bytes in ${rtpBytesIn} ≤ proxy up ${st.up.deliveredBytes}${diag()}`);
      assert.ok(finalRx.rxBytes > 0 && st.down.deliveredBytes >= finalRx.rxBytes, `B's received bytes ${finalRx.rxBytes} ≤ proxy down ${st.down.deliveredBytes}${diag()}`);

      assert.ok(clear.rxKbps > CAP_KBPS, `control: without the cap B receives more than ${CAP_KBPS} kbit/s (got ${r0(clear.rxKbps)})${diag()}`);
      assert.ok(capped.rxKbps < CAP_KBPS, `B receives under the cap (got ${r0(capped.rxKbps)} kbit/s)${diag()}`);

      // Chrome adapted rather than the queue cutting it down: it sends under the cap, its estimate sits near
      // the cap (uncapped it is several Mbit/s), and the bottleneck rarely overflows.
      assert.ok(capped.txKbps < CAP_KBPS, `A sends under the cap (got ${r0(capped.txKbps)} kbit/s)${diag()}`);
      for (const s of capped.steps) assert.ok(s.aobKbps < 2 * CAP_KBPS, `A's availableOutgoingBitrate ${r0(s.aobKbps)} kbit/s stays near the cap${diag()}`);
      assert.ok(capped.upOverflowRatio < 0.05, `under 5% of uplink packets overflow the queue (got ${r2(capped.upOverflowRatio * 100)}%)${diag()}`);

      // Video keeps coming: frames in every second, ≥ 5 fps on average (a loaded 2-core machine).
      for (const s of capped.steps) assert.ok(s.frames > 0, `frames decoded in every second (${capped.steps.map((x) => x.frames).join(',')})${diag()}`);
      assert.ok(capped.framesPerS >= 5, `B decodes ≥ 5 fps (got ${r2(capped.framesPerS)})${diag()}`);

      // Audio keeps flowing: in every second at least 60% of the nominal 50 packets (no hole over ~0.4 s),
      // and under 10% of the played samples concealed: Opus concealment hides a few percent of missing audio,
      // not a tenth of it (clear weather gives 0%).
      for (const s of capped.steps) assert.ok(s.audioPps >= 0.6 * AUDIO_PPS, `audio packets in every second (${capped.steps.map((x) => r0(x.audioPps)).join(',')} pkt/s)${diag()}`);
      assert.ok(capped.concealedRatio < 0.1, `under 10% of audio samples concealed (got ${r2(capped.concealedRatio * 100)}%)${diag()}`);
      for (const p of [a, b]) await p.close();
    } finally {
      await browser.close();
      await server.close();
      await proxy.close();
    }
  });
});
