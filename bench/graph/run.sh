#!/usr/bin/env bash
# Making the build graph of the ~500-crate Cargo.lock and the ~2,000-package
# package-lock.json, side by side with `lock2build plan` of the same locks
# (issue #14: the graph costs at most 1.2x the plan), and nix-instantiate of
# the Cargo graph with nix/ beside nix-instantiate of an importCargoLock-style
# read of the same lock with builtins only (cargo-lock.nix).
#
# Needs: hyperfine, nix-bin (Debian's Nix 2.8), cargo, a release build of
# lock2build (cargo build --release; or set L2B=/path/to/lock2build), and the
# crates.io registry (the script runs `cargo fetch` once in its copy).
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

# One run first: the graph learns the skeleton and vendor selection, and the
# store gets what the graph reads (nothing is built).
"$L2B" graph "$work/cargo" --offline -o "$work/cargo.json" --python-version 3.11
"$L2B" graph "$work/npm" --offline -o "$work/npm.json"
hyperfine --warmup 2 --runs "$runs" -N \
  --export-markdown "$out/make.md" --export-json "$out/make.json" \
  -n "lock2build plan (cargo, 530 crates)" "$L2B plan $work/cargo --offline --json --python-version 3.11" \
  -n "lock2build graph (cargo, 530 crates)" "$L2B graph $work/cargo --offline -o $work/g1.json --python-version 3.11" \
  -n "lock2build plan (npm, 2057 pkgs)" "$L2B plan $work/npm --offline --json" \
  -n "lock2build graph (npm, 2057 pkgs)" "$L2B graph $work/npm --offline -o $work/g2.json"

export NIX_CONFIG="substituters ="
hyperfine --warmup 1 --runs "$runs" \
  --export-markdown "$out/instantiate.md" --export-json "$out/instantiate.json" \
  -n "nix-instantiate lock2build graph (cargo)" \
  "nix-instantiate $repo/nix --arg graph $work/cargo.json --arg lock2build $L2B -A all" \
  -n "nix-instantiate importCargoLock-style (builtins)" \
  "nix-instantiate $here/cargo-lock.nix --arg lock $work/cargo/Cargo.lock"
echo "nodes: cargo $(grep -c '"id"' "$work/cargo.json"), npm $(grep -c '"id"' "$work/npm.json")" > "$out/nodes.txt"
cat "$out/make.md" "$out/instantiate.md" "$out/nodes.txt"
