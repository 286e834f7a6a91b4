#!/usr/bin/env bash
# `lock2build app` against `uv sync --frozen` and `pip install --require-hashes`
# into a fresh venv, on the same locks, side by side in one run.
#
#   native: fixtures/uv/native-app (uv.lock: lxml, numpy, pyyaml, cryptography,
#           psycopg2 — an sdist every tool compiles — and the project, built by hatchling)
#   pure:   fixtures/requirements/pip-compile (13 pure-Python wheels, no project)
#
# cold: empty store / uv cache / pip cache, no venv.
# warm: caches kept. lock2build: the second run (a no-op). uv: `uv sync` on the
#       existing venv (no-op), and into a fresh venv from the warm cache.
#       pip: a fresh venv from the warm pip cache (pip has no no-op mode).
#
# Needs: hyperfine, uv, python3 with venv, libpq-dev and gcc (psycopg2), a
# release build of lock2build (or L2B=). Network: PyPI. lock2build's index
# cache is warmed once (requirements.txt and the pinned build systems are
# looked up on PyPI's simple API; uv and pip resolve nothing either).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${L2B:-$repo/target/release/lock2build}"
PY="${PY:-python3}"
COLD_RUNS="${COLD_RUNS:-3}"
WARM_RUNS="${WARM_RUNS:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${OUT:-$here/results}"; mkdir -p "$out"
export LOCK2BUILD_CACHE="$work/l2b-cache" LOCK2BUILD_STORE="$work/store"
unset PIP_FIND_LINKS || true

cp -r "$repo/fixtures/uv/native-app" "$work/native"; rm -f "$work/native/result"
cp -r "$repo/fixtures/requirements/pip-compile" "$work/pure"; rm -f "$work/pure/result"
# pip needs the uv lock as a hashed requirements file (the project apart).
(cd "$work/native" && uv export -q --frozen --no-dev --no-emit-project --format requirements-txt -o "$work/native-reqs.txt")
# Warm lock2build's index cache (not the store).
"$L2B" app "$work/native" -o "$work/warmup" --progress quiet >/dev/null
"$L2B" app "$work/pure" -o "$work/warmup" --progress quiet >/dev/null
rm -rf "$work/store" "$work/warmup"

l2b() { echo "$L2B app $work/$1 --progress quiet"; }
uv_sync() { echo "env UV_CACHE_DIR=$work/uvcache UV_PYTHON=$PY uv sync -q --frozen --no-dev --project $work/native"; }
pip_native() { echo "$PY -m venv $work/venv && $work/venv/bin/pip install -q $1 --require-hashes -r $work/native-reqs.txt && $work/venv/bin/pip install -q $1 --no-deps $work/native"; }
uv_pure() { echo "env UV_CACHE_DIR=$work/uvcache uv venv -q --python $PY $work/venv && env UV_CACHE_DIR=$work/uvcache VIRTUAL_ENV=$work/venv uv pip install -q --require-hashes -r $work/pure/requirements.txt"; }
pip_pure() { echo "$PY -m venv $work/venv && $work/venv/bin/pip install -q $1 --require-hashes -r $work/pure/requirements.txt"; }

# ---- cold ----
hyperfine --runs "$COLD_RUNS" --export-json "$out/native-cold.json" --export-markdown "$out/native-cold.md" \
  --prepare "rm -rf $work/store" -n "lock2build app (cold)" "$(l2b native)" \
  --prepare "rm -rf $work/uvcache $work/native/.venv" -n "uv sync --frozen (cold)" "$(uv_sync)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (cold, --no-cache-dir)" "$(pip_native --no-cache-dir)"
hyperfine --runs "$COLD_RUNS" --export-json "$out/pure-cold.json" --export-markdown "$out/pure-cold.md" \
  --prepare "rm -rf $work/store" -n "lock2build app (cold)" "$(l2b pure)" \
  --prepare "rm -rf $work/uvcache $work/venv" -n "uv pip install --require-hashes (cold)" "$(uv_pure)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (cold, --no-cache-dir)" "$(pip_pure --no-cache-dir)"

# ---- warm ----
sh -c "$(l2b native)" >/dev/null; sh -c "$(uv_sync)"; rm -rf "$work/venv"; sh -c "$(pip_native "")"
hyperfine --warmup 1 --runs "$WARM_RUNS" --export-json "$out/native-warm.json" --export-markdown "$out/native-warm.md" \
  --prepare true -n "lock2build app (warm, no-op)" "$(l2b native)" \
  --prepare true -n "uv sync --frozen (existing venv, no-op)" "$(uv_sync)" \
  --prepare "rm -rf $work/native/.venv" -n "uv sync --frozen (fresh venv, warm cache)" "$(uv_sync)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (fresh venv, warm cache)" "$(pip_native "")"
sh -c "$(l2b pure)" >/dev/null; rm -rf "$work/venv"; sh -c "$(uv_pure)"; rm -rf "$work/venv"; sh -c "$(pip_pure "")"
hyperfine --warmup 1 --runs "$WARM_RUNS" --export-json "$out/pure-warm.json" --export-markdown "$out/pure-warm.md" \
  --prepare true -n "lock2build app (warm, no-op)" "$(l2b pure)" \
  --prepare "rm -rf $work/venv" -n "uv pip install --require-hashes (fresh venv, warm cache)" "$(uv_pure)" \
  --prepare "rm -rf $work/venv" -n "pip install --require-hashes (fresh venv, warm cache)" "$(pip_pure "")"

# Ratios: lock2build's mean over each native tool's mean.
"$PY" - "$out" <<'EOF'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
for case in ["native-cold", "pure-cold", "native-warm", "pure-warm"]:
    results = json.loads((out / f"{case}.json").read_text())["results"]
    ours = results[0]
    print(f"\n{case}: {ours['command']} {ours['mean']:.3f} s")
    for other in results[1:]:
        print(f"  vs {other['command']}: {other['mean']:.3f} s  ratio {ours['mean'] / other['mean']:.3f}")
EOF
