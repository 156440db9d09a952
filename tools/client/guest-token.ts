/** A guest token from the server's POST /api/token, as the web client gets one. */
export async function guestToken(httpUrl: string, space: string, name: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ space, name }) });
  const body = (await res.json()) as { token?: string; error?: string };
  if (!res.ok || !body.token) throw new Error(`guest token refused (${res.status}): ${body.error ?? ''}`);
  return body.token;
}
