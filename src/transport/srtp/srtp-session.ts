import type { SrtpContextOptions } from './srtp-context.ts';
import type { SrtpProfileName } from './srtp-profile.ts';
import { SrtpContext } from './srtp-context.ts';
import { deriveSrtpSessionKeys } from './srtp-kdf.ts';

/**
 * SRTP/SRTCP for one direction of one transport, keyed from the DTLS-exported master key and
 * salt (RFC 5764 §4.2) through the RFC 3711 §4.3 KDF. Throws only here, on wrong key lengths.
 */
export class SrtpSession extends SrtpContext {
  constructor(profile: SrtpProfileName, masterKey: Buffer, masterSalt: Buffer, opts?: SrtpContextOptions) {
    super(profile, deriveSrtpSessionKeys(profile, masterKey, masterSalt), opts);
  }
}
