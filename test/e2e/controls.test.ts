import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics, startTestServer } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import type { Consumer } from '../../src/media/consumer.ts';
import { packetStats } from '../../src/metrics/registry.ts';
import type { Producer } from '../../src/media/producer.ts';

/**
 * The everyday controls in stock Chromium (no loopback or mDNS test flags; the server announces this
 * machine's interface addresses): mute, speaking, device switching, screen share, the live state, a blocked
 * camera, no speaker, and the layout at 1024×640.
 *
 * Times are taken where things happen, on one clock: the page's `performance.timeOrigin + now()` and the
 * server's (this process's) are both the system clock in ms since 1970, so "muted at t0 in page A" and "last
 * packet forwarded at t1 on the server" / "last packet received at t2 in page B" compare directly, whatever
 * the Playwright round trips around them cost on a busy machine.
 */
const SPACE = 'controls';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One received track's inbound-rtp counters, and the track id the listener knows it by. */
interface Inbound {
  packetsReceived: number;
  lastPacketReceivedTimestamp: number;
  framesDecoded: number;
  frameWidth: number;
  frameHeight: number;
  trackId: string;
}

interface Person {
  name: string;
  page: Page;
  id: string;
}

// The built-in office map: open floor around (24..36, 20) (src/proximity/maps/office.json).
describe('the everyday controls in stock Chromium', () => {
  let server: ProximaServer;
  let browser: TestBrowser;
  let A: Person;
  let B: Person;

  const open = async (name: string, x: number, y: number, extra = '', init?: string): Promise<Person> => {
    const page = await browser.page('about:blank');
    if (init) await page.addInitScript(init);
    await page.goto(`${server.url}/?space=${SPACE}&name=${name}&x=${x}&y=${y}&video=320x240${extra}`);
    const id = (await page.evaluate(() => (window as any).proxima.ready)) as string;
    return { name, page, id };
  };
  const epoch = 'performance.timeOrigin + performance.now()';
  const serverNow = () => performance.timeOrigin + performance.now();
  const producerOf = (p: Person, source: string): Producer | undefined =>
    [...(server.spaces.get(SPACE)?.participants.get(p.id)?.localProducers.values() ?? [])].find((x) => x.source === source);

  /**
   * Wraps every consumer of `producer` so the server's own clock records when it last forwarded a packet:
   * the counter (Consumer.packetsSent) is the server's, the timestamp is taken in the forwarding call itself.
   */
  const watchForwarding = (producer: Producer) => {
    const w = { lastAt: 0, forwarded: () => (producer.sinks as Consumer[]).reduce((n, c) => n + (c.packetsSent ?? 0), 0) };
    for (const c of producer.sinks as Consumer[]) {
      const forward = c.forward.bind(c);
      c.forward = (view, meta, nowMs) => {
        const before = c.packetsSent;
        forward(view, meta, nowMs);
        if (c.packetsSent > before) w.lastAt = serverNow();
      };
    }
    return w;
  };

  /** In `listener`'s page: the inbound-rtp stats of `publisherId`'s track of `kind` (by the receiver's mid). */
  const inbound = (listener: Person, publisher: Person, kind: 'audio' | 'video') =>
    listener.page.evaluate(
      async ([pid, kind]) => {
        const c = (window as any).proxima.client;
        const pc: RTCPeerConnection = c.subscribePc;
        const t = c.tracksOf(pid).find((x: { track: MediaStreamTrack }) => x.track.kind === kind);
        const mid = t ? pc.getTransceivers().find((tr) => tr.receiver.track === t.track)?.mid : undefined;
        const found: Inbound[] = [];
        (await pc.getStats()).forEach((s: any) => {
          if (s.type === 'inbound-rtp' && s.mid === mid)
            found.push({ packetsReceived: s.packetsReceived ?? 0, lastPacketReceivedTimestamp: s.lastPacketReceivedTimestamp ?? 0, framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth ?? 0, frameHeight: s.frameHeight ?? 0, trackId: t.trackId });
        });
        return found[0] ?? null;
      },
      [publisher.id, kind] as const,
    );
  const bubbleClasses = (listener: Person, of: Person) => listener.page.evaluate((id) => document.querySelector(`.bubble:not(.screen)[data-participant="${id}"]`)?.className ?? '', of.id);
  const fail = (e: Error) => {
    throw new Error(`${e.message}; server ${serverDiagnostics()}`);
  };

  before(async () => {
    server = await startTestServer({ media: { bindIp: '0.0.0.0', announcedIp: 'auto' } });
    browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
    A = await open('A', 30, 20);
    B = await open('B', 32, 20);
    await waitFor('B to decode A and play its audio', async () => {
      const [a, v] = [await inbound(B, A, 'audio'), await inbound(B, A, 'video')];
      return a && v && a.packetsReceived > 50 && v.framesDecoded > 10;
    }, 25_000).catch(fail);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  // A test that fails half-way must not leave A muted for the next ones.
  afterEach(async () => {
    await A?.page.evaluate(async () => {
      const p = (window as any).proxima;
      if (p.muted().audio) await p.setMuted('audio', false);
      if (p.muted().video) await p.setMuted('video', false);
    });
  });

  it('a muted microphone stops reaching the listener within 300 ms (server forwarding and the listener’s packets); unmuted, it resumes', async () => {
    const producer = producerOf(A, 'microphone')!;
    const fwd = watchForwarding(producer);
    await waitFor('the server to forward A’s audio', () => fwd.lastAt > 0, 3000);
    const t0 = (await A.page.evaluate(`(async () => { const t = ${epoch}; await window.proxima.setMuted('audio', true); return t; })()`)) as number;
    await sleep(800);
    const atB = (await inbound(B, A, 'audio'))!;
    const forwarded = fwd.forwarded();
    await sleep(700);
    assert.equal(fwd.forwarded(), forwarded, 'the server forwards nothing more of a muted microphone');
    assert.equal((await inbound(B, A, 'audio'))!.packetsReceived, atB.packetsReceived, 'B receives nothing more');
    const serverStop = fwd.lastAt - t0;
    const listenerStop = atB.lastPacketReceivedTimestamp - t0;
    process.stdout.write(`# mute: last audio forwarded ${serverStop.toFixed(0)} ms, last received at B ${listenerStop.toFixed(0)} ms after the click\n`);
    assert.ok(serverStop < 300, `server forwarded until ${serverStop} ms after mute`);
    assert.ok(listenerStop < 300, `B received audio until ${listenerStop} ms after mute`);
    assert.equal(producer.muted, true);
    await waitFor('B’s bubble of A to show the muted microphone', async () => (await bubbleClasses(B, A)).includes('mic-muted'));

    await A.page.evaluate(() => (window as any).proxima.setMuted('audio', false));
    await waitFor('audio again at B', async () => (await inbound(B, A, 'audio'))!.packetsReceived > atB.packetsReceived + 20, 5000).catch(fail);
    assert.ok(fwd.forwarded() > forwarded, 'the server forwards again');
    await waitFor('B’s bubble without the muted mark', async () => !(await bubbleClasses(B, A)).includes('mic-muted'));
  });

  it('a camera turned off stops its video and shows camera-off at the listener; on again, frames come back at once (keyframe)', async () => {
    const fwd = watchForwarding(producerOf(A, 'camera')!);
    await waitFor('the server to forward A’s video', () => fwd.lastAt > 0, 3000);
    const t0 = (await A.page.evaluate(`(async () => { const t = ${epoch}; await window.proxima.setMuted('video', true); return t; })()`)) as number;
    await waitFor('B’s bubble of A to show camera off', async () => (await bubbleClasses(B, A)).includes('cam-off'));
    await sleep(800);
    const v0 = (await inbound(B, A, 'video'))!;
    assert.ok(fwd.lastAt - t0 < 300, `server forwarded video until ${fwd.lastAt - t0} ms after camera off`);
    const plis = packetStats.keyframeRequestsSent;
    await A.page.evaluate(() => (window as any).proxima.setMuted('video', false));
    await waitFor('frames decoded again at B', async () => (await inbound(B, A, 'video'))!.framesDecoded > v0.framesDecoded + 5, 5000).catch(fail);
    assert.ok(packetStats.keyframeRequestsSent > plis, 'the server asked A for a keyframe on unmute');
    await waitFor('B’s bubble without camera-off', async () => !(await bubbleClasses(B, A)).includes('cam-off'));
  });

  it('speaking shows on the neighbour’s bubble within 300 ms of someone starting to talk', async () => {
    // A talks through an oscillator (WebAudio) swapped in with replaceTrack: silent first, then a tone whose
    // start A's page timestamps. B's page timestamps the moment A's bubble gets its speaking class.
    await A.page.evaluate(async () => {
      const w = window as any;
      const ctx = new AudioContext();
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      gain.gain.value = 0;
      const dest = ctx.createMediaStreamDestination();
      osc.connect(gain).connect(dest);
      osc.start();
      w.__talk = { ctx, gain, mic: w.proxima.client.localTrack('microphone') };
      await w.proxima.client.replaceTrack('microphone', dest.stream.getAudioTracks()[0], { stopOld: false });
    });
    // The fake microphone beeps; in silence, speaking ends after the server's 1 s hangover.
    await waitFor('A silent at B', async () => !(await bubbleClasses(B, A)).includes('speaking'), 5000);
    await sleep(300);
    await B.page.evaluate((id) => {
      const w = window as any;
      const el = document.querySelector(`.bubble:not(.screen)[data-participant="${id}"]`)!;
      w.__speakAt = 0;
      new MutationObserver(() => {
        if (!w.__speakAt && el.classList.contains('speaking')) w.__speakAt = performance.timeOrigin + performance.now();
      }).observe(el, { attributes: true, attributeFilter: ['class'] });
    }, A.id);
    const t0 = (await A.page.evaluate(`(() => { window.__talk.gain.gain.value = 1; return ${epoch}; })()`)) as number;
    const shownAt = (await waitFor('B to show A speaking', () => B.page.evaluate(() => (window as any).__speakAt as number), 5000)) as number;
    process.stdout.write(`# speaking: shown on B's page ${(shownAt - t0).toFixed(0)} ms after A started talking\n`);
    assert.ok(shownAt - t0 < 300, `speaking shown ${shownAt - t0} ms after the start`);
    assert.ok(((await B.page.evaluate(() => (window as any).proxima.speaking())) as string[]).includes(A.id), 'the map avatar draws from the same set');
    // Back to the fake microphone for what follows.
    await A.page.evaluate(async () => {
      const w = window as any;
      await w.proxima.client.replaceTrack('microphone', w.__talk.mic);
      await w.__talk.ctx.close();
    });
  });

  it('a device switch keeps the same track at the listener: the second fake microphone through the picker, the camera at another size', async () => {
    const before = { audio: (await inbound(B, A, 'audio'))!, video: (await inbound(B, A, 'video'))! };
    assert.ok(before.video.frameWidth * 3 === before.video.frameHeight * 4, `4:3 before (${before.video.frameWidth}×${before.video.frameHeight})`);
    // Microphone through the device picker UI: Chromium's fake devices offer "Fake Audio Input 1/2".
    await A.page.click('button[data-control="devices"]');
    await waitFor('the picker to list microphones', () => A.page.evaluate(() => document.querySelectorAll('#devices select[name="microphone"] option').length >= 2));
    const mic2 = (await A.page.evaluate(() => Array.from(document.querySelectorAll<HTMLOptionElement>('#devices select[name="microphone"] option')).find((o) => o.textContent === 'Fake Audio Input 2')?.value)) as string;
    assert.ok(mic2, 'a second fake microphone');
    await A.page.selectOption('#devices select[name="microphone"]', mic2);
    await waitFor('A to send the second microphone', () => A.page.evaluate((id) => (window as any).proxima.client.localTrack('microphone')?.getSettings().deviceId === id, mic2));
    // Chromium's fake device is one camera: "another camera" is a second capture of it at 16:9.
    await A.page.evaluate(async () => {
      const t = (await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 180 } })).getVideoTracks()[0];
      await (window as any).proxima.client.replaceTrack('camera', t);
    });
    await waitFor('B to decode the 16:9 picture', async () => {
      const v = (await inbound(B, A, 'video'))!;
      return v.frameHeight > 0 && Math.abs(v.frameWidth / v.frameHeight - 16 / 9) < 0.05 && v;
    }, 10_000).catch(fail);
    const audioNow = (await inbound(B, A, 'audio'))!;
    assert.ok(audioNow.packetsReceived > before.audio.packetsReceived + 20, 'audio keeps coming');
    assert.equal((await inbound(B, A, 'video'))!.trackId, before.video.trackId, 'same video track id at B: no renegotiation');
    assert.equal(audioNow.trackId, before.audio.trackId, 'same audio track id at B');
    const tracks = (await B.page.evaluate((id) => (window as any).proxima.client.tracksOf(id).map((t: { track: MediaStreamTrack }) => t.track.readyState), A.id)) as string[];
    assert.deepEqual(tracks.sort(), ['live', 'live'], 'the same two tracks, still live');
    // The speaker: every voice B hears goes to the chosen output (setSinkId).
    const out = (await B.page.evaluate(async () => (await (window as any).proxima.devices()).speakers.find((s: { label: string }) => s.label === 'Fake Audio Output 1')?.deviceId)) as string;
    await B.page.evaluate((id) => (window as any).proxima.setAudioOutput(id), out);
    const sinks = (await B.page.evaluate(() => (window as any).proxima.client.audio.elements().map((e: { el: HTMLAudioElement & { sinkId: string } }) => e.el.sinkId))) as string[];
    assert.ok(sinks.length > 0 && sinks.every((s) => s === out), `B's audio plays on the chosen output (${sinks.join(', ')})`);
    await A.page.click('button[data-control="devices"]');
  });

  it('a shared screen is a second, larger tile at the neighbour and leaves at 6+ tiles exactly like the camera', async () => {
    // Headless Debian Chromium (156): --use-fake-ui-for-media-stream accepts the share picker (without it
    // getDisplayMedia waits for a click that never comes), and --use-fake-device-for-media-stream supplies a
    // generated 1280×720 "screen:-3:0" (without it: NotReadableError, a headless browser has no display to
    // capture). --auto-select-desktop-capture-source changes nothing here. Both flags are in USER_CHROMIUM_FLAGS.
    const screenTrackId = (await A.page.evaluate(() => (window as any).proxima.shareScreen())) as string;
    assert.ok(screenTrackId);
    const screenAt = (p: Person) =>
      p.page.evaluate((id) => {
        const v = document.querySelector<HTMLVideoElement>(`.bubble.screen[data-participant="${id}"] video`);
        const cam = document.querySelector<HTMLElement>(`.bubble:not(.screen)[data-participant="${id}"]`);
        return v ? { width: v.videoWidth, height: v.videoHeight, tile: v.parentElement!.getBoundingClientRect().width, camTile: cam?.getBoundingClientRect().width ?? 0 } : null;
      }, A.id);
    const shown = await waitFor('B to show A’s screen', async () => {
      const s = await screenAt(B);
      return s && s.width > 0 ? s : null;
    }, 15_000).catch(fail);
    assert.ok(shown.tile > shown.camTile, `the screen tile (${shown.tile}px) is larger than the camera bubble (${shown.camTile}px)`);
    const sources = (await B.page.evaluate((id) => (window as any).proxima.client.publishers.get(id).tracks.map((t: { source: string }) => t.source).sort(), A.id)) as string[];
    assert.deepEqual(sources, ['camera', 'microphone', 'screen']);

    // A walks 8 tiles away: at B the screen and the camera end together (the link's 1.5 s hold, then one offer).
    await B.page.evaluate((id) => {
      const w = window as any;
      w.__ended = {};
      w.proxima.client.on('trackEnded', (e: { publisherId: string; track: MediaStreamTrack; trackId: string }) => {
        if (e.publisherId === id) w.__ended[e.track.kind === 'audio' ? 'audio' : e.trackId] = performance.timeOrigin + performance.now();
      });
    }, A.id);
    const camTrackId = (await inbound(B, A, 'video'))!.trackId;
    await A.page.evaluate(() => (window as any).proxima.move(22, 20));
    const ended = (await waitFor('A’s camera and screen to end at B', async () => {
      const e = (await B.page.evaluate(() => (window as any).__ended)) as Record<string, number>;
      return e[camTrackId] && e[screenTrackId] ? e : null;
    }, 10_000).catch(fail)) as Record<string, number>;
    assert.ok(Math.abs(ended[camTrackId]! - ended[screenTrackId]!) < 200, `screen and camera ended together (${Math.round(ended[screenTrackId]! - ended[camTrackId]!)} ms apart)`);
    await waitFor('the screen tile to go', async () => (await screenAt(B)) === null);

    // Back within reach: both come back; then A stops sharing and only the screen goes.
    await A.page.evaluate(() => (window as any).proxima.move(30, 20));
    await waitFor('B to show A’s screen again', async () => ((await screenAt(B))?.width ?? 0) > 0, 15_000).catch(fail);
    await A.page.evaluate(() => (window as any).proxima.stopScreen());
    await waitFor('the screen tile to go after stop', async () => (await screenAt(B)) === null, 10_000);
    const v0 = (await inbound(B, A, 'video'))!.framesDecoded;
    await waitFor('A’s camera to keep going at B', async () => (await inbound(B, A, 'video'))!.framesDecoded > v0 + 5, 5000);
  });

  it('"live" tells the truth: not publishing while both tracks are muted although the connection is up; live again when unmuted', async () => {
    const live = (p: Person) => p.page.evaluate(() => (window as any).proxima.live()) as Promise<{ publishing: boolean; receiving: boolean }>;
    const state = (p: Person) => p.page.evaluate(() => document.getElementById('live')!.dataset.state);
    assert.deepEqual(await live(A), { publishing: true, receiving: true });
    const unmute = () =>
      A.page.evaluate(async () => {
        await (window as any).proxima.setMuted('audio', false);
        await (window as any).proxima.setMuted('video', false);
      });
    await A.page.evaluate(async () => {
      await (window as any).proxima.setMuted('audio', true);
      await (window as any).proxima.setMuted('video', true);
    });
    try {
      // "Live" judges growth over the last 200–600 ms: it must turn false soon and stay false.
      await waitFor('A not publishing', async () => !(await live(A)).publishing, 3000);
      for (let i = 0; i < 3; i++) {
        await sleep(300);
        assert.deepEqual(await live(A), { publishing: false, receiving: true }, 'nothing leaves A');
      }
      assert.equal(await A.page.evaluate(() => (window as any).proxima.client.publishPc.connectionState), 'connected', 'while the publish connection is up');
      await waitFor('the toolbar to stop saying live', async () => (await state(A)) === 'muted', 3000);
    } finally {
      await unmute(); // the tests after this one need A's media
    }
    await waitFor('A live again', async () => (await live(A)).publishing, 3000);
    await waitFor('the toolbar to say live', async () => (await state(A)) === 'live', 3000);
    // A viewer sends nothing and says so; it still receives.
    const V = await open('V', 31, 21, '&publish=0');
    await waitFor('the viewer to receive', async () => (await live(V)).receiving, 15_000).catch(fail);
    assert.equal((await live(V)).publishing, false);
    assert.notEqual(await state(V), 'live');
    await V.page.close();
  });

  it('a blocked camera: a plain message with Retry; the person joins, is heard and receives; Retry publishes the camera', async () => {
    // The camera is refused as a browser does when the site's permission is blocked (NotAllowedError).
    const deny = `(() => {
      const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = (c) => (c && c.video && !window.__allowCamera ? Promise.reject(new DOMException('Permission denied', 'NotAllowedError')) : gum(c));
    })()`;
    const D = await open('D', 31, 19, '', deny);
    const notice = await waitFor('the camera notice', async () =>
      ((await D.page.evaluate(() => (window as any).proxima.notices())) as Array<{ key: string; text: string }>).find((n) => n.key === 'camera'),
    );
    assert.match(notice.text, /camera is blocked/);
    assert.ok(await D.page.isVisible('.notice[data-notice="camera"] button:has-text("Retry")'), 'a visible Retry button');
    await waitFor('D to receive A', async () => ((await inbound(D, A, 'video'))?.framesDecoded ?? 0) > 3, 15_000).catch(fail);
    await waitFor('A to hear D', async () => ((await inbound(A, D, 'audio'))?.packetsReceived ?? 0) > 20, 15_000).catch(fail);
    assert.equal(await inbound(A, D, 'video'), null, 'no video from D');
    await D.page.evaluate(() => ((window as any).__allowCamera = true));
    await D.page.click('.notice[data-notice="camera"] button:has-text("Retry")');
    await waitFor('A to decode D’s camera', async () => ((await inbound(A, D, 'video'))?.framesDecoded ?? 0) > 5, 15_000).catch(fail);
    assert.equal(await D.page.locator('.notice[data-notice="camera"]').count(), 0, 'the notice is gone');
    await D.page.close();
  });

  it('no audio output device: a plain message', async () => {
    const noOutput = `(() => {
      const list = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
      navigator.mediaDevices.enumerateDevices = async () => (await list()).filter((d) => d.kind !== 'audiooutput');
    })()`;
    const E = await open('E', 34, 22, '&publish=0', noOutput);
    const n = await waitFor('the speaker notice', async () => ((await E.page.evaluate(() => (window as any).proxima.notices())) as Array<{ key: string; text: string }>).find((x) => x.key === 'speaker'));
    assert.match(n.text, /No speaker or headphones/);
    assert.ok(await E.page.isVisible('.notice[data-notice="speaker"]'));
    await E.page.close();
  });

  it('at 1024×640 nothing is cut off, the strip stays above the map, and name labels of people standing together do not overlap', async () => {
    const C = await open('C', 31, 21);
    const F = await open('F', 30, 21);
    await A.page.setViewportSize({ width: 1024, height: 640 });
    await waitFor('A to see four others', async () => ((await A.page.evaluate(() => (window as any).proxima.people().length)) as number) >= 3);
    await sleep(800);
    const box = (sel: string) => A.page.locator(sel).first().boundingBox();
    for (const sel of ['button[data-control="mic"]', 'button[data-control="camera"]', 'button[data-control="screen"]', 'button[data-control="devices"]', 'button[data-mode="dnd"]', '#spotlight', '#live', '#people', '#status']) {
      const b = await box(sel);
      assert.ok(b && b.x >= 0 && b.y >= 0 && b.x + b.width <= 1024 && b.y + b.height <= 640, `${sel} inside 1024×640: ${JSON.stringify(b)}`);
    }
    const strip = (await box('#strip'))!;
    const map = (await box('#map'))!;
    assert.ok(strip.y + strip.height <= map.y + 1, `the strip (bottom ${strip.y + strip.height}) is above the map (top ${map.y})`);
    assert.ok(map.height >= 250, `the map keeps room (${map.height}px)`);
    const labels = (await A.page.evaluate(() => (window as any).proxima.labels())) as Array<{ id: string; x: number; y: number; w: number; h: number }>;
    assert.ok(labels.length >= 4, `labels drawn: ${labels.length}`);
    for (let i = 0; i < labels.length; i++)
      for (let j = i + 1; j < labels.length; j++) {
        const [p, q] = [labels[i]!, labels[j]!];
        const overlap = Math.min(p.x + p.w, q.x + q.w) > Math.max(p.x, q.x) && Math.min(p.y + p.h, q.y + q.h) > Math.max(p.y, q.y);
        assert.ok(!overlap, `labels of ${p.id} and ${q.id} overlap`);
      }
    await C.page.close();
    await F.page.close();
  });
});
