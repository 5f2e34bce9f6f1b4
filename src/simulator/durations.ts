/** `90`, `90s`, `15m`, `2h`, `1d`, or combinations like `1h30m` → ms; null when malformed. */
export function parseDuration(text: string): number | null {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+)([smhd])/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as 's' | 'm' | 'h' | 'd'];
    consumed += m[0].length;
  }
  return consumed === text.length && consumed > 0 ? total : null;
}
