"""ProgramPanel: a code or SQL sample's program, highlighted, above its trace, with the
verdict's report (the tests the program passed, or how its query's rows differ from the gold's).

The program shown is the one the checker ran: the verdict's answer (curate/verify/code.py and
sql.py store the program or query they extracted there), so the review shows what was judged
and has no extraction rule of its own. Math samples have no program panel: it is hidden.
"""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from curate.review.details_panel import VERDICT_STYLE
from curate.review.queries import SampleDetail

# problems.domain -> (the lexer the program is highlighted with, what the panel calls it)
PROGRAM_DOMAINS = {"code": ("python", "Program"), "sql": ("sql", "Query")}


def program_domain(detail: SampleDetail | None) -> str | None:
    """The sample's domain when it has a program to show (code, sql), else None (math, choice)."""
    domain = detail.sample.get("domain") if detail is not None else None
    return domain if domain in PROGRAM_DOMAINS else None


class ProgramPanel(VerticalScroll, can_focus=False):
    """Scrolls with the mouse; never takes the keyboard, so the arrows keep moving between samples."""

    DEFAULT_CSS = """
    ProgramPanel {
        display: none;
        height: auto;
        max-height: 40%;
        border: round $primary 40%;
        border-title-color: $text;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    ProgramPanel.-shown { display: block; }
    """

    shown: tuple[str, str] | None = None  # (lexer, program) on screen

    def compose(self) -> ComposeResult:
        yield Static(id="program-report")
        yield Static(id="program-code")

    def show(self, detail: SampleDetail | None, new_sample: bool = True) -> None:
        """Show the sample's program and report (from its top for a `new_sample`), or hide the
        panel for a sample without one."""
        domain = program_domain(detail)
        self.set_class(domain is not None, "-shown")
        if domain is None:
            self.shown = None
            return
        lexer, name = PROGRAM_DOMAINS[domain]
        verdict = detail.verdict or {}
        status = verdict.get("verdict")
        self.border_title = Content(f"{name} ({lexer}) the checker ran" if verdict.get("answer") else name)
        report = self.query_one("#program-report", Static)
        if not verdict:
            report.update(Content.styled("not verified yet: `curate verify` extracts and runs it", "$text-muted"))
        else:
            report.update(
                Content.assemble(
                    (status or "—", VERDICT_STYLE.get(status, "bold")),
                    f" ({verdict['verifier']})",
                    (": " + verdict["reason"]) if verdict.get("reason") else "",
                )
            )
        program = verdict.get("answer")
        code = self.query_one("#program-code", Static)
        self.shown = (lexer, program) if program else None
        if program:
            theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
            code.update(
                Syntax(
                    program.rstrip("\n"),
                    lexer,
                    theme=theme,
                    line_numbers=True,
                    word_wrap=True,
                    background_color="default",
                )
            )
        else:
            code.update(
                Content.styled("no program was found in the answer (the trace below shows it all)", "$text-muted")
            )
        if new_sample:
            self.scroll_home(animate=False)
