/**
 * A hostile participant in a child process (so its own CPU is not the server's): joins over signaling like
 * anyone with the link, then floods in one of the ways issue 15 found harmful, until the server disconnects
 * it or `--ms` passes. Reports over IPC: {event: 'ready'}, then {event: 'done', closed, stats}.
 *
 *   node --import tsx test/testkit/hostile/flooder.ts <httpUrl> <space> twcc|sdp|publish50|hello <x> <y> <ms>
 */
import { NodeClient } from '../../../tools/client/node-client.ts';
import { vp8Payload } from '../synthetic-media.ts';
import { rtcpFbFloodOffer, twccClaimFlood } from './floods.ts';

const [url, space, kind, xs, ys, mss] = process.argv.slice(2) as [string, string, string, string, string, string];
const x = Number(xs);
const y = Number(ys);
const ms = Number(mss);
const stats: Record<string, number> = { sent: 0, rateLimited: 0, sdpRejected: 0, answered: 0, otherErrors: 0 };
const send = (m: unknown) => process.send?.(m);
const closes: Array<{ code: number; reason: string; atMs: number }> = [];
let t0 = 0;

async function main(): Promise<void> {
  const clients: NodeClient[] = [];
  const watchClose = (c: NodeClient) => (c.onClose = (code, reason) => closes.push({ code, reason, atMs: Date.now() - t0 }));
  const done = () => closes.length >= clients.length;
  const tally = (e: Error) => {
    if (/^rate_limited/.test(e.message)) stats.rateLimited!++;
    else if (/^sdp_rejected/.test(e.message)) stats.sdpRejected!++;
    else if (!/signaling closed/.test(e.message)) stats.otherErrors!++;
  };
  let tick: () => void;
  if (kind === 'twcc') {
    // A subscriber near the publisher: its own subscribe transport carries the feedback flood.
    const c = await NodeClient.join(url, space, 'flooder', { x, y });
    clients.push(c);
    watchClose(c);
    const peer = await c.subscriberReady(15_000);
    const fb = twccClaimFlood(peer.rtcpSsrc, 1);
    // 4,000 feedbacks a second (~1.3 Mbit/s of 40-byte packets plus SRTCP), in 5 ms batches.
    tick = () => {
      for (let i = 0; i < 20 && !c.closed; i++) {
        fb.writeUInt16BE((stats.sent! * 7) & 0xffff, 12);
        peer.sendRtcp(fb);
        stats.sent!++;
      }
    };
  } else if (kind === 'sdp') {
    // Two guest connections, each sending 64 KiB offers of ~3,900 a=rtcp-fb lines at 40 a second: within the
    // old message limit (50/s), over the offer limit.
    const { sdp } = rtcpFbFloodOffer();
    for (let i = 0; i < 2; i++) {
      const c = await NodeClient.join(url, space, `flooder${i}`, { x, y });
      clients.push(c);
      watchClose(c);
    }
    let n = 0;
    tick = () => {
      if (++n % 5 !== 0) return; // every 25 ms: 40/s per connection
      for (const c of clients) {
        if (c.closed) continue;
        stats.sent!++;
        c.request('publish', { sdp }).then(() => stats.answered!++, tally);
      }
    };
  } else if (kind === 'publish50') {
    const c = await NodeClient.join(url, space, 'flooder', { x, y });
    clients.push(c);
    watchClose(c);
    const { peer } = await c.publish({ audio: false });
    let frame = 0;
    let ts = 0;
    let due = 0;
    let last = Date.now();
    // 50 Mbit/s of 1,200-byte packets (~5,200/s), sent by elapsed time so a late timer catches up; frames of
    // 26 packets, a keyframe every 30 frames. Payloads are made once: the flooder's CPU is not the point.
    const key = Array.from({ length: 26 }, (_, i) => vp8Payload(1188, { keyframe: true, first: i === 0, seed: 1 }));
    const delta = Array.from({ length: 26 }, (_, i) => vp8Payload(1188, { keyframe: false, first: i === 0, seed: 2 }));
    let inFrame = 0;
    tick = () => {
      const now = Date.now();
      due += ((now - last) * 50e6) / 8 / 1200 / 1000;
      last = now;
      for (; due >= 1 && !c.closed; due--) {
        if (inFrame === 0) ts += 450;
        const isKey = frame % 30 === 0;
        peer.sendRtp('video', (isKey ? key : delta)[inFrame]!, { timestamp: ts, marker: inFrame === 25 });
        stats.sent!++;
        if (++inFrame === 26) {
          inFrame = 0;
          frame++;
        }
      }
      if (due > 260) due = 260; // at most 50 ms behind
    };
  } else if (kind === 'hello') {
    // A subscriber whose subscribe transport completes its handshake (we are its DTLS client), then replays
    // its own ClientHello, byte for byte, 1,000 times a second from its validated address.
    let hello: Buffer | null = null;
    const c = await NodeClient.join(url, space, 'flooder', {
      x,
      y,
      beforeJoin: (cl) => {
        cl.onSubscriberPeer = (peer) => {
          const link = peer.link;
          const send = link.send.bind(link);
          link.send = (buf: Buffer) => {
            // RFC 6347 §4.1/§4.2.2: handshake record, msg_type 1; the last one sent carries the cookie.
            if (buf.length > 13 && buf[0] === 22 && buf[13] === 1) hello = Buffer.from(buf);
            send(buf);
          };
        };
      },
    });
    clients.push(c);
    watchClose(c);
    const peer = await c.subscriberReady(15_000);
    if (!hello) throw new Error('no ClientHello seen');
    const replay: Buffer = hello;
    tick = () => {
      for (let i = 0; i < 5 && !c.closed; i++) {
        peer.link.send(replay);
        stats.sent!++;
      }
    };
  } else throw new Error(`unknown flood ${kind}`);
  send({ event: 'ready' });
  t0 = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (done() || Date.now() - t0 > ms) {
        clearInterval(timer);
        resolve();
        return;
      }
      tick();
    }, 5);
  });
  await new Promise((r) => setTimeout(r, 300)); // replies in flight
  send({ event: 'done', closes, stats, ms: Date.now() - t0 });
  for (const c of clients) c.close();
  setTimeout(() => process.exit(0), 200);
}

main().catch((e: Error) => {
  send({ event: 'error', message: e.stack ?? e.message });
  process.exit(1);
});
