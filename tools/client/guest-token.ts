/**
 * A guest token from the server's POST /api/token, as the web client gets one. A 429 (the per-address limit,
 * auth.guestTokensPerMinute) is waited out as its Retry-After says, as the SDK does, up to `maxWaitMs` in all.
 */
export async function guestToken(httpUrl: string, space: string, name: string, maxWaitMs = 120_000): Promise<string> {
  let waited = 0;
  for (;;) {
    const res = await fetch(`${httpUrl}/api/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ space, name }) });
    const body = (await res.json().catch(() => ({}))) as { token?: string; error?: string };
    if (res.ok && body.token) return body.token;
    const retryS = Number(res.headers.get('retry-after'));
    if (res.status === 429 && Number.isFinite(retryS) && retryS >= 0 && waited + retryS * 1000 <= maxWaitMs) {
      // Spread the retries of many callers over a second past the wait, so they do not all return at once.
      const ms = retryS * 1000 + Math.random() * 1000;
      waited += ms;
      await new Promise((r) => setTimeout(r, ms));
      continue;
    }
    throw new Error(`guest token refused (${res.status}): ${body.error ?? ''}`);
  }
}
