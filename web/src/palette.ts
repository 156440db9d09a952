/** Stable avatar colours and initials, derived from a participant id and name. */
const HUES = [212, 160, 280, 24, 330, 190, 48, 100, 250, 0];

export function colorFor(id: string, lightness = 62): string {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return `hsl(${HUES[h % HUES.length]} 70% ${lightness}%)`;
}

export function initials(name: string): string {
  const parts = name.trim().split(/[\s_.-]+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] ?? '?').slice(0, 2);
  return s.toUpperCase();
}
