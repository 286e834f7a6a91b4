#!/bin/sh
# Builds the seed corpus of every fuzz target from the repository's real
# fixtures (fixtures/, made by poetry, uv, pip-compile, npm, cargo, pdm):
# fuzz/corpus/<target>/<fixture path> holds a lockfile, followed by a NUL
# byte and the manifest beside it when there is one (the targets split
# their input there; see src/lib.rs). The corpus is not committed
# (fuzz/.gitignore); run this before `cargo fuzz run`. Lockfiles over
# 1 MiB (fixtures/npm/big-2000) are left out: libFuzzer mutates small
# inputs faster, and -max_len caps what it reads anyway.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"

# seed TARGET LOCKFILE-NAME MANIFEST-NAME [UNDER]
seed() {
    target=$1 lock=$2 manifest=$3 under=${4:-}
    dest="$here/corpus/$target"
    mkdir -p "$dest"
    find "$fixtures/$under" -name "$lock" -type f -size -1024k ! -path '*/node_modules/*' | sort |
        while read -r file; do
            name=$(printf '%s' "${file#"$fixtures"/}" | tr '/' '_')
            dir=$(dirname "$file")
            if [ -n "$manifest" ] && [ -f "$dir/$manifest" ]; then
                { cat "$file"; printf '\0'; cat "$dir/$manifest"; } >"$dest/$name"
            else
                cp "$file" "$dest/$name"
            fi
        done
    echo "$target: $(find "$dest" -type f | wc -l) seeds in fuzz/corpus/$target"
}

seed cargo Cargo.lock Cargo.toml
seed npm package-lock.json package.json
seed npm npm-shrinkwrap.json package.json
seed poetry poetry.lock pyproject.toml
seed uv uv.lock pyproject.toml
seed pylock 'pylock*.toml' pyproject.toml
seed requirements 'requirements*.txt' ''
seed requirements '*.txt' '' requirements
