"""`curate run`: config checking, the stages in order, resume, and the example configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curate.cli import app
from curate.pipeline import STAGE_RUN_KIND, load_config, parse_config, run_pipeline
from db import BadInput, open_store

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

# The stages that need no model: ingest, import hand-written traces, verify, score, select, export.
CURATION_TOML = """
[pipeline]
dir = "{dir}"

[[problems.files]]
path = "bundled:obryan_style.jsonl"
source = "obryan-style"
split = "per-row"

[[import.files]]
path = "bundled:demo_traces.jsonl"
model = "hand-written"
source = "obryan-style"

[verify]
workers = 1

[score]

[select]
policy = "shortest-correct"
name = "pick"

[export]
out = "export"
val_fraction = 0.2
"""


def write_config(folder: Path, text: str) -> Path:
    path = folder / "pipeline.toml"
    path.write_text(text.format(dir=folder / "run"), encoding="utf-8")
    return path


def stage_runs(db: Path) -> list[tuple[str, str]]:
    with open_store(db, read_only=True) as store:
        rows = store.execute(
            "SELECT json_extract_string(config, '$.stage'), status FROM runs WHERE kind = ? ORDER BY started_at",
            [STAGE_RUN_KIND],
        ).fetchall()
    return [tuple(row) for row in rows]


def test_curation_stages_run_in_order_then_resume_and_rerun_after_an_edit(tmp_path: Path):
    config_file = write_config(tmp_path, CURATION_TOML)
    result = runner.invoke(app, ["run", str(config_file)])
    assert result.exit_code == 0, result.output
    db = tmp_path / "run" / "traces.duckdb"
    assert stage_runs(db) == [(s, "ok") for s in ("problems", "import", "verify", "score", "select", "export")]
    with open_store(db, read_only=True) as store:
        splits = dict(store.execute("SELECT split, count(*) FROM problems GROUP BY split").fetchall())
        verdicts = dict(store.execute("SELECT verdict, count(*) FROM verdict_current GROUP BY verdict").fetchall())
        form_failures = store.scalar("SELECT count(*) FROM verdict_current WHERE form_ok = false")
        selected = store.scalar("SELECT count(*) FROM selections WHERE selection_id = 'pick'")
        traced_problems = store.scalar("SELECT count(DISTINCT problem_id) FROM samples")
    assert splits == {"train": 56, "test": 24}
    # 20 hand-written traces answer correctly in simplified form, one is wrong, one is unsimplified.
    assert verdicts.get("correct", 0) >= 20 and verdicts.get("incorrect", 0) >= 1
    assert form_failures >= 1
    assert selected == traced_problems  # every traced problem has a correct, clean trace
    exported = [
        json.loads(line)
        for name in ("train.jsonl", "val.jsonl")
        for line in (tmp_path / "run" / "export" / name).read_text(encoding="utf-8").splitlines()
    ]
    assert len(exported) == selected
    assert all(row["messages"][1]["content"].startswith("<think>\n") for row in exported)

    again = runner.invoke(app, ["run", str(config_file)])
    assert again.exit_code == 0, again.output
    assert len(stage_runs(db)) == 6  # every stage was skipped

    edited = config_file.read_text(encoding="utf-8").replace("val_fraction = 0.2", "val_fraction = 0.5")
    config_file.write_text(edited, encoding="utf-8")
    assert runner.invoke(app, ["run", str(config_file)]).exit_code == 0
    assert [name for name, _ in stage_runs(db)[6:]] == ["export"]

    assert runner.invoke(app, ["run", str(config_file), "--from", "select"]).exit_code == 0
    assert [name for name, _ in stage_runs(db)[7:]] == ["select", "export"]


def test_brief_prints_one_line_per_stage_with_its_counts_and_no_progress_bars(tmp_path: Path):
    config_file = write_config(tmp_path, CURATION_TOML)
    result = runner.invoke(app, ["run", str(config_file), "--brief"])
    assert result.exit_code == 0, result.output
    stage_lines = [line for line in result.output.splitlines() if line.startswith("== ")]
    assert [line.split()[1] for line in stage_lines] == ["problems", "import", "verify", "score", "select", "export"]
    verify_line = next(line for line in stage_lines if line.startswith("== verify"))
    assert " s  " in verify_line and "correct" in verify_line and "verified" in verify_line
    assert "train" in next(line for line in stage_lines if line.startswith("== export"))
    assert "━" not in result.output  # no progress bar
    assert "samples in" not in result.output  # import's own summary line is left out


def test_a_misspelled_key_stops_the_run_before_any_stage(tmp_path: Path):
    config_file = write_config(tmp_path, CURATION_TOML.replace("val_fraction", "val_fracton"))
    result = runner.invoke(app, ["run", str(config_file)])
    assert result.exit_code == 2
    assert "field 'export.val_fracton'" in result.output and str(config_file) in result.output
    assert not (tmp_path / "run" / "traces.duckdb").exists()


def test_an_unknown_stage_and_a_missing_input_are_bad_input(tmp_path: Path):
    with pytest.raises(BadInput, match="unknown stage \\[trian\\]"):
        parse_config({"trian": {"model": "tiny"}}, source="x.toml")
    with pytest.raises(BadInput, match="no such file"):
        parse_config({"problems": {"files": [{"path": str(tmp_path / "missing.jsonl")}]}})
    with pytest.raises(BadInput, match="needs name, model, problems|needs model"):
        parse_config({"eval": {"runs": [{"name": "x"}]}})


def test_student_adapter_from_train_needs_a_train_stage(tmp_path: Path):
    config = parse_config(
        {
            "problems": {"files": [{"path": "bundled:obryan_style.jsonl", "source": "o", "split": "per-row"}]},
            "eval": {"runs": [{"name": "s", "model": "tiny", "problems": "test", "adapter": "@train"}]},
        },
        run_dir=tmp_path,
    )
    with pytest.raises(BadInput, match="@train"):
        run_pipeline(config)
    assert stage_runs(config.db) == [("problems", "ok"), ("eval", "failed")]


@pytest.mark.parametrize("name", ["case_study.toml", "local_vllm.toml"])
def test_example_configs_are_valid(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(REPO)  # inputs are relative to where `curate run` is started
    config = load_config(REPO / "examples" / name)
    assert list(config.stages)[0] == "problems" and "report" in config.stages
    assert {run["name"] for run in config.stages["eval"]["runs"]} >= {"base", "student", "teacher"}


def test_a_generate_stage_with_failed_samples_is_not_done_and_runs_again(tmp_path: Path):
    from curate.testing.openai_server import OpenAIServer

    problems = tmp_path / "problems.jsonl"
    problems.write_text(
        json.dumps({"question": "What is 1+1? [[answer: 2]] [[fault: server_error*3]]", "answer": "2"}) + "\n",
        encoding="utf-8",
    )
    with OpenAIServer() as server:
        config_file = tmp_path / "pipeline.toml"
        config_file.write_text(
            f"""
[pipeline]
dir = "{tmp_path / "run"}"

[[problems.files]]
path = "{problems}"

[generate]
model = "deepseek-reasoner"
base_url = "{server.base_url}"
samples = 1
max_retries = 1
backoff_s = 0.01
""",
            encoding="utf-8",
        )
        first = runner.invoke(app, ["run", str(config_file)])
        assert first.exit_code == 1 and "1 sample(s) failed after retries" in first.stderr  # one line, no traceback
        db = tmp_path / "run" / "traces.duckdb"
        # Before, the stage was recorded ok with its sample failed, and a rerun skipped it.
        assert stage_runs(db) == [("problems", "ok"), ("generate", "failed")]
        again = runner.invoke(app, ["run", str(config_file)])
        assert again.exit_code == 0, again.output
    assert stage_runs(db)[2:] == [("generate", "ok")]
    with open_store(db, read_only=True) as store:
        assert store.scalar("SELECT status FROM samples") == "ok"


def test_teacher_behind_an_endpoint_from_problems_to_report(tmp_path: Path):
    from curate.testing.openai_server import OpenAIServer

    rows = [
        json.loads(line)
        for line in (REPO / "curate" / "data" / "obryan_style.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    # A teacher that always knows the gold answer, served over real HTTP like DeepSeek's API.
    with OpenAIServer(answers={row["question"]: row["answer"] for row in rows}) as server:
        endpoint = {"base_url": server.base_url, "model": "deepseek-reasoner"}
        config = parse_config(
            {
                "problems": {
                    "files": [{"path": "bundled:obryan_style.jsonl", "source": "obryan-style", "split": "per-row"}]
                },
                "generate": {**endpoint, "samples": 2, "split": "train", "limit": 6, "max_retries": 1},
                "verify": {"workers": 1},
                "score": {},
                "select": {"policy": "shortest-correct"},
                "export": {"out": "export", "val_fraction": 0.0},
                "eval": {
                    "runs": [
                        {
                            **endpoint,
                            "name": "teacher",
                            "label": "teacher",
                            "problems": "test",
                            "source": "obryan-style",
                            "limit": 4,
                            "samples": 2,
                        }
                    ]
                },
                "report": {},
            },
            source="test",
            run_dir=tmp_path,
        )
        results = run_pipeline(config)
    outputs = {result.name: result.outputs for result in results}
    assert outputs["generate"]["ok"] == 12
    assert outputs["select"]["problems"] == 6
    assert outputs["export"]["train"] == 6
    assert outputs["eval"]["pass_at_1"] == {"teacher": 1.0}
    report = Path(outputs["report"]["out"]).read_text(encoding="utf-8")
    assert "teacher" in report and "100.00" in report


def test_a_review_decision_after_a_run_reruns_select_and_the_stages_after_it(tmp_path: Path):
    # Before, review decisions were not part of select's fingerprint: a rerun after rejecting a
    # selected trace said select and export were "done earlier with this config" and kept the trace.
    from curate.review.data import ReviewData

    config_file = write_config(tmp_path, CURATION_TOML)
    assert runner.invoke(app, ["run", str(config_file)]).exit_code == 0
    db = tmp_path / "run" / "traces.duckdb"
    with open_store(db, read_only=True) as store:
        rejected = store.scalar("SELECT min(sample_id) FROM selections WHERE selection_id = 'pick'")
    ReviewData(db, "ana").decide(rejected, "reject")

    again = runner.invoke(app, ["run", str(config_file)])
    assert again.exit_code == 0, again.output
    assert [name for name, _ in stage_runs(db)[6:]] == ["select", "export"]
    with open_store(db, read_only=True) as store:
        still_selected = store.scalar(
            "SELECT count(*) FROM selections WHERE selection_id = 'pick' AND sample_id = ?", [rejected]
        )
    assert still_selected == 0
    exported = (tmp_path / "run" / "export" / "train.jsonl").read_text() + (
        tmp_path / "run" / "export" / "val.jsonl"
    ).read_text()
    assert rejected not in exported

    unchanged = runner.invoke(app, ["run", str(config_file)])
    assert unchanged.exit_code == 0
    assert len(stage_runs(db)) == 8  # the same decisions: nothing reruns
