"""Problem dedup and decontamination against evaluation sets.

Dedup (`curate dedup [--fuzzy 95]`): among training candidates (problems whose split is not
`test`), exact duplicates share a `question_hash` (the normalised question) and
near-duplicates have a rapidfuzz `ratio` of at least `--fuzzy` on the normalised text. Each
group keeps one problem (gold answer first, then most samples, then smallest id); the others go
to `problem_duplicates` (rewritten in full), which `curate select` and `curate export` skip.
Below 5,000 distinct questions every pair of compatible lengths is compared. From 5,000 on
(all pairs would take hours at 125,000), MinHash LSH over character 3-grams proposes the pairs
rapidfuzz checks: no pair below `--fuzzy` is ever marked, but a pair whose 3-gram sets differ
more than their ratio suggests can be missed. Measured recall against all pairs
(docs/BENCHMARKS.md, Dedup): 100% at --fuzzy 80, 90 and 95 on public questions with seeded near
copies and on the scale store; at 70, 96.4% and 99.7%; at 60, 73% and 93% (a ratio of 60 admits
questions that merely share their wording, and those share few 3-grams). Questions under 50
characters are always compared exactly.

Decontamination (`curate decontam --against FILE... [--against-split test] [--ngram 8]
[--min-share 0.2] [--fuzzy 95]`): every training candidate is compared with every item of each
benchmark: a file `curate.sources` reads (JSONL, JSON, CSV, Parquet) whose rows carry the
question in one of its `QUESTION_FIELDS` (`problem`, `question`, `prompt`, ...: the shapes of
tests/data/public) or MBPP's `text`, or the store's own problems of a split. A code or SQL
problem is compared by the question its source asked (`curate.sources.SOURCE_QUESTION_SQL`:
HumanEval's `prompt`, MBPP's `text`, Spider's `question`, kept in `meta`), not the stored
question with its instructions and schema, so HumanEval, MBPP and Spider files serve as
benchmarks as shipped. Methods:
- exact: equal after normalisation (lowercase, whitespace collapsed, the standard
  "Please reason step by step..." instruction removed);
- ngram: the share of the problem's word n-grams (words = runs of letters and digits, so LaTeX
  markup differences do not hide a match) found in one benchmark item is at least
  `min_share`. Any single shared 8-gram (open-r1's rule) also fires on boilerplate such as
  "express your answer as a common fraction" and on Asymptote figure code, so a share is used;
- fuzzy: rapidfuzz `ratio` of the normalised texts at least `--fuzzy` (OpenThoughts used 95).
An exact match is recorded once, as exact. Rows go to `contamination` (the benchmark's earlier
rows are replaced); a rich table on stdout lists every match. `curate export` leaves out every
problem with a contamination row unless `--include-contaminated`.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process
from rich.table import Table

from curate.sources import (
    ID_FIELDS,
    QUESTION_FIELDS,
    SOURCE_QUESTION_SQL,
    check_readable,
    id_text,
    normalise_question,
    read_records,
)
from db.errors import BadInput
from db.store import Store

_INSTRUCTION = re.compile(
    r"please reason step by step,? and put your final answer within \\boxed\{\}\.?", re.IGNORECASE
)
_WORD = re.compile(r"\w+")
CANDIDATES_SQL = (
    f"SELECT problem_id, {SOURCE_QUESTION_SQL} AS question, question_hash FROM problems "
    "WHERE coalesce(split, '') <> 'test'"
)
# A benchmark row's question: the common fields, then MBPP's task `text`.
BENCHMARK_FIELDS = (*QUESTION_FIELDS, "text")


def normalise(text: str) -> str:
    """Lowercase, instruction removed, whitespace collapsed: the text fuzzy and exact compare."""
    return normalise_question(_INSTRUCTION.sub(" ", text))


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The set of word n-grams of the normalised text (words are runs of letters and digits)."""
    words = _WORD.findall(normalise(text))
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True)
class Benchmark:
    """Items of one benchmark: its name (file or split), item ids and question texts."""

    name: str
    ids: list[str]
    questions: list[str]


def read_benchmark(path: str | Path) -> Benchmark:
    """Items of a benchmark file (JSONL, JSON, CSV or Parquet, read by `curate.sources`); the name is `parent/file`."""
    path = Path(path)
    if not path.is_file():
        raise BadInput("no such benchmark file", file=str(path), field="--against")
    ids, questions = [], []
    for number, row in read_records(path, check_readable(path, "auto")):
        question = next((row[f] for f in BENCHMARK_FIELDS if isinstance(row.get(f), str) and row[f].strip()), None)
        if question is None:
            raise BadInput(
                f"no question text; expected one of {', '.join(BENCHMARK_FIELDS)}",
                file=str(path),
                line=number,
                field="problem",
            )
        item_id = id_text(next((row[f] for f in ID_FIELDS if row.get(f) is not None), None))
        ids.append(item_id if item_id is not None else f"line {number}")
        questions.append(question)
    if not questions:
        raise BadInput("the benchmark file has no rows", file=str(path))
    return Benchmark(f"{path.parent.name}/{path.name}" if path.parent.name else path.name, ids, questions)


def store_benchmark(store: Store, split: str) -> Benchmark:
    """The store's own problems of `split` as a benchmark; BadInput when the split is empty."""
    frame = store.query(
        f"SELECT problem_id, {SOURCE_QUESTION_SQL} AS question FROM problems WHERE split = ? ORDER BY problem_id",
        [split],
    )
    if frame.height == 0:
        raise BadInput(f"the store has no problems in split {split!r}", field="--against-split")
    return Benchmark(f"split:{split}", frame["problem_id"].to_list(), frame["question"].to_list())


# ---- matching -------------------------------------------------------------------------------------


def find_matches(
    problems: pl.DataFrame, benchmark: Benchmark, n: int = 8, min_share: float = 0.2, fuzzy: float = 95.0
) -> pl.DataFrame:
    """Contamination rows (problem_id, benchmark, matched_item, matched_text, method, overlap)."""
    rows: list[dict] = []
    if problems.height == 0:
        return _rows_frame(rows)
    ids = problems["problem_id"].to_list()
    texts = [normalise(q) for q in problems["question"].to_list()]
    bench_texts = [normalise(q) for q in benchmark.questions]
    exact_of = defaultdict(list)
    for j, text in enumerate(bench_texts):
        exact_of[text].append(j)
    exact: set[tuple[int, int]] = set()
    for i, text in enumerate(texts):
        for j in exact_of.get(text, ()):
            exact.add((i, j))
            rows.append(_row(ids[i], benchmark, j, "exact", 1.0))
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for j, question in enumerate(benchmark.questions):
        for gram in ngrams(question, n):
            index[gram].append(j)
    for i, question in enumerate(problems["question"].to_list()):
        grams = ngrams(question, n)
        if not grams:
            continue
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for j in index.get(gram, ()):
                shared[j] += 1
        for j, count in shared.items():
            share = count / len(grams)
            if share >= min_share and (i, j) not in exact:
                rows.append(_row(ids[i], benchmark, j, "ngram", share))
    for start in range(0, len(texts), 1000):
        scores = process.cdist(
            texts[start : start + 1000], bench_texts, scorer=fuzz.ratio, score_cutoff=fuzzy, workers=2, dtype=np.float32
        )
        for i, j in zip(*np.nonzero(scores)):
            if (start + i, j) not in exact:
                rows.append(_row(ids[start + i], benchmark, int(j), "fuzzy", float(scores[i, j]) / 100.0))
    return _rows_frame(rows)


def _row(problem_id: str, benchmark: Benchmark, j: int, method: str, overlap: float) -> dict:
    return {
        "problem_id": problem_id,
        "benchmark": benchmark.name,
        "matched_item": benchmark.ids[j],
        "matched_text": benchmark.questions[j][:500],
        "method": method,
        "overlap": round(overlap, 4),
    }


def _rows_frame(rows: list[dict]) -> pl.DataFrame:
    schema = {
        "problem_id": pl.String,
        "benchmark": pl.String,
        "matched_item": pl.String,
        "matched_text": pl.String,
        "method": pl.String,
        "overlap": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).unique(["problem_id", "benchmark", "matched_item", "method"], keep="first")


@dataclass(frozen=True)
class DecontamConfig:
    """`curate decontam` options: benchmark files, a store split, and the match thresholds."""

    against: tuple[str | Path, ...] = ()
    against_split: str | None = None
    ngram: int = 8  # words per n-gram
    min_share: float = 0.2  # share of a problem's n-grams found in one item to match
    fuzzy: float = 95.0  # rapidfuzz ratio (0-100) that counts as a match


@dataclass
class DecontamResult:
    """What `curate decontam` prints (see `report_table`)."""

    run_id: str
    checked: int
    matches: pl.DataFrame
    contaminated: int


def run(store: Store, config: DecontamConfig) -> DecontamResult:
    """Match every training candidate against each benchmark; replace their contamination rows."""
    against, against_split = config.against, config.against_split
    n, min_share, fuzzy = config.ngram, config.min_share, config.fuzzy
    if n < 1:
        raise BadInput("--ngram must be at least 1", field="--ngram")
    if not 0 < fuzzy <= 100:
        raise BadInput("--fuzzy must lie in (0, 100]", field="--fuzzy")
    if not 0 < min_share <= 1:
        raise BadInput("--min-share must lie in (0, 1]", field="--min-share")
    benchmarks = [read_benchmark(path) for path in against]
    if against_split is not None:
        benchmarks.append(store_benchmark(store, against_split))
    if not benchmarks:
        raise BadInput("give --against FILE (one or more) or --against-split SPLIT", field="--against")
    problems = store.query(CANDIDATES_SQL + " ORDER BY problem_id")
    stored = {"against": [b.name for b in benchmarks], "ngram": n, "min_share": min_share, "fuzzy": fuzzy}
    with store.run("decontam", stored) as record:
        run_id = record.run_id
        found = pl.concat([find_matches(problems, b, n, min_share, fuzzy) for b in benchmarks])
        found = found.with_columns(run_id=pl.lit(run_id))
        with store.transaction():
            for benchmark in benchmarks:
                store.execute("DELETE FROM contamination WHERE benchmark = ?", [benchmark.name])
            store.insert_frame("contamination", found)
            contaminated = found["problem_id"].n_unique() if found.height else 0
        record.counts = {"checked": problems.height, "matches": found.height, "contaminated": contaminated}
    return DecontamResult(run_id, problems.height, found.drop("run_id"), contaminated)


def report_table(result: DecontamResult, store: Store, width: int = 80) -> Table:
    """The match report: one line per (problem, benchmark item, method); the question too when `width` allows."""
    questions = store.query("SELECT problem_id, question FROM problems")
    shown = result.matches.join(questions, on="problem_id", how="left").sort("problem_id", "benchmark", "method")
    table = Table(
        title=f"{result.contaminated} of {result.checked} problems match a benchmark item", header_style="bold"
    )
    for name in ("problem", "benchmark", "item", "method", "overlap"):
        table.add_column(name, overflow="fold")
    with_question = width >= 120
    if with_question:
        table.add_column("question", overflow="ellipsis", no_wrap=True, max_width=width // 3)
    for row in shown.iter_rows(named=True):
        cells = [row["problem_id"], row["benchmark"], row["matched_item"], row["method"], f"{row['overlap']:.2f}"]
        table.add_row(*cells, *([_clip(row["question"])] if with_question else []))
    return table


def _clip(text: str | None, width: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


# ---- dedup --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupConfig:
    """`curate dedup` options."""

    fuzzy: float = 95.0  # rapidfuzz ratio (0-100) at which two questions are duplicates


@dataclass
class DedupResult:
    """What `curate dedup` prints: the duplicates found."""

    run_id: str
    checked: int
    duplicates: pl.DataFrame


# Below this many distinct texts every length-compatible pair is compared (seconds); above, MinHash LSH.
EXACT_BELOW = 5000
# Texts shorter than this (characters) have too few shingles for MinHash to be reliable: compared exactly.
SHORT_TEXT = 50
SHINGLE = 3  # characters per MinHash shingle: character edits change few of them, unlike word shingles
# A band of 4 MinHashes matches with probability J**4: unrelated questions (3-gram Jaccard 0.03 to
# 0.2) rarely do, and 32 bands catch a pair of Jaccard 0.6 with probability 0.99. 3 rows would catch
# lower-ratio pairs but made --fuzzy 70 take over 10 minutes at 125,000 questions.
BANDS, ROWS = 32, 4
MINHASH_SEED = 17  # fixed, so a rerun finds the same pairs


def near_pairs(
    texts: list[str], fuzzy: float, block: int = 1000, exact_below: int = EXACT_BELOW
) -> list[tuple[int, int]]:
    """Index pairs (a, b) with fuzz.ratio(texts[a], texts[b]) >= fuzzy: never a pair below it.

    Fewer than `exact_below` texts: every pair is found (`window_pairs`). More: texts shorter than
    SHORT_TEXT are still compared exactly with every text of a compatible length, and the others
    only with the candidates of `minhash_candidates`, so a pair whose character 3-gram Jaccard is
    low can be missed (measured recall: the module docstring).
    """
    if len(texts) < exact_below:
        return window_pairs(texts, fuzzy, len(texts), block)
    lengths = np.array([len(text) for text in texts], dtype=np.int64)
    short = int(np.count_nonzero(lengths < SHORT_TEXT))
    found = window_pairs(texts, fuzzy, short, block) if short else []
    long = np.flatnonzero(lengths >= SHORT_TEXT)
    kept = [texts[i] for i in long]
    a, b = minhash_candidates(minhash_signatures(kept, BANDS * ROWS), BANDS, ROWS)
    a, b = long[a], long[b]
    fits = 200.0 * np.minimum(lengths[a], lengths[b]) >= (fuzzy - 1e-6) * (lengths[a] + lengths[b])
    a, b = a[fits], b[fits]
    for start in range(0, len(a), 1_000_000):
        part_a, part_b = a[start : start + 1_000_000], b[start : start + 1_000_000]
        scores = process.cpdist(
            [texts[i] for i in part_a],
            [texts[i] for i in part_b],
            scorer=fuzz.ratio,
            score_cutoff=fuzzy,
            workers=2,
            dtype=np.float32,
        )
        hits = np.flatnonzero(scores)
        found.extend(zip(part_a[hits].tolist(), part_b[hits].tolist()))
    return found


def window_pairs(texts: list[str], fuzzy: float, first: int, block: int = 1000) -> list[tuple[int, int]]:
    """Pairs (a != b) with ratio >= fuzzy between the `first` shortest texts and any text, all found.

    fuzz.ratio(a, b) <= 200 * len(a) / (len(a) + len(b)) for len(a) <= len(b), so a text is only
    compared with texts at most (200 / fuzzy - 1) times its length: sorted by length, each block
    meets a window of its neighbours, not all N texts.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    lengths = [len(texts[i]) for i in order]
    stretch = 200.0 / fuzzy - 1.0
    found = []
    for start in range(0, first, block):
        stop = min(start + block, first)
        reach = bisect.bisect_right(lengths, lengths[stop - 1] * stretch + 1, lo=start)
        scores = process.cdist(
            [texts[i] for i in order[start:stop]],
            [texts[i] for i in order[start:reach]],
            scorer=fuzz.ratio,
            score_cutoff=fuzzy,
            workers=2,
            dtype=np.float32,
        )
        found.extend((order[start + a], order[start + b]) for a, b in zip(*np.nonzero(scores)) if a != b)
    return found


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the whole 64-bit word (uint64 wraps)."""
    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def minhash_signatures(texts: list[str], hashes: int, chunk_chars: int = 4_000_000) -> np.ndarray:
    """(hashes, len(texts)) uint32: per text the minimum of each hash over its character 3-grams.

    Every text must have at least SHINGLE characters. A 3-gram's codepoints are hashed to 64 bits,
    then hash k is multiply-shift ((a_k x + c_k) mod 2**64) >> 32. Texts go in chunks of about
    `chunk_chars` characters (about 40 bytes of work arrays each), so memory does not grow with N.
    """
    rng = np.random.default_rng(MINHASH_SEED)
    mult = rng.integers(1, 2**63, size=hashes, dtype=np.uint64) | np.uint64(1)
    add = rng.integers(0, 2**63, size=hashes, dtype=np.uint64)
    signatures = np.empty((hashes, len(texts)), dtype=np.uint32)
    start = 0
    with np.errstate(over="ignore"):
        while start < len(texts):
            stop, chars = start, 0
            while stop < len(texts) and (chars < chunk_chars or stop == start):
                chars += len(texts[stop])
                stop += 1
            part = texts[start:stop]
            codes = np.frombuffer("".join(part).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
            lengths = np.array([len(text) for text in part], dtype=np.int64)
            counts = lengths - SHINGLE + 1  # shingles per text
            grams = len(codes) - SHINGLE + 1
            gram = np.zeros(grams, dtype=np.uint64)
            for j in range(SHINGLE):
                gram = gram * np.uint64(0x100000001B3) + codes[j : j + grams]
            firsts = np.cumsum(counts) - counts  # each text's first shingle in the kept array
            inside = np.arange(counts.sum()) + np.repeat(np.cumsum(lengths) - lengths - firsts, counts)
            x = _mix(gram[inside])
            value = np.empty_like(x)
            for k in range(hashes):
                np.multiply(x, mult[k], out=value)
                value += add[k]
                value >>= np.uint64(32)
                signatures[k, start:stop] = np.minimum.reduceat(value, firsts)
            start = stop
    return signatures


def minhash_candidates(signatures: np.ndarray, bands: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (a < b) whose signatures agree on every row of at least one band, each once."""
    n = signatures.shape[1]
    found = [np.zeros(0, dtype=np.int64)]
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.zeros(n, dtype=np.uint64)
            for row in signatures[band * rows : (band + 1) * rows]:
                key = _mix(key * np.uint64(0x100000001B3) + row.astype(np.uint64))
            order = np.argsort(key, kind="stable")
            ordered = key[order]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            sizes = np.diff(np.r_[starts, n])
            shared = np.repeat(sizes >= 2, sizes)  # only texts that share their bucket
            members, keys = order[shared], ordered[shared]
            step = 1  # texts step apart in one bucket, for every step below the bucket's size
            while True:
                same = np.flatnonzero(keys[step:] == keys[:-step])
                if same.size == 0:
                    break
                a, b = members[same], members[same + step]
                found.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
                step += 1
    codes = np.sort(np.concatenate(found))  # a pair of near copies shares many bands: keep it once
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    codes = codes[first]
    return codes // n, codes % n


def run_dedup(store: Store, config: DedupConfig) -> DedupResult:
    """Mark exact and near-duplicate training candidates; rewrites `problem_duplicates`."""
    fuzzy = config.fuzzy
    if not 0 < fuzzy <= 100:
        raise BadInput("--fuzzy must lie in (0, 100]", field="--fuzzy")
    problems = store.query(
        """
        SELECT p.problem_id, p.question, p.question_hash, p.gold_answer IS NOT NULL AS has_gold,
               count(s.sample_id) AS n_samples
        FROM problems p LEFT JOIN samples s ON s.problem_id = p.problem_id
        WHERE coalesce(p.split, '') <> 'test'
        GROUP BY ALL
        ORDER BY has_gold DESC, n_samples DESC, p.problem_id
        """
    )
    with store.run("dedup", config) as record:
        run_id = record.run_id
        ids = problems["problem_id"].to_list()
        parent = list(range(len(ids)))  # rows are in keep-preference order: the smallest index is kept

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def join(i: int, j: int) -> None:
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)

        hashes = problems["question_hash"].to_list()
        texts = [normalise(q) for q in problems["question"].to_list()]
        first_of_hash: dict[str, int] = {}
        for i, key in enumerate(hashes):
            if key in first_of_hash:
                join(first_of_hash[key], i)
            else:
                first_of_hash[key] = i
        distinct = sorted(first_of_hash.values())
        for a, b in near_pairs([texts[i] for i in distinct], fuzzy):
            join(distinct[a], distinct[b])
        rows = []
        for i in range(len(ids)):
            kept = root(i)
            if kept == i:
                continue
            exact = hashes[i] == hashes[kept]
            rows.append(
                {
                    "problem_id": ids[i],
                    "duplicate_of": ids[kept],
                    "method": "exact" if exact else "fuzzy",
                    "similarity": 100.0 if exact else round(fuzz.ratio(texts[i], texts[kept]), 2),
                    "run_id": run_id,
                }
            )
        duplicates = pl.DataFrame(
            rows,
            schema={
                "problem_id": pl.String,
                "duplicate_of": pl.String,
                "method": pl.String,
                "similarity": pl.Float64,
                "run_id": pl.String,
            },
        )
        with store.transaction():
            store.execute("DELETE FROM problem_duplicates")
            store.insert_frame("problem_duplicates", duplicates)
        record.counts = {"checked": len(ids), "duplicates": duplicates.height}
    return DedupResult(run_id, len(ids), duplicates.drop("run_id"))
