import { createHash, X509Certificate } from 'node:crypto';
import { CipherContext, SignatureAlgorithm, HashAlgorithm, NamedCurveAlgorithm } from 'werift-dtls/lib/dtls/src/index.js';

/** The DTLS identity of this process: one ECDSA P-256 self-signed certificate (RFC 8827 §6.5). */
export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  /** sha-256 fingerprint, upper-case hex with colons, as in `a=fingerprint` (RFC 8122 §5). */
  fingerprint: string;
  signatureHash: { signature: number; hash: number };
}

export const ECDSA_SHA256 = { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 };

export function fingerprintOfDer(der: Buffer): string {
  return createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

export async function createDtlsCertificate(): Promise<DtlsCertificate> {
  const { certPem, keyPem } = await CipherContext.createSelfSignedCertificateWithKey(ECDSA_SHA256 as never, NamedCurveAlgorithm.secp256r1_23);
  const der = new X509Certificate(certPem).raw;
  return { certPem, keyPem, fingerprint: fingerprintOfDer(der), signatureHash: ECDSA_SHA256 };
}

/** Compares a peer certificate with the fingerprint its SDP announced (RFC 5763 §5, RFC 8122 §5). */
export function fingerprintMatches(der: Buffer | undefined, algorithm: string, expected: string): boolean {
  if (!der) return false;
  if (algorithm.toLowerCase() !== 'sha-256') return false;
  return fingerprintOfDer(der) === expected.toUpperCase();
}
