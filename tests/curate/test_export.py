"""`curate export`: chat-format SFT files, train/val by problem, review and contamination rules,
the chat-template check, the dataset card, and the whole path on math_cot_100."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from curate.cli import main
from curate.export import STAGING_MARKER, ExportConfig, assign_split, run as export
from curate.prompts import render_prompt
from curate.select import SelectConfig, run as select
from db import BadInput, open_store
from tests.curate.curation_store import (
    NO_END_TEMPLATE,
    QWEN_TEMPLATE,
    R1_DISTILL_TEMPLATE,
    add_problems,
    add_review,
    add_samples,
    add_scores,
    add_verdicts,
    build_tokenizer,
)


def question(i: int) -> str:
    return f"What is {i} times {i + 1}?"


@pytest.fixture
def store(db_path):
    """20 problems with two correct R1-shaped samples each, scored and selected (keep-k-correct, k=2)."""
    store = open_store(db_path)
    add_problems(
        store,
        [
            {
                "problem_id": f"p{i:02d}",
                "question": question(i),
                "gold_answer": str(i * (i + 1)),
                "source": "toy" if i < 15 else "toy-hard",
            }
            for i in range(20)
        ],
    )
    samples = [
        {
            "sample_id": f"s{i:02d}{j}",
            "problem_id": f"p{i:02d}",
            "reasoning": f"I multiply {i} by {i + 1}. Check: {i} * {i + 1} = {i * (i + 1)}." + " More." * j,
            "content": f"The product is $\\boxed{{{i * (i + 1)}}}$.",
        }
        for i in range(20)
        for j in range(2)
    ]
    add_samples(store, samples)
    add_verdicts(
        store,
        [(s["sample_id"], str(int(s["sample_id"][1:3]) * (int(s["sample_id"][1:3]) + 1)), "correct") for s in samples],
    )
    add_scores(
        store,
        [
            {"sample_id": s["sample_id"], "problem_id": s["problem_id"], "length_tokens": 20 + 3 * j}
            for s, j in zip(samples, [0, 1] * 20)
        ],
    )
    select(store, SelectConfig(policy="keep-k-correct", k=2, name="all"))
    yield store
    store.close()


def read(out: Path, split: str) -> pl.DataFrame:
    return pl.read_ndjson(out / f"{split}.jsonl")


def test_export_writes_messages_and_metadata_split_by_problem(store, tmp_path):
    out = tmp_path / "sft"
    result = export(store, ExportConfig(out=str(out), val_fraction=0.25))
    train, val = read(out, "train"), read(out, "val")
    assert (result.n_train, result.n_val) == (train.height, val.height) == (30, 10)
    assert set(train["problem_id"]).isdisjoint(set(val["problem_id"])) and val["problem_id"].n_unique() == 5
    assert set(train["split"]) == {"train"} and set(val["split"]) == {"val"}
    row = train.row(0, named=True)
    user, assistant = row["messages"]
    assert user == {"role": "user", "content": render_prompt(question(int(row["problem_id"][1:])))}
    assert assistant["role"] == "assistant"
    assert (
        assistant["content"].startswith("<think>\nI multiply ")
        and "\n</think>\n\nThe product is $\\boxed{" in assistant["content"]
    )
    for column in (
        "problem_id",
        "sample_id",
        "source",
        "gold_answer",
        "answer",
        "model",
        "length_tokens",
        "selection_id",
    ):
        assert row[column] is not None, column
    assert row["selection_id"] == "all"
    recorded = store.query("SELECT * FROM exports").row(0, named=True)
    assert (recorded["n_train"], recorded["n_val"], recorded["selection_id"]) == (30, 10, "all")


def test_solution_style_drops_the_think_block(store, tmp_path):
    export(store, ExportConfig(out=str(tmp_path / "sol"), style="solution", val_fraction=0.0))
    contents = [m[1]["content"] for m in read(tmp_path / "sol", "train")["messages"].to_list()]
    assert len(contents) == 40 and all(c.startswith("The product is") and "<think>" not in c for c in contents)
    assert not (tmp_path / "sol" / "val.jsonl").exists()


def test_split_is_deterministic_for_a_seed_and_moves_with_another_seed():
    frame = pl.DataFrame({"problem_id": [f"p{i}" for i in range(50) for _ in range(2)], "a": 0, "b": 0, "c": 0, "d": 0})
    first = assign_split(frame, 0.2, seed=1)
    assert first.equals(assign_split(frame.reverse(), 0.2, seed=1).reverse())
    val = set(first.filter(pl.col("split") == "val")["problem_id"])
    assert len(val) == 10
    assert val != set(assign_split(frame, 0.2, seed=2).filter(pl.col("split") == "val")["problem_id"])


def test_output_loads_with_polars_pandas_and_datasets_in_the_sft_messages_shape(store, tmp_path):
    from datasets import load_dataset

    for fmt in ("jsonl", "parquet"):
        out = tmp_path / fmt
        export(store, ExportConfig(out=str(out), format=fmt, val_fraction=0.25))
        files = {"train": str(out / f"train.{fmt}"), "validation": str(out / f"val.{fmt}")}
        polars_frame = pl.read_ndjson(files["train"]) if fmt == "jsonl" else pl.read_parquet(files["train"])
        pandas_frame = pd.read_json(files["train"], lines=True) if fmt == "jsonl" else pd.read_parquet(files["train"])
        dataset = load_dataset(
            "json" if fmt == "jsonl" else "parquet", data_files=files, cache_dir=str(tmp_path / "hf")
        )
        assert polars_frame.height == len(pandas_frame) == dataset["train"].num_rows == 30
        assert dataset["validation"].num_rows == 10
        messages = dataset["train"][0]["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in messages)
        assert list(pandas_frame["messages"][0][1].keys()) == ["role", "content"]


def test_rejected_samples_never_go_out_and_reviewed_only_keeps_accepted(store, tmp_path):
    add_review(store, "s000", "reject")
    add_review(store, "s010", "accept", corrected_answer="0")
    add_review(store, "s020", "flag")
    out = tmp_path / "rev"
    result = export(store, ExportConfig(out=str(out), val_fraction=0.0))
    assert result.excluded == {"rejected_by_review": 1}
    assert "s000" not in read(out, "train")["sample_id"].to_list()
    result = export(store, ExportConfig(out=str(out), val_fraction=0.0, reviewed_only=True))
    train = read(out, "train")
    assert train["sample_id"].to_list() == ["s010"] and train["corrected_answer"].to_list() == ["0"]
    assert result.excluded == {"rejected_by_review": 1, "not_accepted": 38}


def test_contaminated_problems_stay_out_unless_asked(store, tmp_path):
    store.execute(
        "INSERT INTO contamination (problem_id, benchmark, matched_item, method, overlap) "
        "VALUES ('p03', 'math500/test.jsonl', 'x', 'exact', 1.0)"
    )
    out = tmp_path / "clean"
    result = export(store, ExportConfig(out=str(out)))
    assert result.excluded == {"contaminated": 2} and result.n_train + result.n_val == 38
    card = (out / "README.md").read_text()
    assert "math500/test.jsonl" in card and "Contaminated problems left out: 2 examples" in card
    result = export(store, ExportConfig(out=str(tmp_path / "all"), include_contaminated=True))
    assert result.excluded == {} and result.n_train + result.n_val == 40


def test_dataset_card_has_counts_sources_lengths_and_true_checksums(store, tmp_path):
    out = tmp_path / "card"
    result = export(store, ExportConfig(out=str(out), val_fraction=0.25))
    card = (out / "README.md").read_text()
    for name in ("train.jsonl", "val.jsonl"):
        digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert result.files[name] == digest and f"{digest}  {name}" in card
    assert "| train | 30 | 15 |" in card and "| val | 10 | 5 |" in card
    assert "| toy | " in card and "| toy-hard | " in card and "keep-k-correct" in card
    assert "min 20, " in card and "max 23" in card and "#" in card


def test_a_template_that_keeps_the_think_block_passes_and_counts_tokens(store, tmp_path):
    tokenizer = build_tokenizer(tmp_path / "qwen", QWEN_TEMPLATE)
    out = tmp_path / "ok"
    export(store, ExportConfig(out=str(out), tokenizer=str(tokenizer), val_fraction=0.0))
    row = read(out, "train").row(0, named=True)
    assistant = row["messages"][1]["content"]
    assert row["length_tokens"] == len(assistant.split())  # word-level test tokenizer
    assert row["total_tokens"] > row["length_tokens"]


@pytest.mark.parametrize(
    "template, end, message",
    [
        (R1_DISTILL_TEMPLATE, "<|end_of_sentence|>", "loses the reasoning"),
        (NO_END_TEMPLATE, "<|im_end|>", "no end-of-turn token"),
    ],
    ids=["r1-distill-strips-thinking", "no-end-of-turn-token"],
)
def test_a_template_that_loses_the_think_block_or_the_end_token_fails_and_writes_nothing(
    store, tmp_path, capsys, template, end, message
):
    tokenizer = build_tokenizer(tmp_path / "tok", template, end)
    out = tmp_path / "never"
    store.close()
    with pytest.raises(SystemExit) as stop:
        main(["export", "--out", str(out), "--tokenizer", str(tokenizer), "--db", str(store.path)])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".export-*"))
    with open_store(store.path) as reopened:
        assert reopened.scalar("SELECT count(*) FROM exports") == 0


def test_a_failed_check_leaves_an_earlier_export_in_place(store, tmp_path):
    out = tmp_path / "kept"
    export(store, ExportConfig(out=str(out)))
    before = (out / "train.jsonl").read_bytes()
    tokenizer = build_tokenizer(tmp_path / "r1", R1_DISTILL_TEMPLATE, "<|end_of_sentence|>")
    with pytest.raises(BadInput, match="loses the reasoning"):
        export(store, ExportConfig(out=str(out), tokenizer=str(tokenizer)))
    assert (out / "train.jsonl").read_bytes() == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--out", "x.jsonl"], "names a directory"),
        (["--out", "d", "--selection", "nope"], "no selection 'nope'"),
        (["--out", "d", "--format", "csv"], "unknown format"),
        (["--out", "d", "--val-fraction", "1.5"], "--val-fraction"),
    ],
)
def test_bad_export_flags_exit_2(store, tmp_path, capsys, argv, message):
    store.close()
    argv = [str(tmp_path / a) if a in ("x.jsonl", "d") else a for a in argv]
    with pytest.raises(SystemExit) as stop:
        main(["export", *argv, "--db", str(store.path)])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


# ---- done when: the 800 samples of math_cot_100, end to end ---------------------------------------


def run(*argv: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    assert stop.value.code == 0, argv


def test_math_cot_100_imported_scored_verified_selected_exported_and_reloaded(db_path, shared_data, tmp_path, capsys):
    from curate.verify import check

    math500 = shared_data / "simpleRL-reason" / "math500" / "test.jsonl"
    cot = shared_data / "Qwen2.5-Math" / "eval_rm_maj_example" / "math_cot_100.jsonl"
    run("ingest", str(math500), "--split", "test")
    run("import-samples", str(cot), "--model", "qwen2.5-math-7b-instruct")
    run("verify")
    run("score")
    run("dedup")
    run("decontam", "--against", str(math500))
    run("select", "--policy", "shortest-correct", "--name", "short")
    out = tmp_path / "sft"
    run("export", "--out", str(out), "--selection", "short", "--val-fraction", "0.1", "--seed", "3")

    train, val = read(out, "train"), read(out, "val")
    with open_store(db_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM samples") == 800
        contaminated = set(store.query("SELECT problem_id FROM contamination")["problem_id"].to_list())
        eval_problems = set(store.query("SELECT problem_id FROM problems WHERE split = 'test'")["problem_id"].to_list())
    exported = pl.concat([train, val])
    assert exported.height >= 80
    assert set(train["problem_id"]).isdisjoint(set(val["problem_id"]))
    assert contaminated and not (set(exported["problem_id"]) & (contaminated | eval_problems))
    for messages, gold in zip(exported["messages"].to_list(), exported["gold_answer"].to_list()):
        assert check(messages[1]["content"], gold).verdict == "correct", messages[1]["content"][-300:]

    # The same traces in R1 shape (last paragraph as the final solution, the rest as thinking), for
    # the chat-template check: the R1-Distill template strips the thinking and must be caught.
    rows = [json.loads(line) for line in cot.read_text().splitlines()[:10]]
    r1_file = tmp_path / "r1_shaped.jsonl"
    with r1_file.open("w") as handle:
        for row in rows:
            thinking, _, final = row["code"][0].strip().rpartition("\n\n")
            handle.write(
                json.dumps({"question": row["question"], "response": f"<think>\n{thinking}\n</think>\n\n{final}"})
                + "\n"
            )
    run("import-samples", str(r1_file), "--model", "r1-shaped")
    run("verify")
    run("score")
    run("select", "--policy", "keep-k-correct", "--k", "9", "--name", "with-r1")
    r1_tokenizer = build_tokenizer(tmp_path / "r1-tok", R1_DISTILL_TEMPLATE, "<|end_of_sentence|>")
    caught = tmp_path / "caught"
    with pytest.raises(SystemExit) as stop:
        main(["export", "--out", str(caught), "--selection", "with-r1", "--tokenizer", str(r1_tokenizer)])
    assert stop.value.code == 2 and not caught.exists()
    assert "loses the reasoning" in capsys.readouterr().err
    qwen_tokenizer = build_tokenizer(tmp_path / "qwen-tok", QWEN_TEMPLATE)
    run("export", "--out", str(tmp_path / "checked"), "--selection", "with-r1", "--tokenizer", str(qwen_tokenizer))
    checked = pl.concat([read(tmp_path / "checked", "train"), read(tmp_path / "checked", "val")])
    assert checked.filter(pl.col("model") == "r1-shaped").height > 0


# ---- the folder given is ours, or refused (issue 13) ---------------------------------------------


def test_export_refuses_a_folder_holding_other_files_unless_overwrite(store, tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "README.md").write_text("my project\n")
    (out / "train.jsonl").write_text('{"mine": 1}\n')
    with pytest.raises(BadInput, match="did not write.*README.md, train.jsonl"):
        export(store, ExportConfig(out=str(out)))
    assert (out / "README.md").read_text() == "my project\n" and (out / "train.jsonl").read_text() == '{"mine": 1}\n'
    with pytest.raises(SystemExit) as stop:
        main(["export", "--out", str(out), "--db", str(store.path)])
    assert stop.value.code == 2
    export(store, ExportConfig(out=str(out), overwrite=True))
    assert (out / "README.md").read_text() != "my project\n"


def test_export_reruns_into_its_own_folder_but_not_over_a_file_added_there(store, tmp_path):
    out = tmp_path / "ds"
    export(store, ExportConfig(out=str(out), val_fraction=0.25))
    export(store, ExportConfig(out=str(out), val_fraction=0.0))  # ours: replaced, val.jsonl removed
    assert not (out / "val.jsonl").exists() and (out / "train.jsonl").exists()
    (out / "notes.txt").write_text("keep me\n")
    with pytest.raises(BadInput, match="notes.txt"):
        export(store, ExportConfig(out=str(out)))


def test_a_folder_exported_before_manifests_existed_is_still_ours(store, tmp_path):
    out = tmp_path / "old"
    export(store, ExportConfig(out=str(out)))
    (out / ".curate-export.json").unlink()  # what the earlier code left: the exports row only
    export(store, ExportConfig(out=str(out)))
    assert (out / ".curate-export.json").exists()


def test_export_into_the_current_folder_is_refused(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # holds the store file
    with pytest.raises(SystemExit) as stop:
        main(["export", "--out", ".", "--db", str(store.path)])
    assert stop.value.code == 2
    assert not (tmp_path / "train.jsonl").exists()


def test_a_killed_exports_staging_folder_is_removed_by_the_next_export(store, tmp_path):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f".export-{dead.pid}-abc123"
    left.mkdir()
    (left / "train.jsonl").write_text("x" * 1000)
    (left / STAGING_MARKER).write_text(f"{dead.pid}\n")
    export(store, ExportConfig(out=str(tmp_path / "ds")))
    assert not left.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export")] == []


def test_a_users_folder_named_like_a_staging_folder_is_never_removed(store, tmp_path):
    # Before, export deleted every `.export-*` folder beside --out whose name held no live pid.
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = [tmp_path / ".export-q1w2e3r4", tmp_path / f".export-{dead.pid}-notes"]
    for folder in mine:
        folder.mkdir()
        (folder / "keep.txt").write_text("my work")
    lying = tmp_path / f".export-{dead.pid}-abc"  # a marker naming another pid is not proof
    lying.mkdir()
    (lying / STAGING_MARKER).write_text("1\n")
    export(store, ExportConfig(out=str(tmp_path / "ds")))
    assert all((folder / "keep.txt").read_text() == "my work" for folder in mine) and lying.exists()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_reads_the_traces_a_batch_at_a_time_and_writes_the_same_files(store, tmp_path, monkeypatch, fmt):
    """Reading every selected trace at once held them several times over: 8.3 GB at 1,000,000 samples."""
    import curate.export as export_module
    from db.store import Store

    whole = export(store, ExportConfig(out=str(tmp_path / "whole"), format=fmt, val_fraction=0.2))
    most = []
    original = Store.query

    def query(self, sql, params=None):
        frame = original(self, sql, params)
        if sql == export_module.TEXT_SQL:
            most.append(frame.height)
            assert (
                self.scalar("SELECT current_setting('memory_limit')") == "953.6 MiB"
            )  # DuckDB caches what it reads up to 80% of RAM
        return frame

    monkeypatch.setattr(Store, "query", query)
    monkeypatch.setattr(export_module, "TEXT_BATCH", 3)
    batched = export(store, ExportConfig(out=str(tmp_path / "batched"), format=fmt, val_fraction=0.2))
    assert max(most) == 3 and sum(most) == whole.n_train + whole.n_val == 40
    for split in ("train", "val"):
        name = f"{split}.{fmt}"
        frames = [
            pl.read_ndjson(d / name) if fmt == "jsonl" else pl.read_parquet(d / name) for d in (whole.out, batched.out)
        ]
        assert frames[0].equals(frames[1]) and frames[0].height > 0
        if fmt == "jsonl":
            assert whole.files[name] == batched.files[name]  # byte for byte


def test_overwrite_replaces_only_the_files_this_export_writes(store, tmp_path):
    # Before, --overwrite deleted train/val files of any format, an earlier Parquet export's included.
    out = tmp_path / "project"
    export(store, ExportConfig(out=str(out), format="parquet"))
    (out / "notes.txt").write_text("mine\n")
    (out / "train.jsonl").write_text('{"mine": 1}\n')
    assert main_exit(["export", "--out", str(out), "--db", str(store.path), "--overwrite"], store) == 0
    assert (out / "notes.txt").read_text() == "mine\n"
    assert (out / "train.parquet").exists() and (out / "val.parquet").exists()  # not written now: kept
    assert '"mine"' not in (out / "train.jsonl").read_text()  # written now: replaced, as asked
    manifest = json.loads((out / ".curate-export.json").read_text())
    assert "train.jsonl" in manifest["files"] and "train.parquet" in manifest["files"]
    assert "notes.txt" not in manifest["files"]


def main_exit(argv: list[str], store) -> int:
    """The CLI as typed, with the fixture's store closed meanwhile (one writer at a time)."""
    store.close()
    try:
        main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def test_an_export_onto_a_full_disk_exits_1_saying_so_and_leaves_no_staging(store, small_disk, capsys):
    # issue 26 item 11: the other writers follow the same rule as import-samples.
    store.close()
    filler = small_disk / "filler"
    with filler.open("wb") as handle:  # leave the export about 4 KiB
        free = shutil.disk_usage(small_disk).free
        handle.write(b"\0" * (free - 4096))
    out = small_disk / "sft"
    with pytest.raises(SystemExit) as stop:
        main(["export", "--out", str(out), "--db", str(store.path)])
    assert stop.value.code == 1
    message = " ".join(capsys.readouterr().err.split())
    assert f"the disk is full while writing {small_disk}" in message, message
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
