import { type FormEvent, type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, errorMessage } from "./api";
import { BundleDialog } from "./BundleDialog";
import { fmtBytes, fmtNum, fmtTime, plural } from "./format";
import { Markdown } from "./Markdown";
import {
  approvalForecast,
  approverName,
  changeForecast,
  compareVersions,
  isMine,
  metricAcrossVersions,
  niceTicks,
  personName,
  numericMetricKeys,
  policyRules,
  policySummary,
  shortHash,
  signatureColumns,
  sourceLabel,
  splitFrontMatter,
  stageClass,
  STAGES,
  target,
  timeline,
  uncountedReason,
  versionGates,
  visibleVersions,
  type CompareRow,
} from "./registry";
import type { HistoryItem, Me, ModelCard, MonitorScore, MonitorWatchState, Problem, RegModel, RegVersion, RegistryChange, RegistryPolicy } from "./types";
import { lowerIsBetter } from "./diff";
import { DataUsed, type DataFocus } from "./DataView";
import { alarmShare, monitorBatches, monitorSummary, referenceText, targetModel, watchSummary, watchTargets, type Batch } from "./data";

export interface ModelFocus {
  name: string;
  /** "runlens", "mlflow" or "mlflow-db"; ours when absent. */
  source?: string;
  version: number | null;
}

/**
 * The model registry: models (ours and MLflow's) on the left; a model's versions, the chosen
 * version's lineage, files and approvals, and the model's history as a timeline.
 */
export function ModelsView(props: {
  /** Bumped when the watcher reports a registry change: reload, keep the selection. */
  version: number;
  focus: ModelFocus | null;
  onFocus: (f: ModelFocus | null) => void;
  onOpenRun: (path: string) => void;
  /** Opens a data version a model version was trained on, in the Data view. */
  onOpenData?: (f: DataFocus) => void;
}) {
  const [models, setModels] = useState<RegModel[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [me, setMe] = useState<Me | null>(null);
  const [policy, setPolicy] = useState<RegistryPolicy | null>(null);
  const [search, setSearch] = useState("");
  const [reload, setReload] = useState(0);
  // A note that outlives the model panel (an import moves to the model it made).
  const [flash, setFlash] = useState<string | null>(null);

  useEffect(() => {
    let gone = false;
    api.registryModels().then(
      (m) => {
        if (gone) return;
        setModels(m);
        setError(null);
      },
      (e) => !gone && setError(errorMessage(e)),
    );
    api.registryMe().then((m) => !gone && setMe(m), () => {});
    // A policy that does not parse fails `registry_models` too, which shows the engine's message.
    api.registryPolicy().then((p) => !gone && setPolicy(p), () => !gone && setPolicy(null));
    return () => {
      gone = true;
    };
  }, [props.version, reload]);

  const refresh = useCallback(() => setReload((n) => n + 1), []);
  const list = useMemo(
    () => (models ?? []).filter((m) => !search || m.name.toLowerCase().includes(search.toLowerCase())),
    [models, search],
  );
  const focus = props.focus;
  // Nothing chosen yet: the first model (ours before MLflow's of the same name).
  const model = (focus ? pickModel(models ?? [], focus) : models?.[0] && pickModel(models, { name: models[0].name, version: null })) ?? null;

  if (error && !models) return <div className="banner error">{error}</div>;
  if (!models) return <div className="empty muted">Loading the registry…</div>;
  return (
    <div className="models-view">
      <aside className="model-list">
        <input placeholder="Find a model" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Find a model" />
        {models.length === 0 && (
          <p className="muted small">
            No models yet. Open a run and choose <strong>Register model</strong>, or run <code>runlens registry register</code>.
          </p>
        )}
        <ul id="model-list">
          {list.map((m) => (
            <li key={`${m.source}:${m.name}`}>
              <button
                className={model && m.name === model.name && m.source === model.source ? "model-item active" : "model-item"}
                data-model={m.name}
                data-source={m.source}
                onClick={() => props.onFocus({ name: m.name, source: m.source, version: null })}
              >
                <span className="model-name">
                  {m.name} <SourceBadge source={m.source} />
                </span>
                <span className="muted small">
                  {plural(m.versions.length, "version")}
                  {Object.entries(m.aliases).map(([a, v]) => (
                    <span key={a} className="alias mini">
                      @{a}→v{v}
                    </span>
                  ))}
                </span>
              </button>
            </li>
          ))}
        </ul>
        {me && (
          <p className="muted small me" title={me.key_id ? `signing key ${me.key_id}` : "your signing key is made at your first change"}>
            You: {me.display} · {me.host}
            {me.key_id ? ` · key ${me.key_id.slice(0, 8)}…` : ""}
          </p>
        )}
      </aside>
      <section className="model-main">
        {error && <div className="banner error">{error}</div>}
        {flash && (
          <div className="banner notice" role="status" id="registry-flash">
            {flash}
            <button className="ghost" onClick={() => setFlash(null)}>
              ✕
            </button>
          </div>
        )}
        {model ? (
          <ModelPanel
            key={`${model.source}:${model.name}`}
            model={model}
            me={me}
            policy={policy}
            version={props.version + reload}
            selected={focus?.version ?? null}
            onSelect={(v) => props.onFocus({ name: model.name, source: model.source, version: v })}
            onChanged={refresh}
            onImported={(note) => {
              setFlash(note);
              props.onFocus({ name: model.name, source: "runlens", version: null });
            }}
            onOpenRun={props.onOpenRun}
            onOpenData={props.onOpenData}
          />
        ) : (
          <div className="empty muted">{models.length ? "Choose a model." : ""}</div>
        )}
      </section>
    </div>
  );
}

/** The model a focus names: by name and source, else ours of that name, else any of that name. */
export function pickModel(models: RegModel[], f: ModelFocus): RegModel | undefined {
  const named = models.filter((m) => m.name === f.name);
  return named.find((m) => m.source === (f.source ?? "runlens")) ?? named.find((m) => m.source === "runlens") ?? named[0];
}

export function SourceBadge(props: { source: string }) {
  const ours = props.source === "runlens";
  return (
    <span className={ours ? "badge ours" : "badge mlflow"} title={ours ? "Runlens registry (.runlens/registry)" : "MLflow's registry, read-only"}>
      {sourceLabel(props.source)}
    </span>
  );
}

type Dialog =
  | { kind: "alias" }
  | { kind: "remove_alias"; alias: string }
  | { kind: "tag"; onModel: boolean }
  | { kind: "stage" }
  | { kind: "approve" }
  | { kind: "reject" }
  | { kind: "request" }
  | { kind: "describe"; onModel: boolean };

function ModelPanel(props: {
  model: RegModel;
  me: Me | null;
  policy: RegistryPolicy | null;
  version: number;
  selected: number | null;
  onSelect: (v: number | null) => void;
  onChanged: () => void;
  onImported: (note: string) => void;
  onOpenRun: (path: string) => void;
  onOpenData?: (f: DataFocus) => void;
}) {
  const { model, me, policy } = props;
  const [history, setHistory] = useState<HistoryItem[]>([]);
  const [showArchived, setShowArchived] = useState(false);
  const [checked, setChecked] = useState<number[]>([]);
  const [comparing, setComparing] = useState(false);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[] | null>(null);
  const [card, setCard] = useState<ModelCard | null>(null);
  const [asOf, setAsOf] = useState<{ at: number; model: RegModel } | null>(null);
  // The version whose "Export bundle" dialog is open.
  const [bundle, setBundle] = useState<number | null>(null);
  const ours = !model.read_only;

  useEffect(() => {
    if (!ours) {
      setHistory([]);
      return;
    }
    let gone = false;
    api.registryHistory(model.name).then((h) => !gone && setHistory(h), (e) => !gone && setError(errorMessage(e)));
    return () => {
      gone = true;
    };
  }, [model.name, ours, props.version]);

  const openDialog = (d: Dialog) => {
    setError(null);
    setDialog(d);
  };
  const shown = asOf ? asOf.model : model;
  const versions = visibleVersions(shown, showArchived || asOf !== null);
  const archivedCount = shown.versions.filter((v) => v.archived).length;
  const sel = shown.versions.find((v) => v.version === props.selected) ?? versions[0] ?? null;

  const run = async (what: string, f: () => Promise<unknown>, done?: string) => {
    setBusy(what);
    setError(null);
    setNote(null);
    try {
      await f();
      if (done) setNote(done);
      props.onChanged();
      return true;
    } catch (e) {
      setError(errorMessage(e));
      return false;
    } finally {
      setBusy(null);
    }
  };

  const change = (c: RegistryChange, onModel = false) =>
    api.registryChange(onModel || !sel ? model.name : target(model.name, sel.version), c);

  const verify = () =>
    run("verify", async () => {
      const p = await api.registryVerify(ours ? model.name : null);
      setProblems(p.filter((x) => !ours || x.model === model.name || x.model === "keys" || x.model === ""));
    });

  const importIt = () =>
    run("import", async () => {
      const r = await api.registryImport(model.name);
      const made = r.flatMap((i) => i.versions);
      const skipped = r.flatMap((i) => i.skipped);
      props.onImported(`Imported ${plural(made.length, "version")} into the Runlens registry${skipped.length ? `; not imported: ${skipped.join("; ")}` : ""}.`);
    });

  const openCard = () =>
    sel &&
    run("card", async () => {
      setCard(await api.registryCard(target(model.name, sel.version)));
    });

  const showAt = async (at: number) => {
    try {
      setAsOf({ at, model: await api.registryModelAt(model.name, at) });
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const compared = shown.versions.filter((v) => checked.includes(v.version)).sort((a, b) => a.version - b.version);

  return (
    <div className="model-panel">
      <header className="model-head">
        <h1>
          {model.name} <SourceBadge source={model.source} />
        </h1>
        <div className="model-actions">
          {ours && (
            <>
              <button onClick={() => openDialog({ kind: "describe", onModel: true })}>Describe…</button>
              <button onClick={() => openDialog({ kind: "tag", onModel: true })}>Tag model…</button>
            </>
          )}
          {!ours && (
            <button className="primary" id="import-mlflow" disabled={busy !== null} onClick={importIt} title="Write Runlens events for this model's versions, tags, stages and aliases, pointing at the same files">
              Import into Runlens
            </button>
          )}
          <button id="verify-model" disabled={busy !== null} onClick={verify} title="Check every event's hash and signature, the policy, and every pinned file">
            {busy === "verify" ? "Verifying…" : "Verify"}
          </button>
        </div>
      </header>
      <div className="muted small model-sub">
        {model.description ?? (ours ? "No description." : "")}
        {!ours && (
          <>
            {" "}
            Read-only: MLflow's registry at <code>{model.location}</code>.
          </>
        )}
        {Object.entries(model.tags).map(([k, v]) => (
          <span key={k} className="tag-chip">
            {k}={v}
          </span>
        ))}
      </div>
      {ours && policy && <PolicyBar policy={policy} me={me} />}
      {model.invalid_files.length > 0 && (
        <ul className="issues">
          {model.invalid_files.map((f) => (
            <li key={f.file}>
              <code>{f.file}</code> is not a valid event and is left out: {f.why}
            </li>
          ))}
        </ul>
      )}
      {problems && (
        <div className={problems.length ? "banner error" : "banner ok"} role="status" id="verify-result">
          {problems.length === 0
            ? "Verified: every event's hash, parents and signature hold, the policy allows every change, and every pinned file is unchanged."
            : problems.map((p, i) => (
                <div key={i}>
                  {p.event ? <code>event {shortHash(p.event, 12)}</code> : p.file ? <code>{p.file}</code> : null} {p.message}
                </div>
              ))}
          <button className="ghost" onClick={() => setProblems(null)}>
            ✕
          </button>
        </div>
      )}
      {error && !dialog && (
        <div className="banner error" role="alert" id="registry-error">
          {error}
          <button className="ghost" onClick={() => setError(null)}>
            ✕
          </button>
        </div>
      )}
      {note && (
        <div className="banner notice" role="status">
          {note}
          <button className="ghost" onClick={() => setNote(null)}>
            ✕
          </button>
        </div>
      )}
      {asOf && (
        <div className="banner asof" role="status" id="as-of">
          Showing the model as it was on <strong>{fmtTime(asOf.at)}</strong>: aliases {Object.entries(asOf.model.aliases).map(([a, v]) => `@${a}→v${v}`).join(", ") || "none"}.{" "}
          <button onClick={() => setAsOf(null)}>Back to now</button>
        </div>
      )}
      <div className="versions-bar">
        <strong>{plural(shown.versions.length, "version")}</strong>
        {archivedCount > 0 && !asOf && (
          <label className="small">
            <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> show {archivedCount} archived
          </label>
        )}
        <span className="grow" />
        {checked.length >= 2 ? (
          <button id="compare-versions" className={comparing ? "active" : ""} onClick={() => setComparing((c) => !c)}>
            {comparing ? "Back to the version" : `Compare ${checked.length} versions`}
          </button>
        ) : (
          <span className="muted small">Tick two or more versions to compare them.</span>
        )}
      </div>
      <div className="scroll-x versions-wrap">
        <table className="grid versions" id="versions-table">
          <thead>
            <tr>
              <th />
              <th>version</th>
              <th>aliases</th>
              <th>stage</th>
              <th>approvals</th>
              <th>created</th>
              <th>by</th>
              <th>run</th>
              <th>files</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr
                key={v.version}
                data-version={v.version}
                className={`${sel?.version === v.version ? "selected" : ""}${v.archived ? " archived" : ""}`}
                onClick={() => {
                  props.onSelect(v.version);
                  setComparing(false);
                }}
              >
                <td onClick={(e) => e.stopPropagation()}>
                  <input
                    type="checkbox"
                    aria-label={`compare version ${v.version}`}
                    checked={checked.includes(v.version)}
                    onChange={(e) => setChecked((c) => (e.target.checked ? [...c, v.version] : c.filter((x) => x !== v.version)))}
                  />
                </td>
                <td className="num">
                  <strong>v{v.version}</strong>
                </td>
                <td>
                  {v.aliases.map((a) => (
                    <span key={a} className="alias">
                      @{a}
                    </span>
                  ))}
                </td>
                <td>
                  {v.stage && <span className={`stage ${stageClass(v.stage)}`}>{v.stage}</span>}
                  {v.archived && <span className="stage archived">archived</span>}
                </td>
                <td className="nowrap">
                  {v.approvals.length > 0 && (
                    <span className="approved" title={`${plural(v.counted_approvals, "approval")} that the policy counts`}>
                      ✓ {v.approvals.length}
                      {ours && v.counted_approvals !== v.approvals.length && <span className="muted small"> ({v.counted_approvals} count)</span>}
                    </span>
                  )}
                  {v.rejections.length > 0 && <span className="rejected">✗ {v.rejections.length}</span>}
                </td>
                <td className="nowrap">{fmtTime(v.created_at)}</td>
                <td title={v.created_by ?? ""}>{personName(v.created_by)}</td>
                <td>{v.source.run_name ?? (v.run_id ? shortHash(v.run_id, 8) : "")}</td>
                <td className="nowrap">
                  {v.files.length > 0 ? plural(v.files.length, "file") : ""}
                  {v.changed_on_disk && <span className="badge warn">changed on disk</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {comparing && compared.length >= 2 ? (
        <VersionCompare model={model} versions={compared} onOpenRun={props.onOpenRun} />
      ) : (
        <div className="version-split">
          <div className="version-pane">
            {sel ? (
              <VersionDetail
                model={model}
                v={sel}
                me={me}
                policy={ours && asOf === null ? policy : null}
                readOnly={!ours || asOf !== null}
                busy={busy}
                problems={problems}
                onDialog={openDialog}
                onArchive={() => run("archive", () => change({ kind: sel.archived ? "restore" : "archive" }))}
                onCard={openCard}
                onBundle={asOf === null ? () => setBundle(sel.version) : null}
                onOpenRun={props.onOpenRun}
                onOpenData={props.onOpenData}
              />
            ) : (
              <p className="muted">This model has no versions yet.</p>
            )}
          </div>
          {ours && (
            <Timeline history={history} me={me} version={sel?.version ?? null} onShowAt={showAt} asOf={asOf?.at ?? null} />
          )}
        </div>
      )}
      {dialog && (
        <ActionDialog
          dialog={dialog}
          model={model}
          v={sel}
          me={me}
          policy={policy}
          onClose={() => setDialog(null)}
          onSubmit={async (c, onModel) => {
            const ok = await run(c.kind, () => change(c, onModel));
            if (ok) setDialog(null);
            return ok;
          }}
          error={error}
        />
      )}
      {card && <CardView card={card} onClose={() => setCard(null)} onError={setError} />}
      {bundle !== null && <BundleDialog model={model.name} version={bundle} onClose={() => setBundle(null)} />}
    </div>
  );
}

function VersionDetail(props: {
  model: RegModel;
  v: RegVersion;
  me: Me | null;
  /** The project's policy; null for MLflow's models. */
  policy: RegistryPolicy | null;
  readOnly: boolean;
  busy: string | null;
  problems: Problem[] | null;
  onDialog: (d: Dialog) => void;
  onArchive: () => void;
  onCard: () => void;
  /** Opens "Export bundle"; null while the model is shown as it was (time travel). */
  onBundle: (() => void) | null;
  onOpenRun: (path: string) => void;
  onOpenData?: (f: DataFocus) => void;
}) {
  const { v, model, me, policy } = props;
  const l = v.lineage;
  const mineAuthor = isMine(v.author_key, me?.key_id);
  const now = Date.now();
  const gates = policy ? versionGates(policy, v, now) : [];
  const approveWarning = policy ? approvalForecast(policy, v, me?.key_id, now) : null;
  const badFiles = new Set((props.problems ?? []).map((p) => p.file).filter((f): f is string => !!f));
  const runPath = v.run_path ?? l?.run?.path ?? null;
  const sigIn = signatureColumns(l?.model?.signature?.inputs);
  const sigOut = signatureColumns(l?.model?.signature?.outputs);
  return (
    <div className="version-detail" id="version-detail" data-version={v.version}>
      <h2 className="version-title">
        {model.name} <span className="muted">v{v.version}</span>
        {v.aliases.map((a) => (
          <span key={a} className="alias">
            @{a}
            {!props.readOnly && (
              <button className="ghost x" title={`Remove @${a}`} onClick={() => props.onDialog({ kind: "remove_alias", alias: a })}>
                ✕
              </button>
            )}
          </span>
        ))}
        {v.stage && <span className={`stage ${stageClass(v.stage)}`}>{v.stage}</span>}
        {v.archived && <span className="stage archived">archived</span>}
        {v.changed_on_disk && (
          <span className="badge warn" title="A pinned file's size or SHA-256 differs on disk now: the files are not what was registered">
            changed on disk
          </span>
        )}
      </h2>
      {v.description && <p className="version-desc">{v.description}</p>}
      {gates.length > 0 && (
        <div className="version-policy">
          <span className="policy-label" title="What .runlens/registry/policy.yaml allows this version now, by the approvals that count">
            Policy
          </span>
          <ul className="plain gates" id="version-gates" aria-label="What the policy allows this version">
            {gates.map((g) => (
              <li key={`${g.kind}:${g.name}`} className={g.allowed ? "allowed" : "blocked"} data-rule={g.label}>
                <span className="mark" aria-hidden>
                  {g.allowed ? "✓" : "✗"}
                </span>
                {g.text}
                {g.holds && <span className="muted small"> · {g.kind === "alias" ? "on this version now" : "its stage now"}</span>}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="version-actions">
        {!props.readOnly && (
          <>
            <button id="act-alias" onClick={() => props.onDialog({ kind: "alias" })} disabled={v.archived}>
              Set alias…
            </button>
            <button id="act-stage" onClick={() => props.onDialog({ kind: "stage" })} disabled={v.archived}>
              Stage…
            </button>
            <button
              id="act-approve"
              onClick={() => props.onDialog({ kind: "approve" })}
              disabled={v.archived}
              title={approveWarning ?? "Approve this version, signed with your key"}
            >
              Approve…
            </button>
            <button id="act-reject" onClick={() => props.onDialog({ kind: "reject" })}>
              Reject…
            </button>
            <button onClick={() => props.onDialog({ kind: "request" })}>Ask for approval…</button>
            <button onClick={() => props.onDialog({ kind: "tag", onModel: false })}>Tag…</button>
            <button onClick={() => props.onDialog({ kind: "describe", onModel: false })}>Describe…</button>
            <button id="act-archive" onClick={props.onArchive} disabled={props.busy !== null}>
              {v.archived ? "Restore" : "Archive"}
            </button>
          </>
        )}
        <button id="act-card" onClick={props.onCard} disabled={props.busy !== null}>
          {props.busy === "card" ? "Writing the card…" : "Model card"}
        </button>
        {props.onBundle && (
          <button
            id="act-bundle"
            onClick={props.onBundle}
            title="One signed, reproducible archive of this version: its files, how to serve them, the card and the lineage"
          >
            Export bundle…
          </button>
        )}
      </div>

      <div className="version-grid">
        <section>
          <h3>Lineage</h3>
          <table className="grid kv lineage">
            <tbody>
              <tr>
                <th>run</th>
                <td>
                  {runPath ? (
                    <a
                      href="#"
                      className="run-link"
                      onClick={(e) => {
                        e.preventDefault();
                        props.onOpenRun(runPath);
                      }}
                    >
                      {l?.run?.name ?? v.source.run_name ?? v.run_id ?? runPath}
                    </a>
                  ) : (
                    (v.run_id ?? <span className="muted">not in this project</span>)
                  )}
                  {(l?.run?.format ?? v.source.format) && <span className="muted small"> · {l?.run?.format ?? v.source.format}</span>}
                  {(l?.run?.experiment ?? v.source.experiment) && <span className="muted small"> · {l?.run?.experiment ?? v.source.experiment}</span>}
                  {l?.run?.status && <span className="muted small"> · {l.run.status}</span>}
                </td>
              </tr>
              <tr>
                <th>files</th>
                <td>
                  <code className="path">{v.model_path ?? v.source.path ?? "?"}</code>
                  {v.source.kind && <span className="muted small"> · {v.source.kind}</span>}
                  {v.source.model_id && !(v.model_path ?? v.source.path ?? "").includes(v.source.model_id) && (
                    <span className="muted small"> · {v.source.model_id}</span>
                  )}
                </td>
              </tr>
              <tr>
                <th>code</th>
                <td>
                  {l?.code?.commit ? (
                    <>
                      <code title={l.code.commit}>{l.code.commit.slice(0, 12)}</code>
                      {l.code.branch && <span> on {l.code.branch}</span>}
                      {l.code.dirty === true && <span className="badge warn">dirty tree</span>}
                      {l.code.from && <span className="muted small"> · from {l.code.from}</span>}
                    </>
                  ) : (
                    <span className="muted">no commit recorded</span>
                  )}
                </td>
              </tr>
              <tr>
                <th>data</th>
                <td>
                  {l && (l.data.inputs.length > 0 || l.data.dvc.length > 0) ? (
                    <ul className="plain">
                      {l.data.inputs.map((i, n) => (
                        <li key={`i${n}`}>
                          {i.name} {i.context && <span className="muted small">({i.context})</span>} <code>{shortHash(i.digest, 12)}</code>{" "}
                          <span className="muted small">{i.source_type}</span>
                        </li>
                      ))}
                      {l.data.dvc.map((d, n) => (
                        <li key={`d${n}`}>
                          <code>{d.path}</code> <span className="muted small">dvc {d.stage}</span> <code>{shortHash(d.md5, 12)}</code>
                        </li>
                      ))}
                    </ul>
                  ) : (
                    <span className="muted">no datasets recorded</span>
                  )}
                  {props.onOpenData && model.source === "runlens" && (
                    <DataUsed model={`${model.name}@${v.version}`} onOpen={props.onOpenData} />
                  )}
                </td>
              </tr>
              {model.source === "runlens" && (
                <tr className="reference-data" id="reference-data">
                  <th title="What this version's drift is measured against: runlens data reference PROJECT MODEL@VERSION PATH@REV">reference data</th>
                  <td>
                    {v.dataset ? (
                      <>
                        {props.onOpenData ? (
                          <a
                            href="#"
                            className="data-link"
                            data-path={v.dataset.path}
                            data-rev={v.dataset.rev}
                            onClick={(e) => {
                              e.preventDefault();
                              props.onOpenData?.({ path: v.dataset!.path, rev: v.dataset!.rev });
                            }}
                          >
                            <code>{referenceText(v.dataset)}</code>
                          </a>
                        ) : (
                          <code>{referenceText(v.dataset)}</code>
                        )}
                        {v.dataset.size !== null && <span className="muted small"> · {fmtBytes(v.dataset.size)}</span>}
                        {v.dataset.md5 && (
                          <span className="muted small" title={`md5 ${v.dataset.md5}`}>
                            {" "}
                            · md5 {shortHash(v.dataset.md5, 8)}
                          </span>
                        )}
                      </>
                    ) : (
                      <span className="muted small">
                        none set: <code>runlens data reference</code> names one
                      </span>
                    )}
                  </td>
                </tr>
              )}
              {v.imported_from && (
                <tr>
                  <th>imported</th>
                  <td>
                    from {sourceLabel(v.imported_from.source ?? "")} <code>{v.imported_from.location}</code>, version {v.imported_from.version}
                  </td>
                </tr>
              )}
              <tr>
                <th>registered</th>
                <td>
                  {fmtTime(v.created_at)} by <span title={v.created_by ?? ""}>{personName(v.created_by)}</span>
                  {v.author_key && <span className="muted small"> · key {v.author_key.slice(0, 8)}…</span>}
                  {mineAuthor && <span className="muted small"> (you)</span>}
                </td>
              </tr>
            </tbody>
          </table>

          <h3>Approvals</h3>
          {v.approvals.length === 0 && v.rejections.length === 0 ? (
            <p className="muted small">None yet.</p>
          ) : (
            <ul className="plain approvals">
              {v.approvals.map((a, i) => {
                const why = uncountedReason(policy, v, a);
                return (
                  <li key={`a${i}`} className={why ? "uncounted" : ""}>
                    <span className="approved">✓ approved</span> by <strong title={`${a.by} · key ${a.key}`}>{personName(a.by)}</strong> <span className="muted small">{fmtTime(a.at)}</span> — {a.comment}
                    {why && <span className="badge warn">{why}</span>}
                  </li>
                );
              })}
              {v.rejections.map((a, i) => (
                <li key={`r${i}`}>
                  <span className="rejected">✗ rejected</span> by <strong title={a.by}>{personName(a.by)}</strong> <span className="muted small">{fmtTime(a.at)}</span> — {a.comment}
                </li>
              ))}
            </ul>
          )}

          {Object.keys(v.tags).length > 0 && (
            <>
              <h3>Tags</h3>
              <div>
                {Object.entries(v.tags).map(([k, val]) => (
                  <span key={k} className="tag-chip">
                    {k}={val}
                  </span>
                ))}
              </div>
            </>
          )}

          {(sigIn.length > 0 || sigOut.length > 0 || l?.model) && (
            <>
              <h3>Model</h3>
              {l?.model && Object.keys(l.model.flavors).length > 0 && (
                <p className="small">
                  flavors: {Object.keys(l.model.flavors).join(", ")}
                  {l.model.mlflow_version && <span className="muted"> · MLflow {l.model.mlflow_version}</span>}
                </p>
              )}
              {(sigIn.length > 0 || sigOut.length > 0) && (
                <table className="grid signature">
                  <thead>
                    <tr>
                      <th>signature</th>
                      <th>name</th>
                      <th>type</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sigIn.map((c, i) => (
                      <tr key={`in${i}`}>
                        <th>{i === 0 ? "inputs" : ""}</th>
                        <td>{c.name}</td>
                        <td>
                          <code>{c.type}</code>
                          {!c.required && <span className="muted small"> optional</span>}
                        </td>
                      </tr>
                    ))}
                    {sigOut.map((c, i) => (
                      <tr key={`out${i}`}>
                        <th>{i === 0 ? "outputs" : ""}</th>
                        <td>{c.name}</td>
                        <td>
                          <code>{c.type}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {l?.model?.input_example !== undefined && l?.model?.input_example !== null && (
                <details>
                  <summary className="small">input example</summary>
                  <pre className="code">{JSON.stringify(l.model.input_example, null, 2).slice(0, 4000)}</pre>
                </details>
              )}
            </>
          )}
        </section>
        <section>
          {l && Object.keys(l.metrics).length > 0 && (
            <>
              <h3>Metrics at registration</h3>
              <table className="grid kv">
                <tbody>
                  {Object.entries(l.metrics).map(([k, val]) => (
                    <tr key={k}>
                      <th>{k}</th>
                      <td className="num">{fmtNum(val)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          {l && Object.keys(l.params).length > 0 && (
            <>
              <h3>Params</h3>
              <table className="grid kv">
                <tbody>
                  {Object.entries(l.params).map(([k, val]) => (
                    <tr key={k}>
                      <th>{k}</th>
                      <td>{val}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}

        </section>
      </div>
      {model.source === "runlens" && <Monitoring model={model} version={v.version} hasReference={!!v.dataset} />}
      <section>
          <h3>
            Files{" "}
            {v.digest && (
              <span className="muted small" title={v.digest}>
                digest {shortHash(v.digest, 16)}
              </span>
            )}
          </h3>
          {v.files.length === 0 ? (
            <p className="muted small">No files pinned.</p>
          ) : (
            <table className="grid files" id="version-files">
              <tbody>
                {v.files.map((f) => {
                  const full = v.model_path ? (v.files.length === 1 && v.model_path.endsWith(f.path) ? v.model_path : `${v.model_path}/${f.path}`) : f.path;
                  const bad = badFiles.has(full) || badFiles.has(f.path);
                  return (
                    <tr key={f.path} className={bad ? "changed" : ""}>
                      <td>
                        <code>{f.path}</code>
                        {bad && <span className="badge warn">changed on disk</span>}
                      </td>
                      <td className="num nowrap">{fmtBytes(f.size)}</td>
                      <td>
                        <code className="muted" title={f.sha256}>
                          {shortHash(f.sha256, 12)}
                        </code>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          {v.changed_on_disk && !props.problems && <p className="muted small">Verify names the files that changed.</p>}
      </section>
    </div>
  );
}

/**
 * The batches `data watch` scored against this version's reference data: share drifted per batch,
 * and the latest batches; and the folders the app watches for new batches of this model.
 */
function Monitoring(props: { model: RegModel; version: number; hasReference: boolean }) {
  const [scores, setScores] = useState<MonitorScore[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [watches, setWatches] = useState<MonitorWatchState[]>([]);
  const name = props.model.name;
  useEffect(() => {
    let gone = false;
    api.monitorScores(name).then(
      (s) => {
        if (gone) return;
        setScores(s ?? []);
        setError(null);
      },
      (e) => !gone && setError(errorMessage(e)),
    );
    return () => {
      gone = true;
    };
  }, [props.model, name]);
  // The watches' state: read every second while this model has one (they change on their own).
  // The batches they score reach the table as the CLI's do: the project watcher reports the
  // scores' files and the view reloads the model.
  const watching = watches.length > 0;
  const reloadWatches = useCallback(() => {
    api.monitorWatches().then(
      (all) => setWatches((all ?? []).filter((w) => targetModel(w.target) === name)),
      () => {},
    );
  }, [name]);
  useEffect(reloadWatches, [reloadWatches]);
  useEffect(() => {
    if (!watching) return;
    const t = setInterval(reloadWatches, 1000);
    return () => clearInterval(t);
  }, [watching, reloadWatches]);
  const batches = useMemo(() => monitorBatches(scores ?? [], props.version), [scores, props.version]);
  if (error) return <div className="banner error small">Monitoring: {error}</div>;
  if (batches.length === 0 && !props.hasReference && !watching) return null;
  const latest = batches.slice(-10).reverse();
  return (
    <section className="monitoring" id="monitoring" data-batches={batches.length}>
      <h3>Monitoring</h3>
      {batches.length > 0 ? (
        <>
          <p className="small monitor-summary" id="monitor-summary">
            {monitorSummary(batches)} <span className="muted">· scored by runlens data watch against the reference data</span>
          </p>
          <MonitorChart batches={batches} />
          <table className="grid batches" id="monitor-batches">
            <thead>
              <tr>
                <th>batch</th>
                <th>scored</th>
                <th>drift</th>
                <th>drifted columns</th>
              </tr>
            </thead>
            <tbody>
              {latest.map((b) => (
                <tr key={b.record} data-batch={b.n} data-drift={b.drift ? "yes" : "no"}>
                  <td>
                    <code title={b.file}>{b.name}</code>
                  </td>
                  <td className="nowrap">{fmtTime(b.at)}</td>
                  <td className={b.drift ? "drift-yes" : "drift-no"}>{b.drift ? "yes" : "no"}</td>
                  <td>{b.drifted.length ? b.drifted.join(", ") : <span className="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {batches.length > latest.length && <p className="muted small">The latest {latest.length} of {batches.length} batches.</p>}
        </>
      ) : (
        <p className="muted small" id="monitor-summary">
          No batches scored against this version yet.
        </p>
      )}
      <MonitorWatches model={props.model} version={props.version} watches={watches} onChange={reloadWatches} />
    </section>
  );
}

/** The folders watched for this model's new batches, Stop for each, and "Watch a folder…". */
function MonitorWatches(props: { model: RegModel; version: number; watches: MonitorWatchState[]; onChange: () => void }) {
  const targets = useMemo(() => watchTargets(props.model, props.version), [props.model, props.version]);
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState(targets[0].target);
  const [dir, setDir] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  // The default on another version; a choice kept while the model reloads, unless it went away.
  const first = targets[0].target;
  useEffect(() => setTarget(first), [props.version, props.model.name]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (!targets.some((t) => t.target === target)) setTarget(first);
  }, [targets, target, first]);
  const choose = async () => {
    try {
      const picked = await api.monitorPickFolder(dir.trim() || null);
      if (picked) setDir(picked);
    } catch (e) {
      setProblem(errorMessage(e));
    }
  };
  const start = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await api.monitorWatch(target, dir.trim());
      setOpen(false);
      props.onChange();
    } catch (err) {
      setProblem(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const stop = async (t: string) => {
    try {
      await api.monitorUnwatch(t);
    } catch (err) {
      setProblem(errorMessage(err));
    }
    props.onChange();
  };
  return (
    <div className="monitor-watches" id="monitor-watches">
      {props.watches.map((w) => (
        <div key={w.target} className="monitor-watch" data-target={w.target} data-batches={w.batches} data-crossings={w.crossings}>
          <span className="small">
            Watching <code className="watch-dir">{w.dir}</code> · <span className="watch-summary">{watchSummary(w)}</span>
            {w.last_pass_at !== null && <span className="muted"> · last look {fmtTime(w.last_pass_at)}</span>}
          </span>
          <button type="button" className="watch-stop" onClick={() => stop(w.target)}>
            Stop
          </button>
          {w.last_error && <div className="banner error small watch-error">Last pass failed: {w.last_error}</div>}
        </div>
      ))}
      {!open ? (
        <button type="button" id="monitor-watch-open" onClick={() => setOpen(true)}>
          Watch a folder…
        </button>
      ) : (
        <form className="monitor-watch-form" id="monitor-watch-form" onSubmit={start}>
          <label>
            Score new batches against
            <select id="monitor-watch-target" value={target} onChange={(e) => setTarget(e.target.value)} disabled={busy}>
              {targets.map((t) => (
                <option key={t.target} value={t.target}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Folder
            <span className="folder-row">
              <input id="monitor-watch-dir" value={dir} onChange={(e) => setDir(e.target.value)} disabled={busy} spellCheck={false} placeholder="/data/landing" />
              <button type="button" id="monitor-watch-choose" onClick={choose} disabled={busy}>
                Choose…
              </button>
            </span>
          </label>
          <p className="muted small">
            Each new table in the folder (CSV, TSV, JSONL, Parquet) is scored every two seconds; a desktop notification tells when a column starts drifting.
          </p>
          <span className="actions">
            <button type="submit" id="monitor-watch-start" className="primary" disabled={busy || !dir.trim()}>
              Start watching
            </button>
            <button type="button" onClick={() => (setOpen(false), setProblem(null))} disabled={busy}>
              Cancel
            </button>
          </span>
        </form>
      )}
      {problem && (
        <div className="banner error small" id="monitor-watch-error">
          {problem}
        </div>
      )}
    </div>
  );
}

/** Share of drifted columns per batch, in the order scored, with the alarm line. */
function MonitorChart(props: { batches: Batch[] }) {
  const { batches } = props;
  const W = 560;
  const H = 190;
  const pad = { l: 36, r: 16, t: 14, b: 40 };
  const alarm = alarmShare(batches);
  const n = batches.length;
  const x = (i: number) => (n === 1 ? (pad.l + W - pad.r) / 2 : pad.l + 24 + (i * (W - pad.l - pad.r - 48)) / (n - 1));
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v);
  const every = Math.max(1, Math.ceil(n / 8));
  return (
    <svg className="monitor-chart" id="monitor-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Share of drifted columns per batch">
      {[0, 0.5, 1].map((t) => (
        <g key={t}>
          <line className={t === 0 ? "axis" : "grid-line"} x1={pad.l} x2={W - pad.r} y1={y(t)} y2={y(t)} />
          <text x={pad.l - 6} y={y(t) + 3} textAnchor="end">
            {`${t * 100}%`}
          </text>
        </g>
      ))}
      <line className="axis" x1={pad.l} x2={pad.l} y1={pad.t} y2={H - pad.b} />
      {alarm !== null && (
        <g className="alarm-group">
          <line className="alarm" x1={pad.l} x2={W - pad.r} y1={y(alarm)} y2={y(alarm)} />
          <text className="alarm-label" x={pad.l + 6} y={y(alarm) - 4} textAnchor="start">
            alarm: any column drifts (1 of {Math.round(1 / alarm)})
          </text>
        </g>
      )}
      {n > 1 && <path className="series" d={batches.map((b, i) => `${i ? "L" : "M"}${x(i)},${y(b.share)}`).join("")} />}
      {batches.map((b, i) => (
        <g key={b.record} data-batch={b.n}>
          <circle className={b.drift ? "drift" : "ok"} cx={x(i)} cy={y(b.share)} r={4.5}>
            <title>{`${b.name}: ${Math.round(b.share * 1000) / 10}% of columns drifted${b.drifted.length ? ` (${b.drifted.join(", ")})` : ""}`}</title>
          </circle>
          {(i % every === 0 || i === n - 1) && (
            <>
              <text x={x(i)} y={H - pad.b + 14} textAnchor="middle">
                {b.name.length > 18 ? `${b.name.slice(0, 17)}…` : b.name}
              </text>
              <text x={x(i)} y={H - pad.b + 27} textAnchor="middle">
                {fmtTime(b.at).slice(5)}
              </text>
            </>
          )}
        </g>
      ))}
    </svg>
  );
}

const KIND_ICON: Record<string, string> = {
  register: "+",
  set_alias: "@",
  remove_alias: "@",
  set_tag: "#",
  delete_tag: "#",
  set_description: "✎",
  transition: "⇢",
  request_approval: "?",
  approve: "✓",
  reject: "✗",
  archive: "▣",
  restore: "▢",
  set_dataset: "◫",
};

function Timeline(props: { history: HistoryItem[]; me: Me | null; version: number | null; asOf: number | null; onShowAt: (at: number) => void }) {
  const [onlyThis, setOnlyThis] = useState(false);
  const entries = timeline(props.history, onlyThis ? props.version : null);
  return (
    <aside className="timeline" id="timeline">
      <h3>
        History <span className="muted small">{plural(props.history.length, "event")}</span>
        <label className="small">
          <input type="checkbox" checked={onlyThis} onChange={(e) => setOnlyThis(e.target.checked)} disabled={props.version === null} /> v{props.version ?? "?"} only
        </label>
      </h3>
      <ol>
        {entries.map(({ event: e, sentence, comment, counts }) => (
          <li key={e.hash} className={`event k-${e.kind}${counts ? "" : " skipped"}${props.asOf === e.at ? " at" : ""}`} data-kind={e.kind}>
            <span className="icon" aria-hidden>
              {KIND_ICON[e.kind] ?? "•"}
            </span>
            <div className="body">
              <div className="what">
                <strong title={e.who}>{e.actor.name ?? e.actor.user}</strong> {sentence}
              </div>
              {comment && <div className="comment">“{comment}”</div>}
              {!counts && <div className="skip">does not count: {e.skipped}</div>}
              <div className="meta muted small">
                <button className="link" title={`${new Date(e.at).toISOString()}: show the model as it was right after this event`} onClick={() => props.onShowAt(e.at)}>
                  {fmtTime(e.at)}
                </button>{" "}
                · {e.host} · signed by{" "}
                <code title={e.signed_by}>{e.signed_by.slice(0, 8)}…</code>
                {isMine(e.signed_by, props.me?.key_id) ? " (you)" : ""} · <code title={e.hash}>{shortHash(e.hash, 8)}</code>
              </div>
            </div>
          </li>
        ))}
      </ol>
    </aside>
  );
}

/** What the policy will say to the change in a dialog, before it is sent. */
function Forecast(props: { f: { refused: boolean; text: string } | null }) {
  if (!props.f) return null;
  return (
    <p className={props.f.refused ? "small warn-text" : "small muted"} id="dlg-forecast">
      {props.f.text}
    </p>
  );
}

/** The project's policy in one glance: what is protected, whose approvals count, since when. */
function PolicyBar(props: { policy: RegistryPolicy; me: Me | null }) {
  const { policy, me } = props;
  const s = policySummary(policy, Date.now());
  const rules = policyRules(policy);
  if (rules.length === 0) {
    return (
      <div className="policy none small" id="policy-panel" title="Write .runlens/registry/policy.yaml to protect aliases and stages">
        <span className="policy-label">Policy</span>
        <span>
          {s.rules}; {s.authors}.
        </span>
      </div>
    );
  }
  return (
    <div className="policy small" id="policy-panel" title=".runlens/registry/policy.yaml">
      <span className="policy-label">Policy</span>
      <div>
        <div>
          <span className="policy-rules">
            {rules.map((r, i) => (
              <span key={`${r.kind}:${r.name}`}>
                {i > 0 && "; "}
                <span className={r.kind === "alias" ? "alias mini" : `stage ${stageClass(r.name)}`}>{r.label}</span> needs {r.need}
                {i === 0 ? (r.need === 1 ? " approval" : " approvals") : ""}
              </span>
            ))}
          </span>
          <span className="sep"> · </span>
          {policy.approvers.length === 0 ? (
            <span>{s.approvers}</span>
          ) : (
            <span>
              approvals count from{" "}
              {policy.approvers.map((k, i) => (
                <span key={k.key} className="approver" title={k.name ?? "no event in this project is signed by this key yet"}>
                  {i > 0 && ", "}
                  {k.name ? <strong>{approverName(k)}</strong> : null} <code>{k.key}</code>
                  {isMine(k.key, me?.key_id) ? " (you)" : ""}
                </span>
              ))}
            </span>
          )}
          <span className="sep"> · </span>
          <span>{s.authors}</span>
        </div>
        {s.since && <div className="muted">{s.since}</div>}
      </div>
    </div>
  );
}

function ActionDialog(props: {
  dialog: Dialog;
  model: RegModel;
  v: RegVersion | null;
  me: Me | null;
  policy: RegistryPolicy | null;
  error: string | null;
  onClose: () => void;
  onSubmit: (c: RegistryChange, onModel: boolean) => Promise<boolean>;
}) {
  const { dialog, model, v, policy } = props;
  const now = Date.now();
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  const [comment, setComment] = useState("");
  const [sending, setSending] = useState(false);
  const first = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  useEffect(() => first.current?.focus(), []);
  const onModel = "onModel" in dialog && dialog.onModel;
  const what = onModel || !v ? model.name : `${model.name} v${v.version}`;
  let title = "";
  let change: RegistryChange | null = null;
  let needsComment = false;
  let fields: ReactNode = null;
  const existing = Object.keys(model.aliases);
  switch (dialog.kind) {
    case "alias": {
      title = `Set an alias on ${what}`;
      const from = model.aliases[a.trim()];
      fields = (
        <>
          <label>
            Alias
            <input ref={first} id="dlg-alias" list="dlg-aliases" value={a} onChange={(e) => setA(e.target.value)} placeholder="champion" />
            <datalist id="dlg-aliases">
              {existing.map((x) => (
                <option key={x} value={x} />
              ))}
            </datalist>
          </label>
          {from !== undefined && v && from !== v.version && (
            <p className="small warn-text">
              @{a.trim()} points at version {from} now: it moves to version {v.version}.
            </p>
          )}
          <Forecast f={policy && v ? changeForecast(policy, v, "alias", a, now) : null} />
        </>
      );
      change = a.trim() ? { kind: "set_alias", alias: a.trim() } : null;
      break;
    }
    case "remove_alias":
      title = `Remove @${dialog.alias} from ${what}`;
      change = { kind: "remove_alias", alias: dialog.alias };
      break;
    case "tag":
      title = `Tag ${what}`;
      fields = (
        <div className="row">
          <label>
            Key
            <input ref={first} id="dlg-key" value={a} onChange={(e) => setA(e.target.value)} />
          </label>
          <label>
            Value
            <input id="dlg-value" value={b} onChange={(e) => setB(e.target.value)} />
          </label>
        </div>
      );
      change = a.trim() ? { kind: "set_tag", key: a.trim(), value: b } : null;
      break;
    case "describe":
      title = `Describe ${what}`;
      fields = (
        <label>
          Description
          <textarea ref={first} id="dlg-description" rows={4} value={a} onChange={(e) => setA(e.target.value)} />
        </label>
      );
      change = { kind: "set_description", description: a };
      break;
    case "stage":
      title = `Move ${what} to a stage`;
      needsComment = true;
      fields = (
        <>
          <label>
            Stage
            <input ref={first} id="dlg-stage" list="dlg-stages" value={a} onChange={(e) => setA(e.target.value)} placeholder="Staging" />
            <datalist id="dlg-stages">
              {STAGES.map((x) => (
                <option key={x} value={x} />
              ))}
            </datalist>
          </label>
          <Forecast f={policy && v ? changeForecast(policy, v, "stage", a, now) : null} />
        </>
      );
      change = a.trim() ? { kind: "transition", stage: a.trim(), comment } : null;
      break;
    case "approve": {
      title = `Approve ${what}`;
      needsComment = true;
      change = { kind: "approve", comment };
      const why = policy && v ? approvalForecast(policy, v, props.me?.key_id, now) : null;
      fields = <Forecast f={why ? { refused: true, text: why } : null} />;
      break;
    }
    case "reject":
      title = `Reject ${what}`;
      needsComment = true;
      change = { kind: "reject", comment };
      break;
    case "request":
      title = `Ask for approval of ${what}`;
      needsComment = true;
      change = { kind: "request_approval", comment };
      break;
  }
  const ready = change !== null && (!needsComment || comment.trim() !== "");
  return (
    <div className="dialog-backdrop" onClick={props.onClose}>
      <form
        className="dialog"
        role="dialog"
        aria-label={title}
        id="action-dialog"
        onClick={(e) => e.stopPropagation()}
        onSubmit={async (e) => {
          e.preventDefault();
          if (!ready || !change || sending) return;
          setSending(true);
          await props.onSubmit(change, onModel);
          setSending(false);
        }}
        onKeyDown={(e) => e.key === "Escape" && props.onClose()}
      >
        <h2>{title}</h2>
        {fields}
        {needsComment && (
          <label>
            Comment <span className="muted small">(required: it is kept in the model's history)</span>
            <textarea
              ref={dialog.kind === "approve" || dialog.kind === "reject" || dialog.kind === "request" ? first : undefined}
              id="dlg-comment"
              rows={3}
              value={comment}
              onChange={(e) => setComment(e.target.value)}
            />
          </label>
        )}
        <p className="muted small">Signed with your key and written as a new event in .runlens/registry; nothing is overwritten.</p>
        {props.error && (
          <div className="banner error" role="alert" id="dialog-error">
            {props.error}
          </div>
        )}
        <div className="dialog-buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" id="dlg-submit" disabled={!ready || sending}>
            {sending ? "Writing…" : dialog.kind === "approve" ? "Approve" : dialog.kind === "reject" ? "Reject" : "Save"}
          </button>
        </div>
      </form>
    </div>
  );
}

function CompareTable(props: { title: string; versions: RegVersion[]; rows: CompareRow[]; best?: (key: string, values: (string | null)[]) => number[] }) {
  if (props.rows.length === 0) return null;
  return (
    <>
      <h3>{props.title}</h3>
      <table className="grid diff version-diff">
        <thead>
          <tr>
            <th />
            {props.versions.map((v) => (
              <th key={v.version}>
                v{v.version}
                {v.aliases.map((a) => (
                  <span key={a} className="alias mini">
                    @{a}
                  </span>
                ))}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => {
            const best = props.best?.(r.key, r.values) ?? [];
            return (
              <tr key={r.key} className={r.differs ? "differs" : ""}>
                <th className="key">
                  {r.key}
                  {props.best && (
                    <span className="muted small" title={lowerIsBetter(r.key) ? "lower is better" : "higher is better"}>
                      {" "}
                      {lowerIsBetter(r.key) ? "↓" : "↑"}
                    </span>
                  )}
                </th>
                {r.values.map((x, i) => (
                  <td key={i} className={`${x === null ? "missing" : ""}${best.includes(i) ? " hi" : ""}`}>
                    {best.includes(i) ? <strong>{x}</strong> : (x ?? "—")}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function VersionCompare(props: { model: RegModel; versions: RegVersion[]; onOpenRun: (path: string) => void }) {
  const { versions } = props;
  const c = useMemo(() => compareVersions(versions), [versions]);
  const keys = useMemo(() => numericMetricKeys(versions), [versions]);
  const [metric, setMetric] = useState("");
  const m = keys.includes(metric) ? metric : (keys[0] ?? "");
  const best = (key: string, values: (string | null)[]) => {
    const nums = values.map((v) => (v === null ? NaN : Number(v)));
    const finite = nums.filter(Number.isFinite);
    if (finite.length < 2) return [];
    const target = lowerIsBetter(key) ? Math.min(...finite) : Math.max(...finite);
    return nums.map((n, i) => (n === target ? i : -1)).filter((i) => i >= 0);
  };
  return (
    <div className="version-compare" id="version-compare">
      <h2>
        {props.model.name}: {versions.map((v) => `v${v.version}`).join(" · ")}
      </h2>
      <div className="compare-grid">
        <div>
          <CompareTable title="Summary" versions={versions} rows={c.summary} />
          <CompareTable title="Metrics at registration" versions={versions} rows={c.metrics} best={best} />
          <CompareTable title="Params" versions={versions} rows={c.params} />
          <CompareTable title="Signature" versions={versions} rows={c.signature} />
          <CompareTable title="Files (SHA-256)" versions={versions} rows={c.files} />
        </div>
        <div>
          <h3>
            Across versions{" "}
            <select value={m} onChange={(e) => setMetric(e.target.value)} aria-label="Metric across versions" id="compare-metric">
              {keys.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
          </h3>
          {m ? <VersionChart points={metricAcrossVersions(versions, m)} metric={m} /> : <p className="muted">No metrics to chart.</p>}
        </div>
      </div>
    </div>
  );
}

/** A metric's value per version: points joined by a line, each labelled. */
function VersionChart(props: { points: { version: number; value: number | null }[]; metric: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { points, metric } = props;
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const paint = () => {
      const dpr = window.devicePixelRatio || 1;
      const w = c.clientWidth;
      const h = c.clientHeight;
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      const ctx = c.getContext("2d");
      if (!ctx) return;
      ctx.scale(dpr, dpr);
      ctx.clearRect(0, 0, w, h);
      const css = getComputedStyle(c);
      const pts = points.filter((p): p is { version: number; value: number } => p.value !== null);
      ctx.font = "11px system-ui, sans-serif";
      const ticks = pts.length ? niceTicks(Math.min(...pts.map((p) => p.value)), Math.max(...pts.map((p) => p.value))) : [];
      const labels = ticks.map((t) => fmtNum(t));
      const padL = Math.max(40, ...labels.map((l) => ctx.measureText(l).width + 14));
      const padR = 28;
      const padT = 22;
      const padB = 34;
      ctx.strokeStyle = css.color;
      ctx.fillStyle = css.color;
      ctx.globalAlpha = 0.5;
      ctx.beginPath();
      ctx.moveTo(padL, padT);
      ctx.lineTo(padL, h - padB);
      ctx.lineTo(w - padR, h - padB);
      ctx.stroke();
      ctx.globalAlpha = 1;
      if (pts.length === 0) return;
      const y0 = ticks[0];
      const y1 = ticks[ticks.length - 1];
      const sx = (i: number) => (points.length === 1 ? (padL + w - padR) / 2 : padL + 44 + (i * (w - padL - padR - 88)) / (points.length - 1));
      const sy = (v: number) => h - padB - ((v - y0) / (y1 - y0 || 1)) * (h - padT - padB);
      // Round ticks with faint grid lines, so a difference between versions reads at a glance.
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ticks.forEach((t, i) => {
        const y = sy(t);
        ctx.globalAlpha = 0.12;
        ctx.beginPath();
        ctx.moveTo(padL, y);
        ctx.lineTo(w - padR, y);
        ctx.stroke();
        ctx.globalAlpha = 0.8;
        ctx.fillText(labels[i], padL - 6, y);
      });
      ctx.globalAlpha = 1;
      ctx.textBaseline = "alphabetic";
      ctx.textAlign = "center";
      points.forEach((p, i) => ctx.fillText(`v${p.version}`, sx(i), h - padB + 16));
      const accent = css.getPropertyValue("--accent").trim() || "#2f6fdb";
      ctx.strokeStyle = accent;
      ctx.fillStyle = accent;
      ctx.lineWidth = 2;
      ctx.beginPath();
      let pen = false;
      points.forEach((p, i) => {
        if (p.value === null) {
          pen = false;
          return;
        }
        if (pen) ctx.lineTo(sx(i), sy(p.value));
        else ctx.moveTo(sx(i), sy(p.value));
        pen = true;
      });
      ctx.stroke();
      points.forEach((p, i) => {
        if (p.value === null) return;
        ctx.beginPath();
        ctx.arc(sx(i), sy(p.value), 4, 0, 2 * Math.PI);
        ctx.fill();
        ctx.fillText(fmtNum(p.value), sx(i), sy(p.value) - 9);
      });
    };
    paint();
    const ro = new ResizeObserver(paint);
    ro.observe(c);
    return () => ro.disconnect();
  }, [points, metric]);
  return <canvas className="version-chart" ref={ref} data-metric={metric} aria-label={`${metric} across versions`} />;
}

function CardView(props: { card: ModelCard; onClose: () => void; onError: (m: string) => void }) {
  const { front, body } = splitFrontMatter(props.card.markdown);
  const images = Object.fromEntries(props.card.images.map((i) => [i.name, i.data_url]));
  const name = props.card.path.split(/[\\/]/).pop() ?? "MODEL_CARD.md";
  return (
    <div className="dialog-backdrop" onClick={props.onClose}>
      <div className="dialog card-dialog" role="dialog" aria-label="Model card" id="model-card" onClick={(e) => e.stopPropagation()}>
        <div className="card-head">
          <h2>Model card</h2>
          <span className="muted small grow" title={props.card.path}>
            {props.card.path}
          </span>
          <button onClick={() => api.saveText(name, props.card.markdown).catch((e) => props.onError(errorMessage(e)))}>Save Markdown…</button>
          <button onClick={props.onClose}>Close</button>
        </div>
        {front && (
          <details className="front-matter">
            <summary className="small muted">Hugging Face metadata</summary>
            <pre className="code">{front}</pre>
          </details>
        )}
        <Markdown text={body} images={images} />
      </div>
    </div>
  );
}
