#!/usr/bin/env bash
# Planning a ~2,000-package package-lock.json and a ~500-crate Cargo.lock,
# offline, side by side with the native tools reading the same locks.
#
# Needs: hyperfine (apt-get install hyperfine), npm, cargo, a release build of
# lock2build (cargo build --release; or set L2B=/path/to/lock2build).
# `cargo metadata --offline` needs the crates in ~/.cargo/registry: the script
# runs `cargo fetch` once in its copy before timing.
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
export LOCK2BUILD_CACHE="$work/l2b-cache"

out="${OUT:-$here/results}"
mkdir -p "$out"
# npm ls exits 1 on this lock: it reports 12 peer-dependency problems of the
# react-scripts tree (locked with --legacy-peer-deps); -i times it anyway.
hyperfine --warmup 2 --runs 10 -N -i \
  --export-markdown "$out/npm.md" --export-json "$out/npm.json" \
  -n "lock2build plan (npm, 2057 pkgs)" "$L2B plan $work/npm --offline --json --python-version 3.11" \
  -n "lock2build plan, host probe" "$L2B plan $work/npm --offline --json" \
  -n "npm ls --all --package-lock-only" "npm ls --all --package-lock-only --json --prefix $work/npm"
hyperfine --warmup 2 --runs 10 -N \
  --export-markdown "$out/cargo.md" --export-json "$out/cargo.json" \
  -n "lock2build plan (cargo, 530 crates)" "$L2B plan $work/cargo --offline --json --python-version 3.11" \
  -n "cargo metadata --offline" "cargo metadata --offline --format-version 1 --manifest-path $work/cargo/Cargo.toml"

rss() { /usr/bin/time -f %M "$@" >/dev/null 2>"$work/rss" || true; tail -1 "$work/rss"; }
{
  echo "| command | peak RSS (KiB) |"
  echo "|---|---|"
  echo "| lock2build plan (npm) | $(rss "$L2B" plan "$work/npm" --offline --json --python-version 3.11) |"
  echo "| npm ls --all --package-lock-only | $(rss npm ls --all --package-lock-only --json --prefix "$work/npm") |"
  echo "| lock2build plan (cargo) | $(rss "$L2B" plan "$work/cargo" --offline --json --python-version 3.11) |"
  echo "| cargo metadata --offline | $(rss cargo metadata --offline --format-version 1 --manifest-path "$work/cargo/Cargo.toml") |"
} > "$out/memory.md"
cat "$out/npm.md" "$out/cargo.md" "$out/memory.md"
