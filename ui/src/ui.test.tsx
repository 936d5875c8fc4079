import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { clearMocks, mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { App } from "./App";
import { RunDetailView } from "./RunDetailView";
import type { Detail, Run } from "./types";

const XSS = `<img src=x onerror="window.__pwned=1">`;

function run(over: Partial<Run> = {}): Run {
  return {
    id: "abc123",
    path: "mlruns/1/abc123",
    source: "mlflow",
    name: XSS,
    experiment: "</script><script>window.__pwned=2</script>",
    status: "running",
    start_time: 0,
    end_time: null,
    parent_id: null,
    user: null,
    params: { [XSS]: "</script>" },
    tags: {
      "mlflow.note.content":
        "# Experiment notes\n\n[safe](https://example.com/x) [bad](javascript:alert(1)) [file](file:///etc/passwd) [smb](smb://host/share)\n\n<script>window.__pwned=3</script>",
    },
    metrics: { loss: { count: 2, last: "NaN", last_step: 1, min: 0.5, max: 0.5 } },
    ...over,
  };
}

afterEach(async () => {
  cleanup();
  // Unlistening is asynchronous: let it reach the mocks before they go.
  await new Promise((r) => setTimeout(r, 10));
  clearMocks();
  localStorage.clear();
});

describe("run detail", () => {
  it("renders hostile names as text and follows only https links", async () => {
    const calls: [string, unknown][] = [];
    const detail: Detail = { run: run(), artifact_dir: null, artifacts: [], models: [], inputs: [], issues: [] };
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "run_detail") return detail;
      return null;
    });
    render(<RunDetailView run="mlruns/1/abc123" version={0} colors={new Map()} />);
    await screen.findByText("Experiment notes");
    expect(document.body.textContent).toContain(XSS);
    expect(document.querySelector("img")).toBeNull();
    expect(document.querySelector("script")).toBeNull();
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
    // Only the https link is a link; the others are inert text.
    const links = [...document.querySelectorAll(".markdown a")].map((a) => a.getAttribute("href"));
    expect(links).toEqual(["https://example.com/x"]);
    fireEvent.click(screen.getByText("bad"));
    fireEvent.click(screen.getByText("file"));
    expect(calls.filter(([c]) => c === "open_url")).toEqual([]);
    fireEvent.click(screen.getByText("safe"));
    await waitFor(() => expect(calls.filter(([c]) => c === "open_url")).toEqual([["open_url", { url: "https://example.com/x" }]]));
    expect(screen.getByText("NaN")).toBeTruthy();
  });
});

describe("app", () => {
  it("opens a folder named at launch, showing progress then the runs", async () => {
    const calls: string[] = [];
    let resolveOpen: (v: unknown) => void = () => {};
    mockIPC((cmd, args) => {
      calls.push(cmd);
      switch (cmd) {
        case "current_project":
          return { open: null, requested: "/data/proj" };
        case "recent_projects":
          return [];
        case "open_project":
          expect((args as { path: string }).path).toBe("/data/proj");
          return new Promise((r) => (resolveOpen = r));
        case "runs":
          return [run({ name: "trial-1" }), run({ id: "def", path: "mlruns/1/def", name: "trial-2", status: "finished" })];
        case "completions":
          return { params: {}, tags: {}, metrics: ["loss"] };
        default:
          return null;
      }
    }, { shouldMockEvents: true });
    mockWindows("main");
    render(<App />);
    await screen.findByText(/Indexing \/data\/proj/);
    expect(screen.getByRole("progressbar")).toBeTruthy();
    await act(async () =>
      resolveOpen({ path: "/data/proj", name: "proj", runs: 2, points: 4, units_read: 2, units_total: 2, elapsed_ms: 5, cancelled: false, issues: [] }),
    );
    await screen.findByText(/2 runs/, { selector: "#run-count" });
    expect(screen.getByText(/1 running/, { selector: ".statusline span" })).toBeTruthy();
    expect(calls).toContain("completions");
  });

  it("shows a filter error from the engine in place", async () => {
    mockIPC((cmd, args) => {
      switch (cmd) {
        case "current_project":
          return { open: null, requested: "/p" };
        case "open_project":
          return { path: "/p", name: "p", runs: 0, points: 0, units_read: 0, units_total: 0, elapsed_ms: 1, cancelled: false, issues: [] };
        case "runs":
          if ((args as { filter: string }).filter) throw { code: "filter", message: "metrics.x >\n           ^ expected a value" };
          return [];
        default:
          return null;
      }
    }, { shouldMockEvents: true });
    mockWindows("main");
    render(<App />);
    const box = (await screen.findByPlaceholderText(/Filter/)) as HTMLInputElement;
    fireEvent.change(box, { target: { value: "metrics.x >" } });
    fireEvent.keyDown(box, { key: "Enter" });
    const err = await screen.findByRole("alert");
    expect(err.textContent).toContain("expected a value");
  });
});
