// Turns decoded chart series into uPlot's aligned table: one shared x array, one y array per line.
import type { Run, Series, XAxis } from "./types";

export interface Line {
  run: number;
  smoothed: boolean;
}

export interface Aligned {
  /** [x, y1, y2, ...]: y is a number, null (a gap: NaN, ±inf, or not positive on a log axis), or
   * undefined (this line has no point at that x; the line is drawn across). */
  data: [number[], ...(number | null | undefined)[][]];
  lines: Line[];
  /** Points that cannot be drawn (NaN, ±inf, or ≤ 0 on a log axis). */
  hidden: number;
}

/** The x unit uPlot gets: seconds for time axes (its time scale), steps otherwise. */
export function xScale(axis: XAxis): (v: number) => number {
  return axis === "step" ? (v) => v : (v) => v / 1000;
}

/**
 * Joins series on x. A line with several points at one x (a step logged twice) keeps all of them:
 * the shared x array repeats that x as often as the line that repeats it most.
 */
export function align(series: Series[], axis: XAxis, logY = false): Aligned {
  const conv = xScale(axis);
  const mult = new Map<number, number>();
  for (const s of series) {
    const seen = new Map<number, number>();
    for (let i = 0; i < s.x.length; i++) {
      const x = conv(s.x[i]);
      if (!Number.isFinite(x)) continue;
      const n = (seen.get(x) ?? 0) + 1;
      seen.set(x, n);
      if (n > (mult.get(x) ?? 0)) mult.set(x, n);
    }
  }
  const xs = [...mult.keys()].sort((a, b) => a - b);
  const slot = new Map<number, number>();
  const shared: number[] = [];
  for (const x of xs) {
    slot.set(x, shared.length);
    for (let k = 0; k < (mult.get(x) ?? 1); k++) shared.push(x);
  }
  let hidden = 0;
  const ys = series.map((s) => {
    const y: (number | null | undefined)[] = new Array(shared.length).fill(undefined);
    const used = new Map<number, number>();
    for (let i = 0; i < s.x.length; i++) {
      const x = conv(s.x[i]);
      if (!Number.isFinite(x)) continue;
      const k = used.get(x) ?? 0;
      used.set(x, k + 1);
      const v = s.y[i];
      const drawable = Number.isFinite(v) && (!logY || v > 0);
      if (!drawable) hidden++;
      y[(slot.get(x) as number) + k] = drawable ? v : null;
    }
    return y;
  });
  return { data: [shared, ...ys], lines: series.map((s) => ({ run: s.run, smoothed: s.smoothed })), hidden };
}

/** Tick labels for relative time, in seconds: 45s, 12m, 3.5h. */
export function fmtRelative(sec: number): string {
  const a = Math.abs(sec);
  if (a < 120) return `${+sec.toFixed(1)}s`;
  if (a < 7200) return `${+(sec / 60).toFixed(1)}m`;
  return `${+(sec / 3600).toFixed(1)}h`;
}

/**
 * The metrics to chart before the user chose any: the `n` with the most points in any of the
 * runs (curves before single values such as a final score or an hparam metric), shown in
 * alphabetical order.
 */
export function defaultMetrics(runs: Run[], n: number): string[] {
  const most = new Map<string, number>();
  for (const r of runs) for (const [k, m] of Object.entries(r.metrics)) most.set(k, Math.max(most.get(k) ?? 0, m.count));
  return [...most.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([k]) => k)
    .sort();
}
