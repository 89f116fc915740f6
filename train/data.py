"""Training data: read an export, render it through the student's chat template, mask, pack.

Contract
- `read_export(path)` takes an export file (JSONL or parquet) with a `messages` column
  ([{role, content}, ...]) and a `split` column (train / val; rows without one count as train),
  or a directory holding train.jsonl and val.jsonl (or .parquet). Returns {"train": [...], "val": [...]}
  lists of message lists. Bad rows raise `BadInput` naming file, line and field.
- `render(tokenizer, messages)` renders a conversation with the tokenizer's chat template and
  labels the assistant turns only: every assistant token, the end-of-turn token included, keeps
  its id as label; everything else is IGNORE_INDEX. Labels are set by position, never by token id,
  so a pad token equal to EOS cannot mask the EOS label. A template that rewrites earlier turns or
  drops part of an assistant turn (e.g. strips the think block) raises `BadInput`.
- `render_all(..., seq_len, overlong)`: examples longer than `seq_len` tokens are counted and
  either dropped (`overlong="drop"`, the default) or cut to `seq_len` tokens (`"truncate"`,
  which loses the end-of-turn token of that example); never cut silently.
- Packing the rendered examples into rows is train/pack.py (kept free of store imports so the
  GPU benchmark runs where only torch, transformers and peft are installed).
- Tables touched: none. Used by train.sft.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from db.errors import BadInput
from train.loss import IGNORE_INDEX

SPLITS = ("train", "val")
ROLES = ("system", "user", "assistant")


# ---- reading an export ------------------------------------------------------------------------


def read_export(path: str | Path) -> dict[str, list[list[dict]]]:
    """{"train": conversations, "val": conversations} from an export file or directory."""
    path = Path(path)
    if not path.exists():
        raise BadInput("no such file or directory", file=str(path), field="--data")
    out: dict[str, list[list[dict]]] = {split: [] for split in SPLITS}
    if path.is_dir():
        found = False
        for split in SPLITS:
            for suffix in (".jsonl", ".parquet"):
                part = path / f"{split}{suffix}"
                if part.exists():
                    found = True
                    for line, row in _rows(part):
                        out[split].append(_messages(row, part, line))
        if not found:
            raise BadInput("directory holds neither train.jsonl nor train.parquet", file=str(path), field="--data")
        return out
    for line, row in _rows(path):
        split = row.get("split") or "train"
        if split not in SPLITS:
            continue  # e.g. a "test" split is not for training
        out[split].append(_messages(row, path, line))
    return out


def _rows(path: Path) -> Iterable[tuple[int, dict]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for index, row in enumerate(pq.read_table(path).to_pylist(), start=1):
            yield index, row
        return
    with path.open(encoding="utf-8") as handle:
        for index, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as error:
                raise BadInput(f"not JSON: {error.msg}", file=str(path), line=index) from None
            if not isinstance(row, dict):
                raise BadInput("each line must be a JSON object", file=str(path), line=index)
            yield index, row


def _messages(row: dict, path: Path, line: int) -> list[dict]:
    messages = row.get("messages")
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError:
            raise BadInput("not a JSON list of messages", file=str(path), line=line, field="messages") from None
    if not isinstance(messages, list) or not messages:
        raise BadInput("missing or empty list of messages", file=str(path), line=line, field="messages")
    clean = []
    for message in messages:
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str)
        ):
            raise BadInput(
                "each message needs a role (system/user/assistant) and a string content",
                file=str(path),
                line=line,
                field="messages",
            )
        clean.append({"role": message["role"], "content": message["content"]})
    if not any(m["role"] == "assistant" for m in clean):
        raise BadInput("no assistant turn to train on", file=str(path), line=line, field="messages")
    return clean


# ---- rendering and masking --------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One rendered conversation: token ids and labels of the same length (IGNORE_INDEX = no loss)."""

    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_labels(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


@dataclass(frozen=True)
class RenderReport:
    examples: list[Example]
    overlong: int  # examples longer than seq_len
    dropped: int  # of those, dropped
    truncated: int  # of those, cut to seq_len
    longest: int  # tokens of the longest example before any cut


def _template(tokenizer: Any, messages: list[dict], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def render(tokenizer: Any, messages: list[dict]) -> Example:
    """Tokens of the whole conversation with labels on the assistant turns (end-of-turn included)."""
    full = _template(tokenizer, messages, False)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = _template(tokenizer, messages[:index], True) if index else ""
        through = _template(tokenizer, messages[: index + 1], False)
        if not (full.startswith(through) and through.startswith(before)):
            raise BadInput(
                "the chat template renders earlier turns differently once later turns follow "
                "(it rewrites history, e.g. strips thinking), so assistant tokens cannot be located",
                field="messages",
            )
        turn = through[len(before) :]
        if message["content"].strip() not in turn:
            raise BadInput(
                "the chat template drops part of the assistant turn (is the <think> block stripped?); "
                "use a template that keeps it",
                field="messages",
            )
        # The turn ends at its end-of-turn token: trailing newlines after it are not trained.
        spans.append((len(before), len(turn.rstrip()) + len(before)))
    encoded = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = [IGNORE_INDEX] * len(ids)
    for position, (start, end) in enumerate(encoded["offset_mapping"]):
        if end > start and any(lo <= start < hi for lo, hi in spans):
            labels[position] = ids[position]
    return Example(ids, labels)


def render_all(
    tokenizer: Any, conversations: Sequence[list[dict]], seq_len: int, overlong: Literal["drop", "truncate"] = "drop"
) -> RenderReport:
    """Render every conversation; count and handle the ones longer than `seq_len` tokens."""
    if overlong not in ("drop", "truncate"):
        raise BadInput(f"unknown rule {overlong!r}; use drop or truncate", field="--overlong")
    kept, n_over, dropped, truncated, longest = [], 0, 0, 0, 0
    for index, messages in enumerate(conversations):
        try:
            example = render(tokenizer, messages)
        except BadInput as error:
            raise BadInput(error.detail, line=index + 1, field="messages") from None
        longest = max(longest, len(example))
        if len(example) > seq_len:
            n_over += 1
            cut = Example(example.input_ids[:seq_len], example.labels[:seq_len])
            if overlong == "drop" or cut.n_labels == 0:
                dropped += 1
                continue
            truncated += 1
            example = cut
        if example.n_labels:
            kept.append(example)
    return RenderReport(kept, n_over, dropped, truncated, longest)
