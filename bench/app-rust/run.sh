#!/usr/bin/env bash
# `lock2build app` on a Cargo project against plain cargo on the same lock,
# side by side in one run; then a table of ratios (lock2build's mean time /
# cargo's mean time), the download volume of the cold runs and the peak
# memory of a no-op.
#
#   input: fixtures/cargo/native-app (Cargo.lock: 30 crates; rusqlite over
#          the system SQLite, openssl over the system OpenSSL), one copy per
#          tool (lock2build's ./result and cargo's target must not meet).
#   lock2build: `lock2build app DIR` (vendors the crates into its store,
#          builds the dependencies from a skeleton in bubblewrap, then the
#          project from a copy of that build; see crates/build/src/app/rust.rs).
#   cargo: `cargo build --release --locked`, the toolchain's cargo called
#          directly with its bin/ first in PATH (as lock2build does: no
#          rustup proxy in either).
#
# cold:  lock2build with an empty store and an empty LOCK2BUILD_CACHE (the
#        memo of the toolchain binaries' sha256); cargo with a fresh
#        CARGO_HOME (empty registry index and crate cache) and a fresh
#        target dir, and once more with a warm CARGO_HOME (compile only).
# no-op: a second run with nothing changed (lock2build: also with its
#        toolchain-hash memo emptied before each run).
# edit:  a one-line change of src/main.rs before every run (a new string
#        each time, so every run has something to build): lock2build builds
#        the project again from the cached dependency build; cargo
#        recompiles the one crate.
# Downloads: bytes received on the host's interfaces during one extra cold
# run of each tool (other traffic on the machine counts too), plus what each
# kept on disk. Peak memory: of a no-op, the largest process of the run (GNU
# time) and lock2build's own process.
#
# Run: cargo build --release --locked, then
#   LOCK2BUILD=target/release/lock2build bench/app-rust/run.sh
# Needs: hyperfine, bubblewrap, rustc/cargo, gcc, pkg-config, libssl-dev,
# libsqlite3-dev, GNU time (/usr/bin/time) and gdb (lock2build's own peak
# memory; skipped without it); network: crates.io. ~4 min on 2 cores.
# COLD_RUNS (3) and WARM_RUNS (5) set the hyperfine runs; OUT the results
# dir (default bench/app-rust/results).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${LOCK2BUILD:-${L2B:-${CARGO_TARGET_DIR:-$repo/target}/release/lock2build}}"
[ -x "$L2B" ] || { echo "build lock2build first: cargo build --release --locked (or set LOCK2BUILD)" >&2; exit 1; }
COLD_RUNS="${COLD_RUNS:-3}"
WARM_RUNS="${WARM_RUNS:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${OUT:-$here/results}"; mkdir -p "$out"
export LOCK2BUILD_CACHE="$work/l2b-cache" LOCK2BUILD_STORE="$work/store"
unset LOCK2BUILD_MIRRORS CARGO_BUILD_TARGET_DIR RUSTC_WRAPPER CARGO_REGISTRIES_CRATES_IO_PROTOCOL || true

sysroot="$(rustc --print sysroot)"
CARGO="$sysroot/bin/cargo"
for t in l2b cargo; do cp -r "$repo/fixtures/cargo/native-app" "$work/$t-app"; rm -rf "$work/$t-app/result" "$work/$t-app/target"; done

l2b() { echo "$L2B app $work/l2b-app --progress quiet"; }
# $1: CARGO_HOME
cargo_build() { echo "env CARGO_HOME=$1 CARGO_TARGET_DIR=$work/cargo-target PATH=$sysroot/bin:$PATH $CARGO build --release --locked --manifest-path $work/cargo-app/Cargo.toml"; }
# A new string in main.rs's one string literal default, every call.
cat > "$work/edit.sh" <<'SH'
#!/bin/sh
sed -i "s/unwrap_or_else(|| \"[^\"]*\"/unwrap_or_else(|| \"edit-$(date +%s%N)\"/" "$1/src/main.rs"
grep -q 'unwrap_or_else(|| "edit-' "$1/src/main.rs" || { echo "edit.sh: no string to change in $1/src/main.rs" >&2; exit 1; }
SH
chmod +x "$work/edit.sh"

rx() { awk -F"[: ]+" 'NR > 2 && $2 != "lo" { s += $3 } END { printf "%.0f\n", s }' /proc/net/dev; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# ---- downloads: one cold run of each, outside hyperfine ----
{
  echo "| tool (cold) | received on the network | kept on disk |"
  echo "|---|---|---|"
  before=$(rx); $(l2b) 2>&1 | grep -E '^fetched' || true; after=$(rx)
  echo "| lock2build app | $(mib $((after - before))) | store/sources $(du -sh "$work/store/sources" | cut -f1) |"
  before=$(rx); $(cargo_build "$work/cargo-home-dl") -q; after=$(rx)
  echo "| cargo build | $(mib $((after - before))) | registry/cache $(du -sh "$work/cargo-home-dl/registry/cache" | cut -f1), registry/index $(du -sh "$work/cargo-home-dl/registry/index" | cut -f1) |"
} | tee "$out/downloads.md"
rm -rf "$work/store" "$work/l2b-cache" "$work/cargo-target"

# ---- cold ----
hf() { hyperfine --export-json "$out/$1.json" --export-markdown "$out/$1.md" "${@:2}"; }
hf cold --runs "$COLD_RUNS" \
  --prepare "rm -rf $work/store $work/l2b-cache" -n "lock2build app (empty store and cache)" "$(l2b)" \
  --prepare "rm -rf $work/cargo-home $work/cargo-target" -n "cargo build --release --locked (fresh CARGO_HOME and target)" "$(cargo_build "$work/cargo-home")" \
  --prepare "rm -rf $work/cargo-target" -n "cargo build --release --locked (warm CARGO_HOME, fresh target)" "$(cargo_build "$work/cargo-home-dl")"

# ---- no-op ----
hf noop --warmup 1 --runs "$WARM_RUNS" \
  --prepare true -n "lock2build app (no-op)" "$(l2b)" \
  --prepare "rm -rf $work/l2b-cache" -n "lock2build app (no-op, toolchain-hash memo emptied)" "$(l2b)" \
  --prepare true -n "cargo build --release --locked (no-op)" "$(cargo_build "$work/cargo-home-dl")"
"$L2B" app "$work/l2b-app" --progress plain 2>&1 | grep -E '^(nothing to do|fetched)' || true

# ---- edit ----
hf edit --warmup 1 --runs "$WARM_RUNS" \
  --prepare "$work/edit.sh $work/l2b-app" -n "lock2build app (src/main.rs edited)" "$(l2b)" \
  --prepare "$work/edit.sh $work/cargo-app" -n "cargo build --release --locked (src/main.rs edited)" "$(cargo_build "$work/cargo-home-dl")"
# The last edit is what both binaries print.
"$work/l2b-app/result/bin/native-app" | tail -1
"$work/cargo-target/release/native-app" | tail -1

# ---- peak memory of the no-op, 5 runs each ----
# GNU time's max RSS is that of the largest process of the run: for
# lock2build that is a child (`rustc --print sysroot`, ~35 MB), not
# lock2build. Its own peak is read at its exit_group under gdb (VmHWM).
own_hwm() {
  gdb -q -batch -ex 'catch syscall exit_group' -ex run \
    -ex 'python import gdb; print(next(l for l in open("/proc/%d/status" % gdb.selected_inferior().pid) if l.startswith("VmHWM")).split()[1])' \
    --args "$@" 2>/dev/null | tail -1
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k * 1024 / 1e6 }'; }
{
  echo "| no-op | largest process (GNU time max RSS) | the tool's own process (VmHWM at exit) |"
  echo "|---|---|---|"
  for t in lock2build cargo; do
    if [ "$t" = lock2build ]; then cmd="$(l2b)"; else cmd="$(cargo_build "$work/cargo-home-dl")"; fi
    max=0; own=0
    for _ in 1 2 3 4 5; do
      # shellcheck disable=SC2086
      kb=$(/usr/bin/time -f %M $cmd 2>&1 >/dev/null | tail -1)
      [ "$kb" -gt "$max" ] && max=$kb
      if [ "$t" = lock2build ] && command -v gdb >/dev/null; then
        # shellcheck disable=SC2086
        kb=$(own_hwm $cmd)
        [ "${kb:-0}" -gt "$own" ] && own=$kb
      fi
    done
    if [ "$t" = cargo ]; then own_text="(cargo runs nothing else on a no-op)"; elif [ "$own" -gt 0 ]; then own_text=$(mb "$own"); else own_text="(no gdb)"; fi
    echo "| $t | $(mb "$max") | $own_text |"
  done
} | tee "$out/rss.md"

# Ratios: each lock2build mean over each cargo mean (< 1: lock2build faster).
python3 - "$out" <<'PY' | tee "$out/ratios.md"
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print("| case | lock2build | mean | cargo | mean | lock2build / cargo |")
print("|---|---|---|---|---|---|")
for case in ["cold", "noop", "edit"]:
    results = json.loads((out / f"{case}.json").read_text())["results"]
    ours = [r for r in results if r["command"].startswith("lock2build")]
    theirs = [r for r in results if not r["command"].startswith("lock2build")]
    for o in ours:
        for t in theirs:
            print(f"| {case} | {o['command']} | {o['mean']:.3f} s ± {o['stddev']:.3f} "
                  f"| {t['command']} | {t['mean']:.3f} s ± {t['stddev']:.3f} | **{o['mean'] / t['mean']:.3f}** |")
PY
