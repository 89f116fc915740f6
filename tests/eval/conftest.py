"""Fixtures for the eval tests: a scripted OpenAI-compatible server and a small problems file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cli import main
from tests.eval.scripted_server import ScriptedServer

# Three problems x four samples with known verdicts (gold 5, 12, 7):
#   Alpha 4/4 right; Beta 13,12,13,12 -> 2/4, majority tie goes to 13 (seen first): wrong;
#   Gamma no answer, 7, 8, 8 -> 1/4, majority 8: wrong.
SCRIPT = {
    "Alpha": ["The sum is \\boxed{5}."],
    "Beta": ["So \\boxed{13}.", "So \\boxed{12}.", "So \\boxed{13}.", "So \\boxed{12}."],
    "Gamma": ["I do not know.", ("Three plus four is seven.", "The answer is \\boxed{7}."), "\\boxed{8}", "\\boxed{8}"],
}
PROBLEMS = [
    {"id": "a", "question": "Alpha: what is 2+3?", "answer": "5", "section": "speed", "year": 2019},
    {"id": "b", "question": "Beta: what is 3*4?", "answer": "12", "section": "individual", "year": 2019},
    {"id": "c", "question": "Gamma: what is 3+4?", "answer": "7", "section": "individual", "year": 2020},
]


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    path = tmp_path / "toy.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in PROBLEMS), encoding="utf-8")
    return path


@pytest.fixture
def server():
    scripted = ScriptedServer({key: list(value) for key, value in SCRIPT.items()})
    url = scripted.start()
    scripted.url = url
    yield scripted
    scripted.stop()


@pytest.fixture
def evaluate(capsys: pytest.CaptureFixture):
    """Run `evaluate ARGS...` as a user types it; returns (exit code, stdout, stderr)."""

    def invoke(*argv: str) -> tuple[int, str, str]:
        try:
            main(list(argv))
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke
