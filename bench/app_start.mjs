// S7, Runlens side: start the desktop app on a project whose index already exists, and time until
// the run table is usable (the count of runs shown, and rows drawn); then the resident memory of
// the app's process tree (the app and its WebKit processes), once usable and after 5 s idle.
// Two baselines, measured in the same run: the floor, a hello-world Tauri app (one static page;
// src-tauri/examples/hello_floor.rs) to its painted text; and our app on its start screen.
//
//   cargo build --release -p runlens-desktop -p runlens --example hello_floor
//   xvfb-run -a -s "-screen 0 1280x800x24" node bench/app_start.mjs --project /scratch/bench/wide \
//       [--reps 3] [--app target/release/runlens-desktop] [--cli target/release/runlens]
//       [--hello target/release/examples/hello_floor] [--out f.json]
//
// Needs tauri-driver and WebKitWebDriver (scripts/setup.sh --tests) and the UI's npm packages.
import { createRequire } from "node:module";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import net from "node:net";

const ROOT = resolve(import.meta.dirname, "..");
const require = createRequire(join(ROOT, "ui", "package.json"));
const { Builder } = require("selenium-webdriver");

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const project = resolve(opt("--project"));
const reps = Number(opt("--reps", "3"));
const app = resolve(opt("--app", join(ROOT, "target/release/runlens-desktop")));
const cli = resolve(opt("--cli", join(ROOT, "target/release/runlens")));
const hello = resolve(opt("--hello", join(ROOT, "target/release/examples/hello_floor")));
const tmp = mkdtempSync(join(tmpdir(), "runlens-s7-"));
const data = join(tmp, "data");

function children(pid) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

function tree(pid) {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]));
  return all;
}

/** RSS and PSS (MB) of a process tree, from smaps_rollup. */
function memory(pids) {
  let rss = 0;
  let pss = 0;
  for (const p of pids) {
    try {
      const s = readFileSync(`/proc/${p}/smaps_rollup`, "utf8");
      rss += Number(/^Rss:\s+(\d+)/m.exec(s)[1]);
      pss += Number(/^Pss:\s+(\d+)/m.exec(s)[1]);
    } catch {
      // gone
    }
  }
  return { rss_mb: +(rss / 1024).toFixed(1), pss_mb: +(pss / 1024).toFixed(1), processes: pids.length };
}

async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, "127.0.0.1", () => (s.end(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error("tauri-driver did not start");
}

function appPid(application) {
  const out = execFileSync("pgrep", ["-f", "-n", `^${application}`], { encoding: "utf8" }).trim();
  return Number(out.split("\n").pop());
}

async function once(application, args, ready) {
  const xdg = mkdtempSync(join(tmp, "xdg-"));
  const driver = spawn("tauri-driver", [], {
    detached: true,
    stdio: "ignore",
    env: { ...process.env, RUNLENS_DATA_DIR: data, XDG_DATA_HOME: join(xdg, "d"), XDG_CONFIG_HOME: join(xdg, "c") },
  });
  try {
    await waitPort(4444);
    const t0 = performance.now();
    const d = await new Builder()
      .usingServer("http://127.0.0.1:4444/")
      .withCapabilities({ browserName: "wry", "tauri:options": { application, args } })
      .build();
    const tSession = performance.now() - t0;
    let tReady = null;
    for (let i = 0; i < 3000 && tReady === null; i++) {
      if (await d.executeScript(ready)) tReady = performance.now() - t0;
      else await sleep(20);
    }
    const pids = tree(appPid(application));
    const usable = memory(pids);
    await sleep(5000);
    const idle = memory(tree(appPid(application)));
    await d.quit();
    return { session_ms: Math.round(tSession), usable_ms: tReady === null ? null : Math.round(tReady), memory_usable: usable, memory_idle: idle };
  } finally {
    try {
      process.kill(-driver.pid, "SIGTERM");
    } catch {
      // gone
    }
    await sleep(500);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.error(`indexing ${project} (the app starts on an existing index)`);
execFileSync(cli, ["index", project, "--data-dir", data, "--quiet"], { stdio: "inherit" });
const expected = JSON.parse(execFileSync(cli, ["runs", project, "--data-dir", data, "--format", "json", "--no-refresh"], { maxBuffer: 1 << 30 })).length;

const tableReady = `const c = document.querySelector('#run-count'); return !!c && c.textContent.startsWith('${expected} runs') && document.querySelectorAll('#runs-table .tr[data-run]').length > 10;`;
const startReady = `return !!document.querySelector('#open-folder');`;
const helloReady = `const h = document.querySelector('#hello'); return !!h && h.getBoundingClientRect().height > 0;`;
const result = { project, runs: expected, app, hello, load: readFileSync("/proc/loadavg", "utf8").trim(), runlens: [], start_screen: [], floor: [] };
for (let r = 0; r < reps; r++) {
  result.runlens.push(await once(app, [project], tableReady));
  result.start_screen.push(await once(app, [], startReady));
  result.floor.push(await once(hello, [], helloReady));
  const f = (x) => `${x.usable_ms} ms, ${x.memory_usable.pss_mb} MB PSS`;
  console.error(`rep ${r + 1}: table ${f(result.runlens[r])}; start screen ${f(result.start_screen[r])}; hello-world floor ${f(result.floor[r])}`);
}
for (const k of ["runlens", "start_screen", "floor"]) {
  const xs = result[k];
  result[`${k}_median`] = {
    usable_ms: median(xs.map((x) => x.usable_ms)),
    pss_mb_usable: median(xs.map((x) => x.memory_usable.pss_mb)),
    rss_mb_usable: median(xs.map((x) => x.memory_usable.rss_mb)),
    pss_mb_idle: median(xs.map((x) => x.memory_idle.pss_mb)),
  };
}
console.log(JSON.stringify({ runlens: result.runlens_median, start_screen: result.start_screen_median, floor: result.floor_median }, null, 2));
const out = opt("--out");
if (out) writeFileSync(out, JSON.stringify(result, null, 2));
rmSync(tmp, { recursive: true, force: true });
