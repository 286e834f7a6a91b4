#!/usr/bin/env bash
# The no-op of `lock2build app` (nothing changed since the last build:
# answered from the memo, crates/build/src/app/noop.rs) side by side with the native
# tools' no-ops, in one run; then the ratios and lock2build's peak memory.
#
#   python: fixtures/uv/native-app   vs `uv sync --frozen` on its existing .venv
#   rust:   fixtures/cargo/native-app vs `cargo build --release --locked` (no-op)
#   node:   fixtures/npm/native-app   (absolute figure: npm has no no-op)
#   also:   lock2build with the memo out of the way (LOCK2BUILD_NO_MEMO=1:
#           the full check, what every no-op cost before)
#
# Needs: hyperfine, uv, cargo, node/npm with headers, g++, make, pkg-config,
# libpq-dev, libssl-dev, libsqlite3-dev, libxml2-dev/libxslt1-dev (lxml),
# bubblewrap and a release build of lock2build (cargo build --release
# --locked, or LOCK2BUILD=/path). The first builds take ~5 min on 2 cores;
# RUNS (10) sets the timed runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${LOCK2BUILD:-${CARGO_TARGET_DIR:-$repo/target}/release/lock2build}"
[ -x "$L2B" ] || { echo "build lock2build first: cargo build --release --locked (or set LOCK2BUILD)" >&2; exit 1; }
RUNS="${RUNS:-10}"
CARGO="$(rustc --print sysroot)/bin/cargo"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${OUT:-$work/results}"; mkdir -p "$out"
export LOCK2BUILD_STORE="$work/store" LOCK2BUILD_CACHE="$work/l2b-cache" UV_CACHE_DIR="$work/uv-cache"
export CARGO_HOME="$work/cargo-home" CARGO_TARGET_DIR="$work/cargo-target"
for f in uv/native-app cargo/native-app npm/native-app; do
  for t in l2b native; do
    d="$work/$t-${f%%/*}"; cp -r "$repo/fixtures/$f" "$d"; rm -rf "$d/result" "$d/target" "$d/.venv" "$d/node_modules"
  done
done

echo "== first builds (not timed)"
for p in uv cargo npm; do "$L2B" app "$work/l2b-$p" -q >/dev/null; "$L2B" app "$work/l2b-$p" -q >/dev/null; done
(cd "$work/native-uv" && uv sync --frozen -q)
(cd "$work/native-cargo" && $CARGO build --release --locked -q)

run() { # name, hyperfine args…
  local name="$1"; shift
  hyperfine --style basic -N -w 2 -r "$RUNS" --export-json "$out/$name.json" "$@" >/dev/null
}
run py-l2b -n "lock2build app (no-op)" "$L2B app $work/l2b-uv -q"
run py-full -n "lock2build app (no-op, full check)" "env LOCK2BUILD_NO_MEMO=1 $L2B app $work/l2b-uv -q"
run py-uv -n "uv sync --frozen (no-op)" "uv sync --frozen -q --directory $work/native-uv"
run rs-l2b -n "lock2build app (no-op)" "$L2B app $work/l2b-cargo -q"
run rs-full -n "lock2build app (no-op, full check)" "env LOCK2BUILD_NO_MEMO=1 $L2B app $work/l2b-cargo -q"
run rs-cargo -n "cargo build --release (no-op)" "$CARGO build --release --locked -q --manifest-path $work/native-cargo/Cargo.toml"
run js-l2b -n "lock2build app (no-op)" "$L2B app $work/l2b-npm -q"
run js-full -n "lock2build app (no-op, full check)" "env LOCK2BUILD_NO_MEMO=1 $L2B app $work/l2b-npm -q"

peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
python3 - "$out" "$(peak "$L2B" app "$work/l2b-uv" -q)" "$(peak "$L2B" app "$work/l2b-cargo" -q)" "$(peak "$L2B" app "$work/l2b-npm" -q)" <<'PY'
import json, os, sys
d = sys.argv[1]
m = lambda n: json.load(open(os.path.join(d, n + ".json")))["results"][0]
def f(r): return f"{r['mean']*1000:7.1f} ms ± {r['stddev']*1000:4.1f}"
print("| fixture | lock2build no-op | full check | native no-op | ratio | peak RSS |")
print("|---|---|---|---|---|---|")
for eco, native, name, rss in (("py", "py-uv", "uv/native-app vs uv sync --frozen", sys.argv[2]),
                               ("rs", "rs-cargo", "cargo/native-app vs cargo build", sys.argv[3]),
                               ("js", None, "npm/native-app", sys.argv[4])):
    l, full = m(f"{eco}-l2b"), m(f"{eco}-full")
    n = m(native) if native else None
    ratio = f"**{l['mean']/n['mean']:.2f}×**" if n else "—"
    print(f"| {name} | {f(l)} | {f(full)} | {f(n) if n else '—'} | {ratio} | {int(rss)/1024:.1f} MB |")
PY
