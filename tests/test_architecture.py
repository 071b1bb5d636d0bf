"""The package's shape, checked so it cannot drift back: layers with no import from a lower one to a
higher one (imports inside functions included), small modules, short functions."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nameclf"
MAX_MODULE_LINES = 450
MAX_BODY_LINES = 60
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess:
    """import-linter's `layers` contract (.importlinter) on the package found in `package_parent`."""
    if not LINT_IMPORTS.exists():
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / ".importlinter"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=package_parent,
        env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


def test_every_module_imports_only_from_the_layers_below_it():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_sees_an_upward_import_hidden_inside_a_function(tmp_path):
    """The check is real: a copy of the package whose lowest layer imports the CLI inside a function
    breaks the contract."""
    copy = tmp_path / "nameclf"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "shipped", "names"))
    with open(copy / "errors.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef _upward():\n    from nameclf.cli import render\n\n    return render\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "nameclf.errors is not allowed to import nameclf.cli" in result.stdout


def test_no_module_imports_the_api_through_the_package():
    """`nameclf.load`, `nameclf.train` and `nameclf.__version__` are the API's: a module below it that
    took them from the package would be a hidden circle. Submodules (`from nameclf import data`) are fine."""
    offenders = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "nameclf" and node.level == 0:
                names = [alias.name for alias in node.names]
                if any(not (PACKAGE / f"{name}.py").exists() and not (PACKAGE / name).is_dir() for name in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")  # a name of the API, not a module
            if isinstance(node, ast.Import) and any(alias.name == "nameclf" for alias in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "import the module you need (nameclf.version, nameclf.api), not nameclf"


def test_modules_are_small_and_functions_short():
    long_modules = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    long_functions = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body
                lines = body[-1].end_lineno - body[0].lineno + 1
                if lines > MAX_BODY_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {lines} lines")
    assert long_modules == [] and long_functions == []


def test_the_contract_sees_an_upward_import_made_only_for_an_annotation(tmp_path):
    """No circle through a type annotation either: `if TYPE_CHECKING:` imports count."""
    copy = tmp_path / "nameclf"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "shipped", "names"))
    with open(copy / "errors.py", "a", encoding="utf-8") as handle:
        handle.write("\n\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n")
        handle.write("    from nameclf.training import TrainResult\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "nameclf.errors is not allowed to import nameclf.training" in result.stdout
