#!/usr/bin/env bash
# Prints, in KiB, the peak resident memory of the command's OWN process
# (VmHWM of /proc/PID/status, read under gdb when it calls exit_group):
# not its children's, which is what GNU time's "max RSS" reports when a child
# is larger (a `rustc --print sysroot`, a compiler in the sandbox). The
# command's output goes to standard error. Needs gdb.
#
#   bench/own-peak-rss.sh lock2build app path/to/project
set -euo pipefail
command -v gdb >/dev/null || { echo "own-peak-rss.sh needs gdb (apt-get install gdb)" >&2; exit 1; }
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
gdb -q -batch -ex 'catch syscall exit_group' -ex run \
  -ex "python import gdb; open('$out', 'w').write(next(l for l in open('/proc/%d/status' % gdb.selected_inferior().pid) if l.startswith('VmHWM')).split()[1])" \
  --args "$@" >&2 2>/dev/null </dev/null || true
kb="$(cat "$out")"
[ -n "$kb" ] || { echo "own-peak-rss.sh: no VmHWM read for: $*" >&2; exit 1; }
echo "$kb"
