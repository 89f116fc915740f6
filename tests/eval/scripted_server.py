"""A minimal OpenAI-compatible chat server for the eval tests: real HTTP (aiohttp), scripted answers.

`ScriptedServer(script)` answers a chat request whose prompt contains a script key with that
key's responses in order: the i-th choice served for a key is `script[key][i % len]`, so with
requests for one problem made one after another the text of sample i is known in advance. A
response is a string (the content) or a (reasoning, content) pair sent as `reasoning_content`.
`max_n` caps the choices per request (servers that ignore `n`); `fail_next` queues HTTP
statuses to answer the next requests with; `unknown_model` answers 404 for that model name.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class ScriptedServer:
    script: dict[str, list[str | tuple[str, str]]]
    max_n: int | None = None
    unknown_model: str | None = None
    fail_next: list[int] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    served: dict[str, int] = field(default_factory=dict)
    server_seconds: float = 0.0

    def start(self) -> str:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_post("/v1/chat/completions", self._chat)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _key(self, prompt: str) -> str:
        for key in self.script:
            if key in prompt:
                return key
        raise KeyError(prompt)

    async def _chat(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        body = await request.json()
        self.requests.append(body)
        if self.fail_next:
            status = self.fail_next.pop(0)
            return web.json_response(
                {"error": {"message": f"scripted {status}", "type": "server_error"}}, status=status
            )
        if body["model"] == self.unknown_model:
            return web.json_response(
                {"error": {"message": "model not found", "type": "invalid_request_error"}}, status=404
            )
        prompt = body["messages"][-1]["content"]
        key = self._key(prompt)
        n = body.get("n", 1) if self.max_n is None else min(body.get("n", 1), self.max_n)
        choices = []
        for index in range(n):
            served = self.served.get(key, 0)
            self.served[key] = served + 1
            response = self.script[key][served % len(self.script[key])]
            reasoning, content = response if isinstance(response, tuple) else (None, response)
            message = {"role": "assistant", "content": content}
            if reasoning is not None:
                message["reasoning_content"] = reasoning
            choices.append({"index": index, "message": message, "finish_reason": "stop"})
        payload = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": choices,
            "usage": {
                "prompt_tokens": len(prompt) // 4,
                "completion_tokens": 7 * n,
                "total_tokens": len(prompt) // 4 + 7 * n,
            },
        }
        self.server_seconds += time.perf_counter() - started
        return web.json_response(payload)
