#!/usr/bin/env bash
# The test command. On a fresh machine it installs what the tests need (Debian's redis-server and
# redis-tools, lz4 and zstd when absent, a venv, the build, the test dependencies), then runs the
# whole suite twice: once installed with the compiled kernels, once installed pure
# (MEMCORE_NO_EXTENSIONS=1).
# The tests run on every core (pytest-xdist, at most 4 workers); extra arguments go to pytest
# after that (`-n 0` runs them in one process). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)  # the cluster tests' redis-cli
command -v lz4 >/dev/null 2>&1 || missing+=(lz4)
command -v zstd >/dev/null 2>&1 || missing+=(zstd)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} from Debian's packages"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}

run_suite() {  # run_suite <venv dir> <label> [env assignments...]
  local venv=$1 label=$2
  shift 2
  echo "== [$label] setting up $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  # a non-editable install from a wheel, as users get it: the build runs (or fails) here, once
  local wheels="build/test-wheels/$label"
  rm -rf build/lib* build/bdist*  # a pure wheel must not pick up a previous build's .so files
  rm -rf "$wheels"
  env "$@" "$venv/bin/python" -m pip wheel -q --no-deps -w "$wheels" .
  local wheel
  wheel=$(ls "$wheels"/memcore_native-*.whl)  # the distribution memcore-native
  # a wheel ships the kernels compiled (and their stubs), never their Cython or C sources
  "$python" -c 'import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
sources = [n for n in names if n.endswith((".pyx", ".pxd", ".pxi", ".c"))]
sys.exit(f"sources in the wheel: {sources}" if sources else 0)' "$wheel"
  "$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$wheel"
  "$venv/bin/python" -m pip install -q "$wheel[test]"
  env "$@" "$venv/bin/python" -c "import memcore; print('== [$label] memcore.NATIVE =', memcore.NATIVE)"
  echo "== [$label] running the tests"
  env "$@" "$venv/bin/python" -m pytest -q -p no:cacheprovider "${WORKERS[@]}" "${PYTEST_ARGS[@]}"
}

WORKERS=(-n auto --maxprocesses 4 --dist worksteal)
PYTEST_ARGS=("$@")
run_suite .venv-test native MEMCORE_NO_EXTENSIONS=
run_suite .venv-test-pure pure MEMCORE_NO_EXTENSIONS=1
echo "== both runs passed"
