import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { listen } from "@tauri-apps/api/event";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { api, errorMessage } from "./api";
import { assignColors } from "./colors";
import { plural } from "./format";
import type { Completions, Run, ScanEvent, Scanned, WatchMsg } from "./types";
import { Start } from "./Start";
import { RunsView } from "./RunsView";
import { ChartsView } from "./ChartsView";
import { CompareView } from "./CompareView";
import { RunDetailView } from "./RunDetailView";
import { ModelsView, type ModelFocus } from "./ModelsView";
import { DataView, type DataFocus } from "./DataView";
import { loadPref, savePref } from "./prefs";

export type Tab = "runs" | "charts" | "compare" | "models" | "data" | "detail";

export interface Progress {
  units: number;
  done: number;
  points: number;
}

const EMPTY_COMPLETIONS: Completions = { params: {}, tags: {}, metrics: [] };

export function App() {
  const [project, setProject] = useState<Scanned | null>(null);
  const [opening, setOpening] = useState<string | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [runs, setRuns] = useState<Run[]>([]);
  const [filter, setFilter] = useState("");
  const [filterError, setFilterError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [colors, setColors] = useState<Map<string, string>>(new Map());
  const [tab, setTab] = useState<Tab>("runs");
  const [detail, setDetail] = useState<string | null>(null);
  const [completions, setCompletions] = useState<Completions>(EMPTY_COMPLETIONS);
  const [version, setVersion] = useState(0);
  // Bumped when the registry changed on disk (the watcher) or by a write here.
  const [registryVersion, setRegistryVersion] = useState(0);
  const [modelFocus, setModelFocus] = useState<ModelFocus | null>(null);
  const [dataFocus, setDataFocus] = useState<DataFocus | null>(null);
  // Bumped by a refresh: the Data view reads the data versions again.
  const [dataVersion, setDataVersion] = useState(0);
  const [refreshing, setRefreshing] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  // Counts successful opens: each one (re)subscribes to the watcher.
  const [opened, setOpened] = useState(0);
  const filterRef = useRef(filter);
  filterRef.current = filter;

  const loadRuns = useCallback(async (f: string) => {
    try {
      const rows = await api.runs(f);
      setRuns(rows);
      setFilterError(null);
      return true;
    } catch (e) {
      setFilterError(errorMessage(e));
      return false;
    }
  }, []);

  const open = useCallback(
    async (path: string) => {
      setOpening(path);
      setError(null);
      setProgress({ units: 0, done: 0, points: 0 });
      const onProgress = (e: ScanEvent) =>
        setProgress((p) =>
          e.kind === "discovered"
            ? { units: e.units, done: 0, points: 0 }
            : { units: e.total, done: e.done, points: e.points ?? p?.points ?? 0 },
        );
      try {
        const scanned = await api.openProject(path, onProgress);
        const saved = loadPref<string[]>(scanned.path, "selected", []);
        setFilter(loadPref(scanned.path, "filter", ""));
        const f = loadPref(scanned.path, "filter", "");
        const ok = await loadRuns(f);
        if (!ok) await loadRuns("");
        setSelected(saved);
        setColors(assignColors(saved, new Map()));
        setProject(scanned);
        setOpened((n) => n + 1);
        setTab("runs");
        setDetail(null);
        setModelFocus(null);
        setDataFocus(null);
        api.completions().then(setCompletions, () => setCompletions(EMPTY_COMPLETIONS));
      } catch (e) {
        setError(errorMessage(e));
      } finally {
        setOpening(null);
        setProgress(null);
      }
    },
    [loadRuns],
  );

  const refresh = useCallback(async () => {
    if (!project) return;
    setRefreshing(true);
    try {
      const r = await api.refresh(() => {});
      // A model's pinned files may have changed on disk: the registry is checked again too.
      setRegistryVersion((v) => v + 1);
      setDataVersion((v) => v + 1);
      if (r && (r.units_read > 0 || r.points > 0)) {
        await loadRuns(filterRef.current);
        setProject((p) => (p ? { ...p, runs: r.runs, issues: r.issues } : p));
        setVersion((v) => v + 1);
        api.completions().then(setCompletions, () => {});
      }
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setRefreshing(false);
    }
  }, [project, loadRuns]);

  // Live updates: the watcher's changes reload the table and the open charts in place, at most
  // every 250 ms (or twice as long as the last reload took, on a big project).
  const live = useRef({ pending: false, last: 0, cost: 0 });
  useEffect(() => {
    if (opened === 0) return;
    let stopped = false;
    const update = async () => {
      const t0 = performance.now();
      await loadRuns(filterRef.current);
      setVersion((v) => v + 1);
      live.current.cost = performance.now() - t0;
      live.current.last = performance.now();
      live.current.pending = false;
    };
    const onChange = (m: WatchMsg) => {
      if (stopped) return;
      if (m.kind === "notice") {
        setNotice(m.message);
        return;
      }
      // Someone (the CLI, a colleague on the shared folder) wrote registry events, or `data watch`
      // scored a batch (its scores are the run monitor:<model>@<version>): the Models view reloads.
      const monitored = m.runs.some((r) => r.startsWith("monitor:")) || m.points.some(([r]) => r.startsWith("monitor:"));
      if (m.registry.length || monitored) setRegistryVersion((v) => v + 1);
      if (!m.runs.length && !m.points.length && !m.removed.length) return;
      if (live.current.pending) return;
      live.current.pending = true;
      const gap = Math.max(250, 2 * live.current.cost);
      const wait = Math.max(0, live.current.last + gap - performance.now());
      setTimeout(() => {
        if (!stopped) update().catch(() => (live.current.pending = false));
      }, wait);
      if (m.runs.length || m.removed.length) api.completions().then(setCompletions, () => {});
    };
    api.watch(onChange).catch((e) => setNotice(`live updates are off: ${errorMessage(e)}`));
    return () => {
      stopped = true;
    };
  }, [opened, loadRuns]); // eslint-disable-line react-hooks/exhaustive-deps

  // A folder named on the command line, dropped on the window, or sent by a second launch.
  useEffect(() => {
    api.currentProject().then((c) => {
      if (c.requested) open(c.requested);
    }, () => {});
    const un = [
      listen<string>("open-request", (e) => open(e.payload)),
      listen<{ message: string }>("open-error", (e) => setError(e.payload.message)),
    ];
    return () => un.forEach((p) => p.then((f) => f()));
  }, [open]);

  // Refresh on window focus and on F5 / Ctrl+R / Cmd+R.
  useEffect(() => {
    if (!project) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "F5" || ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "r")) {
        e.preventDefault();
        refresh();
      }
    };
    window.addEventListener("keydown", onKey);
    const unFocus = getCurrentWindow().onFocusChanged(({ payload }) => {
      if (payload) refresh();
    });
    return () => {
      window.removeEventListener("keydown", onKey);
      unFocus.then((f) => f()).catch(() => {});
    };
  }, [project, refresh]);

  const select = useCallback(
    (ids: string[]) => {
      setSelected(ids);
      setColors((prev) => assignColors(ids, prev));
      if (project) savePref(project.path, "selected", ids);
    },
    [project],
  );

  const applyFilter = useCallback(
    async (f: string) => {
      setFilter(f);
      const ok = await loadRuns(f);
      if (ok && project) savePref(project.path, "filter", f);
    },
    [loadRuns, project],
  );

  const byId = useMemo(() => new Map(runs.map((r) => [r.path, r])), [runs]);
  const selectedRuns = useMemo(() => selected.map((id) => byId.get(id)).filter((r): r is Run => !!r), [selected, byId]);

  const showDetail = useCallback((path: string) => {
    setDetail(path);
    setTab("detail");
  }, []);

  const showModel = useCallback((name: string, version: number | null) => {
    setModelFocus({ name, source: "runlens", version });
    setTab("models");
  }, []);

  const showData = useCallback((f: DataFocus) => {
    setDataFocus(f);
    setTab("data");
  }, []);

  if (!project) {
    return <Start opening={opening} progress={progress} error={error} onOpen={open} onError={setError} />;
  }

  const running = runs.filter((r) => r.status === "running").length;
  return (
    <div className="app">
      <header className="topbar">
        <button className="ghost" title="Open another project" onClick={() => setProject(null)}>
          ◂
        </button>
        <div className="project" title={project.path}>
          <strong>{project.name}</strong>
          <span className="muted">
            {plural(runs.length, "run")}{filter ? " match" : ""}{running > 0 ? ` · ${running} running` : ""}
            {project.issues.length > 0 ? ` · ${project.issues.length} warnings` : ""}
          </span>
        </div>
        <nav className="tabs" role="tablist">
          {(
            [
              ["runs", "Runs"],
              ["charts", `Charts${selected.length ? ` (${selectedRuns.length})` : ""}`],
              ["compare", "Compare"],
              ["models", "Models"],
              ["data", "Data"],
              ["detail", "Run"],
            ] as [Tab, string][]
          ).map(([t, label]) => (
            <button
              key={t}
              role="tab"
              data-tab={t}
              aria-selected={tab === t}
              className={tab === t ? "tab active" : "tab"}
              onClick={() => setTab(t)}
              disabled={t === "detail" && !detail}
            >
              {label}
            </button>
          ))}
        </nav>
        <button className="ghost" onClick={refresh} disabled={refreshing} title="Refresh (F5)">
          {refreshing ? "Refreshing…" : "↻ Refresh"}
        </button>
      </header>
      {notice && (
        <div className="banner notice" role="status">
          {notice} <button className="ghost" onClick={() => setNotice(null)}>✕</button>
        </div>
      )}
      {error && (
        <div className="banner error" role="alert">
          {error} <button className="ghost" onClick={() => setError(null)}>✕</button>
        </div>
      )}
      <main className="content">
        {tab === "runs" && (
          <RunsView
            project={project.path}
            runs={runs}
            filter={filter}
            filterError={filterError}
            completions={completions}
            onFilter={applyFilter}
            selected={selected}
            colors={colors}
            onSelect={select}
            onOpenRun={showDetail}
            issues={project.issues}
          />
        )}
        {tab === "charts" && (
          <ChartsView project={project.path} runs={selectedRuns} colors={colors} metrics={completions.metrics} version={version} />
        )}
        {tab === "compare" && <CompareView runs={selectedRuns} colors={colors} onOpenRun={showDetail} />}
        {tab === "models" && (
          <ModelsView version={registryVersion} focus={modelFocus} onFocus={setModelFocus} onOpenRun={showDetail} onOpenData={showData} />
        )}
        {tab === "data" && (
          <DataView version={dataVersion} focus={dataFocus} onFocus={setDataFocus} onOpenRun={showDetail} onOpenModel={showModel} />
        )}
        {tab === "detail" && detail && (
          <RunDetailView
            run={detail}
            version={version}
            colors={colors}
            onOpenData={showData}
            onRegistered={(w) => {
              setModelFocus({ name: w.name, source: "runlens", version: w.version });
              setRegistryVersion((v) => v + 1);
              setTab("models");
            }}
          />
        )}
      </main>
    </div>
  );
}
