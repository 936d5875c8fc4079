import { useEffect, useMemo, useReducer, useState } from "react";
import { api, errorMessage } from "./api";
import {
  bundleFileName,
  exportReducer,
  filesAndBytes,
  folderProblem,
  groupByPart,
  joinDir,
  progressFraction,
  progressText,
  rememberFolder,
  rememberedFolder,
} from "./bundle";
import { fmtBytes } from "./format";
import { shortHash, target } from "./registry";
import type { BundleCompression, BundleFormat, BundlePlan } from "./types";

/**
 * "Export bundle" of a version: what will go in (files and sizes by part, what `serve/` gets for
 * this flavor), why the engine would refuse it, where it goes and in which format; then the
 * export's progress (bytes, files) with Cancel, and the archive written with "Reveal in file
 * manager".
 */
export function BundleDialog(props: { model: string; version: number; onClose: () => void }) {
  const name = target(props.model, props.version);
  const [plan, setPlan] = useState<BundlePlan | null>(null);
  const [planError, setPlanError] = useState<string | null>(null);
  const [dir, setDir] = useState(rememberedFolder);
  const [format, setFormat] = useState<BundleFormat>("tar");
  const [compress, setCompress] = useState<BundleCompression>("none");
  const [state, dispatch] = useReducer(exportReducer, { kind: "ready" });
  const [revealError, setRevealError] = useState<string | null>(null);

  useEffect(() => {
    let gone = false;
    api.bundlePlan(name).then(
      (p) => {
        if (gone) return;
        setPlan(p);
        setDir((d) => d || p.default_dir);
      },
      (e) => !gone && setPlanError(errorMessage(e)),
    );
    return () => {
      gone = true;
    };
  }, [name]);

  const groups = useMemo(() => groupByPart(plan?.files ?? []), [plan]);
  const running = state.kind === "running";
  const sendCompress: BundleCompression = format === "oci" ? "none" : compress;
  const fileName = plan ? bundleFileName(plan.file_name, format, sendCompress) : "";
  const problem = folderProblem(dir);
  const canExport = plan !== null && !plan.refused && problem === null && !running && state.kind !== "done";
  const close = () => {
    if (!running) props.onClose();
  };
  const changed = (f: () => void) => {
    f();
    dispatch({ type: "reset" });
  };

  const start = async () => {
    if (!canExport) return;
    setRevealError(null);
    dispatch({ type: "start" });
    try {
      const written = await api.bundleExport(name, dir.trim(), format, sendCompress, (progress) => dispatch({ type: "progress", progress }));
      rememberFolder(dir);
      dispatch({ type: "done", written });
    } catch (error) {
      dispatch({ type: "error", error });
    }
  };
  const cancel = () => {
    dispatch({ type: "cancel" });
    api.bundleCancel().catch(() => {});
  };
  const choose = async () => {
    try {
      const picked = await api.bundlePickFolder(dir.trim() || plan?.default_dir || null);
      if (picked) changed(() => setDir(picked));
    } catch (e) {
      setRevealError(errorMessage(e));
    }
  };

  return (
    <div className="dialog-backdrop" onClick={close}>
      <form
        className="dialog bundle-dialog"
        role="dialog"
        aria-label="Export bundle"
        id="bundle-dialog"
        data-state={state.kind}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => e.key === "Escape" && close()}
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <h2>
          Export a bundle of {props.model} <span className="muted">v{props.version}</span>
        </h2>
        <p className="muted small">One signed, reproducible archive: the model's files, how to serve them, the model card and the lineage.</p>
        {planError && (
          <div className="banner error" role="alert" id="bundle-plan-error">
            {planError}
          </div>
        )}
        {!plan && !planError && <p className="muted">Reading the version's files…</p>}
        {plan?.refused && (
          <div className="banner error" role="alert" id="bundle-refused">
            <strong>Export refused.</strong> {plan.refused}
          </div>
        )}
        {plan && groups.length > 0 && (
          <section className="bundle-contents">
            <h3>
              What goes in <span className="muted small">{filesAndBytes(plan.files.length, plan.bytes)}</span>
              {plan.digest && (
                <span className="muted small" title={plan.digest}>
                  digest {shortHash(plan.digest, 16)}
                </span>
              )}
            </h3>
            <div className="bundle-files">
              <table className="grid" id="bundle-files">
                {groups.map((g) => (
                  <tbody key={g.part} data-part={g.part}>
                    <tr className="part-row">
                      <th>
                        {g.label} <span className="muted small">{g.note}</span>
                      </th>
                      <th className="num nowrap">{filesAndBytes(g.files.length, g.bytes)}</th>
                    </tr>
                    {g.files.map((f) => (
                      <tr key={f.path}>
                        <td>
                          <code>{f.path}</code>
                        </td>
                        <td className="num nowrap">{fmtBytes(f.bytes)}</td>
                      </tr>
                    ))}
                  </tbody>
                ))}
              </table>
            </div>
            <p className="muted small">The export adds SHA256SUMS.minisig (your signature) and runlens.pub (your public key).</p>
          </section>
        )}
        {plan && (
          <section className="bundle-serve" id="bundle-serve">
            <h3>
              Serving
              {plan.flavors.length > 0 && <span className="muted small">flavors: {plan.flavors.join(", ")}</span>}
            </h3>
            {plan.serve.length > 0 ? (
              <ul className="plain">
                {plan.serve.map((s) => (
                  <li key={s}>{s}</li>
                ))}
              </ul>
            ) : (
              <p className="muted small">No serving recipe for {plan.flavors.length ? "these flavors" : "this model"}: the bundle has no serve/ folder.</p>
            )}
          </section>
        )}
        {plan && (
          <>
            <label>
              Folder
              <span className="folder-row">
                <input
                  id="bundle-dir"
                  value={dir}
                  onChange={(e) => changed(() => setDir(e.target.value))}
                  disabled={running}
                  spellCheck={false}
                  placeholder="/home/you/Downloads"
                />
                <button type="button" id="bundle-choose" onClick={choose} disabled={running}>
                  Choose…
                </button>
              </span>
            </label>
            <div className="bundle-options">
              <span className="option-label" id="bundle-format-label">
                Format
              </span>
              <span className="radios" role="radiogroup" aria-labelledby="bundle-format-label">
                <label className="inline">
                  <input type="radio" name="bundle-format" value="tar" checked={format === "tar"} disabled={running} onChange={() => changed(() => setFormat("tar"))} /> tar
                </label>
                <label className="inline" title="An OCI image layout (CNCF ModelPack media types), for skopeo copy oci-archive:FILE …">
                  <input type="radio" name="bundle-format" value="oci" checked={format === "oci"} disabled={running} onChange={() => changed(() => setFormat("oci"))} /> OCI image
                  layout
                </label>
              </span>
              <label className="inline" title={format === "oci" ? "An OCI bundle keeps its layers uncompressed" : "Weights barely compress: none is usually best"}>
                Compression
                <select id="bundle-compress" value={sendCompress} disabled={running || format === "oci"} onChange={(e) => changed(() => setCompress(e.target.value as BundleCompression))}>
                  <option value="none">none</option>
                  <option value="zstd">zstd</option>
                </select>
              </label>
            </div>
            {state.kind !== "done" && (
              <p className="muted small" id="bundle-target">
                {problem ?? (
                  <>
                    Writes <code>{joinDir(dir, fileName)}</code>
                  </>
                )}
              </p>
            )}
          </>
        )}
        {state.kind === "running" && (
          <div className="bundle-progress" id="bundle-progress">
            <div
              className="progress"
              role="progressbar"
              aria-label="Export progress"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={Math.round(progressFraction(state.progress) * 100)}
            >
              <div className="bar" style={{ width: `${progressFraction(state.progress) * 100}%` }} />
            </div>
            <div className="small" id="bundle-progress-text">
              {state.cancelling ? "Cancelling…" : progressText(state.progress)}
            </div>
          </div>
        )}
        {state.kind === "done" && (
          <div className="banner ok" role="status" id="bundle-done">
            <div>
              Wrote <code id="bundle-path">{state.written.path}</code>
            </div>
            <div className="small">
              {filesAndBytes(state.written.files, state.written.bytes)} · digest <code title={state.written.digest}>{shortHash(state.written.digest, 16)}</code>
            </div>
            <div className="small muted">
              Check it anywhere with <code>runlens bundle verify {state.written.path.split(/[\\/]/).pop()}</code>
            </div>
          </div>
        )}
        {state.kind === "cancelled" && (
          <div className="banner notice" role="status" id="bundle-cancelled">
            {state.message}
          </div>
        )}
        {state.kind === "failed" && (
          <div className="banner error" role="alert" id="bundle-error">
            {state.message}
          </div>
        )}
        {revealError && (
          <div className="banner error" role="alert" id="bundle-reveal-error">
            {revealError}
          </div>
        )}
        <div className="dialog-buttons">
          {running ? (
            <button type="button" id="bundle-cancel" onClick={cancel} disabled={state.cancelling}>
              {state.cancelling ? "Cancelling…" : "Cancel export"}
            </button>
          ) : state.kind === "done" ? (
            <>
              <button
                type="button"
                id="bundle-reveal"
                onClick={() => {
                  setRevealError(null);
                  api.bundleReveal(state.written.path).catch((e) => setRevealError(errorMessage(e)));
                }}
              >
                Reveal in file manager
              </button>
              <button type="button" className="primary" onClick={props.onClose}>
                Done
              </button>
            </>
          ) : (
            <>
              <button type="button" onClick={props.onClose}>
                Close
              </button>
              <button type="submit" className="primary" id="bundle-export" disabled={!canExport} title={plan?.refused ?? problem ?? undefined}>
                Export
              </button>
            </>
          )}
        </div>
      </form>
    </div>
  );
}
