"""LaTeX answer -> a small syntax tree of plain tuples (no SymPy here).

Contract: `parse_answer(text) -> Node` or raise `ParseError` (malformed, unsupported) /
`Hostile` (input built to make a parser or SymPy hang: too long, too deep, too many digits).
The tree keeps the form as written (`\\frac{6}{8}` stays a fraction of 6 and 8), so the form
check reads it directly and the comparison converts it to values (exact rationals in-process,
SymPy in a worker: see equivalence.py).

Nodes (tuples, first item the kind):
  ("num", "0.35")          a literal as written after separators are removed (exact decimal)
  ("sci", mantissa, exp)   6.02e23 written with an `e`
  ("sym", "x")             a variable;  ("const", "pi" | "e" | "i" | "oo")
  ("neg", x) ("add", [x, ...]) ("mul", [x, ...]) ("div", a, b) ("frac", a, b)
  ("pow", base, exp) ("sqrt", x, index|None) ("fact", x) ("binom", n, k)
  ("func", name, x)  ("log", base|None, x)  ("abs", x) ("floor", x) ("ceil", x)
  ("mixed", whole, num, den)      2\\frac{1}{2}: a mixed number (never 2 * 1/2)
  ("pm", a, b)  a ± b; ("pm", None, b) for ±b;  ("mp", ...) likewise
  ("pct", x) ("deg", x) ("unit", x, name) ("currency", x)   marks written after a value
  ("base", digits, base)          52_8
  ("group", open, [items], close) a parenthesised or bracketed comma list
  ("set", [items])  \\{...\\}      ("list", [items], separator)  a bare top-level list
  ("matrix", [[cell, ...], ...])
  ("rel", [op, ...], [x, ...])    x = 3, 1 < x <= 2, x \\in [0, 1]
  ("union", [x, ...])             A \\cup B
  ("text", "words")               \\text{...} that is not a unit or separator
Choice letters and plain-word answers are recognised on the raw text (equivalence.py).
"""

from __future__ import annotations

import re

Node = tuple

MAX_CHARS = 1000
MAX_DEPTH = 60
MAX_DIGITS = 1000


class ParseError(ValueError):
    """The text is not an answer this parser understands."""


class Hostile(ParseError):
    """The text is too big or too deep to evaluate safely."""


# ---- normalisation -------------------------------------------------------------------------

_DROP = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg|middle)(?![a-zA-Z])"
    r"|\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|mathstrut|strut)(?![a-zA-Z])"
    r"|\\ |\\(?:quad|qquad|enspace|thinspace|medspace|thickspace)(?![a-zA-Z])|~"
)
_THIN_SPACE = re.compile(r"\\[!,;:>]")
_REPLACE = [
    (re.compile(r"\\[dtc]frac(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\[dt]binom(?![a-zA-Z])"), r"\\binom"),
    (re.compile(r"\\(?:cdot|times|ast)(?![a-zA-Z])"), "*"),
    (re.compile(r"\\div(?![a-zA-Z])"), "/"),
    (re.compile(r"\\(?:leqslant|leq|le)(?![a-zA-Z])"), "<="),
    (re.compile(r"\\(?:geqslant|geq|ge)(?![a-zA-Z])"), ">="),
    (re.compile(r"\\(?:neq|ne)(?![a-zA-Z])"), "!="),
    (re.compile(r"\\lt(?![a-zA-Z])"), "<"),
    (re.compile(r"\\gt(?![a-zA-Z])"), ">"),
    (re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])|º"), "°"),
    (re.compile(r"\\%|\\percent(?![a-zA-Z])"), "%"),
    (re.compile(r"(?<![a-zA-Z])per\s+cent(?![a-zA-Z])"), "percent"),
    (re.compile(r"\{\s*,\s*\}"), ""),
    (re.compile(r"\\\$|\\dollar(?![a-zA-Z])|US\$"), "¤"),
    (re.compile(r"\\euro(?![a-zA-Z])|€|£"), "¤"),
    (re.compile(r"\\\(|\\\)|\\\[|\\\]|\$"), " "),
    (re.compile(r"\\mathbb\{R\}"), r"\\reals "),
    (re.compile(r"\\emptyset|\\varnothing|\\O(?![a-zA-Z])"), r"\\{\\}"),
    (re.compile(r"\\tfrac|\\dfrac"), r"\\frac"),
]
_UNICODE = str.maketrans(
    {
        "−": "-",
        "–": "-",
        "×": "*",
        "·": "*",
        "⋅": "*",
        "÷": "/",
        "π": "\\pi ",
        "∞": "\\infty ",
        "≤": "<=",
        "≥": ">=",
        "≠": "!=",
        "±": "\\pm ",
        "∓": "\\mp ",
        "√": "\\sqrt ",
        "∪": "\\cup ",
        "∩": "\\cap ",
        "∈": "\\in ",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "’": "'",
        "θ": "\\theta ",
    }
)


def normalize(text: str) -> str:
    """Spacing, delimiters and synonyms removed or unified; values untouched."""
    out = text.translate(_UNICODE).replace("\\\\", "\x01")  # row separators survive the next steps
    out = re.sub(r",\s*\\!\s*", ",", out)  # "11,\! 111": MATH's thousands separator
    out = _THIN_SPACE.sub("", out)
    out = _DROP.sub(" ", out)
    for pattern, replacement in _REPLACE:
        out = pattern.sub(replacement, out)
    out = re.sub(r"\s+", " ", out).strip().replace("\x01", "\\\\")
    out = _MIXED_SPACED.sub(r"\1\\frac{\2}{\3}", out)
    out = _SPACE_THOUSANDS.sub(lambda m: m.group(0).replace(" ", ""), out)
    return out.rstrip(".").strip()


# "12 3/4" is a mixed number; "2 500 000" one number (groups of exactly three digits).
_MIXED_SPACED = re.compile(r"(?<![\d.,])(\d+) (\d+) ?/ ?(\d+)(?![\d.])")
_SPACE_THOUSANDS = re.compile(r"(?<![\d.,] )(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d.]| ?/)")
# "S_1:S_2 = 3:5": a ratio's label; "3:5" a ratio of two numbers, read as their quotient.
_RATIO_LABEL = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?(?:\s*:\s*[A-Za-z](?:_\{?\w+\}?)?)+\s*=\s*(?=[^=]*:)")
_RATIO = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*$")
# "4:30" reads as a time of day, not as 4/30 = 1/15 = "1:15": compared only as written, unless a
# ratio label says otherwise ("V_1:V_2 = 11:21").
_CLOCK = re.compile(r"(?:[01]?\d|2[0-3]):[0-5]\d")


# ---- tokens ----------------------------------------------------------------------------------

UNIT_WORDS = {
    "cm",
    "mm",
    "km",
    "m",
    "meter",
    "meters",
    "metre",
    "metres",
    "centimeter",
    "centimeters",
    "kilometer",
    "kilometers",
    "millimeter",
    "millimeters",
    "in",
    "inch",
    "inches",
    "ft",
    "feet",
    "foot",
    "yd",
    "yard",
    "yards",
    "mile",
    "miles",
    "mi",
    "unit",
    "units",
    "square",
    "sq",
    "cubic",
    "dollar",
    "dollars",
    "cent",
    "cents",
    "hour",
    "hours",
    "hr",
    "hrs",
    "h",
    "minute",
    "minutes",
    "min",
    "mins",
    "second",
    "seconds",
    "sec",
    "s",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "mph",
    "kg",
    "g",
    "gram",
    "grams",
    "mg",
    "lb",
    "lbs",
    "pound",
    "pounds",
    "oz",
    "ounce",
    "ounces",
    "liter",
    "liters",
    "litre",
    "litres",
    "l",
    "ml",
    "gallon",
    "gallons",
    "people",
    "person",
    "persons",
    "students",
    "ways",
    "way",
    "times",
    "points",
    "point",
    "cups",
    "cup",
    "pages",
    "page",
    "items",
    "boxes",
    "marbles",
    "balls",
    "books",
    "miles per hour",
    "km/h",
    "m/s",
    "per",
    "each",
    "tiles",
    "coins",
    "games",
    "cookies",
    "apples",
    "numbers",
    "integers",
    "digits",
    "values",
    "solutions",
    "sides",
    "edges",
    "vertices",
    "faces",
    "triangles",
    "squares",
    "rectangles",
    "handshakes",
    "outfits",
    "committees",
    "arrangements",
    "sq units",
    "square units",
    "cubic units",
    "square feet",
    "square inches",
    "square meters",
    "square centimeters",
    "cubic feet",
    "cubic inches",
    "cubic centimeters",
}
DEGREE_WORDS = {"degree", "degrees", "deg"}
PERCENT_WORDS = {"percent", "per cent", "pct", "percentage"}
SEPARATOR_WORDS = {"and", "or"}
MATH_FUNCTIONS = {
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "arcsin",
    "arccos",
    "arctan",
    "arcsec",
    "arccsc",
    "arccot",
    "sinh",
    "cosh",
    "tanh",
    "coth",
    "sech",
    "csch",
    "exp",
    "ln",
    "log",
    "lg",
    "sgn",
}
GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
}
TEXT_COMMANDS = {
    "text",
    "textbf",
    "textit",
    "textrm",
    "textsf",
    "texttt",
    "mbox",
    "mathrm",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
    "boldsymbol",
    "bm",
    "operatorname",
    "textnormal",
    "hbox",
    "mathbfit",
    "pmb",
    "emph",
    "mathcal",
    "mathscr",
    "mathfrak",
}
IGNORED_COMMANDS = {"displaystyle", "nonumber", "notag", "phantom", "hfill", "relax"}
MATRIX_ENVS = {"pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array", "vmatrix"}

_CHOICE = re.compile(r"^\s*\(?\s*([A-E])\s*\)?\s*$")
_TOKEN = re.compile(
    r"(?P<begin>\\begin\s*\{(?P<benv>[a-zA-Z*]+)\}(?:\{[^{}]*\})?)"
    r"|(?P<end>\\end\s*\{[a-zA-Z*]+\})"
    r"|(?P<escbrace>\\[{}|])"
    r"|(?P<rowsep>\\\\)"
    r"|(?P<cmd>\\[a-zA-Z]+)"
    r"|(?P<sci>\d+(?:\.\d+)?[eE][-+]?\d+(?![a-zA-Z\d]))"
    r"|(?P<num>\d+(?:\.\d*)?|\.\d+)"
    r"|(?P<word>[a-zA-Z]+)"
    r"|(?P<op><=|>=|!=|==|->|[-+*/^_=<>()\[\]{},;|!'&:°%¤?])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?(?![\d])")  # "0,111" is no thousands


class Token:
    __slots__ = ("kind", "value", "space_before")

    def __init__(self, kind: str, value: str, space_before: bool):
        self.kind = kind  # num sci cmd letter word op text unit sep begin end rowsep
        self.value = value
        self.space_before = space_before

    def __repr__(self) -> str:
        return f"{self.kind}:{self.value}"


def _read_group(text: str, open_at: int) -> tuple[str, int]:
    """Content of the brace group opening at `open_at` and the index after it."""
    depth = 0
    for i in range(open_at, len(text)):
        c = text[i]
        if c == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif c == "}" and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i], i + 1
    raise ParseError("unbalanced braces")


def _classify_text(content: str, command: str) -> list[Token]:
    """Tokens for `\\text{content}`: a separator, a unit, a letter, a choice or plain text."""
    inner = normalize(content).strip()
    low = inner.lower().strip(" .")
    if not low:
        return []
    if low in SEPARATOR_WORDS or low == ",":
        return [Token("sep", low, True)]
    if command in (
        "mathrm",
        "mathbf",
        "mathit",
        "boldsymbol",
        "bm",
        "mathsf",
        "operatorname",
        "mathbfit",
        "pmb",
        "mathcal",
        "mathscr",
        "mathfrak",
    ):
        if command == "operatorname":
            return [Token("cmd", "\\" + inner.strip(), True)]
        return tokenize(inner)  # \mathrm{e}, \mathbf{v}, \mathrm{cm}: read as math
    if low in DEGREE_WORDS:
        return [Token("op", "°", True)]
    if low in PERCENT_WORDS:
        return [Token("op", "%", True)]
    unit = re.sub(r"\^\s*\{?\d\}?$|[²³]$", "", low).strip()
    if unit in UNIT_WORDS or all(w in UNIT_WORDS for w in re.split(r"[\s/.-]+", unit) if w):
        return [Token("unit", unit, True)]
    choice = _CHOICE.match(inner)
    if choice:
        return [Token("text", f"({choice.group(1)})", True)]
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?|e", inner):
        return tokenize(inner)  # \text{5}: a number typeset as text; \text{e}: Euler's number
    return [Token("text", inner, True)]


def tokenize(text: str) -> list[Token]:
    """Tokens of a normalised answer. Letter runs become single letters unless they are words
    the grammar knows (separators, units, markers)."""
    tokens: list[Token] = []
    depth = 0
    pos = 0
    space = False
    n = len(text)
    while pos < n:
        if depth == 0 and text[pos].isdigit() and (pos == 0 or not text[pos - 1].isdigit()):
            # "10,080" at top level is one number; inside brackets commas separate items.
            match = _THOUSANDS.match(text, pos)
            if match and not (pos > 0 and text[pos - 1] in ".,"):
                tokens.append(Token("num", match.group(0).replace(",", ""), space))
                pos = match.end()
                space = False
                continue
        match = _TOKEN.match(text, pos)
        kind = match.lastgroup
        value = match.group(kind)
        pos = match.end()
        if kind == "space":
            space = True
            continue
        if kind == "benv":
            kind = "begin"
        if kind == "begin":
            tokens.append(Token("begin", match.group("benv"), space))
        elif kind == "cmd" and value[1:] in TEXT_COMMANDS:
            while pos < n and text[pos] == " ":
                pos += 1
            if pos >= n or text[pos] != "{":
                raise ParseError(f"{value} without an argument")
            content, pos = _read_group(text, pos)
            for token in _classify_text(content, value[1:]):
                token.space_before = token.space_before or space
                tokens.append(token)
        elif kind == "cmd" and value[1:] in IGNORED_COMMANDS:
            pass
        elif kind == "word":
            low = value.lower()
            if len(value) > 1 and (
                low in SEPARATOR_WORDS or low in UNIT_WORDS or low in DEGREE_WORDS or low in PERCENT_WORDS
            ):
                if low in SEPARATOR_WORDS:
                    tokens.append(Token("sep", low, space))
                elif low in DEGREE_WORDS:
                    tokens.append(Token("op", "°", space))
                elif low in PERCENT_WORDS:
                    tokens.append(Token("op", "%", space))
                else:
                    tokens.append(Token("unit", low, space))
            elif (
                len(value) > 2
                and low not in MATH_FUNCTIONS
                and re.fullmatch(r"[a-zA-Z]+", value)
                and value.lower() not in ("pi",)
            ):
                tokens.append(Token("text", value, space))
            else:
                for i, letter in enumerate(value):
                    tokens.append(Token("letter", letter, space if i == 0 else False))
        elif kind == "other":
            raise ParseError(f"unexpected character {value!r}")
        else:
            if kind == "op":
                if value in "([{":
                    depth += 1
                elif value in ")]}":
                    depth -= 1
            elif kind == "escbrace":
                kind = "op"
                if value == "\\{":
                    depth += 1
                elif value == "\\}":
                    depth -= 1
            tokens.append(Token(kind, value, space))
        space = False
    return tokens


# ---- parser ------------------------------------------------------------------------------------

FUNCTION_COMMANDS = {"\\" + name for name in MATH_FUNCTIONS} | {"\\arg", "\\det"}
RELATIONS = {
    "=",
    "<",
    ">",
    "<=",
    ">=",
    "!=",
    "\\approx",
    "\\in",
    "\\equiv",
    "\\sim",
    "\\cong",
    "==",
    "\\to",
    "\\rightarrow",
    "->",
    "\\Rightarrow",
    "\\implies",
    "\\iff",
    "\\notin",
}
_CLOSERS = {")", "]", "}", "\\}", "\\rangle", "|", "\\rfloor", "\\rceil", "\\|"}


def _digits(literal: str) -> int:
    return sum(c.isdigit() for c in literal)


class Parser:
    """Recursive descent over the tokens; one instance per answer."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self._in_abs = False  # inside |...|: a "|" closes instead of opening

    # -- helpers ---------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token.kind in ("op", "cmd", "rowsep") and token.value in values

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ParseError("unexpected end of answer")
        self.i += 1
        return token

    def expect(self, value: str) -> Token:
        token = self.take()
        if token.value != value or token.kind not in ("op", "cmd"):
            raise ParseError(f"expected {value!r}, found {token.value!r}")
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Hostile(f"nested more than {MAX_DEPTH} levels deep")

    def leave(self) -> None:
        self.depth -= 1

    # -- top level -------------------------------------------------------------------------
    def parse_top(self) -> Node:
        items = [self.parse_relation()]
        separator = None
        while self.peek() is not None:
            token = self.peek()
            if token.kind == "sep" or (token.kind == "op" and token.value in (",", ";")):
                self.take()
                while self.peek() is not None and (self.peek().kind == "sep" or self.at(",", ";")):
                    self.take()  # ", and" / "; or"
                separator = separator or token.value
                if self.peek() is None:
                    break  # a trailing separator
                items.append(self.parse_relation())
            else:
                raise ParseError(f"unexpected {token.value!r}")
        if len(items) == 1:
            return items[0]
        return ("list", items, separator)

    def parse_relation(self) -> Node:
        self.enter()
        operands = [self.parse_union()]
        ops = []
        while self.peek() is not None and self.peek().kind in ("op", "cmd") and self.peek().value in RELATIONS:
            ops.append(self.take().value)
            operands.append(self.parse_union())
        self.leave()
        if not ops:
            return operands[0]
        return ("rel", ops, operands)

    def parse_union(self) -> Node:
        parts = [self.parse_sum()]
        while self.at("\\cup", "\\sqcup"):
            self.take()
            parts.append(self.parse_sum())
        return parts[0] if len(parts) == 1 else ("union", parts)

    def parse_sum(self) -> Node:
        self.enter()
        terms: list[Node] = []
        token = self.peek()
        if token is not None and token.kind in ("op", "cmd") and token.value in ("+", "-", "\\pm", "\\mp"):
            self.take()
            term = self.parse_product()
            terms.append(
                {"+": term, "-": ("neg", term), "\\pm": ("pm", None, term), "\\mp": ("mp", None, term)}[token.value]
            )
        else:
            terms.append(self.parse_product())
        while True:
            token = self.peek()
            if token is None or token.kind not in ("op", "cmd") or token.value not in ("+", "-", "\\pm", "\\mp"):
                break
            self.take()
            term = self.parse_product()
            if token.value == "+":
                terms.append(term)
            elif token.value == "-":
                terms.append(("neg", term))
            else:
                kind = "pm" if token.value == "\\pm" else "mp"
                left = terms[0] if len(terms) == 1 else ("add", terms)
                terms = [(kind, left, term)]
        self.leave()
        return terms[0] if len(terms) == 1 else ("add", terms)

    def _starts_factor(self, token: Token | None) -> bool:
        if token is None:
            return False
        if token.kind in ("num", "sci", "letter", "begin"):
            return True
        if token.kind == "op":
            return token.value in ("(", "[", "{", "\\{", "¤") or (token.value == "|" and not self._in_abs)
        if token.kind == "cmd":
            return (
                token.value not in RELATIONS
                and token.value not in _CLOSERS
                and token.value not in ("\\pm", "\\mp", "\\cup", "\\cap", "\\sqcup", "\\setminus", "\\mid")
            )
        return False

    def parse_product(self, stop_at_function: bool = False) -> Node:
        self.enter()
        factors = [self.parse_unary()]
        while True:
            token = self.peek()
            if token is None:
                break
            if token.kind == "op" and token.value in ("*", "/"):
                self.take()
                right = self.parse_unary()
                factors = [("div", _product(factors), right)] if token.value == "/" else factors + [right]
                continue
            if token.kind == "unit":
                self.take()
                self._skip_unit_power()
                factors = [("unit", _product(factors), token.value)]
                continue
            if stop_at_function and token.kind == "cmd" and token.value in FUNCTION_COMMANDS:
                break
            if self._starts_factor(token):
                previous = factors[-1]
                if token.kind in ("num", "sci") and previous[0] in ("num", "sci", "pct", "deg"):
                    raise ParseError("two numbers side by side")
                factors.append(self.parse_unary())
                continue
            break
        self.leave()
        return _product(factors)

    def _skip_unit_power(self) -> None:
        if self.at("^") and self.peek(1) is not None and self.peek(1).kind == "num":
            self.take()
            self.take()
        elif self.at("^") and self.peek(1) is not None and self.peek(1).value == "{":
            self.take()
            self.take()
            self.take()
            self.expect("}")

    def parse_unary(self) -> Node:
        token = self.peek()
        if token is not None and token.kind == "op" and token.value in ("-", "+"):
            self.take()
            inner = self.parse_unary()
            return ("neg", inner) if token.value == "-" else inner
        if token is not None and token.kind == "op" and token.value == "¤":
            self.take()
            return ("currency", self.parse_unary())
        return self.parse_postfix()

    def parse_postfix(self) -> Node:
        node = self.parse_atom()
        while True:
            token = self.peek()
            if token is None:
                return node
            if token.kind == "op" and token.value == "^":
                self.take()
                node = ("pow", node, self.parse_script())
            elif token.kind == "op" and token.value == "_" and node[0] == "num":
                self.take()
                base = self.parse_script()
                if base[0] != "num":
                    raise ParseError("a base subscript must be a number")
                node = ("base", node[1], base[1])
            elif token.kind == "op" and token.value == "_" and node[0] == "sym":
                self.take()
                sub = self.parse_script()
                # "F_{n-k-1}": a subscript that is an expression indexes a sequence.
                node = ("indexed", node[1], sub) if _indexing(sub) else ("sym", f"{node[1]}_{_flat_name(sub)}")
            elif token.kind == "op" and token.value == "!" and not token.space_before:
                self.take()
                node = ("fact", node)
            elif token.kind == "op" and token.value == "°":
                self.take()
                node = ("deg", node)
            elif token.kind == "op" and token.value == "%":
                self.take()
                node = ("pct", node)
            elif token.kind == "op" and token.value == "'" and node[0] == "sym":
                self.take()
                node = ("sym", node[1] + "'")
            else:
                return node

    def parse_script(self) -> Node:
        """The argument of ^ or _: a brace group, one digit, one letter, or one command atom."""
        token = self.peek()
        if token is None:
            raise ParseError("missing exponent")
        if token.kind == "op" and token.value == "{":
            self.take()
            inner = self.parse_relation() if not self.at("}") else ("num", "1")
            self.expect("}")
            return inner
        if token.kind == "num":
            return self._one_digit()
        if token.kind == "op" and token.value in ("-", "+"):
            self.take()
            inner = self.parse_script()
            return ("neg", inner) if token.value == "-" else inner
        if token.kind == "op" and token.value == "(":
            return self.parse_atom()
        return self.parse_atom()

    def _one_digit(self) -> Node:
        token = self.take()
        if len(token.value) > 1 and token.value[0].isdigit():
            self.tokens.insert(self.i, Token("num", token.value[1:], False))
            return ("num", token.value[0])
        return ("num", token.value)

    def parse_arg(self) -> Node:
        """A command argument: `{...}`, or one digit / letter / command atom (\\frac12, \\sqrt2)."""
        token = self.peek()
        if token is None:
            raise ParseError("missing argument")
        if token.kind == "op" and token.value == "{":
            self.take()
            inner = self.parse_relation()
            self.expect("}")
            return inner
        if token.kind == "num":
            return self._one_digit()
        if token.kind == "letter":
            self.take()
            return _letter(token.value)
        return self.parse_atom()

    def parse_atom(self) -> Node:
        self.enter()
        try:
            return self._atom()
        finally:
            self.leave()

    def _atom(self) -> Node:
        token = self.take()
        kind, value = token.kind, token.value
        if kind == "num":
            if _digits(value) > MAX_DIGITS:
                raise Hostile(f"a number with {_digits(value)} digits")
            return self._maybe_mixed(("num", value))
        if kind == "sci":
            mantissa, exponent = re.split(r"[eE]", value)
            return ("sci", mantissa, exponent)
        if kind == "letter":
            return _letter(value)
        if kind == "text":
            return ("text", value)
        if kind == "begin":
            return self.parse_environment(value)
        if kind == "op":
            if value in ("(", "["):
                return self.parse_group(value)
            if value == "{":
                if self.at("}"):
                    self.take()
                    return ("list", [], ",")
                items = [self.parse_relation()]
                while self.at(","):
                    self.take()
                    items.append(self.parse_relation())
                self.expect("}")
                return items[0] if len(items) == 1 else ("list", items, ",")
            if value == "\\{":
                return self.parse_set()
            if value == "|":
                saved, self._in_abs = self._in_abs, True
                inner = self.parse_sum()
                self._in_abs = saved
                self.expect("|")
                return ("abs", inner)
            raise ParseError(f"unexpected {value!r}")
        if kind == "cmd":
            return self.parse_command(value)
        raise ParseError(f"unexpected {value!r}")

    def _maybe_mixed(self, whole: Node) -> Node:
        """`2\\frac{1}{2}` (and `137 \\frac{1}{2}`): an integer right before a numeric fraction."""
        if "." in whole[1] or not self.at("\\frac") or not self._numeric_arg_at(self.i + 1):
            return whole
        start = self.i
        self.take()
        numerator = self.parse_arg()
        denominator = self.parse_arg()
        if numerator[0] == "num" and denominator[0] == "num" and "." not in numerator[1] + denominator[1]:
            return ("mixed", whole[1], numerator[1], denominator[1])
        self.i = start
        return whole

    def _numeric_arg_at(self, j: int) -> bool:
        """Does a plain-number command argument start at token j? (Checked before parsing, so a
        failed mixed-number reading never re-parses nested input.)"""
        token = self.tokens[j] if j < len(self.tokens) else None
        if token is None:
            return False
        if token.kind == "num":
            return True
        closing = self.tokens[j + 2] if j + 2 < len(self.tokens) else None
        return (
            token.kind == "op"
            and token.value == "{"
            and self.tokens[j + 1].kind == "num"
            and closing is not None
            and closing.value == "}"
        )

    def parse_group(self, opener: str) -> Node:
        if self.peek() is not None and self.peek().kind == "op" and self.peek().value in (")", "]"):
            closer = self.take().value
            return ("group", opener, [], closer)
        items = [self.parse_relation()]
        while self.at(",", ";"):
            self.take()
            items.append(self.parse_relation())
        closer = self.take()
        if closer.kind != "op" or closer.value not in (")", "]"):
            raise ParseError(f"expected a closing bracket, found {closer.value!r}")
        if len(items) == 1 and (opener, closer.value) in (("(", ")"), ("[", "]")):
            return items[0]
        return ("group", opener, items, closer.value)

    def parse_set(self) -> Node:
        if self.at("\\}"):
            self.take()
            return ("set", [])
        items = [self.parse_relation()]
        while self.at(",", ";") or (self.peek() is not None and self.peek().kind == "sep"):
            self.take()
            items.append(self.parse_relation())
        if self.at("\\mid", "|", ":"):
            raise ParseError("set-builder notation")
        self.expect("\\}")
        return ("set", items)

    def parse_environment(self, env: str) -> Node:
        if env.rstrip("*") not in MATRIX_ENVS:
            raise ParseError(f"unsupported environment {env}")
        rows: list[list[Node]] = [[]]
        while True:
            token = self.peek()
            if token is None:
                raise ParseError(f"\\begin{{{env}}} without \\end")
            if token.kind == "end":
                self.take()
                break
            if token.kind == "rowsep":
                self.take()
                rows.append([])
                continue
            if token.kind == "op" and token.value == "&":
                self.take()
                if not rows[-1]:
                    rows[-1].append(("num", "0"))  # never happens in well-formed input; keeps shape
                continue
            rows[-1].append(self.parse_sum())
        rows = [row for row in rows if row]
        if not rows or len({len(row) for row in rows}) != 1:
            raise ParseError("ragged matrix")
        if env.startswith("vmatrix"):
            raise ParseError("determinant notation")
        return ("matrix", rows)

    def parse_command(self, name: str) -> Node:
        if name == "\\frac":
            numerator = self.parse_arg()
            denominator = self.parse_arg()
            return ("frac", numerator, denominator)
        if name == "\\sqrt":
            index = None
            if self.at("["):
                self.take()
                index = self.parse_sum()
                self.expect("]")
            return ("sqrt", self.parse_arg(), index)
        if name == "\\sum":
            return self.parse_sum_command()
        if name in ("\\binom", "\\choose"):
            return ("binom", self.parse_arg(), self.parse_arg())
        if name == "\\pi":
            return ("const", "pi")
        if name == "\\infty" or name == "\\infin":
            return ("const", "oo")
        if name in ("\\reals",):
            return ("group", "(", [("neg", ("const", "oo")), ("const", "oo")], ")")
        if name in FUNCTION_COMMANDS:
            return self.parse_function(name[1:])
        if name in ("\\lfloor", "\\lceil"):
            inner = self.parse_sum()
            self.expect("\\rfloor" if name == "\\lfloor" else "\\rceil")
            return ("floor" if name == "\\lfloor" else "ceil", inner)
        if name == "\\lvert" or name == "\\vert":
            inner = self.parse_sum()
            self.expect("\\rvert" if name == "\\lvert" else "\\vert")
            return ("abs", inner)
        if name == "\\langle":
            items = [self.parse_sum()]
            while self.at(","):
                self.take()
                items.append(self.parse_sum())
            self.expect("\\rangle")
            return ("group", "(", items, ")")
        if name in ("\\max", "\\min", "\\gcd", "\\lcm"):
            if not self.at("("):
                raise ParseError(f"{name} needs parentheses")
            self.take()
            items = [self.parse_sum()]
            while self.at(","):
                self.take()
                items.append(self.parse_sum())
            self.expect(")")
            return ("func", name[1:], items)
        if name[1:] in GREEK:
            return ("sym", name[1:])
        if name in ("\\overline", "\\bar", "\\hat", "\\vec", "\\tilde", "\\underline", "\\widehat", "\\dot"):
            inner = self.parse_arg()
            return ("sym", f"{name[1:]}_{_flat_name(inner)}")
        if name in ("\\ell", "\\hbar"):
            return ("sym", name[1:])
        raise ParseError(f"unsupported command {name}")

    def parse_sum_command(self) -> Node:
        """ "\\sum_{k=a}^{b} term": ("sum", k, a, b, term); the term is one product, and the
        sequence terms F_k in it are indexed by k."""
        bounds = {}
        while self.at("_", "^") and len(bounds) < 2:
            which = self.take().value
            bounds[which] = self.parse_script()
        lower, upper = bounds.get("_"), bounds.get("^")
        if (
            upper is None
            or lower is None
            or lower[0] != "rel"
            or lower[1] != ["="]
            or lower[2][0][0] not in ("sym", "const")
        ):
            raise ParseError("a sum needs the bounds _{k=a}^{b}")
        var = lower[2][0][1]
        if var in ("oo", "pi"):
            raise ParseError("a sum needs a letter as its index")
        term = self.parse_product()
        return ("sum", var, lower[2][1], upper, _index_by(term, var))

    def parse_function(self, name: str) -> Node:
        power = None
        base = None
        if name == "log" and self.at("_"):
            self.take()
            base = self.parse_script()
        if self.at("^"):
            self.take()
            power = self.parse_script()
        if name == "log" and base is None and self.at("_"):
            self.take()
            base = self.parse_script()
        if self.at("("):
            self.take()
            argument = self.parse_sum()
            self.expect(")")
        elif self.at("{"):
            argument = self.parse_arg()
        else:
            argument = self.parse_product(stop_at_function=True)
        if name == "lg":
            name, base = "log", ("num", "10")
        if name in ("log", "ln"):
            node = ("log", base if name == "log" else None, argument)
        else:
            node = ("func", name, argument)
        if power is not None:
            if power == ("neg", ("num", "1")):
                raise ParseError("inverse-function notation f^{-1}")
            node = ("pow", node, power)
        return node


def _letter(value: str) -> Node:
    if value == "e":
        return ("const", "e")
    if value == "i":
        return ("const", "i")
    return ("sym", value)


def _flat_name(node: Node) -> str:
    if node[0] in ("num", "sym", "const"):
        return str(node[1])
    if node[0] == "mul":
        return "".join(_flat_name(f) for f in node[1])
    raise ParseError("unsupported subscript")


def _indexing(sub: Node) -> bool:
    """A subscript that is arithmetic on letters (n-1, 2k), not a name (n, 12, ab)."""
    return sub[0] in ("add", "neg") or (sub[0] == "mul" and any(f[0] == "num" for f in sub[1]))


def _index_by(node, var: str):
    """F_k -> F indexed by k, inside the term of a sum over k."""
    if isinstance(node, list):
        return [_index_by(part, var) for part in node]
    if not isinstance(node, tuple) or not node:
        return node
    if node[0] == "sym" and node[1].endswith(f"_{var}") and len(node[1]) > len(var) + 1:
        return ("indexed", node[1][: -len(var) - 1], ("sym", var))
    if node == ("const", var):
        return ("sym", var)  # a sum over i or e: the index, not the imaginary unit or Euler's number
    return tuple(_index_by(part, var) for part in node)


def _product(factors: list[Node]) -> Node:
    return factors[0] if len(factors) == 1 else ("mul", factors)


def ratio_quotient(text: str) -> str | None:
    """ "3:5" -> "\\frac{3}{5}"; None when `text` is not a ratio of two numbers."""
    ratio = _RATIO.match(text)
    return f"\\frac{{{ratio.group(1)}}}{{{ratio.group(2)}}}" if ratio else None


def labelled_ratio(text: str) -> bool:
    """ "V_1:V_2 = 11:21": a ratio with its label (so "11:21" beside it is no time of day)."""
    normalized = normalize(text)
    return _RATIO_LABEL.sub("", normalized) != normalized


def parse_answer(text: str) -> Node:
    """The syntax tree of one answer (see module doc)."""
    if len(text) > MAX_CHARS:
        raise Hostile(f"answer of {len(text)} characters")
    normalized = normalize(text)
    unlabelled = _RATIO_LABEL.sub("", normalized)
    if unlabelled != normalized or not _CLOCK.fullmatch(unlabelled.strip()):
        normalized = ratio_quotient(unlabelled) or normalized
    if not normalized:
        raise ParseError("empty answer")
    if normalized.count("{") != normalized.count("}"):
        raise ParseError("unbalanced braces")
    if re.search(r"\d{%d}" % (MAX_DIGITS + 1), normalized):
        raise Hostile(f"a number with more than {MAX_DIGITS} digits")
    tokens = tokenize(normalized)
    if not tokens:
        raise ParseError("empty answer")
    parser = Parser(tokens)
    return parser.parse_top()
