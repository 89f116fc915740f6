"""The layers hold: no import cycle between modules, the import-linter contracts of pyproject.toml
are kept, and docs/ARCHITECTURE.md names every command of the three CLIs."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
import typer.main

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("db", "curate", "train", "eval")
CLIS = {"curate": "curate.cli", "train": "train.cli", "evaluate": "eval.cli"}


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(name)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert import_cycles(graph) == [["p.a", "p.b"]]


def test_no_import_cycle_between_modules():
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    cycles = import_cycles(graph)
    assert cycles == [], f"import cycle(s): {cycles}"


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.fail("lint-imports is missing: install the test extras (pip install -e '.[test]')")
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout


def test_architecture_page_names_every_command():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = []
    for script, module in CLIS.items():
        group = typer.main.get_command(importlib.import_module(module).app)
        missing += [f"{script} {name}" for name in group.commands if f"`{script} {name}" not in page]
    assert not missing, f"add these commands to docs/ARCHITECTURE.md's stage table: {missing}"


def test_architecture_page_names_every_stage_config():
    from curate.stages import STAGES

    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for stage in STAGES.values():
        row = next((line for line in page.splitlines() if line.startswith(f"| `curate {stage.command}")), "")
        assert f"`{stage.config}`" in row, f"the row of curate {stage.command} must name {stage.config}"
        assert "curate/" + stage.module.split(".", 1)[1].replace(".", "/") in row, stage.module
