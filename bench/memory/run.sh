#!/usr/bin/env bash
# Does lock2build's own memory grow with the store? The same commands on
# the same project (fixtures/uv/native-app) against a store holding only
# that project's outputs and against one that also holds three more apps'
# (fixtures/requirements/pip-compile, fixtures/poetry/flask-pillow and the
# 91 wheels of jupyterlab, bench/fetch/pypi), side by side: the peak
# resident memory of lock2build's own process (VmHWM at exit, under gdb:
# bench/own-peak-rss.sh) and the wall time of one run each.
#
#   no-op        `lock2build app` with nothing changed (the memo)
#   full check   the same with LOCK2BUILD_NO_MEMO=1 (plans, probes, finds
#                every output in the store)
#   store verify every source and output of the store hashed again
#   gc           nothing to remove (every output is live): lists the store
#
# Needs: gdb, bubblewrap, gcc, libpq-dev, libjpeg/zlib headers
# (pillow ships wheels: none needed here), a release build of lock2build
# (cargo build --release --locked, or LOCK2BUILD=/path), PyPI. Building the
# big store takes ~5 min on 2 cores. OUT: where memory.md goes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${LOCK2BUILD:-${CARGO_TARGET_DIR:-$repo/target}/release/lock2build}"
[ -x "$L2B" ] || { echo "build lock2build first: cargo build --release --locked (or set LOCK2BUILD)" >&2; exit 1; }
PY="${PY:-$(python3 -c 'import sys; print(sys.executable)')}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${OUT:-$here/results}"; mkdir -p "$out"
export LOCK2BUILD_CACHE="$work/l2b-cache"
unset LOCK2BUILD_MIRRORS LOCK2BUILD_NO_MEMO || true

copy() { # fixture dir, name
  cp -r "$1" "$work/$2"; rm -rf "$work/$2/result" "$work/$2/.venv"
}
for s in small big; do copy "$repo/fixtures/uv/native-app" "native-$s"; done
copy "$repo/fixtures/requirements/pip-compile" pure
copy "$repo/fixtures/poetry/flask-pillow" flask
mkdir "$work/jupyter"; cp "$repo/bench/fetch/pypi/requirements.txt" "$work/jupyter/"

build() { # store, project: built, then once more so that the memo is written
  LOCK2BUILD_STORE="$work/$1" "$L2B" app "$work/$2" --python "$PY" -q >/dev/null
  LOCK2BUILD_STORE="$work/$1" "$L2B" app "$work/$2" --python "$PY" -q >/dev/null
}
echo "== building the stores (not timed)" >&2
build small native-small
for p in pure flask jupyter native-big; do build big "$p"; done

describe() { # store
  local n size
  n=$(find "$work/$1/outputs" -mindepth 1 -maxdepth 1 | wc -l)
  size=$(du -sm "$work/$1" | cut -f1)
  echo "$n outputs, $(find "$work/$1/sources" -mindepth 1 -maxdepth 1 -name 'sha256-*' | wc -l) sources, ${size} MB"
}
measure() { # store, label, command…: "<peak MB> MB, <seconds> s"
  local store="$1" start end kb; shift
  start=$(date +%s.%N)
  LOCK2BUILD_STORE="$work/$store" "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  kb=$(LOCK2BUILD_STORE="$work/$store" "$here/../own-peak-rss.sh" "$@" 2>/dev/null)
  awk -v k="$kb" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f MB, %.2f s", k * 1024 / 1e6, e - s }'
}
# The memo's key holds the environment: the no-op runs with the build's
# (no LOCK2BUILD_NO_MEMO at all, not an empty one).
row() { # label, env(1) arguments for the run on the store's own copy of native-app
  local label="$1"; shift
  printf '| %s | %s | %s |\n' "$label" \
    "$(measure small env "$@" "${L2B}" app "$work/native-small" --python "$PY" -q)" \
    "$(measure big env "$@" "${L2B}" app "$work/native-big" --python "$PY" -q)"
}
store_row() { # label, lock2build arguments…
  local label="$1"; shift
  printf '| %s | %s | %s |\n' "$label" "$(measure small "$L2B" "$@")" "$(measure big "$L2B" "$@")"
}
{
  echo "| lock2build (native-app) | small store: $(describe small) | big store: $(describe big) |"
  echo "|---|---|---|"
  row "app, no-op (memo)" -u LOCK2BUILD_NO_MEMO
  row "app, full check (LOCK2BUILD_NO_MEMO=1)" LOCK2BUILD_NO_MEMO=1
  store_row "store verify" store verify
  store_row "gc (nothing to remove)" gc
} | tee "$out/memory.md"
