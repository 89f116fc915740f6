"""Reading exports, rendering through the chat template, the assistant-only label mask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from db import BadInput
from tests.train.conftest import STRIPS_THINKING, make_tokenizer, trace, write_export
from train.data import read_export, render, render_all
from train.loss import IGNORE_INDEX


def labelled_text(tokenizer, example) -> str:
    return tokenizer.decode([t for t, label in zip(example.input_ids, example.labels) if label != IGNORE_INDEX])


def test_r1_trace_trains_on_think_block_answer_and_end_of_turn_only(tokenizer):
    messages = trace(2, 3)
    example = render(tokenizer, messages)
    assert labelled_text(tokenizer, example) == messages[1]["content"] + "<|im_end|>"
    assert example.labels[-1] == IGNORE_INDEX  # the newline after <|im_end|> is not trained
    last = max(i for i, label in enumerate(example.labels) if label != IGNORE_INDEX)
    assert example.labels[last] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert "what is 2 add 3" not in labelled_text(tokenizer, example)


def test_every_assistant_turn_of_a_dialogue_is_trained():
    tokenizer = make_tokenizer()
    messages = [
        {"role": "system", "content": "add numbers"},
        *trace(1, 1),
        {"role": "user", "content": "and 2 add 2"},
        {"role": "assistant", "content": "<think>\nsum\n</think>\n\n\\boxed{4}"},
    ]
    text = labelled_text(tokenizer, render(tokenizer, messages))
    assert text == messages[2]["content"] + "<|im_end|>" + messages[4]["content"] + "<|im_end|>"


def test_pad_token_equal_to_eos_keeps_the_eos_label():
    tokenizer = make_tokenizer()
    tokenizer.pad_token = tokenizer.eos_token  # Qwen2.5 base ships pad == eos
    example = render(tokenizer, trace(4, 4))
    eos = tokenizer.eos_token_id
    assert eos in [label for label in example.labels if label != IGNORE_INDEX]


def test_template_that_strips_thinking_from_history_is_refused():
    tokenizer = make_tokenizer(STRIPS_THINKING)
    messages = [*trace(1, 2), {"role": "user", "content": "again"}, *trace(1, 2)[1:]]
    with pytest.raises(BadInput, match="think"):
        render(tokenizer, messages)


def test_overlong_examples_are_counted_and_dropped_or_truncated(tokenizer):
    conversations = [trace(1, 1, filler=1), trace(2, 2, filler=40), trace(3, 3, filler=1)]
    lengths = [len(render(tokenizer, c)) for c in conversations]
    limit = lengths[0] + 5
    dropped = render_all(tokenizer, conversations, limit, "drop")
    assert (dropped.overlong, dropped.dropped, dropped.truncated, len(dropped.examples)) == (1, 1, 0, 2)
    assert dropped.longest == lengths[1]
    cut = render_all(tokenizer, conversations, limit, "truncate")
    assert (cut.overlong, cut.dropped, cut.truncated, len(cut.examples)) == (1, 0, 1, 3)
    assert max(len(e) for e in cut.examples) == limit


def test_export_file_with_split_column_and_folder_of_splits_read_alike(tmp_path: Path):
    file = write_export(tmp_path / "export.jsonl", n_train=5, n_val=2)
    folder = tmp_path / "export"
    folder.mkdir()
    rows = [json.loads(line) for line in file.read_text().splitlines()]
    for split in ("train", "val"):
        (folder / f"{split}.jsonl").write_text(
            "".join(json.dumps({"messages": r["messages"]}) + "\n" for r in rows if r["split"] == split)
        )
    assert read_export(file) == read_export(folder)
    assert [len(v) for v in read_export(file).values()] == [5, 2]


def test_parquet_export_with_messages_as_json_strings(tmp_path: Path):
    import polars as pl

    path = tmp_path / "export.parquet"
    pl.DataFrame({"messages": [json.dumps(trace(1, 2))], "split": ["val"]}).write_parquet(path)
    assert read_export(path)["val"] == [trace(1, 2)]


def test_row_without_assistant_turn_names_file_line_and_field(tmp_path: Path):
    path = tmp_path / "export.jsonl"
    path.write_text(
        json.dumps({"messages": trace(1, 1), "split": "train"})
        + "\n"
        + json.dumps({"messages": trace(1, 1)[:1], "split": "train"})
        + "\n"
    )
    with pytest.raises(BadInput) as caught:
        read_export(path)
    assert caught.value.line == 2 and caught.value.field == "messages"
