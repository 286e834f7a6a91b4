#!/usr/bin/env bash
# Benchmark of `lock2build sources --recursive`: a tree of 200 projects made
# of copies of the fixtures (every lockfile kind), listed in one run, against
# the native tools each parsing the same locks, side by side.
#
#   bench/sources/run.sh [N_PROJECTS]      (default 200)
#
# Env: L2B_BIN (a lock2build binary with the `sources` subcommand; default:
# the crate's example binary, built here with --release), LOCK2BUILD_CACHE
# (index cache; a first online run fills it, the timed runs are --offline).
# Prints a Markdown table; README.md in this folder records a run.
set -euo pipefail
N=${1:-200}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${BENCH_DIR:-$(mktemp -d /tmp/l2b-sources-bench.XXXXXX)}
export LOCK2BUILD_CACHE=${LOCK2BUILD_CACHE:-$WORK/cache}

if [[ -z "${L2B_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build -q --release -p lock2build-sources --example sources)
    L2B=("${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/sources")
else
    L2B=("$L2B_BIN" sources)
fi

# The fixture projects: every folder holding one lockfile the importers read.
mapfile -t FIXTURES < <(cd "$ROOT/fixtures" && for d in */*/; do
    d=${d%/}
    [[ $d == requirements/bad ]] && continue
    for f in poetry.lock uv.lock requirements.txt package-lock.json Cargo.lock; do
        [[ -f $d/$f ]] && { echo "$d"; break; }
    done
done)

TREE=$WORK/tree
rm -rf "$TREE"; mkdir -p "$TREE"
for ((i = 0; i < N; i++)); do
    src=${FIXTURES[$((i % ${#FIXTURES[@]}))]}
    dst=$TREE/p$(printf %03d "$i")-${src//\//-}
    mkdir -p "$dst"
    # Lockfile, manifests and local path dependencies; not vendor/ or node_modules/.
    (cd "$ROOT/fixtures/$src" && tar --exclude=vendor --exclude=node_modules --exclude=target -cf - .) | tar -xf - -C "$dst"
done
LOCKS=$(find "$TREE" -name node_modules -prune -o \( -name poetry.lock -o -name uv.lock -o -name requirements.txt \
    -o -name package-lock.json -o -name Cargo.lock \) -print | wc -l)

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

# Warm the index cache (network), then time offline runs.
"${L2B[@]}" --recursive "$TREE" --format swh -o "$WORK/sources.json" 2>"$WORK/warm.log" || true
best=""
for run in 1 2 3; do
    t0=$(now)
    "${L2B[@]}" --recursive --offline "$TREE" --format swh -o "$WORK/sources.json" 2>"$WORK/l2b.log" || true
    t=$(elapsed "$t0" "$(now)")
    if [[ -z $best ]] || (( $(echo "$t < $best" | bc) )); then best=$t; fi
done
ENTRIES=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sources"]))' "$WORK/sources.json")

# Native tools, one process per lockfile, same tree.
declare -A T C
for kind in npm cargo uv poetry; do T[$kind]=0; C[$kind]=0; done
while IFS= read -r lock; do
    dir=$(dirname "$lock")
    case $(basename "$lock") in
        package-lock.json) kind=npm; cmd=(npm ls --all --package-lock-only --json) ;;
        Cargo.lock) kind=cargo; cmd=(cargo metadata --offline --format-version 1) ;;
        uv.lock) kind=uv; cmd=(uv export --frozen --no-header) ;;
        poetry.lock) kind=poetry; cmd=(poetry show --no-ansi --no-interaction) ;;
        *) continue ;;
    esac
    t0=$(now)
    (cd "$dir" && "${cmd[@]}" >/dev/null 2>&1) || true
    T[$kind]=$(echo "${T[$kind]} + $(elapsed "$t0" "$(now)")" | bc)
    C[$kind]=$((C[$kind] + 1))
done < <(find "$TREE" -name node_modules -prune -o \( -name poetry.lock -o -name uv.lock -o -name package-lock.json -o -name Cargo.lock \) -print | sort)

NATIVE=0; NATIVE_LOCKS=0
echo "| what | lockfiles | seconds | seconds per 100 lockfiles |"
echo "|---|---:|---:|---:|"
printf '| lock2build sources --recursive --offline --format swh (one run, best of 3; %s entries) | %d | %.2f | %.2f |\n' \
    "$ENTRIES" "$LOCKS" "$best" "$(echo "$best * 100 / $LOCKS" | bc -l)"
for kind in npm cargo uv poetry; do
    c=${C[$kind]}; t=${T[$kind]}
    (( c == 0 )) && continue
    NATIVE=$(echo "$NATIVE + $t" | bc); NATIVE_LOCKS=$((NATIVE_LOCKS + c))
    case $kind in
        npm) what='npm ls --all --package-lock-only --json' ;;
        cargo) what='cargo metadata --offline' ;;
        uv) what='uv export --frozen' ;;
        poetry) what='poetry show' ;;
    esac
    printf '| %s (one process per lockfile) | %d | %.2f | %.2f |\n' "$what" "$c" "$t" "$(echo "$t * 100 / $c" | bc -l)"
done
printf '| native tools together (no native parse-only command for requirements.txt) | %d | %.2f | %.2f |\n' \
    "$NATIVE_LOCKS" "$NATIVE" "$(echo "$NATIVE * 100 / $NATIVE_LOCKS" | bc -l)"
echo
tail -n 3 "$WORK/l2b.log" | sed 's/^/    /'
