import { describe, expect, it } from "vitest";
import { accept, complete } from "./completion";
import { cellText, columnId, compareValues, defaultPrefs, groupRuns, moveColumn, parseColumn, setAgg, sortRuns, toCsv, togglePin, visibleColumns } from "./columns";
import { align, defaultMetrics } from "./chartData";
import { numericParams } from "./diff";
import { decodeArtifact, decodeSeries } from "./api";
import { assignColors, PALETTE } from "./colors";
import { parseDelimited } from "./csv";
import { fmtNum } from "./format";
import type { Completions, Run } from "./types";

function run(id: string, params: Record<string, string>, metrics: Record<string, number | "NaN">, extra: Partial<Run> = {}): Run {
  return {
    id,
    path: `mlruns/1/${id}`,
    source: "mlflow",
    name: id,
    experiment: "e",
    status: "finished",
    start_time: 1000,
    end_time: 61000,
    parent_id: null,
    user: null,
    params,
    tags: {},
    metrics: Object.fromEntries(
      Object.entries(metrics).map(([k, v]) => [k, { count: 3, last: v, last_step: 2, min: typeof v === "number" ? v - 1 : null, max: typeof v === "number" ? v + 1 : null }]),
    ),
    ...extra,
  };
}

const C: Completions = {
  params: { lr: ["0.001", "0.01"], optimizer: ["adam", "sgd"], "odd key": ["x"] },
  tags: { team: ["vision"] },
  metrics: ["val_acc", "val_loss"],
};

describe("completion", () => {
  it("completes keys after an entity prefix", () => {
    const c = complete("params.o", 8, C);
    expect(c.items.map((i) => i.label)).toEqual(["optimizer", "odd key"]);
    expect(c.items[1].insert).toBe("params.`odd key`");
    expect(accept("params.o", c, c.items[0])).toEqual({ text: "params.optimizer ", caret: 17 });
  });
  it("completes values after a comparison, quoted", () => {
    const t = "params.optimizer = ";
    const c = complete(t, t.length, C);
    expect(c.items.map((i) => i.insert)).toEqual(["'adam'", "'sgd'"]);
    const t2 = "params.optimizer = 'a";
    const c2 = complete(t2, t2.length, C);
    expect(c2.items.map((i) => i.label)).toEqual(["adam"]);
    expect(accept(t2, c2, c2.items[0]).text).toBe("params.optimizer = 'adam' ");
  });
  it("offers AND/OR after a condition and prefixes at the start", () => {
    const t = "metrics.val_acc > 0.5 ";
    expect(complete(t, t.length, C).items.map((i) => i.label)).toEqual(["AND", "OR"]);
    expect(complete("", 0, C).items.map((i) => i.label)).toEqual(["metrics.", "params.", "tags.", "attributes."]);
    expect(complete("val", 3, C).items.map((i) => i.insert)).toContain("metrics.val_acc");
  });
  it("offers status values", () => {
    const t = "status = ";
    expect(complete(t, t.length, C).items.map((i) => i.label)).toContain("failed");
  });
});

describe("columns", () => {
  const runs = [run("a", { lr: "0.1" }, { loss: 3 }), run("b", { lr: "0.01" }, { loss: "NaN" }), run("c", {}, { loss: 1 })];
  it("round-trips ids", () => {
    expect(parseColumn("metrics.loss@min")).toMatchObject({ kind: "metric", key: "loss", agg: "min" });
    expect(parseColumn("params.a.b")).toMatchObject({ kind: "param", key: "a.b" });
    expect(parseColumn("attr.nope")).toBeNull();
    expect(columnId("metric", "loss", "max")).toBe("metrics.loss@max");
  });
  it("sorts numbers numerically and keeps absent and NaN last both ways", () => {
    const asc = sortRuns(runs, { column: "metrics.loss", desc: false }).map((r) => r.id);
    const desc = sortRuns(runs, { column: "metrics.loss", desc: true }).map((r) => r.id);
    expect(asc).toEqual(["c", "a", "b"]);
    expect(desc).toEqual(["a", "c", "b"]);
    expect(sortRuns(runs, { column: "params.lr", desc: false }).map((r) => r.id)).toEqual(["b", "a", "c"]);
    expect(compareValues("10", "9", false)).toBe(1);
    expect(compareValues("b", "a", true)).toBe(-1);
  });
  it("reads min/max summaries and NaN", () => {
    expect(cellText(runs[0], parseColumn("metrics.loss@min")!)).toBe("2");
    expect(cellText(runs[1], parseColumn("metrics.loss")!)).toBe("NaN");
    expect(cellText(runs[0], parseColumn("attr.duration")!)).toBe("1m 00s");
  });
  it("keeps pinned columns first and moves, pins, switches aggregates", () => {
    let p = defaultPrefs(runs);
    expect(p.visible).toContain("params.lr");
    p = togglePin(p, "metrics.loss");
    expect(visibleColumns(p).map((c) => c.id).slice(0, 2)).toEqual(["attr.name", "metrics.loss"]);
    p = setAgg(p, "metrics.loss", "min");
    expect(p.pinned).toContain("metrics.loss@min");
    p = moveColumn(p, "params.lr", 0);
    expect(p.visible[0]).toBe("params.lr");
  });
  it("groups with aggregates over finite values", () => {
    const g = groupRuns(runs, parseColumn("attr.experiment")!, [parseColumn("metrics.loss")!]);
    expect(g).toHaveLength(1);
    expect(g[0].aggregates["metrics.loss"]).toEqual({ mean: 2, min: 1, max: 3, n: 2 });
  });
  it("exports CSV with quoting and full precision", () => {
    const r = run("x", { note: 'a "b", c' }, { loss: 0.123456789012 });
    const csv = toCsv([r], [parseColumn("params.note")!, parseColumn("metrics.loss")!]);
    expect(csv).toBe('id,params.note,metrics.loss\r\nx,"a ""b"", c",0.123456789012\r\n');
  });
});

describe("chart data", () => {
  it("aligns series on x, keeps repeated steps and marks NaN as gaps", () => {
    const s = [
      { run: 0, smoothed: false, x: new Float64Array([0, 1, 1, 2]), y: new Float64Array([1, 5, 100, 2]) },
      { run: 1, smoothed: false, x: new Float64Array([1, 3]), y: new Float64Array([NaN, 4]) },
    ];
    const a = align(s, "step");
    expect(a.data[0]).toEqual([0, 1, 1, 2, 3]);
    expect(a.data[1]).toEqual([1, 5, 100, 2, undefined]);
    expect(a.data[2]).toEqual([undefined, null, undefined, undefined, 4]);
    expect(a.hidden).toBe(1);
  });
  it("converts time to seconds and hides non-positive values on a log axis", () => {
    const a = align([{ run: 0, smoothed: false, x: new Float64Array([1000, 2000]), y: new Float64Array([0, 1]) }], "time", true);
    expect(a.data[0]).toEqual([1, 2]);
    expect(a.data[1]).toEqual([null, 1]);
  });
  it("decodes the shell's byte layout", () => {
    const buf = new ArrayBuffer(8 + 16 + 2 * 16);
    const dv = new DataView(buf);
    dv.setUint32(0, 1, true);
    dv.setUint32(8, 3, true);
    dv.setUint32(12, 1, true);
    dv.setUint32(16, 2, true);
    const f = new Float64Array(buf, 24, 4);
    f.set([10, 20, 0.5, -1]);
    const [s] = decodeSeries(buf);
    expect(s.run).toBe(3);
    expect(s.smoothed).toBe(true);
    expect([...s.x]).toEqual([10, 20]);
    expect([...s.y]).toEqual([0.5, -1]);
  });
  it("decodes an artifact header and body", () => {
    const head = new TextEncoder().encode(JSON.stringify({ path: "a.txt", kind: "text", mime: null, size: 2, truncated: false }));
    const out = new Uint8Array(4 + head.length + 2);
    new DataView(out.buffer).setUint32(0, head.length, true);
    out.set(head, 4);
    out.set([104, 105], 4 + head.length);
    const p = decodeArtifact(out);
    expect(p.kind).toBe("text");
    expect(new TextDecoder().decode(p.bytes)).toBe("hi");
  });
});

describe("compare", () => {
  it("finds the numeric params (the diff itself is the engine's)", () => {
    const a = run("a", { lr: "0.1", bs: "32" }, {});
    const b = run("b", { lr: "0.2", bs: "32" }, {});
    expect(numericParams([a, b, run("c", { opt: "adam" }, {})])).toEqual(["bs", "lr"]);
  });
});

describe("misc", () => {
  it("keeps a run's colour while it stays selected", () => {
    const c1 = assignColors(["a", "b"], new Map());
    const c2 = assignColors(["b", "c"], c1);
    expect(c2.get("b")).toBe(c1.get("b"));
    expect(c2.get("c")).not.toBe(c2.get("b"));
    expect(PALETTE).toContain(c2.get("c"));
  });
  it("parses CSV and TSV", () => {
    expect(parseDelimited('a,b\r\n1,"x,""y"""\n', ",")).toEqual([["a", "b"], ["1", 'x,"y"']]);
    expect(parseDelimited("a\tb\n1\t2", "\t")).toEqual([["a", "b"], ["1", "2"]]);
  });
  it("formats numbers", () => {
    expect(fmtNum(0.000012345)).toBe("1.2345e-5");
    expect(fmtNum(0.912345678)).toBe("0.912346");
    expect(fmtNum("Infinity")).toBe("Infinity");
  });
});

describe("metric direction", () => {
  it("knows losses and errors are better low", async () => {
    const { lowerIsBetter } = await import("./diff");
    expect(["val_loss", "train/loss", "test_error", "rmse", "eval_perplexity"].every(lowerIsBetter)).toBe(true);
    expect(["val_acc", "f1", "auc", "accuracy", "best_val_acc"].some(lowerIsBetter)).toBe(false);
  });
});

describe("default chart metrics", () => {
  it("are the longest series across the runs, shown alphabetically", () => {
    const a = run("a", {}, { "hparam/score": 1, "train/loss": 1, lr: 1 });
    a.metrics["train/loss"].count = 1500;
    a.metrics.lr.count = 1500;
    a.metrics["hparam/score"].count = 1;
    const b = run("b", {}, { "val/loss": 1, acc: 1 });
    b.metrics["val/loss"].count = 13;
    b.metrics.acc.count = 2;
    expect(defaultMetrics([a, b], 3)).toEqual(["lr", "train/loss", "val/loss"]);
    expect(defaultMetrics([a, b], 10)).toEqual(["acc", "hparam/score", "lr", "train/loss", "val/loss"]);
    expect(defaultMetrics([], 4)).toEqual([]);
  });
});
