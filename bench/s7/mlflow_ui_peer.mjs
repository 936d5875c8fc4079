#!/usr/bin/env node
// Benchmark S7, peer side: `mlflow ui` + a headless Chromium tab on a 10k-run MLflow file store.
//
// Per repetition (fresh server, fresh browser, fresh profile):
//   t0  spawn `python -m mlflow ui --backend-store-uri file://<abs>/mlruns --host 127.0.0.1 --port P`
//       (own process group; default workers)
//   poll GET /health every 100 ms until 200                          -> server_ready_ms
//   launch Chromium (launchPersistentContext, fresh empty user-data-dir)
//   goto  http://127.0.0.1:P/#/experiments/<id>/runs?workflowType=machine_learning
//   wait until the run table is "usable" (see USABLE_SELECTOR below) -> table_usable_ms (from t0),
//                                                                      browser_nav_to_table_ms (from goto)
//   memory snapshot (RSS + PSS of both process trees, /proc/PID/smaps_rollup), then again after --idle-s
//   kill both process groups (also on failure / Ctrl-C)
//
// Usage:
//   node mlflow_ui_peer.mjs --project /scratch/bench/wide \
//        --python ~/.cache/runlens-fixtures-venv/bin/python --reps 3 --out results.json
// See README.md next to this file.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';

// "Usable" = a run-name link of the runs table (ag-grid row, Run Name column, link to a run page)
// is in the DOM, has a non-empty text, and has a non-empty layout box inside the viewport.
const RUN_NAME_SELECTOR = '.ag-row [role="gridcell"][col-id="attributes.`Run Name`"] a[href*="/runs/"]';

// ------------------------------------------------------------------------------------------------
// args

function parseArgs(argv) {
  const a = {
    project: null, python: null, reps: 3, out: null, port: 0, idleS: 5, timeoutS: 900,
    experiment: null, chromium: '/usr/bin/chromium', viewport: '1440x900', warm: true, keepLogs: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => { if (i + 1 >= argv.length) die(`missing value for ${k}`); return argv[++i]; };
    switch (k) {
      case '--project': a.project = v(); break;
      case '--python': a.python = v(); break;
      case '--reps': a.reps = parseInt(v(), 10); break;
      case '--out': a.out = v(); break;
      case '--port': a.port = parseInt(v(), 10); break;
      case '--idle-s': a.idleS = parseFloat(v()); break;
      case '--timeout-s': a.timeoutS = parseFloat(v()); break;
      case '--experiment': a.experiment = v(); break;
      case '--chromium': a.chromium = v(); break;
      case '--viewport': a.viewport = v(); break;
      case '--no-warm': a.warm = false; break;
      case '--keep-logs': a.keepLogs = true; break;
      case '-h': case '--help':
        console.log(`usage: node mlflow_ui_peer.mjs --project DIR --python PY [--reps 3] [--out results.json]
       [--port 0 (free port)] [--idle-s 5] [--timeout-s 900] [--experiment ID]
       [--chromium /usr/bin/chromium] [--viewport 1440x900] [--no-warm] [--keep-logs]`);
        process.exit(0);
      default: die(`unknown argument ${k}`);
    }
  }
  if (!a.project || !a.python) die('--project and --python are required');
  if (!(a.reps >= 1)) die('--reps must be >= 1');
  return a;
}

function die(msg) { console.error(`mlflow_ui_peer: ${msg}`); process.exit(2); }

// ------------------------------------------------------------------------------------------------
// /proc helpers

function procTable() {
  // pid -> {ppid, pgid, comm}
  const t = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let s;
    try { s = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
    const r = s.lastIndexOf(')');
    const f = s.slice(r + 2).split(' ');   // state ppid pgrp ...
    t.set(+d, { ppid: +f[1], pgid: +f[2], comm: s.slice(s.indexOf('(') + 1, r) });
  }
  return t;
}

// Every live process that descends from `root` or is in process group `pgid` (root included).
function treePids(root, pgid = root) {
  const t = procTable();
  const out = new Set();
  for (const [pid, p] of t) if (p.pgid === pgid) out.add(pid);
  if (t.has(root)) out.add(root);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of t) if (!out.has(pid) && out.has(p.ppid)) { out.add(pid); grew = true; }
  }
  return [...out].sort((x, y) => x - y);
}

function groupAlive(pgid) {
  for (const [, p] of procTable()) if (p.pgid === pgid) return true;
  return false;
}

// Sum of Rss / Pss (kB) over pids, from /proc/PID/smaps_rollup (one consistent read per process).
// Also Pss split into anon / shmem / file (file = mapped binaries and libraries: the part that the
// kernel can drop under memory pressure and that differs most between runs on a busy machine) and
// USS (Private_Clean + Private_Dirty).
function memOf(pids) {
  const m = { rss_kb: 0, pss_kb: 0, pss_anon_kb: 0, pss_shmem_kb: 0, pss_file_kb: 0, uss_kb: 0, procs: 0 };
  const f = (s, k) => { const r = new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s); return r ? +r[1] : 0; };
  for (const pid of pids) {
    let s;
    try { s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'); } catch { continue; }
    if (!/^Rss:/m.test(s)) continue;   // kernel threads / zombies
    m.rss_kb += f(s, 'Rss'); m.pss_kb += f(s, 'Pss');
    m.pss_anon_kb += f(s, 'Pss_Anon'); m.pss_shmem_kb += f(s, 'Pss_Shmem'); m.pss_file_kb += f(s, 'Pss_File');
    m.uss_kb += f(s, 'Private_Clean') + f(s, 'Private_Dirty');
    m.procs++;
  }
  return m;
}

function cmdline(pid) {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean); } catch { return null; }
}

const mb = kb => Math.round(kb / 1024 * 10) / 10;

// ------------------------------------------------------------------------------------------------
// process-group cleanup (also on failure, Ctrl-C, uncaught errors)

const liveGroups = new Set();

async function killGroup(pgid, graceMs = 5000) {
  if (!pgid) return;
  try { process.kill(-pgid, 'SIGTERM'); } catch { /* already gone */ }
  const end = Date.now() + graceMs;
  while (Date.now() < end && groupAlive(pgid)) await sleep(100);
  if (groupAlive(pgid)) { try { process.kill(-pgid, 'SIGKILL'); } catch { } }
  const end2 = Date.now() + 3000;
  while (Date.now() < end2 && groupAlive(pgid)) await sleep(50);
  liveGroups.delete(pgid);
}

function killAllSync() {
  for (const g of liveGroups) { try { process.kill(-g, 'SIGKILL'); } catch { } }
  liveGroups.clear();
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { console.error(`\n${sig}: killing process groups ${[...liveGroups].join(', ')}`); killAllSync(); process.exit(130); });
}
process.on('uncaughtException', e => { console.error(e); killAllSync(); process.exit(2); });
process.on('unhandledRejection', e => { console.error(e); killAllSync(); process.exit(2); });

const sleep = ms => new Promise(r => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------
// setup helpers

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

function pickExperiment(mlruns) {
  // The experiment with the most run folders (the generator's "bench"; 0 = Default is empty).
  let best = null;
  for (const d of fs.readdirSync(mlruns)) {
    if (d.startsWith('.') || d === 'models') continue;
    const p = path.join(mlruns, d);
    if (!fs.existsSync(path.join(p, 'meta.yaml'))) continue;
    let n = 0;
    for (const e of fs.readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) n++;
    if (!best || n > best.runs) best = { id: d, runs: n };
  }
  if (!best) die(`no experiment in ${mlruns}`);
  return best;
}

function warmCache(mlruns) {
  // Read every file once (untimed), so every repetition starts with a warm page cache.
  const t = performance.now();
  let files = 0, bytes = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  const walk = dir => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const fd = fs.openSync(p, 'r');
        let n;
        while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) bytes += n;
        fs.closeSync(fd);
        files++;
      }
    }
  };
  walk(mlruns);
  return { files, bytes, seconds: +((performance.now() - t) / 1000).toFixed(2) };
}

function loadavg() { return os.loadavg().map(x => +x.toFixed(2)); }

function median(xs) {
  const v = xs.filter(x => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ------------------------------------------------------------------------------------------------
// in-page detector: records Date.now() the first time a run-name cell is in the DOM with a layout box
// inside the viewport (MutationObserver: checked after every DOM change batch, no polling delay).

const INIT_SCRIPT = (sel) => {
  window.__s7 = { usable_epoch_ms: null, frame_epoch_ms: null, names: null, rows_in_viewport: null, rows_in_dom: null };
  const check = () => {
    if (window.__s7.usable_epoch_ms !== null) return true;
    const els = document.querySelectorAll(sel);
    if (!els.length) return false;
    const vh = window.innerHeight, vw = window.innerWidth;
    const vis = [];
    for (const el of els) {
      const txt = (el.textContent || '').trim();
      if (!txt) continue;
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < vh && r.right > 0 && r.left < vw) vis.push(txt);
    }
    if (!vis.length) return false;
    const now = Date.now();
    window.__s7.usable_epoch_ms = now;
    window.__s7.names = vis.slice(0, 5);
    window.__s7.rows_in_viewport = vis.length;
    window.__s7.rows_in_dom = els.length;
    // the next frame after that DOM state (approximates "painted")
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__s7.frame_epoch_ms = Date.now(); }));
    return true;
  };
  const start = () => {
    if (check()) return;
    const mo = new MutationObserver(() => { if (check()) mo.disconnect(); });
    mo.observe(document, { childList: true, subtree: true, characterData: true });
  };
  start();
};

// ------------------------------------------------------------------------------------------------
// one repetition

async function oneRep(a, rep, ctx) {
  const port = a.port || await freePort();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `s7-rep${rep}-`));
  const profile = path.join(work, 'chromium-profile');
  fs.mkdirSync(profile);
  const serverLog = path.join(work, 'server.log');
  const logFd = fs.openSync(serverLog, 'w');
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/#/experiments/${ctx.experiment.id}/runs?workflowType=machine_learning`;
  const res = { rep, port, url, load_before: loadavg(), work_dir: work };
  let server = null, context = null, chromePid = null;

  try {
    // --- server
    const env = { ...process.env, MLFLOW_ALLOW_FILE_STORE: 'true', MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true', PYTHONUNBUFFERED: '1' };
    const argv = ['-m', 'mlflow', 'ui', '--backend-store-uri', `file://${ctx.mlruns}`, '--host', '127.0.0.1', '--port', String(port)];
    res.server_cmd = [a.python, ...argv].join(' ');
    const t0Perf = performance.now();
    const t0Epoch = Date.now();
    server = spawn(a.python, argv, { cwd: work, env, detached: true, stdio: ['ignore', logFd, logFd] });
    liveGroups.add(server.pid);
    let exited = null;
    server.on('exit', (code, sig) => { exited = { code, sig }; });
    const since = () => performance.now() - t0Perf;

    const deadline = t0Perf + a.timeoutS * 1000;
    for (;;) {
      if (exited) throw new Error(`mlflow server exited early (${JSON.stringify(exited)}); log: ${serverLog}`);
      if (performance.now() > deadline) throw new Error(`server not ready after ${a.timeoutS} s`);
      try {
        const r = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
        if (r.ok) { await r.text(); break; }
      } catch { /* not listening yet */ }
      await sleep(100);
    }
    res.server_ready_ms = Math.round(since());
    const srvReady = memOf(treePids(server.pid));
    res.at_server_ready = { server_rss_mb: mb(srvReady.rss_kb), server_pss_mb: mb(srvReady.pss_kb),
                            server_pss_nonfile_mb: mb(srvReady.pss_anon_kb + srvReady.pss_shmem_kb), server_procs: srvReady.procs };

    // --- browser
    const [vw, vh] = a.viewport.split('x').map(Number);
    const tLaunch = performance.now();
    context = await chromium.launchPersistentContext(profile, {
      executablePath: a.chromium,
      headless: true,
      viewport: { width: vw, height: vh },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 120000,
    });
    res.browser_launch_ms = Math.round(performance.now() - tLaunch);
    // the browser's main process: the one with our --user-data-dir and no --type=
    for (const [pid] of procTable()) {
      const c = cmdline(pid);
      if (c && c.some(x => x === `--user-data-dir=${profile}`) && !c.some(x => x.startsWith('--type='))) { chromePid = pid; break; }
    }
    if (!chromePid) throw new Error('could not find the chromium main process');
    const chromePgid = procTable().get(chromePid)?.pgid;
    res.browser_pid = chromePid;
    res.browser_pgid = chromePgid;
    if (chromePgid === chromePid) liveGroups.add(chromePgid);   // own group (never ours: we would kill ourselves)

    const page = context.pages()[0] || await context.newPage();
    await page.addInitScript(INIT_SCRIPT, RUN_NAME_SELECTOR);
    const api = [], reqStart = new Map();
    page.on('request', r => { if (r.url().includes('/ajax-api/')) reqStart.set(r, Date.now()); });
    page.on('requestfinished', async r => {
      if (!r.url().includes('/ajax-api/')) return;
      const u = new URL(r.url());
      api.push({ path: u.pathname, start_ms: reqStart.get(r) - t0Epoch, end_ms: Date.now() - t0Epoch, status: (await r.response())?.status() });
    });

    const navEpoch = Date.now();
    res.nav_start_ms = navEpoch - t0Epoch;
    await page.goto(url, { waitUntil: 'commit', timeout: 120000 });
    const remaining = Math.max(1000, deadline - performance.now());
    await page.waitForFunction(() => window.__s7 && window.__s7.usable_epoch_ms !== null && window.__s7.frame_epoch_ms !== null,
      null, { timeout: remaining, polling: 100 });
    const s7 = await page.evaluate(() => window.__s7);
    res.table_usable_ms = s7.usable_epoch_ms - t0Epoch;
    res.table_usable_next_frame_ms = s7.frame_epoch_ms - t0Epoch;
    res.browser_nav_to_table_ms = s7.usable_epoch_ms - navEpoch;
    res.rows_visible = s7.rows_in_viewport;
    res.rows_in_dom = s7.rows_in_dom;
    res.first_run_names = s7.names;
    res.harness_saw_usable_ms = Math.round(since());

    // --- memory, at usable and after idle
    const snap = () => {
      const sp = treePids(server.pid), bp = treePids(chromePid, chromePgid);
      const s = memOf(sp), b = memOf(bp);
      return {
        rss_mb: { server: mb(s.rss_kb), browser: mb(b.rss_kb), total: mb(s.rss_kb + b.rss_kb) },
        pss_mb: { server: mb(s.pss_kb), browser: mb(b.pss_kb), total: mb(s.pss_kb + b.pss_kb) },
        procs: { server: s.procs, browser: b.procs },
        // PSS without file-backed pages (anon + shmem): insensitive to page-cache eviction of binaries
        pss_nonfile_mb: { server: mb(s.pss_anon_kb + s.pss_shmem_kb), browser: mb(b.pss_anon_kb + b.pss_shmem_kb),
                          total: mb(s.pss_anon_kb + s.pss_shmem_kb + b.pss_anon_kb + b.pss_shmem_kb) },
        pss_breakdown_mb: {
          server: { anon: mb(s.pss_anon_kb), shmem: mb(s.pss_shmem_kb), file: mb(s.pss_file_kb) },
          browser: { anon: mb(b.pss_anon_kb), shmem: mb(b.pss_shmem_kb), file: mb(b.pss_file_kb) },
        },
        uss_mb: { server: mb(s.uss_kb), browser: mb(b.uss_kb), total: mb(s.uss_kb + b.uss_kb) },
      };
    };
    const m1 = snap();
    res.memory_at_ms = Math.round(since());
    Object.assign(res, m1);
    await sleep(a.idleS * 1000);
    const m2 = snap();
    res.idle = { after_s: a.idleS, ...m2 };
    res.rows_in_dom_after_idle = await page.locator(RUN_NAME_SELECTOR).count();
    res.api_calls = api.sort((x, y) => x.start_ms - y.start_ms);
    const rs = api.find(c => c.path.endsWith('/runs/search'));
    if (rs) res.runs_search_ms = { start: rs.start_ms, end: rs.end_ms, duration: rs.end_ms - rs.start_ms };
    res.load_after = loadavg();
    res.ok = true;
  } catch (e) {
    res.ok = false;
    res.error = String(e && e.stack || e);
    try { res.server_log_tail = fs.readFileSync(serverLog, 'utf8').split('\n').slice(-20).join('\n'); } catch { }
  } finally {
    if (context) { try { await Promise.race([context.close(), sleep(10000)]); } catch { } }
    if (chromePid) {
      const g = procTable().get(chromePid)?.pgid;
      if (g && g === chromePid) await killGroup(g);
      else { try { process.kill(chromePid, 'SIGKILL'); } catch { } }
    }
    if (server) await killGroup(server.pid);
    fs.closeSync(logFd);
    // leftovers check: nothing of either tree may survive the repetition
    const left = procTable();
    res.leftover_processes = [...left].filter(([pid, p]) => (server && p.pgid === server.pid) || (chromePid && p.pgid === chromePid)).map(([pid]) => pid);
    if (!a.keepLogs && res.ok) fs.rmSync(work, { recursive: true, force: true });
  }
  return res;
}

// ------------------------------------------------------------------------------------------------

function fmt(x, w) { return String(x ?? '-').padStart(w); }

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const project = path.resolve(a.project);
  const mlruns = fs.existsSync(path.join(project, 'mlruns')) ? path.join(project, 'mlruns') : project;
  if (!fs.existsSync(mlruns)) die(`${mlruns} does not exist`);
  const experiment = a.experiment ? { id: a.experiment, runs: null } : pickExperiment(mlruns);
  let manifest = null;
  for (const p of [`${project}.manifest.json`, path.join(project, 'manifest.json'), path.join(path.dirname(project), 'manifest.json')]) {
    if (fs.existsSync(p)) { try { manifest = JSON.parse(fs.readFileSync(p, 'utf8')); manifest._path = p; break; } catch { } }
  }
  let mlflowVersion = null, chromiumVersion = null;
  try { mlflowVersion = execFileSync(a.python, ['-c', 'import importlib.metadata as m; print(m.version("mlflow"))'], { encoding: 'utf8' }).trim(); } catch { }
  try { chromiumVersion = execFileSync(a.chromium, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { }
  const pwVersion = JSON.parse(fs.readFileSync(new URL('./node_modules/playwright-core/package.json', import.meta.url), 'utf8')).version;

  console.error(`project ${project}: experiment ${experiment.id} (${experiment.runs ?? '?'} runs); mlflow ${mlflowVersion}; ${chromiumVersion}; playwright-core ${pwVersion}`);
  let warm = null;
  if (a.warm) { console.error('warming the page cache (reading every file once, untimed)...'); warm = warmCache(mlruns); console.error(`  ${warm.files} files, ${(warm.bytes / 1e6).toFixed(0)} MB in ${warm.seconds} s`); }

  const ctx = { mlruns, experiment };
  const reps = [];
  for (let i = 1; i <= a.reps; i++) {
    console.error(`rep ${i}/${a.reps} (load ${loadavg().join(' ')})...`);
    const r = await oneRep(a, i, ctx);
    reps.push(r);
    if (r.ok) console.error(`  server ready ${r.server_ready_ms} ms, table usable ${r.table_usable_ms} ms (nav->table ${r.browser_nav_to_table_ms} ms), ` +
      `${r.rows_visible} rows visible / ${r.rows_in_dom} in DOM, PSS total ${r.pss_mb.total} MB`);
    else console.error(`  FAILED: ${r.error.split('\n')[0]}`);
    if (r.leftover_processes.length) console.error(`  WARNING: leftover processes ${r.leftover_processes.join(' ')}`);
    await sleep(2000);   // let the machine settle between repetitions
  }

  const ok = reps.filter(r => r.ok);
  const med = f => median(ok.map(f));
  const medians = ok.length ? {
    n: ok.length,
    server_ready_ms: med(r => r.server_ready_ms),
    browser_launch_ms: med(r => r.browser_launch_ms),
    table_usable_ms: med(r => r.table_usable_ms),
    table_usable_next_frame_ms: med(r => r.table_usable_next_frame_ms),
    browser_nav_to_table_ms: med(r => r.browser_nav_to_table_ms),
    runs_search_ms: med(r => r.runs_search_ms?.duration),
    rows_visible: med(r => r.rows_visible),
    rows_in_dom: med(r => r.rows_in_dom),
    rss_mb: { server: med(r => r.rss_mb.server), browser: med(r => r.rss_mb.browser), total: med(r => r.rss_mb.total) },
    pss_mb: { server: med(r => r.pss_mb.server), browser: med(r => r.pss_mb.browser), total: med(r => r.pss_mb.total) },
    pss_nonfile_mb: { server: med(r => r.pss_nonfile_mb.server), browser: med(r => r.pss_nonfile_mb.browser), total: med(r => r.pss_nonfile_mb.total) },
    uss_mb: { server: med(r => r.uss_mb.server), browser: med(r => r.uss_mb.browser), total: med(r => r.uss_mb.total) },
    idle: {
      rss_mb: { server: med(r => r.idle.rss_mb.server), browser: med(r => r.idle.rss_mb.browser), total: med(r => r.idle.rss_mb.total) },
      pss_mb: { server: med(r => r.idle.pss_mb.server), browser: med(r => r.idle.pss_mb.browser), total: med(r => r.idle.pss_mb.total) },
      pss_nonfile_mb: { server: med(r => r.idle.pss_nonfile_mb.server), browser: med(r => r.idle.pss_nonfile_mb.browser), total: med(r => r.idle.pss_nonfile_mb.total) },
    },
  } : null;

  const out = {
    benchmark: 'S7 peer: mlflow ui + headless Chromium tab, time to a usable run table and resident memory',
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, mem_total_mb: Math.round(os.totalmem() / 2 ** 20), uptime: (() => { try { return execFileSync('uptime', { encoding: 'utf8' }).trim(); } catch { return null; } })() },
    versions: { mlflow: mlflowVersion, chromium: chromiumVersion, playwright_core: pwVersion, node: process.version },
    project, mlruns, experiment, manifest: manifest && { runs: manifest.runs, metrics: manifest.metrics, steps: manifest.steps, points: manifest.points, path: manifest._path },
    usable_definition: `first element matching ${RUN_NAME_SELECTOR} with non-empty text and a layout box inside the viewport (MutationObserver in the page, Date.now())`,
    settings: { reps: a.reps, idle_s: a.idleS, viewport: a.viewport, warm_cache: warm, timeout_s: a.timeoutS },
    medians, reps,
  };
  if (a.out) { fs.writeFileSync(a.out, JSON.stringify(out, null, 2) + '\n'); console.error(`wrote ${a.out}`); }

  // table
  const hdr = `| rep | server ready s | table usable s | nav->table s | runs/search s | rows vis/DOM | RSS MB srv+br=total | PSS MB srv+br=total | PSS anon+shmem MB total | PSS MB +${a.idleS}s idle | load 1m |`;
  console.log(hdr);
  console.log('|' + hdr.split('|').slice(1, -1).map(() => '---').join('|') + '|');
  const s = x => x == null ? '-' : (x / 1000).toFixed(2);
  for (const r of reps) {
    if (!r.ok) { console.log(`| ${r.rep} | FAILED: ${r.error.split('\n')[0]} |`); continue; }
    console.log(`| ${r.rep} | ${s(r.server_ready_ms)} | ${s(r.table_usable_ms)} | ${s(r.browser_nav_to_table_ms)} | ${s(r.runs_search_ms?.duration)} | ${r.rows_visible}/${r.rows_in_dom} | ` +
      `${r.rss_mb.server}+${r.rss_mb.browser}=${r.rss_mb.total} | ${r.pss_mb.server}+${r.pss_mb.browser}=${r.pss_mb.total} | ${r.pss_nonfile_mb.total} | ${r.idle.pss_mb.total} | ${r.load_before[0]} |`);
  }
  if (medians) {
    const m = medians;
    console.log(`| median (n=${m.n}) | ${s(m.server_ready_ms)} | ${s(m.table_usable_ms)} | ${s(m.browser_nav_to_table_ms)} | ${s(m.runs_search_ms)} | ${m.rows_visible}/${m.rows_in_dom} | ` +
      `${m.rss_mb.server}+${m.rss_mb.browser}=${m.rss_mb.total} | ${m.pss_mb.server}+${m.pss_mb.browser}=${m.pss_mb.total} | ${m.pss_nonfile_mb.total} | ${m.idle.pss_mb.total} | |`);
  }
  process.exitCode = ok.length === reps.length ? 0 : 1;
}

main();
