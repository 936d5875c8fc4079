// The run table's column model: which columns exist (attributes, params, tags, metric summaries),
// which are shown, in what order, which are pinned, how a cell reads and sorts.
import { fmtDuration, fmtNum, fmtTime, toNumber } from "./format";
import type { Run } from "./types";

export type Agg = "last" | "min" | "max";
export type Kind = "attr" | "param" | "tag" | "metric";

export interface Column {
  /** "attr.name", "params.lr", "tags.team", "metrics.loss@min". */
  id: string;
  kind: Kind;
  key: string;
  agg: Agg;
  label: string;
}

export const ATTRS: Record<string, string> = {
  name: "Name",
  status: "Status",
  experiment: "Experiment",
  source: "Source",
  start_time: "Started",
  duration: "Duration",
  user: "User",
  id: "Run ID",
  path: "Path",
};

export function columnId(kind: Kind, key: string, agg: Agg = "last"): string {
  switch (kind) {
    case "attr":
      return `attr.${key}`;
    case "param":
      return `params.${key}`;
    case "tag":
      return `tags.${key}`;
    case "metric":
      return agg === "last" ? `metrics.${key}` : `metrics.${key}@${agg}`;
  }
}

export function parseColumn(id: string): Column | null {
  const dot = id.indexOf(".");
  if (dot < 0) return null;
  const head = id.slice(0, dot);
  let key = id.slice(dot + 1);
  let agg: Agg = "last";
  let kind: Kind;
  if (head === "attr") {
    if (!(key in ATTRS)) return null;
    return { id, kind: "attr", key, agg, label: ATTRS[key] };
  } else if (head === "params") kind = "param";
  else if (head === "tags") kind = "tag";
  else if (head === "metrics") {
    kind = "metric";
    const at = key.lastIndexOf("@");
    if (at > 0 && ["min", "max"].includes(key.slice(at + 1))) {
      agg = key.slice(at + 1) as Agg;
      key = key.slice(0, at);
    }
  } else return null;
  const label = kind === "metric" && agg !== "last" ? `${key} (${agg})` : key;
  return { id, kind, key, agg, label };
}

/** Every key the runs have, by kind, sorted. */
export function keysOf(runs: Run[]): { params: string[]; tags: string[]; metrics: string[] } {
  const p = new Set<string>();
  const t = new Set<string>();
  const m = new Set<string>();
  for (const r of runs) {
    for (const k in r.params) p.add(k);
    for (const k in r.tags) t.add(k);
    for (const k in r.metrics) m.add(k);
  }
  const s = (x: Set<string>) => [...x].sort();
  return { params: s(p), tags: s(t), metrics: s(m) };
}

/** Tags the tools write for themselves: hidden unless asked for. */
export function isSystemTag(key: string): boolean {
  return key.startsWith("mlflow.");
}

/** What a cell holds, for sorting and grouping: a number, a string, or null when absent. */
export function cellValue(r: Run, c: Column): number | string | null {
  switch (c.kind) {
    case "attr":
      switch (c.key) {
        case "start_time":
          return r.start_time;
        case "duration":
          return r.start_time !== null && r.end_time !== null ? r.end_time - r.start_time : null;
        default:
          return (r as unknown as Record<string, string | null>)[c.key] ?? null;
      }
    case "param":
      return r.params[c.key] ?? null;
    case "tag":
      return r.tags[c.key] ?? null;
    case "metric": {
      const m = r.metrics[c.key];
      if (!m) return null;
      return c.agg === "last" ? toNumber(m.last) : m[c.agg];
    }
  }
}

export function cellText(r: Run, c: Column): string {
  if (c.kind === "metric") {
    const m = r.metrics[c.key];
    if (!m) return "";
    return c.agg === "last" ? fmtNum(m.last) : fmtNum(m[c.agg]);
  }
  if (c.kind === "attr") {
    if (c.key === "start_time") return fmtTime(r.start_time);
    if (c.key === "duration") {
      const v = cellValue(r, c);
      return typeof v === "number" ? fmtDuration(v) : "";
    }
  }
  const v = cellValue(r, c);
  return v === null ? "" : String(v);
}

function numeric(v: number | string | null): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    if (!Number.isNaN(n)) return n;
  }
  return null;
}

/**
 * Orders two cell values: numbers (and strings that are numbers) by value, other strings
 * naturally; absent and NaN values always last whatever the direction.
 */
export function compareValues(a: number | string | null, b: number | string | null, desc: boolean): number {
  const an = a === null || (typeof a === "number" && Number.isNaN(a));
  const bn = b === null || (typeof b === "number" && Number.isNaN(b));
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  const x = numeric(a);
  const y = numeric(b);
  let c: number;
  if (x !== null && y !== null) c = x < y ? -1 : x > y ? 1 : 0;
  else if (x !== null) c = -1;
  else if (y !== null) c = 1;
  else c = String(a).localeCompare(String(b), undefined, { numeric: true });
  return desc ? -c : c;
}

export interface Sort {
  column: string;
  desc: boolean;
}

export function sortRuns(runs: Run[], sort: Sort | null): Run[] {
  if (!sort) return runs;
  const c = parseColumn(sort.column);
  if (!c) return runs;
  const keyed = runs.map((r, i) => ({ r, i, v: cellValue(r, c) }));
  keyed.sort((a, b) => compareValues(a.v, b.v, sort.desc) || a.i - b.i);
  return keyed.map((k) => k.r);
}

export interface ColumnPrefs {
  /** Shown columns, in order; pinned ones are drawn first. */
  visible: string[];
  pinned: string[];
}

/** The first view of a project: name, status, start, duration, then params and last metric values. */
export function defaultPrefs(runs: Run[]): ColumnPrefs {
  const k = keysOf(runs);
  const visible = [
    "attr.name",
    "attr.status",
    "attr.experiment",
    "attr.start_time",
    "attr.duration",
    ...k.params.slice(0, 12).map((p) => columnId("param", p)),
    ...k.metrics.slice(0, 12).map((m) => columnId("metric", m)),
  ];
  return { visible, pinned: ["attr.name"] };
}

/** The columns to draw: pinned first (in their visible order), then the rest. */
export function visibleColumns(prefs: ColumnPrefs): Column[] {
  const cols = prefs.visible.map(parseColumn).filter((c): c is Column => c !== null);
  const pinned = cols.filter((c) => prefs.pinned.includes(c.id));
  return [...pinned, ...cols.filter((c) => !prefs.pinned.includes(c.id))];
}

export function moveColumn(prefs: ColumnPrefs, id: string, to: number): ColumnPrefs {
  const v = prefs.visible.filter((x) => x !== id);
  v.splice(Math.max(0, Math.min(to, v.length)), 0, id);
  return { ...prefs, visible: v };
}

export function toggleColumn(prefs: ColumnPrefs, id: string): ColumnPrefs {
  return prefs.visible.includes(id)
    ? { visible: prefs.visible.filter((x) => x !== id), pinned: prefs.pinned.filter((x) => x !== id) }
    : { ...prefs, visible: [...prefs.visible, id] };
}

export function togglePin(prefs: ColumnPrefs, id: string): ColumnPrefs {
  return prefs.pinned.includes(id)
    ? { ...prefs, pinned: prefs.pinned.filter((x) => x !== id) }
    : { ...prefs, pinned: [...prefs.pinned, id] };
}

/** Replaces a metric column by the same metric with another summary. */
export function setAgg(prefs: ColumnPrefs, id: string, agg: Agg): ColumnPrefs {
  const c = parseColumn(id);
  if (!c || c.kind !== "metric") return prefs;
  const next = columnId("metric", c.key, agg);
  const swap = (xs: string[]) => xs.map((x) => (x === id ? next : x));
  return { visible: swap(prefs.visible), pinned: swap(prefs.pinned) };
}

export interface Group {
  value: string;
  runs: Run[];
  /** Per metric column: mean, min and max over the group's runs that have it. */
  aggregates: Record<string, { mean: number; min: number; max: number; n: number }>;
}

/** Runs grouped by a column's value (in first-seen order), with aggregates of the metric columns. */
export function groupRuns(runs: Run[], by: Column, metricCols: Column[]): Group[] {
  const groups = new Map<string, Run[]>();
  for (const r of runs) {
    const v = cellValue(r, by);
    const key = v === null ? "" : String(v);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return [...groups.entries()].map(([value, rs]) => {
    const aggregates: Group["aggregates"] = {};
    for (const c of metricCols) {
      let n = 0;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      for (const r of rs) {
        const v = cellValue(r, c);
        if (typeof v !== "number" || !Number.isFinite(v)) continue;
        n++;
        sum += v;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      if (n > 0) aggregates[c.id] = { mean: sum / n, min, max, n };
    }
    return { value, runs: rs, aggregates };
  });
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The table as CSV, as shown: these columns, these rows; numbers at full precision. */
export function toCsv(runs: Run[], cols: Column[]): string {
  const lines = [["id", ...cols.map((c) => c.id)].map(csvCell).join(",")];
  for (const r of runs) {
    const cells = cols.map((c) => {
      if (c.kind === "metric") {
        const v = cellValue(r, c);
        return v === null ? "" : String(v);
      }
      if (c.kind === "attr" && c.key === "start_time") return r.start_time === null ? "" : new Date(r.start_time).toISOString();
      return cellText(r, c);
    });
    lines.push([r.id, ...cells].map(csvCell).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
