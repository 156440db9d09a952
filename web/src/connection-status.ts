import type { MediaConnection, ProximaClient } from '../sdk/proxima-client.ts';

const MEDIA_FAILED: Record<MediaConnection, string> = {
  publish: 'Your camera and microphone do not reach the server',
  subscribe: 'Video and sound from the others do not reach you',
};

/**
 * What the page says about its connection, in plain words: "reconnecting…" in the status line and the
 * toolbar while the SDK gets back in by itself, and a message that stays while a media connection has
 * failed (ICE or DTLS, after the SDK's restarts) or the server refuses this page's token.
 * DOM hooks: `#connection[data-state]` in the toolbar, `.connection-notice[data-notice]` messages.
 */
export function installConnectionStatus(
  client: ProximaClient,
  els: { status: HTMLElement; toolbar: HTMLElement; notices: HTMLElement; showStatus: () => void; toast: (m: string) => void },
): void {
  const badge = document.createElement('span');
  badge.id = 'connection';
  badge.className = 'connection';
  badge.dataset.state = 'connected';
  badge.hidden = true;
  els.toolbar.appendChild(badge);
  const setState = (state: 'connected' | 'reconnecting' | 'disconnected', text: string) => {
    badge.dataset.state = state;
    badge.textContent = text;
    badge.hidden = state === 'connected';
  };

  const shown = new Map<string, HTMLElement>();
  const notice = (key: string, text: string | null) => {
    let el = shown.get(key);
    if (text === null) {
      el?.remove();
      shown.delete(key);
      return;
    }
    if (!el) {
      el = document.createElement('div');
      el.className = 'notice connection-notice';
      el.dataset.notice = key;
      el.setAttribute('role', 'alert');
      shown.set(key, el);
      els.notices.appendChild(el);
    }
    el.textContent = text;
  };

  client.on('closed', ({ code, reason }) => {
    els.status.textContent = `disconnected (${code}${reason ? ` ${reason}` : ''})`;
    els.status.classList.add('error');
    setState('disconnected', 'disconnected');
  });
  client.on('reconnecting', () => {
    els.status.textContent = 'reconnecting…';
    setState('reconnecting', 'reconnecting…');
  });
  client.on('reconnected', ({ ms, resumed }) => {
    els.status.classList.remove('error');
    setState('connected', '');
    notice('token', null);
    els.showStatus();
    els.toast(resumed ? `connection restored in ${Math.round(ms)} ms` : `rejoined in ${Math.round(ms)} ms`);
  });
  client.on('tokenNeeded', ({ reason }) => {
    els.status.textContent = 'reconnecting: waiting for a new token';
    notice('token', `The server no longer accepts this page's token (${reason}). Open the page again with a new token.`);
  });
  client.on('mediaFailed', ({ connection, reason }) => notice(`media-${connection}`, `${MEDIA_FAILED[connection]}: ${reason}. Still trying.`));
  client.on('mediaRecovered', ({ connection }) => notice(`media-${connection}`, null));
}
