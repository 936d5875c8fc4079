// Generated from src-tauri/src/wire.rs by ts-rs: do not edit. To regenerate:
//   RUNLENS_UPDATE_TS=1 cargo test -p runlens-desktop wire
// (`cargo test` fails while this file is stale.)

/** A float that may be "NaN", "Infinity" or "-Infinity" (JSON has no such numbers). */
export type Num = number | "NaN" | "Infinity" | "-Infinity";

/** A table's cell as its reader typed it (as pandas reads it). */
export type Cell = string | number | boolean | null;

/**
 * An error as the front end sees it: it branches on `code`, and shows `message` to a person.
 * `refused` is a registry change the model's state or the project's policy does not allow.
 */
export type WireError = { code: string, message: string, };

/**
 * A project in the recent list (kept in `recent.json` in the data dir).
 */
export type Recent = { path: string, name: string, 
/**
 * Milliseconds since the epoch.
 */
opened_at: number, runs: number, };

export type Current = { 
/**
 * The open project's folder.
 */
open: string | null, 
/**
 * A folder given on the command line, waiting to be opened.
 */
requested: string | null, };

/**
 * Indexing progress, sent at most every 50 ms.
 */
export type ScanEvent = { "kind": "discovered", units: number, } | { "kind": "read", done: number, total: number, points: number, };

export type Scanned = { path: string, name: string, runs: number, 
/**
 * Points added by this scan.
 */
points: number, units_read: number, units_total: number, elapsed_ms: number, cancelled: boolean, issues: Array<Issue>, };

/**
 * What the watcher sends: the changes one batch committed, or a note for the user.
 */
export type WatchMsg = { "kind": "changes", 
/**
 * Run ids (as the run list has them) that are new or changed status.
 */
runs: Array<string>, 
/**
 * (run id, metric key) with new points.
 */
points: Array<[string, string]>, removed: Array<string>, 
/**
 * Registry models whose events changed (someone wrote one); "" when the registry's
 * policy or keys changed, which can change every model.
 */
registry: Array<string>, } | { "kind": "notice", message: string, };

/**
 * A run as the page gets it: the core's run JSON (the CLI's shape, `RunRow::to_json`) plus
 * `user`. A test pins the two to the same JSON.
 */
export type Run = { id: string, source: string, path: string, name: string | null, experiment: string | null, status: string | null, start_time: number | null, end_time: number | null, parent_id: string | null, params: { [key in string]: string }, tags: { [key in string]: string }, 
/**
 * Serialized by the core (`MetricSummary`'s own `Serialize`).
 */
metrics: { [key in string]: Metric }, user: string | null, };

/**
 * The TypeScript shape of the core's `MetricSummary` JSON (only for the generated types).
 */
export type Metric = { count: number, last: Num, last_step: number, min: number | null, max: number | null, };

export type Completions = { params: { [key in string]: Array<string> }, tags: { [key in string]: Array<string> }, metrics: Array<string>, };

export type Issue = { file: string, line: number | null, message: string, };

export type FileEntry = { 
/**
 * Project-relative, '/'-separated: what `artifact` and `reveal` take.
 */
path: string, 
/**
 * Relative to the group it belongs to (the artifact folder, or the model's folder).
 */
name: string, size: number, };

/**
 * A model a run logged (an MLflow 3 logged model).
 */
export type Model = { model_id: string, name: string, step: number | null, dir: string | null, flavors: Array<string>, signature_inputs: string | null, signature_outputs: string | null, files: Array<FileEntry>, };

export type Input = { name: string, digest: string, source_type: string, source: string, context: string | null, tags: { [key in string]: string }, };

export type Detail = { run: Run, artifact_dir: string | null, artifacts: Array<FileEntry>, models: Array<Model>, inputs: Array<Input>, issues: Array<Issue>, };

/**
 * One param or tag across the runs being compared (the core's `DiffRow`).
 */
export type DiffRow = { section: "params" | "tags", key: string, 
/**
 * One value per run; null where the run does not have the key.
 */
values: Array<string | null>, differs: boolean, };

/**
 * The header before an artifact's bytes (`artifact` answers `u32 length, header JSON, bytes`).
 */
export type ArtifactHeader = { path: string, kind: "image" | "text" | "table" | "json" | "yaml" | "mlmodel" | "binary", mime: string | null, size: number, truncated: boolean, };

/**
 * The x axis of a chart.
 */
export type XAxis = "step" | "time" | "relative";

export type ImageFormat = "png" | "svg";

/**
 * Who the app writes registry events as: this user, this machine, this signing key.
 */
export type Me = { user: string, name: string | null, email: string | null, 
/**
 * "Ana Lima <ana@example.org>" when a git identity is known, else the OS user.
 */
display: string, host: string, 
/**
 * The id of this user's signing key; null until their first signed change makes it.
 */
key_id: string | null, };

/**
 * A registry model: ours (`source` "runlens") or MLflow's ("mlflow", "mlflow-db"; read-only).
 */
export type RegModel = { name: string, source: string, read_only: boolean, 
/**
 * Where an MLflow registry lives (its `models/<name>` folder or its `mlflow.db`).
 */
location: string | null, description: string | null, tags: { [key in string]: string }, 
/**
 * Alias -> version number.
 */
aliases: { [key in string]: number }, versions: Array<RegVersion>, 
/**
 * Files in the events folder that are not valid events, with why (left out of the state).
 */
invalid_files: Array<InvalidFile>, };

export type InvalidFile = { file: string, why: string, };

export type RegVersion = { version: number, run_id: string | null, 
/**
 * The run's path in the index: what `run_detail` takes. Null when the run is not indexed.
 */
run_path: string | null, stage: string | null, status: string | null, description: string | null, tags: { [key in string]: string }, aliases: Array<string>, created_at: number | null, created_by: string | null, 
/**
 * The root digest over the pinned files.
 */
digest: string | null, files: Array<PinnedFile>, 
/**
 * A pinned file's size or SHA-256 differs on disk now (or the file is gone).
 */
changed_on_disk: boolean, archived: boolean, approvals: Array<Approval>, 
/**
 * How many of `approvals` the project's policy counts now (the engine's count: listed
 * approvers only when the policy lists any, never the author's unless it allows that).
 */
counted_approvals: number, rejections: Array<Approval>, 
/**
 * The key that signed the register event (its author's).
 */
author_key: string, 
/**
 * The register event's hash.
 */
register: string, 
/**
 * Project-relative path of the model's files (a file or a folder).
 */
model_path: string | null, source: VersionSource, 
/**
 * What the version came from, recorded when it was registered; null for MLflow's versions.
 */
lineage: Lineage | null, 
/**
 * Where an imported version came from.
 */
imported_from: ImportedFrom | null, 
/**
 * The reference dataset its drift is measured against (`data reference`), if set.
 */
dataset: ReferenceData | null, };

export type PinnedFile = { 
/**
 * Inside the model (a folder's files) or the file's name.
 */
path: string, size: number, sha256: string, };

export type Approval = { by: string, at: number, comment: string, 
/**
 * The key that signed it.
 */
key: string, 
/**
 * Whether the project's policy counts this person's approval of this version (a listed
 * approver's, not the author's unless the policy allows it). False for rejections.
 */
counts: boolean, };

/**
 * The project's registry policy (`.runlens/registry/policy.yaml`) as the engine reads it: what
 * it protects and whose approvals count. With no policy file, nothing is protected and a
 * version's author still may not approve it.
 */
export type RegistryPolicy = { 
/**
 * The keys whose approvals count; empty: anyone's (but the author's, unless allowed).
 */
approvers: Array<PolicyKey>, 
/**
 * Whether a version's author may approve it (the default: no).
 */
author_may_approve: boolean, 
/**
 * Events before this time (ms) are not judged by the policy.
 */
since: number | null, 
/**
 * Protected aliases (without `@`): approvals needed.
 */
aliases: { [key in string]: number }, 
/**
 * Protected stages, as the policy writes them (matched case-insensitively): approvals needed.
 */
stages: { [key in string]: number }, };

/**
 * A key the policy names, with who signs with it when the project's history tells.
 */
export type PolicyKey = { 
/**
 * The key id (16 hex digits).
 */
key: string, 
/**
 * "Lee Chen <lee@example.org>": the author of the latest event this key signed, if any.
 */
name: string | null, };

/**
 * Where a version's files were taken from (the register event's `source`).
 */
export type VersionSource = { 
/**
 * The run's format (mlflow, lightning, ...), or the MLflow store for MLflow's versions.
 */
format: string | null, run_id: string | null, run_path: string | null, run_name: string | null, experiment: string | null, 
/**
 * Project-relative path of the files.
 */
path: string | null, 
/**
 * "file", "folder", "mlflow-model", "logged-model" (or "unresolved").
 */
kind: string | null, model_id: string | null, 
/**
 * MLflow's source URI (MLflow's versions).
 */
uri: string | null, };

/**
 * Where an imported version came from in MLflow.
 */
export type ImportedFrom = { source: string | null, location: string | null, name: string | null, version: number | null, stage: string | null, created_by: string | null, created_at: number | null, };

/**
 * A version's lineage (the register event's `lineage`). Every part is read leniently: a part
 * that does not have the expected shape is left empty, the rest still shows.
 */
export type Lineage = { run: LineageRun | null, params: { [key in string]: string }, 
/**
 * Final values; NaN and ±inf as strings.
 */
metrics: { [key in string]: Num | null }, code: LineageCode | null, data: LineageData, model: LineageModel | null, };

export type LineageRun = { format: string | null, id: string | null, path: string | null, name: string | null, experiment: string | null, status: string | null, start_time: number | null, end_time: number | null, };

export type LineageCode = { commit: string | null, 
/**
 * Where the commit was found: "run tag mlflow.source.git.commit", "project HEAD".
 */
from: string | null, branch: string | null, repo: string | null, 
/**
 * Whether the tree was dirty, when the run's tool recorded it.
 */
dirty: boolean | null, };

export type LineageData = { inputs: Array<LineageInput>, dvc: Array<DvcDep>, };

export type LineageInput = { name: string | null, digest: string | null, source_type: string | null, source: string | null, context: string | null, };

export type DvcDep = { stage: string | null, path: string | null, md5: string | null, size: number | null, };

/**
 * What the model's `MLmodel` says (never the model file itself).
 */
export type LineageModel = { 
/**
 * Flavor -> its version fields.
 */
flavors: { [flavor in string]: { [key in string]: unknown } }, signature: Signature | null, 
/**
 * The saved input example, parsed as JSON when it is.
 */
input_example: unknown, mlflow_version: string | null, utc_time_created: string | null, model_size_bytes: number | null, };

/**
 * An MLmodel signature: MLflow's column or tensor specs, as MLflow wrote them.
 */
export type Signature = { inputs: unknown, outputs: unknown, params: unknown, };

/**
 * Who wrote an event.
 */
export type Actor = { 
/**
 * The OS user.
 */
user: string, 
/**
 * The git identity, when one was configured.
 */
name: string | null, email: string | null, };

/**
 * One event of a model's history, in fold order.
 */
export type HistoryItem = { 
/**
 * The event's SHA-256 (its file name).
 */
hash: string, 
/**
 * register, set_alias, remove_alias, set_tag, delete_tag, set_description, transition,
 * request_approval, approve, reject, archive, restore, set_dataset.
 */
kind: string, version: number | null, 
/**
 * When it was written (UTC, ms).
 */
at: number, actor: Actor, 
/**
 * "Ana Lima <ana@example.org>" when a git identity is known, else the OS user.
 */
who: string, 
/**
 * The machine it was written on.
 */
host: string, parents: Array<string>, 
/**
 * The id of the key that signed it.
 */
signed_by: string, payload: { [key in string]: unknown }, 
/**
 * Why the event does not count (the policy refused it, its version is unknown), if it does not.
 */
skipped: string | null, };

/**
 * A change to a model (no version in the target) or a version (`NAME@VERSION` or `NAME@ALIAS`).
 */
export type RegistryChange = { "kind": "set_alias", alias: string, } | { "kind": "remove_alias", alias: string, } | { "kind": "set_tag", key: string, value: string, } | { "kind": "delete_tag", key: string, } | { "kind": "set_description", description: string, } | { "kind": "transition", stage: string, comment: string, } | { "kind": "request_approval", comment: string, } | { "kind": "approve", comment: string, } | { "kind": "reject", comment: string, } | { "kind": "archive" } | { "kind": "restore" };

/**
 * What a registry write did.
 */
export type Written = { name: string, version: number | null, digest: string | null, 
/**
 * The new event's hash.
 */
event: string, };

/**
 * What importing one MLflow model did.
 */
export type Imported = { name: string, 
/**
 * "mlflow" or "mlflow-db".
 */
source: string, location: string, 
/**
 * Our version numbers this import made.
 */
versions: Array<number>, 
/**
 * What was not imported, and why.
 */
skipped: Array<string>, };

/**
 * One thing `verify` found that does not hold.
 */
export type Problem = { model: string, 
/**
 * The event's hash, when the problem is an event.
 */
event: string | null, 
/**
 * The file, project-relative, when the problem is a file.
 */
file: string | null, message: string, };

/**
 * A version's model card, generated into the app's cache folder.
 */
export type ModelCard = { 
/**
 * Where the card was written (the Markdown file).
 */
path: string, markdown: string, 
/**
 * The training curves it links to, by the name the Markdown uses.
 */
images: Array<CardImage>, };

export type CardImage = { 
/**
 * The file name, as the Markdown links it.
 */
name: string, 
/**
 * `data:image/png;base64,...`
 */
data_url: string, };

/**
 * What exporting a version would write, before anything is written (the engine's `BundlePlan`),
 * and the folder the dialog offers first.
 */
export type BundlePlan = { model: string, version: number, digest: string | null, 
/**
 * The archive's name as a plain tar (`<name>-<version>.tar`).
 */
file_name: string, 
/**
 * Every file but the signature and the public key, which the export adds.
 */
files: Array<BundleFile>, bytes: number, 
/**
 * The model's flavors (MLflow's MLmodel), e.g. `["python_function", "sklearn"]`.
 */
flavors: Array<string>, 
/**
 * One line per way `serve/` offers to serve it; empty when there is no recipe for this model.
 */
serve: Array<string>, 
/**
 * Why an export would be refused (nothing would be written), e.g. files changed on disk.
 */
refused: string | null, 
/**
 * Where the dialog proposes to write: the Downloads folder, else the project's parent.
 */
default_dir: string, };

/**
 * One file of a bundle, by its path inside it (`model/model.pkl`).
 */
export type BundleFile = { path: string, bytes: number, part: "model" | "serve" | "card" | "metadata" | "signature", };

/**
 * The container a bundle is written as: a tar of `<name>-<version>/`, or an OCI image layout.
 */
export type BundleFormat = "tar" | "oci";

/**
 * How a tar bundle is compressed (an OCI bundle never is).
 */
export type BundleCompression = "none" | "zstd";

/**
 * How far an export is, sent at most every 50 ms and once at the end.
 */
export type BundleProgress = { files_done: number, files_total: number, bytes_done: number, bytes_total: number, };

/**
 * What an export wrote.
 */
export type BundleWritten = { 
/**
 * The archive: what `bundle_reveal` takes.
 */
path: string, model: string, version: number, digest: string, 
/**
 * Files in the bundle and their bytes.
 */
files: number, bytes: number, };

/**
 * What the project tracks (DVC, Git LFS) and its versions through the git history (`data ls`).
 */
export type DataListing = { items: Array<DataItem>, 
/**
 * What could not be seen: not a repository, a shallow clone, a file that does not parse.
 */
notes: Array<string>, 
/**
 * With `check`: each version whose bytes here do not hash to what was recorded.
 */
problems: Array<string>, };

/**
 * A tracked file or folder and its versions, newest first.
 */
export type DataItem = { path: string, 
/**
 * "file" or "dir".
 */
kind: string, 
/**
 * What tracks it: `.dvc` files, `dvc.lock:<stage>`, `git-lfs`.
 */
tracked_by: Array<string>, versions: Array<DataVersion>, };

/**
 * One version of a tracked path.
 */
export type DataVersion = { 
/**
 * The commit id, or "workspace" for the working tree when it differs from HEAD.
 */
rev: string, 
/**
 * The commit's time, ms since the epoch (null for the working tree).
 */
at: number | null, 
/**
 * The commit's summary line.
 */
message: string | null, 
/**
 * DVC's md5 (`<md5>.dir` for a folder); for a Git LFS file, `sha256:<oid>`.
 */
md5: string, size: number | null, nfiles: number | null, 
/**
 * Whether its bytes can be read here (DVC cache, LFS objects, or the working tree).
 */
in_cache: boolean, 
/**
 * Ids of the runs made at a commit where the path had this version.
 */
runs: Array<string>, 
/**
 * Registered model versions ("name@version") made from such runs.
 */
models: Array<string>, };

/**
 * How far `data_show` has read: bytes of the version's file, sent at most every 50 ms and once
 * at the end.
 */
export type DataProgress = { done: number, total: number, 
/**
 * Sent once, first, as soon as they are read: the column names and the first rows, before
 * any statistics.
 */
columns: Array<string> | null, head: Array<{ [column in string]: Cell }> | null, 
/**
 * One column's statistics as soon as they are finished, with its index in `columns` and the
 * table's row count (after every byte was read; the rest follow, then the whole profile).
 */
column: ColumnDone | null, };

/**
 * A column finished while the others still are (`DataProgress::column`).
 */
export type ColumnDone = { index: number, rows: number, stats: ColumnStats, };

/**
 * A table's column statistics over every row, and its first rows (`data show`).
 */
export type DataProfile = { path: string, 
/**
 * "workspace" or the commit id.
 */
rev: string, rows: number, columns: Array<ColumnStats>, 
/**
 * The first rows, column name to cell.
 */
head: Array<{ [column in string]: Cell }>, 
/**
 * A recomputed hash that differs from what DVC recorded, and the like.
 */
warnings: Array<string>, };

/**
 * One column's statistics; what does not apply is null. A string column's min, max, mean and
 * std are of its values' lengths.
 */
export type ColumnStats = { name: string, 
/**
 * "integer", "float", "boolean", "string", or "empty" (only nulls).
 */
type: string, count: number, nulls: number, min: Num | null, max: Num | null, mean: Num | null, std: Num | null, q25: Num | null, q50: Num | null, q75: Num | null, distinct: number, 
/**
 * The ten most frequent values with their counts, most frequent first.
 */
top: Array<[Cell, number]>, 
/**
 * Numeric columns: `numpy.histogram(x, 10)`.
 */
histogram: Histogram | null, };

export type Histogram = { 
/**
 * counts.length + 1 bin edges, ascending.
 */
edges: Array<number>, counts: Array<number>, };

/**
 * Two versions of a dataset (`data diff`): for tables, the schema, row counts and (with a key)
 * the rows added, removed and changed; for DVC folders, their files.
 */
export type DataDiff = { 
/**
 * "table" or "folder".
 */
kind: string, a: DiffSide, b: DiffSide, 
/**
 * Tables: columns only in b.
 */
columns_added: Array<string>, 
/**
 * Tables: columns only in a.
 */
columns_removed: Array<string>, columns_retyped: Array<Retyped>, 
/**
 * The key rows were matched by (tables, when one was given).
 */
key: string | null, rows_added: number | null, rows_removed: number | null, rows_changed: number | null, 
/**
 * Up to 20 changed cells, in b's row order.
 */
changed_cells: Array<ChangedCell>, 
/**
 * Folders: their files as `dvc diff --json --show-hash` lists them.
 */
files: FolderFiles | null, 
/**
 * Duplicate keys and the like.
 */
warnings: Array<string>, };

export type DiffSide = { path: string, 
/**
 * "workspace" or the commit id.
 */
rev: string, 
/**
 * Rows of a table; files of a folder.
 */
rows: number, };

export type Retyped = { name: string, from: string, to: string, };

export type ChangedCell = { key: Cell, column: string, a: Cell, b: Cell, };

/**
 * A folder's files between two versions (`dvc diff --json --show-hash`'s lists). A list that
 * does not have the expected shape is left empty.
 */
export type FolderFiles = { added: Array<FolderFile>, deleted: Array<FolderFile>, 
/**
 * The folder itself is listed (its path ends in "/") when its `.dir` hash changed.
 */
modified: Array<FolderChange>, renamed: Array<FolderRename>, };

export type FolderFile = { path: string, hash: string, };

export type OldNew = { old: string, new: string, };

export type FolderChange = { path: string, hash: OldNew, };

export type FolderRename = { path: OldNew, hash: string, };

/**
 * Which rules decide drift, as the page names them.
 */
export type DriftRules = "runlens" | "evidently";

/**
 * One current table against the reference (`data drift`).
 */
export type DriftReport = { path: string, 
/**
 * "workspace", a commit id, or "file".
 */
rev: string, 
/**
 * "runlens" or "evidently": the rules that decided.
 */
rules: string, columns: Array<ColumnDrift>, share_drifted: Num, drift: boolean, warnings: Array<string>, };

/**
 * One column's drift; what does not apply is null.
 */
export type ColumnDrift = { name: string, 
/**
 * The current's type as `data show` has it.
 */
type: string, 
/**
 * The test that decided: "ks", "chi2_contingency", "id" (a key column, never drifted),
 * "wasserstein", "chisquare", "z", "jensenshannon", "text", or "none".
 */
method: string, drift: boolean, 
/**
 * The deciding value: the p-value (runlens: Holm-adjusted) or the distance.
 */
score: Num | null, ks: TestValue | null, wasserstein: Num | null, wasserstein_norm: Num | null, chi2: TestValue | null, z: TestValue | null, psi: Num | null, js: Num | null, 
/**
 * The largest change in one value's share.
 */
share_change: Num | null, null_share: NullShare, };

export type TestValue = { statistic: Num, p_value: Num, };

/**
 * The share of nulls in the reference and in the current.
 */
export type NullShare = { reference: Num | null, current: Num | null, };

/**
 * A model version's reference dataset (`data reference`): what its drift is measured against.
 */
export type ReferenceData = { path: string, 
/**
 * "workspace" or the commit id.
 */
rev: string, 
/**
 * The md5 of the bytes, and DVC's record of them.
 */
md5: string | null, size: number | null, dvc_md5: string | null, };

/**
 * One batch `data watch` scored against a model version's reference dataset (a file under
 * `.runlens/monitor/<model>/`), always under the runlens rules.
 */
export type MonitorScore = { model: string, version: number, 
/**
 * The batch file as given to `data watch`, and the md5 of its bytes.
 */
file: string, md5: string, 
/**
 * When it was scored, ms since the epoch (a pass's batches share it).
 */
at: number, reference: ReferenceData | null, drift: boolean, share_drifted: Num, 
/**
 * Per column, in name order.
 */
columns: Array<MonitorColumn>, 
/**
 * The score's file, project-relative.
 */
record: string, };

export type MonitorColumn = { name: string, drift: boolean, method: string, score: Num | null, psi: Num | null, js: Num | null, wasserstein_norm: Num | null, null_share: NullShare, };

/**
 * A folder watched for new batches in the app (`monitor_watch`): what it watches and what it did.
 */
export type MonitorWatchState = { 
/**
 * NAME@ALIAS or NAME@VERSION, resolved again at every pass.
 */
target: string, 
/**
 * The folder, canonical.
 */
dir: string, started_at: number, 
/**
 * The version the target named at the last pass.
 */
version: number | null, 
/**
 * Batches scored since it started, those that drifted, and those where a column crossed its
 * threshold (a notification each).
 */
batches: number, drifted: number, crossings: number, 
/**
 * Why the last pass failed (it tries again), or null.
 */
last_error: string | null, last_pass_at: number | null, };
