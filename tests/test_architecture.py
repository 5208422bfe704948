"""The shape of the code, checked: import contracts (import-linter), file and function sizes, packaging.

``lint-imports`` runs on the tree as it is, and on a copy with a deliberately wrong import, which
must fail: a contract that cannot fail checks nothing.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("retainwise", "runner")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")

#: Files and functions allowed past the limits, with their size: none since issue 26 split the last
#: ones. The checks fail for any file or function not listed here, and for a listed one that grew.
ALLOWED_OVERSIZE: dict[str, int] = {}


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts)


def _lint_imports(cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_import_contracts_hold():
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout and "6 kept" in proc.stdout


@pytest.mark.parametrize(
    ("module", "wrong"),
    [
        ("retainwise/science/schema.py", "import retainwise.platform.storage"),
        ("retainwise/execution/notebook.py", "import retainwise.reports"),
        ("retainwise/platform/runs.py", "import runner"),
        ("runner/outcome.py", "import retainwise.cli"),
        # Only the layers contract forbids these: independent floors, and a floor importing one above it.
        ("retainwise/platform/jobs.py", "import retainwise.execution.engine"),
        ("runner/outcome.py", "import retainwise.reports.view"),
        ("retainwise/reports/view.py", "import runner.loop"),
    ],
)
def test_a_deliberately_wrong_import_breaks_a_contract(tmp_path, module, wrong):
    import os

    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(
        target.read_text(encoding="utf-8") + f"\n{wrong}  # deliberately wrong\n", encoding="utf-8"
    )
    # The copy comes first on the path, so import-linter analyses it, not the installed package.
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = _lint_imports(tmp_path, env)
    assert proc.returncode != 0, proc.stdout
    assert "BROKEN" in proc.stdout and module.removesuffix(".py").replace("/", ".") in proc.stdout


def test_no_file_over_400_lines():
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in _sources()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert _new_or_grown(too_long) == {}


def test_no_function_over_60_lines():
    too_long = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{path.relative_to(ROOT)}::{node.name}:{node.lineno}"] = lines
    assert _new_or_grown(too_long) == {}


def _new_or_grown(found: dict[str, int]) -> dict[str, int]:
    def allowed(name: str) -> int:  # functions are listed without their line number, which moves
        return ALLOWED_OVERSIZE.get(name, ALLOWED_OVERSIZE.get(name.rpartition(":")[0], 0))

    return {name: n for name, n in found.items() if n > allowed(name)}


def test_every_package_ships_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("__init__.py")
    }
    assert found - listed == set(), (
        "packages missing from [tool.setuptools] packages (a wheel would lack them)"
    )


def test_license_file_matches_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = config["project"]["license"]["text"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert declared == "MIT" and text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_nothing_refers_to_files_outside_the_repository():
    """Docstrings, notebooks, templates and READMEs speak of the repository alone."""
    outside = re.compile(r"DESIGN\.md|STYLE\.md|\.\./shared|/work/main")
    places = [
        *_sources(),
        *ROOT.glob("*.md"),
        *(ROOT / "infra").rglob("*.md"),
        *(ROOT / "notebooks").glob("*.ipynb"),
        *(p for p in (ROOT / "templates").rglob("*") if p.is_file()),
    ]
    found = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in places
        for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if outside.search(line)
    ]
    assert found == []


#: ``python -m retainwise.reports.server`` (the report container's command) parses its own few options.
OWN_ARGUMENTS = {"retainwise/reports/server.py"}


def test_no_terminal_work_outside_cli():
    """Nothing outside retainwise/cli prints, installs signal handlers or reads parsed arguments."""
    offenders = []
    for path in _sources():
        if path.parent == ROOT / "retainwise" / "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} print")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "signal"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "signal"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} signal.signal")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "args"
                and isinstance(node.ctx, ast.Load)
                and str(path.relative_to(ROOT)) not in OWN_ARGUMENTS
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} args.{node.attr}")
    assert offenders == []


# -- what users install --------------------------------------------------------------------------
LOCK = ROOT / "infra" / "docker" / "requirements.lock"
DEV_LOCK = ROOT / "infra" / "docker" / "requirements-dev.lock"


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _pyproject_requirements(*extras: str) -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [
        *project["dependencies"],
        *(r for extra in extras for r in project["optional-dependencies"][extra]),
    ]


def _locked(lock: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version and " " not in version, f"not an exact pin: {line!r}"
            pins[_name(name)] = version
    return pins


@pytest.mark.parametrize("service", ["runner", "reports"])
def test_images_install_their_dependencies_from_the_lock_file(service):
    text = (ROOT / "infra" / "docker" / f"{service}.Dockerfile").read_text(encoding="utf-8")
    assert "COPY infra/docker/requirements.lock ./" in text
    lock_install = text.index("pip install --no-deps -r requirements.lock")
    assert lock_install < text.index('pip install --no-deps ".[postgres]"')  # nothing resolved after the lock
    assert re.findall(r"pip install(?! --no-deps)", text) == []
    ignore = (ROOT / "infra" / "docker" / f"{service}.Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "!infra/docker/requirements.lock" in ignore.splitlines()


def _lock_gaps(pins: dict[str, str], requirements: list[str]) -> list[str]:
    """The requirements of pyproject.toml a lock leaves out or pins outside their range."""
    from packaging.requirements import Requirement

    gaps = []
    for requirement in requirements:
        name, spec = _name(requirement), Requirement(requirement).specifier
        if name not in pins or not spec.contains(pins[name], prereleases=True):
            gaps.append(f"{name}{spec} (locked: {pins.get(name)})")
    return gaps


@pytest.mark.parametrize(
    ("lock", "extras"), [(LOCK, ("postgres",)), (DEV_LOCK, ("postgres", "dev"))], ids=["runtime", "dev"]
)
def test_lock_files_pin_every_requirement_of_pyproject(lock, extras):
    gaps = _lock_gaps(_locked(lock), _pyproject_requirements(*extras))
    assert gaps == [], f"{lock.name} has drifted from pyproject.toml: re-run `bash .ci/lock.sh`"


def test_lock_gaps_are_found_when_pyproject_asks_for_more_than_the_lock_holds():
    pins = _locked(LOCK)
    assert _lock_gaps(pins, ["pandas>=99", "not-a-locked-package>=1", "boto3"]) == [
        f"pandas>=99 (locked: {pins['pandas']})",
        "not-a-locked-package>=1 (locked: None)",
    ]


def test_dev_lock_pins_what_the_images_ship_at_the_same_versions():
    runtime, dev = _locked(LOCK), _locked(DEV_LOCK)
    assert {name: (pin, dev.get(name)) for name, pin in runtime.items() if dev.get(name) != pin} == {}


def test_lock_file_pins_every_dependency_to_what_the_tests_run_with():
    """The suite runs on exactly the dev lock (.ci/install.sh installs it with --no-deps into .venv)."""
    from importlib.metadata import distributions

    pins = _locked(DEV_LOCK)
    installed = {_name(d.metadata["Name"]): d.version for d in distributions()}
    drift = {
        name: (pinned, installed.get(name)) for name, pinned in pins.items() if installed.get(name) != pinned
    }
    assert drift == {}, "installed versions differ from the lock: run `bash .ci/install.sh`"


def test_conda_environment_lists_what_pyproject_lists():
    env = (ROOT / "environment.yml").read_text(encoding="utf-8")
    listed = {
        re.sub(r"[-_.]+", "-", m.group(1)).lower()
        for m in re.finditer(r"^\s*-\s+\"?([A-Za-z0-9_.-]+)", env, re.M)
    }
    wanted = {_name(r) for r in _pyproject_requirements("dev", "postgres")}
    assert wanted - listed == set()
