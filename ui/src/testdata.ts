// Registry shapes for the UI tests, as the shell sends them.
import type { RegModel, RegVersion } from "./types";

export function version(n: number, over: Partial<RegVersion> = {}): RegVersion {
  return {
    version: n,
    run_id: `run${n}`,
    run_path: `mlruns/1/run${n}`,
    stage: null,
    status: null,
    description: null,
    tags: {},
    aliases: [],
    created_at: 1767607200000 + n * 60000,
    created_by: "ana",
    digest: `sha256:${String(n).repeat(64)}`,
    files: [{ path: "model.pkl", size: 10, sha256: `${n}`.repeat(64) }],
    changed_on_disk: false,
    archived: false,
    approvals: [],
    // The engine's count: the approvals marked as counting, unless a test says otherwise.
    counted_approvals: (over.approvals ?? []).filter((a) => a.counts).length,
    rejections: [],
    author_key: "AAAA000011112222",
    register: `h${n}`,
    model_path: `mlruns/1/run${n}/artifacts/model`,
    source: { format: "mlflow", run_id: `run${n}`, run_path: `mlruns/1/run${n}`, run_name: `trial-${n}`, experiment: "churn", path: "model", kind: "mlflow-model", model_id: null, uri: null },
    lineage: {
      run: { format: "mlflow", id: `run${n}`, path: `mlruns/1/run${n}`, name: `trial-${n}`, experiment: "churn", status: "FINISHED", start_time: 0, end_time: 1 },
      params: { lr: String(0.1 * n), depth: "6" },
      metrics: { val_loss: 1 / n, acc: 0.8 + n / 100, odd: "NaN" },
      code: { commit: "0123456789abcdef", from: "project HEAD", branch: "main", repo: null, dirty: null },
      data: { inputs: [], dvc: [] },
      model: {
        flavors: { sklearn: { sklearn_version: "1.9.1" } },
        signature: { inputs: [{ type: "double", name: "age", required: true }, { type: "string", name: "plan", required: n > 1 }], outputs: [{ type: "long", required: true }], params: null },
        input_example: null,
        mlflow_version: "3.17.2",
        utc_time_created: null,
        model_size_bytes: null,
      },
    },
    imported_from: null,
    dataset: null,
    ...over,
  };
}

export function model(over: Partial<RegModel> = {}): RegModel {
  return {
    name: "churn",
    source: "runlens",
    read_only: false,
    location: null,
    description: "Churn classifier",
    tags: {},
    aliases: { champion: 2 },
    versions: [version(1), version(2, { aliases: ["champion"], stage: "Production" })],
    invalid_files: [],
    ...over,
  };
}
