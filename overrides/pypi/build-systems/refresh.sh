#!/bin/sh
# Regenerates requirements.txt (exact versions, sha256 of every file) from
# requirements.in, for every platform (--universal) and CPython 3.11+.
# Needs uv (https://docs.astral.sh/uv/); run from anywhere.
set -eu
cd "$(dirname "$0")"
uv pip compile --generate-hashes --universal --python-version 3.11 \
    --upgrade --no-header --annotation-style line \
    requirements.in -o requirements.txt
echo "requirements.txt refreshed: $(grep -c '==' requirements.txt) pins"
