import { type ReactNode, useEffect, useMemo, useRef, useState } from "react";
import { api, errorMessage, isWireError } from "./api";
import { fmtBytes, fmtTime, plural } from "./format";
import {
  axisTicks,
  cellText,
  columnPairs,
  diffSummary,
  DRIFT_RULES,
  driftBadges,
  driftSummary,
  fileChanges,
  filterItems,
  finishedText,
  isNumeric,
  isTable,
  keyCandidates,
  meanShift,
  nullShare,
  orderPair,
  overlay,
  parseModelRef,
  partialProfile,
  progressFraction,
  runRefs,
  shares,
  shortHash,
  shortRev,
  spec,
  stat,
  tickText,
  toggleCompare,
  topText,
  versionsUsedBy,
  versionTitle,
  WORKSPACE,
  type DriftBadge,
  type Overlay,
  type RunRef,
} from "./data";
import type { ColumnDone, ColumnStats, DataDiff, DataItem, DataListing, DataProfile, DataProgress, DataVersion, DriftReport, DriftRules, Histogram, Run } from "./types";

/** A data version to show: the Data view's selection, also what other views link to. */
export interface DataFocus {
  path: string;
  rev: string | null;
}

/**
 * Versioned data: the tracked files and folders on the left; the chosen one's versions newest
 * first (commit, date, message, size, whether its bytes are here, the runs and models that used
 * it); one version's preview (first rows, column statistics), or two versions compared (schema,
 * rows, files, each column's distributions overlaid).
 */
export function DataView(props: {
  focus: DataFocus | null;
  onFocus: (f: DataFocus) => void;
  onOpenRun: (path: string) => void;
  onOpenModel: (name: string, version: number | null) => void;
  /** Bumped on refresh: the listing is read again. */
  version: number;
}) {
  const [listing, setListing] = useState<DataListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [runs, setRuns] = useState<Run[]>([]);
  const [search, setSearch] = useState("");

  useEffect(() => {
    let gone = false;
    api.dataLs(false).then(
      (l) => {
        if (gone) return;
        setListing(l);
        setError(null);
      },
      (e) => !gone && setError(errorMessage(e)),
    );
    api.runs("").then((r) => !gone && setRuns(r), () => {});
    return () => {
      gone = true;
    };
  }, [props.version]);

  const items = useMemo(() => filterItems(listing?.items ?? [], search), [listing, search]);
  const item = listing?.items.find((i) => i.path === props.focus?.path) ?? listing?.items.find((i) => isTable(i.path)) ?? listing?.items[0] ?? null;

  if (error && !listing) return <div className="banner error">{error}</div>;
  if (!listing) return <div className="empty muted">Reading the data versions…</div>;
  return (
    <div className="data-view">
      <aside className="model-list data-list">
        <input placeholder="Find data" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Find data" />
        {listing.items.length === 0 && (
          <p className="muted small">
            No tracked data. Runlens lists what DVC (<code>.dvc</code> files, <code>dvc.lock</code>) and Git LFS track.
          </p>
        )}
        <ul id="data-list">
          {items.map((i) => (
            <li key={i.path}>
              <button
                className={item?.path === i.path ? "model-item active" : "model-item"}
                data-path={i.path}
                onClick={() => props.onFocus({ path: i.path, rev: null })}
              >
                <span className="model-name">
                  <span className="data-icon" aria-hidden>
                    {i.kind === "dir" ? "▣" : isTable(i.path) ? "▦" : "▢"}
                  </span>{" "}
                  {i.path}
                </span>
                <span className="muted small">
                  {plural(i.versions.length, "version")} · {i.tracked_by.join(", ")}
                </span>
              </button>
            </li>
          ))}
        </ul>
        {listing.notes.length > 0 && (
          <ul className="plain small muted data-notes">
            {listing.notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        )}
      </aside>
      <section className="model-main data-main">
        {item ? (
          <ItemPanel
            key={item.path}
            item={item}
            runs={runs}
            selected={props.focus?.path === item.path ? props.focus.rev : null}
            onSelect={(rev) => props.onFocus({ path: item.path, rev })}
            onOpenRun={props.onOpenRun}
            onOpenModel={props.onOpenModel}
          />
        ) : (
          <div className="empty muted">Choose a dataset.</div>
        )}
      </section>
    </div>
  );
}

function ItemPanel(props: {
  item: DataItem;
  runs: Run[];
  selected: string | null;
  onSelect: (rev: string) => void;
  onOpenRun: (path: string) => void;
  onOpenModel: (name: string, version: number | null) => void;
}) {
  const { item } = props;
  const [chosen, setChosen] = useState<string[]>([]);
  const pair = orderPair(item.versions, chosen);
  const current = item.versions.find((v) => v.rev === props.selected) ?? item.versions[0] ?? null;

  return (
    <div className="data-panel">
      <div className="model-head data-head">
        <h1>{item.path}</h1>
        <span className="muted small">
          {item.kind === "dir" ? "folder" : "file"} · tracked by {item.tracked_by.join(", ")} · {plural(item.versions.length, "version")}
        </span>
      </div>
      <div className="data-timeline-head small muted">
        Versions, newest first. Click one to preview it; tick two to compare them.
        {chosen.length > 0 && (
          <button className="ghost small" id="compare-clear" onClick={() => setChosen([])}>
            Clear comparison
          </button>
        )}
      </div>
      <ol className="data-versions" id="data-versions">
        {item.versions.map((v) => (
          <VersionRow
            key={v.rev}
            v={v}
            runs={runRefs(v.runs, props.runs)}
            active={!pair && current?.rev === v.rev}
            compared={chosen.includes(v.rev)}
            compareRole={pair ? (pair[0] === v.rev ? "reference" : pair[1] === v.rev ? "current" : null) : null}
            onSelect={() => {
              setChosen([]);
              props.onSelect(v.rev);
            }}
            onCompare={() => setChosen((c) => toggleCompare(c, v.rev))}
            onOpenRun={props.onOpenRun}
            onOpenModel={props.onOpenModel}
          />
        ))}
      </ol>
      {pair ? (
        <Compare
          key={`${pair[0]}..${pair[1]}`}
          item={item}
          a={item.versions.find((v) => v.rev === pair[0])!}
          b={item.versions.find((v) => v.rev === pair[1])!}
        />
      ) : current ? (
        <Preview key={current.rev} item={item} v={current} />
      ) : null}
    </div>
  );
}

function VersionRow(props: {
  v: DataVersion;
  runs: RunRef[];
  active: boolean;
  compared: boolean;
  compareRole: "reference" | "current" | null;
  onSelect: () => void;
  onCompare: () => void;
  onOpenRun: (path: string) => void;
  onOpenModel: (name: string, version: number | null) => void;
}) {
  const { v } = props;
  const cls = ["data-version", props.active ? "active" : "", props.compared ? "compared" : ""].filter(Boolean).join(" ");
  return (
    <li className={cls} data-rev={v.rev} data-message={v.message ?? ""}>
      <label className="compare-box" title="Compare this version with another">
        <input type="checkbox" checked={props.compared} onChange={props.onCompare} aria-label={`compare ${shortRev(v.rev)}`} />
      </label>
      <button className="version-main" onClick={props.onSelect}>
        <span className="rev">
          <code title={v.rev}>{shortRev(v.rev)}</code>
        </span>
        <span className="when muted small">{v.at !== null ? fmtTime(v.at) : "now"}</span>
        <span className={v.rev === WORKSPACE ? "message muted" : "message"}>{versionTitle(v)}</span>
        <span className="size muted small">
          {v.size !== null ? fmtBytes(v.size) : ""}
          {v.nfiles !== null ? ` · ${plural(v.nfiles, "file")}` : ""}
        </span>
      </button>
      <span className="version-tags">
        {props.compareRole && <span className={`badge role ${props.compareRole}`}>{props.compareRole}</span>}
        {!v.in_cache && (
          <span className="badge warn" title="Its bytes are not in the DVC cache or LFS objects here: dvc pull / git lfs pull to read them">
            not in cache
          </span>
        )}
        {props.runs.map((r) =>
          r.path ? (
            <button key={r.id} className="chip run-chip" data-run={r.id} title={`run ${r.id}`} onClick={() => props.onOpenRun(r.path!)}>
              ▶ {r.name}
            </button>
          ) : (
            <span key={r.id} className="chip run-chip missing" data-run={r.id} title={`run ${r.id}: not in this project's index`}>
              ▶ {r.name}
            </span>
          ),
        )}
        {v.models.map((m) => {
          const ref = parseModelRef(m);
          return (
            <button key={m} className="chip model-chip" data-model={m} title={`model version ${m}`} onClick={() => props.onOpenModel(ref.name, ref.version)}>
              ◆ {m}
            </button>
          );
        })}
      </span>
    </li>
  );
}

// ---------------------------------------------------------------------------------------------
// Column statistics: computed by the engine over every row, progress while it reads

interface ProfileState {
  progress: DataProgress | null;
  /** The first rows, shown at once while the statistics are computed. */
  head: { cols: string[]; rows: DataProfile["head"] } | null;
  /** Columns whose statistics are finished, as they finish (before the whole profile). */
  done: ColumnDone[];
  profile: DataProfile | null;
  error: string | null;
  cancelled: boolean;
  job: string | null;
}

// Profiles of commits never change: kept for the session so a comparison reuses a preview's.
const profiles = new Map<string, DataProfile>();
let jobs = 0;

function useProfile(path: string, v: DataVersion | null, enabled: boolean, attempt: number): ProfileState & { cancel: () => void } {
  const [s, setS] = useState<ProfileState>({ progress: null, head: null, done: [], profile: null, error: null, cancelled: false, job: null });
  const jobRef = useRef<string | null>(null);
  const key = v ? spec(path, v.rev) : null;
  useEffect(() => {
    if (!key || !v || !enabled) {
      setS({ progress: null, head: null, done: [], profile: null, error: null, cancelled: false, job: null });
      return;
    }
    const cached = profiles.get(key);
    if (cached) {
      setS({ progress: null, head: null, done: [], profile: cached, error: null, cancelled: false, job: null });
      return;
    }
    let gone = false;
    const job = `show-${++jobs}-${Date.now()}`;
    jobRef.current = job;
    setS({ progress: { done: 0, total: v.size ?? 0, columns: null, head: null, column: null }, head: null, done: [], profile: null, error: null, cancelled: false, job });
    api
      .dataShow(key, job, (p) =>
        !gone &&
        setS((o) =>
          p.head ? { ...o, head: { cols: p.columns ?? [], rows: p.head } } : p.column ? { ...o, done: [...o.done, p.column] } : { ...o, progress: p },
        ),
      )
      .then(
        (profile) => {
          if (v.rev !== WORKSPACE) profiles.set(key, profile);
          if (!gone) setS({ progress: null, head: null, done: [], profile, error: null, cancelled: false, job: null });
        },
        (e) => {
          if (gone) return;
          const cancelled = isWireError(e) && e.code === "cancelled";
          setS((o) => ({ progress: null, head: o.head, done: [], profile: null, error: cancelled ? null : errorMessage(e), cancelled, job: null }));
        },
      )
      .finally(() => {
        if (jobRef.current === job) jobRef.current = null;
      });
    return () => {
      gone = true;
      api.dataShowCancel(job).catch(() => {});
    };
  }, [key, enabled, attempt]); // eslint-disable-line react-hooks/exhaustive-deps
  return {
    ...s,
    cancel: () => {
      if (jobRef.current) api.dataShowCancel(jobRef.current).catch(() => {});
    },
  };
}

function ProgressBar(props: { s: ProfileState; label: string; onCancel: () => void; id?: string }) {
  const f = progressFraction(props.s.progress);
  return (
    <div className="data-progress" id={props.id}>
      <div className="progress" role="progressbar" aria-label={props.label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(f * 100)}>
        <div className="bar" style={{ width: `${f * 100}%` }} />
      </div>
      <div className="small muted">
        {props.label}: {props.s.progress ? `${fmtBytes(props.s.progress.done)} of ${fmtBytes(props.s.progress.total)}` : "starting"}{" "}
        <button className="ghost small data-cancel" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function Preview(props: { item: DataItem; v: DataVersion }) {
  const { item, v } = props;
  const table = isTable(item.path) && item.kind !== "dir";
  const [attempt, setAttempt] = useState(0);
  const s = useProfile(item.path, v, table && v.in_cache, attempt);
  const p = s.profile;
  return (
    <div className="data-preview" id="data-preview" data-rev={v.rev}>
      <h2>
        <code>{shortRev(v.rev)}</code> {versionTitle(v)}
        <span className="muted small"> · {v.at !== null ? fmtTime(v.at) : "working tree"} · {shortHash(v.md5, 12)}</span>
      </h2>
      {!table && (
        <p className="muted">
          {item.kind === "dir"
            ? `A folder${v.nfiles !== null ? ` of ${plural(v.nfiles, "file")}` : ""}: tick two versions to see which files were added, deleted, modified or renamed.`
            : "Not a table Runlens reads (CSV, TSV, JSONL, Parquet): no column statistics."}
        </p>
      )}
      {table && !v.in_cache && (
        <p className="banner notice">This version's bytes are not here (not in the DVC cache): run <code>dvc pull</code> to read them.</p>
      )}
      {s.job && <ProgressBar s={s} label="Computing column statistics" onCancel={s.cancel} id="data-progress" />}
      {s.cancelled && (
        <p className="muted" id="data-cancelled">
          Cancelled. <button className="ghost small" onClick={() => setAttempt((n) => n + 1)}>Compute again</button>
        </p>
      )}
      {s.error && <div className="banner error">{s.error}</div>}
      {!p && s.head && (
        <>
          <h3>First rows</h3>
          <HeadTable cols={s.head.cols} rows={s.head.rows} />
        </>
      )}
      {!p && s.done.length > 0 && (
        <>
          <h3>
            Columns <span className="muted small">· {finishedText(s.done, s.head?.cols.length ?? null)}</span>
          </h3>
          <StatsTable p={partialProfile(s.done)} id="column-stats-partial" />
        </>
      )}
      {p && (
        <>
          <p className="data-summary" id="data-summary">
            <strong>{plural(p.rows, "row")}</strong> · {plural(p.columns.length, "column")}
          </p>
          {p.warnings.map((w) => (
            <div key={w} className="banner notice">
              {w}
            </div>
          ))}
          <h3>First rows</h3>
          <HeadTable cols={p.columns.map((c) => c.name)} rows={p.head} />
          <h3>Columns</h3>
          <StatsTable p={p} />
        </>
      )}
    </div>
  );
}

function HeadTable(props: { cols: string[]; rows: DataProfile["head"] }) {
  const cols = props.cols;
  return (
    <div className="head-rows">
      <table className="grid" id="head-rows">
        <thead>
          <tr>
            {cols.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row, i) => (
            <tr key={i}>
              {cols.map((c) => {
                const cell = row[c];
                return (
                  <td key={c} className={typeof cell === "number" ? "num" : cell === null || cell === undefined ? "null" : ""}>
                    {cell === null || cell === undefined ? "∅" : cellText(cell)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function StatsTable(props: { p: DataProfile; id?: string }) {
  return (
    <table className="grid column-stats" id={props.id ?? "column-stats"}>
      <thead>
        <tr>
          <th>column</th>
          <th>type</th>
          <th>histogram</th>
          <th className="num">count</th>
          <th className="num">nulls</th>
          <th className="num">min</th>
          <th className="num">mean</th>
          <th className="num">max</th>
          <th className="num" title="25%, 50% (median) and 75% quantiles">quartiles</th>
          <th className="num">distinct</th>
          <th>top values</th>
        </tr>
      </thead>
      <tbody>
        {props.p.columns.map((c) => (
          <StatsRow key={c.name} c={c} />
        ))}
      </tbody>
    </table>
  );
}

function StatsRow(props: { c: ColumnStats }) {
  const { c } = props;
  const lengths = c.type === "string";
  const t = lengths ? "of its values' lengths" : undefined;
  const cls = lengths ? "num lengths" : "num";
  return (
    <tr data-column={c.name}>
      <th className="key">{c.name}</th>
      <td>
        <span className={`type t-${c.type}`}>{c.type}</span>
      </td>
      <td className="hist-cell">{c.histogram && isNumeric(c) ? <HistogramSvg h={c.histogram} /> : null}</td>
      <td className="num">{c.count}</td>
      <td className="num" title={nullShare(c)}>
        {c.nulls}
      </td>
      <td className={cls} title={t}>
        {stat(c.min)}
      </td>
      <td className={cls} title={`std ${stat(c.std)}${t ? `; ${t}` : ""}`}>
        {stat(c.mean)}
      </td>
      <td className={cls} title={t}>
        {stat(c.max)}
      </td>
      <td className="num quartiles">{c.q50 !== null ? [c.q25, c.q50, c.q75].map(stat).join(" · ") : ""}</td>
      <td className="num">{c.distinct}</td>
      <td className="top small" title={topText(c, 10)}>
        <div className="top-values">{topText(c)}</div>
      </td>
    </tr>
  );
}

/** A column's 10 bins as bars, each bar its share of the rows. */
function HistogramSvg(props: { h: Histogram; width?: number; height?: number }) {
  const w = props.width ?? 100;
  const h = props.height ?? 28;
  const s = shares(props.h);
  const max = Math.max(...s, 1e-12);
  const bw = w / s.length;
  const lo = props.h.edges[0];
  const hi = props.h.edges[props.h.edges.length - 1];
  return (
    <svg className="histogram" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`histogram ${tickText(lo)} to ${tickText(hi)}`}>
      <title>{props.h.counts.map((c, i) => `${tickText(props.h.edges[i])}–${tickText(props.h.edges[i + 1])}: ${c}`).join("\n")}</title>
      {s.map((v, i) => {
        const bh = (v / max) * (h - 1);
        return <rect key={i} x={i * bw + 0.5} y={h - bh} width={Math.max(1, bw - 1)} height={bh} />;
      })}
      <line x1={0} x2={w} y1={h - 0.5} y2={h - 0.5} className="base" />
    </svg>
  );
}

// ---------------------------------------------------------------------------------------------
// Two versions compared

function Compare(props: { item: DataItem; a: DataVersion; b: DataVersion }) {
  const { item, a, b } = props;
  const table = isTable(item.path) && item.kind !== "dir";
  const [key, setKey] = useState("");
  const [diff, setDiff] = useState<DataDiff | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const readable = a.in_cache && b.in_cache;
  const pa = useProfile(item.path, a, table && readable, 0);
  const pb = useProfile(item.path, b, table && readable, 0);

  useEffect(() => {
    if (!readable) return;
    let gone = false;
    setLoading(true);
    setDiffError(null);
    api.dataDiff(spec(item.path, a.rev), spec(item.path, b.rev), key || null).then(
      (d) => {
        if (gone) return;
        setDiff(d);
        setLoading(false);
      },
      (e) => {
        if (gone) return;
        setDiffError(errorMessage(e));
        setLoading(false);
      },
    );
    return () => {
      gone = true;
    };
  }, [item.path, a.rev, b.rev, key, readable]);

  const drift = useDrift(item.path, a.rev, b.rev, table && readable);
  const badges = useMemo(() => (drift.report ? driftBadges(drift.report) : null), [drift.report]);
  const candidates = useMemo(() => keyCandidates(pa.profile, pb.profile), [pa.profile, pb.profile]);
  const pairs = useMemo(() => columnPairs(pa.profile, pb.profile), [pa.profile, pb.profile]);

  return (
    <div className="data-compare" id="data-compare" data-a={a.rev} data-b={b.rev}>
      <h2 className="compare-title">
        <span className="side reference">
          <span className="swatch" /> <code>{shortRev(a.rev)}</code> {versionTitle(a)}
        </span>
        <span className="arrow">→</span>
        <span className="side current">
          <span className="swatch" /> <code>{shortRev(b.rev)}</code> {versionTitle(b)}
        </span>
      </h2>
      {!readable && <p className="banner notice">One of these versions is not in the cache here: run <code>dvc pull</code> to compare them.</p>}
      {diffError && <div className="banner error">{diffError}</div>}
      {loading && !diff && <p className="muted">Comparing…</p>}
      {diff && (
        <>
          <p className="data-summary" id="diff-summary">
            {diffSummary(diff)}
          </p>
          {diff.warnings.map((w) => (
            <div key={w} className="banner notice">
              {w}
            </div>
          ))}
          {diff.kind === "folder" ? (
            <FolderDiff d={diff} />
          ) : (
            <TableDiff d={diff} keyName={key} candidates={candidates} onKey={setKey} loading={loading} />
          )}
        </>
      )}
      {table && readable && (
        <>
          <h3>
            Distributions{" "}
            <span className="legend small">
              <span className="swatch reference" /> {shortRev(a.rev)} (reference) <span className="swatch current" /> {shortRev(b.rev)} (current)
            </span>
          </h3>
          {(pa.job || pb.job) && (
            <ProgressBar
              s={{ ...pa, progress: combine(pa.progress, pb.progress) }}
              label="Computing both versions' statistics"
              onCancel={() => {
                pa.cancel();
                pb.cancel();
              }}
              id="compare-progress"
            />
          )}
          <DriftLine d={drift} />
          {(pa.error || pb.error) && <div className="banner error">{pa.error ?? pb.error}</div>}
          {(pa.cancelled || pb.cancelled) && <p className="muted">Cancelled.</p>}
          {pa.profile && pb.profile && (
            <div className="dist-grid" id="dist-grid">
              {pairs.map((c) => (
                <DistCard key={c.name} name={c.name} a={c.a} b={c.b} drift={badges?.get(c.name) ?? null} />
              ))}
            </div>
          )}
        </>
      )}
    </div>
  );
}

interface DriftState {
  report: DriftReport | null;
  error: string | null;
  loading: boolean;
  rules: DriftRules;
  setRules: (r: DriftRules) => void;
}

// Drift reports of two commits never change: kept for the session, per rule set.
const driftReports = new Map<string, DriftReport>();

/** The engine's drift report of `b` against `a` (the older, the reference), under the chosen rules. */
function useDrift(path: string, a: string, b: string, enabled: boolean): DriftState {
  const [rules, setRules] = useState<DriftRules>("runlens");
  const [s, setS] = useState<{ report: DriftReport | null; error: string | null; loading: boolean }>({ report: null, error: null, loading: false });
  useEffect(() => {
    if (!enabled) return;
    const key = `${rules} ${spec(path, a)} ${spec(path, b)}`;
    const cached = driftReports.get(key);
    if (cached) {
      setS({ report: cached, error: null, loading: false });
      return;
    }
    let gone = false;
    setS((o) => ({ ...o, error: null, loading: true }));
    api.dataDrift(spec(path, a), spec(path, b), rules).then(
      (report) => {
        if (a !== WORKSPACE && b !== WORKSPACE) driftReports.set(key, report);
        if (!gone) setS({ report, error: null, loading: false });
      },
      (e) => !gone && setS({ report: null, error: errorMessage(e), loading: false }),
    );
    return () => {
      gone = true;
    };
  }, [path, a, b, enabled, rules]);
  return { ...s, rules, setRules };
}

/** "2 of 5 columns drifted (rules: runlens)", and the rules to decide by. */
function DriftLine(props: { d: DriftState }) {
  const { d } = props;
  const r = d.report;
  return (
    <div className="drift-line" id="drift-summary" data-rules={r?.rules ?? ""}>
      {r ? (
        <span className={r.drift ? "drift-verdict drift" : "drift-verdict ok"}>{driftSummary(r)}</span>
      ) : d.error ? (
        <span className="error-text">Drift: {d.error}</span>
      ) : (
        <span className="muted">Testing each column for drift…</span>
      )}
      {d.loading && r && <span className="muted small"> updating…</span>}
      <span className="drift-rules small" role="group" aria-label="Drift rules">
        {DRIFT_RULES.map((x) => (
          <button
            key={x}
            className={d.rules === x ? "seg active" : "seg"}
            data-rules={x}
            aria-pressed={d.rules === x}
            title={
              x === "runlens"
                ? "runlens: significant after Holm's correction (p < 0.01) and a large enough effect (PSI, Wasserstein or JS ≥ 0.1)"
                : "evidently: Evidently's DataDriftPreset defaults (KS/chi-squared/z at p < 0.05, or distances ≥ 0.1 past 1,000 rows)"
            }
            onClick={() => d.setRules(x)}
          >
            {x}
          </button>
        ))}
      </span>
      {r?.warnings.map((w) => (
        <div key={w} className="small muted">
          {w}
        </div>
      ))}
    </div>
  );
}

function combine(x: DataProgress | null, y: DataProgress | null): DataProgress | null {
  if (!x && !y) return null;
  return { done: (x?.done ?? 0) + (y?.done ?? 0), total: (x?.total ?? 0) + (y?.total ?? 0), columns: null, head: null, column: null };
}

function TableDiff(props: { d: DataDiff; keyName: string; candidates: string[]; onKey: (k: string) => void; loading: boolean }) {
  const { d } = props;
  const schema = d.columns_added.length + d.columns_removed.length + d.columns_retyped.length > 0;
  return (
    <div className="table-diff">
      <div className="diff-cards">
        <div className="diff-card" id="diff-rowcount">
          <div className="small muted">rows</div>
          <div className="big">
            {d.a.rows} → {d.b.rows}
          </div>
        </div>
        <div className="diff-card" id="diff-schema">
          <div className="small muted">schema</div>
          {schema ? (
            <ul className="plain small">
              {d.columns_added.map((c) => (
                <li key={`+${c}`} className="added">
                  + {c}
                </li>
              ))}
              {d.columns_removed.map((c) => (
                <li key={`-${c}`} className="removed">
                  − {c}
                </li>
              ))}
              {d.columns_retyped.map((r) => (
                <li key={`~${r.name}`} className="retyped">
                  ~ {r.name}: {r.from} → {r.to}
                </li>
              ))}
            </ul>
          ) : (
            <div className="big muted">same columns</div>
          )}
        </div>
        <div className="diff-card key-card">
          <label className="small muted" htmlFor="diff-key">
            match rows by
          </label>
          <select id="diff-key" value={props.keyName} onChange={(e) => props.onKey(e.target.value)}>
            <option value="">(no key: counts only)</option>
            {(props.candidates.includes(props.keyName) || !props.keyName ? props.candidates : [props.keyName, ...props.candidates]).map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
          {props.loading && <span className="small muted"> comparing…</span>}
        </div>
        {d.key && (
          <div className="diff-card" id="diff-rows">
            <div className="small muted">rows by {d.key}</div>
            <div className="big">
              <span className="added">+{d.rows_added ?? 0} added</span> <span className="removed">−{d.rows_removed ?? 0} removed</span>{" "}
              <span className="changed">~{d.rows_changed ?? 0} changed</span>
            </div>
          </div>
        )}
      </div>
      {d.key && d.changed_cells.length > 0 && (
        <>
          <h3>
            Changed cells{" "}
            <span className="muted small">
              {d.changed_cells.length < (d.rows_changed ?? 0) ? `(the first ${d.changed_cells.length})` : ""}
            </span>
          </h3>
          <table className="grid" id="changed-cells">
            <thead>
              <tr>
                <th>{d.key}</th>
                <th>column</th>
                <th>{shortRev(d.a.rev)}</th>
                <th>{shortRev(d.b.rev)}</th>
              </tr>
            </thead>
            <tbody>
              {d.changed_cells.map((c, i) => (
                <tr key={i}>
                  <td className="num">{cellText(c.key)}</td>
                  <td>{c.column}</td>
                  <td className="old">{cellText(c.a)}</td>
                  <td className="new">{cellText(c.b)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function FolderDiff(props: { d: DataDiff }) {
  const changes = fileChanges(props.d.files);
  if (changes.length === 0) return <p className="muted">The same files.</p>;
  return (
    <table className="grid" id="folder-files">
      <thead>
        <tr>
          <th>change</th>
          <th>file</th>
          <th>hash</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={`${c.change}:${c.path}`} data-change={c.change}>
            <td>
              <span className={`badge change-${c.change}`}>{c.change}</span>
            </td>
            <td>
              {c.old && (
                <>
                  <code>{c.old}</code> →{" "}
                </>
              )}
              <code>{c.path}</code>
            </td>
            <td>
              <code className="muted">{shortHash(c.hash, 10)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One column in both versions: the two histograms overlaid on shared bins, a few numbers, and its drift badge. */
function DistCard(props: { name: string; a: ColumnStats | null; b: ColumnStats | null; drift: DriftBadge | null }) {
  const { a, b } = props;
  const numeric = isNumeric(a) || isNumeric(b);
  const o = numeric ? overlay(a?.histogram, b?.histogram) : null;
  return (
    <div className="dist-card" data-column={props.name}>
      <div className="dist-head">
        <strong>{props.name}</strong> <span className="muted small">{a?.type ?? "—"}{b && a && b.type !== a.type ? ` → ${b.type}` : ""}</span>
        {/* The drift engine's verdict for this column (data_drift, the older version the reference). */}
        <span className="drift-slot" data-drift-slot={props.name}>
          {props.drift && (
            <span className={`badge drift-${props.drift.level}`} title={props.drift.title}>
              {props.drift.label}
            </span>
          )}
        </span>
      </div>
      {!a && <div className="small added">only in {b ? "the current version" : ""}</div>}
      {!b && <div className="small removed">removed in the current version</div>}
      {o ? (
        <OverlaySvg o={o} name={props.name} />
      ) : (
        <Categories a={a} b={b} />
      )}
      <div className="dist-stats small">
        {numeric ? (
          <>
            <span>
              mean {stat(a?.mean)} → {stat(b?.mean)} <span className="muted">{meanShift(a, b)}</span>
            </span>
            {(a?.nulls || b?.nulls) ? (
              <span className="muted">
                nulls {a?.nulls ?? "—"} → {b?.nulls ?? "—"}
              </span>
            ) : null}
          </>
        ) : (
          <span className="muted">
            distinct {a?.distinct ?? "—"} → {b?.distinct ?? "—"} · nulls {a?.nulls ?? "—"} → {b?.nulls ?? "—"}
          </span>
        )}
      </div>
    </div>
  );
}

/** Two histograms on shared bins: the reference's bars behind, the current's in front. */
function OverlaySvg(props: { o: Overlay; name: string }) {
  const { o } = props;
  const W = 300;
  const H = 96;
  const pad = { l: 4, r: 4, t: 4, b: 16 };
  const n = o.edges.length - 1;
  const max = Math.max(...(o.a ?? []), ...(o.b ?? []), 1e-12);
  const bw = (W - pad.l - pad.r) / n;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const bars = (vals: number[] | null, cls: string) =>
    vals?.map((v, i) => (v > 0 ? <rect key={`${cls}${i}`} className={cls} x={pad.l + i * bw + 0.5} y={y(v)} width={Math.max(1, bw - 1)} height={H - pad.b - y(v)} /> : null));
  // The current version's outline, a step line over its bars, so both stay readable where they overlap.
  const outline = (vals: number[] | null) => {
    if (!vals) return null;
    let d = `M${pad.l},${H - pad.b}`;
    vals.forEach((v, i) => {
      d += `V${y(v)}H${pad.l + (i + 1) * bw}`;
    });
    d += `V${H - pad.b}`;
    return <path className="b-line" d={d} />;
  };
  const ticks = axisTicks(o.edges);
  const lo = o.edges[0];
  const hi = o.edges[n];
  const x = (v: number) => pad.l + ((v - lo) / (hi - lo || 1)) * (W - pad.l - pad.r);
  return (
    <svg className="overlay" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.name}: both versions' distributions`} data-bins={n}>
      {bars(o.a, "a")}
      {bars(o.b, "b")}
      {outline(o.b)}
      <line className="base" x1={pad.l} x2={W - pad.r} y1={H - pad.b + 0.5} y2={H - pad.b + 0.5} />
      {ticks.map((t, i) => (
        <text key={i} x={x(t)} y={H - 3} textAnchor={i === 0 ? "start" : i === ticks.length - 1 ? "end" : "middle"}>
          {tickText(t)}
        </text>
      ))}
    </svg>
  );
}

/** A string or boolean column: its top values' shares in each version, side by side. */
function Categories(props: { a: ColumnStats | null; b: ColumnStats | null }) {
  const share = (c: ColumnStats | null) => {
    const m = new Map<string, number>();
    const all = c ? c.count + c.nulls : 0;
    for (const [v, k] of c?.top ?? []) m.set(v === null ? "null" : cellText(v), all ? k / all : 0);
    return m;
  };
  const sa = share(props.a);
  const sb = share(props.b);
  const names = [...new Set([...sb.keys(), ...sa.keys()])].slice(0, 6);
  if (names.length === 0) return <div className="muted small">no values</div>;
  return (
    <table className="categories small">
      <tbody>
        {names.map((n) => (
          <tr key={n}>
            <th title={n}>{n}</th>
            <td>
              <div className="cat-bar reference" style={{ width: `${(sa.get(n) ?? 0) * 100}%` }} />
              <div className="cat-bar current" style={{ width: `${(sb.get(n) ?? 0) * 100}%` }} />
            </td>
            <td className="num muted">
              {pct(sa.get(n))} → {pct(sb.get(n))}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function pct(v: number | undefined): string {
  if (v === undefined) return "—";
  return `${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%`;
}

// ---------------------------------------------------------------------------------------------
// Links back from a run or a model version

/** The data versions a run (by id) or a model version ("name@version") used, as links to the Data view. */
export function DataUsed(props: { run?: string; model?: string; onOpen: (f: DataFocus) => void; title?: ReactNode }) {
  const [used, setUsed] = useState<{ path: string; rev: string; message: string | null }[] | null>(null);
  useEffect(() => {
    let gone = false;
    api.dataLs(false).then(
      (l) => !gone && setUsed(versionsUsedBy(l, { run: props.run, model: props.model })),
      () => !gone && setUsed([]),
    );
    return () => {
      gone = true;
    };
  }, [props.run, props.model]);
  if (!used || used.length === 0) return null;
  return (
    <>
    {props.title}
    <ul className="plain data-used">
      {used.map((u) => (
        <li key={`${u.path}@${u.rev}`}>
          <a
            href="#"
            className="data-link"
            data-path={u.path}
            data-rev={u.rev}
            onClick={(e) => {
              e.preventDefault();
              props.onOpen({ path: u.path, rev: u.rev });
            }}
          >
            {u.path}@{shortRev(u.rev)}
          </a>{" "}
          <span className="muted small">{u.message}</span>
        </li>
      ))}
    </ul>
    </>
  );
}
