"""LocalGenerator: batched chat generation with transformers (random tiny model fast, the bundled
SmolLM2 GGUF under the slow mark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.local_generation import LocalCompletion, LocalGenerator, _model_location
from tests.random_model import build_random_adapter, build_random_model

QUESTIONS = [
    "What is 2+3?",
    "A much longer question about a triangle with sides 3, 4 and 5: what is its area in square units?",
    "Hi",
    "Compute 12 * 12.",
]


def chats(questions: list[str]) -> list[list[dict]]:
    return [[{"role": "user", "content": q}] for q in questions]


@pytest.fixture(scope="module")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_gguf: Path) -> Path:
    return build_random_model(tmp_path_factory.mktemp("random-llama"), tiny_model_gguf)


@pytest.fixture(scope="module")
def random_generator(random_model_dir: Path) -> LocalGenerator:
    return LocalGenerator(random_model_dir, batch_size=3, device="cpu")


def test_mixed_length_prompts_come_back_in_input_order(random_generator: LocalGenerator) -> None:
    expected_lengths = [len(ids) for ids in random_generator.prompt_token_ids(chats(QUESTIONS))]
    assert len(set(expected_lengths)) == len(QUESTIONS)  # the test needs distinct lengths
    out = random_generator.generate(chats(QUESTIONS), max_new_tokens=6, temperature=1.0, top_p=1.0, seed=0)
    assert [c.prompt_tokens for c in out] == expected_lengths
    for completion in out:
        assert isinstance(completion, LocalCompletion)
        assert completion.finish_reason in ("stop", "length")
        if completion.finish_reason == "length":
            assert completion.completion_tokens == 6
        else:
            assert 1 <= completion.completion_tokens <= 6
        assert completion.latency_s > 0


def test_same_seed_same_samples_other_seed_other_samples(random_generator: LocalGenerator) -> None:
    kwargs = dict(max_new_tokens=8, temperature=1.0, top_p=1.0)
    first = random_generator.generate(chats(QUESTIONS), seed=7, **kwargs)
    again = random_generator.generate(chats(QUESTIONS), seed=7, **kwargs)
    other = random_generator.generate(chats(QUESTIONS), seed=8, **kwargs)
    assert [c.text for c in first] == [c.text for c in again]
    assert [c.text for c in first] != [c.text for c in other]


def test_repeated_prompt_in_one_batch_gives_different_samples(random_generator: LocalGenerator) -> None:
    out = random_generator.generate(chats(["Hi"] * 3), max_new_tokens=8, temperature=1.0, top_p=1.0, seed=0)
    assert len({c.text for c in out}) > 1


def test_lora_adapter_changes_greedy_output(
    random_model_dir: Path, random_generator: LocalGenerator, tmp_path: Path
) -> None:
    adapter = build_random_adapter(tmp_path / "adapter", random_model_dir)
    tuned = LocalGenerator(random_model_dir, adapter=adapter, batch_size=4, device="cpu")
    kwargs = dict(max_new_tokens=8, temperature=0.0, top_p=1.0, seed=0)
    base = random_generator.generate(chats(QUESTIONS), **kwargs)
    with_adapter = tuned.generate(chats(QUESTIONS), **kwargs)
    assert [c.text for c in base] != [c.text for c in with_adapter]


def test_tokenizer_without_chat_template_gets_plain_prompt(random_model_dir: Path) -> None:
    generator = LocalGenerator(random_model_dir, batch_size=2, device="cpu")
    generator.tokenizer.chat_template = None
    prompt = generator.render([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}])
    assert prompt == "Be brief.\n\n2+2?\n\n"


def test_model_argument_forms(tmp_path: Path, tiny_model_gguf: Path) -> None:
    assert _model_location("tiny", None) == (str(tiny_model_gguf.parent), tiny_model_gguf.name)
    assert _model_location(tiny_model_gguf, None) == (str(tiny_model_gguf.parent), tiny_model_gguf.name)
    assert _model_location("Qwen/Qwen2.5-7B", None) == ("Qwen/Qwen2.5-7B", None)
    with pytest.raises(FileNotFoundError):
        _model_location(tmp_path / "missing.gguf", None)


@pytest.mark.slow
def test_tiny_real_model_answers_and_batches_like_one_at_a_time() -> None:
    generator = LocalGenerator.tiny(batch_size=4, device="cpu")
    questions = ["What is 2+3?", "What is 10 minus 4?", "Say hello."]
    kwargs = dict(max_new_tokens=48, temperature=0.0, top_p=1.0, seed=0)
    batched = generator.generate(chats(questions), **kwargs)
    assert "5" in batched[0].text
    assert batched[0].finish_reason == "stop"
    one_by_one = [generator.generate(chats([q]), **kwargs)[0] for q in questions]
    assert [c.text for c in batched] == [c.text for c in one_by_one]
    cut = generator.generate(
        chats(["Write a long story about a dragon."]), max_new_tokens=5, temperature=0.6, top_p=0.95, seed=0
    )[0]
    assert (cut.finish_reason, cut.completion_tokens) == ("length", 5)


def test_continuous_batching_gives_the_batched_texts_at_temperature_0(random_model_dir: Path) -> None:
    # A random model rarely stops early, so rows of one padded chunk run to different lengths only
    # through max_new_tokens; the texts and token counts must still agree prompt by prompt.
    batched = LocalGenerator(random_model_dir, batch_size=2, device="cpu")
    continuous = LocalGenerator(random_model_dir, batch_size=2, device="cpu", engine="continuous")
    settings = {"max_new_tokens": 12, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    expected = batched.generate(chats(QUESTIONS), **settings)
    got = continuous.generate(chats(QUESTIONS), **settings)
    assert [(c.text, c.finish_reason, c.completion_tokens, c.prompt_tokens) for c in got] == [
        (c.text, c.finish_reason, c.completion_tokens, c.prompt_tokens) for c in expected
    ]


@pytest.mark.slow
def test_continuous_batching_matches_the_batched_loop_on_the_tiny_model_at_temperature_0() -> None:
    questions = [f"What is {a} + {3 * a}? Answer briefly." for a in range(6)] + QUESTIONS
    settings = {"max_new_tokens": 40, "temperature": 0.0, "top_p": 1.0, "seed": 0}
    expected = LocalGenerator.tiny(batch_size=4, device="cpu").generate(chats(questions), **settings)
    got = LocalGenerator.tiny(batch_size=4, device="cpu", engine="continuous").generate(chats(questions), **settings)
    assert [c.text for c in got] == [c.text for c in expected]
    assert len({c.completion_tokens for c in expected}) > 1  # answers of several lengths: real scheduling


def test_unknown_engine_is_refused(random_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="batched, continuous"):
        LocalGenerator(random_model_dir, device="cpu", engine="paged")
