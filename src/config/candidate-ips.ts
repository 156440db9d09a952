import type { NetworkInterfaceInfo } from 'node:os';

/**
 * The addresses our host candidates carry when nothing is configured (RFC 8445 §5.1.1.1): every address of
 * every interface the media socket listens on, IPv4 first, private ones included (a browser on the same LAN
 * reaches those), IPv6 link-local left out (it needs a zone id no SDP carries). Loopback only when the
 * machine has nothing else: a browser without a test flag never pairs with a loopback candidate.
 */
export function interfaceCandidateIps(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, bindIp: string): string[] {
  const wildcard = bindIp === '0.0.0.0' || bindIp === '::';
  if (!wildcard) return [bindIp];
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4') v4.push(a.address);
      // fe80::/10 link-local and the deprecated site-local fec0::/10 are left out.
      else if (!/^fe[89a-f]/i.test(a.address)) v6.push(a.address);
    }
  }
  const all = [...new Set([...v4, ...v6])];
  return all.length > 0 ? all : ['127.0.0.1'];
}
