"""The core stays free of the CLI, the emulator, KFP components, kfp and rich.

Only ``runner/cli.py`` and ``runner/emulator/**`` may import those; every
other module under ``runner/`` is the library the KFP components and the launcher share. The
launcher (``runner/launcher/``) is an entry-point layer between the two: it may draw with rich
and turn component-style inputs into requests with the components' own builders, but it never
imports the emulator, the CLI or kfp (``--local`` is the CLI's business).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "runner"
EXEMPT = {RUNNER / "cli.py"}
FORBIDDEN = ("runner.emulator", "runner.cli", "components", "kfp", "rich")
LAUNCHER_FORBIDDEN = ("runner.emulator", "runner.cli", "kfp")


def core_modules() -> list[Path]:
    return sorted(
        path
        for path in RUNNER.rglob("*.py")
        if path not in EXEMPT
        and (RUNNER / "emulator") not in path.parents
        and (RUNNER / "launcher") not in path.parents
    )


def launcher_modules() -> list[Path]:
    return sorted((RUNNER / "launcher").rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module a source imports, or may import: for ``from a import b``, both ``a`` and
    ``a.b`` (b may be a submodule). Relative imports are resolved against ``module``."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def forbidden(modules: set[str], rules: tuple[str, ...] = FORBIDDEN) -> set[str]:
    return {
        name for name in modules if any(name == bad or name.startswith(f"{bad}.") for bad in rules)
    }


def test_the_core_modules_are_found() -> None:
    names = {module_name(path) for path in core_modules()}
    assert {"runner", "runner.core", "runner.session", "runner.kinds", "runner.events"} <= names
    assert not any(name.startswith(("runner.emulator", "runner.cli")) for name in names)


@pytest.mark.parametrize("path", core_modules(), ids=module_name)
def test_core_module_imports_nothing_forbidden(path: Path) -> None:
    imports = imported_modules(
        path.read_text(), module_name(path), is_package=path.name == "__init__.py"
    )
    assert not forbidden(imports), f"{path.relative_to(REPO)} imports {sorted(forbidden(imports))}"


@pytest.mark.parametrize("path", launcher_modules(), ids=module_name)
def test_launcher_module_imports_no_emulator_cli_or_kfp(path: Path) -> None:
    imports = imported_modules(
        path.read_text(), module_name(path), is_package=path.name == "__init__.py"
    )
    bad = forbidden(imports, LAUNCHER_FORBIDDEN)
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "source",
    [
        "import rich",
        "import kfp.dsl as dsl",
        "from rich.console import Console",
        "from runner.emulator.server import EmulatorServer",
        "from runner import emulator",
        "from runner import cli as entry",
        "from . import cli",
        "from .emulator import state",
        "def f():\n    from components.training import component",
        "import importlib\nimportlib.import_module('kfp')",
        "__import__('rich.table')",
    ],
)
def test_the_checker_catches_each_form(source: str) -> None:
    assert forbidden(imported_modules(source, "runner.core"))


@pytest.mark.parametrize(
    "source",
    [
        "import richer",
        "import kfpx",
        "from runner import config, core",
        "from .emulators import x",
        "import structlog",
        "from runner.events import configure_logging",
    ],
)
def test_the_checker_allows_lookalikes(source: str) -> None:
    assert not forbidden(imported_modules(source, "runner.core"))


def test_importing_the_core_loads_none_of_them() -> None:
    """The same, at run time: importing every core module pulls in none of the forbidden ones.

    rich is left out here: structlog itself imports it when it is installed (structlog.dev
    uses it for tracebacks), which is no import of the core's.
    """
    names = sorted(module_name(path) for path in core_modules())
    unwanted = tuple(name for name in FORBIDDEN if name != "rich")
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if any(m == b or m.startswith(b + '.') for b in {unwanted!r}))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
