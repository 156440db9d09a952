/**
 * Textual IP address <-> bytes, for XOR-MAPPED-ADDRESS (RFC 8489 §14.2). Never throws: invalid text
 * gives null. IPv6 output follows RFC 5952 §4 so it matches what node:dgram reports for a peer.
 */

/** Bytes of an IPv4 (4 bytes) or IPv6 (16 bytes) address, or null if the text is not one. */
export function parseIp(text: string, family: 4 | 6): Buffer | null {
  return family === 4 ? parseIpv4(text) : parseIpv6(text);
}

function parseIpv4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(input: string): Buffer | null {
  // A zone index (RFC 4007 §11) names a local interface; it is not part of the address bytes.
  const pct = input.indexOf('%');
  const text = pct >= 0 ? input.slice(0, pct) : input;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const compressed = halves.length === 2;
  const head = parseGroups(halves[0], !compressed);
  const tail = compressed ? parseGroups(halves[1], true) : [];
  if (!head || !tail) return null;
  if (compressed ? head.length + tail.length > 7 : head.length !== 8) return null;
  const out = Buffer.alloc(16);
  head.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  tail.forEach((g, i) => out.writeUInt16BE(g, 16 - (tail.length - i) * 2));
  return out;
}

/** 16-bit groups of one side of "::"; an IPv4 tail (RFC 4291 §2.2 form 3) only where it ends the address. */
function parseGroups(text: string, endsAddress: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i];
    if (endsAddress && i === parts.length - 1 && g.includes('.')) {
      const v4 = parseIpv4(g);
      if (!v4) return null;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
      groups.push(parseInt(g, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** Text form of 4 or 16 address bytes (RFC 5952 §4: lower case, longest zero run as "::"). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  // §5: IPv4-mapped addresses keep the dotted tail, as node:dgram prints them.
  const v4 = unmapIpv4(bytes);
  if (v4) return `::ffff:${formatIp(v4)}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 1; // §4.2.2: a single zero group is not compressed.
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2), else null. */
export function unmapIpv4(v6: Uint8Array): Buffer | null {
  if (v6.length !== 16) return null;
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) return null;
  if (v6[10] !== 0xff || v6[11] !== 0xff) return null;
  return Buffer.from(v6.subarray(12, 16));
}
