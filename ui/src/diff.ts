// The compare screen's logic. The diff of params and tags itself comes from the engine (the `diff`
// command: one diff for the CLI and the app); this is what the charts beside it need.
import type { Run } from "./types";

/** One row of the engine's diff (`wire::DiffRow`). */
export type { DiffRow } from "./types";

/** Params whose values are all numbers across the runs that have them: axes for parallel coordinates. */
export function numericParams(runs: Run[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k in r.params) keys.add(k);
  return [...keys]
    .filter((k) => {
      let seen = 0;
      for (const r of runs) {
        const v = r.params[k];
        if (v === undefined) continue;
        if (v.trim() === "" || Number.isNaN(Number(v))) return false;
        seen++;
      }
      return seen > 0;
    })
    .sort();
}

/** Params with more than one distinct value: what a sweep varied. */
export function variedParams(runs: Run[]): string[] {
  const keys = new Set<string>();
  for (const r of runs) for (const k in r.params) keys.add(k);
  return [...keys].filter((k) => new Set(runs.map((r) => r.params[k] ?? "\u0000")).size > 1).sort();
}

/** Metrics where a smaller value is better, by the usual names (loss, error, mse, ...). */
export function lowerIsBetter(key: string): boolean {
  return /loss|err|mse|mae|rmse|perplexity|wer\b|cer\b|latency|time/i.test(key);
}
