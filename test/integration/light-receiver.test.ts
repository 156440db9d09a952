/**
 * The capacity bench's people against a real server: a publisher with send-time timestamps, two viewers
 * counting from clear RTP headers. What they count must be what was sent (no loss on loopback), the
 * authentication sample must pass, and the delay read through the forwarded sender reports must be a
 * loopback delay (a wrong mapping shows as seconds, or as nothing).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer, serverDiagnostics } from '../testkit/proxima.ts';
import type { ProximaServer } from '../../src/server/proxima-server.ts';
import { createDtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { buildClip } from '../../tools/loadgen/media/clip.ts';
import { parseIvf } from '../../tools/loadgen/media/ivf.ts';
import { parseOggOpus } from '../../tools/loadgen/media/ogg-opus.ts';
import { joinLightPerson, type LightPerson } from '../../tools/loadgen/targets/light-person.ts';

const fixtures = new URL('../../tools/loadgen/media/fixtures/', import.meta.url);
const ivf = parseIvf(readFileSync(new URL('clip-160x90.ivf', fixtures)));
const opus = parseOggOpus(readFileSync(new URL('clip-1s.ogg', fixtures))).packets;
const clip = buildClip([{ name: 'v', ivf, targetKbps: 100 }], opus);
const SPACE = 'light-receiver';

describe('light receivers against the server', () => {
  let server: ProximaServer;
  const people: LightPerson[] = [];
  let timer: NodeJS.Timeout | null = null;

  before(async () => {
    server = await startTestServer();
    const certificate = await createDtlsCertificate();
    const o = { url: server.url, space: SPACE, clip, thumbClip: clip, certificate, authEvery: 8 };
    people.push(await joinLightPerson({ name: 'A', publish: true, videoLayer: 0, x: 4, y: 16 }, o));
    people.push(await joinLightPerson({ name: 'B', publish: false, x: 6, y: 16 }, o));
    people.push(await joinLightPerson({ name: 'C', publish: false, x: 5, y: 17 }, o));
    timer = setInterval(() => {
      for (const p of people) p.receiver.tick();
    }, 25);
  });

  after(async () => {
    if (timer) clearInterval(timer);
    for (const p of people) p.close();
    await server?.close();
  });

  it('count every packet, pass the authentication sample, and read a loopback delay', async (t) => {
    await new Promise((r) => setTimeout(r, 2000)); // connected, keyframe, first sender reports
    for (const p of people) p.receiver.startWindow();
    for (const p of people) p.receiver.delay.reset();
    await new Promise((r) => setTimeout(r, 3000));
    for (const viewer of people.slice(1)) {
      const w = viewer.receiver.window();
      const why = `${viewer.spec.name}: ${JSON.stringify(w)} drops ${JSON.stringify([...(viewer.client.subscriber?.drops ?? [])])}\n${serverDiagnostics()}`;
      assert.equal(w.streams, 2, why); // audio and video of A
      assert.ok(w.packets > 3 * 50, why); // 50 audio packets a second alone
      assert.equal(w.lost, 0, why);
      assert.ok(w.authenticated > 0 && w.unauthenticated > 4 * w.authenticated, why);
      assert.equal([...(viewer.client.subscriber?.drops ?? [])].filter(([r]) => r !== 'srtp_not_ready').length, 0, why);
      assert.equal(viewer.receiver.unknownPackets, 0, why);
      const d = viewer.receiver.delay;
      assert.ok(d.count > 0.9 * w.packets, `${why}\ndelay samples ${d.count}`);
      t.diagnostic(`${viewer.spec.name}: ${w.packets} packets (${w.authenticated} authenticated), delay p50 ${d.percentile(50).toFixed(2)} ms, p99 ${d.percentile(99).toFixed(2)} ms`);
      assert.ok(d.percentile(50) > 0.01 && d.percentile(99) < 500, `${why}\ndelay p50 ${d.percentile(50)} p99 ${d.percentile(99)}`);
    }
  });
});
