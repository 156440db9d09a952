import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.ts';

describe('createLogger', () => {
  it('writes one JSON line with bindings and fields; a field cannot overwrite the line\'s own keys', () => {
    const lines: string[] = [];
    const log = createLogger('info', { space: 's1' }, (l) => lines.push(l)).child({ participant: 'p1' });
    log.debug('hidden');
    log.info('caps', { level: 3, msg: 'mine', t: 0, err: new Error('boom') });
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec.level, 'info');
    assert.equal(rec.msg, 'caps');
    assert.match(String(rec.t), /^\d{4}-\d\d-\d\dT/);
    assert.equal(rec.space, 's1');
    assert.equal(rec.participant, 'p1');
    assert.equal((rec.err as { message: string }).message, 'boom');
  });
});
