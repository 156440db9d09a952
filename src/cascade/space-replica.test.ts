import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpaceReplica } from './space-replica.ts';
import { Space } from '../server/space.ts';
import { loadSpaceMap, DEFAULT_MAP_URL } from '../proximity/map.ts';
import { Producer } from '../media/producer.ts';
import { FakeClock } from '../util/clock.ts';
import { createLogger } from '../util/logger.ts';
import type { ControlBus } from './control/control-bus.ts';
import type { TrackRelay } from './relay/track-relay.ts';
import type { TrackDesc } from './relay/track-desc.ts';
import type { SpacePeople } from './space-messages.ts';
import type { RemotePerson } from './remote-person.ts';

/** The replica on node n1, fed another node's messages by hand (no NATS, no relay links). */
function setup() {
  const clock = new FakeClock();
  const space = new Space('s', loadSpaceMap(DEFAULT_MAP_URL), clock, 8);
  const handlers = new Map<string, (m: unknown) => void>();
  const bus = {
    publish: () => true,
    subscribe: (subject: string, _decoder: unknown, handler: (m: unknown) => void) => {
      handlers.set(subject.split('.').at(-1)!, handler);
      return () => {};
    },
  } as unknown as ControlBus;
  const relay = {
    relayedProducer: (d: TrackDesc) =>
      new Producer({ id: d.trackId, publisherId: d.publisherId, kind: d.kind, mid: d.mid, codec: d.codec, clockRate: d.clockRate, payloadType: d.payloadType, rtxPayloadType: null, ssrc: 0, rtxSsrc: null }, clock, { requestKeyframe: () => {} }),
    removeRelayed: () => null,
    addLocal: () => {
      throw new Error('no local tracks here');
    },
  } as unknown as TrackRelay;
  const replica = new SpaceReplica(space, 'n1', bus, relay, () => true, clock, createLogger('silent'));
  let seq = 0;
  const people = (tracks: Array<Partial<TrackDesc>>) =>
    handlers.get('people')!({
      v: 1,
      node: 'n2',
      space: 's',
      seq: seq++,
      full: false,
      removed: [],
      upserts: [{ person: { id: 'pr', name: 'R', x: 30, y: 20, mode: 'normal', spotlit: false }, tracks: tracks.map((t) => ({ ...DESC, ...t })) }],
    } satisfies SpacePeople);
  return { space, replica, people };
}

const DESC: TrackDesc = { trackId: 'ta', publisherId: 'pr', origin: 'n2', originNum: 2, kind: 'audio', mid: '0', codec: 'opus', clockRate: 48000, payloadType: 111, audioLevelExtId: 1, rids: [], streamIds: [1] };

test('a person of another node shows their tracks’ source and mute state, and a change of it is announced', () => {
  const { space, replica, people } = setup();
  const announced: boolean[] = [];
  const announce = space.announceTracks.bind(space);
  space.announceTracks = (p, first) => (announced.push(first), announce(p, first));
  people([{}, { trackId: 'ts', kind: 'video', mid: '2', codec: 'vp8', clockRate: 90000, payloadType: 96, source: 'screen', streamIds: [2] }]);
  const r = space.remotes.get('pr') as RemotePerson;
  assert.deepEqual(r.publisherInfo().tracks.map((t) => [t.trackId, t.source, t.muted]), [['ta', 'microphone', false], ['ts', 'screen', false]]);
  assert.deepEqual(announced, [true]);
  people([{ muted: true }, { trackId: 'ts', kind: 'video', mid: '2', codec: 'vp8', clockRate: 90000, payloadType: 96, source: 'screen', streamIds: [2] }]);
  assert.equal(r.publisherInfo().tracks.find((t) => t.trackId === 'ta')?.muted, true);
  assert.deepEqual(announced, [true, false], 'the mute is announced to local pages as tracksChanged');
  people([{ muted: true }, { trackId: 'ts', kind: 'video', mid: '2', codec: 'vp8', clockRate: 90000, payloadType: 96, source: 'screen', streamIds: [2] }]);
  assert.deepEqual(announced, [true, false], 'nothing changed: nothing announced');
  replica.close();
  space.close();
});
