import { describe, expect, it } from "vitest";
import {
  bundleFileName,
  exportReducer,
  folderProblem,
  groupByPart,
  isFullPath,
  joinDir,
  progressFraction,
  progressText,
  type ExportState,
} from "./bundle";
import type { BundleFile, BundleWritten } from "./types";

describe("bundle export logic", () => {
  it("names the archive as the engine does for each format", () => {
    expect(bundleFileName("churn-3.tar", "tar", "none")).toBe("churn-3.tar");
    expect(bundleFileName("churn-3.tar", "tar", "zstd")).toBe("churn-3.tar.zst");
    expect(bundleFileName("churn-3.tar", "oci", "none")).toBe("churn-3.oci.tar");
    expect(bundleFileName("churn-3.tar", "oci", "zstd")).toBe("churn-3.oci.tar");
  });

  it("groups the plan's files by part, in the dialog's order, with their bytes", () => {
    const files: BundleFile[] = [
      { path: "MODEL_CARD.md", bytes: 900, part: "card" },
      { path: "bundle.json", bytes: 2000, part: "metadata" },
      { path: "model/MLmodel", bytes: 600, part: "model" },
      { path: "model/model.skops", bytes: 11198, part: "model" },
      { path: "serve/serve.sh", bytes: 300, part: "serve" },
      { path: "weird", bytes: 1, part: "other" as BundleFile["part"] },
    ];
    const g = groupByPart(files);
    expect(g.map((x) => x.part)).toEqual(["model", "serve", "card", "metadata"]);
    expect(g[0].label).toBe("model/");
    expect(g[0].files.map((f) => f.path)).toEqual(["model/MLmodel", "model/model.skops"]);
    expect(g[0].bytes).toBe(11798);
    expect(g[3].files.map((f) => f.path)).toEqual(["bundle.json", "weird"]);
    expect(groupByPart([])).toEqual([]);
  });

  it("reads progress as bytes and files, and as a fraction", () => {
    expect(progressText(null)).toBe("Starting…");
    const p = { files_done: 3, files_total: 9, bytes_done: 12 * 1024 * 1024, bytes_total: 48 * 1024 * 1024 };
    expect(progressText(p)).toBe("12 MB of 48 MB · 3 of 9 files");
    expect(progressFraction(p)).toBe(0.25);
    expect(progressText({ ...p, files_done: 9, bytes_done: p.bytes_total })).toBe("48 MB · 9 files · writing to disk…");
    expect(progressFraction({ files_done: 1, files_total: 4, bytes_done: 0, bytes_total: 0 })).toBe(0.25);
    expect(progressFraction({ files_done: 0, files_total: 0, bytes_done: 0, bytes_total: 0 })).toBe(0);
    expect(progressFraction({ ...p, bytes_done: p.bytes_total * 2 })).toBe(1);
  });

  it("wants a full path to a folder, and joins the file name with its separator", () => {
    for (const ok of ["/home/ana/Downloads", "C:\\Users\\ana", "d:/x", "\\\\server\\share"]) expect(isFullPath(ok), ok).toBe(true);
    for (const bad of ["", "Downloads", "~/Downloads", "./out", "C:relative"]) expect(isFullPath(bad), bad).toBe(false);
    expect(folderProblem("  ")).toMatch(/Choose the folder/);
    expect(folderProblem("out")).toMatch(/full path/);
    expect(folderProblem(" /tmp/out ")).toBeNull();
    expect(joinDir("/tmp/out", "m-1.tar")).toBe("/tmp/out/m-1.tar");
    expect(joinDir("/tmp/out/", "m-1.tar")).toBe("/tmp/out/m-1.tar");
    expect(joinDir("/", "m-1.tar")).toBe("/m-1.tar");
    expect(joinDir("C:\\Users\\ana", "m-1.tar")).toBe("C:\\Users\\ana\\m-1.tar");
  });

  it("follows an export from start to its end, whatever the order messages arrive in", () => {
    const written: BundleWritten = { path: "/tmp/churn-2.tar", model: "churn", version: 2, digest: "sha256:ab", files: 9, bytes: 100 };
    const p = { files_done: 1, files_total: 9, bytes_done: 10, bytes_total: 100 };
    let s: ExportState = { kind: "ready" };
    s = exportReducer(s, { type: "progress", progress: p });
    expect(s).toEqual({ kind: "ready" });
    s = exportReducer(s, { type: "start" });
    expect(s).toEqual({ kind: "running", progress: null, cancelling: false });
    s = exportReducer(s, { type: "progress", progress: p });
    expect(s).toEqual({ kind: "running", progress: p, cancelling: false });
    s = exportReducer(s, { type: "reset" });
    expect(s.kind).toBe("running");
    s = exportReducer(s, { type: "done", written });
    expect(s).toEqual({ kind: "done", written });
    // A progress message that arrives late changes nothing.
    expect(exportReducer(s, { type: "progress", progress: p })).toBe(s);
    expect(exportReducer(s, { type: "reset" })).toEqual({ kind: "ready" });
  });

  it("tells a cancel from a refusal", () => {
    const running: ExportState = { kind: "running", progress: null, cancelling: false };
    const asked = exportReducer(running, { type: "cancel" });
    expect(asked).toEqual({ kind: "running", progress: null, cancelling: true });
    expect(exportReducer(asked, { type: "error", error: { code: "cancelled", message: "the export was cancelled: nothing was written" } })).toEqual({
      kind: "cancelled",
      message: "the export was cancelled: nothing was written",
    });
    const why = "churn@1: its files changed on disk since it was registered (model/requirements.txt): not exported";
    expect(exportReducer(running, { type: "error", error: { code: "refused", message: why } })).toEqual({ kind: "failed", message: why, code: "refused" });
    expect(exportReducer(running, { type: "error", error: new Error("boom") })).toEqual({ kind: "failed", message: "boom", code: null });
    expect(exportReducer({ kind: "ready" }, { type: "cancel" })).toEqual({ kind: "ready" });
  });
});
