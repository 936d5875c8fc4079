import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Channel } from "@tauri-apps/api/core";
import { rememberedFolder } from "./bundle";
import { ModelsView, type ModelFocus } from "./ModelsView";
import { RegisterDialog } from "./RegisterDialog";
import { model, version } from "./testdata";
import type { BundlePlan, BundleProgress, Detail, HistoryItem, RegModel, RegistryPolicy } from "./types";

afterEach(async () => {
  cleanup();
  await new Promise((r) => setTimeout(r, 10));
  clearMocks();
});

const ME = { user: "ana", name: "Ana Lima", email: null, display: "Ana Lima", host: "laptop", key_id: "AAAA000011112222" };

function history(): HistoryItem[] {
  const e = (kind: string, v: number, payload: Record<string, unknown>, at: number, who = "Ana Lima", key = "AAAA000011112222"): HistoryItem => ({
    hash: `${kind}${v}${at}`.padEnd(64, "0"),
    kind,
    version: v,
    at,
    actor: { user: who, name: null, email: null },
    who,
    host: who === "Ana Lima" ? "laptop" : "gpu-box",
    parents: [],
    signed_by: key,
    payload,
    skipped: null,
  });
  return [
    e("register", 1, {}, 1767607200000),
    e("register", 2, {}, 1767607260000, "Bob Chen", "BBBB000011112222"),
    e("set_alias", 2, { alias: "champion" }, 1767607320000),
  ];
}

const NO_POLICY: RegistryPolicy = { approvers: [], author_may_approve: false, since: null, aliases: {}, stages: {} };
const LEE = "1C7D6F678CF8F072";
const POLICY: RegistryPolicy = {
  approvers: [{ key: LEE, name: "Lee Chen <lee@example.org>" }],
  author_may_approve: false,
  since: null,
  aliases: { champion: 1 },
  stages: { Production: 1 },
};

/** Mocks the registry commands over a model list (and policy) the test can change. */
function mockRegistry(state: { models: RegModel[]; policy?: RegistryPolicy }, calls: [string, unknown][] = [], refuse?: (cmd: string, args: unknown) => string | null) {
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    const why = refuse?.(cmd, args);
    if (why) throw { code: "refused", message: why };
    switch (cmd) {
      case "registry_models":
        return state.models;
      case "registry_me":
        return ME;
      case "registry_policy":
        return state.policy ?? NO_POLICY;
      case "registry_history":
        return history();
      case "registry_change":
        return { name: "churn", version: 2, digest: null, event: "e".repeat(64) };
      case "registry_model_at":
        return model({ aliases: { champion: 1 }, versions: [version(1, { aliases: ["champion"] })] });
      case "registry_card":
        return {
          path: "/data/cards/p/churn-v2.md",
          markdown: "---\nlicense: mit\n---\n# churn v2\n\n![val_loss](churn-v2-val_loss.png)\n\n![other](https://example.com/x.png)\n",
          images: [{ name: "churn-v2-val_loss.png", data_url: "data:image/png;base64,iVBORw0KGgo=" }],
        };
      default:
        return null;
    }
  });
}

function View(props: { version?: number; focus?: ModelFocus | null }) {
  return <ModelsView version={props.version ?? 0} focus={props.focus ?? null} onFocus={() => {}} onOpenRun={() => {}} />;
}

describe("models view", () => {
  it("shows versions, aliases, stages, lineage and the timeline", async () => {
    mockRegistry({ models: [model()] });
    render(<View />);
    await screen.findByText("Churn classifier");
    const table = document.querySelector("#versions-table") as HTMLElement;
    expect(within(table).getByText("v2")).toBeTruthy();
    expect(within(table).getAllByText("@champion")).toHaveLength(1);
    expect(within(table).getByText("Production")).toBeTruthy();
    // The newest version is chosen: its lineage and files.
    const detail = document.querySelector("#version-detail") as HTMLElement;
    expect(detail.dataset.version).toBe("2");
    expect(within(detail).getByText("trial-2")).toBeTruthy();
    expect(within(detail).getByText("0123456789ab")).toBeTruthy();
    expect(within(detail).getByText("model.pkl")).toBeTruthy();
    // The timeline: newest first, who and where.
    await waitFor(() => expect(document.querySelectorAll("#timeline li.event")).toHaveLength(3));
    const first = document.querySelector("#timeline li.event") as HTMLElement;
    expect(first.textContent).toContain("Ana Lima set @champion on version 2");
    expect(first.textContent).toContain("laptop");
    expect(first.textContent).toContain("(you)");
    expect(document.querySelectorAll("#timeline li.event")[1].textContent).toContain("gpu-box");
  });

  it("marks MLflow's models read-only and offers the import", async () => {
    const calls: [string, unknown][] = [];
    mockRegistry({ models: [model({ source: "mlflow", read_only: true, location: "mlruns/models/churn" })] }, calls);
    render(<View />);
    await screen.findByText(/Read-only: MLflow's registry/);
    expect(document.querySelector("#act-approve")).toBeNull();
    expect(document.querySelector("#timeline")).toBeNull();
    fireEvent.click(screen.getByText("Import into Runlens"));
    await waitFor(() => expect(calls.some(([c, a]) => c === "registry_import" && (a as { name: string }).name === "churn")).toBe(true));
  });

  it("needs a comment to approve, and shows the policy's refusal as it is", async () => {
    const calls: [string, unknown][] = [];
    const why = "the author of churn@2 may not approve it (policy: author_may_approve is false)";
    mockRegistry({ models: [model()] }, calls, (cmd) => (cmd === "registry_change" ? why : null));
    render(<View />);
    fireEvent.click(await screen.findByText("Approve…"));
    const submit = document.querySelector("#dlg-submit") as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    fireEvent.change(document.querySelector("#dlg-comment")!, { target: { value: "ok for prod" } });
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    const err = await screen.findByText(why, { selector: "#dialog-error" });
    expect(err).toBeTruthy();
    expect(calls.find(([c]) => c === "registry_change")?.[1]).toEqual({ target: "churn@2", change: { kind: "approve", comment: "ok for prod" } });
    // The dialog stays open with what was typed.
    expect((document.querySelector("#dlg-comment") as HTMLTextAreaElement).value).toBe("ok for prod");
  });

  it("says briefly that there is no policy", async () => {
    mockRegistry({ models: [model()] });
    render(<View />);
    const panel = await waitFor(() => {
      const p = document.querySelector("#policy-panel") as HTMLElement | null;
      expect(p).not.toBeNull();
      return p!;
    });
    expect(panel.textContent).toBe("PolicyNo policy: anyone may move aliases and stages; authors cannot approve their own versions.");
  });

  it("shows the policy: what is protected, by whom, and where each version stands", async () => {
    const lee = { by: "Lee Chen <lee@example.org>", at: 1767607300000, comment: "checked the holdout", key: LEE, counts: true };
    const own = { by: "Ana Lima", at: 1767607300000, comment: "mine", key: "AAAA000011112222", counts: false };
    const m = model({
      versions: [version(1, { approvals: [own] }), version(2, { aliases: ["champion"], stage: "Production", approvals: [lee], author_key: "BBBB000011112222" })],
    });
    mockRegistry({ models: [m], policy: POLICY });
    const { rerender } = render(<View />);
    const panel = await waitFor(() => {
      const p = document.querySelector("#policy-panel") as HTMLElement;
      expect(p.textContent).toContain("needs");
      return p;
    });
    expect(panel.textContent).toContain("@champion needs 1 approval; Production needs 1");
    expect(panel.textContent).toContain(`approvals count from Lee Chen ${LEE}`);
    expect(panel.textContent).toContain("authors cannot approve their own versions");
    // Version 2 (shown first): Lee's approval counts for both.
    const gates = () => [...document.querySelectorAll("#version-gates li")].map((li) => li.textContent);
    expect(gates()).toEqual(["✓@champion: 1 of 1 approval: allowed · on this version now", "✓Production: 1 of 1 approval: allowed · its stage now"]);
    // Version 1: its author's own approval is listed, but does not count.
    rerender(<View focus={{ name: "churn", version: 1 }} />);
    await waitFor(() => expect((document.querySelector("#version-detail") as HTMLElement).dataset.version).toBe("1"));
    expect(gates()).toEqual(["✗@champion: 0 of 1 approval: needs 1 more", "✗Production: 0 of 1 approval: needs 1 more"]);
    expect(document.querySelector("ul.approvals li.uncounted")?.textContent).toContain("the author's own: does not count");
    expect(document.querySelector('#versions-table tr[data-version="1"]')?.textContent).toContain("✓ 1 (0 count)");
  });

  it("foresees a refusal in the dialog, and still lets the engine decide", async () => {
    const calls: [string, unknown][] = [];
    mockRegistry({ models: [model()], policy: POLICY }, calls, (cmd) => (cmd === "registry_change" ? 'stage "production" is protected' : null));
    render(<View focus={{ name: "churn", version: 1 }} />);
    await waitFor(() => expect(document.querySelector("#policy-panel")?.textContent).toContain("needs"));
    fireEvent.click(await screen.findByText("Stage…"));
    expect(document.querySelector("#dlg-forecast")).toBeNull();
    fireEvent.change(document.querySelector("#dlg-stage")!, { target: { value: "production" } });
    expect(document.querySelector("#dlg-forecast")?.textContent).toBe(
      "Production is protected by the policy: it needs 1 approval from Lee Chen; version 1 has 0, so this will be refused.",
    );
    fireEvent.change(document.querySelector("#dlg-comment")!, { target: { value: "ship it" } });
    fireEvent.click(document.querySelector("#dlg-submit")!);
    await screen.findByText('stage "production" is protected', { selector: "#dialog-error" });
    expect(calls.some(([c]) => c === "registry_change")).toBe(true);
    fireEvent.click(screen.getByText("Cancel"));
    // Ana registered version 1 and is not a listed approver: the approve dialog says so first.
    fireEvent.click(screen.getByText("Approve…"));
    expect(document.querySelector("#dlg-forecast")?.textContent).toMatch(/^You registered version 1: .*will be refused\.$/);
  });

  it("says where an alias moves from before it moves", async () => {
    mockRegistry({ models: [model()] });
    render(<View focus={{ name: "churn", version: 1 }} />);
    fireEvent.click(await screen.findByText("Set alias…"));
    fireEvent.change(document.querySelector("#dlg-alias")!, { target: { value: "champion" } });
    expect(screen.getByText(/points at version 2 now: it moves to version 1/)).toBeTruthy();
  });

  it("reloads when the watcher reports a registry change, keeping the version shown", async () => {
    const state = { models: [model()] };
    mockRegistry(state);
    const { rerender } = render(<View version={0} focus={{ name: "churn", version: 1 }} />);
    await screen.findByText("Churn classifier");
    state.models = [model({ versions: [...model().versions, version(3, { created_by: "bob" })] })];
    rerender(<View version={1} focus={{ name: "churn", version: 1 }} />);
    await waitFor(() => expect(document.querySelector('#versions-table tr[data-version="3"]')).not.toBeNull());
    expect((document.querySelector("#version-detail") as HTMLElement).dataset.version).toBe("1");
  });

  it("shows the model as it was at an event of its history", async () => {
    const calls: [string, unknown][] = [];
    mockRegistry({ models: [model()] }, calls);
    render(<View />);
    await waitFor(() => expect(document.querySelectorAll("#timeline li.event")).toHaveLength(3));
    // The oldest event: version 1 registered.
    const oldest = [...document.querySelectorAll("#timeline li.event")].pop() as HTMLElement;
    fireEvent.click(within(oldest).getByTitle(/as it was right after this event/));
    const banner = await screen.findByText(/Showing the model as it was on/);
    expect(banner.textContent).toContain("@champion→v1");
    expect(calls.find(([c]) => c === "registry_model_at")?.[1]).toEqual({ name: "churn", at: 1767607200000 });
    expect(document.querySelectorAll("#versions-table tbody tr")).toHaveLength(1);
    expect(document.querySelector("#act-approve")).toBeNull();
    fireEvent.click(screen.getByText("Back to now"));
    await waitFor(() => expect(document.querySelectorAll("#versions-table tbody tr")).toHaveLength(2));
  });

  it("compares ticked versions side by side", async () => {
    mockRegistry({ models: [model()] });
    render(<View />);
    await screen.findByText("Churn classifier");
    for (const v of ["1", "2"]) fireEvent.click(screen.getByLabelText(`compare version ${v}`));
    fireEvent.click(screen.getByText("Compare 2 versions"));
    const cmp = document.querySelector("#version-compare") as HTMLElement;
    expect(cmp.textContent).toContain("lr");
    expect(cmp.querySelector("canvas.version-chart")).not.toBeNull();
  });

  it("renders the model card with its own curves only", async () => {
    mockRegistry({ models: [model()] });
    render(<View />);
    fireEvent.click(await screen.findByText("Model card"));
    await screen.findByText("churn v2");
    const imgs = [...document.querySelectorAll("#model-card img")] as HTMLImageElement[];
    expect(imgs.map((i) => i.getAttribute("src"))).toEqual(["data:image/png;base64,iVBORw0KGgo="]);
    expect(document.querySelector("#model-card")!.textContent).toContain("[image: other]");
  });
});

describe("register dialog", () => {
  it("registers the chosen logged model under a new name", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "registry_models") return [model()];
      if (cmd === "registry_register") return { name: "churn", version: 3, digest: "sha256:x", event: "e" };
      return null;
    });
    const detail: Detail = {
      run: { id: "r1", source: "mlflow", path: "mlruns/1/r1", name: "trial-3", experiment: null, status: null, start_time: null, end_time: null, parent_id: null, params: {}, tags: {}, metrics: {}, user: null },
      artifact_dir: "mlruns/1/r1/artifacts",
      artifacts: [{ path: "mlruns/1/r1/artifacts/notes.txt", name: "notes.txt", size: 3 }],
      models: [{ model_id: "m-1", name: "clf", step: null, dir: "mlruns/1/models/m-1/artifacts", flavors: ["sklearn"], signature_inputs: null, signature_outputs: null, files: [] }],
      inputs: [],
      issues: [],
    };
    let done: unknown = null;
    render(<RegisterDialog detail={detail} onClose={() => {}} onDone={(w) => (done = w)} />);
    fireEvent.change(screen.getByLabelText(/Model name/), { target: { value: "churn" } });
    await screen.findByText("A new version of churn.");
    fireEvent.change(screen.getByLabelText(/Description/), { target: { value: "retrained on March data" } });
    fireEvent.click(screen.getByText("Register"));
    await waitFor(() => expect(done).toEqual({ name: "churn", version: 3, digest: "sha256:x", event: "e" }));
    expect(calls.find(([c]) => c === "registry_register")?.[1]).toEqual({ run: "mlruns/1/r1", path: "m-1", name: "churn", description: "retrained on March data" });
  });
});

describe("export bundle dialog", () => {
  const PLAN: BundlePlan = {
    model: "churn",
    version: 2,
    digest: `sha256:${"2".repeat(64)}`,
    file_name: "churn-2.tar",
    files: [
      { path: "MODEL_CARD.md", bytes: 900, part: "card" },
      { path: "SHA256SUMS", bytes: 700, part: "metadata" },
      { path: "bundle.json", bytes: 2000, part: "metadata" },
      { path: "model/MLmodel", bytes: 600, part: "model" },
      { path: "model/model.skops", bytes: 11198, part: "model" },
      { path: "serve/serve.sh", bytes: 300, part: "serve" },
    ],
    bytes: 15698,
    flavors: ["python_function", "sklearn"],
    serve: ["MLflow scoring server, offline: serve/serve.sh"],
    refused: null,
    default_dir: "/home/ana/Downloads",
  };
  const WRITTEN = { path: "/home/ana/Downloads/churn-2.tar", model: "churn", version: 2, digest: PLAN.digest!, files: 8, bytes: 16000 };

  /** The registry mocks plus the bundle commands; `exporting` decides how an export ends. */
  function mockBundle(plan: BundlePlan, calls: [string, unknown][], exporting: (ch: Channel<BundleProgress>) => Promise<unknown>) {
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      switch (cmd) {
        case "registry_models":
          return [model()];
        case "registry_me":
          return ME;
        case "registry_policy":
          return NO_POLICY;
        case "registry_history":
          return history();
        case "bundle_plan":
          return plan;
        case "bundle_export":
          return exporting((args as { onProgress: Channel<BundleProgress> }).onProgress);
        case "bundle_cancel":
          return true;
        case "bundle_pick_folder":
          return "/media/usb/models";
        default:
          return null;
      }
    });
  }

  beforeEach(() => localStorage.clear());

  it("shows what goes in and what serve/ gets, exports with progress, and reveals the archive", async () => {
    const calls: [string, unknown][] = [];
    let finish: (v: unknown) => void = () => {};
    mockBundle(PLAN, calls, (ch) => {
      ch.onmessage({ files_done: 2, files_total: 8, bytes_done: 4000, bytes_total: 16000 });
      return new Promise((r) => (finish = r));
    });
    render(<View />);
    fireEvent.click(await screen.findByText("Export bundle…"));
    await waitFor(() => expect(document.querySelector("#bundle-files")).not.toBeNull());
    expect(calls.find(([c]) => c === "bundle_plan")?.[1]).toEqual({ target: "churn@2" });
    const parts = [...document.querySelectorAll("#bundle-files tbody")].map((t) => (t as HTMLElement).dataset.part);
    expect(parts).toEqual(["model", "serve", "card", "metadata"]);
    expect(document.querySelector('#bundle-files tbody[data-part="model"]')!.textContent).toContain("model/model.skops");
    expect(document.querySelector('#bundle-files tbody[data-part="model"] tr.part-row')!.textContent).toContain("2 files · 12 KB");
    expect(document.querySelector("#bundle-serve")!.textContent).toContain("serve/serve.sh");
    expect(document.querySelector("#bundle-serve")!.textContent).toContain("python_function, sklearn");
    // The folder offered, and the archive's name for the options chosen.
    expect((document.querySelector("#bundle-dir") as HTMLInputElement).value).toBe("/home/ana/Downloads");
    expect(document.querySelector("#bundle-target")!.textContent).toBe("Writes /home/ana/Downloads/churn-2.tar");
    fireEvent.click(screen.getByLabelText(/OCI image layout/));
    expect((document.querySelector("#bundle-compress") as HTMLSelectElement).disabled).toBe(true);
    expect(document.querySelector("#bundle-target")!.textContent).toBe("Writes /home/ana/Downloads/churn-2.oci.tar");
    fireEvent.click(screen.getByLabelText(/tar$/));
    fireEvent.change(document.querySelector("#bundle-compress")!, { target: { value: "zstd" } });
    expect(document.querySelector("#bundle-target")!.textContent).toBe("Writes /home/ana/Downloads/churn-2.tar.zst");
    fireEvent.change(document.querySelector("#bundle-compress")!, { target: { value: "none" } });
    fireEvent.change(document.querySelector("#bundle-dir")!, { target: { value: "/tmp/out" } });

    fireEvent.click(screen.getByText("Export"));
    await waitFor(() => expect(document.querySelector("#bundle-progress-text")?.textContent).toBe("3.9 KB of 16 KB · 2 of 8 files"));
    expect(document.querySelector('[role="progressbar"]')!.getAttribute("aria-valuenow")).toBe("25");
    const sent = calls.find(([c]) => c === "bundle_export")?.[1] as Record<string, unknown>;
    expect({ ...sent, onProgress: undefined }).toEqual({ target: "churn@2", outDir: "/tmp/out", format: "tar", compress: "none", onProgress: undefined });
    // While it runs: no Close, no way to dismiss by a click outside, only Cancel.
    expect(screen.queryByText("Close")).toBeNull();
    fireEvent.click(document.querySelector(".dialog-backdrop")!);
    expect(document.querySelector("#bundle-dialog")).not.toBeNull();

    finish({ ...WRITTEN, path: "/tmp/out/churn-2.tar" });
    await screen.findByText("/tmp/out/churn-2.tar", { selector: "#bundle-path" });
    expect(document.querySelector("#bundle-done")!.textContent).toContain("8 files · 16 KB · digest 2222222222222222");
    fireEvent.click(screen.getByText("Reveal in file manager"));
    await waitFor(() => expect(calls.find(([c]) => c === "bundle_reveal")?.[1]).toEqual({ path: "/tmp/out/churn-2.tar" }));
    // The folder is remembered for the next export.
    expect(rememberedFolder()).toBe("/tmp/out");
  });

  it("cancels a running export: nothing written, and it can start again", async () => {
    const calls: [string, unknown][] = [];
    let fail: (e: unknown) => void = () => {};
    mockBundle(PLAN, calls, () => new Promise((_, reject) => (fail = reject)));
    render(<View />);
    fireEvent.click(await screen.findByText("Export bundle…"));
    await waitFor(() => expect((document.querySelector("#bundle-export") as HTMLButtonElement | null)?.disabled).toBe(false));
    fireEvent.click(screen.getByText("Export"));
    fireEvent.click(await screen.findByText("Cancel export"));
    await waitFor(() => expect(calls.some(([c]) => c === "bundle_cancel")).toBe(true));
    expect(document.querySelector("#bundle-progress-text")!.textContent).toBe("Cancelling…");
    fail({ code: "cancelled", message: "the export was cancelled: nothing was written" });
    await screen.findByText("the export was cancelled: nothing was written", { selector: "#bundle-cancelled" });
    expect((document.querySelector("#bundle-export") as HTMLButtonElement).disabled).toBe(false);
    expect(rememberedFolder()).toBe("");
  });

  it("shows the engine's refusal and does not offer Export", async () => {
    const calls: [string, unknown][] = [];
    const why = "churn@2: its files changed on disk since it was registered (model/model.skops): not exported";
    mockBundle({ ...PLAN, refused: why }, calls, async () => WRITTEN);
    render(<View />);
    fireEvent.click(await screen.findByText("Export bundle…"));
    const refused = await waitFor(() => {
      const r = document.querySelector("#bundle-refused");
      expect(r).not.toBeNull();
      return r!;
    });
    expect(refused.textContent).toBe(`Export refused. ${why}`);
    expect((document.querySelector("#bundle-export") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(document.querySelector("#bundle-export")!);
    expect(calls.some(([c]) => c === "bundle_export")).toBe(false);
  });

  it("shows an export's error as the engine words it, and says when a model has no serving recipe", async () => {
    const calls: [string, unknown][] = [];
    mockBundle({ ...PLAN, serve: [], flavors: [], files: PLAN.files.filter((f) => f.part !== "serve") }, calls, () =>
      Promise.reject({ code: "invalid", message: "/nope: no such folder" }),
    );
    render(<View />);
    fireEvent.click(await screen.findByText("Export bundle…"));
    await waitFor(() => expect(document.querySelector("#bundle-serve")?.textContent).toContain("No serving recipe for this model"));
    fireEvent.change(document.querySelector("#bundle-dir")!, { target: { value: "relative" } });
    expect(document.querySelector("#bundle-target")!.textContent).toBe("Give the folder's full path.");
    expect((document.querySelector("#bundle-export") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(document.querySelector("#bundle-dir")!, { target: { value: "/nope" } });
    fireEvent.click(screen.getByText("Export"));
    await screen.findByText("/nope: no such folder", { selector: "#bundle-error" });
    // Changing the folder clears it, ready for another try.
    fireEvent.change(document.querySelector("#bundle-dir")!, { target: { value: "/tmp" } });
    expect(document.querySelector("#bundle-error")).toBeNull();
  });

  it("chooses the folder in the system's dialog, opened where the field points", async () => {
    const calls: [string, unknown][] = [];
    mockBundle(PLAN, calls, async () => WRITTEN);
    render(<View />);
    fireEvent.click(await screen.findByText("Export bundle…"));
    fireEvent.click(await screen.findByText("Choose…"));
    await waitFor(() => expect((document.querySelector("#bundle-dir") as HTMLInputElement).value).toBe("/media/usb/models"));
    expect(calls.find(([c]) => c === "bundle_pick_folder")?.[1]).toEqual({ start: "/home/ana/Downloads" });
    expect(document.querySelector("#bundle-target")!.textContent).toBe("Writes /media/usb/models/churn-2.tar");
  });

  it("is not offered while the model is shown as it was", async () => {
    mockRegistry({ models: [model()] });
    render(<View />);
    await waitFor(() => expect(document.querySelectorAll("#timeline li.event")).toHaveLength(3));
    expect(document.querySelector("#act-bundle")).not.toBeNull();
    const oldest = [...document.querySelectorAll("#timeline li.event")].pop() as HTMLElement;
    fireEvent.click(within(oldest).getByTitle(/as it was right after this event/));
    await screen.findByText(/Showing the model as it was on/);
    expect(document.querySelector("#act-bundle")).toBeNull();
  });
});

describe("watching a folder for new batches", () => {
  it("starts a watch of the alias on the version, shows what it did, and stops it", async () => {
    const calls: [string, unknown][] = [];
    const watches: Record<string, unknown>[] = [];
    const ds = { path: "data/train.csv", rev: "4558dd4504653e5e35c9f4d3bc759f32e8f3bb57", md5: null, size: null, dvc_md5: null };
    const m = model({ versions: [version(1, { dataset: ds }), version(2, { aliases: ["champion"], stage: "Production", dataset: ds })] });
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      switch (cmd) {
        case "registry_models":
          return [m];
        case "registry_me":
          return ME;
        case "registry_policy":
          return NO_POLICY;
        case "registry_history":
          return history();
        case "monitor_scores":
          return [];
        case "monitor_watches":
          return watches;
        case "monitor_pick_folder":
          return "/data/landing";
        case "monitor_watch": {
          const { target, dir } = args as { target: string; dir: string };
          const w = { target, dir, started_at: 1, version: 2, batches: 1, drifted: 1, crossings: 1, last_error: "data/x.csv: no such file", last_pass_at: 1767607200000 };
          watches.push(w);
          return w;
        }
        case "monitor_unwatch":
          watches.splice(0);
          return true;
        default:
          return null;
      }
    });
    render(<View />);
    // A version with reference data has the section before any batch is scored.
    await waitFor(() => expect(document.querySelector("#monitoring")?.textContent).toContain("No batches scored against this version yet"));
    fireEvent.click(screen.getByText("Watch a folder…"));
    const select = document.querySelector("#monitor-watch-target") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["churn@champion", "churn@2"]);
    expect(select.value).toBe("churn@champion");
    // Start needs a folder: the dialog (run by the shell) or typed.
    expect((document.querySelector("#monitor-watch-start") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByText("Choose…"));
    await waitFor(() => expect((document.querySelector("#monitor-watch-dir") as HTMLInputElement).value).toBe("/data/landing"));
    fireEvent.click(screen.getByText("Start watching"));
    await waitFor(() => expect(document.querySelector('.monitor-watch[data-target="churn@champion"]')).toBeTruthy());
    expect(calls.find(([c]) => c === "monitor_watch")?.[1]).toEqual({ target: "churn@champion", dir: "/data/landing" });
    const w = document.querySelector(".monitor-watch") as HTMLElement;
    expect(w.textContent).toContain("/data/landing");
    expect(w.textContent).toContain("churn@champion → v2 · 1 batch scored · 1 drifted · 1 notification");
    expect(w.querySelector(".watch-error")!.textContent).toBe("Last pass failed: data/x.csv: no such file");
    expect(document.querySelector("#monitor-watch-form")).toBeNull();
    fireEvent.click(within(w).getByText("Stop"));
    await waitFor(() => expect(document.querySelector(".monitor-watch")).toBeNull());
    expect(calls.find(([c]) => c === "monitor_unwatch")?.[1]).toEqual({ target: "churn@champion" });
  });

  it("shows the shell's refusal in place", async () => {
    const ds = { path: "data/train.csv", rev: "workspace", md5: null, size: null, dvc_md5: null };
    mockRegistry({ models: [model({ aliases: {}, versions: [version(1, { dataset: ds })] })] }, [], (cmd) => (cmd === "monitor_watch" ? "churn@1 has no reference dataset" : null));
    render(<View />);
    fireEvent.click(await screen.findByText("Watch a folder…"));
    expect((document.querySelector("#monitor-watch-target") as HTMLSelectElement).value).toBe("churn@1");
    fireEvent.change(document.querySelector("#monitor-watch-dir")!, { target: { value: "/tmp/in" } });
    fireEvent.click(screen.getByText("Start watching"));
    expect((await screen.findByText(/has no reference dataset/)).id).toBe("monitor-watch-error");
    expect(document.querySelector(".monitor-watch")).toBeNull();
  });
});
