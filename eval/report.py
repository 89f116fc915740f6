"""`evaluate report` and `evaluate compare`: tables and plots from stored eval runs.

Contract
- Inputs: `eval_runs`, `eval_samples`, `problems` (domain, section, year, source, difficulty) and, when
  present, `train_metrics`. Nothing is written to the store. Samples whose problem changed since they
  were checked (SAMPLE_STALE: another gold answer, question or tests than their content_hash names)
  are left out of every figure and counted per run under the tables, with the command that checks
  them again (`evaluate run` with the run's --name and settings). Commands:
  `evaluate report [RUN ...] [--out DIR]`, `evaluate compare A B`.
- A RUN names an eval run (`stud/seed-1`), a run group (the `--name` of `evaluate run`:
  every seed and level of it) or a label (`--label` of `evaluate run`: base / student /
  teacher ...). No RUN: every eval run in the store.
- `report` prints Markdown on stdout (and writes OUT/report.md with `--out`):
  1. the case study's table: one row per label (the run group when a run has no label), one
     column per problem set (its identity: the evaluated problems' source/split, so one file
     evaluated from two folders is one column), cells "mean ± std (runs)" of the runs'
     pass@1 across seeds or training runs; a single run shows its standard error instead
     ("± SE"). Length-study runs are left out of it.
  2. every run: its domain, problems, samples per problem, pass@1 ± SE, pass@k (k = samples
     per problem) and maj@k, mean words and tokens per response; a run that mixes domains
     (domain "mixed") is followed by one row per domain. maj@k is "-" wherever a code or SQL
     problem is counted: a program or a query has no canonical answer to vote on
     (eval.metrics.VOTING_DOMAINS).
  3. pass@k for k = 1, 2, 4, ... and n per run (and domain) when runs have several samples per
     problem: the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k)/C(n, k) per problem,
     averaged over problems (eval/metrics.py).
  4. per domain, section, year, source and difficulty (each one that has more than one value):
     pass@1 per label, averaged over the label's runs.
  5. the length study: per label and level, the word budget, pass@1 (mean ± std over seeds)
     and the mean words and tokens of the responses; then pass@1 per section and level.
  With `--out`, PNG plots (matplotlib, Agg), accuracy axes always 0-100 %: pass@1 per run with
  standard-error bars (accuracy.png); accuracy against mean words per level with error bars
  and each level's word budget (length_study.png); per training run, named by its output
  folder and seed, the raw train loss faint, its moving average and the validation points
  (train_loss.png).
- `compare A B`: the problems both sides answered; per problem, each side's share of correct
  samples (pooled over the side's runs). Reports pass@1 of each, the paired difference A - B with
  a percentile bootstrap interval (problems resampled), and McNemar's test on "solved" (more
  than half of the problem's samples correct). Stale samples are left out and counted there too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from db import BadInput, open_store
from db.store import Store, problem_hash_sql
from eval.metrics import (
    Accuracy,
    McNemar,
    PairedDifference,
    accuracy,
    mcnemar,
    mean_and_std,
    paired_bootstrap,
    pass_at_1_by,
    shown_ks,
)

BREAKDOWNS = ("domain", "section", "year", "source", "difficulty")
# A sample's domain is its problem's (problems.domain); a sample whose problem is gone counts as math.
SAMPLE_DOMAIN = "coalesce(p.domain, 'math')"
# An eval sample checked against other content than its problem's now (s: eval_samples, p: its
# problem; NULL hash and a problem no longer stored count as current, the rule of migration 018).
SAMPLE_STALE = (
    f"(s.content_hash IS NOT NULL AND p.problem_id IS NOT NULL AND s.content_hash <> {problem_hash_sql('p')})"
)


# ---- loading -------------------------------------------------------------------------------


def select_runs(store: Store, names: list[str] | tuple[str, ...] | None) -> pl.DataFrame:
    """eval_runs rows matching the names (run id, run group or label); every run when none."""
    runs = store.query(
        "SELECT eval_run_id, coalesce(run_group, eval_run_id) AS run_group, "
        "coalesce(label, run_group, eval_run_id) AS label, model, adapter, backend, problems, "
        "json_extract_string(config, '$.problem_set') AS problem_set, samples, seed, "
        "length_level, word_budget, status, started_at, "
        "TRY_CAST(json_extract_string(config, '$.max_tokens') AS INTEGER) AS max_tokens "
        "FROM eval_runs ORDER BY started_at, eval_run_id"
    )
    if not names:
        if runs.height == 0:
            raise BadInput("no eval runs in the store; start with `evaluate run`", field="RUN")
        return runs
    chosen = []
    for name in names:
        hit = runs.filter((pl.col("eval_run_id") == name) | (pl.col("run_group") == name) | (pl.col("label") == name))
        if hit.height == 0:
            raise BadInput(f"no eval run, run group or label named {name!r}", field="RUN")
        chosen.append(hit)
    return pl.concat(chosen).unique("eval_run_id", maintain_order=True)


def load_samples(store: Store, run_ids: list[str]) -> pl.DataFrame:
    """The runs' current samples (stale ones left out: `stale_counts`) with the problems' grouping columns."""
    return store.query(
        "SELECT s.eval_run_id, s.problem_id, s.sample_index, s.correct, s.answer_key, s.words, s.length_tokens, "
        f"s.finish_reason, {SAMPLE_DOMAIN} AS domain, "
        "p.section, p.year, p.source, p.difficulty FROM eval_samples s LEFT JOIN problems p USING (problem_id) "
        f"WHERE list_contains(?, s.eval_run_id) AND NOT {SAMPLE_STALE} "
        "ORDER BY s.eval_run_id, s.problem_id, s.sample_index",
        [run_ids],
    )


def stale_counts(store: Store, runs: pl.DataFrame) -> dict[str, tuple[str, int]]:
    """eval_run_id -> (run group, samples left out as stale) for the runs that have any."""
    rows = store.query(
        "SELECT s.eval_run_id, count(*) AS n FROM eval_samples s LEFT JOIN problems p USING (problem_id) "
        f"WHERE list_contains(?, s.eval_run_id) AND {SAMPLE_STALE} GROUP BY ALL ORDER BY ALL",
        [runs["eval_run_id"].to_list()],
    ).rows()
    groups = dict(runs.select("eval_run_id", "run_group").iter_rows())
    return {run_id: (groups[run_id], n) for run_id, n in rows}


def stale_note(stale: dict[str, tuple[str, int]]) -> str:
    """One line per run with stale samples: how many were left out and the command that checks them again."""
    return "\n".join(
        f"- {n} sample(s) of {run_id} left out: their problem's gold answer, question or tests changed since "
        f"they were checked; `evaluate run --name {group}` with the run's settings checks them again"
        for run_id, (group, n) in stale.items()
    )


def frame_accuracy(frame: pl.DataFrame) -> Accuracy:
    """eval.metrics.accuracy of samples (problem_id, correct, answer_key, domain; ordered by sample)."""
    grouped = frame.group_by("problem_id", maintain_order=True).agg("correct", "answer_key", pl.col("domain").first())
    votes = [list(zip(keys, oks)) for keys, oks in grouped.select("answer_key", "correct").iter_rows()]
    return accuracy(votes, grouped["domain"].to_list())


def domain_accuracies(frame: pl.DataFrame) -> dict[str, Accuracy]:
    """frame_accuracy per domain, in domain order, when the samples mix domains ({} when they do not)."""
    domains = sorted(frame["domain"].unique().to_list())
    if len(domains) < 2:
        return {}
    return {domain: frame_accuracy(frame.filter(pl.col("domain") == domain)) for domain in domains}


@dataclass(frozen=True)
class RunStats:
    eval_run_id: str
    label: str
    problems_spec: str
    seed: int | None
    length_level: int | None
    word_budget: int | None
    problems: int
    samples_per_problem: int
    pass_at_1: float
    standard_error: float
    maj_at_k: float | None  # None for code and SQL problems (no canonical answer to vote on)
    pass_at_k: float  # at k = samples_per_problem
    mean_words: float
    mean_tokens: float
    max_tokens: int | None = None  # the run's token limit per answer
    cut_off: float = 0.0  # share of samples that hit it (finish reason length)
    domain: str = "math"  # the run's domain, "mixed" when it has several (then `by_domain` has each)
    pass_at_ks: dict[int, float] = field(default_factory=dict)  # k = 1..samples_per_problem
    by_domain: tuple["RunStats", ...] = ()


def _stats(run: dict, frame: pl.DataFrame, domain: str, by_domain: tuple = ()) -> RunStats:
    measured = frame_accuracy(frame)
    return RunStats(
        eval_run_id=run["eval_run_id"],
        label=run["label"],
        problems_spec=run["problem_set"] or problem_set_name(run["problems"]),
        seed=run["seed"],
        length_level=run["length_level"],
        word_budget=run["word_budget"],
        problems=measured.problems,
        samples_per_problem=measured.per_problem,
        pass_at_1=measured.pass_at_1.mean,
        standard_error=measured.pass_at_1.spread,
        maj_at_k=measured.maj_at_k,
        pass_at_k=measured.pass_at_n,
        mean_words=frame["words"].mean(),
        mean_tokens=frame["length_tokens"].mean(),
        max_tokens=run.get("max_tokens"),
        cut_off=(frame["finish_reason"] == "length").mean() or 0.0,
        domain=domain,
        pass_at_ks=measured.pass_at_k,
        by_domain=by_domain,
    )


def run_stats(runs: pl.DataFrame, samples: pl.DataFrame) -> list[RunStats]:
    """One RunStats per run with samples; a run that mixes domains also has one per domain in `by_domain`."""
    stats = []
    for run in runs.iter_rows(named=True):
        frame = samples.filter(pl.col("eval_run_id") == run["eval_run_id"])
        if frame.height == 0:
            continue
        domains = sorted(frame["domain"].unique().to_list())
        by_domain = ()
        if len(domains) > 1:
            by_domain = tuple(_stats(run, frame.filter(pl.col("domain") == d), d) for d in domains)
        stats.append(_stats(run, frame, domains[0] if len(domains) == 1 else "mixed", by_domain))
    return stats


def problem_set_name(spec: str | None) -> str:
    """A column title for runs stored before `problem_set` was recorded: the split name, or the file's folder and name."""
    if not spec:
        return "-"
    if "/" not in spec and "." not in spec:
        return spec
    # benchmark folders hold files of one name (math500/test.jsonl, amc23/test.jsonl)
    return "/".join(Path(spec).parts[-2:])


# ---- formatting ----------------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def accuracy_cell(runs: list[RunStats]) -> str:
    """mean ± std (n runs) across runs; one run: pass@1 ± its standard error."""
    if len(runs) == 1:
        return f"{percent(runs[0].pass_at_1)} ± {percent(runs[0].standard_error)} SE"
    spread = mean_and_std([r.pass_at_1 for r in runs])
    return f"{percent(spread.mean)} ± {percent(spread.spread)} ({spread.n} runs)"


def main_table(stats: list[RunStats]) -> str:
    main = [s for s in stats if s.length_level is None]
    if not main:
        return ""
    labels = list(dict.fromkeys(s.label for s in main))
    sets = list(dict.fromkeys(s.problems_spec for s in main))
    rows = []
    for label in labels:
        row = [label]
        for name in sets:
            group = [s for s in main if s.label == label and s.problems_spec == name]
            row.append(accuracy_cell(group) if group else "-")
        rows.append(row)
    return markdown_table(["model"] + [f"{name} pass@1 %" for name in sets], rows)


def runs_table(stats: list[RunStats]) -> str:
    """Every run, and under a run that mixes domains one row per domain."""
    rows = []
    for run in stats:
        for s in (run, *run.by_domain):
            rows.append(
                [
                    s.eval_run_id,
                    s.domain,
                    s.label,
                    s.problems_spec,
                    "-" if s.seed is None else str(s.seed),
                    str(s.problems),
                    str(s.samples_per_problem),
                    f"{percent(s.pass_at_1)} ± {percent(s.standard_error)}",
                    percent(s.pass_at_k),
                    percent(s.maj_at_k),
                    _number(s.mean_words),
                    _number(s.mean_tokens),
                    "-" if s.max_tokens is None else f"{s.max_tokens:,}",
                    percent(s.cut_off),
                ]
            )
    header = ["run", "domain", "label", "problems", "seed", "n", "k", "pass@1 % ± SE", "pass@k %", "maj@k %"]
    return markdown_table([*header, "words", "tokens", "token limit", "cut off %"], rows)


def pass_at_k_table(stats: list[RunStats]) -> str:
    """pass@k % for k = 1, 2, 4, ... and n per run (and domain): empty when no run has two samples per problem."""
    n = max((s.samples_per_problem for s in stats), default=0)
    if n < 2:
        return ""
    ks = shown_ks(n)
    rows = [
        [s.eval_run_id, s.domain, str(s.samples_per_problem)] + [percent(s.pass_at_ks.get(k)) for k in ks]
        for run in stats
        for s in (run, *run.by_domain)
    ]
    return markdown_table(["run", "domain", "k"] + [f"pass@{k} %" for k in ks], rows)


def breakdown_tables(runs: pl.DataFrame, samples: pl.DataFrame) -> dict[str, str]:
    """One table per grouping column with more than one value: pass@1 % per label (mean over runs)."""
    main_runs = runs.filter(pl.col("length_level").is_null())
    frame = samples.join(main_runs.select("eval_run_id", "label"), on="eval_run_id")
    tables = {}
    for column in BREAKDOWNS:
        values = frame[column].drop_nulls().unique()
        if values.len() < 2:
            continue
        labels = list(dict.fromkeys(main_runs["label"].to_list()))
        per_label: dict[str, dict[str, list[float]]] = {}
        for label in labels:
            for run_id in main_runs.filter(pl.col("label") == label)["eval_run_id"].to_list():
                grouped = (
                    frame.filter(pl.col("eval_run_id") == run_id)
                    .group_by("problem_id", maintain_order=True)
                    .agg("correct", pl.col(column).first())
                )
                if grouped.height == 0:
                    continue
                for group, estimate in pass_at_1_by(grouped[column].to_list(), grouped["correct"].to_list()).items():
                    per_label.setdefault(label, {}).setdefault(group, []).append(estimate.mean)
        groups = sorted({g for by_group in per_label.values() for g in by_group}, key=_group_order)
        rows = [
            [group] + [percent(mean_and_std(per_label.get(label, {}).get(group, [])).mean) for label in labels]
            for group in groups
        ]
        tables[column] = markdown_table([column] + [f"{label} %" for label in labels], rows)
    return tables


def _group_order(value: str) -> tuple:
    return (value == "-", int(value) if value.isdigit() else math.inf, value)


@dataclass(frozen=True)
class LengthLevel:
    label: str
    level: int
    word_budget: int | None
    accuracy: float
    accuracy_std: float
    runs: int
    mean_words: float
    mean_tokens: float
    error: float = math.nan  # the error bar: std over seeds with several runs, else the run's standard error


def length_levels(stats: list[RunStats]) -> list[LengthLevel]:
    levels = []
    keys = dict.fromkeys((s.label, s.length_level) for s in stats if s.length_level is not None)
    for label, level in keys:
        group = [s for s in stats if s.label == label and s.length_level == level]
        accuracy = mean_and_std([s.pass_at_1 for s in group])
        levels.append(
            LengthLevel(
                label,
                level,
                group[0].word_budget,
                accuracy.mean,
                accuracy.spread,
                accuracy.n,
                mean_and_std([s.mean_words for s in group]).mean,
                mean_and_std([s.mean_tokens for s in group]).mean,
                accuracy.spread if accuracy.n > 1 else group[0].standard_error,
            )
        )
    return sorted(levels, key=lambda x: (x.label, x.level))


def length_table(levels: list[LengthLevel]) -> str:
    rows = [
        [
            x.label,
            f"R{x.level}",
            "-" if x.word_budget is None else str(x.word_budget),
            f"{percent(x.accuracy)}" + ("" if x.runs < 2 else f" ± {percent(x.accuracy_std)}"),
            str(x.runs),
            _number(x.mean_words),
            _number(x.mean_tokens),
        ]
        for x in levels
    ]
    return markdown_table(["model", "level", "word budget", "pass@1 %", "runs", "mean words", "mean tokens"], rows)


def length_section_table(runs: pl.DataFrame, samples: pl.DataFrame) -> str:
    """pass@1 % per section and length level (mean over the label's runs at that level)."""
    length_runs = runs.filter(pl.col("length_level").is_not_null())
    frame = samples.join(length_runs.select("eval_run_id", "label", "length_level"), on="eval_run_id")
    if frame.height == 0 or frame["section"].drop_nulls().n_unique() < 2:
        return ""
    cells: dict[tuple[str, str], dict[int, list[float]]] = {}
    for (_run_id, label, level), run in frame.group_by(["eval_run_id", "label", "length_level"], maintain_order=True):
        grouped = run.group_by("problem_id", maintain_order=True).agg("correct", pl.col("section").first())
        for section, estimate in pass_at_1_by(grouped["section"].to_list(), grouped["correct"].to_list()).items():
            cells.setdefault((label, section), {}).setdefault(level, []).append(estimate.mean)
    levels = sorted(frame["length_level"].unique().to_list())
    rows = [
        [label, section] + [percent(mean_and_std(by_level.get(level, [])).mean) for level in levels]
        for (label, section), by_level in sorted(cells.items(), key=lambda item: (item[0][0], _group_order(item[0][1])))
    ]
    return markdown_table(["model", "section"] + [f"R{level} %" for level in levels], rows)


# ---- plots ---------------------------------------------------------------------------------
# Accuracy axes span 0-100 %: a fixed scale never turns a two-point gap into a cliff.


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_accuracy(stats: list[RunStats], path: Path) -> Path:
    """pass@1 per run (length study left out) with its standard error as an error bar."""
    plt = _pyplot()
    main = [s for s in stats if s.length_level is None]
    figure, axis = plt.subplots(figsize=(max(4.0, 1.2 * len(main) + 2), 4))
    positions = range(len(main))
    axis.bar(
        positions,
        [100 * s.pass_at_1 for s in main],
        yerr=[100 * _finite(s.standard_error) for s in main],
        capsize=4,
        color="tab:blue",
        alpha=0.8,
    )
    for x, s in zip(positions, main):
        axis.annotate(
            f"{100 * s.pass_at_1:.1f}", (x, 100 * s.pass_at_1), textcoords="offset points", xytext=(0, 8), ha="center"
        )
    axis.set_xticks(list(positions), [s.eval_run_id for s in main], rotation=20, ha="right")
    axis.set_ylim(0, 100)
    axis.set_ylabel("pass@1 (%) ± SE")
    axis.set_title(f"Accuracy ({main[0].problems_spec}, {main[0].problems} problems)" if main else "Accuracy")
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _finite(value: float | None) -> float:
    return 0.0 if value is None or math.isnan(value) else value


def plot_length_study(levels: list[LengthLevel], path: Path) -> Path:
    """Accuracy against mean words per level with error bars (std over seeds; one run: its standard error),
    each level's word budget named."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for label in dict.fromkeys(x.label for x in levels):
        points = [x for x in levels if x.label == label]
        axis.errorbar(
            [x.mean_words for x in points],
            [100 * x.accuracy for x in points],
            yerr=[100 * _finite(x.error) for x in points],
            marker="o",
            capsize=3,
            label=label,
        )
        for x in points:
            budget = "" if x.word_budget is None else f" ≤{x.word_budget}w"
            axis.annotate(
                f"R{x.level}{budget}",
                (x.mean_words, 100 * x.accuracy),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize="small",
            )
    axis.set_ylim(0, 100)
    axis.set_xlabel("mean words per response")
    axis.set_ylabel("pass@1 (%)")
    axis.set_title("Accuracy against response length (error bars: std over seeds, or SE)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def smooth(values: list[float], half_width: int | None = None) -> list[float]:
    """A centred moving average whose window shrinks at both ends, so it never lags the loss:
    the last point is the last loss itself, and a steady fall stays where it is (an exponential
    average sat far above the real loss at the end of a short, fast-falling run)."""
    if half_width is None:
        half_width = max(1, len(values) // 10)
    out = []
    for i in range(len(values)):
        reach = min(half_width, i, len(values) - 1 - i)
        window = values[i - reach : i + reach + 1]
        out.append(sum(window) / len(window))
    return out


def train_run_name(out_dir: str | None, seed: int | None, train_run_id: str) -> str:
    """A readable name for a training run: its output folder (the parent for seed-N folders) and seed."""
    if not out_dir:
        return train_run_id
    path = Path(out_dir)
    folder = path.parent.name if path.name.startswith("seed-") else path.name
    return f"{folder} (seed {seed})" if seed is not None else folder


def plot_train_loss(metrics: pl.DataFrame, path: Path) -> Path:
    """Per training run: raw train loss faint, smoothed train loss, validation points."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, frame) in enumerate(metrics.sort("step").group_by("name", maintain_order=True)):
        colour = colours[index % len(colours)]
        train = frame.filter(pl.col("split") == "train")
        val = frame.filter(pl.col("split") == "val")
        if train.height:
            steps, losses = train["step"].to_list(), train["loss"].to_list()
            axis.plot(steps, losses, color=colour, alpha=0.25, linewidth=1)
            axis.plot(steps, smooth(losses), color=colour, label=f"{name[0]} train (smoothed)")
        if val.height:
            axis.plot(
                val["step"].to_list(),
                val["loss"].to_list(),
                color=colour,
                marker="o",
                linestyle="--",
                label=f"{name[0]} validation",
            )
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("loss (mean per label token)")
    axis.set_title("Training and validation loss (raw train loss faint)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


# ---- commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    markdown: str
    files: list[Path]
    stats: list[RunStats]
    stale: dict[str, tuple[str, int]] = field(default_factory=dict)  # eval_run_id -> (run group, samples left out)


def build_report(db: str | Path | None, names: list[str] | None = None, out: Path | None = None) -> Report:
    """The report's Markdown (and, with `out`, report.md and the plots written there)."""
    with open_store(db, read_only=True) as store:
        runs = select_runs(store, names)
        samples = load_samples(store, runs["eval_run_id"].to_list())
        stale = stale_counts(store, runs)
        metrics = store.query(
            "SELECT m.train_run_id, m.step, m.split, m.loss, r.out_dir, r.seed FROM train_metrics m "
            "LEFT JOIN train_runs r USING (train_run_id) WHERE m.loss IS NOT NULL ORDER BY m.train_run_id, m.step"
        )
    if metrics.height:
        names = {
            row[0]: train_run_name(row[1], row[2], row[0])
            for row in metrics.select("train_run_id", "out_dir", "seed").unique().iter_rows()
        }
        metrics = metrics.with_columns(name=pl.col("train_run_id").replace_strict(names, return_dtype=pl.String))
    stats = run_stats(runs, samples)
    if not stats:
        if stale:
            raise BadInput("every sample of the selected eval runs is stale:\n" + stale_note(stale), field="RUN")
        raise BadInput("the selected eval runs have no samples yet", field="RUN")
    parts = ["# Evaluation report", ""]
    table = main_table(stats)
    if table:
        parts += ["## Accuracy (pass@1 %, mean ± std over runs)", "", table, ""]
    parts += ["## Runs", "", runs_table(stats), ""]
    if stale:
        parts += ["Left out of every table (stale):", "", stale_note(stale), ""]
    parts += [
        "An answer cut at its run's token limit (cut off %) has no final answer and counts as wrong. "
        'pass@k is the unbiased estimate at k = samples per problem; maj@k is "-" for code and SQL, '
        "whose answers have no canonical form to vote on.",
        "",
    ]
    by_k = pass_at_k_table(stats)
    if by_k:
        parts += ["## pass@k (unbiased estimator, Chen et al. 2021)", "", by_k, ""]
    for column, breakdown in breakdown_tables(runs, samples).items():
        parts += [f"## Per {column}", "", breakdown, ""]
    levels = length_levels(stats)
    if levels:
        parts += ["## Response length study", "", length_table(levels), ""]
        by_section = length_section_table(runs, samples)
        if by_section:
            parts += ["### Length study per section", "", by_section, ""]
    files: list[Path] = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if any(x.length_level is None for x in stats):
            files.append(plot_accuracy(stats, out / "accuracy.png"))
            parts += ["![pass@1 per run with standard errors](accuracy.png)", ""]
        if levels:
            files.append(plot_length_study(levels, out / "length_study.png"))
            parts += ["![accuracy against length](length_study.png)", ""]
        if metrics.height:
            files.append(plot_train_loss(metrics, out / "train_loss.png"))
            parts += ["## Training", "", "![training and validation loss](train_loss.png)", ""]
    markdown = "\n".join(parts)
    if out is not None:
        (out / "report.md").write_text(markdown, encoding="utf-8")
        files.insert(0, out / "report.md")
    return Report(markdown, files, stats, stale)


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    problems: int
    pass_at_1_a: float
    pass_at_1_b: float
    difference: PairedDifference
    mcnemar: McNemar
    stale: dict[str, tuple[str, int]] = field(default_factory=dict)  # eval_run_id -> (run group, samples left out)

    def markdown(self) -> str:
        d, m = self.difference, self.mcnemar
        rows = [
            ["problems (shared)", str(self.problems)],
            [f"pass@1 {self.a} %", percent(self.pass_at_1_a)],
            [f"pass@1 {self.b} %", percent(self.pass_at_1_b)],
            ["difference A - B (points)", f"{100 * d.difference:+.2f}"],
            [f"{100 * d.confidence:.0f}% bootstrap interval", f"[{100 * d.low:+.2f}, {100 * d.high:+.2f}]"],
            ["solved only by A / only by B", f"{m.only_a} / {m.only_b}"],
            ["McNemar p-value", f"{m.p_value:.4g} (exact binomial)"],
        ]
        table = markdown_table(["", "value"], rows)
        return f"{table}\n\nLeft out (stale):\n\n{stale_note(self.stale)}" if self.stale else table


def problem_shares(store: Store, name: str) -> tuple[pl.DataFrame, dict[str, tuple[str, int]]]:
    """problem_id -> share of correct samples over every run the name selects (length study excluded
    unless the name picks length runs only), and those runs' stale samples left out (`stale_counts`)."""
    runs = select_runs(store, [name])
    main = runs.filter(pl.col("length_level").is_null())
    chosen = main if main.height else runs
    shares = load_samples(store, chosen["eval_run_id"].to_list()).group_by("problem_id")
    return shares.agg(pl.col("correct").cast(pl.Float64).mean().alias("share")), stale_counts(store, chosen)


def compare_runs(db: str | Path | None, a: str, b: str, *, resamples: int = 10_000, seed: int = 0) -> Comparison:
    with open_store(db, read_only=True) as store:
        (shares_a, stale_a), (shares_b, stale_b) = problem_shares(store, a), problem_shares(store, b)
    joined = shares_a.join(shares_b, on="problem_id", suffix="_b").sort("problem_id")
    if joined.height == 0:
        raise BadInput(f"{a!r} and {b!r} share no problems", field="A/B")
    share_a, share_b = joined["share"].to_list(), joined["share_b"].to_list()
    return Comparison(
        a=a,
        b=b,
        problems=joined.height,
        pass_at_1_a=sum(share_a) / len(share_a),
        pass_at_1_b=sum(share_b) / len(share_b),
        difference=paired_bootstrap(share_a, share_b, resamples=resamples, seed=seed),
        mcnemar=mcnemar([s > 0.5 for s in share_a], [s > 0.5 for s in share_b]),
        stale={**stale_a, **stale_b},
    )
