import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createBenchNamespace, type BenchNamespace } from '../../tools/janus/janus-netns.ts';
import { startJanus, type JanusProcess } from '../../tools/janus/janus-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const selftest = fileURLToPath(new URL('../../tools/janus/selftest.ts', import.meta.url));

interface SelftestResult {
  ok: boolean;
  problems: string[];
  publisher?: { dtlsRole: string; srtpProfile: string | null; keyframeRequestsAfterSubscriberPli: number };
  subscriberNackProbe?: { seq: number; rtxBefore: number; rtxAfter: number; lsrReports: number; attempts: number } | null;
  subscribers?: Array<{
    audioPackets: number;
    videoPackets: number;
    videoSsrcMatchesOffer: boolean;
    tracks: Array<{ kind: string; ssrc?: number }>;
    received: Array<{ ssrc: number; role: string; packets: number }>;
  }>;
}

/** Runs the selftest inside the namespace (this process is not in it, so Janus's 127.0.0.1 is not ours). */
function runSelftest(ns: BenchNamespace, url: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = ns.spawn(process.execPath, ['--import', 'tsx', selftest, '--url', url, '--seconds', '4', '--subscribers', '2'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

// Needs root, iproute2 and Debian's janus (scripts/setup.sh test installs it): fails, never skips, without them.
describe('headless client against Janus VideoRoom (in a network namespace)', () => {
  let ns: BenchNamespace | null = null;
  let janus: JanusProcess | null = null;
  let result: SelftestResult;

  before(async () => {
    ns = await createBenchNamespace(`pxj-test-${process.pid}`);
    janus = await startJanus({ ns });
    const r = await runSelftest(ns, janus.url);
    const line = r.out.trim().split('\n').at(-1) ?? '';
    try {
      result = JSON.parse(line) as SelftestResult;
    } catch {
      throw new Error(`selftest printed no JSON (exit ${r.code}); stdout: ${r.out.slice(-2000)}; stderr: ${r.err.slice(-2000)}; Janus log: ${janus.logPath}`);
    }
  });

  after(async () => {
    await janus?.close();
    await ns?.destroy();
  });

  it('Janus starts with only the VideoRoom plugin and the HTTP transport', () => {
    assert.ok(janus);
    assert.deepEqual(Object.keys(janus.info.plugins as object), ['janus.plugin.videoroom']);
    assert.deepEqual(Object.keys(janus.info.transports as object), ['janus.transport.http']);
    assert.equal(janus.info['ice-lite'], true);
    assert.equal(janus.info['full-trickle'], false);
  });

  it('publisher connects (ICE, DTLS, SRTP) and both subscribers receive audio and video', () => {
    assert.ok(result.ok, `selftest problems: ${result.problems.join('; ')}`);
    assert.ok(result.publisher?.srtpProfile, 'publisher SRTP profile');
    assert.equal(result.subscribers?.length, 2);
    for (const [i, s] of result.subscribers!.entries()) {
      assert.ok(s.audioPackets > 50, `subscriber ${i}: ${s.audioPackets} audio packets`);
      assert.ok(s.videoPackets > 50, `subscriber ${i}: ${s.videoPackets} video packets`);
    }
  });

  it('video arrives on the SSRC Janus offered each subscriber', () => {
    for (const [i, s] of result.subscribers!.entries()) {
      const offered = s.tracks.find((t) => t.kind === 'video')?.ssrc;
      assert.ok(offered !== undefined, `subscriber ${i}: Janus offered no video SSRC`);
      const video = s.received.find((r) => r.ssrc === offered);
      assert.ok(video && video.packets > 50, `subscriber ${i}: nothing on offered video SSRC ${offered}; got ${JSON.stringify(s.received)}`);
      assert.ok(s.videoSsrcMatchesOffer);
      assert.deepEqual(
        s.received.filter((r) => r.role === 'unexpected'),
        [],
      );
    }
  });

  it('subscriber feedback reaches the publisher side: PLI is forwarded, a NACK is answered with RTX', () => {
    // Both depend on janus-rtcp.ts: RR-led compounds, and RRs giving Janus an RTT before it buffers.
    assert.ok((result.publisher?.keyframeRequestsAfterSubscriberPli ?? 0) >= 1, 'publisher got no keyframe request after the subscriber PLI');
    const probe = result.subscriberNackProbe;
    assert.ok(probe, 'no NACK probe ran');
    assert.ok(probe.lsrReports > 0, 'no receiver report echoed an SR before the NACK');
    assert.ok(probe.rtxAfter > probe.rtxBefore, `no RTX after NACK of ${probe.seq}: ${JSON.stringify(probe)}`);
  });
});
