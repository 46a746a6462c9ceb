"""Build memcore's Cython kernels and its compiled digest rules.

Every ``src/memcore/_native/*.pyx`` becomes one extension module. The digest's rules
(``src/memcore/digest_*.py``, plain Python, too many and too branchy to write twice) are copied
into ``src/memcore/_native/digest_rules/`` (generated, not in git: their imports of each other
point into that package, nothing else changes) and compiled by mypyc, from their type hints, as
the compiled twin ``memcore.digest.engine`` selects. ``MEMCORE_NO_EXTENSIONS=1`` builds the
pure-Python twins only; otherwise a failed compile is an install error (a silent
fallback would leave users on the slow path without knowing). The mode built is recorded in the
installed ``memcore/_build_mode.py`` so that a deliberately pure install runs pure without the
variable.

Switches (environment variables, ``1`` to turn on):
  MEMCORE_NO_EXTENSIONS  build (and run) the pure-Python twins only
  MEMCORE_DEBUG_BUILD    bounds/wraparound checks on, ``-O0 -g``
  MEMCORE_CYTHON_TRACE   line tracing for coverage of Cython code
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.errors import CCompilerError, CompileError, ExecError, PlatformError

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "src" / "memcore"
NATIVE_DIR = PACKAGE_DIR / "_native"
# the compiled digest rules' package (``memcore._kernels.RULES_PACKAGE``) and its sources
RULES_DIR = NATIVE_DIR / "digest_rules"
# an import of one rule module by another, as the copies import it instead
_RULE_IMPORT = re.compile(r"^(\s*)from memcore\.(digest_\w+) import ", re.M)


def _switch(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


PURE = _switch("MEMCORE_NO_EXTENSIONS") or platform.python_implementation() != "CPython"
DEBUG = _switch("MEMCORE_DEBUG_BUILD")
TRACE = _switch("MEMCORE_CYTHON_TRACE")

# One directive set for every module. Release builds keep bounds checks on globally; kernels turn
# them off locally (``@cython.boundscheck(False)``) only where their indices are proven in range.
DIRECTIVES: dict[str, object] = {
    "language_level": 3,
    "embedsignature": True,
    "binding": True,
    "boundscheck": True,
    "wraparound": DEBUG,
    "initializedcheck": True,
    "cdivision": False,
    "infer_types": True,
}
if TRACE:
    DIRECTIVES.update(linetrace=True, profile=True)

# no fused multiply-add: the kernels must round exactly like their pure-Python twins
COMPILE_ARGS = ["-O0", "-g"] if DEBUG else ["-O3", "-ffp-contract=off"]
MACROS = [("CYTHON_TRACE_NOGIL", "1")] if TRACE else []


def _missing(work: str, tool: str, requirement: str) -> NoReturn:
    """End the build: ``tool`` is not installed (a bare `python setup.py` in a bare venv)."""
    sys.exit(
        f"memcore: {work} needs {tool} (`pip install '{requirement}'`; `pip install .` brings it "
        "itself), or install the pure-Python version with MEMCORE_NO_EXTENSIONS=1"
    )


def _extensions() -> list[Extension]:
    if PURE:  # (a pure build ships no compiled rules, nor their copies from an earlier build)
        shutil.rmtree(RULES_DIR, ignore_errors=True)
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # pip installs it for the build; a bare `python setup.py` may lack it
        _missing("building the compiled kernels", "Cython", "Cython>=3.0.10")

    modules = [
        Extension(
            f"memcore._native.{pyx.stem}",
            [str(pyx.relative_to(ROOT))],
            extra_compile_args=COMPILE_ARGS,
            define_macros=MACROS,
        )
        for pyx in sorted(NATIVE_DIR.glob("*.pyx"))
    ]
    return cythonize(
        modules, compiler_directives=DIRECTIVES, quiet=True, nthreads=min(os.cpu_count() or 1, 8)
    )


def _rules_source() -> ModuleType:
    """``memcore._rules_source`` (the rules' sources and their digest, recorded in the compiled
    package: a source tree tells a stale build by it), loaded from its file: the package cannot
    be imported while it is being built."""
    spec = importlib.util.spec_from_file_location("_rules_source", PACKAGE_DIR / "_rules_source.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rule_copies() -> list[str]:
    """The digest's rules copied into ``memcore._native.digest_rules`` (their imports of each
    other pointed into that package), with the digest of their sources; the copies' paths. Made
    when setup.py starts, so that the package is one of those installed; compiled by mypyc only
    when extensions are built (``_mypyc_extensions``)."""
    shutil.rmtree(RULES_DIR, ignore_errors=True)
    if not (PACKAGE_DIR / "_rules_source.py").is_file():  # (kernels only: a test's probe build)
        return []
    rules = _rules_source()
    sources = sorted(PACKAGE_DIR.glob(rules.RULES_SOURCES))
    if not sources:
        return []
    RULES_DIR.mkdir()
    (RULES_DIR / "__init__.py").write_text(
        '"""The digest rules (``memcore/digest_*.py``) compiled by mypyc: setup.py wrote this."""\n'
        "\n"
        f'SOURCE_DIGEST = "{rules.rules_source_digest(PACKAGE_DIR)}"\n'
    )
    copies = []
    for source in sources:
        copy = RULES_DIR / source.name
        copy.write_text(
            _RULE_IMPORT.sub(r"\1from memcore._native.digest_rules.\2 import ", source.read_text())
        )
        copies.append(str(copy.relative_to(ROOT)))
    return copies


def _mypyc_extensions(copies: list[str]) -> list[Extension]:
    """The rules' copies compiled by mypyc (type-checked, then C): run by ``build_ext`` only,
    not each time setup.py is asked for the package's metadata."""
    if not copies:
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:  # (as Cython above)
        _missing("compiling the digest's rules", "mypy's mypyc", "mypy==2.4.1")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    options = ["--python-version", version, "--ignore-missing-imports", "--follow-imports=silent"]
    return list(
        mypycify(
            [*options, *copies],
            opt_level="0" if DEBUG else "3",
            debug_level="3" if DEBUG else "1",
            group_name="memcore._native.digest_rules",
        )
    )


RULE_COPIES = [] if PURE else _rule_copies()


class BuildPyRecordingMode(build_py):
    """Add ``_build_mode.py`` to built (non-editable) installs: which mode they were built in.

    Editable installs get no marker and so expect compiled kernels unless the switch is set; the
    marker never goes into the source tree, where a pure build would mislead later dev builds.
    """

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        marker = Path(self.build_lib) / "memcore" / "_build_mode.py"
        marker.write_text(
            '"""Written by setup.py: the mode this install was built in."""\n\n'
            f"NATIVE_BUILT = {not PURE}\n"
        )


NO_COMPILER_HELP = """memcore: compiling its Cython kernels failed ({reason}).

The compiled kernels need a C compiler and the Python development headers:
  Debian/Ubuntu:  sudo apt-get install build-essential python3-dev
  Fedora/RHEL:    sudo dnf install gcc python3-devel
  macOS:          xcode-select --install
  Windows:        the "Desktop development with C++" workload of Visual Studio Build Tools
then run the install again.

Or install the pure-Python version (same API, slower hot paths), no compiler needed:
  MEMCORE_NO_EXTENSIONS=1 pip install .
"""


class BuildExtExplained(build_ext):
    """A failed compile says what to install, and how to install pure instead, rather than
    ending in the compiler's own message alone (which stays above, for the curious). The
    digest's rules are compiled by mypyc here, when extensions are built."""

    def finalize_options(self) -> None:
        # (before setuptools reads the extensions: it marks each one it will build). The rules'
        # one C file is the longest compile by far (about a minute at -O3): first in line, so
        # that the kernels' compiles run beside it rather than after it.
        if self.distribution.ext_modules is not None:
            self.distribution.ext_modules[:0] = _mypyc_extensions(RULE_COPIES)
        if self.parallel is None:  # (`-j N` still chooses): one compile per core
            self.parallel = os.cpu_count() or 1
        super().finalize_options()

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except (CCompilerError, CompileError, ExecError, PlatformError, OSError) as exc:
            raise CompileError(NO_COMPILER_HELP.format(reason=f"{ext.name}: {exc}")) from exc


mode = (
    "pure-Python twins only (MEMCORE_NO_EXTENSIONS)"
    if PURE
    else "compiled Cython kernels and digest rules (mypyc)"
)
print(f"memcore: building {mode}", file=sys.stderr)

setup(
    ext_modules=_extensions(),
    cmdclass={"build_py": BuildPyRecordingMode, "build_ext": BuildExtExplained},
)
