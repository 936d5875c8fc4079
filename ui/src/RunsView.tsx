import { useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import {
  cellText,
  columnId,
  defaultPrefs,
  groupRuns,
  isSystemTag,
  keysOf,
  moveColumn,
  parseColumn,
  setAgg,
  sortRuns,
  toCsv,
  toggleColumn,
  togglePin,
  visibleColumns,
  type Agg,
  type Column,
  type ColumnPrefs,
  type Group,
  type Sort,
} from "./columns";
import { fmtNum, plural } from "./format";
import { loadPref, savePref } from "./prefs";
import { QueryBox } from "./QueryBox";
import { api, errorMessage } from "./api";
import type { Completions, Issue, Run } from "./types";

const ROW_H = 30;
const CHECK_W = 36;

function widthOf(c: Column): number {
  if (c.id === "attr.name") return 240;
  if (c.id === "attr.id" || c.id === "attr.path") return 280;
  if (c.id === "attr.start_time") return 140;
  if (c.id === "attr.status") return 96;
  return 128;
}

type Item = { type: "group"; group: Group } | { type: "run"; run: Run };

export function RunsView(props: {
  project: string;
  runs: Run[];
  filter: string;
  filterError: string | null;
  completions: Completions;
  onFilter: (f: string) => void;
  selected: string[];
  colors: Map<string, string>;
  onSelect: (ids: string[]) => void;
  onOpenRun: (path: string) => void;
  issues: Issue[];
}) {
  const { runs, project } = props;
  const [prefs, setPrefsState] = useState<ColumnPrefs>(() => loadPref(project, "columns", defaultPrefs(runs)));
  const [sort, setSortState] = useState<Sort | null>(() => loadPref(project, "sort", { column: "attr.start_time", desc: true }));
  const [groupBy, setGroupByState] = useState<string>(() => loadPref(project, "groupBy", ""));
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [picker, setPicker] = useState(false);
  const [focus, setFocus] = useState(0);
  const [showIssues, setShowIssues] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const anchor = useRef<number | null>(null);

  const setPrefs = (p: ColumnPrefs) => {
    setPrefsState(p);
    savePref(project, "columns", p);
  };
  const setSort = (s: Sort | null) => {
    setSortState(s);
    savePref(project, "sort", s);
  };
  const setGroupBy = (g: string) => {
    setGroupByState(g);
    savePref(project, "groupBy", g);
  };

  const cols = useMemo(() => visibleColumns(prefs), [prefs]);
  const sorted = useMemo(() => sortRuns(runs, sort), [runs, sort]);
  const metricCols = useMemo(() => cols.filter((c) => c.kind === "metric"), [cols]);
  const items: Item[] = useMemo(() => {
    const by = groupBy ? parseColumn(groupBy) : null;
    if (!by) return sorted.map((run) => ({ type: "run", run }));
    const out: Item[] = [];
    for (const g of groupRuns(sorted, by, metricCols)) {
      out.push({ type: "group", group: g });
      if (!collapsed.has(g.value)) for (const run of g.runs) out.push({ type: "run", run });
    }
    return out;
  }, [sorted, groupBy, metricCols, collapsed]);
  const selected = useMemo(() => new Set(props.selected), [props.selected]);

  const pinned = cols.filter((c) => prefs.pinned.includes(c.id));
  const rest = cols.filter((c) => !prefs.pinned.includes(c.id));
  const pinnedW = CHECK_W + pinned.reduce((s, c) => s + widthOf(c), 0);
  const restLeft = useMemo(() => {
    const lefts: number[] = [];
    let x = pinnedW;
    for (const c of rest) {
      lefts.push(x);
      x += widthOf(c);
    }
    return { lefts, total: x };
  }, [rest, pinnedW]);

  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_H,
    overscan: 12,
  });
  const colVirt = useVirtualizer({
    horizontal: true,
    count: rest.length,
    getScrollElement: () => scroller.current,
    estimateSize: (i) => widthOf(rest[i]),
    paddingStart: pinnedW,
    overscan: 4,
  });
  const vcols = colVirt.getVirtualItems();
  // Cells flow left to right in a row; this keeps the first drawn column at its place.
  const spacer = <div className="spacer" style={{ width: Math.max(0, (vcols[0]?.start ?? pinnedW) - pinnedW) }} />;

  useEffect(() => {
    if (focus >= items.length) setFocus(Math.max(0, items.length - 1));
  }, [items.length, focus]);

  const toggle = (run: Run, index: number, shift: boolean) => {
    const ids = new Set(props.selected);
    if (shift && anchor.current !== null) {
      const [a, b] = [Math.min(anchor.current, index), Math.max(anchor.current, index)];
      for (let i = a; i <= b; i++) {
        const it = items[i];
        if (it.type === "run") ids.add(it.run.path);
      }
    } else if (ids.has(run.path)) ids.delete(run.path);
    else ids.add(run.path);
    anchor.current = index;
    props.onSelect([...ids]);
  };

  const onKey = (e: React.KeyboardEvent) => {
    const move = (to: number) => {
      const i = Math.max(0, Math.min(items.length - 1, to));
      setFocus(i);
      rows.scrollToIndex(i, { align: "auto" });
      e.preventDefault();
    };
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? 300) / ROW_H) - 1);
    if (e.key === "ArrowDown") move(focus + 1);
    else if (e.key === "ArrowUp") move(focus - 1);
    else if (e.key === "PageDown") move(focus + page);
    else if (e.key === "PageUp") move(focus - page);
    else if (e.key === "Home") move(0);
    else if (e.key === "End") move(items.length - 1);
    else if (e.key === " " || e.key === "Enter") {
      const it = items[focus];
      if (!it) return;
      e.preventDefault();
      if (it.type === "group") {
        const s = new Set(collapsed);
        if (s.has(it.group.value)) s.delete(it.group.value);
        else s.add(it.group.value);
        setCollapsed(s);
      } else if (e.key === " ") toggle(it.run, focus, e.shiftKey);
      else props.onOpenRun(it.run.path);
    }
  };

  const headerClick = (c: Column) => {
    if (!sort || sort.column !== c.id) setSort({ column: c.id, desc: c.kind === "metric" });
    else if (sort.desc === (c.kind === "metric")) setSort({ column: c.id, desc: !sort.desc });
    else setSort(null);
  };

  const exportCsv = async () => {
    const shown = items.filter((i): i is { type: "run"; run: Run } => i.type === "run").map((i) => i.run);
    try {
      const saved = await api.saveText(`${project.split(/[\\/]/).pop() || "runs"}-runs.csv`, toCsv(shown, cols));
      if (saved) setNotice(`Saved ${shown.length} runs to ${saved}`);
    } catch (e) {
      setNotice(errorMessage(e));
    }
  };

  const header = (c: Column, left: number, sticky: boolean) => (
    <div
      key={c.id}
      className={`th${sticky ? " pinned" : ""}${c.kind === "metric" ? " num" : ""}`}
      style={sticky ? { left, width: widthOf(c) } : { width: widthOf(c) }}
      title={`${c.id} — click to sort`}
      onClick={() => headerClick(c)}
      data-col={c.id}
    >
      <span className={`kind ${c.kind}`} />
      <span className="label">{c.label}</span>
      {sort?.column === c.id && <span className="sort">{sort.desc ? "▼" : "▲"}</span>}
    </div>
  );

  const cell = (r: Run, c: Column, left: number, sticky: boolean) => {
    const text = cellText(r, c);
    let content: React.ReactNode = text;
    if (c.id === "attr.name") {
      content = (
        <a
          href="#"
          className="run-link"
          onClick={(e) => {
            e.preventDefault();
            props.onOpenRun(r.path);
          }}
        >
          {r.name || r.id}
        </a>
      );
    } else if (c.id === "attr.status") {
      content = r.status ? <span className={`status ${r.status}`}>{r.status}</span> : "";
    }
    return (
      <div
        key={c.id}
        className={`td${sticky ? " pinned" : ""}${c.kind === "metric" ? " num" : ""}`}
        style={sticky ? { left, width: widthOf(c) } : { width: widthOf(c) }}
        title={c.id === "attr.name" ? r.path : text}
      >
        {content}
      </div>
    );
  };

  const groupCell = (g: Group, index: number) => {
    const by = parseColumn(groupBy);
    return (
      <div
        className={`tr group${index === focus ? " focused" : ""}`}
        style={{ transform: `translateY(${rows.getVirtualItems().find((v) => v.index === index)?.start ?? 0}px)`, width: restLeft.total }}
      >
        <div className="td pinned groupcell" style={{ left: 0, width: pinnedW }}>
          <button
            className="ghost small"
            onClick={() => {
              const s = new Set(collapsed);
              if (s.has(g.value)) s.delete(g.value);
              else s.add(g.value);
              setCollapsed(s);
            }}
          >
            {collapsed.has(g.value) ? "▸" : "▾"}
          </button>
          <strong>{by?.label} = {g.value === "" ? "(none)" : g.value}</strong>
          <span className="muted"> · {plural(g.runs.length, "run")}</span>
        </div>
        {spacer}
        {vcols.map((v) => {
          const c = rest[v.index];
          const a = g.aggregates[c.id];
          return (
            <div key={c.id} className="td num muted" style={{ width: v.size }} title={a ? `mean ${a.mean}, min ${a.min}, max ${a.max} over ${a.n} runs` : ""}>
              {a ? `μ ${fmtNum(a.mean)}` : ""}
            </div>
          );
        })}
      </div>
    );
  };

  const k = useMemo(() => keysOf(runs), [runs]);
  const running = runs.filter((r) => r.status === "running").length;

  return (
    <div className="runs-view">
      <div className="toolbar">
        <QueryBox value={props.filter} error={props.filterError} completions={props.completions} onApply={props.onFilter} />
        <label className="groupby">
          Group by{" "}
          <select value={groupBy} onChange={(e) => setGroupBy(e.target.value)}>
            <option value="">—</option>
            <option value="attr.experiment">experiment</option>
            <option value="attr.status">status</option>
            <option value="attr.source">source</option>
            {k.params.map((p) => (
              <option key={p} value={columnId("param", p)}>
                params.{p}
              </option>
            ))}
            {k.tags.filter((t) => !isSystemTag(t)).map((t) => (
              <option key={t} value={columnId("tag", t)}>
                tags.{t}
              </option>
            ))}
          </select>
        </label>
        <button onClick={() => setPicker(!picker)} id="columns-button">
          Columns
        </button>
        <button onClick={exportCsv} title="Save the table as shown (these rows, these columns) as CSV">
          Export CSV
        </button>
      </div>
      <div className="statusline muted">
        <span id="run-count">
          {plural(runs.length, "run")}{props.filter ? (runs.length === 1 ? " matches" : " match") : ""}
        </span>
        {running > 0 && <span> · {running} running</span>}
        <span> · {props.selected.length} selected</span>
        {props.selected.length > 0 && (
          <button className="ghost small" onClick={() => props.onSelect([])}>
            clear
          </button>
        )}
        {props.issues.length > 0 && (
          <button className="ghost small warn" onClick={() => setShowIssues(!showIssues)}>
            {props.issues.length} warnings
          </button>
        )}
        {notice && <span className="notice"> · {notice}</span>}
      </div>
      {showIssues && (
        <ul className="issues">
          {props.issues.map((d, i) => (
            <li key={i}>
              <code>
                {d.file}
                {d.line !== null ? `:${d.line}` : ""}
              </code>{" "}
              {d.message}
            </li>
          ))}
        </ul>
      )}
      {picker && <ColumnPicker prefs={prefs} keys={k} onChange={setPrefs} onClose={() => setPicker(false)} />}
      <div className="table" ref={scroller} tabIndex={0} onKeyDown={onKey} role="grid" aria-rowcount={items.length} id="runs-table">
        <div className="table-inner" style={{ width: restLeft.total, height: rows.getTotalSize() + ROW_H }}>
          <div className="thead" style={{ width: restLeft.total }}>
            <div className="th pinned check" style={{ left: 0, width: CHECK_W }}>
              <input
                type="checkbox"
                aria-label="Select all shown runs"
                checked={sorted.length > 0 && sorted.every((r) => selected.has(r.path))}
                onChange={(e) => props.onSelect(e.target.checked ? sorted.map((r) => r.path) : [])}
              />
            </div>
            {(() => {
              let x = CHECK_W;
              return pinned.map((c) => {
                const el = header(c, x, true);
                x += widthOf(c);
                return el;
              });
            })()}
            {spacer}
            {vcols.map((v) => header(rest[v.index], v.start, false))}
          </div>
          <div className="tbody" style={{ height: rows.getTotalSize() }}>
            {rows.getVirtualItems().map((vr) => {
              const it = items[vr.index];
              if (it.type === "group") return <div key={`g:${it.group.value}`}>{groupCell(it.group, vr.index)}</div>;
              const r = it.run;
              const color = props.colors.get(r.path);
              let x = CHECK_W;
              return (
                <div
                  key={r.path}
                  className={`tr${selected.has(r.path) ? " selected" : ""}${vr.index === focus ? " focused" : ""}`}
                  style={{ transform: `translateY(${vr.start}px)`, width: restLeft.total }}
                  data-run={r.path}
                  onClick={() => setFocus(vr.index)}
                  onDoubleClick={() => props.onOpenRun(r.path)}
                  role="row"
                >
                  <div className="td pinned check" style={{ left: 0, width: CHECK_W }}>
                    <input
                      type="checkbox"
                      aria-label={`Select ${r.name ?? r.id}`}
                      checked={selected.has(r.path)}
                      onClick={(e) => {
                        e.stopPropagation();
                        toggle(r, vr.index, e.shiftKey);
                      }}
                      onChange={() => {}}
                    />
                    {color && <span className="swatch" style={{ background: color }} />}
                  </div>
                  {pinned.map((c) => {
                    const el = cell(r, c, x, true);
                    x += widthOf(c);
                    return el;
                  })}
                  {spacer}
                  {vcols.map((v) => cell(r, rest[v.index], v.start, false))}
                </div>
              );
            })}
          </div>
        </div>
        {items.length === 0 && <div className="empty muted">No runs{props.filter ? " match this filter" : " found in this folder"}.</div>}
      </div>
    </div>
  );
}

function ColumnPicker(props: {
  prefs: ColumnPrefs;
  keys: { params: string[]; tags: string[]; metrics: string[] };
  onChange: (p: ColumnPrefs) => void;
  onClose: () => void;
}) {
  const [q, setQ] = useState("");
  const { prefs, keys } = props;
  const all = useMemo(() => {
    const ids = [
      ...["name", "status", "experiment", "source", "start_time", "duration", "user", "id", "path"].map((a) => `attr.${a}`),
      ...keys.params.map((p) => columnId("param", p)),
      ...keys.metrics.map((m) => columnId("metric", m)),
      ...keys.tags.map((t) => columnId("tag", t)),
    ];
    return ids.map(parseColumn).filter((c): c is Column => !!c);
  }, [keys]);
  const shown = visibleColumns(prefs);
  const visibleKeys = new Set(shown.map((c) => (c.kind === "metric" ? `metrics.${c.key}` : c.id)));
  const match = (c: Column) => c.id.toLowerCase().includes(q.toLowerCase());
  return (
    <div className="picker" role="dialog" aria-label="Columns">
      <div className="picker-head">
        <input autoFocus placeholder="Find a column" value={q} onChange={(e) => setQ(e.target.value)} />
        <button className="ghost" onClick={() => props.onChange({ visible: [], pinned: [] })}>
          none
        </button>
        <button className="ghost" onClick={props.onClose}>
          ✕
        </button>
      </div>
      <div className="picker-body">
        <section>
          <h3>Shown, in order</h3>
          <ol>
            {shown.filter(match).map((c) => {
              const i = prefs.visible.indexOf(c.id);
              return (
                <li key={c.id}>
                  <span className={`kind ${c.kind}`} />
                  <span className="grow">{c.kind === "attr" ? c.label : c.id.replace(/@.*/, "")}</span>
                  {c.kind === "metric" && (
                    <select value={c.agg} onChange={(e) => props.onChange(setAgg(prefs, c.id, e.target.value as Agg))}>
                      <option value="last">last</option>
                      <option value="min">min</option>
                      <option value="max">max</option>
                    </select>
                  )}
                  <button className="ghost small" title="Pin to the left" aria-pressed={prefs.pinned.includes(c.id)} onClick={() => props.onChange(togglePin(prefs, c.id))}>
                    {prefs.pinned.includes(c.id) ? "unpin" : "pin"}
                  </button>
                  <button className="ghost small" title="Move up" onClick={() => props.onChange(moveColumn(prefs, c.id, i - 1))}>
                    ↑
                  </button>
                  <button className="ghost small" title="Move down" onClick={() => props.onChange(moveColumn(prefs, c.id, i + 1))}>
                    ↓
                  </button>
                  <button className="ghost small" title="Hide" onClick={() => props.onChange(toggleColumn(prefs, c.id))}>
                    ✕
                  </button>
                </li>
              );
            })}
          </ol>
        </section>
        <section>
          <h3>Add</h3>
          <ul>
            {all
              .filter((c) => !visibleKeys.has(c.id) && match(c))
              .slice(0, 300)
              .map((c) => (
                <li key={c.id}>
                  <button className="ghost add" onClick={() => props.onChange(toggleColumn(prefs, c.id))}>
                    <span className={`kind ${c.kind}`} /> {c.kind === "attr" ? c.label : c.id}
                  </button>
                </li>
              ))}
          </ul>
        </section>
      </div>
    </div>
  );
}
