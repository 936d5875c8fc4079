// The shapes the desktop shell sends (src-tauri/src/wire.rs).

/** A float that may be "NaN", "Infinity" or "-Infinity". */
export type Num = number | "NaN" | "Infinity" | "-Infinity";

export interface Metric {
  count: number;
  last: Num;
  last_step: number;
  min: number | null;
  max: number | null;
}

export interface Run {
  id: string;
  path: string;
  source: string;
  name: string | null;
  experiment: string | null;
  status: string | null;
  start_time: number | null;
  end_time: number | null;
  parent_id: string | null;
  user: string | null;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, Metric>;
}

export interface Issue {
  file: string;
  line: number | null;
  message: string;
}

export interface FileEntry {
  path: string;
  name: string;
  size: number;
}

export interface Model {
  model_id: string;
  name: string;
  step: number | null;
  dir: string | null;
  flavors: string[];
  signature_inputs: string | null;
  signature_outputs: string | null;
  files: FileEntry[];
}

export interface Input {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  context: string | null;
  tags: Record<string, string>;
}

export interface Detail {
  run: Run;
  artifact_dir: string | null;
  artifacts: FileEntry[];
  models: Model[];
  inputs: Input[];
  issues: Issue[];
}

export interface Scanned {
  path: string;
  name: string;
  runs: number;
  points: number;
  units_read: number;
  units_total: number;
  elapsed_ms: number;
  cancelled: boolean;
  issues: Issue[];
}

/** What the watcher sends (`commands::WatchMsg`). */
export type WatchMsg =
  | { kind: "changes"; runs: string[]; points: [string, string][]; removed: string[] }
  | { kind: "notice"; message: string };

export type ScanEvent =
  | { kind: "discovered"; units: number }
  | { kind: "read"; done: number; total: number; points: number };

export interface Recent {
  path: string;
  name: string;
  opened_at: number;
  runs: number;
}

export interface Completions {
  params: Record<string, string[]>;
  tags: Record<string, string[]>;
  metrics: string[];
}

export interface WireError {
  code: string;
  message: string;
}

export type XAxis = "step" | "time" | "relative";

/** One decoded chart series. */
export interface Series {
  /** Index into the runs the chart asked for. */
  run: number;
  smoothed: boolean;
  x: Float64Array;
  y: Float64Array;
}

export interface ArtifactPreview {
  path: string;
  kind: "image" | "text" | "table" | "json" | "yaml" | "mlmodel" | "binary";
  mime: string | null;
  size: number;
  truncated: boolean;
  bytes: Uint8Array;
}
