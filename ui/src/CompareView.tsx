import { useEffect, useMemo, useRef, useState } from "react";
import { api, errorMessage } from "./api";
import { type DiffRow, lowerIsBetter, numericParams, variedParams } from "./diff";
import { fmtNum, toNumber } from "./format";
import type { Run } from "./types";

export function CompareView(props: { runs: Run[]; colors: Map<string, string>; onOpenRun: (path: string) => void }) {
  const { runs, colors } = props;
  const [onlyDiff, setOnlyDiff] = useState(true);
  const [rows, setRows] = useState<DiffRow[]>([]);
  const [diffError, setDiffError] = useState<string | null>(null);
  const paths = runs.map((r) => r.path).join("\n");
  useEffect(() => {
    if (!paths.includes("\n")) return; // fewer than two runs
    let live = true;
    api
      .diff(paths.split("\n"), onlyDiff)
      .then((r) => live && (setRows(r), setDiffError(null)))
      .catch((e) => live && setDiffError(errorMessage(e)));
    return () => {
      live = false;
    };
  }, [paths, onlyDiff]);
  const metrics = useMemo(() => {
    const s = new Set<string>();
    for (const r of runs) for (const k in r.metrics) s.add(k);
    return [...s].sort();
  }, [runs]);
  const [metric, setMetric] = useState<string>("");
  const m = metrics.includes(metric) ? metric : (metrics[0] ?? "");
  const numeric = useMemo(() => numericParams(runs), [runs]);
  const varied = useMemo(() => variedParams(runs), [runs]);
  const [scatterParam, setScatterParam] = useState("");
  const sp = numeric.includes(scatterParam) ? scatterParam : (numeric.find((p) => varied.includes(p)) ?? numeric[0] ?? "");

  if (runs.length < 2) {
    return <div className="empty muted">Select two or more runs in the Runs table to compare them.</div>;
  }
  const head = (
    <tr>
      <th />
      {runs.map((r) => (
        <th key={r.path}>
          <span className="swatch" style={{ background: colors.get(r.path) }} />
          <a href="#" onClick={(e) => { e.preventDefault(); props.onOpenRun(r.path); }}>
            {r.name ?? r.id}
          </a>
        </th>
      ))}
    </tr>
  );
  return (
    <div className="compare-view">
      <section>
        <h2>
          Params and tags{" "}
          <label className="small">
            <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} /> only differences
          </label>
        </h2>
        <div className="scroll-x">
          <table className="grid diff">
            <thead>{head}</thead>
            <tbody>
              {diffError && (
                <tr>
                  <td colSpan={runs.length + 1} className="error">
                    {diffError}
                  </td>
                </tr>
              )}
              {rows.length === 0 && !diffError && (
                <tr>
                  <td colSpan={runs.length + 1} className="muted">
                    The selected runs have the same params and tags.
                  </td>
                </tr>
              )}
              {rows.map((row) => (
                <tr key={`${row.section}.${row.key}`} className={row.differs ? "differs" : ""}>
                  <th className="key">
                    <span className="muted">{row.section}.</span>
                    {row.key}
                  </th>
                  {row.values.map((v, i) => (
                    <td key={i} className={v === null ? "missing" : ""}>
                      {v ?? "—"}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section>
        <h2>Metrics (last · min · max)</h2>
        <div className="scroll-x">
          <table className="grid metrics">
            <thead>{head}</thead>
            <tbody>
              {metrics.map((k) => {
                const lasts = runs.map((r) => toNumber(r.metrics[k]?.last));
                const finite = lasts.filter((v): v is number => v !== null && Number.isFinite(v));
                // Best and worst by the metric's name: losses and errors are better low.
                const [lo, hi] = finite.length ? [Math.min(...finite), Math.max(...finite)] : [null, null];
                const [best, worst] = lowerIsBetter(k) ? [lo, hi] : [hi, lo];
                return (
                  <tr key={k}>
                    <th className="key" title={lowerIsBetter(k) ? "lower is better" : "higher is better"}>
                      {k} <span className="muted small">{lowerIsBetter(k) ? "↓" : "↑"}</span>
                    </th>
                    {runs.map((r, i) => {
                      const s = r.metrics[k];
                      if (!s) return <td key={r.path} className="missing">—</td>;
                      const mark = lasts[i] === best ? " hi" : lasts[i] === worst ? " lo" : "";
                      return (
                        <td key={r.path} className={`num${finite.length > 1 ? mark : ""}`}>
                          <strong>{fmtNum(s.last)}</strong> <span className="muted small">{fmtNum(s.min)} · {fmtNum(s.max)}</span>
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
      <section>
        <h2>
          Parallel coordinates{" "}
          <select value={m} onChange={(e) => setMetric(e.target.value)} aria-label="Metric">
            {metrics.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </h2>
        <ParallelCoords runs={runs} colors={colors} params={numeric.length ? numeric : varied} metric={m} />
      </section>
      <section>
        <h2>
          Scatter:{" "}
          <select value={sp} onChange={(e) => setScatterParam(e.target.value)} aria-label="Param">
            {numeric.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>{" "}
          against {m}
        </h2>
        {sp ? <Scatter runs={runs} colors={colors} param={sp} metric={m} /> : <p className="muted">No numeric params to plot.</p>}
      </section>
    </div>
  );
}

function useCanvas(draw: (ctx: CanvasRenderingContext2D, w: number, h: number, css: CSSStyleDeclaration) => void, deps: unknown[]) {
  const ref = useRef<HTMLCanvasElement>(null);
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
      draw(ctx, w, h, getComputedStyle(c));
    };
    paint();
    const ro = new ResizeObserver(paint);
    ro.observe(c);
    return () => ro.disconnect();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return ref;
}

/** A value's position on an axis: numbers scaled, text values spread evenly in sorted order. */
function axisScale(values: (string | number | null)[]): (v: string | number | null) => number | null {
  const nums = values.map((v) => (v === null ? null : Number(v)));
  if (nums.every((n) => n === null || Number.isFinite(n))) {
    const f = nums.filter((n): n is number => n !== null);
    const lo = Math.min(...f);
    const hi = Math.max(...f);
    return (v) => (v === null ? null : hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo));
  }
  const cats = [...new Set(values.filter((v) => v !== null).map(String))].sort();
  return (v) => (v === null ? null : cats.length < 2 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1));
}

function ParallelCoords(props: { runs: Run[]; colors: Map<string, string>; params: string[]; metric: string }) {
  const { runs, colors, params, metric } = props;
  type Axis = { label: string; get: (r: Run) => string | number | null };
  const axes: Axis[] = [...params.map((p) => ({ label: p, get: (r: Run) => r.params[p] ?? null })), ...(metric ? [{ label: metric, get: (r: Run) => { const v = toNumber(r.metrics[metric]?.last); return v !== null && Number.isFinite(v) ? v : null; } }] : [])];
  const ref = useCanvas(
    (ctx, w, h, css) => {
      if (axes.length === 0) return;
      const pad = 40;
      const top = 30;
      const bottom = h - 22;
      const xs = axes.map((_, i) => (axes.length === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (axes.length - 1)));
      const scales = axes.map((a) => axisScale(runs.map(a.get)));
      ctx.strokeStyle = css.color;
      ctx.fillStyle = css.color;
      ctx.globalAlpha = 0.5;
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = "center";
      axes.forEach((a, i) => {
        ctx.beginPath();
        ctx.moveTo(xs[i], top);
        ctx.lineTo(xs[i], bottom);
        ctx.stroke();
        ctx.fillText(a.label, xs[i], 14);
        // The axis's extremes, at its ends.
        const vals = runs.map(a.get).filter((v): v is string | number => v !== null);
        const nums = vals.map(Number);
        const numeric = nums.every(Number.isFinite);
        const sorted = numeric ? [...nums].sort((p, q) => p - q) : [...vals.map(String)].sort();
        if (sorted.length) {
          const f = (v: string | number) => (typeof v === "number" ? fmtNum(v) : v);
          ctx.fillText(f(sorted[sorted.length - 1]), xs[i], top - 3);
          ctx.fillText(f(sorted[0]), xs[i], bottom + 14);
        }
      });
      ctx.globalAlpha = 1;
      ctx.lineWidth = 2;
      for (const r of runs) {
        ctx.strokeStyle = colors.get(r.path) ?? "#888";
        ctx.beginPath();
        let pen = false;
        axes.forEach((a, i) => {
          const t = scales[i](a.get(r));
          if (t === null) {
            pen = false;
            return;
          }
          const y = bottom - t * (bottom - top);
          if (pen) ctx.lineTo(xs[i], y);
          else ctx.moveTo(xs[i], y);
          pen = true;
        });
        ctx.stroke();
      }
    },
    [runs, colors, params.join(","), metric],
  );
  return <canvas className="pcoords" ref={ref} />;
}

function Scatter(props: { runs: Run[]; colors: Map<string, string>; param: string; metric: string }) {
  const { runs, colors, param, metric } = props;
  const pts = runs
    .map((r) => ({ r, x: Number(r.params[param]), y: toNumber(r.metrics[metric]?.last) }))
    .filter((p): p is { r: Run; x: number; y: number } => Number.isFinite(p.x) && p.y !== null && Number.isFinite(p.y));
  const ref = useCanvas(
    (ctx, w, h, css) => {
      const pad = 48;
      if (pts.length === 0) return;
      const xr = [Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x))];
      const yr = [Math.min(...pts.map((p) => p.y)), Math.max(...pts.map((p) => p.y))];
      const sx = (x: number) => pad + (xr[1] === xr[0] ? 0.5 : (x - xr[0]) / (xr[1] - xr[0])) * (w - 2 * pad);
      const sy = (y: number) => h - pad - (yr[1] === yr[0] ? 0.5 : (y - yr[0]) / (yr[1] - yr[0])) * (h - 2 * pad);
      ctx.strokeStyle = css.color;
      ctx.fillStyle = css.color;
      ctx.globalAlpha = 0.5;
      ctx.beginPath();
      ctx.moveTo(pad, pad / 2);
      ctx.lineTo(pad, h - pad);
      ctx.lineTo(w - pad / 2, h - pad);
      ctx.stroke();
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillText(`${param}: ${fmtNum(xr[0])} … ${fmtNum(xr[1])}`, pad, h - pad + 28);
      ctx.fillText(`${metric}: ${fmtNum(yr[0])} … ${fmtNum(yr[1])}`, pad + 6, pad / 2);
      ctx.globalAlpha = 1;
      for (const p of pts) {
        ctx.fillStyle = colors.get(p.r.path) ?? "#888";
        ctx.beginPath();
        ctx.arc(sx(p.x), sy(p.y), 5, 0, 2 * Math.PI);
        ctx.fill();
      }
    },
    [runs, colors, param, metric],
  );
  return <canvas className="scatter" ref={ref} />;
}
