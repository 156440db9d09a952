import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMediaError, listDevices, openLocalMedia } from './local-media.ts';

const err = (name: string) => Object.assign(new Error(name), { name });
/** Node has no MediaStream: a stand-in holding tracks. */
class FakeStream {
  constructor(private readonly tracks: Array<{ kind: string }>) {}
  getTracks() {
    return this.tracks;
  }
}
(globalThis as Record<string, unknown>).MediaStream = FakeStream;

test('errors are told apart in plain words', () => {
  const denied = classifyMediaError('camera', err('NotAllowedError'));
  assert.deepEqual([denied.reason, denied.name], ['denied', 'NotAllowedError']);
  assert.match(denied.message, /camera is blocked.*Retry/);
  assert.equal(classifyMediaError('microphone', err('NotFoundError')).reason, 'not-found');
  assert.equal(classifyMediaError('camera', err('NotReadableError')).reason, 'in-use');
  assert.match(classifyMediaError('speaker', err('NotFoundError')).message, /No speaker or headphones/);
  assert.equal(classifyMediaError('camera', 'weird').reason, 'other');
});

test('a blocked camera keeps the microphone, and says which one failed', async () => {
  const asked: string[] = [];
  const gum = async (c: MediaStreamConstraints) => {
    asked.push(Object.keys(c).filter((k) => c[k as keyof MediaStreamConstraints]).join('+'));
    if (c.video) throw err('NotAllowedError');
    return new FakeStream([{ kind: 'audio' }]) as unknown as MediaStream;
  };
  const r = await openLocalMedia({ audio: true, video: { width: 640 } }, gum);
  assert.deepEqual(asked, ['audio+video', 'audio', 'video']);
  assert.deepEqual((r.stream as unknown as FakeStream).getTracks(), [{ kind: 'audio' }]);
  assert.deepEqual(r.errors.map((e) => [e.kind, e.reason]), [['camera', 'denied']]);
});

test('both granted: one request, no errors; nothing works: no stream and two errors', async () => {
  let calls = 0;
  const ok = await openLocalMedia({ audio: true, video: true }, async () => (calls++, new FakeStream([{ kind: 'audio' }, { kind: 'video' }]) as unknown as MediaStream));
  assert.equal(calls, 1);
  assert.deepEqual(ok.errors, []);
  const none = await openLocalMedia({ audio: true, video: true }, async () => {
    throw err('NotFoundError');
  });
  assert.equal(none.stream, null);
  assert.deepEqual(none.errors.map((e) => e.kind), ['microphone', 'camera']);
});

test('devices are sorted by use; no audio output is an empty list', async () => {
  const d = (kind: string, label: string) => ({ kind, label, deviceId: label, groupId: '' }) as MediaDeviceInfo;
  const r = await listDevices(async () => [d('audioinput', 'mic'), d('videoinput', 'cam'), d('audioinput', 'mic2')]);
  assert.deepEqual([r.cameras.length, r.microphones.length, r.speakers.length], [1, 2, 0]);
});
