"""LaTeX shown as readable Unicode, for the review app's rendering toggle (raw is the default).

`to_unicode(text)` rewrites the math commands a reasoning trace uses: fractions (`\\frac{1}{2}`,
`\\dfrac34` -> 1/2, 3/4), roots (`\\sqrt[3]{x}` -> ∛x), Greek letters, relations and operators,
sub- and superscripts (`10^{-3}` -> 10⁻³, `x_1` -> x₁; a script with a character Unicode has
no small form stays readable as `^(…)` / `_(…)`), `\\boxed{X}` -> ⟦X⟧, `\\text{…}` -> its text.
Values must survive: an argument is never dropped, and a command this module does not know
stays as written (`\\mathfrak{g}` stays `\\mathfrak{g}`). Dollar signs stay (they may be money).
A well-kept library was considered: pylatexenc's latex-to-text turns `\\boxed{\\dfrac34}` into
"34", losing the value, so this is a small converter of its own. Nothing here imports Textual.
"""

from __future__ import annotations

SYMBOLS = {
    # Greek
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "varpi": "ϖ",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Upsilon": "Υ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    # relations and operators
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "equiv": "≡",
    "sim": "∼",
    "cong": "≅",
    "pm": "±",
    "mp": "∓",
    "times": "×",
    "cdot": "·",
    "div": "÷",
    "ast": "∗",
    "circ": "∘",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "emptyset": "∅",
    "forall": "∀",
    "exists": "∃",
    "neg": "¬",
    "land": "∧",
    "lor": "∨",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "iff": "⟺",
    "implies": "⟹",
    "mid": "∣",
    "ldots": "…",
    "cdots": "⋯",
    "dots": "…",
    "angle": "∠",
    "perp": "⊥",
    "parallel": "∥",
    "degree": "°",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "langle": "⟨",
    "rangle": "⟩",
    "quad": "  ",
    "qquad": "    ",
    # names that read as themselves
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "cot": "cot",
    "sec": "sec",
    "csc": "csc",
    "log": "log",
    "ln": "ln",
    "exp": "exp",
    "lim": "lim",
    "max": "max",
    "min": "min",
    "gcd": "gcd",
    "det": "det",
    "bmod": "mod",
    "mod": "mod",
    "arcsin": "arcsin",
    "arccos": "arccos",
    "arctan": "arctan",
}
# One-character commands: spacing and escaped specials.
SHORT = {
    ",": " ",
    ";": " ",
    ":": " ",
    "!": "",
    " ": " ",
    "{": "{",
    "}": "}",
    "%": "%",
    "$": "$",
    "&": "&",
    "#": "#",
    "_": "_",
    "|": "‖",
}
# Wrappers whose argument is shown as is.
TEXT_LIKE = {"text", "textbf", "textit", "mathrm", "mathbf", "mathit", "mathsf", "operatorname", "mbox", "displaystyle"}
# Commands that only size a delimiter: the delimiter stays.
SIZING = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr"}
FRACTIONS = {"frac", "dfrac", "tfrac", "cfrac"}

SUPERSCRIPT = dict(zip("0123456789+-−=()niaebcdfghjklmoprstuvwxyz∘", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵃᵉᵇᶜᵈᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻ°"))
SUBSCRIPT = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
ROOTS = {"": "√", "2": "√", "3": "∛", "4": "∜"}
BOX_OPEN, BOX_CLOSE = "⟦", "⟧"


def to_unicode(text: str) -> str:
    """The text with its LaTeX math rewritten as Unicode (see the module docstring)."""
    return _Converter(text).convert_all()


class _Converter:
    def __init__(self, text: str):
        self.text = text
        self.i = 0

    def convert_all(self) -> str:
        out = []
        while self.i < len(self.text):
            out.append(self._item())
        return "".join(out)

    # -- reading ---------------------------------------------------------------------------
    def _item(self) -> str:
        """Convert one item at the cursor: a command, a group, a script, or a character."""
        char = self.text[self.i]
        if char == "\\":
            return self._command()
        if char == "{":
            return self._group_text()
        if char in "^_" and self.i + 1 < len(self.text) and not self.text[self.i + 1].isspace():
            self.i += 1
            return _script(self._argument(), SUPERSCRIPT if char == "^" else SUBSCRIPT, char)
        self.i += 1
        return char

    def _group_text(self) -> str:
        """Convert a {…} group at the cursor; its braces are dropped. An unclosed brace stays."""
        end = _closing_brace(self.text, self.i)
        if end is None:
            self.i += 1
            return "{"
        inner = _Converter(self.text[self.i + 1 : end]).convert_all()
        self.i = end + 1
        return inner

    def _argument(self) -> str:
        """A command's argument: a {group}, a command, or one character (`\\frac34`); spaces skipped."""
        while self.i < len(self.text) and self.text[self.i] == " ":
            self.i += 1
        if self.i >= len(self.text):
            return ""
        if self.text[self.i] == "{":
            return self._group_text()
        if self.text[self.i] == "\\":
            return self._command()
        self.i += 1
        return self.text[self.i - 1]

    def _command(self) -> str:
        start = self.i
        self.i += 1
        if self.i >= len(self.text):
            return "\\"
        if not self.text[self.i].isalpha():
            char = self.text[self.i]
            self.i += 1
            return SHORT.get(char, self.text[start : self.i])
        while self.i < len(self.text) and self.text[self.i].isalpha():
            self.i += 1
        name = self.text[start + 1 : self.i]
        if name in FRACTIONS:
            numerator, denominator = self._argument(), self._argument()
            return f"{_operand(numerator)}/{_operand(denominator)}"
        if name == "sqrt":
            index = self._optional()
            radicand = self._argument()
            sign = ROOTS.get(index.strip())
            if sign is None:
                return f"{_script(index, SUPERSCRIPT, '^')}√{_operand(radicand, always=len(radicand) > 1)}"
            return f"{sign}{_operand(radicand, always=len(radicand) > 1)}"
        if name == "boxed":
            return f"{BOX_OPEN}{self._argument()}{BOX_CLOSE}"
        if name in TEXT_LIKE:
            return self._argument() if name != "displaystyle" else ""
        if name in SIZING:
            return ""
        if name in SYMBOLS:
            return SYMBOLS[name]
        kept = self.text[start : self.i]  # unknown: kept as written, its {arguments} keep their braces
        while self.i < len(self.text) and self.text[self.i] == "{" and _closing_brace(self.text, self.i) is not None:
            kept += "{" + self._group_text() + "}"
        return kept

    def _optional(self) -> str:
        """An optional [argument] at the cursor, converted; "" when there is none."""
        if self.i < len(self.text) and self.text[self.i] == "[":
            end = self.text.find("]", self.i)
            if end != -1:
                inner = _Converter(self.text[self.i + 1 : end]).convert_all()
                self.i = end + 1
                return inner
        return ""


def _closing_brace(text: str, start: int) -> int | None:
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _script(value: str, table: dict[str, str], mark: str) -> str:
    """A sub/superscript in small characters when every character has one, else ^(…) / _(…)."""
    if value and all(c in table for c in value):
        return "".join(table[c] for c in value)
    return f"{mark}{value}" if len(value) == 1 else f"{mark}({value})"


def _operand(value: str, always: bool = False) -> str:
    """A fraction part or radicand, in parentheses when it holds an operator outside brackets."""
    depth = 0
    needs = False
    for char in value:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in "+-−*/·×÷ =<>±":
            needs = True
    if (needs or (always and not value.isalnum())) and value:
        return f"({value})"
    return value
