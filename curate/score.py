"""Score every sample and every problem: the numbers `curate select` filters and ranks on.

Inputs: `samples` (reasoning, content, status, content_hash), `verdict_current` (answer,
verdict), `verdict_pending`, `problems` (gold_answer), `problem_content`. Outputs: `scores` (one
row per sample) and `problem_scores` (one row per problem with samples), both rewritten in full
by each run, in one transaction; a `runs` row of kind "score". Command:
`curate score [--tokenizer PATH_OR_NAME]`.

Per sample, computed on the assistant turn (reasoning + final content) with Polars string
kernels over batches of rows, never a Python loop over texts:
- length_words (whitespace-separated words) and length_tokens (the student's tokenizer when
  given, else Qwen's BPE; `tokenizer` names which);
- think_closed: False when the reasoning has no final content after it (cut off mid-thought) or
  the content opens a `<think>` it never closes;
- boxed_count: distinct `\\boxed{}`/`\\fbox{}` answers in the final content (whitespace ignored);
- repetition_ratio: share of word n-grams (n=10 by default) that repeat an earlier n-gram of the
  same sample: about 0 for ordinary reasoning, high for a sample stuck in a loop;
- language_mix_ratio: share of CJK letters (Han, kana, Hangul) among all letters.

Per problem, the samples' answers (the verdict's extracted answer, else `extract_answer` on the
final content) are grouped into equivalence clusters (for a code or SQL problem, whose answers
are programs judged by running them, by their text alone, whitespace aside, never by SymPy;
such a problem counts as one with a gold, its tests or gold query, and a sample is correct only
by its verdict): answers with the same fast
`canonical_key` are one cluster at once; then the verifier's `equivalent` is called only
between cluster representatives of which at least one has no canonical key (two different
canonical keys are taken as different values, which is what a canonical key means). Clusters
are numbered 1.. by size, ties by the earliest sample. `agreement` is the share of all the
problem's samples (truncated and unanswered ones count) in the sample's cluster; cluster 1 is
the majority. `correct` is the verifier's verdict when the sample has one, else whether its
cluster's answer equals the gold; a problem without gold takes the majority answer as a
pseudo-label (`pseudo_label`), its majority samples count as correct and its difficulty is
1 - agreement instead of 1 - pass rate.

Content hashes (db/migrations/018): each `scores` row stores the `samples.content_hash` it
was computed from, each `problem_scores` row the problem's `problem_content.content_hash` (its
samples and their hashes), so a regenerated or added sample, or a changed gold or question,
makes the problem's scores pending (view `score_state`) until `curate score` runs again;
`curate select` and `curate export` read only current ones. A sample whose verdicts all belong
to earlier content (view `verdict_pending`) is scored as unverified and counted
(`verdicts_pending` in the run's counts, and a line on stderr naming `curate verify`).

Caveat: scores are a full recomputation; run `curate score` again after new samples or
verdicts arrive.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import Callable

import polars as pl

from curate.tokens import TokenCounter, segment_sums, token_counter
from curate.traces import BOXED_PATTERN
from curate.verify.domains import VOTING_DOMAINS
from db.console import stderr
from db.store import Store

BOXED = BOXED_PATTERN  # the rule of curate/traces.py, as a Polars regex
CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"

SAMPLES_SQL = """
SELECT s.sample_id, s.problem_id, s.sample_index, s.reasoning, s.content, s.content_hash,
       v.answer AS verdict_answer, v.verdict
FROM samples s
LEFT JOIN verdict_current v ON v.sample_id = s.sample_id
"""  # no ORDER BY: sorting would make DuckDB hold every trace at once; the small metrics frame is sorted instead


@dataclass(frozen=True)
class ScoreConfig:
    """`curate score` options (flag --timeout is `equivalence_timeout`)."""

    tokenizer: str | None = None  # HF tokenizer dir, .gguf file or hub name; None: Qwen BPE
    ngram: int = 10  # words per n-gram for repetition_ratio
    batch_size: int = 2000  # samples per Polars batch (bounds memory)
    equivalence_timeout: float = 5.0  # seconds per `equivalent` call
    threads: int = 2  # tokenizer threads


@dataclass
class ScoreResult:
    """Counts of the scored samples and problems; the CLI prints `summary_frame` beside them."""

    run_id: str
    n_samples: int
    n_problems: int
    tokenizer: str
    n_equivalence_calls: int = 0
    counts: dict = field(default_factory=dict)


# ---- per-sample text metrics (vectorised) ------------------------------------------------------


def text_metrics(batch: pl.DataFrame, counter: TokenCounter, ngram: int = 10) -> pl.DataFrame:
    """Per-sample metrics of a frame with sample_id, reasoning, content (one row per sample out)."""
    reasoning, content = pl.col("reasoning"), pl.col("content")
    frame = batch.select(
        "sample_id",
        text=pl.concat_str([reasoning, content], separator="\n\n", ignore_nulls=True).fill_null(""),
        think_closed=~(reasoning.is_not_null() & content.is_null())
        & ~(
            content.str.contains("<think>", literal=True).fill_null(False)
            & ~content.str.contains("</think>", literal=True).fill_null(False)
        ),
        boxed_count=content.str.extract_all(BOXED)
        .list.eval(pl.element().str.replace_all(r"\s+", ""))
        .list.unique()
        .list.len()
        .fill_null(0)
        .cast(pl.Int32),
    )

    def measures(segments: pl.Series) -> pl.DataFrame:
        out = pl.DataFrame({"segment": segments}).select(
            letters=pl.col("segment").str.replace_all(r"\P{L}+", "").str.len_chars().cast(pl.Int64),
            cjk=pl.col("segment").str.count_matches(CJK).cast(pl.Int64),
        )
        if counter.count_segments is not None:
            out = out.with_columns(length_tokens=pl.Series(counter.count_segments(segments.to_list()), dtype=pl.Int64))
        return out

    # Letters, CJK letters and (for the Qwen BPE) tokens add up over segments: each distinct
    # segment is measured once per batch instead of every text being scanned three times.
    sums = segment_sums(frame["text"], measures)
    if counter.count_segments is None:
        sums = sums.with_columns(length_tokens=pl.Series(counter.count(frame["text"].to_list())))
    frame = pl.concat([frame, sums], how="horizontal").with_row_index("row")
    words = word_stats(frame.select("row", "text"), ngram)
    return (
        frame.join(words, on="row", how="left")
        .with_columns(pl.col("length_tokens").cast(pl.Int32))
        .select(
            "sample_id",
            "length_tokens",
            pl.col("length_words").fill_null(0).cast(pl.Int32),
            "think_closed",
            "boxed_count",
            pl.col("repetition_ratio").fill_null(0.0),
            language_mix_ratio=pl.when(pl.col("letters") > 0).then(pl.col("cjk") / pl.col("letters")).otherwise(0.0),
        )
    )


def word_stats(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """length_words and repetition_ratio per row of a (row, text) frame.

    Words are exploded into one long column; an n-gram's hash is built by combining the hashes
    of 2^i-word spans (log n shifted passes instead of n), and n-grams that would cross into
    the next row are dropped before counting distinct ones per row. The combination is a
    polynomial hash (sum of word hashes times powers of an odd 64-bit constant, wrapping), two
    integer operations per pass where hashing a struct of the two halves took 8x the CPU.
    """
    words = (
        frame.select(
            "row",
            word=pl.col("text")
            .str.replace_all("\n", " ", literal=True)
            .str.replace_all("\t", " ", literal=True)
            .str.split(" "),
        )
        .explode("word")
        .filter(pl.col("word") != "")
        .select("row", h=pl.col("word").hash())
    )
    lengths = words.group_by("row").agg(length_words=pl.len())
    spans = {1: "h"}
    size = 1
    while size * 2 <= n:
        words = words.with_columns(
            _combine(pl.col(spans[size]), pl.col(spans[size]).shift(-size), size).alias(f"s{size * 2}")
        )
        size *= 2
        spans[size] = f"s{size}"
    gram, offset = None, 0
    for span in sorted(spans, reverse=True):
        if n - offset >= span:
            piece = pl.col(spans[span]).shift(-offset)
            gram = piece if gram is None else _combine(gram, piece, span)
            offset += span
    grams = (
        words.select("row", gram=gram, same_row=pl.col("row").shift(-(n - 1)) == pl.col("row"))
        .filter(pl.col("same_row"))
        .group_by("row")
        .agg(distinct=pl.col("gram").n_unique(), total=pl.len())
        .select("row", repetition_ratio=1.0 - pl.col("distinct") / pl.col("total"))
    )
    return lengths.join(grams, on="row", how="left")


_MULTIPLIER = 0x9E3779B97F4A7C15  # odd: multiplying by it modulo 2^64 loses nothing


def _combine(left: pl.Expr, right: pl.Expr, right_words: int) -> pl.Expr:
    """Hash of the word span `left` followed by `right` (right_words words long)."""
    shift = pl.lit(pow(_MULTIPLIER, right_words, 2**64), dtype=pl.UInt64)
    return left * shift + right


# ---- per-problem answer clusters ---------------------------------------------------------------


@dataclass(frozen=True)
class Clustering:
    """Answer clusters of one problem's samples: cluster per sample, and per cluster its representative text, key and size."""

    cluster: list[int | None]  # per sample, 1 = majority; None without an answer
    representatives: dict[int, str]  # cluster -> most frequent answer string in it
    keys: dict[int, str | None]  # cluster -> canonical key (None when its answers have none)
    sizes: dict[int, int]


def cluster_answers(
    answers: list[str | None],
    key_of: Callable[[str], str | None],
    equivalent: Callable[[str, str], bool],
) -> Clustering:
    """Equivalence classes of one problem's answers (see the module docstring for the rules)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for position, answer in enumerate(answers):
        if answer is None or not answer.strip():
            continue
        key = key_of(answer)
        label = ("key", key) if key is not None else ("text", " ".join(answer.split()))
        groups.setdefault(label, []).append(position)
    labels = list(groups)
    parent = list(range(len(labels)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            if labels[i][0] == "key" and labels[j][0] == "key":
                continue
            if root(i) == root(j):
                continue
            if equivalent(answers[groups[labels[i]][0]], answers[groups[labels[j]][0]]):
                parent[root(j)] = root(i)
    members: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        members[root(index)].extend(groups[label])
    ordered = sorted(members.values(), key=lambda positions: (-len(positions), min(positions)))
    cluster: list[int | None] = [None] * len(answers)
    representatives, keys, sizes = {}, {}, {}
    for number, positions in enumerate(ordered, start=1):
        for position in positions:
            cluster[position] = number
        texts = Counter(" ".join(answers[p].split()) for p in positions)
        representatives[number] = min(texts, key=lambda text: (-texts[text], text))
        found = [key_of(answers[p]) for p in positions]
        keys[number] = next((k for k in found if k is not None), None)
        sizes[number] = len(positions)
    return Clustering(cluster, representatives, keys, sizes)


# ---- the stage ---------------------------------------------------------------------------------


def run(store: Store, config: ScoreConfig = ScoreConfig()) -> ScoreResult:
    """Score all samples and problems; rewrites `scores` and `problem_scores`."""
    from curate.verify import VERIFIER_VERSION, canonical_key, equivalent, extract_answer

    counter = token_counter(config.tokenizer, threads=config.threads)
    with store.run("score", {**asdict(config), "tokenizer_used": counter.name, "verifier": VERIFIER_VERSION}) as record:
        run_id = record.run_id
        per_sample = _sample_metrics(store, counter, config, extract_answer)
        gold = store.query("SELECT problem_id, gold_answer, domain FROM problems")
        gold_of = dict(zip(gold["problem_id"].to_list(), gold["gold_answer"].to_list()))
        # Programs and queries do not vote: each is its own cluster unless the same text (whitespace aside).
        by_text = {p for p, d in zip(gold["problem_id"].to_list(), gold["domain"].to_list()) if d not in VOTING_DOMAINS}
        keys: dict[str, str | None] = {}

        def key_of(answer: str) -> str | None:
            if answer not in keys:
                keys[answer] = canonical_key(answer)
            return keys[answer]

        calls = [0]

        def equal(a: str, b: str) -> bool:
            calls[0] += 1
            return bool(equivalent(a, b, timeout=config.equivalence_timeout))

        sample_labels, problem_rows = _label_problems(per_sample, gold_of, key_of, equal, by_text)
        scores = (
            per_sample.drop("verdict", "sample_index")
            .join(sample_labels, on="sample_id", how="left")
            .with_columns(tokenizer=pl.lit(counter.name), run_id=pl.lit(run_id))
        )
        problems = pl.DataFrame(problem_rows, schema=PROBLEM_SCHEMA).with_columns(run_id=pl.lit(run_id))
        counts = {
            "samples": scores.height,
            "problems": problems.height,
            "equivalence_calls": calls[0],
            "think_unclosed": int((~scores["think_closed"]).sum()) if scores.height else 0,
            "pseudo_labelled_problems": int(problems["pseudo_label"].sum()) if problems.height else 0,
            "verdicts_pending": store.scalar("SELECT count(*) FROM verdict_pending"),
        }
        with store.transaction():
            store.execute("DELETE FROM scores")
            store.execute("DELETE FROM problem_scores")
            store.insert_frame("scores", scores)
            store.insert_frame("problem_scores", problems)
            # The store is held for the whole run, so the samples hashed here are the ones scored.
            store.execute(
                "UPDATE problem_scores SET content_hash = pc.content_hash FROM problem_content pc "
                "WHERE pc.problem_id = problem_scores.problem_id"
            )
        record.counts = counts
    return ScoreResult(run_id, scores.height, problems.height, counter.name, calls[0], counts)


def _sample_metrics(store: Store, counter: TokenCounter, config: ScoreConfig, extract_answer: Callable) -> pl.DataFrame:
    """Text metrics and the answer of every sample, streamed from DuckDB in batches."""
    total = store.scalar("SELECT count(*) FROM samples") or 0
    cursor = store.con.cursor()  # its own result stream, so the main connection stays free
    try:
        with store.memory_limit():
            parts = _metric_batches(
                cursor.sql(SAMPLES_SQL).to_arrow_reader(config.batch_size), counter, config, extract_answer, total
            )
    finally:
        cursor.close()
    if not parts:
        return pl.DataFrame(
            schema={
                "sample_id": pl.String,
                "problem_id": pl.String,
                "sample_index": pl.Int32,
                "verdict": pl.String,
                "content_hash": pl.String,
                "answer": pl.String,
            }
        )
    return pl.concat(parts).sort("problem_id", "sample_index", "sample_id")


def _metric_batches(reader, counter: TokenCounter, config: ScoreConfig, extract_answer: Callable, total: int) -> list:
    parts = []
    done = 0
    for record_batch in reader:
        batch = pl.from_arrow(record_batch)
        metrics = text_metrics(batch.select("sample_id", "reasoning", "content"), counter, config.ngram)
        answers = [
            verdict_answer if verdict is not None else (extract_answer(content)[0] if content else None)
            for verdict_answer, verdict, content in zip(
                batch["verdict_answer"].to_list(), batch["verdict"].to_list(), batch["content"].to_list()
            )
        ]
        part = (
            batch.select("sample_id", "problem_id", "sample_index", "verdict", "content_hash")
            .with_columns(pl.Series("answer", answers, dtype=pl.String))
            .join(metrics, on="sample_id", how="left")
        )
        # Strings taken from a DuckDB record batch keep the batch's buffers, traces included,
        # alive: the kept part is copied out (RSS grew by each batch's text, 4 GB at 200k of 1M).
        parts.append(pl.DataFrame(part.to_dict(as_series=False), schema=part.schema))
        previous, done = done, done + batch.height
        step = max(config.batch_size, total // 10)
        if total > config.batch_size and done // step > previous // step:
            stderr.print(f"scored {done:,} of {total:,} samples", highlight=False)
    return parts


PROBLEM_SCHEMA = {
    "problem_id": pl.String,
    "n_samples": pl.Int32,
    "n_answered": pl.Int32,
    "n_clusters": pl.Int32,
    "majority_answer": pl.String,
    "agreement": pl.Float64,
    "runner_up": pl.Float64,
    "has_gold": pl.Boolean,
    "n_correct": pl.Int32,
    "pass_rate": pl.Float64,
    "pseudo_label": pl.Boolean,
    "difficulty": pl.Float64,
}


def _text_key(answer: str) -> str:
    return " ".join(answer.split())


def _label_problems(per_sample: pl.DataFrame, gold_of: dict, key_of: Callable, equal: Callable, by_text=frozenset()):
    """Cluster each problem's answers (those of `by_text` problems by their text alone); per-sample
    labels and per-problem rows."""
    rows = per_sample.select("problem_id", "sample_id", "answer", "verdict").iter_rows()
    sample_rows: dict[str, list] = {
        name: []
        for name in (
            "sample_id",
            "answer_key",
            "cluster",
            "cluster_answer",
            "agreement",
            "is_majority",
            "pseudo_label",
            "correct",
        )
    }
    problem_rows = []
    for problem_id, members in groupby(rows, key=lambda row: row[0]):
        members = list(members)
        answers = [row[2] for row in members]
        texts = problem_id in by_text
        keyed, compared = (_text_key, lambda a, b: False) if texts else (key_of, equal)
        clustering = cluster_answers(answers, keyed, compared)
        n = len(members)
        gold = gold_of.get(problem_id)
        # A program or query is right when its verdict says so: its tests or gold query are its gold.
        has_gold = texts or (gold is not None and str(gold).strip() != "")
        matching = has_gold and not texts
        cluster_correct = _clusters_matching_gold(clustering, members, gold, keyed, compared) if matching else {}
        n_correct = 0
        for row, number in zip(members, clustering.cluster):
            verdict = row[3]
            if not has_gold:
                correct = number == 1
            elif verdict is not None:
                correct = verdict == "correct"
            else:
                correct = cluster_correct.get(number, False)
            n_correct += correct
            sample_rows["sample_id"].append(row[1])
            sample_rows["answer_key"].append(keyed(row[2]) if row[2] and row[2].strip() else None)
            sample_rows["cluster"].append(number)
            sample_rows["cluster_answer"].append(clustering.representatives.get(number))
            sample_rows["agreement"].append(clustering.sizes[number] / n if number else 0.0)
            sample_rows["is_majority"].append(number == 1)
            sample_rows["pseudo_label"].append(not has_gold)
            sample_rows["correct"].append(bool(correct))
        sizes = sorted(clustering.sizes.values(), reverse=True)
        agreement = sizes[0] / n if sizes else 0.0
        pass_rate = n_correct / n if has_gold else None
        problem_rows.append(
            {
                "problem_id": problem_id,
                "n_samples": n,
                "n_answered": sum(sizes),
                "n_clusters": len(sizes),
                "majority_answer": clustering.representatives.get(1),
                "agreement": agreement,
                "runner_up": sizes[1] / n if len(sizes) > 1 else 0.0,
                "has_gold": has_gold,
                "n_correct": n_correct if has_gold else None,
                "pass_rate": pass_rate,
                "pseudo_label": not has_gold,
                "difficulty": 1.0 - (pass_rate if has_gold else agreement),
            }
        )
    labels = pl.DataFrame(
        sample_rows,
        schema={
            "sample_id": pl.String,
            "answer_key": pl.String,
            "cluster": pl.Int32,
            "cluster_answer": pl.String,
            "agreement": pl.Float64,
            "is_majority": pl.Boolean,
            "pseudo_label": pl.Boolean,
            "correct": pl.Boolean,
        },
    )
    return labels, problem_rows


def _clusters_matching_gold(
    clustering: Clustering, members: list, gold: str, key_of: Callable, equal: Callable
) -> dict[int, bool]:
    """Gold match of each cluster holding an unverified sample: one comparison per cluster."""
    gold_key = key_of(str(gold))
    needed = {number for row, number in zip(members, clustering.cluster) if number and row[3] is None}
    out = {}
    for number in needed:
        cluster_key = clustering.keys[number]
        if gold_key is not None and cluster_key is not None:
            out[number] = gold_key == cluster_key
        else:
            out[number] = equal(str(gold), clustering.representatives[number])
    return out


def pending_note(result: ScoreResult) -> str | None:
    """The stderr line about samples scored without a verdict because theirs belong to earlier content."""
    pending = result.counts.get("verdicts_pending", 0)
    if not pending:
        return None
    return (
        f"{pending} samples have verdicts of earlier content (a trace, gold answer or question changed): "
        "scored as unverified; run `curate verify`, then `curate score` again"
    )


def summary_frame(store: Store) -> pl.DataFrame:
    """What `curate score` prints: one (measure, value) row per total over the scored samples."""
    totals = store.query(
        """
        SELECT count(*) AS samples, count(DISTINCT problem_id) AS problems,
               round(avg(length_tokens)) AS mean_tokens, median(length_tokens) AS median_tokens,
               count(*) FILTER (WHERE NOT think_closed) AS think_unclosed,
               count(*) FILTER (WHERE boxed_count > 1) AS several_boxed_answers,
               count(*) FILTER (WHERE repetition_ratio > 0.4) AS repetition_above_0_4,
               count(*) FILTER (WHERE language_mix_ratio > 0.05) AS language_mix_above_0_05,
               count(*) FILTER (WHERE correct) AS correct_or_majority,
               (SELECT count(*) FROM problem_scores WHERE pseudo_label) AS problems_without_gold,
               any_value(tokenizer) AS tokenizer
        FROM scores
        """
    )
    return pl.DataFrame({"measure": totals.columns, "value": [str(v) for v in totals.row(0)]})
