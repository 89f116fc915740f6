"""Choose the training traces: filters, then one selection policy, recorded side by side.

Inputs: `scores` and `problem_scores` (run `curate score` first), `samples`, `verdict_current`,
`review_current`, `problem_duplicates`, `step_flags` (`curate verify --steps`, `curate judge --steps`),
the views `score_state` and `verdict_pending` (db/migrations/018), and for `--base-eval RUN`
the `eval_samples` of that evaluation run. Outputs: one `selection_sets` row (policy and every
parameter) and its `selections` rows (sample, problem, rank within the problem, and the
`content_hash` of the sample as selected), replacing an earlier selection of the same id; a
`runs` row of kind "select" (counts: selected, problems, dropped, passed_over, pending). Other
selections stay, so several can be compared (`curate sql "SELECT * FROM selection_summary"`).
Command: `curate select --policy NAME [--k K] [--config FILE.toml] [--name ID] [filter flags]`.

Pending (left out before any filter, counted in `SelectResult.pending` and on stderr with the
stages to rerun): `unscored` (added since `curate score`), `score_stale` (the sample, its gold
or question, or another sample of its problem changed since `curate score`: its clusters and
agreement are of earlier content), `verdict_stale` (its verdicts all belong to earlier content:
`curate verify` first). No pending row is read as current; with nothing current left the
command is refused (exit 2) naming the stages to rerun.

Filters (applied to every policy; the first one a sample fails is its drop reason):
rejected by a reviewer (always), a duplicate problem (`curate dedup`), verified incorrect,
truncated or errored, unclosed think block, repetition_ratio above the limit, CJK share above
the limit, several different boxed answers, length outside [min_tokens, max_tokens] or outside
the Tukey far-out fences (factor 3) of log length over all samples; then, with
`drop_wrong_steps` (default on), a correct trace with an unretracted wrong step (`step_flags`,
any current checker) when its problem has another correct trace without one that passed the
filters above (reason `wrong_step`). Flagged traces that stay (their problem has no clean
correct trace) are ranked by their number of unretracted wrong steps, fewest first, then by
the policy's order.

Policies (k is per problem):
- shortest-correct (k=1): the k shortest samples correct against gold.
- keep-k-correct (k=4): up to k correct samples, in a seeded random order (no length bias).
- consensus (k=1): no gold needed; the k shortest samples of the majority answer cluster, for
  problems whose agreement is at least `threshold` (default 0.5) and beats the runner-up.
- difficulty-weighted (k=2): problems the base student fails (1 - its pass rate in eval run
  `base_eval`), else the teacher fails (1 - teacher pass rate), at least `min_difficulty`;
  keeps ceil(k * difficulty) correct samples per problem, longest first (s1K and LIMO keep
  hard problems and long, careful traces).
Problems without gold take part only in consensus (their `correct` is a pseudo-label).

Every current scored sample is accounted for: chosen, dropped by a filter (`SelectResult.dropped`), or
passed over by the policy (`SelectResult.passed_over`: not verified correct, no consensus, below
the difficulty floor, or beyond the problem's quota, e.g. the longer correct samples).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from db.config_file import config_values, read_toml
from db.errors import BadInput
from db.store import Store

POLICIES = ("shortest-correct", "keep-k-correct", "consensus", "difficulty-weighted")
DEFAULT_K = {"shortest-correct": 1, "keep-k-correct": 4, "consensus": 1, "difficulty-weighted": 2}


@dataclass(frozen=True)
class SelectConfig:
    """`curate select` options; `name` is the selection id (None: policy + parameter hash)."""

    policy: str
    k: int | None = None  # None: the policy's default (DEFAULT_K)
    seed: int = 0  # keep-k-correct's order
    threshold: float = 0.5  # consensus: minimum agreement of the majority
    min_difficulty: float = 0.5  # difficulty-weighted: keep problems at least this hard
    base_eval: str | None = None  # difficulty-weighted: eval_run_id of the base student
    allow_truncated: bool = False
    require_think_closed: bool = True
    max_repetition: float = 0.4
    max_language_mix: float = 0.05
    max_boxed: int = 1
    min_tokens: int | None = None
    max_tokens: int | None = None
    length_fence: float | None = 3.0  # Tukey fence factor on log length; None: off
    drop_wrong_steps: bool = (
        True  # drop a correct trace with a wrong step when its problem has a clean one; rank flagged last
    )
    name: str | None = None  # the selection id; not a selection parameter

    def resolved_k(self) -> int:
        return self.k if self.k is not None else DEFAULT_K[self.policy]


@dataclass
class SelectResult:
    """What `curate select` prints: the selection's size, the samples each filter dropped and
    those the policy passed over, by reason; pool == n_samples + sum(dropped) + sum(passed_over)."""

    selection_id: str
    policy: str
    n_samples: int
    n_problems: int
    pool: int
    dropped: dict[str, int] = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    passed_over: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)  # samples left out, not in `pool`, by reason

    def not_selected(self) -> list[tuple[str, str, int]]:
        """(step, reason, samples) of every scored sample not selected, filters first, largest first."""
        rows = [("filter", reason, n) for reason, n in self.dropped.items()]
        rows += [("policy", reason, n) for reason, n in self.passed_over.items()]
        return sorted(rows, key=lambda row: (row[0] != "filter", -row[2], row[1]))


def load_config(path: str | Path | None, overrides: dict) -> SelectConfig:
    """Parameters from a TOML file (top level or a [select] table), then flags that were given."""
    values: dict = {}
    if path is not None:
        document = read_toml(path, field="--config")
        values = config_values(document.get("select", document), SelectConfig, file=str(path), what="select parameter")
    values.update({key: value for key, value in overrides.items() if value is not None})
    if "policy" not in values:
        raise BadInput("give --policy (or `policy` in the config file)", field="--policy")
    try:
        config = SelectConfig(**values)
    except TypeError as error:
        raise BadInput(str(error), file=str(path) if path else None) from error
    validate(config)
    return config


def validate(config: SelectConfig) -> None:
    """Refuse (BadInput naming the flag) a config no policy can run."""
    if config.policy not in POLICIES:
        raise BadInput(f"unknown policy {config.policy!r}; use one of {', '.join(POLICIES)}", field="--policy")
    if config.k is not None and config.k < 1:
        raise BadInput("k must be at least 1", field="--k")
    for name in ("threshold", "min_difficulty", "max_repetition", "max_language_mix"):
        if not 0.0 <= getattr(config, name) <= 1.0:
            raise BadInput(f"{name} must lie between 0 and 1", field=name)
    if config.base_eval is not None and config.policy != "difficulty-weighted":
        raise BadInput("--base-eval applies to the difficulty-weighted policy only", field="--base-eval")


# Every sample, with `pending` naming why its derived rows cannot be read as current (null: they
# can): unscored, score_stale (view score_state: the sample, its gold or question, or a sibling
# changed since `curate score`), verdict_stale (view verdict_pending: verdicts of earlier content only).
POOL_SQL = """
SELECT s.sample_id, s.problem_id, s.model, s.status, s.content_hash,
       CASE WHEN st.state = 'unscored' THEN 'unscored'
            WHEN st.state <> 'current' THEN 'score_stale'
            WHEN vp.sample_id IS NOT NULL THEN 'verdict_stale' END AS pending,
       sc.length_tokens, sc.think_closed, sc.boxed_count, sc.repetition_ratio, sc.language_mix_ratio,
       sc.is_majority, sc.pseudo_label, sc.correct,
       v.verdict, r.decision AS review,
       ps.agreement AS problem_agreement, ps.runner_up, ps.pass_rate AS teacher_pass_rate,
       d.problem_id IS NOT NULL AS is_duplicate,
       coalesce(f.wrong_unretracted, 0) AS wrong_steps
FROM samples s
JOIN score_state st ON st.sample_id = s.sample_id
LEFT JOIN scores sc ON sc.sample_id = s.sample_id
LEFT JOIN verdict_pending vp ON vp.sample_id = s.sample_id
LEFT JOIN problem_scores ps ON ps.problem_id = s.problem_id
LEFT JOIN verdict_current v ON v.sample_id = s.sample_id
LEFT JOIN review_current r ON r.sample_id = s.sample_id
LEFT JOIN problem_duplicates d ON d.problem_id = s.problem_id
LEFT JOIN step_flags f ON f.sample_id = s.sample_id
"""


def run(store: Store, config: SelectConfig) -> SelectResult:
    """Apply the filters and the policy; record the selection under `config.name` (or a derived id)."""
    validate(config)
    params = {**{k: v for k, v in asdict(config).items() if k != "name"}, "k": config.resolved_k()}
    selection_id = (
        config.name or f"{config.policy}-{hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]}"
    )
    everything = store.query(POOL_SQL)
    pending = dict(everything["pending"].drop_nulls().value_counts().sort("pending").iter_rows())
    pool = everything.filter(pl.col("pending").is_null()).drop("pending")
    if pending.get("unscored", 0) == everything.height:
        raise BadInput("no scored samples: run `curate score` first", field="scores")
    if pool.height == 0:
        raise BadInput(f"no current scores: {_describe_pending(pending)}", field="scores")
    with store.run("select", {**params, "selection_id": selection_id}) as record:
        run_id = record.run_id
        judged = apply_filters(pool, config)
        dropped = dict(judged.filter(pl.col("drop_reason").is_not_null())["drop_reason"].value_counts().iter_rows())
        eligible = judged.filter(pl.col("drop_reason").is_null())
        ranked = apply_policy(store, eligible, config)
        passed_over = dict(ranked["passed_over"].drop_nulls().value_counts().iter_rows())
        chosen = ranked.filter(pl.col("passed_over").is_null())
        selections = chosen.select(
            pl.lit(selection_id).alias("selection_id"),
            pl.lit(config.policy).alias("policy"),
            "sample_id",
            "problem_id",
            pl.col("rank").cast(pl.Int32),
            "content_hash",
        )
        n_problems = selections["problem_id"].n_unique() if selections.height else 0
        with store.transaction():
            store.execute("DELETE FROM selections WHERE selection_id = ?", [selection_id])
            store.execute("DELETE FROM selection_sets WHERE selection_id = ?", [selection_id])
            store.insert_rows(
                "selection_sets",
                [
                    {
                        "selection_id": selection_id,
                        "policy": config.policy,
                        "params": json.dumps(params),
                        "n_samples": selections.height,
                        "n_problems": n_problems,
                        "run_id": run_id,
                    }
                ],
            )
            store.insert_frame("selections", selections)
        record.counts = {
            "selected": selections.height,
            "problems": n_problems,
            "dropped": dropped,
            "passed_over": passed_over,
            "pending": pending,
        }
    return SelectResult(
        selection_id, config.policy, selections.height, n_problems, pool.height, dropped, params, passed_over, pending
    )


def _describe_pending(pending: dict[str, int]) -> str:
    """What `SelectResult.pending` holds, in words, and the stages that make those samples current."""
    reasons = ", ".join(f"{reason} {count}" for reason, count in pending.items())
    return (
        f"{sum(pending.values())} samples pending ({reasons}: changed or added since `curate score` ran, or "
        "verified for earlier content): rerun `curate verify` and `curate score`, then `curate select` again"
    )


def pending_note(result: SelectResult) -> str | None:
    """The stderr line about the samples left out as pending (None when there are none)."""
    return f"left out: {_describe_pending(result.pending)}" if result.pending else None


def apply_filters(pool: pl.DataFrame, config: SelectConfig) -> pl.DataFrame:
    """The pool with `drop_reason`: the first filter each sample fails, null when it passes."""
    log_length = pl.col("length_tokens").clip(lower_bound=1).cast(pl.Float64).log()
    ok = pool.filter(pl.col("status") == "ok")
    low = high = None
    if config.length_fence is not None and ok.height >= 4:
        logs = ok.select(log_length.alias("x"))["x"]
        q1, q3 = logs.quantile(0.25), logs.quantile(0.75)
        low, high = q1 - config.length_fence * (q3 - q1), q3 + config.length_fence * (q3 - q1)
    checks: list[tuple[str, pl.Expr]] = [
        ("rejected_by_review", pl.col("review") == "reject"),
        ("duplicate_problem", pl.col("is_duplicate")),
        ("verified_incorrect", pl.col("verdict") == "incorrect"),
        (
            "truncated_or_error",
            pl.col("status") != "ok" if not config.allow_truncated else pl.col("status").is_in(["error", "empty"]),
        ),
        ("think_unclosed", ~pl.col("think_closed") if config.require_think_closed else pl.lit(False)),
        ("repetition", pl.col("repetition_ratio") > config.max_repetition),
        ("language_mix", pl.col("language_mix_ratio") > config.max_language_mix),
        ("several_boxed", pl.col("boxed_count") > config.max_boxed),
    ]
    if config.min_tokens is not None:
        checks.append(("too_short", pl.col("length_tokens") < config.min_tokens))
    if config.max_tokens is not None:
        checks.append(("too_long", pl.col("length_tokens") > config.max_tokens))
    if low is not None:
        checks.append(("length_outlier", (log_length < low) | (log_length > high)))
    reason = pl.lit(None, dtype=pl.String)
    for label, failed in reversed(checks):
        reason = pl.when(failed.fill_null(False)).then(pl.lit(label)).otherwise(reason)
    judged = pool.with_columns(drop_reason=reason)
    return drop_wrong_steps(judged) if config.drop_wrong_steps else judged


def drop_wrong_steps(judged: pl.DataFrame) -> pl.DataFrame:
    """Mark `wrong_step` the correct traces with an unretracted wrong step that passed the other
    filters, where their problem has a correct trace without one that passed them too."""
    passes = pl.col("drop_reason").is_null() & pl.col("correct").fill_null(False)
    clean = passes & (pl.col("wrong_steps") == 0)
    has_clean = clean.any().over("problem_id")
    flagged = passes & (pl.col("wrong_steps") > 0) & has_clean
    return judged.with_columns(drop_reason=pl.when(flagged).then(pl.lit("wrong_step")).otherwise(pl.col("drop_reason")))


def apply_policy(store: Store, eligible: pl.DataFrame, config: SelectConfig) -> pl.DataFrame:
    """The eligible samples with `passed_over`: null for those the policy chose (ranked within
    their problem by `rank`), else why it left the sample: not one of its candidates, or beyond
    the problem's quota of k."""
    k = config.resolved_k()
    quota = pl.lit(k)
    descending = False
    frame = eligible
    if config.policy == "consensus":
        agreement = pl.col("problem_agreement")
        rules = [
            (
                "no_consensus",
                pl.col("is_majority") & (agreement >= config.threshold) & (agreement > pl.col("runner_up")),
            )
        ]
        order, over_quota = "length_tokens", "longer_majority"
    else:
        rules = [("not_verified_correct", pl.col("correct") & ~pl.col("pseudo_label"))]
        order, over_quota = "length_tokens", "longer_correct"
        if config.policy == "keep-k-correct":
            frame = frame.with_columns(
                _order=pl.concat_str(pl.lit(f"{config.seed}:"), pl.col("sample_id")).hash(seed=0)
            )
            order, over_quota = "_order", "beyond_k_correct"
        elif config.policy == "difficulty-weighted":
            frame = frame.join(problem_difficulty(store, config.base_eval), on="problem_id", how="left")
            rules.append(("below_min_difficulty", pl.col("difficulty") >= config.min_difficulty))
            descending, over_quota = True, "shorter_correct"
            quota = (pl.col("difficulty") * k).ceil().clip(lower_bound=1)
    reason = pl.lit(None, dtype=pl.String)
    for label, passes in reversed(rules):  # the first rule a sample fails names it
        reason = pl.when(passes.fill_null(False)).then(reason).otherwise(pl.lit(label))
    # A kept trace with wrong steps comes after its problem's clean ones (whatever the policy's
    # order), and one with fewer before one with more.
    flag_rank = pl.col("wrong_steps") if config.drop_wrong_steps else pl.lit(0)
    frame = frame.with_columns(passed_over=reason, _flag_rank=flag_rank)
    ranked = (
        frame.filter(pl.col("passed_over").is_null())
        .sort(["problem_id", "_flag_rank", order, "sample_id"], descending=[False, False, descending, False])
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("problem_id"))
        .with_columns(passed_over=pl.when(pl.col("rank") > quota).then(pl.lit(over_quota)))
    )
    return pl.concat([ranked, frame.filter(pl.col("passed_over").is_not_null())], how="diagonal_relaxed")


def problem_difficulty(store: Store, base_eval: str | None) -> pl.DataFrame:
    """(problem_id, difficulty): 1 - the base student's pass rate in `base_eval`, else 1 - teacher's."""
    if base_eval is None:
        return store.query(
            "SELECT problem_id, 1.0 - pass_rate AS difficulty FROM problem_scores WHERE pass_rate IS NOT NULL"
        )
    frame = store.query(
        "SELECT problem_id, 1.0 - avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END) AS difficulty "
        "FROM eval_samples WHERE eval_run_id = ? GROUP BY problem_id",
        [base_eval],
    )
    if frame.height == 0:
        known = store.query("SELECT eval_run_id FROM eval_runs ORDER BY started_at DESC LIMIT 10")[
            "eval_run_id"
        ].to_list()
        raise BadInput(
            f"no evaluation samples for run {base_eval!r}; runs: {', '.join(known) or 'none'}", field="--base-eval"
        )
    return frame
