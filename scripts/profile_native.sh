#!/usr/bin/env bash
# Sample one of memcore's main paths with py-spy, including native (Cython/C) frames, so time spent
# inside the compiled kernels is attributed to the kernel functions rather than to one opaque call.
#
#   bash scripts/profile_native.sh compress            # flame graph -> profile-compress.svg
#   bash scripts/profile_native.sh sync -n 5000        # extra arguments go to the workload
#   FORMAT=speedscope bash scripts/profile_native.sh prefetch   # open in https://speedscope.app
#
# py-spy reads another process's memory: run as root, or allow ptrace
# (sysctl kernel.yama.ptrace_scope=0; in Docker, --cap-add SYS_PTRACE). Install: pip install py-spy.
# Native symbols need the extensions built with debug info to be readable:
#   MEMCORE_DEBUG_BUILD=1 python setup.py build_ext --inplace
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  echo "usage: $0 WORKLOAD [workload options]   (workloads: checksum compress overflow prefetch sync demo)" >&2
  exit 2
fi
workload=$1
shift
python=${PYTHON:-.venv/bin/python}
[ -x "$python" ] || python=python3
py_spy=${PY_SPY:-$(dirname "$python")/py-spy}
[ -x "$py_spy" ] || py_spy=py-spy
format=${FORMAT:-flamegraph}
case $format in
  flamegraph) out=profile-$workload.svg ;;
  speedscope) out=profile-$workload.speedscope.json ;;
  *) out=profile-$workload.txt ;;
esac

"$py_spy" record --native --rate "${RATE:-250}" --format "$format" --output "$out" -- \
  "$python" scripts/profile_workloads.py "$workload" "$@"
echo "wrote $out"
