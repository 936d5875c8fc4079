import { useEffect, useState } from "react";
import { api, errorMessage } from "./api";
import { fmtCount, fmtTime, plural } from "./format";
import type { Recent } from "./types";
import type { Progress } from "./App";

export function Start(props: {
  opening: string | null;
  progress: Progress | null;
  error: string | null;
  onOpen: (path: string) => void;
  onError: (msg: string) => void;
}) {
  const [recent, setRecent] = useState<Recent[]>([]);
  useEffect(() => {
    api.recentProjects().then(setRecent, () => setRecent([]));
  }, [props.opening]);

  const pick = async () => {
    try {
      const path = await api.pickProject();
      if (path) props.onOpen(path);
    } catch (e) {
      props.onError(errorMessage(e));
    }
  };

  const p = props.progress;
  const pct = p && p.units > 0 ? Math.round((100 * p.done) / p.units) : 0;
  return (
    <div className="start">
      <div className="start-card">
        <h1>Runlens</h1>
        <p className="muted">Open a project folder: Runlens finds the MLflow, Lightning, Keras, TensorBoard and JSONL runs in it.</p>
        {props.opening ? (
          <div className="opening" aria-live="polite">
            <div>Indexing {props.opening}</div>
            <div className="progress" role="progressbar" aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
              <div className="bar" style={{ width: `${pct}%` }} />
            </div>
            <div className="muted counts">
              {p ? `${fmtCount(p.done)} of ${fmtCount(p.units)} files and folders · ${fmtCount(p.points)} points` : ""}
            </div>
          </div>
        ) : (
          <>
            <button className="primary" id="open-folder" onClick={pick}>
              Open folder…
            </button>
            <p className="muted small">or drop a folder on this window</p>
          </>
        )}
        {props.error && (
          <div className="banner error" role="alert">
            {props.error}
          </div>
        )}
        {recent.length > 0 && (
          <section className="recent">
            <h2>Recent</h2>
            <ul>
              {recent.map((r) => (
                <li key={r.path}>
                  <button
                    className="recent-item"
                    disabled={!!props.opening}
                    onClick={() => props.onOpen(r.path)}
                    title={r.path}
                  >
                    <strong>{r.name}</strong>
                    <span className="muted">{r.path}</span>
                    <span className="muted small">
                      {plural(r.runs, "run")} · {fmtTime(r.opened_at)}
                    </span>
                  </button>
                  <button
                    className="ghost small"
                    title="Remove from the list"
                    onClick={() => api.forgetProject(r.path).then(() => setRecent(recent.filter((x) => x.path !== r.path)))}
                  >
                    ✕
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </div>
  );
}
