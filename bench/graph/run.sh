#!/usr/bin/env bash
# Making the build graph of the ~500-crate Cargo.lock and the ~2,000-package
# package-lock.json, side by side with `lock2build plan` of the same locks
# (issue #14: the graph costs at most 1.2x the plan), and nix-instantiate of
# the Cargo graph with nix/ beside nix-instantiate of an importCargoLock-style
# read of the same lock with builtins only (cargo-lock.nix).
#
# Needs: hyperfine, nix-bin (Debian's Nix 2.8), cargo, a release build of
# lock2build (cargo build --release; or set L2B=/path/to/lock2build), and the
# registries (crates.io and its sparse index), once, before timing:
# - `cargo fetch` in its copy (`cargo metadata --offline` of the skeleton
#   needs nothing more, but `plan` is timed as bench/plan/run.sh times it);
# - one `lock2build graph` of each lock ONLINE into the script's own store and
#   cache: the Rust graph reads the locked crates' index pages (cached in
#   LOCK2BUILD_CACHE/cargo-index) to write the stubs (cargo-stubs) and learn
#   what the host build compiles (cargo-resolve), both kept in the store.
#   Offline with a cold cache the graph would fall back to vendoring every
#   crate (a note), another graph. The timed runs are offline, warm store.
# `lock2build graph` of a Cargo lock refuses --python-version (Rust builds
# are for this host), so plan is timed both with it (bench/plan's figure)
# and without it (the host probe, as graph runs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${L2B:-$repo/target/release/lock2build}"
[ -x "$L2B" ] || { echo "build lock2build first: cargo build --release (or set L2B)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$repo/fixtures/npm/big-2000" "$work/npm"
cp -r "$repo/fixtures/cargo/big-500" "$work/cargo"
(cd "$work/cargo" && cargo fetch -q)
export LOCK2BUILD_CACHE="$work/l2b-cache" LOCK2BUILD_STORE="$work/store"
runs="${RUNS:-10}"
out="${OUT:-$here/results}"
mkdir -p "$out"

# One run first, online: the graph learns the skeleton and vendor selection,
# and the store gets what the graph reads (nothing is built). Timed once: the
# figure of a first graph on a fresh store.
/usr/bin/time -f "%e s" -o "$work/first-cargo" "$L2B" graph "$work/cargo" -o "$work/cargo.json"
/usr/bin/time -f "%e s" -o "$work/first-npm" "$L2B" graph "$work/npm" -o "$work/npm.json"
# BASELINE=/path/to/an/older/lock2build also times that binary's plan in
# the same run: issue #14 sets the target against `plan` as it was when
# the issue was filed (0316a57; `plan` got faster since).
baseline=()
if [ -n "${BASELINE:-}" ]; then
  baseline=(-n "plan, baseline binary (cargo)" "$BASELINE plan $work/cargo --offline --json"
            -n "plan, baseline binary (npm)" "$BASELINE plan $work/npm --offline --json")
fi
hyperfine --warmup 2 --runs "$runs" -N \
  --export-markdown "$out/make.md" --export-json "$out/make.json" \
  "${baseline[@]}" \
  -n "lock2build plan (cargo, 530 crates)" "$L2B plan $work/cargo --offline --json --python-version 3.11" \
  -n "lock2build plan, host probe (cargo)" "$L2B plan $work/cargo --offline --json" \
  -n "lock2build graph (cargo, 530 crates)" "$L2B graph $work/cargo --offline -o $work/g1.json" \
  -n "lock2build plan (npm, 2057 pkgs)" "$L2B plan $work/npm --offline --json --python-version 3.11" \
  -n "lock2build plan, host probe (npm)" "$L2B plan $work/npm --offline --json" \
  -n "lock2build graph (npm, 2057 pkgs)" "$L2B graph $work/npm --offline -o $work/g2.json"

export NIX_CONFIG="substituters ="
hyperfine --warmup 1 --runs "$runs" \
  --export-markdown "$out/instantiate.md" --export-json "$out/instantiate.json" \
  -n "nix-instantiate lock2build graph (cargo)" \
  "nix-instantiate $repo/nix --arg graph $work/cargo.json --arg lock2build $L2B -A all" \
  -n "nix-instantiate importCargoLock-style (builtins)" \
  "nix-instantiate $here/cargo-lock.nix --arg lock $work/cargo/Cargo.lock"
nodes() { python3 -c 'import json,sys,collections; g=json.load(open(sys.argv[1])); print(len(g["nodes"]), dict(collections.Counter(n["recipe"]["kind"] for n in g["nodes"])))' "$1"; }
{
  echo "nodes: cargo $(nodes "$work/cargo.json")"
  echo "nodes: npm $(nodes "$work/npm.json")"
  echo "first graph, fresh store, online: cargo $(cat "$work/first-cargo"), npm $(cat "$work/first-npm")"
} > "$out/nodes.txt"
cat "$out/make.md" "$out/instantiate.md" "$out/nodes.txt"
