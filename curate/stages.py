"""The command table of the curate stages: command -> module, config class, run function.

Every stage module holds a frozen config dataclass, whose fields are the command's options (the
one source of CLI flags, TOML keys and defaults), and `run(store, config) -> result`, which
records itself with `Store.run`. `curate/cli.py` builds the config from flags and
`curate/pipeline.py` from a TOML table; both call `run_stage`, as tests may. Adding a stage means
one module, one config class and one line here. Modules load on first use, so `curate --help`
stays fast.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable

from db.store import stage_store


@dataclass(frozen=True)
class Stage:
    """One row of the command table; the module is imported only when the stage is used."""

    command: str
    module: str
    config: str  # the config class's name in `module`
    function: str = "run"
    creates_store: bool = False  # True: may start a new store; else a missing --db is refused (exit 2)

    def config_class(self) -> type:
        return getattr(import_module(self.module), self.config)

    def run_function(self) -> Callable[..., Any]:
        return getattr(import_module(self.module), self.function)


STAGES: dict[str, Stage] = {
    stage.command: stage
    for stage in (
        Stage("ingest", "curate.ingest", "IngestConfig", creates_store=True),
        Stage("import-samples", "curate.import_samples", "ImportConfig", creates_store=True),
        Stage("generate", "curate.generate", "GenerateConfig"),
        Stage("judge", "curate.judge", "JudgeConfig"),
        Stage("verify", "curate.verify_stage", "VerifyConfig"),
        Stage("score", "curate.score", "ScoreConfig"),
        Stage("dedup", "curate.decontam", "DedupConfig", "run_dedup"),
        Stage("decontam", "curate.decontam", "DecontamConfig"),
        Stage("select", "curate.select", "SelectConfig"),
        Stage("export", "curate.export", "ExportConfig"),
        Stage("merge", "curate.merge", "MergeConfig", creates_store=True),
    )
}


def run_stage(command: str, db: str | os.PathLike | None, config: Any) -> Any:
    """Open the store at `db` and run one stage with `config` (an instance of its config class)."""
    stage = STAGES[command]
    if not isinstance(config, stage.config_class()):
        raise TypeError(f"{command} takes a {stage.config}, not {type(config).__name__}")
    with stage_store(db, create=stage.creates_store) as store:
        return stage.run_function()(store, config)
