import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import { api, errorMessage } from "./api";
import { align, defaultMetrics, fmtRelative } from "./chartData";
import { fmtNum } from "./format";
import { loadPref, savePref } from "./prefs";
import type { Run, XAxis } from "./types";

export interface ChartSettings {
  x: XAxis;
  logY: boolean;
  smoothing: number;
}

const DEFAULTS: ChartSettings = { x: "step", logY: false, smoothing: 0 };

/** Tick spacings for a step axis: 1, 2, 5, 10, 20, 50, ... up to 5e12. */
const STEP_INCRS = Array.from({ length: 13 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** Metric curves of the selected runs: one chart per chosen metric, cursors in sync. */
export function ChartsView(props: { project: string; runs: Run[]; colors: Map<string, string>; metrics: string[]; version: number }) {
  const { runs, project } = props;
  const present = useMemo(() => {
    const s = new Set<string>();
    for (const r of runs) for (const k in r.metrics) s.add(k);
    return [...s].sort();
  }, [runs]);
  const [chosen, setChosenState] = useState<string[]>(() => loadPref<string[]>(project, "chartMetrics", []));
  const [settings, setSettingsState] = useState<ChartSettings>(() => ({ ...DEFAULTS, ...loadPref(project, "chartSettings", {}) }));
  const setChosen = (c: string[]) => {
    setChosenState(c);
    savePref(project, "chartMetrics", c);
  };
  const setSettings = (s: ChartSettings) => {
    setSettingsState(s);
    savePref(project, "chartSettings", s);
  };
  // Chosen metrics the selected runs have; when none was chosen yet, their four longest series.
  const shown = useMemo(() => {
    const c = chosen.filter((k) => present.includes(k));
    return c.length > 0 ? c : defaultMetrics(runs, 4);
  }, [chosen, present, runs]);

  if (runs.length === 0) {
    return <div className="empty muted">Select runs in the Runs table (the checkboxes) to chart their metrics.</div>;
  }
  return (
    <div className="charts-view">
      <div className="toolbar">
        <label>
          X axis{" "}
          <select id="x-axis" value={settings.x} onChange={(e) => setSettings({ ...settings, x: e.target.value as XAxis })}>
            <option value="step">step</option>
            <option value="time">wall time</option>
            <option value="relative">relative time</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={settings.logY} onChange={(e) => setSettings({ ...settings, logY: e.target.checked })} /> log y
        </label>
        <label className="smoothing">
          Smoothing{" "}
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={settings.smoothing}
            onChange={(e) => setSettings({ ...settings, smoothing: Number(e.target.value) })}
          />{" "}
          <span className="mono">{settings.smoothing.toFixed(2)}</span>
        </label>
        <span className="muted small">Drag to zoom, double-click to reset. Every spike is kept: points are the min, max, first and last per pixel.</span>
      </div>
      <div className="metric-chips">
        {present.map((k) => (
          <button
            key={k}
            className={shown.includes(k) ? "chip on" : "chip"}
            aria-pressed={shown.includes(k)}
            onClick={() => setChosen(shown.includes(k) ? shown.filter((x) => x !== k) : [...shown, k])}
          >
            {k}
          </button>
        ))}
      </div>
      <div className="chart-grid">
        {shown.map((k) => (
          <MetricChart key={k} metric={k} runs={runs} colors={props.colors} settings={settings} version={props.version} />
        ))}
      </div>
    </div>
  );
}

function withAlpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export function MetricChart(props: { metric: string; runs: Run[]; colors: Map<string, string>; settings: ChartSettings; version: number }) {
  const { metric, runs, colors, settings } = props;
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shapeRef = useRef("");
  const [width, setWidth] = useState(0);
  const [zoom, setZoom] = useState<[number, number] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState("");
  const zoomRef = useRef(zoom);
  zoomRef.current = zoom;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.floor(el.clientWidth)));
    ro.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => ro.disconnect();
  }, []);

  // A new axis means old zoom bounds mean nothing.
  useEffect(() => setZoom(null), [settings.x]);

  const runKey = runs.map((r) => r.path).join("\n");
  useEffect(() => {
    if (width <= 0) return;
    let cancelled = false;
    const pixels = Math.min(8192, Math.round(width * (window.devicePixelRatio || 1)));
    // The engine's range is in its units (steps, or ms); uPlot's time scale is in seconds.
    const toEngine = (v: number) => (settings.x === "step" ? v : v * 1000);
    const range: [number, number] | null = zoom ? [toEngine(zoom[0]), toEngine(zoom[1])] : null;
    const t0 = performance.now();
    api
      .chart({ runs: runs.map((r) => r.path), key: metric, width: pixels, x: settings.x, range, smoothing: settings.smoothing })
      .then((series) => {
        if (cancelled || !box.current) return;
        const a = align(series, settings.x, settings.logY);
        const points = series.filter((s) => !s.smoothed).reduce((n, s) => n + s.x.length, 0);
        setInfo(`${points} points drawn in ${Math.round(performance.now() - t0)} ms${a.hidden ? ` · ${a.hidden} NaN/inf not drawn` : ""}`);
        setError(null);
        const smoothed = settings.smoothing > 0;
        const seriesOpts: uPlot.Series[] = [
          { label: settings.x === "step" ? "step" : settings.x === "time" ? "time" : "elapsed" },
          ...a.lines.map((l, i) => {
            const r = runs[l.run];
            // Few points: draw them, or a single point would not show at all.
            const n = a.data[i + 1].reduce<number>((k, v) => (v === undefined || v === null ? k : k + 1), 0);
            const color = colors.get(r.path) ?? "#888";
            const faint = smoothed && !l.smoothed;
            return {
              label: `${r.name ?? r.id}${faint ? " (raw)" : ""}`,
              stroke: faint ? withAlpha(color, 0.28) : color,
              width: faint ? 1 : 1.5,
              spanGaps: false,
              points: { show: n <= 60, size: 5 },
              value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : fmtNum(v)),
            } satisfies uPlot.Series;
          }),
        ];
        // Same runs, metric and settings as drawn: new points are set in place (no flicker, the
        // cursor and legend stay); anything else builds the chart again.
        const shape = [width, runKey, metric, settings.x, settings.logY, settings.smoothing]
          .concat(seriesOpts.map((o) => `${o.label}|${o.stroke}|${JSON.stringify(o.points ?? null)}`))
          .join("\n");
        if (plot.current && shapeRef.current === shape) {
          plot.current.setData(a.data as uPlot.AlignedData);
          return;
        }
        shapeRef.current = shape;
        const height = 260;
        const opts: uPlot.Options = {
          width,
          height,
          pxAlign: 0,
          cursor: { sync: { key: "runlens" }, drag: { x: true, y: false, setScale: false } },
          legend: { live: true },
          scales: {
            x: {
              time: settings.x === "time",
              range: (_u, min, max) => (zoomRef.current ? zoomRef.current : [min, max]),
            },
            y: { distr: settings.logY ? 3 : 1 },
          },
          axes: [
            settings.x === "relative"
              ? { values: (_u, ticks) => ticks.map(fmtRelative) }
              : settings.x === "step"
                ? { incrs: STEP_INCRS } // steps are whole numbers: no tick at 0.5
                : {},
            { values: (_u, ticks) => ticks.map((t) => fmtNum(t)), size: 64 },
          ],
          series: seriesOpts,
          hooks: {
            setSelect: [
              (u) => {
                if (u.select.width < 3) return;
                const lo = u.posToVal(u.select.left, "x");
                const hi = u.posToVal(u.select.left + u.select.width, "x");
                u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
                setZoom([lo, hi]);
              },
            ],
          },
        };
        plot.current?.destroy();
        plot.current = new uPlot(opts, a.data as uPlot.AlignedData, box.current);
        plot.current.over.ondblclick = () => setZoom(null);
      })
      .catch((e) => !cancelled && setError(errorMessage(e)));
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [width, runKey, metric, settings.x, settings.logY, settings.smoothing, zoom, props.version, colors]);

  useEffect(() => () => plot.current?.destroy(), []);

  return (
    <figure className="chart" data-metric={metric}>
      <figcaption>
        <strong>{metric}</strong>
        {zoom && (
          <button className="ghost small" onClick={() => setZoom(null)}>
            reset zoom
          </button>
        )}
        <span className="muted small grow">{info}</span>
        {(["png", "svg"] as const).map((format) => (
          <button
            key={format}
            className="ghost small"
            title={`Save as ${format.toUpperCase()} (rendered in Rust from the same data)`}
            onClick={() => {
              const toEngine = (v: number) => (settings.x === "step" ? v : v * 1000);
              api
                .exportChart({
                  runs: runs.map((r) => r.path),
                  colors: runs.map((r) => colors.get(r.path) ?? "#888888"),
                  key: metric,
                  x: settings.x,
                  range: zoom ? [toEngine(zoom[0]), toEngine(zoom[1])] : null,
                  smoothing: settings.smoothing,
                  logY: settings.logY,
                  format,
                })
                .then((path) => path && setInfo(`saved ${path}`), (e) => setError(errorMessage(e)));
            }}
          >
            {format.toUpperCase()}
          </button>
        ))}
      </figcaption>
      {error && <div className="banner error">{error}</div>}
      <div className="plot" ref={box} />
    </figure>
  );
}
