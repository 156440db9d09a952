import { areaTiles, isBlocked, type Mode } from '../sdk/protocol.ts';
import type { ProximaClient } from '../sdk/proxima-client.ts';
import type { FrameWatches } from './frame-watch.ts';
import type { PlacedLabel } from './label-layout.ts';

/** What the page adds to the SDK for tests: the map's drawn labels, the notices on screen. */
export interface PageProbes {
  labels(): PlacedLabel[];
  notices(): Array<{ key: string; text: string }>;
}

/** Receive and send stats of both connections (kept from the first page, for the media tests). */
async function statsSummary(client: ProximaClient) {
  const out = { inbound: [] as Record<string, unknown>[], outbound: [] as Record<string, unknown>[], availableOutgoingBitrate: 0 };
  for (const pc of [client.subscribePc, client.publishPc]) {
    if (!pc) continue;
    const report = await pc.getStats();
    report.forEach((s: Record<string, unknown>) => {
      if (s.type === 'inbound-rtp') out.inbound.push(s);
      if (s.type === 'outbound-rtp') out.outbound.push(s);
      if (s.type === 'candidate-pair' && s.nominated && pc === client.publishPc && typeof s.availableOutgoingBitrate === 'number') {
        out.availableOutgoingBitrate = s.availableOutgoingBitrate;
      }
    });
  }
  return out;
}

/** `window.proxima`: the stable surface tests drive (documented in web/README.md). */
export function installAutomation(client: ProximaClient, ready: Promise<string>, frames: FrameWatches, page: PageProbes): void {
  const move = async (x: number, y: number) => {
    await ready;
    const self = client.self!;
    if (self.x === x && self.y === y) return { x, y };
    const adjacent = Math.abs(self.x - x) + Math.abs(self.y - y) === 1;
    return client.move(x, y, adjacent ? {} : { goTo: true });
  };

  const api = {
    ready,
    client,
    move,
    setMode: (mode: Mode) => client.setMode(mode),
    spotlight: (on: boolean, participantId?: string) => client.spotlight(on, participantId),
    self: () => (client.self ? { id: client.self.id, name: client.self.name, x: client.self.x, y: client.self.y, mode: client.self.mode, spotlit: client.self.spotlit } : null),
    people: () => [...client.people.values()].map((p) => ({ ...p })),
    links: () => [...client.links.values()].map((l) => ({ ...l })),
    map: () => {
      const m = client.map;
      if (!m) return null;
      const blocked: Array<[number, number]> = [];
      for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) if (isBlocked(m, x, y)) blocked.push([x, y]);
      return {
        name: m.name,
        width: m.width,
        height: m.height,
        spawn: { ...m.spawn },
        blocked,
        areas: m.areas.map((a) => ({ id: a.id, name: a.name, kind: a.kind, tiles: areaTiles(a) })),
      };
    },
    /** One entry per person we are linked to or receive media from, with receive stats from getStats(). */
    peers: async () => {
      const stats = await client.peerStats();
      const ids = new Set<string>([...client.links.keys(), ...[...client.remoteTracks.values()].map((t) => t.publisherId)]);
      return [...ids].map((id) => {
        const s = stats.get(id);
        const tracks = client.tracksOf(id);
        return {
          id,
          name: client.people.get(id)?.name ?? client.publishers.get(id)?.name ?? id,
          gain: client.links.get(id)?.gain ?? 0,
          priority: client.links.get(id)?.priority ?? null,
          volume: client.audio?.elements().find((e) => e.publisherId === id)?.el.volume ?? null,
          tracks: tracks.map((t) => t.track.kind),
          audio: { packetsReceived: s?.audio?.packetsReceived ?? 0, totalSamplesReceived: s?.audio?.totalSamplesReceived ?? 0 },
          video: { framesDecoded: s?.video?.framesDecoded ?? 0, frameWidth: s?.video?.frameWidth ?? 0, frameHeight: s?.video?.frameHeight ?? 0 },
          kbps: s?.kbps ?? 0,
          lossPct: s?.lossPct ?? 0,
          rttMs: s?.rttMs ?? null,
        };
      });
    },
    frameGaps: (reset = false) => frames.report(reset),
    /** Whether media really flows (publish connected and outbound bytes growing; the same inbound). */
    live: () => client.liveState(),
    setMuted: (kind: 'audio' | 'video', muted: boolean) => client.setMuted(kind, muted),
    muted: () => ({ audio: client.isMuted('audio'), video: client.isMuted('video') }),
    /** Ids of who speaks now, as the server told this page (people it receives, and itself). */
    speaking: () => [...client.speaking],
    /** The server's latest connection-quality message (docs/quality.md), or null before the first. */
    quality: () => client.quality,
    /** Resolves the server's track id of the shared screen. */
    shareScreen: async () => (await client.shareScreen(), client.localTrackId('screen')),
    stopScreen: () => client.stopScreen(),
    devices: async () => {
      const d = await client.listDevices();
      const row = (x: MediaDeviceInfo) => ({ deviceId: x.deviceId, label: x.label });
      return { cameras: d.cameras.map(row), microphones: d.microphones.map(row), speakers: d.speakers.map(row) };
    },
    switchDevice: async (kind: 'camera' | 'microphone', deviceId: string) => (await client.switchDevice(kind, deviceId)).id,
    setAudioOutput: (deviceId: string) => client.setAudioOutput(deviceId),
    uplink: () => client.uplinkStats(),
    labels: () => page.labels().map((l) => ({ ...l })),
    notices: () => page.notices(),
    stats: () => statsSummary(client),
    // Kept from the first page: explicit subscriptions and the publisher list.
    get participantId() {
      return client.participantId;
    },
    publishers: () => [...client.publishers.values()],
    subscribe: (id: string, trackIds?: string[]) => client.subscribe(id, trackIds),
    unsubscribe: (id: string, trackIds?: string[]) => client.unsubscribe(id, trackIds),
    leave: () => client.leave(),
  };
  Object.assign(window, { proxima: api });
}
