/**
 * Audio redundancy (RFC 2198) as a listener meets it: Chromium takes `red/48000/2` in its answer to our
 * subscribe offer; with 10 % of the packets to it lost, the server wraps each Opus packet with the two before
 * it, and the listener's concealment (concealedSamples ÷ totalSamplesReceived from its own getStats) is at
 * least halved against the same link with redundancy held off, both measured in this one run, in turns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics } from '../testkit/proxima.ts';
import { TestBrowser, waitFor, type Page } from '../testkit/browser.ts';
import type { WeatherProxy } from '../../tools/weather/udp-proxy.ts';
import { startServerBehindWeather } from '../testkit/weather-server.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';

const LOSS = 0.1;
const PHASE_MS = 8_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('audio redundancy on a lossy link', () => {
  let proxy: WeatherProxy;
  let server: ProximaServer;
  let browser: TestBrowser;
  let stop: (() => Promise<void>) | undefined;
  before(async () => {
    ({ proxy, server, close: stop } = await startServerBehindWeather(11));
    // Loopback flags: media goes through the weather proxy on 127.0.0.1 (announcedPort), the impaired path.
    browser = await TestBrowser.launch();
  });
  after(async () => {
    await browser?.close();
    await stop?.();
  });

  it('halves the listener’s concealment (or better) against the same loss without it', async () => {
    const speaker: Page = await browser.page(`${server.url}/?space=red&name=Speaker&x=20&y=21&video=320x180&simulcast=0`);
    const speakerId = (await speaker.evaluate(() => (window as any).proxima.ready)) as string;
    const listener: Page = await browser.page(`${server.url}/?space=red&name=Listener&x=21&y=21&video=320x180&simulcast=0`);
    const listenerId = (await listener.evaluate(() => (window as any).proxima.ready)) as string;
    const person = server.spaces.get('red')!.participants.get(listenerId)!;
    const audioTrack = [...server.spaces.get('red')!.participants.get(speakerId)!.producers.values()].find((t) => t.kind === 'audio')!;
    const consumer = await waitFor('the listener receives the speaker’s audio', () => person.consumerOf(audioTrack.id), 20_000);
    await waitFor('Chromium took red in its answer', () => consumer.redPayloadType === 63, 10_000);

    const audioIn = async () =>
      (await listener.evaluate(async () => {
        const st = await (window as any).proxima.stats();
        let total = 0;
        let concealed = 0;
        for (const s of st.inbound) if (s.kind === 'audio') (total += s.totalSamplesReceived ?? 0), (concealed += s.concealedSamples ?? 0);
        return { total, concealed };
      })) as { total: number; concealed: number };
    await waitFor('audio playing at the listener', async () => (await audioIn()).total > 48_000, 20_000);

    const link = proxy.linkOf(person.subscribeTransport!.remotePort);
    assert.ok(link, 'the listener’s subscribe connection crosses the proxy');
    link.down.setConfig({ loss: LOSS });
    const measure = async (red: boolean) => {
      consumer.redPayloadType = red ? 63 : null;
      await sleep(2000); // the loss seen by the estimator, the jitter buffer settled
      const a = await audioIn();
      const lostBefore = link.down.counters.lost_random;
      await sleep(PHASE_MS);
      const b = await audioIn();
      return { ratio: (b.concealed - a.concealed) / Math.max(1, b.total - a.total), samples: b.total - a.total, dropped: link.down.counters.lost_random - lostBefore };
    };
    // Off, on, off, on: each side measured twice, the machine's state shared alike.
    const off1 = await measure(false);
    const on1 = await measure(true);
    const off2 = await measure(false);
    const on2 = await measure(true);
    const off = (off1.ratio + off2.ratio) / 2;
    const on = (on1.ratio + on2.ratio) / 2;
    const report = `concealed without RED ${(off1.ratio * 100).toFixed(2)} % / ${(off2.ratio * 100).toFixed(2)} %, with RED ${(on1.ratio * 100).toFixed(2)} % / ${(on2.ratio * 100).toFixed(2)} % (redundancy wanted: ${person.subscribeSession?.sender.redWanted}); ${serverDiagnostics()}`;
    process.stdout.write(`# audio RED at ${LOSS * 100} % loss: ${report}\n`);
    assert.ok(off > 0.03, `the loss shows without RED: ${report}`);
    assert.ok(on <= off / 2, `RED at least halves concealment: ${report}`);
  });
});
