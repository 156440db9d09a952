import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Join tokens: JWT (RFC 7519) signed with HS256 (RFC 7518 §3.2) under a configured secret. Only HS256 is
 * accepted, whatever the header says (no "alg: none", no key confusion).
 */
export const GrantsSchema = z.object({
  /** The space the bearer may join. */
  space: z.string().min(1).max(64),
  /** Display name. */
  name: z.string().min(1).max(64),
  /** May publish camera and microphone. */
  publish: z.boolean().default(true),
  /** May put people (themselves included) in the spotlight. */
  spotlight: z.boolean().default(false),
  /** Expiry, seconds since the epoch. */
  exp: z.number().int(),
  iat: z.number().int().optional(),
  sub: z.string().max(128).optional(),
});
export type Grants = z.infer<typeof GrantsSchema>;

export class TokenError extends Error {
  override name = 'TokenError';
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export function signToken(grants: Omit<Grants, 'iat'>, secret: string, nowS = Math.floor(Date.now() / 1000)): string {
  const body = b64url(JSON.stringify({ ...grants, iat: nowS }));
  const sig = createHmac('sha256', secret).update(`${HEADER}.${body}`).digest();
  return `${HEADER}.${body}.${b64url(sig)}`;
}

/** Verify a token's signature, algorithm and expiry; returns its grants or throws TokenError (message safe to show). */
export function verifyToken(token: string, secret: string, nowS = Math.floor(Date.now() / 1000)): Grants {
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenError('token is not a JWT');
  const [h, b, s] = parts as [string, string, string];
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('token header is not JSON');
  }
  if (typeof header !== 'object' || header === null || (header as { alg?: unknown }).alg !== 'HS256') throw new TokenError('token algorithm must be HS256');
  const expected = createHmac('sha256', secret).update(`${h}.${b}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError('token signature is invalid');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(b, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('token claims are not JSON');
  }
  const parsed = GrantsSchema.safeParse(claims);
  if (!parsed.success) throw new TokenError(`token claims are invalid: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim());
  if (parsed.data.exp <= nowS) throw new TokenError('token has expired');
  return parsed.data;
}
