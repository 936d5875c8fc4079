// The Data view's pure logic: versions and their labels, runs and models per version, the
// histograms of two versions on shared bins, the diff's summaries, the key columns to offer.
import { fmtNum, fmtTime, plural, toNumber } from "./format";
import type { Cell, ColumnDone, ColumnDrift, ColumnStats, DataDiff, DataItem, DataListing, DataProfile, DataProgress, DataVersion, DriftReport, DriftRules, FolderFiles, Histogram, MonitorColumn, MonitorScore, MonitorWatchState, Num, Run } from "./types";

export const WORKSPACE = "workspace";

/** A version's short name: "workspace", or the commit's first 8 characters. */
export function shortRev(rev: string): string {
  return rev === WORKSPACE ? WORKSPACE : rev.slice(0, 8);
}

/** What the engine takes for a version: PATH@REV. */
export function spec(path: string, rev: string): string {
  return `${path}@${rev}`;
}

/** Whether the engine reads `path` as a table (its statistics and row diff). */
export function isTable(path: string): boolean {
  return /\.(csv|tsv|tab|jsonl|ndjson|parquet|pq)$/i.test(path);
}

/** The one-line title of a version: its commit message, or what the working tree is. */
export function versionTitle(v: DataVersion): string {
  if (v.rev === WORKSPACE) return "Working tree (not committed)";
  return v.message?.trim() || "(no message)";
}

/** A run a version links to: found in the project (with its path to open and its name) or not. */
export interface RunRef {
  id: string;
  path: string | null;
  name: string;
}

export function runRefs(ids: string[], runs: Run[]): RunRef[] {
  const byId = new Map<string, Run>();
  for (const r of runs) if (!byId.has(r.id)) byId.set(r.id, r);
  return ids.map((id) => {
    const r = byId.get(id);
    return { id, path: r?.path ?? null, name: r?.name ?? id.slice(0, 8) };
  });
}

/** "churn-gbm@3" as the Models view's focus. */
export function parseModelRef(s: string): { name: string; version: number | null } {
  const at = s.lastIndexOf("@");
  if (at <= 0) return { name: s, version: null };
  const v = Number(s.slice(at + 1));
  return { name: s.slice(0, at), version: Number.isInteger(v) && v > 0 ? v : null };
}

/** Every version (path, rev) a run used, for the link back from the run. */
export function versionsUsedBy(listing: DataListing, what: { run?: string; model?: string }): { path: string; rev: string; message: string | null }[] {
  const out: { path: string; rev: string; message: string | null }[] = [];
  for (const item of listing.items) {
    for (const v of item.versions) {
      const hit = (what.run !== undefined && v.runs.includes(what.run)) || (what.model !== undefined && v.models.includes(what.model));
      if (hit) out.push({ path: item.path, rev: v.rev, message: v.message });
    }
  }
  return out;
}

/** The tracked items a search keeps, tables first within the order the engine gave. */
export function filterItems(items: DataItem[], search: string): DataItem[] {
  const q = search.trim().toLowerCase();
  return items.filter((i) => !q || i.path.toLowerCase().includes(q));
}

/**
 * Adds or removes `rev` from the versions chosen to compare (two at most: a third choice replaces
 * the older pick).
 */
export function toggleCompare(chosen: string[], rev: string): string[] {
  if (chosen.includes(rev)) return chosen.filter((r) => r !== rev);
  return [...chosen, rev].slice(-2);
}

/**
 * Two chosen versions as (reference, current): the older one first, by their place in the
 * newest-first list of versions.
 */
export function orderPair(versions: DataVersion[], chosen: string[]): [string, string] | null {
  if (chosen.length !== 2) return null;
  const at = (r: string) => versions.findIndex((v) => v.rev === r);
  const [x, y] = chosen;
  if (at(x) < 0 || at(y) < 0) return null;
  return at(x) > at(y) ? [x, y] : [y, x];
}

export function progressFraction(p: Pick<DataProgress, "done" | "total"> | null): number {
  if (!p || p.total <= 0) return 0;
  return Math.min(1, Math.max(0, p.done / p.total));
}

const NUMERIC = new Set(["integer", "float"]);

export function isNumeric(c: ColumnStats | undefined | null): boolean {
  return !!c && NUMERIC.has(c.type);
}

/** A statistic for a cell ("" when it does not apply). */
export function stat(v: Num | null | undefined): string {
  return fmtNum(v ?? null);
}

export function cellText(v: Cell | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return fmtNum(v);
  return String(v);
}

/** The top values with their counts, "basic (272) · plus (163)", at most `n` of them. */
export function topText(c: ColumnStats, n = 3): string {
  return c.top
    .slice(0, n)
    .map(([v, k]) => `${v === null ? "null" : cellText(v)} (${k})`)
    .join(" · ");
}

/** Null share as a percent: "0%", "12.5%". */
export function nullShare(c: ColumnStats): string {
  const all = c.count + c.nulls;
  if (all === 0) return "";
  const p = (100 * c.nulls) / all;
  return `${Number(p.toFixed(p < 10 ? 1 : 0))}%`;
}

/** The columns of two profiles side by side: b's order, then the columns only a has. */
export interface ColumnPair {
  name: string;
  a: ColumnStats | null;
  b: ColumnStats | null;
}

export function columnPairs(a: DataProfile | null, b: DataProfile | null): ColumnPair[] {
  const byA = new Map((a?.columns ?? []).map((c) => [c.name, c]));
  const byB = new Map((b?.columns ?? []).map((c) => [c.name, c]));
  const names = [...(b?.columns ?? []).map((c) => c.name), ...(a?.columns ?? []).map((c) => c.name).filter((n) => !byB.has(n))];
  return names.map((name) => ({ name, a: byA.get(name) ?? null, b: byB.get(name) ?? null }));
}

/**
 * Columns worth offering as the diff's key: in both versions, unique and never null in each
 * (distinct == count, no nulls) first, then the rest; names like "id" lead each group.
 */
export function keyCandidates(a: DataProfile | null, b: DataProfile | null): string[] {
  if (!a || !b) return [];
  const byB = new Map(b.columns.map((c) => [c.name, c]));
  const both = a.columns.filter((c) => byB.has(c.name));
  const unique = (c: ColumnStats) => c.nulls === 0 && c.count > 0 && c.distinct === c.count;
  const idLike = (n: string) => /(^|_)(id|key|uuid)$/i.test(n);
  const rank = (c: ColumnStats) => (unique(c) && unique(byB.get(c.name)!) ? 0 : 2) + (idLike(c.name) ? 0 : 1);
  return both
    .map((c, i) => ({ c, i }))
    .sort((x, y) => rank(x.c) - rank(y.c) || x.i - y.i)
    .map(({ c }) => c.name);
}

/** Two histograms on one set of bins: each side's share of its rows per bin. */
export interface Overlay {
  edges: number[];
  a: number[] | null;
  b: number[] | null;
}

/**
 * Puts the histograms of two versions on shared bins over the union of their ranges. The engine
 * gives each version its own 10 bins; a bin's count is spread over the shared bins it overlaps in
 * proportion to the overlap (the density inside a bin is taken as even), and each side is
 * divided by its total so versions of different sizes compare. `bins` shared bins.
 */
export function overlay(a: Histogram | null | undefined, b: Histogram | null | undefined, bins = 20): Overlay | null {
  const hs = [a, b].filter((h): h is Histogram => !!h && h.edges.length >= 2 && h.counts.length === h.edges.length - 1);
  if (hs.length === 0) return null;
  const lo = Math.min(...hs.map((h) => h.edges[0]));
  const hi = Math.max(...hs.map((h) => h.edges[h.edges.length - 1]));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  const span = hi > lo ? hi - lo : 1;
  const left = hi > lo ? lo : lo - 0.5;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? left + span : left + (span * i) / bins));
  const rebin = (h: Histogram | null | undefined): number[] | null => {
    if (!h || !hs.includes(h)) return null;
    const out = new Array<number>(bins).fill(0);
    const total = h.counts.reduce((s, c) => s + c, 0);
    if (total === 0) return out;
    for (let i = 0; i < h.counts.length; i++) {
      const c = h.counts[i];
      if (c === 0) continue;
      const x0 = h.edges[i];
      const x1 = h.edges[i + 1];
      const w = x1 - x0;
      if (!(w > 0)) {
        // A zero-width bin: all of it in the shared bin holding x0.
        out[Math.min(bins - 1, Math.max(0, Math.floor(((x0 - left) / span) * bins)))] += c / total;
        continue;
      }
      const j0 = Math.max(0, Math.floor(((x0 - left) / span) * bins));
      const j1 = Math.min(bins - 1, Math.ceil(((x1 - left) / span) * bins) - 1);
      for (let j = j0; j <= j1; j++) {
        const overlap = Math.min(x1, edges[j + 1]) - Math.max(x0, edges[j]);
        if (overlap > 0) out[j] += (c * overlap) / w / total;
      }
    }
    return out;
  };
  return { edges, a: rebin(a), b: rebin(b) };
}

/** One histogram as its bins' shares of the rows. */
export function shares(h: Histogram): number[] {
  const total = h.counts.reduce((s, c) => s + c, 0);
  return h.counts.map((c) => (total ? c / total : 0));
}

/** The diff in a line: "+60 rows · −0 · 5 changed", or the row counts without a key. */
export function diffSummary(d: DataDiff): string {
  if (d.kind === "folder") {
    const f = d.files ?? emptyFiles();
    const files = f.modified.filter((m) => !m.path.endsWith("/"));
    return `${f.added.length} added · ${f.deleted.length} deleted · ${files.length} modified · ${f.renamed.length} renamed`;
  }
  const parts: string[] = [];
  if (d.rows_added !== null || d.rows_removed !== null || d.rows_changed !== null) {
    parts.push(`${d.rows_added ?? 0} added`, `${d.rows_removed ?? 0} removed`, `${d.rows_changed ?? 0} changed`);
  }
  const delta = d.b.rows - d.a.rows;
  parts.push(`${d.a.rows} → ${d.b.rows} rows (${delta >= 0 ? "+" : "−"}${Math.abs(delta)})`);
  const schema = d.columns_added.length + d.columns_removed.length + d.columns_retyped.length;
  parts.push(schema ? `${schema} schema change${schema === 1 ? "" : "s"}` : "same columns");
  return parts.join(" · ");
}

export function emptyFiles(): FolderFiles {
  return { added: [], deleted: [], modified: [], renamed: [] };
}

/** A folder's file changes as one list, by path: what changed, the path (old → new for a rename). */
export interface FileChange {
  change: "added" | "deleted" | "modified" | "renamed";
  path: string;
  old: string | null;
  hash: string;
}

export function fileChanges(f: FolderFiles | null): FileChange[] {
  if (!f) return [];
  const out: FileChange[] = [
    ...f.added.map((x) => ({ change: "added" as const, path: x.path, old: null, hash: x.hash })),
    ...f.deleted.map((x) => ({ change: "deleted" as const, path: x.path, old: null, hash: x.hash })),
    // The folder itself is "modified" when any file changed: not a file of its own.
    ...f.modified.filter((x) => !x.path.endsWith("/")).map((x) => ({ change: "modified" as const, path: x.path, old: null, hash: x.hash.new })),
    ...f.renamed.map((x) => ({ change: "renamed" as const, path: x.path.new, old: x.path.old, hash: x.hash })),
  ];
  return out.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** "ab12cd34…" for a DVC md5 or an LFS oid. */
export function shortHash(h: string, n = 8): string {
  const bare = h.replace(/^sha256:/, "").replace(/\.dir$/, "");
  return bare.length > n ? `${bare.slice(0, n)}…` : bare;
}

/** Ticks for a histogram's x axis: the first, middle and last edge. */
export function axisTicks(edges: number[]): number[] {
  if (edges.length < 2) return [];
  const lo = edges[0];
  const hi = edges[edges.length - 1];
  return [lo, (lo + hi) / 2, hi];
}

/** A number for an axis: short. */
export function tickText(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** Mean shift of a numeric column between versions, as "+5.3 (+8.1%)": a plain number, not a test. */
export function meanShift(a: ColumnStats | null, b: ColumnStats | null): string {
  const x = toNumber(a?.mean ?? null);
  const y = toNumber(b?.mean ?? null);
  if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) return "";
  const d = y - x;
  const sign = d >= 0 ? "+" : "−";
  const rel = x !== 0 ? ` (${sign}${Math.abs((100 * d) / x).toFixed(1)}%)` : "";
  return `${sign}${fmtNum(Math.abs(d))}${rel}`;
}

/** A column's drift verdict as a badge in the compare view. */
export interface DriftBadge {
  /** "drift" (red), "ok" (green), "muted" (not tested: a key column, or no values). */
  level: string;
  /** What the badge says: "drift", "no drift", "key", "no values". */
  label: string;
  /** The tooltip: the method, the deciding score and the effect sizes. */
  title?: string;
}

const METHOD_NAMES: Record<string, string> = {
  ks: "Kolmogorov-Smirnov",
  chi2_contingency: "chi-squared (2 x k contingency)",
  chisquare: "chi-squared (against the reference's shares)",
  z: "two-proportion z test",
  wasserstein: "Wasserstein distance (normalized)",
  jensenshannon: "Jensen-Shannon distance",
  id: "none: a key column (every value distinct)",
  text: "none: a text column (not reproduced)",
  none: "none: a side has no values",
  null_share: "two-proportion z test of the null share",
};

/** Whether a method's score is a p-value (else a distance). */
export function scoreIsP(method: string): boolean {
  return ["ks", "chi2_contingency", "chisquare", "z", "null_share"].includes(method);
}

/** A statistic for a tooltip: 3 significant digits, tiny p-values in exponent form. */
export function num3(v: Num | null | undefined): string {
  const x = toNumber(v ?? null);
  if (x === null) return "—";
  if (!Number.isFinite(x)) return String(v);
  const a = Math.abs(x);
  if (a !== 0 && a < 1e-3) return x.toExponential(1);
  return String(Number(x.toPrecision(3)));
}

/** A share as a percent for a tooltip: "0%", "12.5%". */
export function pct1(v: Num | null | undefined): string {
  const x = toNumber(v ?? null);
  if (x === null || !Number.isFinite(x)) return "—";
  const p = 100 * x;
  return `${Number(p.toFixed(1))}%`;
}

/** What the deciding score is, for a method under a rule set: "p (Holm-adjusted)", "p", "distance". */
export function scoreName(method: string, rules: string): string {
  if (!scoreIsP(method)) return "distance";
  return rules === "runlens" ? "p (Holm-adjusted)" : "p";
}

type DriftLike = Pick<ColumnDrift, "name" | "method" | "drift" | "score" | "psi" | "js" | "wasserstein_norm" | "null_share">;

/** The tooltip of a column's verdict: method, deciding score, PSI, JS, normalized Wasserstein, null shares. */
export function driftTitle(c: DriftLike, rules: string): string {
  const lines = [
    `${c.name}: ${c.drift ? "drift" : "no drift"} (rules: ${rules})`,
    `method: ${METHOD_NAMES[c.method] ?? c.method}`,
  ];
  if (c.score !== null) lines.push(`score: ${scoreName(c.method, rules)} = ${num3(c.score)}`);
  lines.push(`PSI: ${num3(c.psi)}`, `Jensen-Shannon: ${num3(c.js)}`, `Wasserstein (normalized): ${num3(c.wasserstein_norm)}`);
  lines.push(`nulls: ${pct1(c.null_share.reference)} → ${pct1(c.null_share.current)}`);
  return lines.join("\n");
}

/** One column's badge: "drift" (red) or "no drift" (green); a key column or an empty side is not tested. */
export function driftBadge(c: DriftLike, rules: string): DriftBadge {
  const title = driftTitle(c, rules);
  if (c.drift) return { level: "drift", label: "drift", title };
  if (c.method === "id") return { level: "muted", label: "key", title };
  if (c.method === "none") return { level: "muted", label: "no values", title };
  if (c.method === "text") return { level: "muted", label: "text", title };
  return { level: "ok", label: "no drift", title };
}

/** Every column's badge, by column name. */
export function driftBadges(r: DriftReport): Map<string, DriftBadge> {
  return new Map(r.columns.map((c) => [c.name, driftBadge(c, r.rules)]));
}

/** The line above the distributions: "2 of 5 columns drifted (rules: runlens)". */
export function driftSummary(r: DriftReport): string {
  const n = r.columns.filter((c) => c.drift).length;
  // Key columns cannot drift; the engine's share leaves them out, and so does this count.
  const keys = r.columns.filter((c) => c.method === "id").length;
  const and = keys === 0 ? "" : keys === 1 ? ", and a key column" : `, and ${keys} key columns`;
  return `${n} of ${plural(r.columns.length - keys, "column")} drifted${and} (rules: ${r.rules})`;
}

export const DRIFT_RULES: DriftRules[] = ["runlens", "evidently"];

// ---------------------------------------------------------------------------------------------
// Monitoring: the batches `data watch` scored for a model version

/** A version's reference dataset as "data/train.csv@4558dd45". */
export function referenceText(d: { path: string; rev: string }): string {
  return `${d.path}@${shortRev(d.rev)}`;
}

/** A batch's file name, without its folder. */
export function batchName(file: string): string {
  const i = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"));
  return i >= 0 ? file.slice(i + 1) : file;
}

/** The columns that drifted in a batch, by name. */
export function driftedColumns(columns: MonitorColumn[]): string[] {
  return columns.filter((c) => c.drift).map((c) => c.name);
}

/** One scored batch, as the Monitoring section lists and charts it. */
export interface Batch {
  /** 1-based, in the order scored. */
  n: number;
  name: string;
  file: string;
  at: number;
  drift: boolean;
  share: number;
  drifted: string[];
  columns: number;
  record: string;
}

/** A version's scores, oldest first (as the engine gives them), as batches. */
export function monitorBatches(scores: MonitorScore[], version: number): Batch[] {
  return scores
    .filter((s) => s.version === version)
    .map((s, i) => {
      const share = toNumber(s.share_drifted);
      return {
        n: i + 1,
        name: batchName(s.file),
        file: s.file,
        at: s.at,
        drift: s.drift,
        share: share !== null && Number.isFinite(share) ? share : 0,
        drifted: driftedColumns(s.columns),
        columns: s.columns.length,
        record: s.record,
      };
    });
}

/**
 * The share of drifted columns at which `data watch` alarms. It scores under the runlens rules: a
 * batch drifts when any column does, so the line sits at one column's share (of the columns a
 * batch has); with no batches, null.
 */
export function alarmShare(batches: Batch[]): number | null {
  const cols = Math.max(0, ...batches.map((b) => b.columns));
  return cols > 0 ? 1 / cols : null;
}

/** The Monitoring section's headline: "2 batches · 1 drifted · last 2026-12-05 03:40". */
export function monitorSummary(batches: Batch[]): string {
  if (batches.length === 0) return "no batches scored";
  const drifted = batches.filter((b) => b.drift).length;
  return `${batches.length} batch${batches.length === 1 ? "" : "es"} · ${drifted} drifted · last ${fmtTime(batches[batches.length - 1].at)}`;
}

// ---------------------------------------------------------------------------------------------
// Watching a folder for new batches, in the app

/** A target a folder can be watched for: an alias of the model, or the version itself. */
export interface WatchTarget {
  /** NAME@ALIAS or NAME@VERSION, as the engine takes it. */
  target: string;
  label: string;
  /** The version it names now. */
  version: number;
}

/**
 * What a version's folder watch may follow: the model's aliases (those on `version` first, then by
 * name), then the version itself, which never moves. The first is the default.
 */
export function watchTargets(model: { name: string; aliases: Record<string, number> }, version: number): WatchTarget[] {
  const aliases = Object.entries(model.aliases)
    .sort(([a, va], [b, vb]) => Number(vb === version) - Number(va === version) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([alias, v]) => ({ target: `${model.name}@${alias}`, label: `@${alias} (now v${v})`, version: v }));
  return [...aliases, { target: `${model.name}@${version}`, label: `v${version} only`, version }];
}

/** The model a target names: what comes before its last "@". */
export function targetModel(target: string): string {
  const i = target.lastIndexOf("@");
  return i > 0 ? target.slice(0, i) : target;
}

/** A watch's line: "churn@champion → v2 · 3 batches scored · 1 drifted · 1 notification". */
export function watchSummary(w: MonitorWatchState): string {
  const parts = [
    `${w.target}${w.version !== null ? ` → v${w.version}` : ""}`,
    `${w.batches} batch${w.batches === 1 ? "" : "es"} scored`,
  ];
  if (w.batches > 0) parts.push(`${w.drifted} drifted`);
  if (w.crossings > 0) parts.push(plural(w.crossings, "notification"));
  return parts.join(" · ");
}

// ---------------------------------------------------------------------------------------------
// Statistics as they finish (before the whole profile arrives)

/** The columns finished so far as a profile, in table order (rows from the engine's count). */
export function partialProfile(done: ColumnDone[]): DataProfile {
  const sorted = [...done].sort((a, b) => a.index - b.index);
  return { path: "", rev: "", rows: done[0]?.rows ?? 0, columns: sorted.map((c) => c.stats), head: [], warnings: [] };
}

/** "3 of 10 finished" (or "3 finished" when the column count is not known). */
export function finishedText(done: ColumnDone[], of: number | null): string {
  return of === null ? `${done.length} finished` : `${done.length} of ${of} finished`;
}
