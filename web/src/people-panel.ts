import type { ProximaClient } from '../sdk/proxima-client.ts';
import { colorFor } from './palette.ts';

const MODE_TAG = { normal: '', quiet: 'quiet', ghost: 'ghost', dnd: 'busy' } as const;

/** The list of who is in the space; people you receive are bright, with how loud you hear them. */
export function renderPeople(root: HTMLElement, client: ProximaClient): void {
  const title = document.createElement('h2');
  const list = document.createElement('ul');
  const everyone = [...(client.self ? [client.self] : []), ...[...client.people.values()].sort((a, b) => a.name.localeCompare(b.name))];
  title.textContent = `In ${client.map?.name ?? 'the space'} · ${everyone.length}`;
  for (const p of everyone) {
    const li = document.createElement('li');
    li.dataset.participant = p.id;
    const me = p.id === client.participantId;
    const link = client.links.get(p.id);
    if (me) li.classList.add('me');
    if (link) li.classList.add('linked');
    const dot = document.createElement('span');
    dot.className = 'dot';
    dot.style.background = colorFor(p.id);
    if (p.mode === 'ghost') dot.style.opacity = '0.4';
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = (p.spotlit ? '★ ' : '') + p.name + (me ? ' (you)' : '');
    const tag = document.createElement('span');
    tag.className = 'tag';
    tag.textContent = [MODE_TAG[p.mode], link ? `${Math.round(link.gain * 100)}%` : ''].filter(Boolean).join(' · ');
    li.append(dot, who, tag);
    list.appendChild(li);
  }
  root.replaceChildren(title, list);
}
