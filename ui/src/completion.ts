// Completion for the query box: keys after an entity prefix, values after a comparison, keywords
// between conditions. Pure: the box calls `complete` with the text and the caret.
import type { Completions } from "./types";

export interface Suggestion {
  label: string;
  /** Text that replaces [from, to). */
  insert: string;
  detail?: string;
}

export interface Completion {
  from: number;
  to: number;
  items: Suggestion[];
}

export const ATTRIBUTE_NAMES = [
  "name", "status", "experiment", "source", "start_time", "end_time", "duration", "user", "id", "path", "parent_id",
];
const STATUS_VALUES = ["running", "finished", "failed", "killed", "scheduled"];
const OPS = ["=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "~", "IS NULL", "IS NOT NULL"];
const WORD = /[A-Za-z0-9_./:\-`"]/;

/** A key as the filter language wants it: backquoted when it has characters a bare name cannot. */
export function quoteKey(prefix: string, key: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(key) ? `${prefix}.${key}` : `${prefix}.\`${key.replace(/`/g, "``")}\``;
}

export function quoteValue(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}

/** Splits off the last few tokens before `end`, enough to see "key op" context. */
function tokensBefore(text: string, end: number): string[] {
  const re = /\s*('(?:[^']|'')*'?|"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|[A-Za-z0-9_./:-]+(?:`(?:[^`]|``)*`?)?|!=|<>|>=|<=|==|[=<>~(),]|!~)/y;
  const out: string[] = [];
  re.lastIndex = 0;
  while (re.lastIndex < end) {
    const at = re.lastIndex;
    const m = re.exec(text);
    if (!m || re.lastIndex > end) break;
    out.push(m[1]);
    if (re.lastIndex === at) break;
  }
  return out;
}

function entityOf(word: string): { entity: "params" | "tags" | "metrics" | "attributes"; name: string } | null {
  const m = /^(metrics?|params?|parameters?|tags?|attributes?|attr|run)\.(.*)$/i.exec(word);
  if (!m) return null;
  const e = m[1].toLowerCase();
  const entity = e.startsWith("metric") ? "metrics" : e.startsWith("param") ? "params" : e.startsWith("tag") ? "tags" : "attributes";
  return { entity, name: m[2].replace(/^`|`$/g, "") };
}

function startsWithCI(s: string, p: string): boolean {
  return s.toLowerCase().startsWith(p.toLowerCase());
}

export function complete(text: string, caret: number, c: Completions, max = 50): Completion {
  let from = caret;
  while (from > 0 && WORD.test(text[from - 1])) from--;
  // A value being typed inside quotes: back up to the opening quote.
  const quoteAt = text.lastIndexOf("'", caret - 1);
  const before = tokensBefore(text, from);
  const word = text.slice(from, caret);
  const op = before[before.length - 1]?.toUpperCase();
  const keyTok = before[before.length - 2];
  const isOp = op !== undefined && ["=", "==", "!=", "<>", ">", ">=", "<", "<=", "LIKE", "ILIKE", "~", "!~"].includes(op);

  // After "key op": values of that key.
  if (isOp && keyTok) {
    let vfrom = from;
    let typed = word;
    if (quoteAt >= 0 && quoteAt >= from - 1 && quoteAt < caret) {
      vfrom = quoteAt;
      typed = text.slice(quoteAt + 1, caret);
    }
    const ent = entityOf(keyTok);
    let values: string[] = [];
    if (ent?.entity === "params") values = c.params[ent.name] ?? [];
    else if (ent?.entity === "tags") values = c.tags[ent.name] ?? [];
    else if ((ent?.entity === "attributes" && ent.name === "status") || keyTok.toLowerCase() === "status") values = STATUS_VALUES;
    const items = values
      .filter((v) => startsWithCI(v, typed.replace(/^'/, "")))
      .slice(0, max)
      .map((v) => ({ label: v, insert: quoteValue(v) }));
    return { from: vfrom, to: caret, items };
  }

  // A key after an entity prefix.
  const ent = entityOf(word);
  if (ent) {
    const keys =
      ent.entity === "params" ? Object.keys(c.params)
      : ent.entity === "tags" ? Object.keys(c.tags)
      : ent.entity === "metrics" ? c.metrics
      : ATTRIBUTE_NAMES;
    const items = keys
      .filter((k) => startsWithCI(k, ent.name))
      .slice(0, max)
      .map((k) => ({ label: k, insert: quoteKey(ent.entity, k), detail: ent.entity }));
    return { from, to: caret, items };
  }

  // After a complete key: operators.
  const last = before[before.length - 1];
  if (word === "" && last && (entityOf(last) || ATTRIBUTE_NAMES.includes(last.toLowerCase()))) {
    return { from, to: caret, items: OPS.map((o) => ({ label: o, insert: o })) };
  }

  // After a complete condition: AND / OR.
  const afterValue = last && /^['"\d)-]|^(NULL)$/i.test(last);
  const items: Suggestion[] = [];
  if (afterValue && word === "") {
    items.push({ label: "AND", insert: "AND" }, { label: "OR", insert: "OR" });
    return { from, to: caret, items };
  }
  // Start of a condition: entity prefixes, then any key that matches what is typed.
  for (const p of ["metrics.", "params.", "tags.", "attributes."]) {
    if (startsWithCI(p, word)) items.push({ label: p, insert: p, detail: "prefix" });
  }
  if (word.length > 0) {
    for (const k of c.metrics) if (startsWithCI(k, word)) items.push({ label: k, insert: quoteKey("metrics", k), detail: "metric" });
    for (const k of Object.keys(c.params)) if (startsWithCI(k, word)) items.push({ label: k, insert: quoteKey("params", k), detail: "param" });
    for (const k of Object.keys(c.tags)) if (startsWithCI(k, word)) items.push({ label: k, insert: quoteKey("tags", k), detail: "tag" });
    for (const k of ATTRIBUTE_NAMES) if (startsWithCI(k, word)) items.push({ label: k, insert: k, detail: "attribute" });
  }
  return { from, to: caret, items: items.slice(0, max) };
}

/** The text after accepting a suggestion, and where the caret goes. */
export function accept(text: string, comp: Completion, s: Suggestion): { text: string; caret: number } {
  const space = /\.$/.test(s.insert) ? "" : " ";
  const next = text.slice(0, comp.from) + s.insert + space + text.slice(comp.to).replace(/^\s+/, "");
  return { text: next, caret: comp.from + s.insert.length + space.length };
}
