/** STUN wire constants (RFC 8489 §5, §14, §18; ICE attributes from RFC 8445 §16.1). */

export const STUN_HEADER_LENGTH = 20;
export const MAGIC_COOKIE = 0x2112a442;
/** XOR'd into the FINGERPRINT CRC (RFC 8489 §14.7). */
export const FINGERPRINT_XOR = 0x5354554e;

export const METHOD_BINDING = 0x001;

export type StunClass = 'request' | 'indication' | 'success' | 'error';

export const ATTR = {
  XOR_MAPPED_ADDRESS: 0x0020,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

/** Attribute types below 0x8000 are comprehension-required (RFC 8489 §14). */
export function isComprehensionRequired(type: number): boolean {
  return type < 0x8000;
}

/** Known comprehension-required types; any other one below 0x8000 earns a 420 (RFC 8489 §6.3.1). */
export const KNOWN_REQUIRED: ReadonlySet<number> = new Set([
  ATTR.XOR_MAPPED_ADDRESS,
  ATTR.USERNAME,
  ATTR.MESSAGE_INTEGRITY,
  ATTR.ERROR_CODE,
  ATTR.UNKNOWN_ATTRIBUTES,
  ATTR.PRIORITY,
  ATTR.USE_CANDIDATE,
  0x0001, // MAPPED-ADDRESS: legacy, harmless to ignore
]);

const CLASS_BITS: Record<StunClass, number> = { request: 0x000, indication: 0x010, success: 0x100, error: 0x110 };

/** Message type field: method bits interleaved with the two class bits C1/C0 (RFC 8489 §5, Figure 3). */
export function encodeMessageType(method: number, cls: StunClass): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | CLASS_BITS[cls];
}

export function decodeMethod(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}

export function decodeClass(type: number): StunClass {
  switch (type & 0x0110) {
    case 0x000:
      return 'request';
    case 0x010:
      return 'indication';
    case 0x100:
      return 'success';
    default:
      return 'error';
  }
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}
