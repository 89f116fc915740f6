"""Fixtures for the review app tests: a real store file per test, a config file path that is
never the user's own, and a helper that waits for the app's store jobs to finish."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.review.config import ReviewConfig, ReviewSettings
from tests.curate.review.builder import build_store


@pytest.fixture
def review_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """3 problems x 3 samples, with verdicts, judge verdicts, scores and a selection."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return build_store(tmp_path / "review.duckdb", 3, 3, judge=True)


@pytest.fixture
def bare_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Problems and samples only: verify, score and select have not run."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return build_store(tmp_path / "bare.duckdb", 2, 2, verdicts=False, scores=False, select=False)


@pytest.fixture
def config(tmp_path: Path) -> ReviewConfig:
    return ReviewConfig(path=tmp_path / "review.toml")


def make_app(db: Path, config: ReviewConfig, reviewer: str = "alice", queue: str = "pending", where: str | None = None):
    from curate.review.app import ReviewApp

    return ReviewApp(ReviewSettings(db, reviewer, queue, where), config)


async def settle(pilot) -> None:
    """Wait until every store job the app submitted has come back, then let the screen update."""
    app = pilot.app
    for _ in range(1000):
        await pilot.pause(0.01)
        if not app.busy:
            break
    else:
        raise AssertionError("the app's store jobs did not finish")
    await pilot.pause()


async def press(pilot, *keys: str) -> None:
    """Press keys one at a time, letting each key's store work finish first (as a person would)."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
