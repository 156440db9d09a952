import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { interfaceCandidateIps } from './candidate-ips.ts';

const addr = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, internal, family: address.includes(':') ? 'IPv6' : 'IPv4', netmask: '', mac: '', cidr: null, ...(address.includes(':') ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;

test('every usable interface address, IPv4 first, private included, loopback and link-local left out', () => {
  const ifs = {
    lo: [addr('127.0.0.1', true), addr('::1', true)],
    eth0: [addr('192.168.1.20'), addr('fd00::2'), addr('fe80::1')],
    wlan0: [addr('10.0.0.7'), addr('2001:db8::7')],
  };
  assert.deepEqual(interfaceCandidateIps(ifs, '0.0.0.0'), ['192.168.1.20', '10.0.0.7', 'fd00::2', '2001:db8::7']);
});

test('loopback only when nothing else exists; a specific bind address is the only candidate', () => {
  assert.deepEqual(interfaceCandidateIps({ lo: [addr('127.0.0.1', true)] }, '0.0.0.0'), ['127.0.0.1']);
  assert.deepEqual(interfaceCandidateIps({ eth0: [addr('fe80::1')] }, '0.0.0.0'), ['127.0.0.1']);
  assert.deepEqual(interfaceCandidateIps({ eth0: [addr('192.168.1.20')] }, '192.168.1.20'), ['192.168.1.20']);
});
