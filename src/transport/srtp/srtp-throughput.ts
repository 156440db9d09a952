/**
 * Throughput of protect/unprotect for 1200-octet-payload RTP packets, each profile.
 * Run: node --import tsx src/transport/srtp/srtp-throughput.ts [packets]
 * A figure for humans, not a test. Rates are per CPU-second of this process. Each runs twice: with a
 * cipher object per packet, and with the keystream made ahead (keystream.ts) as the server does; unprotect too.
 */
import type { SrtpProfileName } from './srtp-profile.ts';
import { srtpKeyLengths } from './srtp-profile.ts';
import { SrtpSession } from './srtp-session.ts';

const N = Number(process.argv[2] ?? 200_000);
const PAYLOAD = 1200;

function packet(seq: number): Buffer {
  const b = Buffer.alloc(12 + PAYLOAD, 0x61);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(0x1234abcd, 8);
  return b;
}

function run(profile: SrtpProfileName, keystreamAhead: boolean): void {
  const { keyLength, saltLength } = srtpKeyLengths(profile);
  const tx = new SrtpSession(profile, Buffer.alloc(keyLength, 1), Buffer.alloc(saltLength, 2), { keystreamAhead });
  const rx = new SrtpSession(profile, Buffer.alloc(keyLength, 1), Buffer.alloc(saltLength, 2), { keystreamAhead });
  const plain = packet(0);
  // Batches keep memory flat: protect a batch (timed), then unprotect it (timed).
  const BATCH = 1024;
  const wires: Buffer[] = new Array(BATCH);
  let protectNs = 0;
  let unprotectNs = 0;
  let bad = 0;
  for (let done = -20 * BATCH; done < N; done += BATCH) {
    // Negative `done` is JIT warm-up, not counted.
    let t0 = cpuNs();
    for (let i = 0; i < BATCH; i++) {
      plain.writeUInt16BE((done + i) & 0xffff, 2);
      wires[i] = orThrow(tx.protectRtp(plain, plain.length));
    }
    const p = cpuNs() - t0;
    t0 = cpuNs();
    for (let i = 0; i < BATCH; i++) {
      const w = wires[i];
      if (typeof rx.unprotectRtp(w, w.length) === 'string') bad++;
    }
    const u = cpuNs() - t0;
    if (done >= 0) {
      protectNs += p;
      unprotectNs += u;
    }
  }
  if (bad !== 0) throw new Error(`${bad} packets failed to unprotect`);
  const rate = (ns: number): string => `${Math.round((Math.ceil(N / 1024) * 1024 / ns) * 1e9).toLocaleString('en-US')} pkt/s`;
  const how = keystreamAhead ? 'keystream ahead' : 'per packet';
  console.log(`${profile.padEnd(24)} ${how.padEnd(18)} protect ${rate(protectNs).padStart(16)}   unprotect ${rate(unprotectNs).padStart(16)}`);
}

/** CPU time (user + system) of this process: steadier than wall time on a shared machine. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function orThrow(r: Buffer | string): Buffer {
  if (typeof r === 'string') throw new Error(`protect failed: ${r}`);
  return r;
}

console.log(`node ${process.version}, ${N} packets of ${PAYLOAD}-octet payload each`);
for (const ahead of [false, true]) {
  run('AEAD_AES_128_GCM', ahead);
  run('AES_CM_128_HMAC_SHA1_80', ahead);
}
