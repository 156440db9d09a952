/**
 * ICE-lite server side (RFC 8445 §2.5, §6.1.1, §7.3) for one UDP socket shared by every transport.
 * Pure logic: the UDP mux passes each STUN datagram to `handle`, sends `response` back to the source,
 * and learns where each transport's peer is through `IceLiteEndpoint.onSelected`.
 *
 * Decisions (documented so the mux owner can rely on them):
 * - Lite is always controlled. A request carrying ICE-CONTROLLED (the peer also thinks it is
 *   controlled) gets 487 Role Conflict, as §7.3.1.1 prescribes when our tie-breaker wins; we act as if
 *   ours were the maximum so we never switch role. A request with neither role attribute (RFC 5245
 *   era peers) is treated as coming from the controlling agent.
 * - Bad or missing FINGERPRINT, unknown ufrag, wrong remote ufrag and bad MESSAGE-INTEGRITY are
 *   dropped silently (no 401): answering unauthenticated traffic only helps reflection and probing.
 *   So is a request without USERNAME or MESSAGE-INTEGRITY: RFC 8489 §9.1.3 would answer 400, but an ICE
 *   check always carries both (RFC 8445 §7.2.2), and the answer (36 bytes for a 28-byte request from a
 *   spoofable source) would make us a reflector.
 * - Selection: until a pair is nominated (USE-CANDIDATE, §7.3.1.5) the latest authenticated source
 *   is selected; after that only a newer nomination moves it (how a client that changed network
 *   keeps its session), and one of lower PRIORITY only once the selected path went quiet: a peer may
 *   nominate several pairs and then uses the highest-priority one (§8.1.1; Firefox nominates every
 *   pair that works against a lite agent, UDP then ICE-TCP).
 * - Once authenticated media has arrived (`endpoint.mediaReceived`), checks select nothing any more: only
 *   media moves the path. A check is authenticated but not bound to its source, so an on-path observer can
 *   replay one from its own address (RFC 8445 §19.2); SRTP cannot be replayed (RFC 3711 §3.3.2).
 * - Media decides between nominated pairs: authenticated media (SRTP that passes authentication and the
 *   replay check, or DTLS before the handshake completes) from another nominated path of the same
 *   endpoint moves the selection there (`mediaFrom`). The peer's own selected pair is the one it sends on;
 *   Chromium may nominate a pair of lower PRIORITY after a higher one and use only the later one.
 *   Every authenticated source is a validated path (§7.3.1.4; at most MAX_PATHS, newest kept), announced
 *   through `onPathValidated` so the mux accepts media from it.
 * - ICE restart (§9): `restart` swaps an endpoint's credentials in place; nomination and the replay
 *   memory start over, the old ufrag stops authenticating, and the selected address keeps carrying
 *   media until a check with the new credentials selects another.
 * - Consent (RFC 7675 §5.1): `lastConsentAt` moves only for authenticated requests from the selected
 *   address, because that is where we send media.
 * - Every drop is counted here with countDrop; the caller must not count it again.
 */
import { randomBytes } from 'node:crypto';
import { countDrop, type DropReason } from '../../metrics/drop-reasons.ts';
import type { Clock } from '../../util/clock.ts';
import { ATTR, METHOD_BINDING } from './stun-constants.ts';
import { buildBindingError, encodeStunMessage } from './stun-builder.ts';
import { parseStun, verifyFingerprint, verifyMessageIntegrity } from './stun-message.ts';
import { encodeXorAddress, type TransportAddress } from './xor-address.ts';

export type { TransportAddress } from './xor-address.ts';

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/** ice-char (RFC 8839 §5.4): ALPHA / DIGIT / "+" / "/". 64 symbols, so `byte & 63` is unbiased. */
const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function iceString(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ICE_CHARS[bytes[i] & 63];
  return s;
}

/**
 * ufrag: 8 chars (48 random bits: unique per socket in practice); pwd: 24 chars (144 bits).
 * RFC 8445 §5.3 asks for >= 24 and >= 128 random bits; RFC 8839 §5.4 for 4+ and 22+ chars.
 */
export function generateIceCredentials(): IceCredentials {
  return { ufrag: iceString(8), pwd: iceString(24) };
}

export interface IceLiteEndpoint {
  /** Our credentials, sent in the SDP. They change only through an ICE restart (`IceLiteAgent.restart`). */
  readonly local: IceCredentials;
  /** Peer's ufrag from its SDP; when known, requests naming another one are dropped. */
  remoteUfrag: string | null;
  /**
   * The address this transport must now send to (and accept media from) changed. `previous` is the
   * address it replaces (null the first time), so the mux can move its address -> transport entry.
   * Called synchronously inside `handle`; must not throw.
   */
  onSelected(remote: TransportAddress, previous: TransportAddress | null): void;
  /** An authenticated check came from `remote` (not necessarily selected): media from it may be accepted. */
  onPathValidated?(remote: TransportAddress): void;
  /** Authenticated media has arrived: from now on only media moves the selected path (see `mediaFrom`). */
  readonly mediaReceived?: boolean;
}

export interface IceLiteResult {
  /** Datagram to send back to the request's source, or null. */
  response: Buffer | null;
  /** The endpoint the message authenticated for, or null. */
  endpoint: IceLiteEndpoint | null;
  /** Why the datagram was dropped (already counted), or null. */
  drop: DropReason | null;
}

interface EndpointState {
  selected: TransportAddress | null;
  nominated: boolean;
  /** PRIORITY (§7.1.1) of the check that nominated the selected address. */
  nominatedPriority: number;
  lastConsentAt: number | null;
  /** Transaction ids of the last SEEN_MS → where they came from and when (insertion order = age). */
  seen: Map<string, { from: string; at: number }>;
  /** Sources of authenticated checks (oldest first) and whether each nominated, since the last restart. */
  paths: Array<{ at: TransportAddress; nominated: boolean }>;
}

/** Validated paths remembered per endpoint: a browser has a few candidate pairs, not dozens. */
const MAX_PATHS = 4;

/**
 * MESSAGE-INTEGRITY covers the request but not where it came from, so a copy of a check replayed by an
 * on-path observer from its own address would authenticate and could move the media path (RFC 8445 §19.2).
 * A browser retransmits a check with the same transaction id only from the same address, and starts new
 * checks with new ids: a known id from another address is a replay. Ids are kept by time, not by count (a
 * count let a replay through after enough newer checks); older replays meet the rule that after media
 * only media moves the path.
 */
const SEEN_MS = 5 * 60_000;
/** A ceiling on memory per endpoint whatever the time (only authenticated checks are remembered). */
const SEEN_MAX = 4096;

/**
 * A selected path with no check for this long is gone (consent checks come every 4–6 s, RFC 7675 §5.1):
 * a nomination of lower priority may then take over from it.
 */
const QUIET_PATH_MS = 6000;

export class IceLiteAgent {
  private readonly byUfrag = new Map<string, IceLiteEndpoint>();
  private readonly state = new Map<IceLiteEndpoint, EndpointState>();

  constructor(private readonly clock: Clock) {}

  /** Throws if another registered endpoint already uses this ufrag (control path). */
  register(endpoint: IceLiteEndpoint): void {
    const existing = this.byUfrag.get(endpoint.local.ufrag);
    if (existing && existing !== endpoint) throw new Error(`ICE ufrag already registered: ${endpoint.local.ufrag}`);
    this.byUfrag.set(endpoint.local.ufrag, endpoint);
    if (!this.state.has(endpoint)) this.state.set(endpoint, { selected: null, nominated: false, nominatedPriority: 0, lastConsentAt: null, seen: new Map(), paths: [] });
  }

  /**
   * ICE restart (RFC 8445 §9): `endpoint.local` now holds new credentials and `previousUfrag` stops
   * authenticating. Nomination and the replay memory are reset, so the peer's media on a path it nominates
   * with the new credentials moves us there (a client on a new network; before any media, its first
   * valid check does); until then the
   * selected address keeps carrying media and consent runs on from its last check, so restarting on a
   * path that still works loses nothing. Throws if the new ufrag is taken (control path).
   */
  restart(endpoint: IceLiteEndpoint, previousUfrag: string): void {
    const st = this.state.get(endpoint);
    if (!st) throw new Error('ICE restart of an unregistered endpoint');
    const existing = this.byUfrag.get(endpoint.local.ufrag);
    if (existing && existing !== endpoint) throw new Error(`ICE ufrag already registered: ${endpoint.local.ufrag}`);
    if (this.byUfrag.get(previousUfrag) === endpoint) this.byUfrag.delete(previousUfrag);
    this.byUfrag.set(endpoint.local.ufrag, endpoint);
    st.nominated = false;
    st.seen.clear();
    st.paths = st.selected ? [{ at: st.selected, nominated: false }] : [];
  }

  unregister(endpoint: IceLiteEndpoint): void {
    if (this.byUfrag.get(endpoint.local.ufrag) === endpoint) this.byUfrag.delete(endpoint.local.ufrag);
    this.state.delete(endpoint);
  }

  /** Clock time of the last authenticated request from the selected address; null if none yet. */
  lastConsentAt(endpoint: IceLiteEndpoint): number | null {
    return this.state.get(endpoint)?.lastConsentAt ?? null;
  }

  selectedAddress(endpoint: IceLiteEndpoint): TransportAddress | null {
    return this.state.get(endpoint)?.selected ?? null;
  }

  /**
   * Authenticated media arrived from (address, port) on a path other than the selected one (the caller
   * checked that it differs). If the peer nominated that path, it is the one the peer uses: select it.
   * Returns whether the selection moved. Hot path only when paths differ; allocates only when it moves.
   */
  mediaFrom(endpoint: IceLiteEndpoint, address: string, port: number, protocol: 'udp' | 'tcp'): boolean {
    const st = this.state.get(endpoint);
    if (!st) return false;
    for (const p of st.paths) {
      if (!p.nominated || p.at.port !== port || p.at.address !== address || (p.at.protocol ?? 'udp') !== protocol) continue;
      if (st.selected && sameAddress(st.selected, p.at)) return false;
      const prev = st.selected;
      st.selected = p.at;
      st.lastConsentAt = this.clock.now();
      endpoint.onSelected(p.at, prev);
      return true;
    }
    return false;
  }

  /** Handle one STUN datagram (or ICE-TCP frame, RFC 6544 §3) from (address, port). Never throws. */
  handle(buf: Buffer, address: string, port: number, family: 4 | 6, protocol: 'udp' | 'tcp' = 'udp'): IceLiteResult {
    const msg = parseStun(buf);
    if (typeof msg === 'string') return drop(msg);
    if (msg.method !== METHOD_BINDING) return drop('stun_unsupported');
    // §11: Binding indications are keepalives; nothing to answer and nothing to authenticate.
    if (msg.cls === 'indication') return { response: null, endpoint: null, drop: null };
    // A lite agent sends no checks (§2.5), so any response is unsolicited.
    if (msg.cls !== 'request') return drop('stun_unsupported');
    if (!verifyFingerprint(buf, msg)) return drop('stun_bad_fingerprint');
    if (msg.username === null || msg.integrityOffset < 0) {
      return drop('stun_malformed');
    }
    // §7.3: USERNAME is "<our ufrag>:<their ufrag>".
    const colon = msg.username.indexOf(':');
    if (colon < 0) return drop('stun_unknown_ufrag');
    const endpoint = this.byUfrag.get(msg.username.slice(0, colon));
    const st = endpoint && this.state.get(endpoint);
    if (!endpoint || !st) return drop('stun_unknown_ufrag');
    if (endpoint.remoteUfrag !== null && endpoint.remoteUfrag !== msg.username.slice(colon + 1)) {
      return drop('stun_unknown_ufrag');
    }
    const pwd = endpoint.local.pwd;
    if (!verifyMessageIntegrity(buf, msg, pwd)) return drop('stun_bad_integrity');

    if (msg.unknownRequired.length > 0) {
      const r = buildBindingError(msg.transactionId, 420, 'Unknown Attribute', pwd, msg.unknownRequired);
      return { ...drop('stun_unsupported', r), endpoint };
    }
    if (msg.iceControlled !== null && msg.iceControlling === null) {
      // §7.3.1.1 with our tie-breaker >= theirs: tell the peer to become controlling.
      return { response: buildBindingError(msg.transactionId, 487, 'Role Conflict', pwd), endpoint, drop: null };
    }
    const txid = msg.transactionId.toString('hex');
    const from = `${protocol}:${address}:${port}`;
    const now = this.clock.now();
    const first = st.seen.get(txid);
    if (first !== undefined && first.from !== from && now - first.at <= SEEN_MS) return drop('stun_replayed');
    if (first === undefined) {
      for (const [id, e] of st.seen) {
        if (now - e.at <= SEEN_MS && st.seen.size < SEEN_MAX) break;
        st.seen.delete(id);
      }
      st.seen.set(txid, { from, at: now });
    }
    const src: TransportAddress = protocol === 'tcp' ? { address, port, family, protocol } : { address, port, family };
    const xor = encodeXorAddress(src, msg.transactionId);
    // Only reachable if the mux hands us a non-literal address; nothing sensible to answer.
    if (!xor) return drop('stun_unsupported');
    const response = encodeStunMessage(METHOD_BINDING, 'success', msg.transactionId, [[ATTR.XOR_MAPPED_ADDRESS, xor]], {
      integrityKey: pwd,
    });

    this.select(endpoint, st, src, msg.useCandidate, msg.priority ?? 0);
    return { response, endpoint, drop: null };
  }

  private select(endpoint: IceLiteEndpoint, st: EndpointState, src: TransportAddress, useCandidate: boolean, priority: number): void {
    this.validated(endpoint, st, src, useCandidate);
    const prev = st.selected;
    const now = this.clock.now();
    // §7.3.1.5 nomination wins; before any nomination, follow the latest valid check. Of several nominated
    // pairs the peer uses the highest-priority one (§8.1.1): a lower one moves us only off a quiet path.
    // The pair priority (§6.1.2.3) follows the peer's PRIORITY here: ours, a host's, is the larger of the two.
    // After media, no check moves the path (a replay could): the peer's media on it will (mediaFrom).
    const quiet = st.lastConsentAt === null || now - st.lastConsentAt > QUIET_PATH_MS;
    const same = prev !== null && sameAddress(prev, src);
    const movable = endpoint.mediaReceived !== true || prev === null;
    if (movable && (useCandidate ? !st.nominated || same || priority >= st.nominatedPriority || quiet : !st.nominated)) {
      if (useCandidate) {
        st.nominated = true;
        st.nominatedPriority = priority;
      }
      if (!same) {
        st.selected = src;
        endpoint.onSelected(src, prev);
      }
    }
    if (st.selected && sameAddress(st.selected, src)) st.lastConsentAt = now;
  }

  private validated(endpoint: IceLiteEndpoint, st: EndpointState, src: TransportAddress, useCandidate: boolean): void {
    const known = st.paths.find((p) => sameAddress(p.at, src));
    if (known) {
      known.nominated ||= useCandidate;
      return;
    }
    st.paths.push({ at: src, nominated: useCandidate });
    if (st.paths.length > MAX_PATHS) st.paths.shift();
    endpoint.onPathValidated?.(src);
  }
}

function sameAddress(a: TransportAddress, b: TransportAddress): boolean {
  return a.port === b.port && a.address === b.address && a.family === b.family && (a.protocol ?? 'udp') === (b.protocol ?? 'udp');
}

function drop(reason: DropReason, response: Buffer | null = null): IceLiteResult {
  countDrop(reason);
  return { response, endpoint: null, drop: reason };
}
