/** Guest tokens: `POST /api/token {space, name}` → `{token}`. */
export class TokenUnavailableError extends Error {}

/** The HTTP origin that serves `/api/token`, derived from the signaling URL (ws→http, wss→https). */
export function tokenUrlFor(signalingUrl: string): string {
  const u = new URL(signalingUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/api/token';
  u.search = '';
  return u.toString();
}

/**
 * Ask the server for a guest token. Throws TokenUnavailableError when the server has no token endpoint
 * (404/405), so a caller may join without one; any other failure is an Error.
 */
export async function fetchGuestToken(url: string, space: string, name: string): Promise<string> {
  let res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ space, name }) });
  // Many people behind one address joining at once may meet the server's per-address limit: wait as told, a few times.
  for (let i = 0; i < 3 && res.status === 429; i++) {
    const waitS = Math.min(10, Math.max(1, Number(res.headers.get('retry-after')) || 1));
    await new Promise((r) => setTimeout(r, waitS * 1000 * (0.75 + Math.random() / 2)));
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ space, name }) });
  }
  if (res.status === 404 || res.status === 405) throw new TokenUnavailableError(`no token endpoint at ${url} (${res.status})`);
  if (!res.ok) throw new Error(`guest token refused: ${res.status} ${await res.text().catch(() => '')}`.trim());
  const body = (await res.json()) as { token?: unknown };
  if (typeof body.token !== 'string' || !body.token) throw new Error('guest token response has no token');
  return body.token;
}
