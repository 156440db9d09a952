import { createHmac } from 'node:crypto';

/**
 * Short-lived TURN credentials by the TURN REST convention that coturn's `use-auth-secret` implements:
 * the username is "<expiry unix time>:<user>", the password base64(HMAC-SHA1(shared secret, username)).
 * The TURN server recomputes the password from the username and refuses it once the expiry has passed, so
 * nothing is stored and a leaked credential dies on its own.
 */
export interface TurnConfig {
  secret: string;
  urls: string[];
  ttlS: number;
}

export interface IceServerInfo {
  urls: string[];
  username: string;
  credential: string;
}

export function turnCredentials(cfg: TurnConfig, user: string, nowMs: number): IceServerInfo {
  const expiry = Math.floor(nowMs / 1000) + cfg.ttlS;
  // ':' separates the expiry from the user in the convention: keep it out of the user part.
  const username = `${expiry}:${user.replace(/:/g, '_').slice(0, 64)}`;
  const credential = createHmac('sha1', cfg.secret).update(username).digest('base64');
  return { urls: [...cfg.urls], username, credential };
}
