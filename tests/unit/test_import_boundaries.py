"""The packages are the layers, and their imports keep them so (docs/architecture.md).

    runner       the library: may import none of the others, nor kfp or rich
    emulator     apart from both sides: of the project, only runner.validation (botocore's model)
    components   KFP components: runner, and smrun.signals (the shared signal handling)
    smrun        the applications (CLI, launcher, signals): runner, components' request
                 builders, rich; kfp never; the emulator only from the CLI (``--local``)

Checked twice: by reading every module's imports (any form, including ``import_module``), and
by importing the library in a fresh interpreter and looking at what got loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Per package: the first-party and third-party modules it may not import.
RULES: dict[str, tuple[str, ...]] = {
    "runner": ("smrun", "emulator", "components", "benchmarks", "kfp", "rich"),
    "emulator": ("smrun", "components", "benchmarks", "kfp", "rich", "runner"),
    "components": ("smrun.cli", "smrun.launcher", "emulator", "benchmarks"),
    "smrun": ("benchmarks", "kfp"),
}
# What a package may import although a rule above forbids its parent.
ALLOWED: dict[str, tuple[str, ...]] = {
    "emulator": ("runner.validation",),
}
# Modules a rule is lifted for, and why: the CLI starts the embedded emulator (`--local`, and
# `smrun emulator` itself); no other application module may.
EXEMPT: dict[str, tuple[str, ...]] = {
    "smrun.cli": ("emulator",),
}
SMRUN_RULES = ("benchmarks", "kfp", "emulator")


def modules_of(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


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


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(f"{prefix}.")


def forbidden(modules: set[str], rules: tuple[str, ...], allowed: tuple[str, ...] = ()) -> set[str]:
    return {
        name
        for name in modules
        if any(_under(name, bad) for bad in rules)
        and not any(_under(name, ok) or _under(ok, name) for ok in allowed)
    }


def rules_for(module: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    package = module.partition(".")[0]
    rules = SMRUN_RULES if package == "smrun" else RULES[package]
    lifted = next((lift for name, lift in EXEMPT.items() if _under(module, name)), ())
    return tuple(rule for rule in rules if rule not in lifted), ALLOWED.get(package, ())


ALL_MODULES = [path for package in RULES for path in modules_of(package)]


def test_every_layer_is_found() -> None:
    names = {module_name(path) for path in ALL_MODULES}
    assert {"runner", "runner.core", "runner.kinds", "runner.telemetry", "runner.joblogs"} <= names
    assert {"smrun.cli", "smrun.launcher.manifest", "smrun.signals"} <= names
    assert {"emulator.server", "emulator.state", "components.common.app"} <= names
    assert not any(name.startswith("runner.") and "emulator" in name for name in names)


@pytest.mark.parametrize("path", ALL_MODULES, ids=module_name)
def test_module_imports_only_what_its_layer_may(path: Path) -> None:
    module = module_name(path)
    imports = imported_modules(path.read_text(), module, is_package=path.name == "__init__.py")
    rules, allowed = rules_for(module)
    bad = forbidden(imports, rules, allowed)
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "source",
    [
        "import rich",
        "import kfp.dsl as dsl",
        "from rich.console import Console",
        "from emulator.server import EmulatorServer",
        "import emulator",
        "from smrun import cli as entry",
        "from smrun.launcher import manifest",
        "def f():\n    from components.train import component",
        "import importlib\nimportlib.import_module('kfp')",
        "__import__('rich.table')",
    ],
)
def test_the_checker_catches_each_form(source: str) -> None:
    assert forbidden(imported_modules(source, "runner.core"), RULES["runner"])


@pytest.mark.parametrize(
    "source",
    [
        "import richer",
        "import kfpx",
        "from runner import config, core",
        "from .emulators import x",
        "import structlog",
        "from runner.telemetry import configure_logging",
        "import smrunner",
    ],
)
def test_the_checker_allows_lookalikes(source: str) -> None:
    assert not forbidden(imported_modules(source, "runner.core"), RULES["runner"])


def test_the_emulator_may_read_botocores_model_only() -> None:
    rules, allowed = rules_for("emulator.jobs")
    assert not forbidden({"runner.validation", "runner"}, rules, allowed) - {"runner"}
    assert forbidden({"runner.core"}, rules, allowed) == {"runner.core"}


def test_only_the_cli_may_start_the_emulator() -> None:
    assert not forbidden({"emulator.server"}, *rules_for("smrun.cli"))
    assert forbidden({"emulator.server"}, *rules_for("smrun.launcher.launch"))


def test_importing_the_library_loads_none_of_them() -> None:
    """The same, at run time: importing every library module pulls in none of the forbidden ones.

    rich is left out here: structlog itself imports it when it is installed (structlog.dev
    uses it for tracebacks), which is no import of the library's.
    """
    names = sorted(module_name(path) for path in modules_of("runner"))
    unwanted = tuple(name for name in RULES["runner"] if name != "rich")
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


def test_the_facade_names_load_from_their_homes() -> None:
    import runner

    assert sorted(runner.__all__) == sorted(runner._HOMES)
    for name in runner.__all__:
        assert getattr(runner, name) is not None, name
    with pytest.raises(AttributeError):
        _ = runner.NoSuchThing  # type: ignore[attr-defined]
