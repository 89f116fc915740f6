"""KeyTableCommands: the command palette (ctrl+p) lists every action of the key table that
works on the screen it was opened from, with its keys, and runs the one picked."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from curate.review.help_screen import key_label
from curate.review.keys import for_scope

# The key-table scopes whose actions work on each screen (by class name: no import cycle).
SCREEN_SCOPES = {"MainScreen": ("app", "main"), "CompareScreen": ("app", "compare")}


class KeyTableCommands(Provider):
    def _entries(self):
        scopes = SCREEN_SCOPES.get(type(self.screen).__name__, ())
        for scope in scopes:
            for entry in for_scope(self.app.keys, scope):
                yield f"{entry.description} ({key_label(entry.keys)})", entry

    def _run(self, action: str):
        return self.app.run_action(action, self.screen)

    async def discover(self) -> Hits:
        for text, entry in self._entries():
            yield DiscoveryHit(text, partial(self._run, entry.action), help=f"action: {entry.name}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, entry in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(text), partial(self._run, entry.action), help=f"action: {entry.name}"
                )
