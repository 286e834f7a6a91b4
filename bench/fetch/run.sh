#!/usr/bin/env bash
# Cold `lock2build fetch` against the native tools' own downloads, with empty
# caches, side by side in one run; then lock2build's warm no-op fetch.
#
#   npm:   bench/fetch/npm (232 packages)   vs npm ci --ignore-scripts (fresh --cache)
#   pypi:  bench/fetch/pypi (91 packages)   vs pip download --require-hashes --no-deps (no cache)
#   cargo: fixtures/cargo/big-500 (530)     vs cargo fetch (fresh CARGO_HOME)
#
# Needs: hyperfine, npm, pip, cargo, a release build of lock2build (or L2B=).
# Network: the public registries. lock2build's index cache (PyPI pages) is
# warmed once before timing, as pip's resolver-free `download` also needs no
# index search; the store is emptied before every lock2build run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${L2B:-$repo/target/release/lock2build}"
RUNS="${RUNS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$here/npm" "$work/npm"; cp -r "$here/pypi" "$work/pypi"; cp -r "$repo/fixtures/cargo/big-500" "$work/cargo"
export LOCK2BUILD_CACHE="$work/l2b-cache" LOCK2BUILD_STORE="$work/store"
for p in npm pypi cargo; do "$L2B" plan "$work/$p" --json --python-version 3.11 >/dev/null; done
out="${OUT:-$here/results}"; mkdir -p "$out"

bench() { # name, lock2build dir, native command, native prepare
  hyperfine --runs "$RUNS" -N --export-markdown "$out/$1.md" --export-json "$out/$1.json" \
    --prepare "rm -rf $work/store" -n "lock2build fetch ($1)" "$L2B fetch $work/$2 --progress quiet --python-version 3.11" \
    --prepare "$4" -n "$5" "$3"
}
bench npm npm "npm ci --ignore-scripts --no-audit --no-fund --prefix $work/npm --cache $work/npmcache" \
  "rm -rf $work/npmcache $work/npm/node_modules" "npm ci --ignore-scripts"
bench pypi pypi "pip download -q --require-hashes --no-deps --no-cache-dir -r $work/pypi/requirements.txt -d $work/pipdl" \
  "rm -rf $work/pipdl" "pip download --require-hashes"
bench cargo cargo "env CARGO_HOME=$work/cargohome cargo fetch -q --manifest-path $work/cargo/Cargo.toml" \
  "rm -rf $work/cargohome" "cargo fetch"

# Warm no-op: everything already in the store.
"$L2B" fetch "$work/npm" --progress quiet --python-version 3.11 >/dev/null
hyperfine --warmup 2 --runs 20 -N --export-markdown "$out/warm.md" \
  -n "lock2build fetch, warm (npm, 232)" "$L2B fetch $work/npm --progress quiet --python-version 3.11"
cat "$out"/npm.md "$out"/pypi.md "$out"/cargo.md "$out"/warm.md
