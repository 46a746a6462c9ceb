"""The selector picks the compiled kernels unless pure mode was asked for, and says which."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

import memcore
from memcore import _kernels

PURE_RUN = os.environ.get("MEMCORE_NO_EXTENSIONS", "") not in ("", "0")


def test_native_flag_matches_the_switch() -> None:
    assert memcore.NATIVE is _kernels.NATIVE
    if PURE_RUN:
        assert memcore.NATIVE is False


@pytest.mark.native_only
@pytest.mark.parametrize("family", _kernels.FAMILIES)
def test_compiled_family_is_the_one_in_use(family: str) -> None:
    native = importlib.import_module(f"memcore._native.{family}")
    assert _kernels.load(family) is native
    assert native.__file__ is not None
    assert not native.__file__.endswith(".py")


@pytest.mark.parametrize("family", _kernels.FAMILIES)
def test_pure_twin_is_used_when_the_switch_is_set(family: str) -> None:
    code = (
        "import memcore, importlib; from memcore import _kernels; "
        f"m = _kernels.load({family!r}); "
        "assert memcore.NATIVE is False, memcore.NATIVE; "
        f"assert m is importlib.import_module('memcore._pure.{family}'), m"
    )
    env = dict(os.environ, MEMCORE_NO_EXTENSIONS="1")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_unknown_family_is_refused() -> None:
    with pytest.raises(AttributeError):
        _kernels.load("nope")


@pytest.mark.native_only
def test_a_missing_build_fails_loudly_at_import() -> None:
    # None in sys.modules makes the import of the compiled module fail, as a missing .so would
    code = (
        "import sys; sys.modules['memcore._native.checksums'] = None\n"
        "try:\n"
        "    import memcore\n"
        "except ImportError as exc:\n"
        "    assert 'MEMCORE_NO_EXTENSIONS' in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('import memcore succeeded without its compiled kernels')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MEMCORE_NO_EXTENSIONS"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
