/** XOR-MAPPED-ADDRESS value codec (RFC 8489 §14.2). Never throws. */
import { MAGIC_COOKIE } from './stun-constants.ts';
import { formatIp, parseIp, unmapIpv4 } from './ip-address.ts';

export interface TransportAddress {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** How the peer reached us: UDP, or an ICE-TCP connection (RFC 6544); unset = UDP. */
  readonly protocol?: 'udp' | 'tcp';
}

const FAMILY_V4 = 0x01;
const FAMILY_V6 = 0x02;

/** Decode the attribute value; null if the family or length is wrong. */
export function decodeXorAddress(value: Uint8Array, txId: Uint8Array): TransportAddress | null {
  if (value.length < 4) return null;
  const fam = value[1];
  const port = ((value[2] << 8) | value[3]) ^ (MAGIC_COOKIE >>> 16);
  const key = xorKey(txId);
  if (fam === FAMILY_V4 && value.length === 8) {
    const a = Buffer.alloc(4);
    for (let i = 0; i < 4; i++) a[i] = value[4 + i] ^ key[i];
    return { address: formatIp(a), port, family: 4 };
  }
  if (fam === FAMILY_V6 && value.length === 20) {
    const a = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) a[i] = value[4 + i] ^ key[i];
    return { address: formatIp(a), port, family: 6 };
  }
  return null;
}

/**
 * Encode the attribute value; null if `address` is not a valid literal of `family`.
 * An IPv4-mapped IPv6 source (a dual-stack socket reports IPv4 peers that way) is written as IPv4,
 * because that is the address the peer itself knows (RFC 4291 §2.5.5.2).
 */
export function encodeXorAddress(addr: TransportAddress, txId: Uint8Array): Buffer | null {
  let bytes = parseIp(addr.address, addr.family);
  if (!bytes || !Number.isInteger(addr.port) || addr.port < 0 || addr.port > 0xffff) return null;
  if (bytes.length === 16) bytes = unmapIpv4(bytes) ?? bytes;
  const out = Buffer.alloc(4 + bytes.length);
  out[1] = bytes.length === 4 ? FAMILY_V4 : FAMILY_V6;
  out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
  const key = xorKey(txId);
  for (let i = 0; i < bytes.length; i++) out[4 + i] = bytes[i] ^ key[i];
  return out;
}

/** IPv4 is XOR'd with the cookie; IPv6 with cookie || transaction ID. */
function xorKey(txId: Uint8Array): Buffer {
  const k = Buffer.alloc(16);
  k.writeUInt32BE(MAGIC_COOKIE, 0);
  k.set(txId.subarray(0, 12), 4);
  return k;
}
