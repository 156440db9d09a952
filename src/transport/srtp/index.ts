export type { SrtpProfileName } from './srtp-profile.ts';
export { srtpProfileFromDtlsId, srtpKeyLengths, srtpTagLength } from './srtp-profile.ts';
export type { SrtpContextOptions } from './srtp-context.ts';
export { SrtpContext } from './srtp-context.ts';
export { SrtpSession } from './srtp-session.ts';
export type { SrtpSessionKeys } from './srtp-kdf.ts';
export { deriveSrtpSessionKeys } from './srtp-kdf.ts';
