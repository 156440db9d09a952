import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { interfaceCandidateIps } from './candidate-ips.ts';
import { z } from 'zod';

/**
 * Configuration: defaults < JSON file (PROXIMA_CONFIG or --config) < environment variables.
 * Validated once at start; a bad value stops the server with a message naming the field.
 */
const LogLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent']);

export const ConfigSchema = z
  .object({
    http: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        /**
         * Origins whose pages may open /ws (exact `scheme://host[:port]`). Empty = the page must come from
         * the host it connects to (same origin), so another site's page cannot drive a visitor's session.
         * `*` allows any origin. A client without an Origin header (not a browser) is always let in.
         */
        allowedOrigins: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 8080, allowedOrigins: [] }),
    media: z
      .object({
        /** Address the shared UDP socket binds to. */
        bindIp: z.string().min(1).default('0.0.0.0'),
        /** The one UDP port all participants share (0 = any free port). */
        port: z.number().int().min(0).max(65535).default(40000),
        /**
         * Address announced in ICE candidates (a NAT's public address); auto = host candidates on every usable
         * interface address (candidateIps), and the first public IPv4 (else 127.0.0.1) where one address is named.
         */
        announcedIp: z.string().min(1).default('auto'),
        /** Addresses of the host candidates; unset = every usable interface address when announcedIp is auto, else announcedIp. */
        candidateIps: z.array(z.string().refine((ip) => isIP(ip) !== 0, 'not an IP address')).min(1).optional(),
        /** ICE-TCP (RFC 6544): passive TCP candidates on tcpPort beside the UDP ones, for clients that can reach only TCP. */
        iceTcp: z.boolean().default(true),
        /** The one TCP port of ICE-TCP (0 = any free port). */
        tcpPort: z.number().int().min(0).max(65535).default(40000),
        /** Port announced in ICE candidates (a test hook to route media through an impairment proxy); 0 = the bound port. */
        announcedPort: z.number().int().min(0).max(65535).default(0),
        /** DTLS role we take on publish transports, where the browser offers actpass. */
        publishDtlsRole: z.enum(['client', 'server']).default('client'),
        /**
         * Media worker threads (docs/workers.md); worker i takes UDP port + i and ICE-TCP tcpPort + i. 1 = the
         * media in the main thread. More than 1 only on a single node (relays between nodes run in the main thread).
         */
        workers: z.number().int().min(1).max(64).default(1),
      })
      .strict()
      .default({ bindIp: '0.0.0.0', port: 40000, announcedIp: 'auto', announcedPort: 0, publishDtlsRole: 'client', iceTcp: true, tcpPort: 40000, workers: 1 }),
    auth: z
      .object({
        /** HS256 secret for join tokens (at least 32 characters); unset = a random one per start (tokens die with the process). */
        secret: z.string().min(32, 'auth.secret must be at least 32 characters').optional(),
        /** Serve guest tokens at POST /api/token (the embedded default; turn off in production). */
        guestTokens: z.boolean().default(true),
        /** Lifetime of guest tokens, seconds. */
        guestTokenTtlS: z.number().int().min(60).default(12 * 3600),
        /** Guests may spotlight themselves (never anyone else: that takes a token with the moderator grant). */
        guestSpotlight: z.boolean().default(true),
        /** Guest tokens one address may mint per minute (a burst of as many, then refilled evenly); 0 = no limit. */
        guestTokensPerMinute: z.number().int().min(0).default(60),
        /** Key id (`kid`) written into tokens signed with `secret`, so a secret can be rotated. */
        keyId: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/).default('k1'),
        /** Retired secrets that still verify tokens until those expire: [{keyId, secret}]. */
        previousSecrets: z.array(z.object({ keyId: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/), secret: z.string().min(32) }).strict()).default([]),
        /** `aud` written into tokens; a token naming another audience is refused (one without is accepted). */
        audience: z.string().min(1).max(128).default('proxima'),
      })
      .strict()
      .default({ guestTokens: true, guestTokenTtlS: 12 * 3600, guestSpotlight: true, guestTokensPerMinute: 60, keyId: 'k1', previousSecrets: [], audience: 'proxima' }),
    space: z
      .object({
        /** A map file of ours (see docs/proximity.md); unset = the built-in office. */
        map: z.string().min(1).optional(),
        /** Walking speed for go-to moves, tiles per second. */
        walkSpeed: z.number().min(1).max(50).default(8),
      })
      .strict()
      .default({ walkSpeed: 8 }),
    /**
     * Cluster mode (docs/cascading.md): unset = one process, no external services. Every node of a cluster
     * names the same NATS server and cluster secret.
     */
    cluster: z
      .object({
        /** NATS server URL(s), e.g. nats://10.0.0.5:4222 (tls:// for TLS). */
        natsUrl: z.string().min(1),
        /**
         * How this node proves itself to NATS (docs/cascading.md): a user and password, a token, or a
         * credentials file (NATS JWT + NKey seed); and TLS files (a CA to trust the server, a client
         * certificate where the server asks for one). Unset: no authentication.
         */
        nats: z
          .object({
            user: z.string().min(1).optional(),
            pass: z.string().min(1).optional(),
            token: z.string().min(1).optional(),
            credsFile: z.string().min(1).optional(),
            tls: z.object({ caFile: z.string().min(1).optional(), certFile: z.string().min(1).optional(), keyFile: z.string().min(1).optional() }).strict().optional(),
          })
          .strict()
          .refine((n) => (n.user === undefined) === (n.pass === undefined), { message: 'cluster.nats.user and cluster.nats.pass go together' })
          .refine((n) => [n.user, n.token, n.credsFile].filter((x) => x !== undefined).length <= 1, { message: 'cluster.nats: one of user/pass, token or credsFile' })
          .default({}),
        /** This node's id, unique in the cluster: [A-Za-z0-9_-], at most 64. */
        nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'cluster.nodeId must be 1..64 of [A-Za-z0-9_-]'),
        /** Region / data centre, for assigning people to nodes near them. */
        region: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('default'),
        /** Shared by every node: relay keys are derived with it, so only cluster members can join links. */
        secret: z.string().min(32, 'cluster.secret must be at least 32 characters'),
        /** The relay UDP socket (between nodes). */
        relayBindIp: z.string().min(1).default('0.0.0.0'),
        relayPort: z.number().int().min(0).max(65535).default(40001),
        /** Address other nodes send relay datagrams to; auto = media.announcedIp. */
        relayAnnouncedIp: z.string().min(1).default('auto'),
        /** Where clients reach this node's signaling; default http://<media.announcedIp>:<http.port>. */
        signalingUrl: z.string().url().optional(),
        /** Node heartbeat and down detection (ms). */
        heartbeatMs: z.number().int().min(50).max(10_000).default(500),
        deadAfterMs: z.number().int().min(150).max(60_000).default(1500),
        /** A relay peer silent this long is routed around (pings go every 100 ms). */
        relaySilentMs: z.number().int().min(200).max(60_000).default(600),
        /** A relay peer quiet this long is checked on NATS: a node whose connection is gone is routed around at once. */
        relayQuietMs: z.number().int().min(150).max(60_000).default(250),
      })
      .strict()
      .refine((c) => c.relayQuietMs < c.relaySilentMs, { message: 'cluster.relayQuietMs must be shorter than cluster.relaySilentMs', path: ['relayQuietMs'] })
      .optional(),
    /**
     * TURN for clients that can reach neither our UDP nor our TCP port (docs/deployment.md): a TURN server
     * (coturn with use-auth-secret) sharing `secret`; each join gets credentials valid for `ttlS`.
     */
    turn: z
      .object({
        secret: z.string().min(16, 'turn.secret must be at least 16 characters'),
        /** e.g. turn:turn.example.com:3478?transport=udp, turn:…?transport=tcp, turns:turn.example.com:443?transport=tcp */
        urls: z.array(z.string().regex(/^turns?:[^\s]+$/, 'a turn: or turns: URL')).min(1),
        ttlS: z.number().int().min(60).max(7 * 24 * 3600).default(3600),
      })
      .strict()
      .optional(),
    /**
     * Limits on what one client may make the server do (issue 15); every refusal is counted. Defaults sit well
     * above a real client: a 3-layer simulcast camera (≤ 2.15 Mbit/s) plus a screen share (≤ 2.5 Mbit/s), audio
     * and repairs stay far under 15 Mbit/s of ingress.
     */
    limits: z
      .object({
        signaling: z
          .object({
            /** Messages per second per connection, and the burst it may save up. */
            messagesPerS: z.number().min(1).default(50),
            messagesBurst: z.number().min(1).default(100),
            /** Offers (publish, restartIce) per second per connection, and burst. */
            offersPerS: z.number().min(0.1).default(2),
            offersBurst: z.number().min(1).default(10),
            /** move per second per connection (walking sends ~8), and burst. */
            movesPerS: z.number().min(1).default(20),
            movesBurst: z.number().min(1).default(40),
            /**
             * The same three summed over every connection from one IP address. An office behind one NAT is
             * hundreds of people on one address joining at the same minute: these bound one host's sockets
             * multiplying the per-connection limits, and must never turn away a crowd.
             */
            perIpMessagesPerS: z.number().min(1).default(5000),
            perIpOffersPerS: z.number().min(0.1).default(100),
            perIpMovesPerS: z.number().min(1).default(2000),
            /** Refusals that go on this long (no quiet second between them) close the connection (1008). */
            closeAfterLimitedMs: z.number().int().min(100).default(3000),
            /** A WebSocket that has not joined (or resumed) this long after opening is closed (4008). */
            joinDeadlineMs: z.number().int().min(100).default(10_000),
          })
          .strict()
          .prefault({}),
        sdp: z
          .object({
            /** Lines in one SDP (its size is capped at 64 KiB by the protocol), in one media section, a=rtcp-fb lines per payload type, payload types per m-line, m-lines. */
            maxLines: z.number().int().min(16).default(4000),
            maxLinesPerMedia: z.number().int().min(16).default(400),
            maxRtcpFbPerPayload: z.number().int().min(1).default(16),
            maxPayloadTypes: z.number().int().min(1).max(128).default(64),
            maxMediaSections: z.number().int().min(1).default(64),
          })
          .strict()
          .prefault({}),
        ingress: z
          .object({
            /** What one publisher may send (RTP and RTCP, after SRTP), bits and packets per second over windowMs. */
            publisherBitsPerS: z.number().min(100_000).default(15_000_000),
            publisherPacketsPerS: z.number().min(100).default(3000),
            /** What one subscriber may send us (RTCP: feedback, reports, NACK, PLI). */
            subscriberBitsPerS: z.number().min(10_000).default(1_000_000),
            subscriberPacketsPerS: z.number().min(50).default(500),
            windowMs: z.number().int().min(50).max(5000).default(500),
            /** Excess that goes on this long fails the transport: the participant is disconnected. */
            closeAfterMs: z.number().int().min(100).default(3000),
          })
          .strict()
          .prefault({}),
        dtls: z
          .object({
            /**
             * DTLS handshakes in progress at once, in total and from one IP address (an office behind one NAT
             * joining a town hall at the same minute is many handshakes from one address, each two transports).
             */
            maxHandshakes: z.number().int().min(1).default(256),
            maxHandshakesPerIp: z.number().int().min(1).default(64),
            /**
             * ClientHellos a transport may start a handshake with, per second, and the burst: a real client's
             * hello and cookie hello, each retransmitted from 50 ms doubling on a slow answer (handshake-guard.ts).
             */
            clientHellosPerS: z.number().min(0.1).default(2),
            clientHellosBurst: z.number().min(1).default(10),
            /** A handshake not finished this long after its first flight is dropped and its transport fails. */
            handshakeTimeoutMs: z.number().int().min(1000).default(10_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** The flight recorder (docs/recorder.md): what happened in each space, kept for replay at /delorean. */
    recorder: z
      .object({
        enabled: z.boolean().default(true),
        /** The SQLite file (relative to the working directory), or ':memory:' (kept for the process's life). */
        path: z.string().min(1).default('data/recorder.sqlite'),
        /** Events older than this are deleted (checked every 10 minutes). */
        retentionHours: z.number().min(1).max(24 * 366).default(72),
        /**
         * Who may read recordings (GET /api/recorder/…): `open` to anyone who reaches the server, `moderators`
         * to bearers of a token with the moderator grant for that space. Default: open while guest tokens
         * are served (anyone may join then anyway), else moderators.
         */
        access: z.enum(['open', 'moderators']).optional(),
      })
      .strict()
      .prefault({}),
    logLevel: LogLevel.default('info'),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const ENV: Record<string, { path: [string, string?]; kind: 'int' | 'string' | 'bool' | 'list' }> = {
  PROXIMA_TURN_SECRET: { path: ['turn', 'secret'], kind: 'string' },
  PROXIMA_TURN_URLS: { path: ['turn', 'urls'], kind: 'list' },
  PROXIMA_TOKEN_SECRET: { path: ['auth', 'secret'], kind: 'string' },
  PROXIMA_GUEST_TOKENS: { path: ['auth', 'guestTokens'], kind: 'bool' },
  PROXIMA_GUEST_TOKENS_PER_MINUTE: { path: ['auth', 'guestTokensPerMinute'], kind: 'int' },
  PROXIMA_TOKEN_KEY_ID: { path: ['auth', 'keyId'], kind: 'string' },
  PROXIMA_TOKEN_AUDIENCE: { path: ['auth', 'audience'], kind: 'string' },
  PROXIMA_ALLOWED_ORIGINS: { path: ['http', 'allowedOrigins'], kind: 'list' },
  PROXIMA_MAP: { path: ['space', 'map'], kind: 'string' },
  PROXIMA_HTTP_HOST: { path: ['http', 'host'], kind: 'string' },
  PROXIMA_HTTP_PORT: { path: ['http', 'port'], kind: 'int' },
  PROXIMA_MEDIA_BIND_IP: { path: ['media', 'bindIp'], kind: 'string' },
  PROXIMA_MEDIA_PORT: { path: ['media', 'port'], kind: 'int' },
  PROXIMA_ANNOUNCED_IP: { path: ['media', 'announcedIp'], kind: 'string' },
  PROXIMA_ANNOUNCED_PORT: { path: ['media', 'announcedPort'], kind: 'int' },
  PROXIMA_ICE_TCP: { path: ['media', 'iceTcp'], kind: 'bool' },
  PROXIMA_MEDIA_TCP_PORT: { path: ['media', 'tcpPort'], kind: 'int' },
  PROXIMA_MEDIA_WORKERS: { path: ['media', 'workers'], kind: 'int' },
  PROXIMA_PUBLISH_DTLS_ROLE: { path: ['media', 'publishDtlsRole'], kind: 'string' },
  PROXIMA_LOG_LEVEL: { path: ['logLevel'], kind: 'string' },
  PROXIMA_NATS_URL: { path: ['cluster', 'natsUrl'], kind: 'string' },
  PROXIMA_NODE_ID: { path: ['cluster', 'nodeId'], kind: 'string' },
  PROXIMA_REGION: { path: ['cluster', 'region'], kind: 'string' },
  PROXIMA_CLUSTER_SECRET: { path: ['cluster', 'secret'], kind: 'string' },
  PROXIMA_RELAY_PORT: { path: ['cluster', 'relayPort'], kind: 'int' },
  PROXIMA_RECORDER: { path: ['recorder', 'enabled'], kind: 'bool' },
  PROXIMA_RECORDER_PATH: { path: ['recorder', 'path'], kind: 'string' },
  PROXIMA_RECORDER_RETENTION_HOURS: { path: ['recorder', 'retentionHours'], kind: 'int' },
};

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, Record<string, unknown> | unknown> = {};
  for (const [name, spec] of Object.entries(ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (spec.kind === 'int') {
      if (!/^\d+$/.test(raw)) throw new ConfigError(`${name}: expected an integer, got ${JSON.stringify(raw)}`);
      value = Number(raw);
    } else if (spec.kind === 'list') {
      value = raw.split(',').map((x) => x.trim()).filter(Boolean);
    } else if (spec.kind === 'bool') {
      if (!/^(true|false|1|0)$/.test(raw)) throw new ConfigError(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
      value = raw === 'true' || raw === '1';
    }
    const [a, b] = spec.path;
    if (b === undefined) out[a] = value;
    else out[a] = { ...((out[a] as Record<string, unknown>) ?? {}), [b]: value };
  }
  return out;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const r: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = r[k];
    r[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return r;
}

/**
 * The first non-internal IPv4 address that is public, else 127.0.0.1. Not public: private (RFC 1918),
 * link-local, loopback, shared CGNAT space (RFC 6598), benchmarking (RFC 2544) and documentation (RFC 5737).
 */
export function isPublicIpv4(ip: string): boolean {
  return !/^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|127\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.|198\.1[89]\.|192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|0\.)/.test(ip);
}

export function detectAnnouncedIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && isPublicIpv4(a.address)) return a.address;
  }
  return '127.0.0.1';
}

export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: ConfigInput } = {}): Config {
  const env = opts.env ?? process.env;
  let fileValues: Record<string, unknown> = {};
  const file = opts.file ?? env.PROXIMA_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    try {
      fileValues = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const merged = merge(merge(fileValues, fromEnv(env)), (opts.overrides ?? {}) as Record<string, unknown>);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration${file ? ` (file ${file})` : ''}:\n${lines.join('\n')}`);
  }
  const cfg = parsed.data;
  if (cfg.media.announcedIp === 'auto') {
    cfg.media.candidateIps ??= interfaceCandidateIps(networkInterfaces(), cfg.media.bindIp);
    cfg.media.announcedIp = detectAnnouncedIp();
  } else cfg.media.candidateIps ??= [cfg.media.announcedIp];
  if (cfg.cluster && cfg.cluster.relayAnnouncedIp === 'auto') cfg.cluster.relayAnnouncedIp = cfg.media.announcedIp;
  return cfg;
}
