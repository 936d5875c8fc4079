// Typed calls into the desktop shell. Every command is declared in src-tauri/build.rs and allowed
// in src-tauri/capabilities/main.json.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  ArtifactPreview,
  BundleCompression,
  BundleFormat,
  BundlePlan,
  BundleProgress,
  BundleWritten,
  Completions,
  Current,
  DataDiff,
  DriftReport,
  DriftRules,
  MonitorScore,
  MonitorWatchState,
  DataListing,
  DataProfile,
  DataProgress,
  Detail,
  DiffRow,
  HistoryItem,
  ImageFormat,
  Imported,
  Me,
  ModelCard,
  Problem,
  Recent,
  RegModel,
  RegistryChange,
  RegistryPolicy,
  Run,
  ScanEvent,
  Scanned,
  WatchMsg,
  Series,
  WireError,
  Written,
  XAxis,
} from "./types";

export function isWireError(e: unknown): e is WireError {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** A person-readable message for any rejection. */
export function errorMessage(e: unknown): string {
  if (isWireError(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export const api = {
  recentProjects: () => invoke<Recent[]>("recent_projects"),
  forgetProject: (path: string) => invoke<void>("forget_project", { path }),
  currentProject: () => invoke<Current>("current_project"),
  pickProject: () => invoke<string | null>("pick_project"),
  openProject(path: string, onProgress: (e: ScanEvent) => void) {
    const ch = new Channel<ScanEvent>();
    ch.onmessage = onProgress;
    return invoke<Scanned>("open_project", { path, onProgress: ch });
  },
  refresh(onProgress: (e: ScanEvent) => void) {
    const ch = new Channel<ScanEvent>();
    ch.onmessage = onProgress;
    return invoke<Scanned | null>("refresh", { onProgress: ch });
  },
  /** Starts following the open project; `onChange` gets each committed batch of changes. */
  watch(onChange: (m: WatchMsg) => void) {
    const ch = new Channel<WatchMsg>();
    ch.onmessage = onChange;
    return invoke<void>("watch", { onChange: ch });
  },
  runs: (filter: string, sort: string[] = []) => invoke<Run[]>("runs", { filter, sort }),
  completions: () => invoke<Completions>("completions"),
  runDetail: (run: string) => invoke<Detail>("run_detail", { run }),
  diff: (runs: string[], onlyDifferences: boolean) => invoke<DiffRow[]>("diff", { runs, onlyDifferences }),
  async chart(req: {
    runs: string[];
    key: string;
    width: number;
    x: XAxis;
    range: [number, number] | null;
    smoothing: number;
  }): Promise<Series[]> {
    const buf = await invoke<ArrayBuffer>("chart", req);
    return decodeSeries(buf);
  },
  async artifact(run: string, path: string): Promise<ArtifactPreview> {
    const buf = await invoke<ArrayBuffer>("artifact", { run, path });
    return decodeArtifact(buf);
  },
  reveal: (run: string, path: string | null = null) => invoke<void>("reveal", { run, path }),
  openUrl: (url: string) => invoke<void>("open_url", { url }),
  saveText: (name: string, text: string) => invoke<string | null>("save_text", { name, text }),
  exportChart: (req: {
    runs: string[];
    colors: string[];
    key: string;
    x: XAxis;
    range: [number, number] | null;
    smoothing: number;
    logY: boolean;
    format: ImageFormat;
  }) => invoke<string | null>("export_chart", req),

  // The model registry. Refusals (policy, a missing comment, an unknown version) reject with
  // `{code: "refused", message}`: the message says why.
  registryMe: () => invoke<Me>("registry_me"),
  registryModels: () => invoke<RegModel[]>("registry_models"),
  registryModelAt: (name: string, at: number) => invoke<RegModel>("registry_model_at", { name, at }),
  registryHistory: (name: string) => invoke<HistoryItem[]>("registry_history", { name }),
  /** What `.runlens/registry/policy.yaml` protects, and whose approvals count. */
  registryPolicy: () => invoke<RegistryPolicy>("registry_policy"),
  registryRegister: (run: string, path: string, name: string, description: string | null) =>
    invoke<Written>("registry_register", { run, path, name, description }),
  /** `target` is NAME, NAME@VERSION or NAME@ALIAS. */
  registryChange: (target: string, change: RegistryChange) => invoke<Written>("registry_change", { target, change }),
  registryImport: (name: string | null) => invoke<Imported[]>("registry_import", { name }),
  registryVerify: (name: string | null) => invoke<Problem[]>("registry_verify", { name }),
  registryCard: (target: string) => invoke<ModelCard>("registry_card", { target }),

  // Deployment bundles. A refused export rejects with `{code: "refused", message}` (the engine's
  // reason), a cancelled one with `{code: "cancelled"}`.
  /** What exporting `target` (NAME@VERSION) would write, and why it would be refused. */
  bundlePlan: (target: string) => invoke<BundlePlan>("bundle_plan", { target }),
  bundleExport(target: string, outDir: string, format: BundleFormat, compress: BundleCompression, onProgress: (p: BundleProgress) => void) {
    const ch = new Channel<BundleProgress>();
    ch.onmessage = onProgress;
    return invoke<BundleWritten>("bundle_export", { target, outDir, format, compress, onProgress: ch });
  },
  /** Stops the running export; true when one was running. */
  bundleCancel: () => invoke<boolean>("bundle_cancel"),
  /** Shows an archive this session exported in the file manager. */
  bundleReveal: (path: string) => invoke<void>("bundle_reveal", { path }),
  /** The folder dialog, opened at `start`; null when cancelled. */
  bundlePickFolder: (start: string | null) => invoke<string | null>("bundle_pick_folder", { start }),

  // Data versions. A version is PATH@REV (REV a commit or "workspace").
  /** What DVC and Git LFS track, each path's versions newest first, and the runs and models that used each. */
  dataLs: (check = false) => invoke<DataListing>("data_ls", { check }),
  /** A table version's column statistics over every row and its first rows; `job` names it for
   * `dataShowCancel` (a cancelled one rejects with `{code: "cancelled"}`). */
  dataShow(spec: string, job: string, onProgress: (p: DataProgress) => void) {
    const ch = new Channel<DataProgress>();
    ch.onmessage = onProgress;
    return invoke<DataProfile>("data_show", { spec, job, onProgress: ch });
  },
  dataShowCancel: (job: string) => invoke<boolean>("data_show_cancel", { job }),
  /** Two versions: schema, row counts, with `key` the rows added/removed/changed; a folder's files. */
  dataDiff: (a: string, b: string, key: string | null) => invoke<DataDiff>("data_diff", { a, b, key }),
  /** How `current` differs from `reference` (both PATH@REV), column by column, under `rules`. */
  dataDrift: (reference: string, current: string, rules: DriftRules = "runlens") => invoke<DriftReport>("data_drift", { reference, current, rules }),
  /** The batches `data watch` scored for a model (every version), oldest first. */
  monitorScores: (model: string) => invoke<MonitorScore[]>("monitor_scores", { model }),
  /** Watches `dir` for new batches scored against the version `target` (NAME@ALIAS or NAME@VERSION)
   * names, every two seconds, with a desktop notification when a column crosses its threshold. */
  monitorWatch: (target: string, dir: string) => invoke<MonitorWatchState>("monitor_watch", { target, dir }),
  /** Stops watching for `target`; true when it was watched. */
  monitorUnwatch: (target: string) => invoke<boolean>("monitor_unwatch", { target }),
  /** The open project's folder watches. */
  monitorWatches: () => invoke<MonitorWatchState[]>("monitor_watches"),
  /** The folder dialog for a folder to watch, opened at `start`; null when cancelled. */
  monitorPickFolder: (start: string | null) => invoke<string | null>("monitor_pick_folder", { start }),
};

function asBuffer(b: ArrayBuffer | Uint8Array | number[]): ArrayBuffer {
  if (b instanceof ArrayBuffer) return b;
  if (b instanceof Uint8Array) return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  return new Uint8Array(b).buffer;
}

/** Reads the layout written by `wire::encode_series`. */
export function decodeSeries(raw: ArrayBuffer | Uint8Array | number[]): Series[] {
  const buf = asBuffer(raw);
  const dv = new DataView(buf);
  const count = dv.getUint32(0, true);
  let off = 8;
  const out: Series[] = [];
  for (let i = 0; i < count; i++) {
    const run = dv.getUint32(off, true);
    const kind = dv.getUint32(off + 4, true);
    const n = dv.getUint32(off + 8, true);
    off += 16;
    const x = new Float64Array(buf, off, n);
    off += n * 8;
    const y = new Float64Array(buf, off, n);
    off += n * 8;
    out.push({ run, smoothed: kind === 1, x, y });
  }
  return out;
}

/** Reads `u32 header length, header JSON, bytes` written by the `artifact` command. */
export function decodeArtifact(raw: ArrayBuffer | Uint8Array | number[]): ArtifactPreview {
  const buf = asBuffer(raw);
  const len = new DataView(buf).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, len)));
  return { ...header, bytes: new Uint8Array(buf, 4 + len) };
}
