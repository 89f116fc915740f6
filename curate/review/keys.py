"""The review app's key table, as data: every key the app binds comes from `KEY_TABLE`.

The app builds its bindings from this table (after the remapping in the config file) and the
help screen lists the same table, so the two cannot drift apart. Keys are written the way
Textual names them ("a", "J", "?", "ctrl+r", "pagedown"); several keys for one action are
given as a tuple. Nothing here imports Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from db.errors import BadInput

# Where a key works: "app" on the main and compare views (Textual stops app keys at a modal
# screen, so help and dialogs have their own), the others on one screen.
SCOPES = ("app", "main", "compare", "help", "dialog")
APP_SCOPES = ("main", "compare")


@dataclass(frozen=True)
class KeyAction:
    name: str  # the name used in the config file's [keys] table
    scope: str
    keys: tuple[str, ...]
    action: str  # the Textual action string the key runs
    description: str
    footer: str | None = None  # short label when the key is shown (and clickable) in the footer
    # The key opens a text dialog. Textual hands a key to the focused widget and runs a plain
    # binding only when the key bubbles back to the app, after it has handed on the keys typed
    # next: those would reach the main view, not the dialog. Such a key is bound with priority
    # (run before the next key is handed on), and the dialog's field has focus once it opens.
    opens_dialog: bool = False


KEY_TABLE: tuple[KeyAction, ...] = (
    KeyAction("help", "app", ("?",), "app.help", "Help: every key", footer="Help"),
    # Quit and note are left out of the footer (the help and the palette list them): at 80
    # columns it then shows the decision, move, answer and help keys whole.
    KeyAction("quit", "app", ("q", "ctrl+q", "ctrl+c"), "app.quit_review", "Save pending decisions and quit"),
    KeyAction("theme", "app", ("ctrl+t",), "app.toggle_theme", "Switch light / dark theme (saved in the config)"),
    # One key per decision, on the sample on screen (in compare: the focused side); on the main
    # view a decision moves on to the next sample.
    KeyAction("accept", "app", ("a",), "app.decide('accept')", "Accept", footer="Accept"),
    KeyAction("reject", "app", ("r",), "app.decide('reject')", "Reject", footer="Reject"),
    KeyAction("flag", "app", ("f",), "app.decide('flag')", "Flag for a second look", footer="Flag"),
    KeyAction("skip", "app", ("s",), "app.decide('skip')", "Skip (decide later)", footer="Skip"),
    KeyAction("undo", "app", ("u",), "app.undo", "Undo your latest decision (a bulk accept as a whole)", footer="Undo"),
    KeyAction(
        "bulk_accept",
        "main",
        ("A",),
        "app.bulk_accept",
        "Accept every correct sample of this problem you have not decided",
    ),
    KeyAction("note", "main", ("n",), "app.note", "Note, saved with your next decision", opens_dialog=True),
    KeyAction("correct", "main", ("c",), "app.correct", "Fix the answer and accept", opens_dialog=True),
    # Moving around the queue.
    KeyAction("next", "main", ("j", "down"), "app.move(1)", "Next sample", footer="Next"),
    KeyAction("previous", "main", ("k", "up"), "app.move(-1)", "Previous sample", footer="Prev"),
    KeyAction("next_problem", "main", ("J", "shift+down"), "app.move_problem(1)", "Next problem"),
    KeyAction("previous_problem", "main", ("K", "shift+up"), "app.move_problem(-1)", "Previous problem"),
    KeyAction("compare", "main", ("v",), "app.compare", "Compare two samples of this problem"),
    # The trace.
    KeyAction("answer", "app", ("=",), "app.jump_answer", "Jump to the final answer", footer="Answer"),
    KeyAction("next_step", "main", ("e",), "app.jump_step(1)", "Jump to the next wrong step a step check flags"),
    KeyAction("previous_step", "main", ("E",), "app.jump_step(-1)", "Jump to the previous wrong step"),
    KeyAction("unicode", "app", ("m",), "app.toggle_unicode", "Show LaTeX as Unicode / raw (raw by default)"),
    KeyAction("search", "main", ("/",), "app.search", "Search in the trace", opens_dialog=True),
    KeyAction("search_next", "main", (".",), "app.search_step(1)", "Next search match"),
    KeyAction("search_previous", "main", (",",), "app.search_step(-1)", "Previous search match"),
    KeyAction(
        "page_down", "main", ("pagedown", "space"), "app.scroll_trace('page_down')", "Scroll the trace down a page"
    ),
    KeyAction("page_up", "main", ("pageup", "b"), "app.scroll_trace('page_up')", "Scroll the trace up a page"),
    KeyAction("line_down", "main", ("ctrl+e",), "app.scroll_trace('down')", "Scroll the trace down a line"),
    KeyAction("line_up", "main", ("ctrl+y",), "app.scroll_trace('up')", "Scroll the trace up a line"),
    KeyAction("trace_top", "main", ("home", "g"), "app.scroll_trace('home')", "Top of the trace"),
    KeyAction("trace_end", "main", ("end", "G"), "app.scroll_trace('end')", "End of the trace"),
    # Queues and filters.
    KeyAction("filter", "main", ("w",), "app.filter", "Filter (SQL WHERE) and saved filters", opens_dialog=True),
    KeyAction("queue_pending", "main", ("1",), "app.queue('pending')", "Queue: not yet decided by you"),
    KeyAction("queue_all", "main", ("2",), "app.queue('all')", "Queue: every sample"),
    KeyAction("queue_flagged", "main", ("3",), "app.queue('flagged')", "Queue: flagged"),
    KeyAction(
        "queue_disagreements", "main", ("4",), "app.queue('disagreements')", "Queue: verifier vs review disagreements"
    ),
    KeyAction("reload", "main", ("ctrl+r",), "app.reload", "Reload the queue from the store"),
    # The compare view.
    KeyAction("compare_next", "compare", ("]",), "screen.cycle(1)", "Right pane: next sample of the problem"),
    KeyAction("compare_previous", "compare", ("[",), "screen.cycle(-1)", "Right pane: previous sample"),
    KeyAction(
        "compare_page_down",
        "compare",
        ("pagedown", "space"),
        "screen.scroll_both('page_down')",
        "Scroll both down a page",
    ),
    KeyAction("compare_page_up", "compare", ("pageup", "b"), "screen.scroll_both('page_up')", "Scroll both up a page"),
    KeyAction(
        "compare_left",
        "compare",
        ("h", "left"),
        "screen.focus_side('left')",
        "Focus the left sample (decisions apply to it)",
    ),
    KeyAction(
        "compare_right",
        "compare",
        ("l", "right"),
        "screen.focus_side('right')",
        "Focus the right sample (decisions apply to it)",
    ),
    KeyAction("compare_close", "compare", ("escape", "v"), "screen.dismiss", "Back to the sample", footer="Back"),
    # The help screen and the text dialogs (note, corrected answer, filter, search).
    KeyAction("help_close", "help", ("escape", "?", "q"), "screen.dismiss", "Close the help", footer="Close"),
    # The help scrolls with the keys that scroll the trace.
    KeyAction("help_page_down", "help", ("pagedown", "space"), "screen.scroll_help('page_down')", "Help: down a page"),
    KeyAction("help_page_up", "help", ("pageup", "b"), "screen.scroll_help('page_up')", "Help: up a page"),
    KeyAction("help_line_down", "help", ("j", "down", "ctrl+e"), "screen.scroll_help('down')", "Help: down a line"),
    KeyAction("help_line_up", "help", ("k", "up", "ctrl+y"), "screen.scroll_help('up')", "Help: up a line"),
    KeyAction("help_top", "help", ("home", "g"), "screen.scroll_help('home')", "Help: top"),
    KeyAction("help_end", "help", ("end", "G"), "screen.scroll_help('end')", "Help: end"),
    KeyAction("dialog_cancel", "dialog", ("escape",), "screen.cancel", "Cancel the dialog", footer="Cancel"),
)
# Enter in a dialog submits it; that key belongs to Textual's Input and is listed in the help.
DIALOG_SUBMIT_KEY = "enter"
# Textual's own keys the app keeps (the key table adds to them), listed in the help: (scope, keys, description).
TEXTUAL_KEYS = (
    ("app", ("ctrl+p",), "Command palette: search every action"),
    ("app", ("tab", "shift+tab"), "Next / previous pane (compare: the side decisions apply to)"),
    ("app", ("super+c",), "Copy the selected text"),
    ("help", ("tab", "shift+tab"), "Next / previous pane"),
    ("help", ("ctrl+c", "super+c"), "Copy the selected text"),
    ("dialog", ("tab", "shift+tab"), "Next / previous field"),
    ("dialog", ("ctrl+c", "super+c"), "Copy the selected text"),
)


def key_table(remap: dict[str, object] | None = None, *, source: str = "config") -> tuple[KeyAction, ...]:
    """The key table with the config file's [keys] remapping applied.

    `remap` maps an action name to a key or a list of keys (a comma-separated string works
    too). An unknown name, an empty key list, or two actions of one screen on one key is bad
    input, named in the message.
    """
    remap = remap or {}
    by_name = {entry.name: entry for entry in KEY_TABLE}
    unknown = sorted(set(remap) - set(by_name))
    if unknown:
        raise BadInput(
            f"unknown action(s) {', '.join(unknown)}; known: {', '.join(by_name)}", file=source, field="keys"
        )
    table = []
    for entry in KEY_TABLE:
        if entry.name in remap:
            keys = _parse_keys(remap[entry.name])
            if not keys:
                raise BadInput("an action needs at least one key", file=source, field=f"keys.{entry.name}")
            entry = replace(entry, keys=keys)
        table.append(entry)
    _check_clashes(table, source)
    return tuple(table)


def _parse_keys(value: object) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else [value]
    # A lone "," names the comma key; otherwise commas separate keys.
    if value == ",":
        return (",",)
    return tuple(str(item).strip() for item in items if str(item).strip())


def _check_clashes(table: list[KeyAction], source: str) -> None:
    # App keys work on the main and compare views, so they clash with those; other scopes only with themselves.
    seen: dict[tuple[str, str], str] = {}
    for entry in table:
        scopes = APP_SCOPES if entry.scope == "app" else (entry.scope,)
        for key in entry.keys:
            for scope in scopes:
                other = seen.get((scope, key))
                if other is not None and other != entry.name:
                    raise BadInput(
                        f"key {key!r} is bound to both {other!r} and {entry.name!r}", file=source, field="keys"
                    )
                seen[(scope, key)] = entry.name


def for_scope(table: tuple[KeyAction, ...], scope: str) -> tuple[KeyAction, ...]:
    return tuple(entry for entry in table if entry.scope == scope)
