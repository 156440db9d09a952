/**
 * Janus VideoRoom round trip with our headless client: one publisher (Opus + VP8 with RTX) and N
 * subscribers. Prints one JSON line with what each side received, and exits 1 when a subscriber lacks
 * audio or video or gets video on an SSRC Janus did not offer. Run it inside the namespace Janus is in:
 *   ip netns exec <ns> node --import tsx tools/janus/selftest.ts --url http://127.0.0.1:8088/janus
 * Options: --seconds 3, --subscribers 2, --drop-every N (withhold every Nth video packet: NACK/RTX),
 * --receiver-reports MS (subscriber RR period, 0 = none; default 1000), --sdp (include the SDPs).
 * Once subscriber 0 has echoed one of Janus's SRs, it sends a PLI and a NACK: the output shows whether
 * the publisher got a keyframe request and whether Janus retransmitted (RTX).
 */
import { parseArgs } from 'node:util';
import { createDtlsCertificate } from '../../src/transport/dtls/certificate.ts';
import { readAudioLevel, readTransportSeq } from '../../src/rtp/header-extensions.ts';
import type { RtpView } from '../../src/rtp/rtp-packet.ts';
import type { RtcpPacket } from '../../src/rtp/rtcp-types.ts';
import type { NodePeer } from '../client/node-peer.ts';
import { pumpMedia } from '../../test/testkit/media-pump.ts';
import { JanusVideoRoomClient, type JanusPublication, type JanusSubscription } from './janus-client.ts';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8088/janus' },
    seconds: { type: 'string', default: '3' },
    subscribers: { type: 'string', default: '2' },
    'drop-every': { type: 'string', default: '0' },
    'receiver-reports': { type: 'string', default: '1000' },
    sdp: { type: 'boolean', default: false },
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The test pump, plus what a browser adds: an SR per stream each second and a keyframe on PLI or FIR. */
function pump(peer: NodePeer, dropEvery: number): { stop: () => void; withheld: number } {
  const st = { stop: () => {}, withheld: 0 };
  st.stop = pumpMedia(peer, { keyframeOnFir: true, senderReports: true, withholdEvery: dropEvery, onWithheld: () => void st.withheld++ });
  return st;
}

/** Received RTCP by type; REMB's last bitrate and NACKed seqs counted too. */
function rtcpSummary(list: readonly RtcpPacket[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of list) {
    out[p.type] = (out[p.type] ?? 0) + 1;
    if (p.type === 'remb') out.rembLastBps = p.bitrate;
    if (p.type === 'nack') out.nackedSeqs = (out.nackedSeqs ?? 0) + p.seqs.length;
    if (p.type === 'unknown') out[`unknown_${p.packetType}_${p.count}`] = (out[`unknown_${p.packetType}_${p.count}`] ?? 0) + 1;
  }
  return out;
}

interface ExtSeen {
  /** Header extension ids present, by SSRC (from the first packets). */
  ids: Record<number, number[]>;
  audioLevel: number;
  transportCc: number;
}

/** Watches a subscriber's packets: which extension ids appear, and whether the offered ones carry values. */
function watchExtensions(sub: JanusSubscription): ExtSeen {
  const seen: ExtSeen = { ids: {}, audioLevel: 0, transportCc: 0 };
  const sampled = new Map<number, number>();
  const audio = sub.tracks.find((t) => t.kind === 'audio');
  const video = sub.tracks.find((t) => t.kind === 'video');
  sub.peer.onRtp = (v: RtpView) => {
    const k = sampled.get(v.ssrc) ?? 0;
    if (k < 50) {
      sampled.set(v.ssrc, k + 1);
      const ids = new Set(seen.ids[v.ssrc] ?? []);
      for (let id = 1; id <= 14; id++) if (v.findExtension(id) >= 0) ids.add(id);
      seen.ids[v.ssrc] = [...ids].sort((a, b) => a - b);
    }
    const t = v.ssrc === audio?.ssrc ? audio : v.ssrc === video?.ssrc ? video : undefined;
    if (t === audio && readAudioLevel(v, audio?.ext.audioLevel) >= 0) seen.audioLevel++;
    if (t && readTransportSeq(v, t.ext.transportCc) >= 0) seen.transportCc++;
  };
  return seen;
}

async function main(): Promise<number> {
  const url = args.url!;
  const seconds = Number(args.seconds);
  const nSubs = Number(args.subscribers);
  const dropEvery = Number(args['drop-every']);
  const problems: string[] = [];
  const closers: Array<() => Promise<void>> = [];
  const certificate = await createDtlsCertificate();
  try {
    const room = await JanusVideoRoomClient.createRoom(url, { publishers: 10, bitrate: 2_000_000 });
    let t = Date.now();
    const pub: JanusPublication = await JanusVideoRoomClient.publish(url, room, { certificate, display: 'selftest-pub' });
    closers.push(pub.close);
    const pubConnectMs = Date.now() - t;
    const pumping = pump(pub.peer, dropEvery);
    closers.push(async () => pumping.stop());

    const subs: Array<{ sub: JanusSubscription; connectMs: number; ext: ExtSeen }> = [];
    for (let i = 0; i < nSubs; i++) {
      t = Date.now();
      const sub = await JanusVideoRoomClient.subscribe(url, room, pub.feedId, { certificate, receiverReportMs: Number(args['receiver-reports']) });
      closers.push(sub.close);
      subs.push({ sub, connectMs: Date.now() - t, ext: watchExtensions(sub) });
    }

    // Subscriber 0 asks for a keyframe and a retransmission, as a browser would on loss, once Janus can
    // know its RTT (it buffers for retransmission only from then on; see janus-rtcp.ts).
    const end = Date.now() + seconds * 1000;
    const probeBy = Date.now() + seconds * 800;
    while (subs[0] && subs[0].sub.rtcp.counters.lsrReports === 0 && Date.now() < probeBy) await sleep(20);
    await sleep(Math.min(150, Math.max(0, end - Date.now())));
    const s0 = subs[0]?.sub;
    const v0 = s0?.tracks.find((x) => x.kind === 'video');
    const pubPliBefore = pub.peer.rtcpOf('pli').length + pub.peer.rtcpOf('fir').length;
    let nackProbe: { seq: number; rtxBefore: number; lsrReports: number; attempts: number } | null = null;
    if (s0 && v0?.ssrc !== undefined) {
      s0.rtcp.requestKeyframe();
      const r = s0.peer.received.get(v0.ssrc);
      const rtxCount = () => (v0.rtxSsrc !== undefined ? (s0.peer.received.get(v0.rtxSsrc)?.packets ?? 0) : 0);
      // Like a browser, NACK again (a fresher packet) when no repair came: on a busy machine Janus can
      // take its first RTT sample after the probed packet left, and it buffers only from then on.
      for (let attempt = 1; r && attempt <= 3; attempt++) {
        const seq = (r.lastSeq - 5) & 0xffff;
        nackProbe = { seq, rtxBefore: rtxCount(), lsrReports: s0.rtcp.counters.lsrReports, attempts: attempt };
        s0.rtcp.nack([seq]);
        const by = Date.now() + 400;
        while (rtxCount() === nackProbe.rtxBefore && Date.now() < by) await sleep(20);
        if (rtxCount() > nackProbe.rtxBefore) break;
      }
    }
    await sleep(Math.max(300, end - Date.now()));

    const subscribers = subs.map(({ sub, connectMs, ext }, i) => {
      const byKind = (kind: 'audio' | 'video') => sub.tracks.find((x) => x.kind === kind);
      const a = byKind('audio');
      const v = byKind('video');
      const received = [...sub.peer.received.entries()].map(([ssrc, r]) => ({
        ssrc,
        role: ssrc === a?.ssrc ? 'audio' : ssrc === v?.ssrc ? 'video' : ssrc === v?.rtxSsrc ? 'video-rtx' : 'unexpected',
        packets: r.packets,
        bytes: r.bytes,
        payloadType: r.payloadType,
      }));
      const audioPackets = a?.ssrc !== undefined ? (sub.peer.received.get(a.ssrc)?.packets ?? 0) : 0;
      const videoPackets = v?.ssrc !== undefined ? (sub.peer.received.get(v.ssrc)?.packets ?? 0) : 0;
      const unexpected = received.filter((x) => x.role === 'unexpected');
      if (audioPackets < 20) problems.push(`subscriber ${i}: ${audioPackets} audio packets`);
      if (videoPackets < 20) problems.push(`subscriber ${i}: ${videoPackets} video packets`);
      if (unexpected.length) problems.push(`subscriber ${i}: packets on SSRCs Janus did not offer: ${unexpected.map((x) => x.ssrc).join(', ')}`);
      return {
        connectMs,
        srtpProfile: sub.peer.srtpProfile,
        tracks: sub.tracks.map((x) => ({ mid: x.mid, kind: x.kind, direction: x.direction, payloadType: x.payloadType, rtxPayloadType: x.rtxPayloadType, ssrc: x.ssrc, rtxSsrc: x.rtxSsrc, ext: x.ext })),
        audioPackets,
        videoPackets,
        videoSsrcMatchesOffer: videoPackets > 0 && unexpected.length === 0,
        received,
        rtcp: rtcpSummary(sub.peer.rtcp),
        rtcpSent: sub.rtcp.counters,
        extensions: ext,
        drops: Object.fromEntries(sub.peer.drops),
        link: sub.link.counters,
        ...(args.sdp ? { offerSdp: sub.offerSdp, answerSdp: sub.answerSdp } : {}),
      };
    });
    const r0 = subs[0]?.sub;
    const v0r = r0?.tracks.find((x) => x.kind === 'video');
    const result = {
      ok: problems.length === 0,
      problems,
      room,
      feedId: pub.feedId,
      publisher: {
        connectMs: pubConnectMs,
        dtlsRole: pub.dtlsRole,
        srtpProfile: pub.peer.srtpProfile,
        sent: { rtp: pub.peer.counters.rtpSent, rtcp: pub.peer.counters.rtcpSent, rtx: pub.peer.counters.rtxSent, withheld: pumping.withheld },
        rtcp: rtcpSummary(pub.peer.rtcp),
        keyframeRequestsAfterSubscriberPli: pub.peer.rtcpOf('pli').length + pub.peer.rtcpOf('fir').length - pubPliBefore,
        drops: Object.fromEntries(pub.peer.drops),
        link: pub.link.counters,
        ...(args.sdp ? { answerSdp: pub.answerSdp } : {}),
      },
      subscriberNackProbe: nackProbe && r0 && v0r?.rtxSsrc !== undefined ? { ...nackProbe, rtxAfter: r0.peer.received.get(v0r.rtxSsrc)?.packets ?? 0 } : nackProbe,
      subscribers,
    };
    console.log(JSON.stringify(result));
    return result.ok ? 0 : 1;
  } catch (e) {
    console.log(JSON.stringify({ ok: false, problems: [...problems, (e as Error).stack ?? String(e)] }));
    return 1;
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  }
}

process.exitCode = await main();
