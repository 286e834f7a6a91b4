#!/usr/bin/env bash
# `lock2build app` against the native Python tools on the same locks, side by
# side in one run, cold (empty caches) and warm (caches kept); then a table of
# ratios (lock2build's mean time / the native tool's mean time).
#
#   native: fixtures/uv/native-app (uv.lock: lxml, numpy, pyyaml, cryptography,
#           cffi, pycparser, psycopg2 — an sdist that every tool compiles with
#           gcc against libpq — and the project itself, built by hatchling)
#           vs `uv sync --frozen` and `pip install --require-hashes` of the
#           lock's hashed `uv export` (then the project, --no-deps).
#   pure:   fixtures/requirements/pip-compile/requirements.txt (flask +
#           requests[socks]: 13 pure-Python wheels, pip-compile
#           --generate-hashes, no project) vs `uv pip install --require-hashes`
#           and `pip install --require-hashes`, each into a fresh venv.
#
# cold: lock2build with an empty store, twice: with its index cache (PyPI
#       simple pages, looked up for requirements.txt and for the pinned build
#       systems) warm, and with that cache empty too. uv with an empty
#       UV_CACHE_DIR and no .venv; pip with --no-cache-dir into a fresh venv.
# warm: lock2build: the same store, a second run (a no-op). uv: `uv sync` on
#       the existing .venv (a no-op), and into a fresh .venv from the warm
#       cache. pip: a fresh venv from a warm --cache-dir of its own (pip has
#       no no-op: it always makes the venv and installs).
#
# Every tool gets its own copy of the project (a .venv or ./result in the
# directory must not change another tool's input). Each cold run downloads
# everything from PyPI again: read the ± as network noise too.
#
# Needs: hyperfine, uv, python3 with venv, gcc and libpq-dev (psycopg2),
# bubblewrap, a release build of lock2build (cargo build --release --locked;
# or LOCK2BUILD=/path/to/lock2build). Network: PyPI. ~9.5 min on 2 cores.
# COLD_RUNS (3) and WARM_RUNS (5) set the hyperfine runs; OUT the results dir;
# CASES (native-cold pure-cold native-warm pure-warm) which tables to run;
# PIP=0 leaves pip out; CPU_RUNS the interleaved cold runs under perf stat
# (cpu.md: CPU time of every process, which hyperfine's columns are not for
# lock2build). Then lock2build's own peak memory (VmHWM at exit,
# under gdb: bench/own-peak-rss.sh; skipped without gdb) for a cold native
# build, its no-op and its full check, beside GNU time's max RSS of uv sync
# (its largest process), into memory.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${LOCK2BUILD:-${L2B:-${CARGO_TARGET_DIR:-$repo/target}/release/lock2build}}"
[ -x "$L2B" ] || { echo "build lock2build first: cargo build --release --locked (or set LOCK2BUILD)" >&2; exit 1; }
PY="${PY:-$(python3 -c 'import sys; print(sys.executable)')}" # the real interpreter, not a pyenv shim
COLD_RUNS="${COLD_RUNS:-3}"
CASES="${CASES:-native-cold pure-cold native-warm pure-warm}"
PIP="${PIP:-1}"
WARM_RUNS="${WARM_RUNS:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${OUT:-$here/results}"; mkdir -p "$out"
export LOCK2BUILD_CACHE="$work/l2b-cache" LOCK2BUILD_STORE="$work/store"
# A find-links directory of local wheels would make pip's "cold" run no download.
unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL UV_FIND_LINKS UV_INDEX_URL UV_EXTRA_INDEX_URL LOCK2BUILD_MIRRORS || true

native="$repo/fixtures/uv/native-app"
for t in l2b uv pip; do cp -r "$native" "$work/$t-native"; rm -rf "$work/$t-native/result" "$work/$t-native/.venv"; done
mkdir "$work/l2b-pure"; cp "$repo/fixtures/requirements/pip-compile/requirements.txt" "$work/l2b-pure/"
pure_reqs="$repo/fixtures/requirements/pip-compile/requirements.txt"
# pip needs the uv lock as a hashed requirements file (the project apart): the
# fixture's uv-export.txt if it has hashes, else `uv export` of the lock.
native_reqs="$native/uv-export.txt"
if ! grep -q -- '--hash=' "$native_reqs" 2>/dev/null; then
  echo "note: $native_reqs is missing or has no hashes; using uv export --frozen --no-emit-project" >&2
  native_reqs="$work/uv-export.txt"
  (cd "$work/uv-native" && uv export -q --frozen --no-dev --no-emit-project --format requirements-txt -o "$native_reqs")
fi

l2b() { echo "$L2B app $work/l2b-$1 --python $PY --progress quiet"; }
# $@: more uv sync options (--compile-bytecode: the .pyc lock2build writes too)
uv_sync() { echo "env UV_CACHE_DIR=$work/uvcache-native UV_PYTHON=$PY uv sync -q --frozen --no-dev --project $work/uv-native $*"; }
# $1: pip's cache option (cold: --no-cache-dir; warm: $pip_warm, a cache dir of its own)
pip_native() { echo "$PY -m venv $work/venv && $work/venv/bin/pip install -q $1 --require-hashes -r $native_reqs && $work/venv/bin/pip install -q $1 --no-deps $work/pip-native"; }
uv_pure() { echo "env UV_CACHE_DIR=$work/uvcache-pure uv venv -q --python $PY $work/venv && env UV_CACHE_DIR=$work/uvcache-pure VIRTUAL_ENV=$work/venv uv pip install -q --require-hashes -r $pure_reqs"; }
pip_pure() { echo "$PY -m venv $work/venv && $work/venv/bin/pip install -q $1 --require-hashes -r $pure_reqs"; }
pip_warm="--cache-dir $work/pipcache"

# Warm lock2build's index cache once (not its store: emptied below).
"$L2B" app "$work/l2b-native" --python "$PY" -o "$work/warmup" --progress quiet >/dev/null
"$L2B" app "$work/l2b-pure" --python "$PY" -o "$work/warmup" --progress quiet >/dev/null
rm -rf "$work/store" "$work/warmup"

# ---- cold ----
hf() { # case, hyperfine arguments (a pip command last, left out with PIP=0)
  local case="$1"; shift
  case " $CASES " in *" $case "*) ;; *) return 0 ;; esac
  local args=("$@")
  if [ "$PIP" = 0 ]; then args=("${args[@]:0:${#args[@]}-5}"); fi
  hyperfine --export-json "$out/$case.json" --export-markdown "$out/$case.md" "${args[@]}"
}
hf native-cold --runs "$COLD_RUNS" \
  --prepare "rm -rf $work/store" -n "lock2build app (cold store, warm index cache)" "$(l2b native)" \
  --prepare "rm -rf $work/store $work/l2b-cache" -n "lock2build app (cold store, cold index cache)" "$(l2b native)" \
  --prepare "rm -rf $work/uvcache-native $work/uv-native/.venv" -n "uv sync --frozen (cold cache, no .venv)" "$(uv_sync)" \
  --prepare "rm -rf $work/uvcache-native $work/uv-native/.venv" -n "uv sync --frozen --compile-bytecode (cold cache, no .venv)" "$(uv_sync --compile-bytecode)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (fresh venv, --no-cache-dir)" "$(pip_native --no-cache-dir)"

# CPU time of a cold native build, every process counted: hyperfine's user
# and system columns leave out what lock2build runs in bubblewrap (a process
# in a new PID namespace is not in its parent's rusage), so each command
# runs CPU_RUNS (2) more times, interleaved, under `perf stat -e task-clock`
# (which follows every child), with the load average before each run.
cpu_native() {
  echo "| run | command | wall (s) | CPU, all processes (s) | load average before |"
  echo "|---|---|---|---|---|"
  local i c name cmd load start end
  for i in $(seq "${CPU_RUNS:-2}"); do
    for c in l2b uv uv-pyc; do
      case $c in
        l2b) rm -rf "$work/store"; name="lock2build app"; cmd=$(l2b native) ;;
        uv) name="uv sync --frozen"; cmd=$(uv_sync) ;;
        uv-pyc) name="uv sync --frozen --compile-bytecode"; cmd=$(uv_sync --compile-bytecode) ;;
      esac
      rm -rf "$work/uvcache-native" "$work/uv-native/.venv"
      load=$(cut -d' ' -f1 /proc/loadavg)
      start=$(date +%s.%N)
      perf stat -x, -e task-clock -o "$work/perf.txt" -- sh -c "$cmd" >/dev/null
      end=$(date +%s.%N)
      awk -F, -v i="$i" -v name="$name" -v load="$load" -v wall="$(echo "$end - $start" | bc)" \
        '/task-clock/ { printf "| %s | %s | %.2f | %.2f | %s |\n", i, name, wall, $1 / 1000, load }' "$work/perf.txt"
    done
  done
}
case " $CASES " in
  *" native-cold "*) if command -v perf >/dev/null; then cpu_native | tee "$out/cpu.md"; else echo "note: no perf, no cpu.md" >&2; fi ;;
esac
hf pure-cold --runs "$COLD_RUNS" \
  --prepare "rm -rf $work/store" -n "lock2build app (cold store, warm index cache)" "$(l2b pure)" \
  --prepare "rm -rf $work/store $work/l2b-cache" -n "lock2build app (cold store, cold index cache)" "$(l2b pure)" \
  --prepare "rm -rf $work/uvcache-pure $work/venv" -n "uv pip install --require-hashes (cold cache, fresh venv)" "$(uv_pure)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (fresh venv, --no-cache-dir)" "$(pip_pure --no-cache-dir)"

# ---- warm ----
# Each command's warm-up run fills its cache (the cold runs above used other
# or emptied ones); then lock2build's output line shows that it did nothing.
noop() { "$L2B" app "$work/l2b-$1" --python "$PY" --progress plain 2>&1 | grep -E '^(nothing to do|fetched)' || true; }
hf native-warm --warmup 1 --runs "$WARM_RUNS" \
  --prepare true -n "lock2build app (warm, no-op)" "$(l2b native)" \
  --prepare true -n "uv sync --frozen (existing .venv, no-op)" "$(uv_sync)" \
  --prepare "rm -rf $work/uv-native/.venv" -n "uv sync --frozen (fresh .venv, warm cache)" "$(uv_sync)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (fresh venv, warm cache)" "$(pip_native "$pip_warm")"
noop native
hf pure-warm --warmup 1 --runs "$WARM_RUNS" \
  --prepare true -n "lock2build app (warm, no-op)" "$(l2b pure)" \
  --prepare "rm -rf $work/venv" -n "uv pip install --require-hashes (fresh venv, warm cache)" "$(uv_pure)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (fresh venv, warm cache)" "$(pip_pure "$pip_warm")"
noop pure

# Ratios: each lock2build mean over each native tool's mean (< 1: lock2build faster).
"$PY" - "$out" <<'EOF' | tee "$out/ratios.md"
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| case | lock2build | mean | native | mean | lock2build / native |")
print("|---|---|---|---|---|---|")
for case in ["native-cold", "pure-cold", "native-warm", "pure-warm"]:
    if not (out / f"{case}.json").exists():
        continue
    results = json.loads((out / f"{case}.json").read_text())["results"]
    ours = [r for r in results if r["command"].startswith("lock2build")]
    theirs = [r for r in results if not r["command"].startswith("lock2build")]
    for o in ours:
        for t in theirs:
            print(f"| {case} | {o['command']} | {o['mean']:.3f} s ± {o['stddev']:.3f} "
                  f"| {t['command']} | {t['mean']:.3f} s ± {t['stddev']:.3f} | **{o['mean'] / t['mean']:.3f}** |")
EOF

# Peak memory: lock2build's own process (not the compilers it runs), and uv's
# largest process (GNU time).
if command -v gdb >/dev/null; then
  own() { "$here/../own-peak-rss.sh" "$@" 2>/dev/null | awk '{ printf "%.1f MB", $1 * 1024 / 1e6 }'; }
  gnu_max() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{ printf "%.1f MB", $1 * 1024 / 1e6 }'; }
  rm -rf "$work/store"
  # shellcheck disable=SC2046
  cold=$(own $(l2b native))
  # shellcheck disable=SC2046
  full=$(LOCK2BUILD_NO_MEMO=1 own $(l2b native))
  # The first run after a build is the full check that writes the memo.
  $(l2b native) >/dev/null
  # shellcheck disable=SC2046
  noop_peak=$(own $(l2b native))
  rm -rf "$work/uvcache-native" "$work/uv-native/.venv"
  # shellcheck disable=SC2046
  uv_cold=$(gnu_max $(uv_sync))
  # shellcheck disable=SC2046
  uv_noop=$(gnu_max $(uv_sync))
  {
    echo "| native-app | lock2build's own process (VmHWM) | uv sync (GNU time: its largest process) |"
    echo "|---|---|---|"
    echo "| cold | $cold | $uv_cold |"
    echo "| no-op | $noop_peak (memo) | $uv_noop |"
    echo "| full check (LOCK2BUILD_NO_MEMO=1) | $full | — |"
  } | tee "$out/memory.md"
fi
