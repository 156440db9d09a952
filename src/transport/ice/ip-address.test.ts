import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp, parseIp, unmapIpv4 } from './ip-address.ts';

test('valid literals round-trip to their RFC 5952 form', () => {
  const cases: Array<[string, 4 | 6, string, string]> = [
    ['192.0.2.1', 4, 'c0000201', '192.0.2.1'],
    ['0.0.0.0', 4, '00000000', '0.0.0.0'],
    ['255.255.255.255', 4, 'ffffffff', '255.255.255.255'],
    ['2001:db8:1234:5678:11:2233:4455:6677', 6, '20010db8123456780011223344556677', '2001:db8:1234:5678:11:2233:4455:6677'],
    ['::', 6, '0'.repeat(32), '::'],
    ['::1', 6, '0'.repeat(31) + '1', '::1'],
    ['1::', 6, '0001' + '0'.repeat(28), '1::'],
    ['fe80::1%eth0', 6, 'fe80' + '0'.repeat(24) + '0001', 'fe80::1'],
    ['2001:DB8:0:0:1:0:0:1', 6, '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', 6, '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:192.0.2.1', 6, '00000000000000000000ffffc0000201', '::ffff:192.0.2.1'],
  ];
  for (const [text, fam, hex, canonical] of cases) {
    const b = parseIp(text, fam);
    assert.ok(b, text);
    assert.equal(b.toString('hex'), hex, text);
    assert.equal(formatIp(b), canonical, text);
  }
});

test('invalid literals give null', () => {
  const cases: Array<[string, 4 | 6]> = [
    ['', 4],
    ['1.2.3', 4],
    ['1.2.3.4.5', 4],
    ['256.1.1.1', 4],
    ['1.2.3.-1', 4],
    ['a.b.c.d', 4],
    ['::1', 4],
    ['', 6],
    ['1.2.3.4', 6],
    ['1:2:3:4:5:6:7', 6],
    ['1:2:3:4:5:6:7:8:9', 6],
    ['1::2::3', 6],
    [':::', 6],
    [':1:2:3:4:5:6:7', 6],
    ['12345::', 6],
    ['g::', 6],
    ['1:2:3:4:5:6:7::8', 6],
    ['::1.2.3.4:5', 6],
    ['::256.0.0.1', 6],
  ];
  for (const [text, fam] of cases) assert.equal(parseIp(text, fam), null, `${text} as v${fam}`);
});

test('unmapIpv4 extracts only IPv4-mapped addresses', () => {
  assert.equal(unmapIpv4(parseIp('::ffff:10.1.2.3', 6)!)?.toString('hex'), '0a010203');
  assert.equal(unmapIpv4(parseIp('::10.1.2.3', 6)!), null);
  assert.equal(unmapIpv4(parseIp('2001:db8::ffff:a01:203', 6)!), null);
  assert.equal(unmapIpv4(Buffer.alloc(4)), null);
});
