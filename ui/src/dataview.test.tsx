import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Channel } from "@tauri-apps/api/core";
import { DataView, type DataFocus } from "./DataView";
import type { ColumnStats, DataDiff, DataListing, DataProfile, DataProgress } from "./types";

afterEach(async () => {
  cleanup();
  await new Promise((r) => setTimeout(r, 10));
  clearMocks();
});

const LISTING: DataListing = {
  items: [
    {
      path: "data/t.csv",
      kind: "file",
      tracked_by: ["data/t.csv.dvc"],
      versions: [
        { rev: "workspace", at: null, message: null, md5: "w", size: 2048, nfiles: null, in_cache: true, runs: [], models: [] },
        { rev: "c2".padEnd(40, "2"), at: 1739523600000, message: "Data v2", md5: "b", size: 1024, nfiles: null, in_cache: true, runs: ["r2"], models: ["churn@2"] },
        { rev: "c1".padEnd(40, "1"), at: 1736499600000, message: "Data v1", md5: "a", size: 900, nfiles: null, in_cache: false, runs: ["r1", "gone"], models: [] },
      ],
    },
    { path: "data/imgs", kind: "dir", tracked_by: ["data/imgs.dvc"], versions: [] },
  ],
  notes: ["a shallow clone: versions older than its first commit are not shown"],
  problems: [],
};
const C1 = "c1".padEnd(40, "1");
const C2 = "c2".padEnd(40, "2");

function col(name: string, extra: Partial<ColumnStats>): ColumnStats {
  return { name, type: "float", count: 4, nulls: 0, min: 0, max: 1, mean: 0.5, std: 0.1, q25: 0.25, q50: 0.5, q75: 0.75, distinct: 4, top: [], histogram: null, ...extra };
}

function profile(rev: string, shift: number): DataProfile {
  return {
    path: "data/t.csv",
    rev,
    rows: 4,
    columns: [
      col("id", { type: "integer", histogram: { edges: [0, 1, 2, 3], counts: [2, 1, 1] } }),
      col("x", { mean: 0.5 + shift, histogram: { edges: [shift, 0.5 + shift, 1 + shift], counts: [3, 1] } }),
      col("plan", { type: "string", q25: null, q50: null, q75: null, distinct: 2, top: [["basic", 3], ["pro", 1]] }),
    ],
    head: [{ id: 0, x: 0.1, plan: "basic" }, { id: 1, x: null, plan: "pro" }],
    warnings: [],
  };
}

const DIFF: DataDiff = {
  kind: "table",
  a: { path: "data/t.csv", rev: "workspace", rows: 4 },
  b: { path: "data/t.csv", rev: C2, rows: 4 },
  columns_added: [],
  columns_removed: [],
  columns_retyped: [{ name: "x", from: "integer", to: "float" }],
  key: null,
  rows_added: null,
  rows_removed: null,
  rows_changed: null,
  changed_cells: [],
  files: null,
  warnings: [],
};

interface Show {
  spec: string;
  job: string;
  ch: Channel<DataProgress>;
  resolve: (p: DataProfile) => void;
  reject: (e: unknown) => void;
}

function mockData(calls: [string, Record<string, unknown>][], shows: Show[]) {
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push([cmd, a]);
    switch (cmd) {
      case "data_ls":
        return LISTING;
      case "runs":
        return [
          { id: "r1", path: "mlruns/1/r1", name: "train-v1" },
          { id: "r2", path: "mlruns/1/r2", name: "train-v2" },
        ];
      case "data_show":
        return new Promise((resolve, reject) => shows.push({ spec: a.spec as string, job: a.job as string, ch: a.onProgress as Channel<DataProgress>, resolve, reject }));
      case "data_show_cancel": {
        const s = shows.find((x) => x.job === a.job);
        s?.reject({ code: "cancelled", message: "cancelled" });
        return !!s;
      }
      case "data_drift": {
        const c = (name: string, drift: boolean, method: string) => ({
          name, type: "float", method, drift, score: drift ? 1e-6 : 0.4, ks: null, wasserstein: null, wasserstein_norm: drift ? 0.5 : 0.01,
          chi2: null, z: null, psi: 0.3, js: 0.2, share_change: null, null_share: { reference: 0, current: 0 },
        });
        return { path: "data/t.csv", rev: "workspace", rules: a.rules, columns: [c("id", false, "id"), c("x", true, "ks"), c("plan", a.rules === "evidently", "chi2_contingency")], share_drifted: 1 / 3, drift: true, warnings: [] };
      }
      case "data_diff":
        return a.key ? { ...DIFF, key: a.key, rows_added: 1, rows_removed: 0, rows_changed: 1, changed_cells: [{ key: 1, column: "x", a: 0.2, b: 0.9 }] } : DIFF;
      default:
        return null;
    }
  });
}

function View(props: { focus: DataFocus | null; onFocus?: (f: DataFocus) => void; onOpenRun?: (p: string) => void; onOpenModel?: (n: string, v: number | null) => void }) {
  return <DataView version={0} focus={props.focus} onFocus={props.onFocus ?? (() => {})} onOpenRun={props.onOpenRun ?? (() => {})} onOpenModel={props.onOpenModel ?? (() => {})} />;
}

describe("data view", () => {
  it("lists tracked data and a dataset's versions with their runs and models", async () => {
    mockData([], []);
    const onOpenRun = vi.fn();
    const onOpenModel = vi.fn();
    const onFocus = vi.fn();
    render(<View focus={{ path: "data/t.csv", rev: C1 }} onOpenRun={onOpenRun} onOpenModel={onOpenModel} onFocus={onFocus} />);
    await waitFor(() => expect(document.querySelectorAll("#data-versions li.data-version")).toHaveLength(3));
    expect([...document.querySelectorAll("#data-list .model-item")].map((b) => (b as HTMLElement).dataset.path)).toEqual(["data/t.csv", "data/imgs"]);
    expect(screen.getByText(/a shallow clone/)).toBeTruthy();
    const rows = [...document.querySelectorAll("#data-versions li.data-version")] as HTMLElement[];
    expect(rows.map((r) => r.querySelector(".rev")!.textContent)).toEqual(["workspace", "c2222222", "c1111111"]);
    expect(rows[0].textContent).toContain("Working tree");
    expect(rows[2].textContent).toContain("not in cache");
    expect(rows[1].textContent).not.toContain("not in cache");
    // Runs by name (an unknown one stays, not a link), models by name@version.
    await waitFor(() => expect(rows[2].querySelector('.run-chip[data-run="r1"]')!.textContent).toContain("train-v1"));
    expect(rows[2].querySelector('.run-chip[data-run="gone"]')!.tagName).toBe("SPAN");
    fireEvent.click(rows[2].querySelector('.run-chip[data-run="r1"]')!);
    expect(onOpenRun).toHaveBeenCalledWith("mlruns/1/r1");
    fireEvent.click(rows[1].querySelector('.model-chip[data-model="churn@2"]')!);
    expect(onOpenModel).toHaveBeenCalledWith("churn", 2);
    // A version not in the cache is not read: it says how to get it.
    expect(document.querySelector("#data-preview")!.textContent).toContain("dvc pull");
    fireEvent.click(rows[1].querySelector(".version-main")!);
    expect(onFocus).toHaveBeenCalledWith({ path: "data/t.csv", rev: C2 });
  });

  it("streams a version's statistics with progress, and cancels them", async () => {
    const calls: [string, Record<string, unknown>][] = [];
    const shows: Show[] = [];
    mockData(calls, shows);
    const { rerender } = render(<View focus={{ path: "data/t.csv", rev: "workspace" }} />);
    await waitFor(() => expect(shows).toHaveLength(1));
    expect(shows[0].spec).toBe("data/t.csv@workspace");
    // The first rows come first, and show before any statistics.
    shows[0].ch.onmessage({ done: 0, total: 0, columns: ["a", "b"], head: [{ a: 1, b: "x" }], column: null });
    await waitFor(() => expect(document.querySelector("#head-rows")!.textContent).toContain("x"));
    expect(document.querySelector("#data-summary")).toBeNull();
    shows[0].ch.onmessage({ done: 512, total: 2048, columns: null, head: null, column: null });
    await waitFor(() => expect(document.querySelector("#data-progress")!.textContent).toContain("512 B of 2.0 KB"));
    expect(document.querySelector('[role="progressbar"]')!.getAttribute("aria-valuenow")).toBe("25");
    fireEvent.click(screen.getByText("Cancel"));
    await screen.findByText(/Cancelled/);
    expect(calls.find(([c]) => c === "data_show_cancel")![1]).toEqual({ job: shows[0].job });
    // Again, to the end.
    fireEvent.click(screen.getByText("Compute again"));
    await waitFor(() => expect(shows).toHaveLength(2));
    // Each column's statistics show as soon as they are finished, before the whole profile.
    const whole = profile("workspace", 0);
    shows[1].ch.onmessage({ done: 0, total: 0, columns: whole.columns.map((c) => c.name), head: whole.head, column: null });
    shows[1].ch.onmessage({ done: 0, total: 0, columns: null, head: null, column: { index: 2, rows: whole.rows, stats: whole.columns[2] } });
    await waitFor(() => expect(document.querySelector("#column-stats-partial")).not.toBeNull());
    expect(document.querySelectorAll("#column-stats-partial tbody tr")).toHaveLength(1);
    expect(document.querySelector(`#column-stats-partial tr[data-column="${whole.columns[2].name}"]`)).not.toBeNull();
    expect(document.querySelector("#data-preview h3 .muted")!.textContent).toContain("1 of 3 finished");
    expect(document.querySelector("#column-stats")).toBeNull();
    shows[1].resolve(whole);
    await waitFor(() => expect(document.querySelector("#data-summary")!.textContent).toBe("4 rows · 3 columns"));
    expect(document.querySelector("#column-stats-partial")).toBeNull();
    expect(document.querySelectorAll("#head-rows tbody tr")).toHaveLength(2);
    expect(document.querySelector("#head-rows tbody tr:nth-child(2) td.null")!.textContent).toBe("∅");
    const plan = document.querySelector('#column-stats tr[data-column="plan"]')!;
    expect(plan.textContent).toContain("basic (3) · pro (1)");
    expect(document.querySelectorAll("#column-stats svg.histogram")).toHaveLength(2);
    // Leaving a running preview cancels it.
    rerender(<View focus={{ path: "data/t.csv", rev: C2 }} />);
    await waitFor(() => expect(shows).toHaveLength(3));
    rerender(<View focus={{ path: "data/t.csv", rev: "workspace" }} />);
    await waitFor(() => expect(calls.filter(([c]) => c === "data_show_cancel").map(([, a]) => a.job)).toContain(shows[2].job));
  });

  it("compares two versions: schema, rows by key, distributions overlaid, a slot for drift", async () => {
    const calls: [string, Record<string, unknown>][] = [];
    const shows: Show[] = [];
    mockData(calls, shows);
    render(<View focus={{ path: "data/t.csv", rev: null }} />);
    await waitFor(() => expect(document.querySelectorAll("#data-versions li.data-version")).toHaveLength(3));
    const box = (i: number) => document.querySelectorAll("#data-versions li.data-version .compare-box input")[i] as HTMLInputElement;
    fireEvent.click(box(1));
    fireEvent.click(box(0));
    // The older is the reference.
    await waitFor(() => expect(document.querySelector("#data-compare")).not.toBeNull());
    const cmp = document.querySelector("#data-compare") as HTMLElement;
    expect([cmp.dataset.a, cmp.dataset.b]).toEqual([C2, "workspace"]);
    expect(document.querySelector('li.data-version[data-rev="workspace"] .badge.role')!.textContent).toBe("current");
    await waitFor(() => expect(calls.find(([c]) => c === "data_diff")?.[1]).toEqual({ a: `data/t.csv@${C2}`, b: "data/t.csv@workspace", key: null }));
    await waitFor(() => expect(document.querySelector("#diff-schema")!.textContent).toContain("~ x: integer → float"));
    // Both profiles, computed at once.
    // (the first, the newest version's preview, was cancelled when the comparison replaced it)
    await waitFor(() => expect(shows.map((s) => s.spec)).toEqual(["data/t.csv@workspace", `data/t.csv@${C2}`, "data/t.csv@workspace"]));
    expect(calls.filter(([c]) => c === "data_show_cancel").map(([, a]) => a.job)).toEqual([shows[0].job]);
    shows[1].resolve(profile(C2, 0));
    shows[2].resolve(profile("workspace", 0.5));
    await waitFor(() => expect(document.querySelector('.dist-card[data-column="x"] svg.overlay')).not.toBeNull());
    const x = document.querySelector('.dist-card[data-column="x"]')!;
    expect(x.querySelectorAll("rect.a").length).toBeGreaterThan(0);
    expect(x.querySelectorAll("rect.b").length).toBeGreaterThan(0);
    expect(x.querySelector('[data-drift-slot="x"]')).not.toBeNull();
    // Each column's drift verdict, the older version the reference.
    await waitFor(() => expect(x.querySelector(".badge.drift-drift")?.textContent).toBe("drift"));
    expect(calls.find(([c]) => c === "data_drift")?.[1]).toEqual({ reference: `data/t.csv@${C2}`, current: "data/t.csv@workspace", rules: "runlens" });
    expect(x.querySelector(".badge.drift-drift")!.getAttribute("title")).toContain("method: Kolmogorov-Smirnov");
    expect(document.querySelector('.dist-card[data-column="plan"] .badge')!.textContent).toBe("no drift");
    expect(document.querySelector("#drift-summary")!.textContent).toContain("1 of 2 columns drifted, and a key column (rules: runlens)");
    fireEvent.click(document.querySelector('#drift-summary button[data-rules="evidently"]')!);
    await waitFor(() => expect(document.querySelector('.dist-card[data-column="plan"] .badge')!.textContent).toBe("drift"));
    expect(calls.filter(([c]) => c === "data_drift").at(-1)![1].rules).toBe("evidently");
    expect(x.textContent).toContain("+0.5 (+100.0%)");
    expect(document.querySelector('.dist-card[data-column="plan"] table.categories')!.textContent).toContain("basic");
    // The key picker offers the unique columns; a key gives rows added, removed, changed.
    const key = document.querySelector("#diff-key") as HTMLSelectElement;
    await waitFor(() => expect([...key.options].map((o) => o.value)).toEqual(["", "id", "x", "plan"]));
    fireEvent.change(key, { target: { value: "id" } });
    await waitFor(() => expect(document.querySelector("#diff-rows")!.textContent).toContain("+1 added"));
    expect(calls.filter(([c]) => c === "data_diff").at(-1)![1]).toEqual({ a: `data/t.csv@${C2}`, b: "data/t.csv@workspace", key: "id" });
    expect(document.querySelectorAll("#changed-cells tbody tr")).toHaveLength(1);
  });
});
