/**
 * The recorder over HTTP (docs/recorder.md, "API"), read-only JSON:
 *   GET /api/recorder/map                    → { map } (every space of a server is on its map)
 *   GET /api/recorder/spaces                 → { spaces: [{ space, firstTs, lastTs, events }] }
 *   GET /api/recorder/spaces/:space?from&to  → { space, from, to, count, next, events: [...] }
 * `from`/`to`: ms since the epoch or an ISO date; `participant` (repeatable or comma-separated), `kinds`,
 * `limit` (≤ 100,000) and `after` (the `next` of the previous page) narrow and page it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyToken, type TokenKeyring } from './auth/tokens.ts';
import { EVENT_KINDS } from '../recorder/events.ts';
import type { Recording } from '../recorder/recording.ts';
import type { TimelineQuery } from '../recorder/store/sqlite-store.ts';
import type { Clock } from '../util/clock.ts';
import type { MapInfo } from '../signaling/messages.ts';

export interface RecorderApiDeps {
  recording: Recording;
  /** `open`: anyone; `moderators`: a bearer token with the moderator grant for that space. */
  access: 'open' | 'moderators';
  keys: TokenKeyring;
  clock: Clock;
  /** The map every space of this server is on (the replay draws it). */
  map: MapInfo;
}

const SPACE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const DEFAULT_SPAN_MS = 10 * 60_000;
const DEFAULT_LIMIT = 20_000;
const MAX_LIMIT = 100_000;

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Handles `/api/recorder/…`; returns false for any other path. */
export async function recorderApi(req: IncomingMessage, res: ServerResponse, url: URL, deps: RecorderApiDeps): Promise<boolean> {
  if (!url.pathname.startsWith('/api/recorder/')) return false;
  try {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'the recorder API is read-only: GET');
    const store = deps.recording.store;
    if (!store) throw new ApiError(503, deps.recording.unavailable ?? 'the recorder is not running');
    const rest = url.pathname.slice('/api/recorder/'.length);
    if (rest === 'map') {
      send(res, 200, JSON.stringify({ map: deps.map }));
      return true;
    }
    if (rest === 'spaces') {
      const allowed = authorize(req, deps, null);
      const spaces = (await store.spaces()).filter((s) => allowed === null || s.space === allowed);
      send(res, 200, JSON.stringify({ spaces }));
      return true;
    }
    const m = /^spaces\/([^/]+)$/.exec(rest);
    if (!m) throw new ApiError(404, 'no such recorder resource: try /api/recorder/spaces');
    const space = decodeURIComponent(m[1]!);
    if (!SPACE_ID.test(space)) throw new ApiError(400, 'space must be 1..64 of [A-Za-z0-9_-]');
    authorize(req, deps, space);
    const q = timelineQuery(space, url.searchParams, deps.clock.wallNow());
    const page = await store.query(q);
    const next = page.next ? `${page.next.ts}:${page.next.id}` : null;
    // The events are stored JSON: spliced in as they are, not parsed and written again.
    send(res, 200, `{"space":${JSON.stringify(space)},"from":${q.from},"to":${q.to},"count":${page.count},"next":${JSON.stringify(next)},"events":${page.json}}`);
  } catch (e) {
    const status = e instanceof ApiError ? e.status : 500;
    send(res, status, JSON.stringify({ error: e instanceof ApiError ? e.message : 'internal error' }), status === 401 ? { 'www-authenticate': 'Bearer' } : {});
    if (status === 500) throw e;
  }
  return true;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(body);
}

/** The space the bearer may read (null: any), or an ApiError. */
function authorize(req: IncomingMessage, deps: RecorderApiDeps, space: string | null): string | null {
  if (deps.access === 'open') return null;
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) throw new ApiError(401, 'recordings need a bearer token with the moderator grant (Authorization: Bearer …)');
  let grants;
  try {
    grants = verifyToken(m[1]!, deps.keys, Math.floor(deps.clock.wallNow() / 1000));
  } catch (e) {
    throw new ApiError(401, `token refused: ${(e as Error).message}`);
  }
  if (!grants.moderator) throw new ApiError(403, 'this token has no moderator grant');
  if (space !== null && grants.space !== space) throw new ApiError(403, `this token is for space ${grants.space}, not ${space}`);
  return grants.space;
}

function time(v: string | null, name: string, fallback: number): number {
  if (v === null || v === '') return fallback;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n) || n < 0) throw new ApiError(400, `${name}: ms since the epoch or an ISO date, got ${JSON.stringify(v.slice(0, 40))}`);
  return Math.round(n);
}

export function timelineQuery(space: string, p: URLSearchParams, nowMs: number): TimelineQuery {
  const to = time(p.get('to'), 'to', Math.ceil(nowMs) + 1);
  const from = time(p.get('from'), 'from', to - DEFAULT_SPAN_MS);
  if (from >= to) throw new ApiError(400, 'from must be before to');
  const limitRaw = p.get('limit');
  const limit = limitRaw === null ? DEFAULT_LIMIT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new ApiError(400, `limit: an integer from 1 to ${MAX_LIMIT}`);
  const participants = p.getAll('participant').flatMap((v) => v.split(',')).filter((v) => v !== '');
  if (participants.length > 100 || participants.some((v) => !/^[A-Za-z0-9_.-]{1,64}$/.test(v))) throw new ApiError(400, 'participant: up to 100 participant ids');
  const kinds = p.getAll('kinds').flatMap((v) => v.split(',')).filter((v) => v !== '');
  const unknown = kinds.filter((k) => !(EVENT_KINDS as string[]).includes(k));
  if (unknown.length > 0) throw new ApiError(400, `kinds: unknown ${unknown.slice(0, 5).join(', ')} (known: ${EVENT_KINDS.join(', ')})`);
  const afterRaw = p.get('after');
  let after: { ts: number; id: number } | undefined;
  if (afterRaw !== null && afterRaw !== '') {
    const am = /^(\d+):(\d+)$/.exec(afterRaw);
    if (!am) throw new ApiError(400, 'after: the `next` of a previous answer (ts:id)');
    after = { ts: Number(am[1]), id: Number(am[2]) };
  }
  return { space, from, to, limit, ...(participants.length ? { participants } : {}), ...(kinds.length ? { kinds } : {}), ...(after ? { after } : {}) };
}
