// The Models view's logic: what a run offers to register, how an event reads as a sentence, the
// side-by-side of versions, signatures. The registry's rules (policy, the fold) are the engine's;
// this only arranges what the shell sends for the screen.
import type { Approval, Detail, HistoryItem, Lineage, Num, PolicyKey, RegModel, RegVersion, RegistryPolicy } from "./types";
import { fmtNum, fmtTime } from "./format";

/** Something of a run that can be registered as a model version. */
export interface Candidate {
  /** What `registry_register` takes: a logged model id, or a path relative to the artifact folder. */
  path: string;
  label: string;
  kind: "logged-model" | "mlflow-model" | "model-file" | "folder" | "file";
}

const MODEL_FILE = /\.(onnx|safetensors|pt|pth|ckpt|pkl|pickle|joblib|h5|keras|pb|tflite|gguf|bin|cbm|ubj|xgb|lgb|model)$/i;

/**
 * What a run offers to register, most likely first: its logged models, the folders of its
 * artifacts that hold an MLmodel, model files by their extension, other top-level folders, then
 * every other file.
 */
export function registerCandidates(d: Detail): Candidate[] {
  const out: Candidate[] = [];
  for (const m of d.models) {
    const path = m.model_id || m.dir;
    if (!path) continue;
    const flavors = m.flavors.length ? ` (${m.flavors.join(", ")})` : "";
    out.push({ path, label: `logged model ${m.name}${m.model_id ? ` · ${m.model_id}` : ""}${flavors}`, kind: "logged-model" });
  }
  const names = d.artifacts.map((a) => a.name);
  const mlmodelDirs = names.filter((n) => n === "MLmodel" || n.endsWith("/MLmodel")).map((n) => n.slice(0, Math.max(0, n.length - "/MLmodel".length)));
  for (const dir of mlmodelDirs.filter((x) => x !== "").sort()) out.push({ path: dir, label: `${dir}/ (MLflow model)`, kind: "mlflow-model" });
  const taken = (p: string) => out.some((c) => c.path === p || p.startsWith(`${c.path}/`));
  for (const n of [...names].sort()) {
    if (MODEL_FILE.test(n) && !taken(n)) out.push({ path: n, label: n, kind: "model-file" });
  }
  const tops = [...new Set(names.filter((n) => n.includes("/")).map((n) => n.split("/")[0]))].sort();
  for (const t of tops) if (!taken(t)) out.push({ path: t, label: `${t}/`, kind: "folder" });
  for (const n of [...names].sort()) if (!out.some((c) => c.path === n)) out.push({ path: n, label: n, kind: "file" });
  return out;
}

/** "NAME@VERSION", what `registry_change` and `registry_card` take. */
export function target(model: string, version?: number | null): string {
  return version === undefined || version === null ? model : `${model}@${version}`;
}

export function shortHash(h: string | null | undefined, n = 10): string {
  if (!h) return "";
  const s = h.startsWith("sha256:") ? h.slice(7) : h;
  return s.slice(0, n);
}

export function sourceLabel(source: string): string {
  if (source === "runlens") return "Runlens";
  if (source === "mlflow") return "MLflow";
  if (source === "mlflow-db") return "MLflow (db)";
  return source;
}

/** A CSS class for a stage: production, staging, archived or other. */
export function stageClass(stage: string | null | undefined): string {
  const s = (stage ?? "").toLowerCase();
  if (!s || s === "none") return "";
  if (s.startsWith("prod")) return "prod";
  if (s.startsWith("stag")) return "staging";
  if (s.startsWith("arch")) return "archived";
  return "other";
}

/** Versions newest first; archived ones last unless `showArchived`. */
export function visibleVersions(m: RegModel, showArchived: boolean): RegVersion[] {
  return [...m.versions].filter((v) => showArchived || !v.archived).sort((a, b) => b.version - a.version);
}

function str(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** One event as a sentence, with the alias it moved from when `prevAlias` knows it. */
export function eventSentence(e: HistoryItem, prevAlias?: number | null): string {
  const p = e.payload;
  const v = e.version !== null ? `version ${e.version}` : "the model";
  switch (e.kind) {
    case "register": {
      const src = (p.source ?? {}) as Record<string, unknown>;
      const run = str(src.run_name) || str(src.run_id);
      const imported = p.imported_from ? " (imported from MLflow)" : "";
      return `registered ${v}${run ? ` from run ${run}` : ""}${imported}`;
    }
    case "set_alias":
      return prevAlias !== undefined && prevAlias !== null && prevAlias !== e.version
        ? `moved @${str(p.alias)} from version ${prevAlias} to ${v}`
        : `set @${str(p.alias)} on ${v}`;
    case "remove_alias":
      return `removed @${str(p.alias)} from ${v}`;
    case "set_tag":
      return `tagged ${v} ${str(p.key)}=${str(p.value)}`;
    case "delete_tag":
      return `removed tag ${str(p.key)} from ${v}`;
    case "set_description":
      return `described ${v}`;
    case "transition":
      return `moved ${v} to stage ${str(p.stage)}`;
    case "request_approval":
      return `asked for approval of ${v}`;
    case "approve":
      return `approved ${v}`;
    case "reject":
      return `rejected ${v}`;
    case "archive":
      return `archived ${v}`;
    case "restore":
      return `restored ${v}`;
    case "set_dataset":
      return `set the reference dataset of ${v}`;
    default:
      return `${e.kind} ${v}`;
  }
}

/** The comment an event carries (stage transitions, approvals, rejections), if any. */
export function eventComment(e: HistoryItem): string | null {
  const c = e.payload.comment;
  if (typeof c === "string" && c.trim()) return c;
  if (e.kind === "set_description" && typeof e.payload.description === "string") return e.payload.description;
  return null;
}

export interface TimelineEntry {
  event: HistoryItem;
  sentence: string;
  comment: string | null;
  counts: boolean;
}

/**
 * The history as a timeline, newest first. Alias moves say where the alias was before: the
 * aliases are replayed in fold order over the events that count.
 */
export function timeline(history: HistoryItem[], onlyVersion?: number | null): TimelineEntry[] {
  const aliases = new Map<string, number>();
  const out: TimelineEntry[] = [];
  for (const e of history) {
    const alias = typeof e.payload.alias === "string" ? e.payload.alias : null;
    const prev = alias !== null ? (aliases.get(alias) ?? null) : null;
    const counts = !e.skipped;
    if (counts && alias !== null && e.version !== null) {
      if (e.kind === "set_alias") aliases.set(alias, e.version);
      if (e.kind === "remove_alias") aliases.delete(alias);
    }
    if (onlyVersion !== undefined && onlyVersion !== null && e.version !== onlyVersion && !(e.kind === "set_alias" && prev === onlyVersion)) continue;
    out.push({ event: e, sentence: eventSentence(e, prev), comment: eventComment(e), counts });
  }
  return out.reverse();
}

/** A row of the version comparison: one value per version, and whether they differ. */
export interface CompareRow {
  key: string;
  values: (string | null)[];
  differs: boolean;
}

function rows(keys: string[], get: (k: string, i: number) => string | null, n: number): CompareRow[] {
  return keys.map((key) => {
    const values = Array.from({ length: n }, (_, i) => get(key, i));
    return { key, values, differs: new Set(values.map((v) => v ?? "\u0000")).size > 1 };
  });
}

function unionKeys(maps: Record<string, unknown>[]): string[] {
  const s = new Set<string>();
  for (const m of maps) for (const k in m) s.add(k);
  return [...s].sort();
}

export function numOf(v: Num | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  return v === "NaN" ? NaN : v === "Infinity" ? Infinity : -Infinity;
}

export interface Comparison {
  summary: CompareRow[];
  params: CompareRow[];
  metrics: CompareRow[];
  signature: CompareRow[];
  files: CompareRow[];
}

const lineageOf = (v: RegVersion): Lineage | null => v.lineage;

/** Two or more versions side by side: summary, params, metrics, signature and files. */
export function compareVersions(versions: RegVersion[]): Comparison {
  const n = versions.length;
  const params = versions.map((v) => lineageOf(v)?.params ?? {});
  const metrics = versions.map((v) => lineageOf(v)?.metrics ?? {});
  const sig = versions.map((v) => lineageOf(v)?.model?.signature ?? null);
  const files = versions.map((v) => new Map(v.files.map((f) => [f.path, f])));
  const summaryGet = (k: string, i: number): string | null => {
    const v = versions[i];
    switch (k) {
      case "aliases":
        return v.aliases.length ? v.aliases.map((a) => `@${a}`).join(" ") : null;
      case "stage":
        return v.stage;
      case "run":
        return v.source.run_name ?? v.run_id;
      case "created by":
        return personName(v.created_by) || null;
      case "approvals":
        return String(v.approvals.length);
      case "digest":
        return shortHash(v.digest, 16) || null;
      case "flavors": {
        const f = lineageOf(v)?.model?.flavors;
        return f ? Object.keys(f).join(", ") || null : null;
      }
      case "commit":
        return lineageOf(v)?.code?.commit?.slice(0, 10) ?? null;
      default:
        return null;
    }
  };
  const sigRow = (part: "inputs" | "outputs" | "params") => (_: string, i: number) => {
    const s = sig[i];
    if (!s || s[part] === null || s[part] === undefined) return null;
    return signatureText(s[part]);
  };
  return {
    summary: rows(["aliases", "stage", "approvals", "run", "created by", "commit", "flavors", "digest"], summaryGet, n),
    params: rows(unionKeys(params), (k, i) => params[i][k] ?? null, n),
    metrics: rows(unionKeys(metrics), (k, i) => {
      const v = metrics[i][k];
      return v === undefined || v === null ? null : fmtNum(v);
    }, n),
    signature: [
      ...rows(["inputs"], sigRow("inputs"), n),
      ...rows(["outputs"], sigRow("outputs"), n),
    ].filter((r) => r.values.some((v) => v !== null)),
    files: rows(
      [...new Set(files.flatMap((m) => [...m.keys()]))].sort(),
      (k, i) => {
        const f = files[i].get(k);
        return f ? shortHash(f.sha256, 12) : null;
      },
      n,
    ),
  };
}

/** Metric keys with a number in at least one of the versions. */
export function numericMetricKeys(versions: RegVersion[]): string[] {
  return unionKeys(versions.map((v) => v.lineage?.metrics ?? {})).filter((k) =>
    versions.some((v) => {
      const x = numOf(v.lineage?.metrics[k] as Num | null | undefined);
      return x !== null && Number.isFinite(x);
    }),
  );
}

/** A metric's final value for each version (null where a version has none), versions ascending. */
export function metricAcrossVersions(versions: RegVersion[], key: string): { version: number; value: number | null }[] {
  return [...versions]
    .sort((a, b) => a.version - b.version)
    .map((v) => {
      const x = numOf(v.lineage?.metrics[key] as Num | null | undefined);
      return { version: v.version, value: x !== null && Number.isFinite(x) ? x : null };
    });
}

/**
 * Round ticks for an axis over [lo, hi]: 1, 2, 2.5 or 5 times a power of ten apart, from at or
 * below `lo` to at or above `hi`, about `target` of them. A single value gets a range around it.
 */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, target - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw * (1 - 1e-9)) ?? 10 * mag;
  const start = Math.floor(lo / step + 1e-9) * step;
  const n = Math.max(1, Math.ceil((hi - start) / step - 1e-9));
  return Array.from({ length: n + 1 }, (_, i) => Number((start + i * step).toPrecision(12)));
}

export interface SigColumn {
  name: string;
  type: string;
  required: boolean;
}

/** MLflow's signature part (column specs or tensor specs) as columns; [] when it is neither. */
export function signatureColumns(part: unknown): SigColumn[] {
  if (!Array.isArray(part)) return [];
  return part
    .filter((c): c is Record<string, unknown> => typeof c === "object" && c !== null)
    .map((c, i) => {
      const spec = c["tensor-spec"] as Record<string, unknown> | undefined;
      const type = c.type === "tensor" && spec ? `${str(spec.dtype)}${Array.isArray(spec.shape) ? `[${spec.shape.join(", ")}]` : ""}` : str(c.type);
      return { name: typeof c.name === "string" ? c.name : `#${i}`, type, required: c.required !== false };
    });
}

/** A signature part as one line: "x: double, y: long" or the JSON MLflow wrote. */
export function signatureText(part: unknown): string {
  const cols = signatureColumns(part);
  if (cols.length) return cols.map((c) => `${c.name}: ${c.type}${c.required ? "" : "?"}`).join(", ");
  return typeof part === "string" ? part : JSON.stringify(part);
}

/**
 * A card's YAML front matter apart from its body (the Markdown shown), without the HTML comments
 * that mark the generated part (the page shows raw HTML as text).
 */
export function splitFrontMatter(md: string): { front: string | null; body: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(md);
  const body = (m ? md.slice(m[0].length) : md).replace(/<!--[\s\S]*?-->\n?/g, "");
  return { front: m ? m[1] : null, body };
}

/** "Ana Lima" of "Ana Lima <ana@example.org>": the name a person is shown by (the rest on hover). */
export function personName(display: string | null | undefined): string {
  if (!display) return "";
  const m = /^(.*\S)\s*<[^<>]*>$/.exec(display.trim());
  return m ? m[1] : display.trim();
}

/** Whether `key` is the app user's signing key. */
export function isMine(key: string | null | undefined, myKey: string | null | undefined): boolean {
  return !!key && !!myKey && key === myKey;
}

/** Common stage names, offered first in the stage field. */
export const STAGES = ["Staging", "Production", "Archived", "None"];

// ---------------------------------------------------------------------------------------------
// The project's policy (`.runlens/registry/policy.yaml`), as the engine reads it. The engine
// judges every change; this says beforehand what it will say, from the same policy and the
// engine's own count of each version's approvals (`counted_approvals`).

/** One protected alias or stage. */
export interface Rule {
  kind: "alias" | "stage";
  /** The alias without `@`, or the stage as the policy writes it. */
  name: string;
  /** "@champion" or "Production". */
  label: string;
  need: number;
}

const approvalsWord = (n: number) => (n === 1 ? "approval" : "approvals");

/** What the policy protects: aliases, then stages, each by name. */
export function policyRules(p: RegistryPolicy): Rule[] {
  const byName = (a: [string, number], b: [string, number]) => a[0].localeCompare(b[0]);
  return [
    ...Object.entries(p.aliases).sort(byName).map(([name, need]): Rule => ({ kind: "alias", name, label: `@${name}`, need })),
    ...Object.entries(p.stages).sort(byName).map(([name, need]): Rule => ({ kind: "stage", name, label: name, need })),
  ];
}

/** "@champion needs 1 approval; Production needs 2"; "" when nothing is protected. */
export function rulesSentence(p: RegistryPolicy): string {
  return policyRules(p)
    .map((r, i) => `${r.label} needs ${r.need}${i === 0 ? ` ${approvalsWord(r.need)}` : ""}`)
    .join("; ");
}

/** Whether the policy judges a change made at `now` (it may start later: `since`). */
export function policyInForce(p: RegistryPolicy, now: number): boolean {
  return p.since === null || p.since <= now;
}

/** An approver as a person reads it: "Lee Chen" when the history names the key, else its id. */
export function approverName(k: PolicyKey): string {
  return personName(k.name) || k.key;
}

/** How the policy reads at the top of the Models view: the rules, then who counts and since when. */
export function policySummary(p: RegistryPolicy, now: number): { rules: string; approvers: string; authors: string; since: string | null } {
  const rules = rulesSentence(p);
  const authors = p.author_may_approve ? "authors may approve their own versions" : "authors cannot approve their own versions";
  if (!rules) {
    return { rules: "No policy: anyone may move aliases and stages", approvers: "", authors, since: null };
  }
  const approvers = p.approvers.length === 0 ? "anyone's approval counts" : `approvals count from ${p.approvers.map(approverName).join(", ")}`;
  const since = p.since === null ? null : policyInForce(p, now) ? `judged since ${fmtTime(p.since)}; earlier changes are not` : `in force from ${fmtTime(p.since)}: changes before then are not judged`;
  return { rules, approvers, authors, since };
}

/** Where a version stands against one protected alias or stage. */
export interface Gate extends Rule {
  /** Approvals that count (the engine's count). */
  have: number;
  /** Whether the engine would let the version take it now. */
  allowed: boolean;
  /** The version has it already. */
  holds: boolean;
  /** "Production: 1 of 1 approval: allowed", "@champion: 0 of 1 approval: needs 1 more". */
  text: string;
}

function sameStage(a: string | null | undefined, b: string): boolean {
  return !!a && a.toLowerCase() === b.toLowerCase();
}

/** The version against every protected alias and stage. */
export function versionGates(p: RegistryPolicy, v: RegVersion, now: number): Gate[] {
  const judged = policyInForce(p, now);
  return policyRules(p).map((r) => {
    const have = v.counted_approvals;
    const allowed = !judged || have >= r.need;
    const holds = r.kind === "alias" ? v.aliases.includes(r.name) : sameStage(v.stage, r.name);
    const count = `${have} of ${r.need} ${approvalsWord(r.need)}`;
    const verdict = !judged && have < r.need ? `allowed until ${fmtTime(p.since)}, when the policy starts` : allowed ? "allowed" : `needs ${r.need - have} more`;
    return { ...r, have, allowed, holds, text: `${r.label}: ${count}: ${verdict}` };
  });
}

/** The stage or alias rule that names `name` (stages case-insensitively), if the policy protects it. */
export function ruleFor(p: RegistryPolicy, kind: "alias" | "stage", name: string): Rule | null {
  const n = name.trim();
  if (!n) return null;
  return policyRules(p).find((r) => r.kind === kind && (kind === "alias" ? r.name === n : sameStage(r.name, n))) ?? null;
}

/** What the policy will say to moving `v` to alias or stage `name`: null when it is not protected. */
export function changeForecast(p: RegistryPolicy, v: RegVersion, kind: "alias" | "stage", name: string, now: number): { refused: boolean; text: string } | null {
  const r = ruleFor(p, kind, name);
  if (!r) return null;
  const have = v.counted_approvals;
  const from = p.approvers.length ? ` from ${p.approvers.map(approverName).join(" or ")}` : "";
  const needs = `${r.label} is protected by the policy: it needs ${r.need} ${approvalsWord(r.need)}${from}`;
  if (!policyInForce(p, now)) return { refused: false, text: `${needs}, from ${fmtTime(p.since)}; until then it is not judged.` };
  if (have >= r.need) return { refused: false, text: `${needs}; version ${v.version} has ${have}: allowed.` };
  return { refused: true, text: `${needs}; version ${v.version} has ${have}${have ? " that count" : ""}, so this will be refused.` };
}

/** Why the policy will refuse `myKey`'s approval of `v`, if it will. */
export function approvalForecast(p: RegistryPolicy, v: RegVersion, myKey: string | null | undefined, now: number): string | null {
  if (!policyInForce(p, now)) return null;
  if (!p.author_may_approve && isMine(v.author_key, myKey)) {
    return `You registered version ${v.version}: the policy does not let authors approve their own versions, so this will be refused.`;
  }
  if (p.approvers.length && !(myKey && p.approvers.some((a) => a.key === myKey))) {
    const yours = myKey ? `your key ${myKey} is` : "you have no signing key yet, so you are";
    return `Only ${p.approvers.map(approverName).join(", ")} may approve: ${yours} not among the approvers in policy.yaml, so this will be refused.`;
  }
  return null;
}

/** Why an approval does not count, as the policy reads (the engine says whether it counts). */
export function uncountedReason(p: RegistryPolicy | null, v: RegVersion, a: Approval): string | null {
  if (a.counts) return null;
  if (a.key === v.author_key && !(p?.author_may_approve ?? false)) return "the author's own: does not count";
  if (p && p.approvers.length && !p.approvers.some((k) => k.key === a.key)) return "not a listed approver: does not count";
  return "does not count";
}
