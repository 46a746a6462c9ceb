#!/usr/bin/env bash
# The build and the version-bound tests under the other CPythons this machine has. The whole
# suite runs on python3 (scripts/run_tests.sh); here, for each of MEMCORE_OTHER_PYTHONS (by
# default the oldest version memcore supports and the newest one tried, 3.10 and 3.13) found on
# PATH (python3.X) or among pyenv's builds, the compiled wheel is built and installed into a
# venv of its own, and the tests of what differs between versions run against it: regex syntax
# (possessive quantifiers are 3.11+), runtime protocols (3.12 looks members up statically), the
# dict layout the checksum kernel walks, the standard library's docstrings the demo notes are
# made of, fork rules, and the digest's rules compiled by mypyc for that version; under 3.10,
# with the oldest release of each dependency memcore takes, also the tests that lean on them. A
# version
# that is not on the machine is said and skipped. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=(
  tests/test_code_name_patterns.py
  tests/test_claude_code.py
  tests/test_stores_inputs.py
  tests/test_manager_close.py
  tests/test_sync.py
  tests/test_overflow.py
  tests/test_checksums.py
  tests/test_digest_twins.py
  tests/test_claude_hooks_parse_ahead.py
)
main=$("${PYTHON:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}

find_python() {  # find_python 3.X: an interpreter of that version that runs, or nothing
  local version=$1 candidate
  # (a pyenv shim is on PATH for every version pyenv has, and runs only the active ones)
  for candidate in $(command -v "python$version" 2>/dev/null || true) \
    $(ls -d "$pyenv_root"/versions/"$version".*/bin/"python$version" 2>/dev/null | sort -rV); do
    if "$candidate" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$version')" \
      >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
}

for version in ${MEMCORE_OTHER_PYTHONS:-3.10 3.13}; do
  if [ "$version" = "$main" ]; then
    continue
  fi
  python=$(find_python "$version")
  if [ -z "$python" ]; then
    echo "== [python $version] not on this machine: skipped"
    continue
  fi
  echo "== [python $version] $python: building the compiled wheel"
  venv=".venv-py$version"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  # built from a copy of the tree: the build writes beside the sources (build/, the rules'
  # copies) and those of another version must not be taken for this one's
  tree=$(mktemp -d)
  tar --exclude=./.git --exclude='./.venv*' --exclude=./build -cf - . | tar -xf - -C "$tree"
  wheels="build/test-wheels/py$version"
  rm -rf "$wheels"
  "$venv/bin/python" -m pip wheel -q --no-deps -w "$wheels" "$tree"
  rm -rf "$tree"
  wheel=$(ls "$wheels"/memcore_native-*.whl)
  "$venv/bin/python" -m pip install -q --force-reinstall --no-deps "$wheel"
  "$venv/bin/python" -m pip install -q "$wheel[test]"
  extra=()
  if [ "$version" = "3.10" ]; then  # the oldest Python with the oldest releases memcore takes
    # (pyproject.toml's floors; the mcp SDK's 1.x line, redis-py's 5.0), and the tests of what
    # leans on them: msgpack's limits and timestamps, the frames, the leak probe, the output,
    # the MCP server and the Redis stores. The newest releases everywhere else
    "$venv/bin/python" -m pip install -q "msgpack==1.2.4" "lz4==4.0.0" "zstandard==0.22.0" \
      "psutil==5.9.0" "rich==13.0.0" "mcp>=1.2,<2" "redis>=5,<5.1"
    extra=(tests/test_codec.py tests/test_sync_datetime_range.py tests/test_hardening_input.py
      tests/test_hardening_sync.py tests/test_compression.py tests/test_leak.py
      tests/test_cli_bundles_output.py tests/test_mcp_tools.py tests/test_mcp_bad_input.py
      tests/test_mcp_closed_streams.py tests/test_claude_mcp.py
      tests/test_claude_mcp_linked_project.py tests/test_redis*.py tests/test_stores_redis.py)
  fi
  "$venv/bin/python" -c "import memcore, sys; print('== [python $version] memcore.NATIVE =', \
memcore.NATIVE); sys.exit(0 if memcore.NATIVE else 'the compiled kernels did not load')"
  MEMCORE_NO_EXTENSIONS= "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    -n auto --maxprocesses 4 --dist worksteal "${TESTS[@]}" "${extra[@]}" "$@"
done
echo "== other Pythons done"
