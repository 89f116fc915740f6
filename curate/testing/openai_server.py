"""A local OpenAI-compatible chat server that answers like DeepSeek-R1 and fails on demand.

Contract
- Real HTTP (aiohttp): `POST /v1/chat/completions` (non-streaming, `n` >= 1) and
  `GET /v1/models`. Every answer is R1-shaped: reasoning in `reasoning_content` (DeepSeek's API),
  `reasoning` (newer vLLM) or inline `<think>...</think>` in the content, then a final content
  that ends in `\\boxed{answer}`, with usage that counts prompt, completion and reasoning tokens
  (about four characters per token).
- The answer to a prompt is deterministic: `answers` (a dict question -> answer, matched as a
  substring of the prompt, or a callable prompt -> answer); by default the text of a
  `[[answer: X]]` marker in the prompt, else a number derived from a hash of the prompt.
  `content` (a callable (prompt, answer) -> text) replaces the whole final content, which lets a
  test play a judge model.
  `respond` (a callable (prompt, k) -> (reasoning, content), k = how many completions this
  prompt got before from this server) replaces both, for a scripted teacher whose samples of one
  prompt differ (`curate.demo_teacher.DemoTeacher`; `--teacher digit-sum` on the command line).
- A completion that would pass the request's `max_tokens` is cut there: `finish_reason`
  "length", reasoning cut, content empty (what R1 does when it thinks too long).
- Faults, chosen per request in this order: `inject(fault, times)` (the next requests),
  `faults_by_request` ({1-based request number: fault}), a `[[fault: NAME]]` or
  `[[fault: NAME*K]]` marker in the prompt (every request, or the first K, carrying that
  prompt), `fault_probability` ({fault: p}, seeded). Faults: rate_limit (429 with
  Retry-After), server_error (500), hang (no answer for `hang_s`), disconnect (connection closed
  without an answer), empty (200 with empty content and no reasoning), length (finish "length",
  no content), malformed (200 with a body that is not JSON).
- `OpenAIServer(...).start()` runs it on a free port in a background thread (for tests);
  `python -m curate.testing.openai_server [--port P] [--reasoning-chars N]` runs it as its own
  process (for benchmarks) and prints `ready URL` on stdout once it listens.

Caveats: token counts are estimates (characters / 4); `n` > 1 choices share one fault. The
request log keeps the last 10,000 requests; counters cover all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable

from aiohttp import web

FAULTS = ("rate_limit", "server_error", "hang", "disconnect", "empty", "length", "malformed")
ANSWER_MARKER = re.compile(r"\[\[answer:\s*(.*?)\s*\]\]", re.S)
FAULT_MARKER = re.compile(r"\[\[fault:\s*([a-z_]+)(?:\*(\d+))?\s*\]\]")
FILLER = "Let me work through this carefully, checking each step against the conditions. "
WORDS = (
    "so",
    "then",
    "the",
    "sum",
    "of",
    "both",
    "terms",
    "is",
    "equal",
    "to",
    "we",
    "get",
    "check",
    "again",
    "wait",
    "factor",
    "divide",
    "by",
    "two",
    "three",
    "square",
    "root",
    "hence",
    "because",
    "case",
    "first",
    "next",
    "x",
    "y",
    "n",
    "k",
    "prime",
    "modulo",
    "integer",
    "fraction",
    "denominator",
    "numerator",
    "simplify",
    "area",
)
MALFORMED_BODY = (
    b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assi'
)


@dataclass(frozen=True)
class RequestRecord:
    """One chat request as the server saw it."""

    number: int
    at: float  # time.monotonic() when it arrived
    model: str
    prompt: str
    n: int
    max_tokens: int | None
    fault: str | None
    authorization: str | None


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _default_answer(prompt: str) -> str:
    found = ANSWER_MARKER.search(prompt)
    if found:
        return found.group(1)
    return str(int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16) % 997)


def _default_content(prompt: str, answer: str) -> str:
    return f"Putting the steps together, the final answer is $\\boxed{{{answer}}}$."


class OpenAIServer:
    """The server; configure it in the constructor or through attributes between requests."""

    def __init__(
        self,
        *,
        answers: dict[str, str] | Callable[[str], str] | None = None,
        content: Callable[[str, str], str] | None = None,
        respond: Callable[[str, int], tuple[str, str]] | None = None,
        reasoning_style: str = "reasoning_content",
        reasoning_chars: int = 300,
        latency_s: float = 0.0,
        retry_after_s: float = 1.0,
        hang_s: float = 3600.0,
        faults_by_request: dict[int, str] | None = None,
        fault_probability: dict[str, float] | None = None,
        seed: int = 0,
        models: tuple[str, ...] = ("deepseek-reasoner",),
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_log: bool = True,
    ):
        if reasoning_style not in ("reasoning_content", "reasoning", "inline"):
            raise ValueError(f"reasoning_style must be reasoning_content, reasoning or inline, not {reasoning_style!r}")
        for fault in list((faults_by_request or {}).values()) + list(fault_probability or {}):
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
        self.answers = answers
        self.content = content or _default_content
        self.respond = respond
        self._answered: Counter[str] = Counter()
        self.reasoning_style = reasoning_style
        self.reasoning_chars = reasoning_chars
        self.latency_s = latency_s
        self.retry_after_s = retry_after_s
        self.hang_s = hang_s
        self.faults_by_request = dict(faults_by_request or {})
        self.fault_probability = dict(fault_probability or {})
        self.models = models
        self.api_key = api_key
        self.host, self.port = host, port
        self.keep_log = keep_log
        self.requests = 0
        self.completed = 0
        self.faults_served: Counter[str] = Counter()
        self.authorizations: set[str] = set()
        self.log: deque[RequestRecord] = deque(maxlen=10_000)
        self._random = random.Random(seed)
        self._injected: deque[str] = deque()
        self._per_prompt: Counter[str] = Counter()
        self._word_block: str | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- configuration at run time ----------------------------------------------------------
    def inject(self, fault: str, times: int = 1) -> None:
        """The next `times` chat requests get `fault`."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
        with self._lock:
            self._injected.extend([fault] * times)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def prompts_seen(self) -> Counter[str]:
        """How many chat requests carried each prompt (from the log)."""
        return Counter(record.prompt for record in self.log)

    # -- answering --------------------------------------------------------------------------
    def answer_for(self, prompt: str) -> str:
        if callable(self.answers):
            return str(self.answers(prompt))
        if isinstance(self.answers, dict):
            if prompt in self.answers:
                return str(self.answers[prompt])
            for question, answer in self.answers.items():
                if question in prompt:
                    return str(answer)
        return _default_answer(prompt)

    def _filler(self, chars: int, prompt: str) -> str:
        """`chars` characters of reasoning: a fixed opening, then word salad that differs by prompt
        (so stored traces do not compress to nothing), sliced from one cached block."""
        if chars <= len(FILLER):
            return FILLER[:chars]
        if self._word_block is None:
            pick = random.Random(1)
            self._word_block = " ".join(pick.choice(WORDS) for _ in range(80_000))
        block = self._word_block
        body = chars - len(FILLER)
        start = int(hashlib.md5(prompt.encode()).hexdigest()[:8], 16) % max(1, len(block) - body)
        return FILLER + block[start : start + body]

    def _choose_fault(self, number: int, prompt: str) -> str | None:
        with self._lock:
            if self._injected:
                return self._injected.popleft()
            if number in self.faults_by_request:
                return self.faults_by_request[number]
            marked = FAULT_MARKER.search(prompt)
            if marked:
                self._per_prompt[prompt] += 1
                limit = int(marked.group(2)) if marked.group(2) else None
                if limit is None or self._per_prompt[prompt] <= limit:
                    return marked.group(1)
            for fault, probability in self.fault_probability.items():
                if self._random.random() < probability:
                    return fault
        return None

    def _choice(self, index: int, prompt: str, max_tokens: int | None, fault: str | None) -> tuple[dict, int, int]:
        """(choice, completion tokens, reasoning tokens) of one completion."""
        if self.respond is not None:
            with self._lock:
                k = self._answered[prompt]
                self._answered[prompt] += 1
            reasoning, content = self.respond(prompt, k)
        else:
            answer = self.answer_for(prompt)
            reasoning = self._filler(self.reasoning_chars, prompt) + f" So the answer should be {answer}."
            content = self.content(prompt, answer)
        finish = "stop"
        if fault == "empty":
            reasoning, content = "", ""
        budget_chars = max_tokens * 4 if max_tokens else None
        if fault == "length" or (budget_chars is not None and len(reasoning) + len(content) > budget_chars):
            reasoning = reasoning[: budget_chars or len(reasoning) // 2]
            content, finish = "", "length"
        reasoning_tokens = _tokens(reasoning)
        completion_tokens = reasoning_tokens + _tokens(content)
        if finish == "length" and max_tokens:
            completion_tokens = max_tokens
        message: dict = {"role": "assistant"}
        if self.reasoning_style == "inline":
            message["content"] = (f"<think>\n{reasoning}\n</think>\n\n" if reasoning else "") + content
            if finish == "length" and reasoning:
                message["content"] = f"<think>\n{reasoning}"
        else:
            message["content"] = content
            message[self.reasoning_style] = reasoning or None
        return (
            {"index": index, "message": message, "finish_reason": finish, "logprobs": None},
            completion_tokens,
            reasoning_tokens,
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        try:
            body = json.loads(await request.read())
            messages = body["messages"]
            prompt = "\n".join(str(m.get("content") or "") for m in messages)
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response(
                {"error": {"message": "bad request body", "type": "invalid_request_error"}}, status=400
            )
        authorization = request.headers.get("Authorization")
        with self._lock:
            self.requests += 1
            number = self.requests
            if authorization:
                self.authorizations.add(authorization)
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            # Echo the key as some providers do (masked there), so tests can check it is not kept.
            given = (authorization or "").removeprefix("Bearer ")
            return web.json_response(
                {"error": {"message": f"Incorrect API key provided: {given}", "type": "authentication_error"}},
                status=401,
            )
        fault = self._choose_fault(number, prompt)
        n = int(body.get("n") or 1)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        model = str(body.get("model", ""))
        if self.keep_log:
            self.log.append(RequestRecord(number, arrived, model, prompt, n, max_tokens, fault, authorization))
        if fault:
            with self._lock:
                self.faults_served[fault] += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if fault == "rate_limit":
            return web.json_response(
                {"error": {"message": "rate limit reached, slow down", "type": "rate_limit_error"}},
                status=429,
                headers={"Retry-After": f"{self.retry_after_s:g}"},
            )
        if fault == "server_error":
            return web.json_response({"error": {"message": "internal error", "type": "server_error"}}, status=500)
        if fault == "hang":
            await asyncio.sleep(self.hang_s)
        if fault == "disconnect":
            request.transport.close()
            return web.Response(status=500)
        if fault == "malformed":
            return web.Response(body=MALFORMED_BODY, content_type="application/json")
        choices, completion_tokens, reasoning_tokens = [], 0, 0
        for index in range(n):
            choice, completion, reasoning = self._choice(index, prompt, max_tokens, fault)
            choices.append(choice)
            completion_tokens += completion
            reasoning_tokens += reasoning
        prompt_tokens = _tokens(prompt)
        payload = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
            },
        }
        with self._lock:
            self.completed += 1
        return web.Response(body=json.dumps(payload).encode(), content_type="application/json")

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 0, "owned_by": "curate-testing"} for name in self.models
                ],
            }
        )

    # -- lifecycle --------------------------------------------------------------------------
    def app(self) -> web.Application:
        application = web.Application(client_max_size=64 * 1024 * 1024)
        application.router.add_post("/v1/chat/completions", self._chat)
        application.router.add_get("/v1/models", self._models)
        return application

    async def serve(self) -> None:
        """Start listening on the running loop; `port` holds the bound port afterwards."""
        # handler_cancellation: a client that times out ends its hung handler too.
        self._runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> "OpenAIServer":
        """Serve from a background thread with its own event loop; returns once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.serve())
            except BaseException as error:  # reported to the starting thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        self._thread = threading.Thread(target=run, name="openai-test-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = self._thread = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fault-injecting OpenAI-compatible test server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--reasoning-chars", type=int, default=300, help="characters of reasoning per completion")
    parser.add_argument(
        "--reasoning-style", default="reasoning_content", choices=("reasoning_content", "reasoning", "inline")
    )
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME=P",
        help="fault probability, e.g. rate_limit=0.01 (repeatable)",
    )
    parser.add_argument("--retry-after-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--teacher", choices=("digit-sum",), help="answer as the demo's scripted teacher")
    args = parser.parse_args(argv)
    probabilities = {}
    for item in args.fault:
        name, _, probability = item.partition("=")
        probabilities[name] = float(probability or 1.0)
    respond = None
    if args.teacher == "digit-sum":
        from curate.demo_teacher import DemoTeacher

        respond = DemoTeacher(seed=args.seed)
    server = OpenAIServer(
        respond=respond,
        reasoning_chars=args.reasoning_chars,
        reasoning_style=args.reasoning_style,
        latency_s=args.latency_s,
        fault_probability=probabilities,
        retry_after_s=args.retry_after_s,
        seed=args.seed,
        host=args.host,
        port=args.port,
        keep_log=False,
    )

    async def run() -> None:
        await server.serve()
        print(f"ready {server.base_url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
