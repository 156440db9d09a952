import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serverDiagnostics, startTestServer, USER_MEDIA } from '../testkit/proxima.ts';
import { TestBrowser, USER_CHROMIUM_FLAGS, waitFor, type Page } from '../testkit/browser.ts';

/** What Chrome says about its DTLS transport on each connection. */
async function transports(page: Page) {
  // No named functions inside evaluate: tsx's keepNames would reference a helper the page lacks.
  const [publish, subscribe] = await page.evaluate(async () => {
    const c = (window as any).proxima.client;
    const out: any[] = [];
    for (const pc of [c.publishPc, c.subscribePc] as Array<RTCPeerConnection | null>) {
      let t: any = null;
      if (pc) {
        (await pc.getStats()).forEach((s: any) => {
          if (s.type === 'transport' && s.dtlsState === 'connected') t = { dtlsRole: s.dtlsRole, srtpCipher: s.srtpCipher };
        });
      }
      out.push(t);
    }
    return out;
  });
  return { publish, subscribe };
}

// Chrome chooses the SRTP profile by who is the DTLS client, so the two roles exercise both profiles.
for (const role of ['client', 'server'] as const) {
  describe(`publish transports with the SFU as DTLS ${role}`, () => {
    it('media flows and Chrome reports the expected role and cipher', async () => {
      const server = await startTestServer({ media: { ...USER_MEDIA, publishDtlsRole: role } });
      const browser = await TestBrowser.launch([], USER_CHROMIUM_FLAGS);
      try {
        const a = await browser.page(`${server.url}/?space=roles&name=A`);
        const aId = await a.evaluate(() => (window as any).proxima.ready);
        const b = await browser.page(`${server.url}/?space=roles&name=B&publish=0`);
        await b.evaluate(() => (window as any).proxima.ready);
        await b.evaluate((id) => (window as any).proxima.subscribe(id), aId);
        await waitFor('B decodes A', () =>
          b.evaluate(async () => {
            const st = await (window as any).proxima.stats();
            return st.inbound.some((s: any) => s.kind === 'video' && s.framesDecoded > 3);
          }),
        ).catch(async (e: Error) => {
          const inbound = await b.evaluate(async () => (await (window as any).proxima.stats()).inbound);
          const outbound = await a.evaluate(async () => (await (window as any).proxima.stats()).outbound);
          throw new Error(`${e.message}\nserver ${serverDiagnostics()}\nB inbound ${JSON.stringify(inbound)}\nA outbound ${JSON.stringify(outbound)}`);
        });
        const pub = (await transports(a)).publish;
        const sub = (await transports(b)).subscribe;
        // Chrome reports its own role: ours is the opposite.
        assert.equal(pub?.dtlsRole, role === 'client' ? 'server' : 'client');
        assert.equal(sub?.dtlsRole, 'client', 'on subscribe transports Chrome answers active');
        process.stdout.write(`# publish: chrome ${pub?.dtlsRole} ${pub?.srtpCipher}; subscribe: chrome ${sub?.dtlsRole} ${sub?.srtpCipher}\n`);
        // As DTLS server Chrome picks AES-CM; as client it takes our preference (RFC 5764 §4.1.2): GCM first on
        // publish transports, AES-CM first on subscribe transports (its keystream is made ahead for fan-out).
        assert.equal(pub?.srtpCipher, role === 'client' ? 'SRTP_AES128_CM_HMAC_SHA1_80' : 'SRTP_AEAD_AES_128_GCM');
        assert.equal(sub?.srtpCipher, 'SRTP_AES128_CM_HMAC_SHA1_80');
      } finally {
        await browser.close();
        await server.close();
      }
    });
  });
}
