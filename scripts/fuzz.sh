#!/usr/bin/env bash
# scripts/fuzz.sh — coverage-guided fuzzing of runlens-core's parsers (the targets in fuzz/).
#
#     scripts/fuzz.sh [--seconds N] [--engine libfuzzer|afl] [--keep] [--no-build] [TARGET...]
#
# Runs each target (default: all [[bin]]s of fuzz/Cargo.toml) for N seconds (default 60), one
# after another, and prints one line per target on stdout:
#
#     TARGET: N execs, K crashes
#
# Crash inputs are copied to fuzz/artifacts/<target>/. Exit: 0 no crash, 1 a crash,
# 2 usage, install, build or start-up error. Progress and errors go to stderr. Works from any cwd.
#
# Tool: cargo-fuzz 0.13.2 (libFuzzer, in-process), the default. Why:
#   * it works on the STABLE toolchain with `--sanitizer none`: the only nightly-only flag cargo
#     fuzz adds is -Zsanitizer=address (ASan buys little for safe Rust); the sancov coverage flags
#     are stable. No nightly, no RUSTC_BOOTSTRAP.
#   * speed: in-process libFuzzer runs 7-50x more execs/s than AFL++'s fork server on these parsers
#     (~200k+/s on serde_json-sized work, millions on small ones, measured here).
# cargo-afl 0.18.2 (AFL++ 4.40c, built by its own install) is optional: --engine afl. It keeps going
# after a crash and de-duplicates crashes, where libFuzzer stops at the first (K is 0 or 1).
#
# Seeds: fuzz/seeds/<target>/ (copied into a temporary working corpus, so the seeds stay as they
# are). The harnesses are in crates/core/src/fuzzing.rs; their input layouts are described there.
# Replay a crash without any fuzzer (a plain build runs one input from stdin):
#   cargo run --manifest-path fuzz/Cargo.toml --release --bin TARGET < fuzz/artifacts/TARGET/crash-…
# Kept crashes go to fuzz/regressions/<target>/, replayed by `cargo test` (tests/fuzz_regressions.rs).
#
# Builds are niced for shared machines: nice -n ${FUZZ_NICE:-19}, CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}.
# FUZZ_EXEC_TIMEOUT_MS: per-input timeout (default 2000).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2   # libfuzzer-sys in fuzz/Cargo.toml goes with it
CARGO_AFL_VERSION=0.18.2    # must equal the afl crate version in fuzz/Cargo.toml

die() { echo "fuzz.sh: $*" >&2; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
crash_dir="$fuzz_dir/artifacts"
seconds=60
engine=libfuzzer
keep=0
build=1
targets=()

while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --engine) engine="${2:?--engine needs a value}"; shift 2 ;;
    --engine=*) engine="${1#*=}"; shift ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) die "--seconds must be a whole number" ;; esac
case "$engine" in libfuzzer|afl) ;; *) die "--engine must be libfuzzer or afl" ;; esac
[ -f "$fuzz_dir/Cargo.toml" ] || die "no fuzz crate at $fuzz_dir"
exec_timeout_ms="${FUZZ_EXEC_TIMEOUT_MS:-2000}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
nicely() { nice -n "${FUZZ_NICE:-19}" "$@"; }
timeout_bin="$(command -v timeout || command -v gtimeout || true)"
limited() {  # limited SECONDS CMD...: a safety net above the fuzzer's own time limit
  local s="$1"; shift
  if [ -n "$timeout_bin" ]; then "$timeout_bin" -k 10 "$s" "$@"; else "$@"; fi
}

# ---- targets: the [[bin]] names of fuzz/Cargo.toml -------------------------------------------
all_targets=()
while IFS= read -r t; do all_targets+=("$t"); done < <(
  awk '/^\[\[bin\]\]/ {b=1; next} /^\[/ {b=0}
       b && /^[ \t]*name[ \t]*=/ {sub(/^[^"]*"/, ""); sub(/".*/, ""); print}' "$fuzz_dir/Cargo.toml")
[ ${#all_targets[@]} -gt 0 ] || die "no [[bin]] targets in $fuzz_dir/Cargo.toml"
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${all_targets[@]}")
else
  for t in "${targets[@]}"; do
    case " ${all_targets[*]} " in *" $t "*) ;; *) die "unknown target $t (have: ${all_targets[*]})" ;; esac
  done
fi

# ---- tools --------------------------------------------------------------------------------------
if [ "$engine" = libfuzzer ]; then
  if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION (about 1 min)" >&2
    nicely cargo install --locked --force cargo-fuzz --version "$CARGO_FUZZ_VERSION" >&2 \
      || die "cargo install cargo-fuzz failed"
  fi
else
  if ! cargo afl --version 2>/dev/null | grep -q "^cargo-afl $CARGO_AFL_VERSION "; then
    # Its build script also compiles AFL++ (afl-fuzz and its runtime) with make and cc.
    echo "fuzz.sh: installing cargo-afl $CARGO_AFL_VERSION (about 1.5 min)" >&2
    nicely cargo install --locked --force cargo-afl --version "$CARGO_AFL_VERSION" >&2 \
      || die "cargo install cargo-afl failed"
  fi
  # The AFL++ runtime is kept per rustc version: after a toolchain change it is built again.
  if cargo afl fuzz -h 2>&1 | grep -q 'was not built'; then
    echo "fuzz.sh: building the AFL++ runtime for this rustc" >&2
    nicely cargo afl config --build >&2 || die "cargo afl config --build failed"
  fi
fi

# ---- build --------------------------------------------------------------------------------------
host="$(rustc -vV | sed -n 's/^host: //p')"
if [ "$engine" = libfuzzer ]; then
  bin_dir="$fuzz_dir/target/$host/release"
  if [ $build = 1 ]; then
    echo "fuzz.sh: building the targets (cargo fuzz build --sanitizer none, niced)" >&2
    (cd "$root" && nicely cargo fuzz build --fuzz-dir "$fuzz_dir" --sanitizer none \
        --features libfuzzer --target-dir "$fuzz_dir/target" >&2) \
      || die "cargo fuzz build failed"
  fi
else
  bin_dir="$fuzz_dir/target/afl/release"
  if [ $build = 1 ]; then
    echo "fuzz.sh: building the targets (cargo afl build, niced)" >&2
    (cd "$fuzz_dir" && nicely cargo afl build --release --features afl \
        --target-dir "$fuzz_dir/target/afl" >&2) \
      || die "cargo afl build failed"
  fi
fi

# ---- run ----------------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/runlens-fuzz.XXXXXX")"
if [ $keep = 1 ]; then echo "fuzz.sh: work folder $work" >&2
else trap 'rm -rf "$work"' EXIT; fi

stat_of() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$2"; }

total_crashes=0
errors=0
for t in "${targets[@]}"; do
  bin="$bin_dir/$t"
  [ -x "$bin" ] || die "no binary $bin (build failed?)"
  tw="$work/$t"; mkdir -p "$tw/corpus" "$tw/found"
  if [ -d "$fuzz_dir/seeds/$t" ] && [ -n "$(ls -A "$fuzz_dir/seeds/$t" 2>/dev/null)" ]; then
    cp "$fuzz_dir/seeds/$t"/* "$tw/corpus/"
  else
    printf '0' > "$tw/corpus/zero"
  fi
  log="$tw/log"
  limit=$((seconds + 120))
  echo "fuzz.sh: $t: fuzzing for ${seconds}s with $engine" >&2
  execs=""; crashes=0; rc=0
  if [ "$engine" = libfuzzer ]; then
    # The harnesses make scratch folders under TMPDIR: give each run its own.
    TMPDIR="$tw" RUST_BACKTRACE=1 limited "$limit" "$bin" \
        -max_total_time="$seconds" -print_final_stats=1 \
        -timeout=$(( (exec_timeout_ms + 999) / 1000 )) -rss_limit_mb=2048 \
        -artifact_prefix="$tw/found/" "$tw/corpus" \
        </dev/null >"$log" 2>&1 || rc=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    # crash-*, oom-*, timeout-*, leak-* are failures; slow-unit-* are not.
    crashes="$(find "$tw/found" -type f \( -name 'crash-*' -o -name 'oom-*' \
               -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l | tr -d ' ')"
    found_dirs=("$tw/found")
    if [ -z "$execs" ] || { [ "$rc" != 0 ] && [ "$crashes" = 0 ]; }; then
      echo "fuzz.sh: $t: libFuzzer failed (exit $rc); last lines of $log:" >&2
      tail -n 20 "$log" >&2; errors=$((errors + 1)); execs="${execs:-0}"
    fi
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    echo "fuzz.sh: $t: ${rate:-?} execs/s" >&2
  else
    # Headless: no UI, no CPU governor check, core_pattern only warns, any free core.
    # RUST_BACKTRACE=0: a symbolised backtrace per crashing exec slows AFL++ 10-20x.
    TMPDIR="$tw" RUST_BACKTRACE=0 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 \
    AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_TRY_AFFINITY=1 AFL_NO_CRASH_README=1 \
      limited "$limit" cargo afl fuzz -V "$seconds" \
        -t "$exec_timeout_ms" -i "$tw/corpus" -o "$tw/afl" "$bin" \
        </dev/null >"$log" 2>&1 || rc=$?
    stats="$tw/afl/default/fuzzer_stats"
    if [ -f "$stats" ]; then
      execs="$(stat_of execs_done "$stats")"
      crashes="$(stat_of saved_crashes "$stats")"
      hangs="$(stat_of saved_hangs "$stats")"
      [ "${hangs:-0}" = 0 ] || echo "fuzz.sh: $t: $hangs hang(s) (inputs over ${exec_timeout_ms}ms) in $crash_dir/$t/hangs" >&2
    fi
    found_dirs=("$tw/afl/default/crashes" "$tw/afl/default/hangs")
    if [ -z "$execs" ] || [ "$rc" != 0 ]; then
      echo "fuzz.sh: $t: afl-fuzz failed (exit $rc); last lines of $log:" >&2
      tail -n 20 "$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >&2
      errors=$((errors + 1)); execs="${execs:-0}"; crashes="${crashes:-0}"
    fi
  fi

  # Crash inputs, with names safe for CI uploads (no ':' or ','); the log beside them.
  for d in "${found_dirs[@]}"; do
    [ -d "$d" ] || continue
    sub=""; [ "$(basename "$d")" = hangs ] && sub="/hangs"
    for f in "$d"/*; do
      [ -f "$f" ] || continue
      case "$(basename "$f")" in README.txt|slow-unit-*) continue ;; esac
      mkdir -p "$crash_dir/$t$sub"
      cp "$f" "$crash_dir/$t$sub/$(basename "$f" | tr ':,' '__')"
      cp "$log" "$crash_dir/$t$sub/$(basename "$f" | tr ':,' '__').log"
    done
  done

  echo "$t: $execs execs, $crashes crashes"
  total_crashes=$((total_crashes + crashes))
done

if [ "$total_crashes" -gt 0 ]; then
  echo "fuzz.sh: $total_crashes crash(es); inputs in $crash_dir/<target>/" >&2
  echo "fuzz.sh: replay: cargo run --manifest-path $fuzz_dir/Cargo.toml --release --bin TARGET < FILE" >&2
  exit 1
fi
[ "$errors" = 0 ] || exit 2
exit 0
