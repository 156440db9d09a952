import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SendLog, payloadKey } from './send-log.ts';

describe('SendLog', () => {
  it('finds a payload by its bytes wherever it sits in a buffer', () => {
    const log = new SendLog();
    const payload = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    log.record(payload, 0, payload.length, 100);
    const packet = Buffer.concat([Buffer.alloc(12, 0xee), payload]); // behind a rewritten RTP header
    assert.equal(log.sentAt(packet, 12, payload.length), 100);
    assert.equal(log.sentAt(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 0]), 0, 9), -1);
  });

  it('tells payloads of different length with the same tail apart', () => {
    assert.notEqual(payloadKey(Buffer.from([0, 1, 2, 3, 4, 5]), 0, 6), payloadKey(Buffer.from([1, 2, 3, 4, 5]), 0, 5));
    assert.equal(payloadKey(Buffer.from([1, 2, 3, 4]), 0, 4), -1);
  });

  it('forgets entries after two generations', () => {
    const log = new SendLog(1000);
    const p = Buffer.from('abcdefgh');
    log.record(p, 0, p.length, 0);
    const q = Buffer.from('ijklmnop');
    log.record(q, 0, q.length, 1500); // swap: p in previous
    assert.equal(log.sentAt(p, 0, p.length), 0);
    log.record(q, 0, q.length, 2600); // swap again: p gone
    assert.equal(log.sentAt(p, 0, p.length), -1);
    assert.equal(log.sentAt(q, 0, q.length), 2600);
  });
});
