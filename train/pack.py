"""Packing: whole examples into fixed-capacity rows, with no attention across examples.

Contract
- `pack_bfd(lengths, capacity)` groups whole examples into rows by best-fit-decreasing; an
  example longer than `capacity` gets a row of its own. Every example appears exactly once.
- `pack_rows(examples, capacity)` builds the row tensors (batch of one row): the examples back to
  back, per-document position_ids restarting at 0, labels with each document's first token
  ignored, and the document lengths. `block_causal_mask(doc_lens)` builds from those lengths the
  explicit (1, 1, L, L) mask, causal within each document and closed across documents, used with
  sdpa/eager attention; flex and flash attention read the document bounds off the position_ids.
- `real_token_share_packed` / `real_token_share_padded`: the figure of merit for packing (share
  of computed tokens that are real), used by bench/training.py.
- Tables touched: none. Imports nothing of the store, so bench/gpu_train.py can run it on a GPU
  machine that has only torch, transformers and peft.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Protocol, Sequence

import torch

from train.loss import IGNORE_INDEX


class Tokens(Protocol):
    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int: ...


def pack_bfd(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Best-fit-decreasing: indices of `lengths` grouped into rows of at most `capacity` tokens.

    Longest first, each into the open row with the least room that still fits it; a length over
    `capacity` gets a row of its own. Every index appears exactly once.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rows: list[list[int]] = []
    room: list[tuple[int, int]] = []  # (free tokens, row index), sorted
    for index in order:
        length = lengths[index]
        if length >= capacity:
            rows.append([index])
            continue
        slot = bisect.bisect_left(room, (length, -1))
        if slot < len(room):
            free, row = room.pop(slot)
            rows[row].append(index)
            free -= length
        else:
            rows.append([index])
            row, free = len(rows) - 1, capacity - length
        if free > 0:
            bisect.insort(room, (free, row))
    return rows


@dataclass(frozen=True)
class PackedRow:
    """One training row: whole examples back to back, each with positions restarting at 0."""

    input_ids: torch.Tensor  # (1, L) long
    labels: torch.Tensor  # (1, L) long, IGNORE_INDEX at prompts, document starts and padding
    position_ids: torch.Tensor  # (1, L) long
    doc_lens: tuple[int, ...]  # lengths of the documents in order (a padding tail counts as one)
    real_tokens: int  # tokens that belong to an example
    label_tokens: int  # positions that predict a labelled next token

    def __len__(self) -> int:
        return self.input_ids.shape[1]


def pack_rows(examples: Sequence[Tokens], capacity: int, pad_id: int = 0, pad_to_multiple: int = 1) -> list[PackedRow]:
    """Rows of whole examples (best-fit-decreasing), optionally padded to a multiple of tokens."""
    rows = []
    for group in pack_bfd([len(e) for e in examples], capacity):
        ids, labels, positions, docs = [], [], [], []
        for index in group:
            example = examples[index]
            ids += example.input_ids
            # A document's first token is never a target: it would be predicted from the previous document.
            labels += [IGNORE_INDEX] + example.labels[1:]
            positions += range(len(example))
            docs.append(len(example))
        real = len(ids)
        pad = (-real) % pad_to_multiple
        if pad:
            ids += [pad_id] * pad
            labels += [IGNORE_INDEX] * pad
            positions += range(pad)
            docs.append(pad)
        n_targets = sum(1 for label in labels[1:] if label != IGNORE_INDEX)
        rows.append(
            PackedRow(
                torch.tensor([ids]), torch.tensor([labels]), torch.tensor([positions]), tuple(docs), real, n_targets
            )
        )
    return rows


def block_causal_mask(doc_lens: Sequence[int], device: torch.device | str | None = None) -> torch.Tensor:
    """(1, 1, L, L) boolean mask, True where a query may attend: causal within its own document only."""
    doc = torch.repeat_interleave(
        torch.arange(len(doc_lens), device=device), torch.tensor(list(doc_lens), device=device)
    )
    same_doc = doc[:, None] == doc[None, :]
    causal = torch.ones(len(doc), len(doc), dtype=torch.bool, device=device).tril()
    return (same_doc & causal)[None, None]


def shuffled(rows: Sequence[PackedRow], seed: int) -> list[PackedRow]:
    """The rows in an order fixed by `seed` (one order per epoch)."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    return order


def real_token_share_packed(lengths: Sequence[int], capacity: int) -> float:
    """Share of computed tokens that are real when `lengths` are packed into fixed rows of `capacity`.

    Each row is computed at full `capacity` (static shapes), or at its own length when one example
    is longer than that.
    """
    rows = pack_bfd(lengths, capacity)
    computed = sum(max(capacity, sum(lengths[i] for i in row)) for row in rows)
    return sum(lengths) / computed


def real_token_share_padded(lengths: Sequence[int], batch: int) -> float:
    """Share of computed tokens that are real with batches of `batch`, each padded to its longest."""
    computed = sum(max(lengths[i : i + batch]) * len(lengths[i : i + batch]) for i in range(0, len(lengths), batch))
    return sum(lengths) / computed
