"""The stage contract: every curate stage is registered once in the command table with a frozen
config class and `run(store, config)`, the CLI has one command per stage with the config's
defaults, and `curate run` takes the config's fields as its table keys."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import typer.main

from curate.cli import app
from curate.pipeline import STAGES as PIPELINE_STAGES, parse_config
from curate.stages import STAGES, run_stage
from db import BadInput

# Flags whose option name differs from the config field ("--timeout" sets timeout_s).
RENAMED = {
    "timeout": ("timeout_s", "equivalence_timeout"),
    "backoff": ("backoff_s",),
    "no_gold": ("allow_no_gold",),
    "base_url": ("base_urls",),
    "file": ("path",),
}


def cli_commands() -> dict[str, object]:
    group = typer.main.get_group(app)
    return dict(group.commands)


def test_each_stage_is_registered_once_with_a_frozen_config_and_run_store_config():
    modules = [(stage.module, stage.function) for stage in STAGES.values()]
    assert len(set(modules)) == len(modules)
    for command, stage in STAGES.items():
        config = stage.config_class()
        assert dataclasses.is_dataclass(config) and config.__dataclass_params__.frozen, command
        assert list(inspect.signature(stage.run_function()).parameters)[:2] == ["store", "config"] or list(
            inspect.signature(stage.run_function()).parameters
        )[:2] == ["store", "options"], command


def test_every_stage_has_a_cli_command_whose_defaults_are_the_configs():
    commands = cli_commands()
    for command, stage in STAGES.items():
        assert command in commands, command
        defaults = {f.name: f.default for f in dataclasses.fields(stage.config_class())}
        matched = 0
        for param in commands[command].params:
            names = (param.name, *RENAMED.get(param.name, ()))
            field = next((name for name in names if name in defaults), None)
            if field is None or param.default is None or param.required:
                continue  # --db, select's "not given" flags, required options
            assert param.default == defaults[field], f"{command} --{param.name}"
            matched += 1
        assert matched or command in ("select", "import-samples"), f"{command}: no option matches a config field"


def test_run_stage_takes_only_the_stages_own_config(db_path):
    from curate.score import ScoreConfig

    with pytest.raises(TypeError, match="ExportConfig"):
        run_stage("export", db_path, ScoreConfig())


@pytest.mark.parametrize("table", ["generate", "judge", "verify", "score", "decontam", "select", "export"])
def test_pipeline_table_keys_are_the_config_fields(table: str):
    command = {"problems": "ingest", "import": "import-samples"}.get(table, table)
    fields = {f.name for f in dataclasses.fields(STAGES[command].config_class())} - {"progress"}
    with pytest.raises(BadInput) as refused:
        parse_config({table: {"no_such_key": 1}})
    known = set(str(refused.value).split("known: ")[1].split(" (")[0].split(", "))
    assert fields <= known and known - fields <= {"base_url"}


def test_the_pipeline_runs_every_curate_stage_through_the_command_table():
    source = inspect.getsource(inspect.getmodule(PIPELINE_STAGES["score"].run))
    for command in ("ingest", "import-samples", "generate", "judge", "verify", "score", "decontam", "select", "export"):
        assert f'run_stage("{command}"' in source, command


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"generate": {}}, "generate.model"),
        ({"select": {}}, "select.policy"),
        ({"import": {"files": [{"path": "bundled:demo_traces.jsonl"}]}}, "import.files.model"),
        ({"problems": {"files": [{"split": "train"}]}}, "problems.files.path"),
    ],
)
def test_pipeline_refuses_a_table_without_its_configs_required_fields(raw: dict, field: str):
    with pytest.raises(BadInput, match="needs") as refused:
        parse_config(raw)
    assert refused.value.field == field
