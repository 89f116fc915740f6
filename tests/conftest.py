"""Shared fixtures: a fresh store on disk, the bundled data folder, the tiny real model."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from db import open_store

# Byte-for-byte copies of ../shared/data (public sets, MIT / Apache-2.0; see SOURCES.md there).
SHARED_DATA = Path(__file__).resolve().parent / "data" / "public"
# The workspace's public sets not copied here (code: HumanEval, MBPP; sql: Spider with its
# databases; SOURCES.md there), beside the checkout; tests that read them skip where it is absent.
WORKSPACE_DATA = next(
    (
        path
        for path in (Path(__file__).resolve().parents[2] / "shared" / "data", Path("/work/shared/data"))
        if path.exists()
    ),
    Path("/work/shared/data"),
)


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, migrated store file; CURATE_DB points at it so commands find it too."""
    path = tmp_path / "traces.duckdb"
    open_store(path).close()
    monkeypatch.setenv("CURATE_DB", str(path))
    return path


@pytest.fixture
def shared_data() -> Path:
    """The public problem sets (MATH-500, AIME, AMC, GSM8K, OlympiadBench, Minerva, math_cot_100)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture
def small_disk(tmp_path: Path):
    """A folder on its own 2 MiB tmpfs, to run out of space for real; skipped where mounting is
    not allowed (not root, or a container without the capability)."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture(scope="session")
def tiny_model_gguf() -> Path:
    from curate.assets import tiny_model_gguf as find

    try:
        return find()
    except FileNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture(autouse=True, scope="session")
def _offline() -> None:
    # Tests never reach a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
