// The bundle export dialog's logic: the archive's name for the options chosen, the plan's files
// by part, progress as text, the folder to write into, and the export's states. What goes in,
// what is refused and the signature are the engine's (`bundle_plan`, `bundle_export`); this only
// arranges them for the screen.
import { isWireError, errorMessage } from "./api";
import { fmtBytes, fmtCount, plural } from "./format";
import { loadPref, savePref } from "./prefs";
import type { BundleCompression, BundleFile, BundleFormat, BundleProgress, BundleWritten } from "./types";

/** The archive's file name for the options chosen, from the plan's plain-tar name. */
export function bundleFileName(planName: string, format: BundleFormat, compress: BundleCompression): string {
  const root = planName.endsWith(".tar") ? planName.slice(0, -4) : planName;
  if (format === "oci") return `${root}.oci.tar`;
  return compress === "zstd" ? `${root}.tar.zst` : `${root}.tar`;
}

export type Part = BundleFile["part"];

/** The parts of a bundle, in the order the dialog lists them. */
export const PARTS: { part: Part; label: string; note: string }[] = [
  { part: "model", label: "model/", note: "the version's files as registered, checked against their pins while copied" },
  { part: "serve", label: "serve/", note: "how to serve it" },
  { part: "card", label: "model card", note: "" },
  { part: "metadata", label: "metadata", note: "the version, its lineage and approvals, provenance, SHA256SUMS" },
  { part: "signature", label: "signature", note: "" },
];

export interface PartGroup {
  part: Part;
  label: string;
  note: string;
  files: BundleFile[];
  bytes: number;
}

/** The plan's files by part, in `PARTS` order; empty parts left out, a part not known counted as metadata. */
export function groupByPart(files: BundleFile[]): PartGroup[] {
  const known = new Set(PARTS.map((p) => p.part));
  return PARTS.map((p) => {
    const mine = files.filter((f) => (known.has(f.part) ? f.part : "metadata") === p.part);
    return { ...p, files: mine, bytes: mine.reduce((n, f) => n + f.bytes, 0) };
  }).filter((g) => g.files.length > 0);
}

/** "7 files · 25.1 KB" */
export function filesAndBytes(files: number, bytes: number): string {
  return `${plural(files, "file")} · ${fmtBytes(bytes)}`;
}

/** "12.0 MB of 48.0 MB · 3 of 9 files" */
export function progressText(p: BundleProgress | null): string {
  if (!p) return "Starting…";
  if (p.files_total > 0 && p.files_done >= p.files_total) return `${fmtBytes(p.bytes_total)} · ${plural(p.files_total, "file")} · writing to disk…`;
  return `${fmtBytes(p.bytes_done)} of ${fmtBytes(p.bytes_total)} · ${fmtCount(p.files_done)} of ${plural(p.files_total, "file")}`;
}

/** How far an export is, 0 to 1: by bytes, or by files when there are no bytes to count. */
export function progressFraction(p: BundleProgress | null): number {
  if (!p) return 0;
  const f = p.bytes_total > 0 ? p.bytes_done / p.bytes_total : p.files_total > 0 ? p.files_done / p.files_total : 0;
  return Math.min(1, Math.max(0, f));
}

/** A full path on Linux, macOS or Windows (drive or UNC). */
export function isFullPath(dir: string): boolean {
  return /^\//.test(dir) || /^[A-Za-z]:[\\/]/.test(dir) || /^\\\\[^\\]/.test(dir);
}

/** Why the folder typed cannot be used, before asking the shell; null when it looks right. */
export function folderProblem(dir: string): string | null {
  const d = dir.trim();
  if (!d) return "Choose the folder to write the bundle into.";
  if (!isFullPath(d)) return "Give the folder's full path.";
  return null;
}

/** `dir` joined with a file name, with the separator the folder uses. */
export function joinDir(dir: string, name: string): string {
  const d = dir.trim();
  const sep = d.includes("\\") && !d.includes("/") ? "\\" : "/";
  return d.endsWith(sep) ? `${d}${name}` : `${d}${sep}${name}`;
}

const FOLDER_PREF = ["app", "bundle-dir"] as const;

/** The folder this user last exported into, if any (this machine's webview storage). */
export function rememberedFolder(): string {
  return loadPref<string>(...FOLDER_PREF, "");
}

export function rememberFolder(dir: string): void {
  savePref(...FOLDER_PREF, dir.trim());
}

/** Where an export is. */
export type ExportState =
  | { kind: "ready" }
  | { kind: "running"; progress: BundleProgress | null; cancelling: boolean }
  | { kind: "done"; written: BundleWritten }
  | { kind: "cancelled"; message: string }
  | { kind: "failed"; message: string; code: string | null };

export type ExportEvent =
  | { type: "start" }
  | { type: "progress"; progress: BundleProgress }
  | { type: "cancel" }
  | { type: "done"; written: BundleWritten }
  | { type: "error"; error: unknown }
  /** The options changed after an export ended: ready for another. */
  | { type: "reset" };

export function exportReducer(s: ExportState, e: ExportEvent): ExportState {
  switch (e.type) {
    case "start":
      return s.kind === "running" ? s : { kind: "running", progress: null, cancelling: false };
    case "progress":
      // A message that arrives after the export ended is late: ignored.
      return s.kind === "running" ? { ...s, progress: e.progress } : s;
    case "cancel":
      return s.kind === "running" ? { ...s, cancelling: true } : s;
    case "done":
      return { kind: "done", written: e.written };
    case "error":
      if (isWireError(e.error) && e.error.code === "cancelled") return { kind: "cancelled", message: e.error.message };
      return { kind: "failed", message: errorMessage(e.error), code: isWireError(e.error) ? e.error.code : null };
    case "reset":
      return s.kind === "running" ? s : { kind: "ready" };
  }
}
