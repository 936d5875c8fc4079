// A colour per run, stable across screens: a run keeps the colour it got when first selected
// until it is deselected. Colours are from a palette readable on light and dark backgrounds.
export const PALETTE = [
  "#2f7ed8", "#e8743b", "#19a979", "#d64e8f", "#9c6ade", "#c9a21a", "#13a4b4", "#e0524f",
  "#6c8cff", "#7a9c2e", "#b5651d", "#5a6b7b", "#ff7eb6", "#2bb3a4", "#a05195", "#ffa600",
];

export function assignColors(selected: string[], previous: Map<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const id of selected) {
    const c = previous.get(id);
    if (c && !used.has(c)) {
      out.set(id, c);
      used.add(c);
    }
  }
  let next = 0;
  for (const id of selected) {
    if (out.has(id)) continue;
    while (next < PALETTE.length && used.has(PALETTE[next])) next++;
    // More runs than colours: reuse, cycling.
    const c = next < PALETTE.length ? PALETTE[next] : PALETTE[out.size % PALETTE.length];
    out.set(id, c);
    used.add(c);
  }
  return out;
}
