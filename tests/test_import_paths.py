"""One import path per name: no module hands out a name it imported from another module.

A package's ``__init__`` is the one exception, and only for what its ``__all__`` lists: that façade is
then the name's path (``from retainwise.science.tenant import train``). Every other
``from retainwise.x.y import name`` must name the module that defines ``name``, so a reader (and an
editor's "go to definition") lands where the name lives, and a module can change its own imports
without breaking anyone.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("retainwise", "runner")
USERS = ("retainwise", "runner", "tests", "bench", "docs")


def _modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _top_level(tree: ast.Module) -> tuple[set[str], dict[str, str], list[str] | None]:
    """Names a module defines, names it imports (-> from where), and its ``__all__``."""
    defined, imported, exported = set(), {}, None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                exported = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
        elif isinstance(node, ast.ImportFrom):
            imported.update({a.asname or a.name: node.module or "" for a in node.names})
    return defined, imported, exported


def _sources() -> list[tuple[str, str]]:
    sources = [
        (str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
        for top in USERS
        if (ROOT / top).is_dir()
        for p in (ROOT / top).rglob("*.py")
    ]
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        sources.append((str(nb.relative_to(ROOT)), code.replace("%", "#")))
    return sources


def re_exported_uses(sources: list[tuple[str, str]], modules: dict[str, Path]) -> list[str]:
    """Each ``from M import n`` where ``M`` does not define ``n`` (and is no façade listing it)."""
    tables = {name: _top_level(ast.parse(path.read_text(encoding="utf-8"))) for name, path in modules.items()}
    wrong = []
    for where, source in sources:
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.ImportFrom) or node.module not in tables:
                continue
            defined, imported, exported = tables[node.module]
            is_package = modules[node.module].name == "__init__.py"
            for alias in node.names:
                name = alias.name
                if name in defined or f"{node.module}.{name}" in modules or name not in imported:
                    continue
                if is_package and exported is not None and name in exported:
                    continue
                wrong.append(f"{where}: from {node.module} import {name} (defined in {imported[name]})")
    return wrong


def test_no_module_re_exports_another_modules_name():
    assert re_exported_uses(_sources(), _modules()) == []


def test_a_re_export_is_caught(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    pass\n")
    (tmp_path / "b.py").write_text("from a import f\n")
    modules = {"a": tmp_path / "a.py", "b": tmp_path / "b.py"}
    assert re_exported_uses([("user.py", "from b import f\n")], modules) == [
        "user.py: from b import f (defined in a)"
    ]
    assert re_exported_uses([("user.py", "from a import f\n")], modules) == []


def test_every_subpackage_declares_its_public_names():
    missing = [
        str(p.relative_to(ROOT))
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("__init__.py")
        if "__pycache__" not in p.parts and _top_level(ast.parse(p.read_text(encoding="utf-8")))[2] is None
    ]
    assert missing == []


def outside_uses(package: str, sources: list[tuple[str, str]]) -> set[str]:
    """The submodules of ``package`` that code outside it imports (tests and benchmarks excepted)."""
    used = set()
    for where, source in sources:
        if where.startswith(package.replace(".", "/") + "/") or where.startswith(("tests/", "bench/")):
            continue
        for node in ast.walk(ast.parse(source)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.startswith(package + "."):
                    used.add(name[len(package) + 1 :].split(".")[0])
    return used


def test_code_outside_a_package_imports_only_its_public_modules():
    modules = _modules()
    sources = _sources()
    for package in (
        "retainwise.execution",
        "retainwise.platform",
        "retainwise.reports",
        "retainwise.science",
    ):
        exported = _top_level(ast.parse(modules[package].read_text(encoding="utf-8")))[2] or []
        assert all(f"{package}.{name}" in modules for name in exported), (package, exported)
        assert outside_uses(package, sources) - set(exported) == set(), package


def _calls_and_definitions(where: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(attribute accesses, function definitions) of every module under ``where``, with their file."""
    attributes, definitions = [], []
    for path in (ROOT / where).rglob("*.py"):
        name = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                attributes.append((name, node.attr))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                definitions.append((name, node.name))
    return attributes, definitions


def test_the_platform_owns_every_side_effect_and_each_exists_once():
    attributes, definitions = [], []
    for top in PACKAGES:
        found = _calls_and_definitions(top)
        attributes += found[0]
        definitions += found[1]
    # S3 only through platform.storage.Storage; runs queued only by platform.jobs.enqueue; the run store
    # opened once per process by platform.runs.shared_store.
    raw_s3 = {f for f, attr in attributes if attr == "s3" and not f.startswith("retainwise/platform/")}
    assert raw_s3 == set()
    assert {f for f, attr in attributes if attr == "for_upload"} == {"retainwise/platform/jobs.py"}
    opened = {f for f, attr in attributes if attr == "open" and f.startswith("retainwise/reports/")}
    assert all("RunStore.open" not in (ROOT / f).read_text(encoding="utf-8") for f in opened)
    for name in ("remaining_s", "shared_store", "enqueue"):
        assert len([f for f, d in definitions if d == name]) == 1, name
