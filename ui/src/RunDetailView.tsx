import { useEffect, useMemo, useState } from "react";
import { api, errorMessage } from "./api";
import { parseDelimited } from "./csv";
import { fmtBytes, fmtDuration, fmtNum, fmtTime } from "./format";
import { Markdown } from "./Markdown";
import { DataUsed, type DataFocus } from "./DataView";
import { RegisterDialog } from "./RegisterDialog";
import type { ArtifactPreview, Detail, FileEntry, Written } from "./types";

const NOTE_TAG = "mlflow.note.content";

export function RunDetailView(props: {
  run: string;
  version: number;
  colors: Map<string, string>;
  /** After "Register model": the version written. */
  onRegistered?: (w: Written) => void;
  /** Opens a data version this run used in the Data view. */
  onOpenData?: (f: DataFocus) => void;
}) {
  const [d, setD] = useState<Detail | null>(null);
  // The register dialog, with what it registers when opened from a file or logged model.
  const [register, setRegister] = useState<{ path?: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [file, setFile] = useState<string | null>(null);
  const [showSystem, setShowSystem] = useState(false);

  useEffect(() => {
    let gone = false;
    api.runDetail(props.run).then(
      (x) => {
        if (gone) return;
        setD(x);
        setError(null);
      },
      (e) => !gone && setError(errorMessage(e)),
    );
    return () => {
      gone = true;
    };
  }, [props.run, props.version]);

  if (error) return <div className="banner error">{error}</div>;
  if (!d) return <div className="empty muted">Loading…</div>;
  const r = d.run;
  const note = r.tags[NOTE_TAG];
  const tags = Object.entries(r.tags).filter(([k]) => k !== NOTE_TAG && (showSystem || !k.startsWith("mlflow.")));
  const color = props.colors.get(r.path);
  return (
    <div className="detail-view">
      <header className="detail-head">
        <h1>
          {color && <span className="swatch big" style={{ background: color }} />}
          {r.name ?? r.id} <span className={`status ${r.status ?? "unknown"}`}>{r.status}</span>
        </h1>
        <div className="muted small">
          {r.source} · {r.experiment ?? "no experiment"} · <code>{r.id}</code> · started {fmtTime(r.start_time)}
          {r.start_time !== null && r.end_time !== null ? ` · took ${fmtDuration(r.end_time - r.start_time)}` : ""}
          {r.user ? ` · ${r.user}` : ""}
        </div>
        <div className="muted small">
          <code>{r.path}</code>{" "}
          <button className="ghost small" id="reveal-run" onClick={() => api.reveal(r.path).catch((e) => setError(errorMessage(e)))}>
            Reveal in file manager
          </button>
          {props.onRegistered && (
            <button className="small" id="register-model" onClick={() => setRegister({})} title="Register one of this run's models or artifacts as a model version">
              Register model…
            </button>
          )}
        </div>
      </header>
      {register && props.onRegistered && (
        <RegisterDialog
          detail={d}
          path={register.path}
          onClose={() => setRegister(null)}
          onDone={(w) => {
            setRegister(null);
            props.onRegistered?.(w);
          }}
        />
      )}
      {d.issues.length > 0 && (
        <ul className="issues">
          {d.issues.map((x, i) => (
            <li key={i}>
              <code>
                {x.file}
                {x.line !== null ? `:${x.line}` : ""}
              </code>{" "}
              {x.message}
            </li>
          ))}
        </ul>
      )}
      <div className="detail-grid">
        <section>
          <h2>Params</h2>
          <KeyValues entries={Object.entries(r.params)} />
          <h2>
            Tags{" "}
            <label className="small muted">
              <input type="checkbox" checked={showSystem} onChange={(e) => setShowSystem(e.target.checked)} /> system tags
            </label>
          </h2>
          <KeyValues entries={tags} />
          {props.onOpenData && (
            <DataSection run={r.id} onOpen={props.onOpenData} />
          )}
          {d.inputs.length > 0 && (
            <>
              <h2>Datasets</h2>
              <table className="grid kv">
                <tbody>
                  {d.inputs.map((i, n) => (
                    <tr key={n}>
                      <th>{i.name}</th>
                      <td>
                        {i.context ? `${i.context} · ` : ""}
                        <code>{i.digest}</code> <span className="muted small">{i.source_type}: {i.source}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </section>
        <section>
          {note && (
            <>
              <h2>Notes</h2>
              <Markdown text={note} />
            </>
          )}
          <h2>Metrics</h2>
          <table className="grid metrics-summary">
            <thead>
              <tr>
                <th>metric</th>
                <th className="num">last</th>
                <th className="num">min</th>
                <th className="num">max</th>
                <th className="num">points</th>
                <th className="num">last step</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(r.metrics).map(([k, m]) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td className="num">{fmtNum(m.last)}</td>
                  <td className="num">{fmtNum(m.min)}</td>
                  <td className="num">{fmtNum(m.max)}</td>
                  <td className="num">{m.count}</td>
                  <td className="num">{m.last_step}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <section className="artifacts">
        <h2>Artifacts</h2>
        {d.artifacts.length === 0 && d.models.length === 0 ? (
          <p className="muted">This run has no artifacts in the project folder.</p>
        ) : (
          <div className="artifact-browser">
            <ul className="file-list" id="artifact-list">
              {d.artifacts.map((f) => (
                <FileItem key={f.path} f={f} active={file === f.path} onClick={() => setFile(f.path)} />
              ))}
              {d.models.map((m) => (
                <li key={m.model_id || m.name} className="model-group">
                  <div className="muted small">
                    model <strong>{m.name}</strong> {m.flavors.length > 0 && `(${m.flavors.join(", ")})`}{" "}
                    {props.onRegistered && (m.model_id || m.dir) && (
                      <button className="ghost small" title="Register this logged model as a model version" onClick={() => setRegister({ path: m.model_id || m.dir || undefined })}>
                        Register…
                      </button>
                    )}
                  </div>
                  <ul>
                    {m.files.map((f) => (
                      <FileItem key={f.path} f={f} active={file === f.path} onClick={() => setFile(f.path)} />
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
            <div className="preview">
              {file ? (
                <Preview
                  run={r.path}
                  path={file}
                  onError={setError}
                  onRegister={
                    props.onRegistered
                      ? () => {
                          const a = d.artifacts.find((x) => x.path === file);
                          setRegister({ path: a ? a.name : file });
                        }
                      : undefined
                  }
                />
              ) : (
                <p className="muted">Choose a file to preview it.</p>
              )}
            </div>
          </div>
        )}
      </section>
    </div>
  );
}

/** The tracked data versions this run used (DVC, Git LFS), linking to the Data view. */
function DataSection(props: { run: string; onOpen: (f: DataFocus) => void }) {
  return (
    <div className="run-data" id="run-data">
      <DataUsed run={props.run} onOpen={props.onOpen} title={<h2>Data versions</h2>} />
    </div>
  );
}

function KeyValues(props: { entries: [string, string][] }) {
  if (props.entries.length === 0) return <p className="muted">None.</p>;
  return (
    <table className="grid kv">
      <tbody>
        {props.entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FileItem(props: { f: FileEntry; active: boolean; onClick: () => void }) {
  return (
    <li>
      <button className={props.active ? "file active" : "file"} onClick={props.onClick} title={props.f.path}>
        <span className="grow">{props.f.name}</span>
        <span className="muted small">{fmtBytes(props.f.size)}</span>
      </button>
    </li>
  );
}

function Preview(props: { run: string; path: string; onError: (m: string) => void; onRegister?: () => void }) {
  const [p, setP] = useState<ArtifactPreview | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    let gone = false;
    setP(null);
    setErr(null);
    api.artifact(props.run, props.path).then(
      (x) => !gone && setP(x),
      (e) => !gone && setErr(errorMessage(e)),
    );
    return () => {
      gone = true;
    };
  }, [props.run, props.path]);
  const url = useMemo(() => {
    if (!p || p.kind !== "image" || !p.mime || p.bytes.length === 0) return null;
    return URL.createObjectURL(new Blob([p.bytes as BlobPart], { type: p.mime }));
  }, [p]);
  useEffect(() => () => { if (url) URL.revokeObjectURL(url); }, [url]);
  if (err) return <div className="banner error">{err}</div>;
  if (!p) return <p className="muted">Loading…</p>;
  const head = (
    <div className="preview-head">
      <code>{p.path}</code> <span className="muted small">{fmtBytes(p.size)}</span>
      <button className="ghost small" onClick={() => api.reveal(props.run, p.path).catch((e) => props.onError(errorMessage(e)))}>
        Reveal
      </button>
      {props.onRegister && (
        <button className="ghost small" onClick={props.onRegister} title="Register this file as a model version">
          Register as model…
        </button>
      )}
    </div>
  );
  const text = () => new TextDecoder().decode(p.bytes);
  const cut = p.truncated ? <p className="muted small">Showing the first {fmtBytes(p.bytes.length)}.</p> : null;
  switch (p.kind) {
    case "image":
      return (
        <div data-kind="image">
          {head}
          {url ? <img className="artifact-image" src={url} alt={p.path} /> : <p className="muted">Too large to preview.</p>}
        </div>
      );
    case "table": {
      const rows = parseDelimited(text(), p.path.toLowerCase().endsWith(".tsv") ? "\t" : ",", 501);
      const [hdr, ...body] = rows;
      return (
        <div data-kind="table">
          {head}
          <div className="scroll-x">
            <table className="grid">
              <thead>
                <tr>{hdr?.map((h, i) => <th key={i}>{h}</th>)}</tr>
              </thead>
              <tbody>
                {body.map((r, i) => (
                  <tr key={i}>{r.map((c, j) => <td key={j}>{c}</td>)}</tr>
                ))}
              </tbody>
            </table>
          </div>
          {(rows.length > 500 || p.truncated) && <p className="muted small">Showing the first {body.length} rows.</p>}
        </div>
      );
    }
    case "json": {
      let t = text();
      try {
        t = JSON.stringify(JSON.parse(t), null, 2);
      } catch {
        // shown as written
      }
      return (
        <div data-kind="json">
          {head}
          <pre className="code">{t}</pre>
          {cut}
        </div>
      );
    }
    case "binary":
      return (
        <div data-kind="binary">
          {head}
          <p className="muted">Not previewed: a binary file. Runlens never opens model weights or pickles.</p>
        </div>
      );
    default:
      return (
        <div data-kind={p.kind}>
          {head}
          <pre className="code">{text()}</pre>
          {cut}
        </div>
      );
  }
}
