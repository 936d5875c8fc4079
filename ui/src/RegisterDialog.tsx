import { useEffect, useMemo, useState } from "react";
import { api, errorMessage } from "./api";
import { registerCandidates } from "./registry";
import type { Detail, Written } from "./types";

/**
 * "Register model" from a run: what to register (a logged model, an MLflow model folder, a model
 * file, any artifact), the model's name (a new one, or a new version of one that exists) and a
 * description. The engine pins the files (size and SHA-256 each) and records the lineage.
 */
export function RegisterDialog(props: { detail: Detail; path?: string; onClose: () => void; onDone: (w: Written) => void }) {
  const candidates = useMemo(() => registerCandidates(props.detail), [props.detail]);
  const [path, setPath] = useState(props.path ?? candidates[0]?.path ?? "");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [names, setNames] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    api.registryModels().then((m) => setNames([...new Set(m.filter((x) => x.source === "runlens").map((x) => x.name))]), () => {});
  }, []);

  const ready = path.trim() !== "" && name.trim() !== "" && !sending;
  const exists = names.includes(name.trim());
  const inList = candidates.some((c) => c.path === path);
  return (
    <div className="dialog-backdrop" onClick={props.onClose}>
      <form
        className="dialog"
        role="dialog"
        aria-label="Register model"
        id="register-dialog"
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => e.key === "Escape" && props.onClose()}
        onSubmit={async (e) => {
          e.preventDefault();
          if (!ready) return;
          setSending(true);
          setError(null);
          try {
            props.onDone(await api.registryRegister(props.detail.run.path, path, name.trim(), description.trim() || null));
          } catch (err) {
            setError(errorMessage(err));
          } finally {
            setSending(false);
          }
        }}
      >
        <h2>Register a model from {props.detail.run.name ?? props.detail.run.id}</h2>
        <label>
          What
          <select id="reg-path" value={inList ? path : ""} onChange={(e) => setPath(e.target.value)}>
            {!inList && <option value="">{path || "choose…"}</option>}
            {candidates.map((c) => (
              <option key={c.path} value={c.path}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {candidates.length === 0 && <p className="muted small">This run has no artifacts in the project folder to register.</p>}
        <label>
          Model name
          <input id="reg-name" list="reg-names" value={name} onChange={(e) => setName(e.target.value)} placeholder="churn-classifier" autoFocus />
          <datalist id="reg-names">
            {names.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </label>
        <p className="muted small">{name.trim() ? (exists ? `A new version of ${name.trim()}.` : `A new model, ${name.trim()}, version 1.`) : " "}</p>
        <label>
          Description <span className="muted small">(optional)</span>
          <textarea id="reg-description" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <p className="muted small">
          The files are pinned (size and SHA-256 each), not copied; the run's params, metrics, code and data are recorded as the version's
          lineage. The event is signed with your key.
        </p>
        {error && (
          <div className="banner error" role="alert" id="register-error">
            {error}
          </div>
        )}
        <div className="dialog-buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" id="reg-submit" disabled={!ready}>
            {sending ? "Registering…" : "Register"}
          </button>
        </div>
      </form>
    </div>
  );
}
