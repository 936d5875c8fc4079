import { describe, expect, it } from "vitest";
import {
  alarmShare,
  batchName,
  driftBadge,
  driftBadges,
  driftSummary,
  driftTitle,
  monitorBatches,
  targetModel,
  watchSummary,
  watchTargets,
  monitorSummary,
  num3,
  referenceText,
  scoreName,
  columnPairs,
  diffSummary,
  fileChanges,
  isTable,
  keyCandidates,
  meanShift,
  nullShare,
  orderPair,
  overlay,
  parseModelRef,
  progressFraction,
  runRefs,
  shares,
  shortHash,
  shortRev,
  spec,
  toggleCompare,
  topText,
  versionsUsedBy,
  versionTitle,
} from "./data";
import type { ColumnDrift, ColumnStats, DataDiff, DataListing, DataProfile, DataVersion, DriftReport, MonitorScore, MonitorWatchState, Run } from "./types";

function ver(rev: string, extra: Partial<DataVersion> = {}): DataVersion {
  return { rev, at: rev === "workspace" ? null : 1, message: rev === "workspace" ? null : `msg ${rev}`, md5: "m", size: 10, nfiles: null, in_cache: true, runs: [], models: [], ...extra };
}

function col(name: string, extra: Partial<ColumnStats> = {}): ColumnStats {
  return {
    name,
    type: "integer",
    count: 10,
    nulls: 0,
    min: 0,
    max: 9,
    mean: 4.5,
    std: 3,
    q25: 2,
    q50: 4.5,
    q75: 7,
    distinct: 10,
    top: [],
    histogram: null,
    ...extra,
  };
}

function profile(columns: ColumnStats[]): DataProfile {
  return { path: "t.csv", rev: "r", rows: 10, columns, head: [], warnings: [] };
}

describe("versions", () => {
  it("names versions shortly and as the engine takes them", () => {
    expect(shortRev("4558dd4504653e5e35c9f4d3bc759f32e8f3bb57")).toBe("4558dd45");
    expect(shortRev("workspace")).toBe("workspace");
    expect(spec("data/train.csv", "workspace")).toBe("data/train.csv@workspace");
    expect(versionTitle(ver("workspace"))).toMatch(/Working tree/);
    expect(versionTitle(ver("abc", { message: "  " }))).toBe("(no message)");
  });

  it("knows which files are tables", () => {
    for (const t of ["data/train.csv", "x.TSV", "a.jsonl", "b.ndjson", "c.parquet"]) expect(isTable(t)).toBe(true);
    for (const t of ["data/images", "blob.bin", "model.json", "csv"]) expect(isTable(t)).toBe(false);
  });

  it("compares two versions at most, the older as the reference", () => {
    const vs = [ver("workspace"), ver("c3"), ver("c2"), ver("c1")];
    let chosen = toggleCompare([], "c2");
    chosen = toggleCompare(chosen, "c3");
    expect(orderPair(vs, chosen)).toEqual(["c2", "c3"]);
    chosen = toggleCompare(chosen, "c1");
    expect(chosen).toEqual(["c3", "c1"]);
    expect(orderPair(vs, chosen)).toEqual(["c1", "c3"]);
    expect(orderPair(vs, toggleCompare(chosen, "c1"))).toBeNull();
    expect(orderPair(vs, ["c1", "gone"])).toBeNull();
  });

  it("links runs by id to their path and name; unknown runs stay, without a path", () => {
    const runs = [{ id: "r1", path: "mlruns/1/r1", name: "train-v1" }, { id: "r2", path: "mlruns/1/r2", name: null }] as Run[];
    expect(runRefs(["r1", "r2", "r3abcdefgh"], runs)).toEqual([
      { id: "r1", path: "mlruns/1/r1", name: "train-v1" },
      { id: "r2", path: "mlruns/1/r2", name: "r2" },
      { id: "r3abcdefgh", path: null, name: "r3abcdef" },
    ]);
  });

  it("parses model references", () => {
    expect(parseModelRef("churn-gbm@3")).toEqual({ name: "churn-gbm", version: 3 });
    expect(parseModelRef("a@b@2")).toEqual({ name: "a@b", version: 2 });
    expect(parseModelRef("plain")).toEqual({ name: "plain", version: null });
    expect(parseModelRef("m@x")).toEqual({ name: "m", version: null });
  });

  it("finds the versions a run or a model version used", () => {
    const l: DataListing = {
      items: [
        { path: "a.csv", kind: "file", tracked_by: [], versions: [ver("c2", { runs: ["r2"], models: ["m@2"] }), ver("c1", { runs: ["r1"] })] },
        { path: "imgs", kind: "dir", tracked_by: [], versions: [ver("c1", { runs: ["r1", "r2"] })] },
      ],
      notes: [],
      problems: [],
    };
    expect(versionsUsedBy(l, { run: "r2" }).map((u) => `${u.path}@${u.rev}`)).toEqual(["a.csv@c2", "imgs@c1"]);
    expect(versionsUsedBy(l, { model: "m@2" }).map((u) => `${u.path}@${u.rev}`)).toEqual(["a.csv@c2"]);
    expect(versionsUsedBy(l, { run: "nope" })).toEqual([]);
  });

  it("measures progress", () => {
    expect(progressFraction(null)).toBe(0);
    expect(progressFraction({ done: 5, total: 0 })).toBe(0);
    expect(progressFraction({ done: 5, total: 10 })).toBe(0.5);
    expect(progressFraction({ done: 15, total: 10 })).toBe(1);
  });
});

describe("column statistics", () => {
  it("pairs the columns of two versions: the current's order, then the removed", () => {
    const a = profile([col("id"), col("old"), col("x")]);
    const b = profile([col("x"), col("id"), col("new")]);
    expect(columnPairs(a, b).map((p) => [p.name, !!p.a, !!p.b])).toEqual([
      ["x", true, true],
      ["id", true, true],
      ["new", false, true],
      ["old", true, false],
    ]);
  });

  it("offers unique, never-null columns in both versions as keys first, id-like names leading", () => {
    const a = profile([col("plan", { type: "string", distinct: 3 }), col("row", { distinct: 10 }), col("customer_id", { distinct: 10 }), col("gone")]);
    const b = profile([col("plan", { type: "string", distinct: 3 }), col("row", { distinct: 10 }), col("customer_id", { distinct: 10 })]);
    expect(keyCandidates(a, b)).toEqual(["customer_id", "row", "plan"]);
    const withNull = profile([col("customer_id", { nulls: 1, distinct: 10 }), col("row")]);
    expect(keyCandidates(withNull, b)).toEqual(["row", "customer_id"]);
    expect(keyCandidates(null, b)).toEqual([]);
  });

  it("formats top values, null shares and mean shifts", () => {
    expect(topText(col("plan", { type: "string", top: [["basic", 272], ["plus", 163], ["pro", 125], ["x", 1]] }))).toBe("basic (272) · plus (163) · pro (125)");
    expect(topText(col("f", { top: [[null, 2], [1.5, 1]] }))).toBe("null (2) · 1.5 (1)");
    expect(nullShare(col("a", { count: 7, nulls: 1 }))).toBe("13%");
    expect(nullShare(col("a", { count: 39, nulls: 1 }))).toBe("2.5%");
    expect(nullShare(col("a", { count: 0, nulls: 0 }))).toBe("");
    expect(meanShift(col("a", { mean: 50 }), col("a", { mean: 55 }))).toBe("+5 (+10.0%)");
    expect(meanShift(col("a", { mean: 2 }), col("a", { mean: 1.5 }))).toBe("−0.5 (−25.0%)");
    expect(meanShift(col("a", { mean: 0 }), col("a", { mean: 1 }))).toBe("+1");
    expect(meanShift(null, col("a"))).toBe("");
    expect(meanShift(col("a", { mean: "NaN" }), col("a"))).toBe("");
  });
});

describe("histograms on shared bins", () => {
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

  it("spans both ranges with one set of edges, each side summing to 1", () => {
    const a = { edges: [0, 1, 2, 3, 4], counts: [1, 2, 3, 4] };
    const b = { edges: [2, 4, 6, 8, 10], counts: [5, 5, 0, 10] };
    const o = overlay(a, b, 10)!;
    expect(o.edges[0]).toBe(0);
    expect(o.edges[10]).toBe(10);
    expect(o.edges).toHaveLength(11);
    expect(sum(o.a!)).toBeCloseTo(1, 12);
    expect(sum(o.b!)).toBeCloseTo(1, 12);
    // a lives in [0, 4]: nothing of it past 4; b nothing before 2.
    expect(o.a!.slice(4).every((v) => v === 0)).toBe(true);
    expect(o.b!.slice(0, 2).every((v) => v === 0)).toBe(true);
    // a's bin [1,2) holds 2/10 of it: exactly shared bin 1.
    expect(o.a![1]).toBeCloseTo(0.2, 12);
    // b's first bin [2,4) (5 of 20) splits evenly over shared bins 2 and 3.
    expect(o.b![2]).toBeCloseTo(0.125, 12);
    expect(o.b![3]).toBeCloseTo(0.125, 12);
  });

  it("spreads a bin over the shared bins it overlaps in proportion", () => {
    const o = overlay({ edges: [0, 3], counts: [6] }, { edges: [0, 2], counts: [1] }, 2)!;
    expect(o.edges).toEqual([0, 1.5, 3]);
    expect(o.a).toEqual([0.5, 0.5]);
    expect(o.b![0]).toBeCloseTo(0.75, 12);
    expect(o.b![1]).toBeCloseTo(0.25, 12);
  });

  it("takes one side alone, a constant column, or none", () => {
    const one = overlay(null, { edges: [0, 1, 2], counts: [1, 3] }, 4)!;
    expect(one.a).toBeNull();
    expect(sum(one.b!)).toBeCloseTo(1, 12);
    // numpy gives a constant column the edges [x-0.5, x+0.5]
    const k = overlay({ edges: [4.5, 5.5], counts: [10] }, { edges: [4.5, 5.5], counts: [3] }, 5)!;
    expect(sum(k.a!)).toBeCloseTo(1, 12);
    expect(overlay(null, undefined)).toBeNull();
    expect(overlay({ edges: [0], counts: [] }, null)).toBeNull();
    expect(shares({ edges: [0, 1, 2], counts: [1, 3] })).toEqual([0.25, 0.75]);
    expect(shares({ edges: [0, 1], counts: [0] })).toEqual([0]);
  });
});

describe("diffs", () => {
  const base: DataDiff = {
    kind: "table",
    a: { path: "t.csv", rev: "c1", rows: 500 },
    b: { path: "t.csv", rev: "c2", rows: 560 },
    columns_added: [],
    columns_removed: [],
    columns_retyped: [],
    key: null,
    rows_added: null,
    rows_removed: null,
    rows_changed: null,
    changed_cells: [],
    files: null,
    warnings: [],
  };

  it("summarises a table diff with and without a key", () => {
    expect(diffSummary(base)).toBe("500 → 560 rows (+60) · same columns");
    expect(diffSummary({ ...base, key: "id", rows_added: 60, rows_removed: 0, rows_changed: 5, columns_added: ["x"] })).toBe(
      "60 added · 0 removed · 5 changed · 500 → 560 rows (+60) · 1 schema change",
    );
    expect(diffSummary({ ...base, b: { ...base.b, rows: 400 } })).toMatch(/\(−100\)/);
  });

  it("lists a folder's files, without the folder itself, by path", () => {
    const files = {
      added: [{ path: "data/images/d.txt", hash: "d8" }],
      deleted: [{ path: "data/images/c.bin", hash: "b2" }],
      modified: [
        { path: "data/images/", hash: { old: "96.dir", new: "6e.dir" } },
        { path: "data/images/a.txt", hash: { old: "9b", new: "c1" } },
      ],
      renamed: [{ path: { old: "data/images/b.txt", new: "data/images/b2.txt" }, hash: "53" }],
    };
    expect(fileChanges(files).map((c) => `${c.change} ${c.old ? `${c.old} → ` : ""}${c.path}`)).toEqual([
      "modified data/images/a.txt",
      "renamed data/images/b.txt → data/images/b2.txt",
      "deleted data/images/c.bin",
      "added data/images/d.txt",
    ]);
    expect(diffSummary({ ...base, kind: "folder", files })).toBe("1 added · 1 deleted · 1 modified · 1 renamed");
    expect(fileChanges(null)).toEqual([]);
  });

  it("shortens hashes of every kind", () => {
    expect(shortHash("6e8c92beddda7414bd614f1029fdf634.dir")).toBe("6e8c92be…");
    expect(shortHash("sha256:dbde82e4cf8354640eda")).toBe("dbde82e4…");
    expect(shortHash("abc")).toBe("abc");
  });
});

function cd(name: string, extra: Partial<ColumnDrift> = {}): ColumnDrift {
  return {
    name,
    type: "float",
    method: "ks",
    drift: false,
    score: 0.5,
    ks: { statistic: 0.1, p_value: 0.1 },
    wasserstein: 1,
    wasserstein_norm: 0.05,
    chi2: null,
    z: null,
    psi: 0.02,
    js: 0.03,
    share_change: null,
    null_share: { reference: 0, current: 0.125 },
    ...extra,
  };
}

function report(columns: ColumnDrift[], rules = "runlens"): DriftReport {
  const n = columns.filter((c) => c.drift).length;
  return { path: "data/train.csv", rev: "f9b0aed3", rules, columns, share_drifted: n / columns.length, drift: n > 0, warnings: [] };
}

describe("drift badges", () => {
  it("says drift or no drift, and leaves untested columns grey", () => {
    expect(driftBadge(cd("monthly_charges", { drift: true, score: 9.6e-11 }), "runlens")).toMatchObject({ level: "drift", label: "drift" });
    expect(driftBadge(cd("tenure"), "runlens")).toMatchObject({ level: "ok", label: "no drift" });
    expect(driftBadge(cd("id", { method: "id", score: null }), "runlens")).toMatchObject({ level: "muted", label: "key" });
    expect(driftBadge(cd("x", { method: "none", score: null }), "runlens")).toMatchObject({ level: "muted", label: "no values" });
    expect(driftBadge(cd("note", { method: "text", score: null }), "evidently")).toMatchObject({ level: "muted", label: "text" });
  });

  it("names the method, the deciding score, the effect sizes and the null shares in the tooltip", () => {
    const t = driftTitle(cd("monthly_charges", { drift: true, score: 9.565e-11, psi: 0.26848, js: 0.18025, wasserstein_norm: 0.53352 }), "runlens");
    expect(t.split("\n")).toEqual([
      "monthly_charges: drift (rules: runlens)",
      "method: Kolmogorov-Smirnov",
      "score: p (Holm-adjusted) = 9.6e-11",
      "PSI: 0.268",
      "Jensen-Shannon: 0.18",
      "Wasserstein (normalized): 0.534",
      "nulls: 0% → 12.5%",
    ]);
    // A categorical column: no Wasserstein; a distance under evidently's rules.
    const plan = driftTitle(cd("plan", { method: "jensenshannon", score: 0.149, wasserstein_norm: null, drift: true }), "evidently");
    expect(plan).toContain("score: distance = 0.149");
    expect(plan).toContain("Wasserstein (normalized): —");
    expect(driftTitle(cd("id", { method: "id", score: null }), "runlens")).not.toContain("score:");
    expect(scoreName("chi2_contingency", "runlens")).toBe("p (Holm-adjusted)");
    expect(scoreName("chisquare", "evidently")).toBe("p");
    expect(scoreName("wasserstein", "evidently")).toBe("distance");
    expect(num3("NaN")).toBe("NaN");
    expect(num3(null)).toBe("—");
  });

  it("counts the drifted columns in one line, with the rules", () => {
    const r = report([cd("id", { method: "id" }), cd("tenure"), cd("monthly_charges", { drift: true }), cd("plan", { method: "chi2_contingency", drift: true }), cd("churned")]);
    expect(driftSummary(r)).toBe("2 of 4 columns drifted, and a key column (rules: runlens)");
    expect(driftSummary(report([cd("a")], "evidently"))).toBe("0 of 1 column drifted (rules: evidently)");
    const b = driftBadges(r);
    expect([...b.keys()]).toEqual(["id", "tenure", "monthly_charges", "plan", "churned"]);
    expect(b.get("plan")!.label).toBe("drift");
    expect(b.get("tenure")!.label).toBe("no drift");
  });
});

describe("monitoring", () => {
  const col = (name: string, drift: boolean) => ({ name, drift, method: "ks", score: 0.5, psi: 0, js: 0, wasserstein_norm: 0, null_share: { reference: 0, current: 0 } });
  const score = (version: number, file: string, at: number, drifted: string[]): MonitorScore => ({
    model: "churn",
    version,
    file,
    md5: "m",
    at,
    reference: { path: "data/train.csv", rev: "4558dd4504653e5e35c9f4d3bc759f32e8f3bb57", md5: "x", size: 1, dvc_md5: "x" },
    drift: drifted.length > 0,
    share_drifted: drifted.length / 5,
    columns: ["churned", "id", "monthly_charges", "plan", "tenure"].map((n) => col(n, drifted.includes(n))),
    record: `.runlens/monitor/churn/${at}-${file}.json`,
  });

  it("keeps one version's batches in the order scored, with what drifted", () => {
    const scores = [score(1, "/land/2025-02.csv", 1000, []), score(2, "/land/other.csv", 1500, ["plan"]), score(1, "C:\\land\\2025-03.csv", 2000, ["monthly_charges", "plan"])];
    const b = monitorBatches(scores, 1);
    expect(b.map((x) => [x.n, x.name, x.drift, x.share, x.drifted])).toEqual([
      [1, "2025-02.csv", false, 0, []],
      [2, "2025-03.csv", true, 0.4, ["monthly_charges", "plan"]],
    ]);
    // The runlens rules alarm when any column drifts: one column's share.
    expect(alarmShare(b)).toBe(0.2);
    expect(alarmShare([])).toBeNull();
    expect(monitorSummary(b)).toMatch(/^2 batches · 1 drifted · last \d{4}-/);
    expect(monitorSummary([])).toBe("no batches scored");
    expect(batchName("plain.csv")).toBe("plain.csv");
    expect(referenceText({ path: "data/train.csv", rev: "4558dd4504653e5e35c9f4d3bc759f32e8f3bb57" })).toBe("data/train.csv@4558dd45");
    expect(referenceText({ path: "data/train.csv", rev: "workspace" })).toBe("data/train.csv@workspace");
  });
});

describe("watching a folder", () => {
  it("offers the model's aliases, those on the version first, then the version itself", () => {
    const model = { name: "churn", aliases: { staging: 2, champion: 1, archive: 1 } };
    expect(watchTargets(model, 1).map((t) => [t.target, t.label, t.version])).toEqual([
      ["churn@archive", "@archive (now v1)", 1],
      ["churn@champion", "@champion (now v1)", 1],
      ["churn@staging", "@staging (now v2)", 2],
      ["churn@1", "v1 only", 1],
    ]);
    expect(watchTargets(model, 2)[0].target).toBe("churn@staging");
    expect(watchTargets({ name: "m@x", aliases: {} }, 3).map((t) => t.target)).toEqual(["m@x@3"]);
    expect(targetModel("m@x@3")).toBe("m@x");
    expect(targetModel("churn@champion")).toBe("churn");
  });

  it("says what a watch did", () => {
    const w: MonitorWatchState = { target: "churn@champion", dir: "/land", started_at: 1, version: 2, batches: 0, drifted: 0, crossings: 0, last_error: null, last_pass_at: null };
    expect(watchSummary(w)).toBe("churn@champion → v2 · 0 batches scored");
    expect(watchSummary({ ...w, batches: 1, drifted: 1, crossings: 1 })).toBe("churn@champion → v2 · 1 batch scored · 1 drifted · 1 notification");
    expect(watchSummary({ ...w, version: null, batches: 3, drifted: 0 })).toBe("churn@champion · 3 batches scored · 0 drifted");
  });
});
