#!/usr/bin/env bash
# The compiled kernels under AddressSanitizer and UndefinedBehaviorSanitizer: builds a copy of
# this tree (committed and uncommitted files) with gcc's -fsanitize=address,undefined, then runs
# tests against that build with the sanitizers' runtimes preloaded into the interpreter. Any
# out-of-bounds read or write aborts the run; any undefined behaviour is reported and fails it.
# Not part of CI: the build alone takes several minutes (mypyc's C under the sanitizers).
#
#   bash scripts/run_sanitizers.sh                 # the kernels' tests (the default below)
#   bash scripts/run_sanitizers.sh tests/          # the whole suite (its RSS-measuring leak
#                                                  # tests then fail: ASan's shadow memory)
#
# PYTHON names the interpreter (default .venv/bin/python: it needs the build's Cython and mypy,
# the [test] extra). Needs gcc with libasan and libubsan (Debian: gcc).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-.venv/bin/python}
python=$(cd "$(dirname "$python")" && pwd)/$(basename "$python")
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
for lib in "$asan" "$ubsan"; do
  [ -e "$lib" ] || { echo "no $lib: install gcc's sanitizer runtimes" >&2; exit 2; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
work=$scratch/main  # (beside it, ../shared as beside this checkout: the tests' real transcripts)
mkdir "$work"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$work"
if [ -d ../shared ]; then ln -s "$(cd ../shared && pwd)" "$scratch/shared"; fi

echo "== building a sanitized copy in $work (several minutes)"
(
  cd "$work"
  CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -g" \
    LDFLAGS="-fsanitize=address,undefined" \
    "$python" setup.py build_ext --inplace -q >"$work/build.log" 2>&1
) || { tail -30 "$work/build.log" >&2; exit 1; }

# mypyc's runtime (lib-rt) shifts negative tagged integers left, which C leaves undefined and
# gcc defines (two's complement, as C23 does): not memcore's code, so not reported.
printf 'shift-base:CPy.h\nshift-base:str_ops.c\nshift-base:int_ops.c\n' >"$work/ubsan.supp"

if [ $# -eq 0 ]; then
  set -- tests/test_checksums.py tests/test_checksums_digest.py tests/test_checksums_xxh64.py \
    tests/test_patterns_kernels.py tests/test_patterns_kernels_misuse.py \
    tests/test_pipeline_kernels.py tests/test_pipeline_kernels_str_subclass.py \
    tests/test_prose_kernels.py tests/test_regression_kernels.py \
    tests/test_regression_kernels_threads.py tests/test_digest_twins.py tests/test_digest_rules.py \
    tests/test_kernel_selection.py tests/test_search*.py tests/test_records*.py \
    tests/test_hardening*.py tests/test_compression*.py
fi

echo "== running ${*} against it"
log="$work/tests.log"
status=0
(
  cd "$work"
  LD_PRELOAD="$asan:$ubsan" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:suppressions=$work/ubsan.supp" \
    PYTHONMALLOC=malloc PYTHONPATH="$work/src" \
    "$python" -m pytest -q -s -p no:cacheprovider "$@"
) >"$log" 2>&1 || status=$?
tail -3 "$log"
reports=$(grep -cE "runtime error:|ERROR: AddressSanitizer" "$log" || true)
if [ "$reports" -gt 0 ]; then
  grep -E -A12 "runtime error:|ERROR: AddressSanitizer" "$log" | head -80 >&2
  echo "== $reports sanitizer reports" >&2
  exit 1
fi
[ "$status" -eq 0 ] || { echo "== the tests failed (status $status)" >&2; exit "$status"; }
echo "== no sanitizer report"
