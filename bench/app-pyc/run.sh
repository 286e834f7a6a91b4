#!/bin/sh
# The first start of a built Python app, without and with bytecode compiled
# at build time: fixtures/requirements/pip-compile (flask and its
# dependencies) built by BEFORE (a lock2build without it, e.g. main before
# the change) and AFTER (this tree), each into its own store, then
# `result/bin/python -c 'import flask, werkzeug.serving'` timed by hyperfine.
# Every start is a "first" start: the store is read-only, so without .pyc
# each one compiles the modules again in memory.
# Needs hyperfine and PyPI (or a warm index cache and store).
set -eu
BEFORE=${BEFORE:?path to a lock2build without build-time bytecode}
AFTER=${AFTER:-target/debug/lock2build}
RUNS=${RUNS:-20}
OUT=${OUT:-bench/app-pyc/results}
here=$(pwd)
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
mkdir -p "$OUT"
for which in before after; do
    cp -r fixtures/requirements/pip-compile "$work/$which"
    bin=$BEFORE; [ "$which" = after ] && bin=$AFTER
    LOCK2BUILD_STORE="$work/store-$which" "$bin" app "$work/$which" --progress quiet >/dev/null
done
hyperfine -N --warmup 2 --runs "$RUNS" \
    -n "without .pyc (before)" "$work/before/result/bin/python -c 'import flask, werkzeug.serving'" \
    -n "with .pyc (after)" "$work/after/result/bin/python -c 'import flask, werkzeug.serving'" \
    --export-markdown "$here/$OUT/first-start.md"
