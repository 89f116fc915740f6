"""The one OpenAI-compatible client: chat requests with the retry, rate-limit and endpoint rules
of this project.

Used by `curate generate` (teacher sampling), `curate judge` (the judge model) and
`evaluate run` (endpoint backend, several choices per request with `n`).

Contract
- `EndpointPool(urls, api_key, timeout_s, concurrency)`: one shared `openai.AsyncOpenAI`
  client per endpoint, its connection pool sized to the concurrency. Each request goes to the
  endpoint with the fewest outstanding requests among those not resting; an endpoint that
  refuses connections, times out or answers 429 rests (Retry-After, else exponential backoff)
  while the others carry on, so one dead or slow endpoint does not stall the run.
- `complete(...)` sends one chat request and applies the retry rules: 429 (after Retry-After),
  5xx, connection errors, timeouts, bodies that are not valid JSON, empty content and DeepSeek's
  `insufficient_system_resource` finish are retried with exponential backoff and full jitter,
  up to `RetryPolicy.max_retries` retries; a `length` finish is returned as is (never retried);
  other 4xx answers fail the request at once; 401/403/404 raise `EndpointRejected`, which stops
  the whole run (every other request would fail the same way) and, being `BadInput` (a wrong
  key, model name or URL), exits 2 in every CLI. `params` may carry `n`: `Outcome.replies`
  holds every choice; with `retry_empty=False` empty replies are returned for the caller to
  handle (eval keeps the non-empty choices of a request and asks again for the rest).
- `endpoint_urls(base_urls)`: the URLs given, else `$OPENAI_BASE_URL`, else `DEFAULT_BASE_URL`.
- `RateLimiter(rpm, tpm)`: token buckets for requests and tokens per minute. Tokens are reserved
  before a request (prompt estimate + mean completion so far) and settled with the real usage.
- Reasoning comes from `reasoning_content` (DeepSeek), `reasoning` (vLLM) or an inline
  `<think>...</think>` in the content (split with `curate.traces.split_think`).

Caveats: the `openai` client's own retries are off (`max_retries=0`) so these rules are the only
ones. API keys live only in the client objects: nothing here logs or returns them, and
`public_url` strips user info and query strings from endpoint URLs before they are stored.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import openai

try:  # openai >= 3 is built on httpx2; earlier versions on httpx
    import httpx2 as httpx
except ImportError:
    import httpx

from curate.pricing import Price
from curate.traces import split_think
from db.errors import BadInput
from db.redact import redact_url

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRYABLE_FINISHES = ("insufficient_system_resource",)
KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9*._\-]{4,}")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff with full jitter."""

    max_retries: int = 6
    base_s: float = 1.0  # first backoff; doubles with each retry
    cap_s: float = 60.0  # longest single backoff

    def backoff(self, retry: int) -> float:
        """Full jitter: uniform in [base*2^retry / 2, base*2^retry], capped."""
        ceiling = min(self.cap_s, self.base_s * (2**retry))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class EndpointConfig:
    """The options of every command that calls chat endpoints through this client (generate, judge).

    Stage configs extend it; flags: --model, --base-url (repeatable: `base_urls`), --api-key-env
    (the variable's name is stored, never the key), --concurrency, --timeout (`timeout_s`),
    --max-retries, --backoff (`backoff_s`), --price-in / --price-out / --price-file.
    """

    model: str
    base_urls: tuple[str, ...] = ()
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    timeout_s: float = 3600.0
    max_retries: int = 6
    backoff_s: float = 1.0
    price_in: float | None = None
    price_out: float | None = None
    price_file: str | None = None


@dataclass(frozen=True)
class ChatReply:
    """One completion as stored: reasoning and final content apart."""

    reasoning: str | None
    content: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    reasoning_tokens: int | None
    latency_s: float
    endpoint: str

    @property
    def empty(self) -> bool:
        """No final content (reasoning alone does not count)."""
        return not (self.content or "").strip()


@dataclass
class Outcome:
    """What `complete` got after its retries: a reply, or the error text of the last attempt."""

    reply: ChatReply | None
    error: str | None
    attempts: int
    cost_usd: float | None  # every billed attempt, retries of empty replies included
    endpoint: str | None
    replies: list[ChatReply] = field(default_factory=list)  # every choice of the answer (`n` > 1); reply is the first


class EndpointRejected(BadInput):
    """The endpoint refused the request for good (bad key, no access, unknown model): exit 2."""

    def __init__(self, message: str):
        super().__init__(message, field="--model/--base-url")


def endpoint_urls(base_urls: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """The endpoints to use: those given, else $OPENAI_BASE_URL, else DEFAULT_BASE_URL."""
    return tuple(base_urls) if base_urls else (os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,)


def public_url(url: str) -> str:
    """The URL without user info, query or fragment: safe to store and print."""
    parts = urlsplit(redact_url(url))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


@dataclass
class Endpoint:
    """One endpoint's client and its load: requests outstanding, consecutive failures, rest until."""

    url: str
    client: openai.AsyncOpenAI
    outstanding: int = 0
    failures: int = 0  # consecutive connection failures
    resting_until: float = 0.0  # time.monotonic() before which no request goes here
    sent: int = 0


class EndpointPool:
    """Endpoints and their clients; `acquire` picks one, `release` reports how it went."""

    def __init__(
        self,
        urls: list[str] | tuple[str, ...],
        api_key: str,
        timeout_s: float,
        concurrency: int,
        policy: RetryPolicy | None = None,
    ):
        self.policy = policy or RetryPolicy()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        self.endpoints = [
            Endpoint(
                public_url(url),
                openai.AsyncOpenAI(
                    api_key=api_key,
                    base_url=url,
                    max_retries=0,
                    timeout=timeout,
                    http_client=openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout),
                ),
            )
            for url in urls
        ]
        self._turn = 0
        self._secret = api_key

    def redact(self, text: str) -> str:
        """Error text with the key, and anything shaped like one, blanked (servers echo keys)."""
        if self._secret and len(self._secret) >= 4:
            text = text.replace(self._secret, "***")
        return KEY_LIKE.sub("sk-***", text)

    async def acquire(self) -> Endpoint:
        """The ready endpoint with the fewest outstanding requests (round robin on ties); waits while all rest."""
        while True:
            now = time.monotonic()
            ready = [e for e in self.endpoints if e.resting_until <= now]
            if ready:
                self._turn += 1
                count = len(self.endpoints)
                chosen = min(ready, key=lambda e: (e.outstanding, (self.endpoints.index(e) - self._turn) % count))
                chosen.outstanding += 1
                chosen.sent += 1
                return chosen
            await asyncio.sleep(max(0.01, min(e.resting_until for e in self.endpoints) - now))

    def release(self, endpoint: Endpoint, *, healthy: bool, rest_s: float | None = None) -> None:
        """Report a request's end; an unhealthy endpoint rests `rest_s` (else backoff by failures)."""
        endpoint.outstanding -= 1
        if healthy:
            endpoint.failures = 0
            return
        endpoint.failures += 1
        rest = rest_s if rest_s is not None else self.policy.backoff(endpoint.failures - 1)
        endpoint.resting_until = max(endpoint.resting_until, time.monotonic() + rest)

    async def close(self) -> None:
        """Close every endpoint's client (its connection pool)."""
        for endpoint in self.endpoints:
            await endpoint.client.close()


class TokenBucket:
    """`per_minute` units a minute, bursts up to ten seconds' worth."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 6.0)
        self.level = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float) -> None:
        """Wait until `amount` units are available and take them (capped at the bucket's capacity)."""
        amount = min(amount, self.capacity)
        async with self._lock:
            while True:
                self._refill()
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)

    def settle(self, difference: float) -> None:
        """Charge (or refund) the difference between a reservation and what was used."""
        self._refill()
        self.level = min(self.capacity, self.level - difference)


class RateLimiter:
    """Requests- and tokens-per-minute buckets; either may be None (no limit)."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None, expected_completion_tokens: int = 1000):
        self.requests = TokenBucket(rpm) if rpm else None
        self.tokens = TokenBucket(tpm) if tpm else None
        self._completion_total = 0
        self._completions = 0
        self._expected = expected_completion_tokens

    def estimate(self, prompt: str) -> int:
        """Tokens a request will use: prompt chars / 4 plus the mean completion so far."""
        mean = self._completion_total / self._completions if self._completions else self._expected
        return len(prompt) // 4 + int(mean)

    async def acquire(self, prompt: str) -> int:
        """Wait for room; returns the tokens reserved (settle them with `used`)."""
        if self.requests:
            await self.requests.take(1)
        reserved = self.estimate(prompt) if self.tokens else 0
        if self.tokens:
            await self.tokens.take(reserved)
        return reserved

    def used(self, reserved: int, prompt_tokens: int | None, completion_tokens: int | None) -> None:
        """Settle a reservation with the usage the server reported."""
        if completion_tokens is not None:
            self._completion_total += completion_tokens
            self._completions += 1
        if self.tokens:
            self.tokens.settle((prompt_tokens or 0) + (completion_tokens or 0) - reserved)


def _extra(message: object, name: str) -> str | None:
    value = getattr(message, name, None)
    if value is None:
        value = (getattr(message, "model_extra", None) or {}).get(name)
    return value if isinstance(value, str) else None


def parse_response(response: object, latency_s: float, endpoint: str) -> list[ChatReply]:
    """Every choice of a chat completion, reasoning taken from whichever field carries it."""
    usage = getattr(response, "usage", None)
    details = getattr(usage, "completion_tokens_details", None)
    choices = getattr(response, "choices", None) or []
    replies = []
    for choice in choices:
        message = choice.message
        reasoning = _extra(message, "reasoning_content") or _extra(message, "reasoning")
        content = message.content
        if content and ("<think>" in content or "</think>" in content):
            inline, content, _closed = split_think(content)
            reasoning = reasoning or inline
        replies.append(
            ChatReply(
                reasoning=reasoning,
                content=content,
                finish_reason=choice.finish_reason,
                # usage covers all choices; every choice had the whole prompt, but with n > 1 the
                # completion total is shared, so completion tokens are only attributed when n == 1
                prompt_tokens=getattr(usage, "prompt_tokens", None),
                completion_tokens=getattr(usage, "completion_tokens", None) if len(choices) == 1 else None,
                reasoning_tokens=getattr(details, "reasoning_tokens", None) if len(choices) == 1 else None,
                latency_s=latency_s,
                endpoint=endpoint,
            )
        )
    return replies


def _retry_after(error: openai.APIStatusError) -> float | None:
    headers = error.response.headers
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _classify(error: BaseException) -> tuple[bool, bool, float | None]:
    """(retry it, the endpoint is healthy, seconds the server asked us to wait)."""
    if isinstance(error, openai.RateLimitError):
        return True, False, _retry_after(error)
    if isinstance(error, openai.APIStatusError):
        return error.status_code >= 500 or error.status_code == 408, True, None
    if isinstance(error, openai.APIConnectionError):  # refused, reset or timed out: rest the endpoint
        return True, False, None
    return True, True, None  # a body that is not JSON, or not a chat completion


def _describe(error: BaseException) -> str:
    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}: {str(error.message)[:300]}"
    if isinstance(error, openai.APITimeoutError):
        return "timeout"
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        return f"connection error: {type(cause).__name__ if cause else ''} {cause or ''}".strip()
    if isinstance(error, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return f"malformed response: {str(error)[:200]}"
    return f"{type(error).__name__}: {str(error)[:300]}"


async def complete(
    pool: EndpointPool,
    *,
    model: str,
    messages: list[dict],
    params: dict,
    policy: RetryPolicy,
    limiter: RateLimiter | None = None,
    price: Price | None = None,
    on_retry: Callable[[str | None], None] | None = None,
    retry_empty: bool = True,
) -> Outcome:
    """One chat completion under the retry rules; see the module docstring.

    `params` go to the request as they are (temperature, max_tokens, n, seed, ...).
    """
    prompt_text = "\n".join(str(m.get("content") or "") for m in messages)
    cost = 0.0 if price is not None else None
    last_error, last_endpoint, reply = None, None, None
    for attempt in range(policy.max_retries + 1):
        if attempt and on_retry is not None:
            on_retry(last_error)
        reserved = await limiter.acquire(prompt_text) if limiter else 0
        endpoint = await pool.acquire()
        last_endpoint = endpoint.url
        started = time.monotonic()
        try:
            response = await endpoint.client.chat.completions.create(model=model, messages=messages, **params)
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as error:
            pool.release(endpoint, healthy=True)
            raise EndpointRejected(f"{endpoint.url} refused the request ({pool.redact(_describe(error))})") from None
        except (
            openai.APIStatusError,
            openai.APIConnectionError,
            json.JSONDecodeError,
            openai.APIResponseValidationError,
        ) as error:
            retryable, healthy, wait = _classify(error)
            pool.release(endpoint, healthy=healthy, rest_s=wait)
            last_error = pool.redact(_describe(error))
            if limiter:
                limiter.used(reserved, 0, None)
            if not retryable:
                return Outcome(None, last_error, attempt + 1, cost, last_endpoint)
            if attempt < policy.max_retries:
                await asyncio.sleep(policy.backoff(attempt) if wait is None else wait + random.uniform(0, 0.1))
            continue
        pool.release(endpoint, healthy=True)
        replies = parse_response(response, time.monotonic() - started, endpoint.url)
        if not replies:
            last_error = "malformed response: no choices"
            if limiter:
                limiter.used(reserved, 0, None)
            if attempt < policy.max_retries:
                await asyncio.sleep(policy.backoff(attempt))
            continue
        reply = replies[0]
        if limiter:
            limiter.used(reserved, reply.prompt_tokens, reply.completion_tokens)
        if price is not None:
            cost += price.cost(reply.prompt_tokens, reply.completion_tokens)
        retry_finish = reply.finish_reason in RETRYABLE_FINISHES
        if (
            retry_empty
            and reply.finish_reason != "length"
            and (reply.empty or retry_finish)
            and attempt < policy.max_retries
        ):
            last_error = f"finish_reason {reply.finish_reason}" if retry_finish else "empty content"
            await asyncio.sleep(policy.backoff(attempt))
            continue
        return Outcome(reply, None, attempt + 1, cost, last_endpoint, replies)
    if reply is not None:
        # The last attempt answered, emptily: keep that answer (status empty), not an error.
        return Outcome(reply, None, policy.max_retries + 1, cost, last_endpoint, replies)
    return Outcome(
        None,
        f"gave up after {policy.max_retries + 1} attempts; last: {last_error}",
        policy.max_retries + 1,
        cost,
        last_endpoint,
    )
