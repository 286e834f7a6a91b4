#!/usr/bin/env bash
# `lock2build app` on a Cargo project and an npm project against cargo and
# npm themselves, side by side in one run; then a table of ratios
# (lock2build's mean time / the native tool's mean time).
#
#   rust: fixtures/cargo/native-app (30 crates: rusqlite over the system
#         SQLite, openssl over the system OpenSSL) vs `cargo build --release
#         --locked` (the toolchain's own cargo, not rustup's proxy).
#   node: fixtures/npm/native-app (60 packages: bcrypt 5 compiled by
#         node-gyp, picocolors, an `npm run build`) vs `npm ci` then `npm run
#         build`, with npm_config_build_from_source=true (lock2build's override
#         for bcrypt < 6 does the same; without it node-pre-gyp tries GitHub).
#
# cold: lock2build with an empty store; cargo with an empty CARGO_HOME (so
#       it fetches the crates.io index and the crates) and target dir; npm
#       with an empty cache and no node_modules.
# warm: a second run with nothing changed. cargo: `cargo build` again (a
#       no-op). npm has no no-op install that rebuilds nothing and checks
#       the tree: `npm ci` (from its warm cache) is what it offers.
# edit: a comment in the project's main source changed before each run:
#       lock2build rebuilds the app node only (Rust: the project's crate from
#       the cached dependency build; Node: the app with its `npm run build`),
#       cargo recompiles the crate incrementally, npm reruns `npm run build`.
#
# The edit cases also record lock2build's own peak memory (gdb).
#
# Needs: hyperfine, cargo, node/npm with headers, g++, make, pkg-config,
# libssl-dev, libsqlite3-dev, bubblewrap, gdb, a release build of lock2build
# (cargo build --release --locked; or LOCK2BUILD=/path). Network: crates.io,
# npm. ~10 min on 2 cores. COLD_RUNS (2), WARM_RUNS (5), EDIT_ROUNDS (10:
# the interleaved edits) set the runs; SKIP_COLD=1 leaves the cold cases
# out (one untimed build of each instead).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
L2B="${LOCK2BUILD:-${CARGO_TARGET_DIR:-$repo/target}/release/lock2build}"
[ -x "$L2B" ] || { echo "build lock2build first: cargo build --release --locked (or set LOCK2BUILD)" >&2; exit 1; }
COLD_RUNS="${COLD_RUNS:-2}"
WARM_RUNS="${WARM_RUNS:-5}"
EDIT_ROUNDS="${EDIT_ROUNDS:-10}"
CARGO="$(rustc --print sysroot)/bin/cargo"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${OUT:-$work/results}"; mkdir -p "$out"
export LOCK2BUILD_STORE="$work/store" LOCK2BUILD_CACHE="$work/l2b-cache"

for t in l2b native; do
  cp -r "$repo/fixtures/cargo/native-app" "$work/$t-rust"
  cp -r "$repo/fixtures/npm/native-app" "$work/$t-node"
  rm -rf "$work/$t-rust/result" "$work/$t-rust/target" "$work/$t-node/result" "$work/$t-node/node_modules"
  echo "// edit 0" >> "$work/$t-rust/src/main.rs"
  echo "// edit 0" >> "$work/$t-node/bin/hash-demo.js"
done
# A changed comment, for hyperfine's --prepare (run by sh, at each run).
edit() { echo "sed -i \"s|^// edit .*|// edit \$(date +%s%N)|\" $1"; }

cargo_env="CARGO_HOME=$work/cargo-home CARGO_TARGET_DIR=$work/cargo-target"
npm_env="npm_config_cache=$work/npm-cache npm_config_build_from_source=true npm_config_audit=false npm_config_fund=false"

run() { # name, hyperfine args…
  local name="$1"; shift
  hyperfine --style basic --export-json "$out/$name.json" "$@" >/dev/null
  python3 - "$out/$name.json" <<'EOF'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  {r['command'][:60]:<60} {r['mean']:8.3f} s ± {r['stddev'] or 0:.3f}")
EOF
}

if [ -z "${SKIP_COLD:-}" ]; then
echo "== rust: cold"
run rust-cold-l2b -r "$COLD_RUNS" -n "lock2build app (empty store)" \
  -p "rm -rf $work/store $work/l2b-rust/result" "$L2B app $work/l2b-rust --progress quiet"
run rust-cold-cargo -r "$COLD_RUNS" -n "cargo build --release (empty CARGO_HOME, target)" \
  -p "rm -rf $work/cargo-home $work/cargo-target" "cd $work/native-rust && env $cargo_env $CARGO build --release --locked -q"
else
  # The builds the other cases start from.
  "$L2B" app "$work/l2b-rust" --progress quiet >/dev/null
  (cd "$work/native-rust" && env $cargo_env $CARGO build --release --locked -q)
fi
echo "== rust: warm no-op"
run rust-warm-l2b -r "$WARM_RUNS" -w 1 -n "lock2build app (no-op)" "$L2B app $work/l2b-rust --progress quiet"
run rust-warm-cargo -r "$WARM_RUNS" -w 1 -n "cargo build --release (no-op)" "cd $work/native-rust && env $cargo_env $CARGO build --release --locked -q"
echo "== rust: after an edit"
run rust-edit-l2b -r "$WARM_RUNS" -n "lock2build app (main.rs edited)" \
  -p "$(edit $work/l2b-rust/src/main.rs)" "$L2B app $work/l2b-rust --progress quiet"
run rust-edit-cargo -r "$WARM_RUNS" -n "cargo build --release (main.rs edited)" \
  -p "$(edit $work/native-rust/src/main.rs)" "cd $work/native-rust && env $cargo_env $CARGO build --release --locked -q"

if [ -z "${SKIP_COLD:-}" ]; then
echo "== node: cold"
run node-cold-l2b -r "$COLD_RUNS" -n "lock2build app (empty store)" \
  -p "rm -rf $work/store $work/l2b-node/result" "$L2B app $work/l2b-node --progress quiet"
run node-cold-npm -r "$COLD_RUNS" -n "npm ci && npm run build (empty cache)" \
  -p "rm -rf $work/npm-cache $work/native-node/node_modules" "cd $work/native-node && env $npm_env npm ci --silent && npm run build --silent"
else
  "$L2B" app "$work/l2b-node" --progress quiet >/dev/null
  (cd "$work/native-node" && env $npm_env npm ci --silent && npm run build --silent)
fi
echo "== node: warm"
run node-warm-l2b -r "$WARM_RUNS" -w 1 -n "lock2build app (no-op)" "$L2B app $work/l2b-node --progress quiet"
run node-warm-npm -r "$WARM_RUNS" -w 1 -n "npm ci && npm run build (warm cache)" \
  "cd $work/native-node && env $npm_env npm ci --silent && npm run build --silent"
echo "== node: after an edit"
run node-edit-l2b -r "$WARM_RUNS" -n "lock2build app (bin edited)" \
  -p "$(edit $work/l2b-node/bin/hash-demo.js)" "$L2B app $work/l2b-node --progress quiet"
run node-edit-npm -r "$WARM_RUNS" -n "npm run build (bin edited)" \
  -p "$(edit $work/native-node/bin/hash-demo.js)" "cd $work/native-node && npm run build --silent"

echo "== edits, interleaved: lock2build then the native tool, $EDIT_ROUNDS rounds; medians"
# On a shared machine the load moves between hyperfine's blocks of runs;
# alternating the two tools edit by edit exposes both to the same load.
interleave() { # name, l2b dir, native command (run in its dir), file
  local name="$1" l2b="$2" native="$3" file="$4"
  python3 - "$out/$name-interleaved.json" "$EDIT_ROUNDS" "$L2B" "$work/l2b-$l2b" "$work/native-$l2b" "$native" "$file" <<'PY'
import json, statistics, subprocess, sys, time
dest, rounds, l2b, l2b_dir, native_dir, native, file = sys.argv[1:]
def edit(d):
    path = f"{d}/{file}"
    lines = open(path).read().splitlines()
    lines = [l for l in lines if not l.startswith("// edit ")] + [f"// edit {time.time_ns()}"]
    open(path, "w").write("\n".join(lines) + "\n")
def timed(cmd, cwd):
    t = time.perf_counter(); subprocess.run(cmd, cwd=cwd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t
a, b = [], []
for _ in range(int(rounds)):
    edit(l2b_dir); a.append(timed(f"{l2b} app {l2b_dir} --progress quiet", "/"))
    edit(native_dir); b.append(timed(native, native_dir))
r = {"lock2build": a, "native": b, "median_l2b": statistics.median(a), "median_native": statistics.median(b)}
json.dump(r, open(dest, "w"), indent=1)
print(f"  lock2build {r['median_l2b']:.3f} s (min {min(a):.3f})  native {r['median_native']:.3f} s (min {min(b):.3f})  = {r['median_l2b'] / r['median_native']:.2f}x")
PY
}
interleave rust-edit rust "env $cargo_env $CARGO build --release --locked -q" src/main.rs
interleave node-edit node "npm run build --silent" bin/hash-demo.js

echo "== peak memory of lock2build's own process after an edit (VmHWM at its exit, under gdb; 3 edits each)"
# GNU time's max RSS would be the largest process of the run (cargo,
# rustc, node in the sandbox), not lock2build.
own_hwm() {
  gdb -q -batch -ex 'catch syscall exit_group' -ex run \
    -ex 'python import gdb; print(next(l for l in open("/proc/%d/status" % gdb.selected_inferior().pid) if l.startswith("VmHWM")).split()[1])' \
    --args "$@" 2>/dev/null | tail -1
}
if command -v gdb >/dev/null; then
  for t in rust:src/main.rs node:bin/hash-demo.js; do
    eco="${t%%:*}" file="${t#*:}" max=0
    for _ in 1 2 3; do
      sh -c "$(edit "$work/l2b-$eco/$file")"
      kb=$(own_hwm "$L2B" app "$work/l2b-$eco" --progress quiet)
      [ "${kb:-0}" -gt "$max" ] && max=$kb
    done
    echo "  $eco edit: $(awk -v k="$max" 'BEGIN { printf "%.1f MB", k * 1024 / 1e6 }')" | tee -a "$out/rss.md"
  done
else
  echo "  (no gdb)"
fi

echo "== ratios (lock2build / native)"
python3 - "$out" <<'EOF'
import json, sys, os
d = sys.argv[1]
mean = lambda n: json.load(open(os.path.join(d, n + ".json")))["results"][0]["mean"]
for eco in ("rust", "node"):
    for case in ("cold", "warm", "edit"):
        native = "cargo" if eco == "rust" else "npm"
        if not os.path.exists(os.path.join(d, f"{eco}-{case}-l2b.json")):
            continue
        l, n = mean(f"{eco}-{case}-l2b"), mean(f"{eco}-{case}-{native}")
        print(f"  {eco:<5} {case:<5} {l:8.3f} s vs {native} {n:8.3f} s  = {l / n:5.2f}x")
EOF
