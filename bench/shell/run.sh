#!/usr/bin/env bash
# lock2build env's re-entry (nothing changed: answered from the cache)
# against `uv run --frozen true` and `direnv exec . true` on the same uv
# project (fixtures/uv/native-app, copied). Needs a release build of
# lock2build (cargo build --release), uv; direnv and hyperfine when present.
# Usage: bench/shell/run.sh [RUNS]
set -euo pipefail
runs=${1:-30}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${LOCK2BUILD:-$repo/target/release/lock2build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$repo/fixtures/uv/native-app" "$work/p"
cd "$work/p"
# Warm: the environment built once, uv's .venv synced once.
"$bin" -q env . >/dev/null
uv sync --frozen -q
# Median wall time of a command over $runs runs, in ms.
median() {
  python3 - "$runs" "$@" <<'PY'
import subprocess, sys, time
runs = int(sys.argv[1]); cmd = sys.argv[2:]
times = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"{times[len(times)//2]:.1f} ms (min {times[0]:.1f}, max {times[-1]:.1f})")
PY
}
echo "lock2build env (cached):   $(median "$bin" -q env .)"
echo "uv run --frozen true:      $(median uv run --frozen true)"
if command -v direnv >/dev/null; then
  echo 'use lock2build' > .envrc
  "$bin" direnv-hook > use_lock2build.sh
  sed -i '1i source ./use_lock2build.sh' .envrc
  direnv allow . >/dev/null
  echo "direnv exec . true:        $(median direnv exec . true)"
else
  echo "direnv exec . true:        (direnv not installed)"
fi
