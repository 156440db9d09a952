import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Join tokens: JWT (RFC 7519) signed with HS256 (RFC 7518 §3.2). Only HS256 is accepted, whatever the
 * header says (no "alg: none", no key confusion). Each part must be canonical base64url without padding
 * (RFC 7515 §2), so one token has one spelling.
 */
export const GrantsSchema = z.object({
  /** The space the bearer may join. */
  space: z.string().min(1).max(64),
  /** Display name. */
  name: z.string().min(1).max(64),
  /** May publish camera and microphone. */
  publish: z.boolean().default(true),
  /** May put themselves in the spotlight (heard by the whole space). */
  spotlight: z.boolean().default(false),
  /** May act on other people: put someone else in the spotlight, or take them out of it. */
  moderator: z.boolean().default(false),
  /** Expiry, seconds since the epoch. */
  exp: z.number().int(),
  /** Not before, seconds since the epoch (RFC 7519 §4.1.5). */
  nbf: z.number().int().optional(),
  /** Audience (RFC 7519 §4.1.3): the deployment the token is for. */
  aud: z.string().max(128).optional(),
  iat: z.number().int().optional(),
  sub: z.string().max(128).optional(),
});
export type Grants = z.infer<typeof GrantsSchema>;
/** What a minter gives; `iat` is stamped, `aud` comes from the keyring. */
export type GrantsInput = Omit<z.input<typeof GrantsSchema>, 'iat'>;

export class TokenError extends Error {
  override name = 'TokenError';
}

/**
 * The keys tokens are signed and checked with. `current` signs (its id goes in the header as `kid`);
 * `previous` keys still verify, so a secret can be rotated without turning away people whose tokens were
 * signed with the old one. `audience`, when set, is written into tokens and a token naming another is refused.
 */
export interface TokenKeyring {
  current: { id: string; secret: string };
  previous: ReadonlyArray<{ id: string; secret: string }>;
  audience: string | null;
}

/** A bare secret: no key id, no audience (tokens minted by applications that know only the secret). */
const ringOf = (k: string | TokenKeyring): TokenKeyring => (typeof k === 'string' ? { current: { id: '', secret: k }, previous: [], audience: null } : k);

/** Clock skew allowed for `nbf` (a minter's clock a little ahead of ours). */
const NBF_LEEWAY_S = 30;
const B64URL = /^[A-Za-z0-9_-]*$/;
const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function signToken(grants: GrantsInput, key: string | TokenKeyring, nowS = Math.floor(Date.now() / 1000)): string {
  const ring = ringOf(key);
  const header = b64url(JSON.stringify(ring.current.id ? { alg: 'HS256', typ: 'JWT', kid: ring.current.id } : { alg: 'HS256', typ: 'JWT' }));
  const claims = { ...grants, ...(ring.audience !== null && grants.aud === undefined ? { aud: ring.audience } : {}), iat: nowS };
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', ring.current.secret).update(`${header}.${body}`).digest();
  return `${header}.${body}.${b64url(sig)}`;
}

/** Verify a token's form, signature, algorithm, key, audience and validity period; returns its grants or throws TokenError (message safe to show). */
export function verifyToken(token: string, key: string | TokenKeyring, nowS = Math.floor(Date.now() / 1000)): Grants {
  const ring = ringOf(key);
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('token is not a JWT');
  const [h, b, s] = parts as [string, string, string];
  if (!B64URL.test(h) || !B64URL.test(b) || !B64URL.test(s)) throw new TokenError('token is not base64url without padding');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('token header is not JSON');
  }
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'HS256') throw new TokenError('token algorithm must be HS256');
  const kid = (header as { kid?: unknown }).kid;
  // No kid: the current key (tokens of a minter that does not name keys).
  const secret = kid === undefined ? ring.current.secret : [ring.current, ...ring.previous].find((k) => k.id === kid)?.secret;
  if (secret === undefined) throw new TokenError('token was signed with a key this server does not have');
  const expected = createHmac('sha256', secret).update(`${h}.${b}`).digest();
  const given = Buffer.from(s, 'base64url');
  // Re-encoding must give the same text: a signature with stray bits or characters is another token.
  if (given.length !== expected.length || b64url(given) !== s || !timingSafeEqual(given, expected)) throw new TokenError('token signature is invalid');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(b, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('token claims are not JSON');
  }
  const parsed = GrantsSchema.safeParse(claims);
  if (!parsed.success) throw new TokenError(`token claims are invalid: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim());
  const g = parsed.data;
  if (g.exp <= nowS) throw new TokenError('token has expired');
  if (g.nbf !== undefined && g.nbf > nowS + NBF_LEEWAY_S) throw new TokenError('token is not valid yet (nbf)');
  if (g.aud !== undefined && ring.audience !== null && g.aud !== ring.audience) throw new TokenError(`token is for another audience (${g.aud.slice(0, 64)})`);
  return g;
}
