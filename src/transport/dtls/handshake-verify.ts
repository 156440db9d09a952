import { X509Certificate, verify as verifySignature } from 'node:crypto';

/**
 * Checks that werift-dtls leaves out: that the peer proved possession of the private key of the
 * certificate it presented. Without them a peer could present someone else's (public) certificate, whose
 * fingerprint matches the SDP, and complete the handshake.
 *  - as DTLS server: the client's CertificateVerify signs the handshake transcript (RFC 5246 §7.4.8);
 *  - as DTLS client: the server's ServerKeyExchange signs both randoms and its ECDH parameters (RFC 4492 §5.4).
 * DTLS hashes each message with its 12-byte DTLS header, as one unfragmented piece (RFC 6347 §4.2.6).
 */
export interface HandshakeMessage {
  msgType: number;
  /** The message body (without the 12-byte DTLS handshake header). */
  body: Buffer;
  /** Header + body, as it enters the transcript hash. */
  serialized: Buffer;
}

const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const SERVER_KEY_EXCHANGE = 12;
const CERTIFICATE_VERIFY = 15;

/** TLS HashAlgorithm codes (RFC 5246 §7.4.1.4.1) we accept. */
const HASHES: Record<number, string> = { 4: 'sha256', 5: 'sha384', 6: 'sha512' };
/** TLS SignatureAlgorithm codes: 1 rsa (PKCS#1 v1.5), 3 ecdsa. */
const SIGNATURES = new Set([1, 3]);

function verifyWith(certDer: Buffer, hash: number, sig: number, data: Buffer, signature: Buffer): string | null {
  const algorithm = HASHES[hash];
  if (!algorithm || !SIGNATURES.has(sig)) return `unsupported signature algorithm (hash ${hash}, signature ${sig})`;
  let key;
  try {
    key = new X509Certificate(certDer).publicKey;
  } catch {
    return 'peer certificate cannot be parsed';
  }
  const keyType = key.asymmetricKeyType;
  if ((sig === 3 && keyType !== 'ec') || (sig === 1 && keyType !== 'rsa')) return `signature algorithm ${sig} does not match a ${keyType} key`;
  try {
    return verifySignature(algorithm, data, key, signature) ? null : 'signature does not verify';
  } catch {
    return 'signature is malformed';
  }
}

/** Server side: the client's CertificateVerify. Returns null when valid, else why not. */
export function checkCertificateVerify(messages: readonly HandshakeMessage[], clientCertDer: Buffer): string | null {
  const i = messages.findIndex((m) => m.msgType === CERTIFICATE_VERIFY);
  if (i < 0) return 'client sent no CertificateVerify';
  const body = messages[i].body;
  if (body.length < 4) return 'CertificateVerify is truncated';
  const sigLen = body.readUInt16BE(2);
  if (4 + sigLen !== body.length) return 'CertificateVerify length is inconsistent';
  const transcript = Buffer.concat(messages.slice(0, i).map((m) => m.serialized));
  const why = verifyWith(clientCertDer, body[0], body[1], transcript, body.subarray(4));
  return why && `CertificateVerify: ${why}`;
}

/** Client side: the server's ServerKeyExchange (ECDHE, named curve). Returns null when valid, else why not. */
export function checkServerKeyExchange(messages: readonly HandshakeMessage[], serverCertDer: Buffer): string | null {
  const ch = messages.find((m) => m.msgType === CLIENT_HELLO);
  const sh = messages.find((m) => m.msgType === SERVER_HELLO);
  const ske = messages.find((m) => m.msgType === SERVER_KEY_EXCHANGE);
  if (!ch || !sh || !ske) return 'handshake is missing ClientHello, ServerHello or ServerKeyExchange';
  if (ch.body.length < 34 || sh.body.length < 34) return 'hello is truncated';
  const b = ske.body;
  // ECParameters: curve_type (3 = named_curve) + NamedCurve, then ECPoint with a one-byte length.
  if (b.length < 4 || b[0] !== 3) return 'ServerKeyExchange is not ECDHE with a named curve';
  const paramsEnd = 4 + b[3];
  if (b.length < paramsEnd + 4) return 'ServerKeyExchange is truncated';
  const sigLen = b.readUInt16BE(paramsEnd + 2);
  if (paramsEnd + 4 + sigLen !== b.length) return 'ServerKeyExchange length is inconsistent';
  const signed = Buffer.concat([ch.body.subarray(2, 34), sh.body.subarray(2, 34), b.subarray(0, paramsEnd)]);
  const why = verifyWith(serverCertDer, b[paramsEnd], b[paramsEnd + 1], signed, b.subarray(paramsEnd + 4));
  return why && `ServerKeyExchange: ${why}`;
}
