"""Where a trace claims something that can be checked exactly: numeric relations in its text.

Contract: `find_claims(text) -> list[Claim]`, in text order. A claim is one link `left op right`
of a chain of relations (`a = b = c` gives `a = b` and `b = c`) whose two sides are numbers
without variables, units or text, read by the answer verifier's parser (parse.py). Claims come
from three places: math (`$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]`, `align`-like environments,
where a line starting with a relation continues the chain of the line before), plain-text
arithmetic (`16 - 3 - 4 = 9`, `80,000*1.5=120,000`) and prose arithmetic ("12 times 4 is 48").
Code (fenced or inline), Asymptote pictures, tables and matrices are skipped. A link between
two bare numbers (`0 = 1`, a contradiction; `5 > 3`) is no computation and no claim; neither
is an equation in a variable (`2x + 3 = 7`), an assignment (`x = 5`), a ratio (`3:4`), a
quantity with a unit, or a list. The checking itself (values, tolerance, retraction) is in
steps.py; this module only reads text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from curate.verify.parse import DEGREE_WORDS, PERCENT_WORDS, UNIT_WORDS, Node, ParseError, parse_answer

# Relations a claim can make, in the spelling steps.py checks.
EQ, APPROX, LT, GT, LE, GE, NE, CONG = "=", "≈", "<", ">", "<=", ">=", "!=", "≡"

MAX_OPERAND_CHARS = 300


@dataclass(frozen=True)
class Claim:
    start: int  # offset of the left side in the text
    end: int  # offset just after the right side
    op: str  # one of EQ APPROX LT GT LE GE NE CONG
    left: Node
    right: Node
    left_text: str
    right_text: str
    modulus: int | None  # the chain is read modulo this (`\pmod{m}`, `\bmod m`)
    bare_right: bool  # the right side is one written number (an approximation's digits count)
    in_prose: bool = False  # plain-text or prose arithmetic, not math markup


# ---- regions: code, math, plain text --------------------------------------------------------

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`|\[asy\].*?(?:\[/asy\]|\Z)|<<[^<>\n]*>>", re.S)
_ENVS = "align|aligned|alignat|equation|gather|gathered|eqnarray|multline|split|flalign"
_MATH = re.compile(
    r"(?=[$\\])"  # every math opening starts with one of these: a cheap test at each position
    r"(?:\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<br>.+?)\\\]"
    r"|\\\((?P<pa>.+?)\\\)"
    rf"|\\begin\{{(?P<env>{_ENVS})(?P<star>\*?)\}}(?:\{{\d+\}})?(?P<body>.*?)\\end\{{(?P=env)(?P=star)\}}"
    # Inline $...$ (pandoc's rule): no space inside either dollar, no digit right after the
    # closing one, so "$5 and $10" is two amounts of money, not math.
    r"|(?<![\\$])\$(?P<d>[^\s$](?:(?:\\\$|[^$])*?[^\s$\\])?)\$(?!\d))",
    re.S,
)
_SKIPPED_ENV = re.compile(
    r"\\begin\{(?P<env>array|cases|[pbvBV]?matrix|smallmatrix|tabular|table|tikzpicture|figure)\*?\}.*?"
    r"(?:\\end\{(?P=env)\*?\}|\Z)",
    re.S,
)


_NOT_NEWLINE = re.compile(r"[^\n]")


def _blanked(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with every character of the (sorted, disjoint) spans but newlines made a space."""
    pieces, cursor = [], 0
    for start, end in spans:
        pieces.append(text[cursor:start])
        pieces.append(_NOT_NEWLINE.sub(" ", text[start:end]))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _regions(text: str) -> tuple[list[tuple[int, int]], str]:
    """(math bodies as (start, end) offsets, the text with code and math blanked out)."""
    without_code = _blanked(text, [match.span() for match in _CODE.finditer(text)])
    bodies: list[tuple[int, int]] = []
    cleared: list[tuple[int, int]] = []
    for match in _MATH.finditer(without_code):
        group = next(name for name in ("dd", "br", "pa", "body", "d") if match.group(name) is not None)
        start, end = match.span(group)
        if group == "d" and "\n\n" in match.group(group):
            continue  # a stray dollar paired with one paragraphs away
        bodies.append((start, end))
        cleared.append(match.span())
    return bodies, _blanked(without_code, cleared)


# ---- math: statements, chains and operands ---------------------------------------------------

_RELATION = re.compile(
    r"\\approx(?![a-zA-Z])|\\(?:leq|leqslant|le)(?![a-zA-Z])|\\(?:geq|geqslant|ge)(?![a-zA-Z])"
    r"|\\(?:neq|ne)(?![a-zA-Z])|\\lt(?![a-zA-Z])|\\gt(?![a-zA-Z])|\\equiv(?![a-zA-Z])"
    r"|<=|>=|!=|=|<|>|≈|≤|≥|≠|≡"
)
_RELATION_NAMES = {
    "\\approx": APPROX,
    "≈": APPROX,
    "\\le": LE,
    "\\leq": LE,
    "\\leqslant": LE,
    "≤": LE,
    "<=": LE,
    "\\ge": GE,
    "\\geq": GE,
    "\\geqslant": GE,
    "≥": GE,
    ">=": GE,
    "\\ne": NE,
    "\\neq": NE,
    "≠": NE,
    "!=": NE,
    "\\lt": LT,
    "<": LT,
    "\\gt": GT,
    ">": GT,
    "=": EQ,
    "\\equiv": CONG,
    "≡": CONG,
}
# Whatever ends a statement: implications, spacing commands, text that is not a unit, separators.
_BREAK = re.compile(
    r"\\(?:implies|Rightarrow|Longrightarrow|rightarrow|longrightarrow|to|iff|Leftrightarrow|Longleftrightarrow"
    r"|quad|qquad|therefore|because|in|notin|sim|simeq|cong|subset|subseteq|supset|mid|forall|exists|colon"
    r"|land|lor|wedge|vee|hline|label|tag|nonumber|notag|pm|mp|perp|parallel"
    r"|angle|triangle|cup|cap|setminus|Longleftarrow|Leftarrow|leftarrow|mapsto|propto)(?![a-zA-Z])"
    r"|[;:|]|\\\|"
)
_TEXT = re.compile(r"\\(?:text|textbf|textit|textrm|mbox|mathrm|operatorname|textnormal)\s*\{")
_MOD = re.compile(
    r"\\pmod\s*\{\s*(?P<a>\d+)\s*\}|\\pmod\s*(?P<b>\d+)"
    r"|\\(?:bmod|mod)\s*\{?\s*(?P<c>\d+)\s*\}?"
    r"|\(\s*\\(?:text|mathrm|operatorname)\s*\{\s*mod\s*\}\s*(?P<d>\d+)\s*\)"
    r"|\\(?:pmod|bmod|mod)(?![a-zA-Z])"
)
_LINE = re.compile(r"\\\\(?:\[[^\]]*\])?")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))|\{,\}|,\\!")
_LETTERS = re.compile(r"\\[a-zA-Z]+|[a-zA-Z]+")
# Commands a numeric operand may contain; any other letters make it a non-number (fast reject).
_NUMERIC_COMMANDS = {
    "\\frac",
    "\\dfrac",
    "\\tfrac",
    "\\cdot",
    "\\times",
    "\\div",
    "\\sqrt",
    "\\pi",
    "\\left",
    "\\right",
    "\\binom",
    "\\dbinom",
    "\\tbinom",
    "\\choose",
    "\\circ",
    "\\degree",
    "\\boxed",
    "\\fbox",
    "\\displaystyle",
    "\\big",
    "\\Big",
    "\\bigg",
    "\\Bigg",
    "\\bigl",
    "\\bigr",
    "\\Bigl",
    "\\Bigr",
    "\\lfloor",
    "\\rfloor",
    "\\lceil",
    "\\rceil",
    "\\sin",
    "\\cos",
    "\\tan",
    "\\log",
    "\\ln",
    "\\lvert",
    "\\rvert",
    "\\vert",
    "\\ast",
    "\\quad",
    "\\qquad",
    "\\text",
    "\\mathrm",
}


@dataclass
class _Operand:
    start: int
    end: int
    text: str


def _text_group_end(body: str, at: int) -> int:
    """Index after the brace group of the `\\text{` command matched at `at` (or len(body))."""
    open_at = body.index("{", at)
    depth = 0
    for i in range(open_at, len(body)):
        if body[i] == "{":
            depth += 1
        elif body[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(body)


def _is_unit_text(content: str) -> bool:
    words = [w for w in re.split(r"[\s/.^{}\d~,\\-]+", content.strip().lower()) if w]
    known = UNIT_WORDS | DEGREE_WORDS | PERCENT_WORDS
    return bool(words) and all(w in known for w in words)


# The first characters of everything _math_chains reacts to; the scan jumps from one to the next.
_DIGIT = re.compile(r"\d")
_INTERESTING = re.compile(r"[\\(){}\[\]=<>!≈≤≥≠≡,;:|]")


def _math_chains(text: str, start: int, end: int):
    """(operands, relations, modulus) chains of one math body at text[start:end]."""
    body = text[start:end]
    if not _RELATION.search(body) or not _DIGIT.search(body):
        return []
    if "\\begin" in body:
        body = _SKIPPED_ENV.sub(lambda m: " " * len(m.group(0)), body)
    chains = []
    operands: list[_Operand] = []
    relations: list[str] = []
    modulus: list[int | None] = [None]
    piece_start = 0
    depth = 0
    i = 0
    n = len(body)

    after_words = [False]

    def close_operand(until: int) -> None:
        nonlocal piece_start
        raw = body[piece_start:until]
        if after_words[0]:
            after_words[0] = False
            if operands and not relations:
                operands.pop()  # the words' own placeholder: the text after them is no side
                stripped = raw.strip()
                if stripped:
                    left = piece_start + len(raw) - len(raw.lstrip())
                    operands.append(_Operand(start + left, start + left + len(stripped), "\\text" + stripped))
                piece_start = until
                return
        stripped = raw.strip().rstrip(".,").strip()
        if stripped.replace("&", "").strip():
            left = piece_start + len(raw) - len(raw.lstrip())
            operands.append(_Operand(start + left, start + left + len(stripped), stripped))
        elif relations and len(relations) >= len(operands):
            relations.pop()  # a relation with nothing after it
        piece_start = until

    def end_statement() -> None:
        nonlocal operands, relations
        if relations and len(operands) == len(relations) + 1:
            chains.append((operands, relations, modulus[0]))
        operands, relations = [], []
        modulus[0] = None

    while i < n:
        jump = _INTERESTING.search(body, i)
        if jump is None:
            break
        i = jump.start()
        c = body[i]
        if c == "\\" and i + 1 < n and body[i + 1] in "{}":
            depth += 1 if body[i + 1] == "{" else -1
            i += 2
            continue
        if c in "({[":
            depth += 1
            i += 1
            continue
        if c in ")}]":
            depth -= 1
            i += 1
            continue
        if depth != 0:
            i += 1
            continue
        line = _LINE.match(body, i)
        if line:
            close_operand(i)
            piece_start = line.end()
            rest = body[line.end() :].lstrip().lstrip("&").lstrip()
            if not _RELATION.match(rest):
                end_statement()  # the next line starts afresh; else it continues this chain
            i = line.end()
            continue
        mod = _MOD.match(body, i)
        if mod:
            close_operand(i)
            value = next((g for g in mod.groups() if g is not None), None)
            modulus[0] = int(value) if value is not None and int(value) > 0 else 0
            piece_start = mod.end()
            i = mod.end()
            continue
        relation = _RELATION.match(body, i)
        if relation:
            close_operand(i)
            if len(operands) != len(relations) + 1:
                operands, relations = [], []  # a relation without a left side starts a new chain
            else:
                relations.append(_RELATION_NAMES[relation.group(0)])
            piece_start = relation.end()
            i = relation.end()
            continue
        text_command = _TEXT.match(body, i)
        if text_command:
            group_end = _text_group_end(body, i)
            if not _is_unit_text(body[body.index("{", i) + 1 : group_end - 1]):
                close_operand(group_end)  # the words stay with the side before them: a unit mark
                end_statement()
                # What follows the words belongs to them (`\operatorname{erf}(0.2)`): not a side.
                operands.append(_Operand(start + i, start + group_end, body[i:group_end]))
                piece_start = group_end
                after_words[0] = True
            i = group_end
            continue
        broken = _BREAK.match(body, i)
        if broken or (c == "," and not _THOUSANDS_COMMA.match(body, i)):
            close_operand(i)
            end_statement()
            i = broken.end() if broken else i + 1
            piece_start = i
            continue
        i += 1
    close_operand(n)
    end_statement()
    return chains


# ---- operands: numbers or not ------------------------------------------------------------------

_BOX = re.compile(r"\\(?:boxed|fbox)\s*(?=\{)")


def _plausibly_numeric(raw: str) -> bool:
    """A fast reject before parsing: letters other than known commands mean a variable or text."""
    if ":" in raw or len(raw) > MAX_OPERAND_CHARS or not re.search(r"\d|\\pi", raw):
        return False
    if "..." in raw or "…" in raw:
        return False  # `1 + 2 + \dots + 10`: the terms left out are not written
    for word in _LETTERS.findall(raw):
        if word.startswith("\\"):
            if word not in _NUMERIC_COMMANDS:
                return False
        elif not re.search(r"\\(?:text|mathrm)\s*\{[^{}]*$", raw[: raw.find(word)]):
            return False  # a letter outside \text{}: a variable (units in \text{} are read later)
    return True


@lru_cache(maxsize=65536)
def numeric_node(raw: str) -> Node | None:
    """The syntax tree of an operand that is a number without variables or units, else None."""
    if not _plausibly_numeric(raw):
        return None
    try:
        node = parse_answer(_BOX.sub("", raw))
    except (ParseError, RecursionError):
        return None
    return _numeric(node)


_TRIG = {"sin", "cos", "tan", "sec", "csc", "cot"}
_NUMERIC_KINDS = {"num", "sci", "neg", "add", "mul", "div", "frac", "mixed", "pow", "sqrt", "fact", "binom", "abs"}
_NUMERIC_KINDS |= {"pct", "currency", "floor", "ceil", "log"}


def _numeric(node: Node, in_trig: bool = False) -> Node | None:
    """`node` with degree marks dropped (outside trigonometric functions), or None when it is
    not a plain number: variables, e and i (often names), units, lists, text, infinity."""
    kind = node[0]
    if kind == "deg":
        inner = _numeric(node[1], in_trig)
        return None if inner is None else (("deg", inner) if in_trig else inner)
    if kind == "const":
        return node if node[1] == "pi" else None
    if kind == "func":
        if node[1] not in _TRIG or not isinstance(node[2], tuple) or not _simple_angle(node[2]):
            return None
        inner = _numeric(node[2], True)
        return None if inner is None else ("func", node[1], inner)
    if kind not in _NUMERIC_KINDS:
        return None
    parts = []
    for part in node[1:]:
        if isinstance(part, tuple):
            part = _numeric(part, in_trig)
            if part is None:
                return None
        elif isinstance(part, list):
            items = [_numeric(p, in_trig) for p in part]
            if any(p is None for p in items):
                return None
            part = items
        parts.append(part)
    return (kind, *parts)


def _simple_angle(node: Node) -> bool:
    """A trigonometric argument read without doubt: the parser reads `\\cos 10^\\circ \\cdot 2`
    as cos(10° · 2), so an angle in degrees times anything, or a function inside, is not one."""
    kind = node[0]
    if kind in ("num", "const"):
        return True
    if kind in ("deg", "neg"):
        return _simple_angle(node[1]) and node[1][0] != "deg"
    if kind in ("frac", "div"):
        return _simple_angle(node[1]) and _simple_angle(node[2]) and not _contains_degree(node)
    if kind == "mul":
        return all(_simple_angle(part) for part in node[1]) and not _contains_degree(node)
    return False


def _contains_degree(node: Node) -> bool:
    if isinstance(node, list):
        return any(_contains_degree(part) for part in node)
    if not isinstance(node, tuple):
        return False
    return node[0] == "deg" or any(_contains_degree(part) for part in node[1:])


def is_bare_number(node: Node) -> bool:
    """One written number (with its sign or percent sign): no computation on that side."""
    while node[0] in ("neg", "pct", "currency"):
        node = node[1]
    return node[0] in ("num", "sci")


# A unit written in a math side (`5.08 \\times 10^{-10} \\mathrm{~m}`, `3.5 \\AA`): a conversion.
_UNIT_MARK = re.compile(r"\\(?:mathrm|text|mbox|operatorname|textrm|rm)\s*\{\s*[~\\, ]*[A-Za-zµ]|\\AA|\\mu\b|\\Omega")


def _links(operands: list[_Operand], relations: list[str], modulus: int | None, text: str):
    for k, op in enumerate(relations):
        a, b = operands[k], operands[k + 1]
        if _UNIT_MARK.search(a.text) or _UNIT_MARK.search(b.text):
            continue
        left, right = numeric_node(a.text), numeric_node(b.text)
        if left is None or right is None:
            continue
        if is_bare_number(left) and is_bare_number(right) and modulus is None:
            continue  # `17 \equiv 2 \pmod 5` is a computation; `0 = 1` is not
        if modulus == 0:
            continue  # "mod" without a number we can read
        yield Claim(a.start, b.end, op, left, right, a.text, b.text, modulus, is_bare_number(right))


# ---- plain text and prose ---------------------------------------------------------------------

_NUM = r"(?:\$[ \t]?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?"
_MIXED = r"\d+ \d+/\d+(?![\d.])"  # 1 1/2: one and a half, in plain text
_TERM = rf"(?:\([ \t]*)*-?(?:{_MIXED}|{_NUM}(?:\^\d+|!)?)(?:[ \t]*\))*"
_OP = r"[ \t]*(?:[-+*/×÷·^−]|(?<=[ \t])x(?=[ \t]))[ \t]*"
_EXPR = rf"{_TERM}(?:{_OP}{_TERM})*"
_PLAIN_REL = r"[ \t]*(?:=|≈|<|>|≤|≥|≠)[ \t]*"
# Never starting inside a number or a run of "(": that keeps the scan linear on hostile text.
_PLAIN = re.compile(rf"(?<![\d(]){_EXPR}(?:{_PLAIN_REL}{_EXPR})+")
_PLAIN_SPLIT = re.compile(_PLAIN_REL)
_WORD_OPS = {"times": "*", "multiplied by": "*", "plus": "+", "minus": "-", "divided by": "/"}
_PROSE = re.compile(
    rf"(?P<expr>{_NUM}(?:\s+(?:times|multiplied by|plus|minus|divided by)\s+{_NUM})+"
    rf"|{_NUM}\s+(?:squared|cubed))\s+(?:is|equals|makes|gives(?: us)?)\s+(?P<result>-?{_NUM})",
    re.I,
)
# Words before a number that make it part of a larger computation ("half of 10 plus 2").
_BEFORE = re.compile(
    r"(?:\b(?:of|times|by|than|over|per|plus|minus|and|half|twice|double|triple|thrice|quarter|third|x)"
    r"|[-+*/×÷^·−(¼½¾]|\dx|\d[ \t]+)\s*$",
    re.I,
)
# Words after a result that change it ("3/4 is 3 times ...", "6 million", "2 more than").
_AFTER = re.compile(
    r"^[ \t]*(?:times|more|less|fewer|greater|larger|smaller|bigger|higher|lower|of|hundred|thousand|million|billion"
    r"|trillion|dozen|half|third|quarter|point|over|plus|minus|squared|cubed|divided|multiplied|to\b|or\b"
    r"|[-+*/×÷^·−(]|\.\d|,\d|\d)",
    re.I,
)


def _plain_operand_node(raw: str) -> Node | None:
    if len(raw) > MAX_OPERAND_CHARS:
        return None  # also keeps the rewrites below linear
    cleaned = re.sub(r"(?<=\s)x(?=\s)", "*", raw).replace("$", "")
    cleaned = re.sub(r"(?<!\d)(\d+) (\d+)/(\d+)", r"(\1+\2/\3)", cleaned)
    if cleaned.count("(") != cleaned.count(")"):
        return None
    if re.search(r"\s/\s", cleaned) and re.search(r"\S/\S", cleaned):
        return None  # `1 1/2 / 1/2`: which division binds first is the reader's guess
    return numeric_node(cleaned)


def _boundary_ok(plain: str, start: int, end: int) -> bool:
    before = plain[max(0, start - 40) : start]
    if before and (before[-1].isalnum() or before[-1] in "._,:/^\\)]}!%'\"−-"):
        return False
    if _BEFORE.search(before):
        return False
    after = plain[end : end + 20]
    if after and (after[0].isalnum() or after[0] in "_^/:(−-"):
        return False
    return not _AFTER.match(after)


_HAS_PLAIN_RELATION = re.compile(r"\d[ \t%)]*(?:=|≈|<|>|≤|≥|≠)")
_HAS_PROSE_WORD = re.compile(r"\b(?:times|multiplied|plus|minus|divided|squared|cubed)\b", re.I)


def _lines_with(plain: str, marker: re.Pattern) -> list[tuple[int, int]]:
    """(start, end) of the lines of `plain` that `marker` (never across a newline) finds
    something in: a cheap prefilter for the slow patterns."""
    spans: list[tuple[int, int]] = []
    for found in marker.finditer(plain):
        if spans and found.start() < spans[-1][1]:
            continue  # on a line already taken
        end = plain.find("\n", found.end())
        spans.append((plain.rfind("\n", 0, found.start()) + 1, len(plain) if end == -1 else end))
    return spans


def _plain_matches(plain: str):
    for start, end in _lines_with(plain, _HAS_PLAIN_RELATION):
        yield from _PLAIN.finditer(plain, start, end)


def _plain_claims(plain: str, text: str):
    for match in _plain_matches(plain):
        start, end = match.span()
        if end - start > 4 * MAX_OPERAND_CHARS:
            continue  # no side is that long (and trimming it below would be quadratic)
        raw = match.group(0)
        # A leading "(" or trailing ")" that belongs to the surrounding prose.
        while raw.startswith("(") and raw.count("(") > raw.count(")"):
            raw, start = raw[1:].lstrip(), start + 1 + (len(raw[1:]) - len(raw[1:].lstrip()))
        while raw.endswith(")") and raw.count(")") > raw.count("("):
            raw, end = raw[:-1].rstrip(), end - 1 - (len(raw[:-1]) - len(raw[:-1].rstrip()))
        if not _boundary_ok(plain, start, end):
            continue
        pieces: list[_Operand] = []
        relations: list[str] = []
        cursor = start
        for relation in _PLAIN_SPLIT.finditer(raw):
            piece = raw[cursor - start : relation.start()]
            pieces.append(_Operand(cursor, cursor + len(piece), piece))
            relations.append(_RELATION_NAMES[relation.group(0).strip()])
            cursor = start + relation.end()
        pieces.append(_Operand(cursor, end, raw[cursor - start :]))
        for k, op in enumerate(relations):
            a, b = pieces[k], pieces[k + 1]
            left, right = _plain_operand_node(a.text), _plain_operand_node(b.text)
            if left is None or right is None or (is_bare_number(left) and is_bare_number(right)):
                continue
            yield Claim(a.start, b.end, op, left, right, a.text, b.text, None, is_bare_number(right), True)


def _prose_claims(plain: str):
    matches = (m for start, end in _lines_with(plain, _HAS_PROSE_WORD) for m in _PROSE.finditer(plain, start, end))
    for match in matches:
        start, end = match.span()
        if not _boundary_ok(plain, start, end):
            continue
        expression = match.group("expr")
        for words, symbol in _WORD_OPS.items():
            expression = re.sub(rf"\s+{words}\s+", f" {symbol} ", expression, flags=re.I)
        expression = re.sub(r"\s+squared$", "^2", expression, flags=re.I)
        expression = re.sub(r"\s+cubed$", "^3", expression, flags=re.I)
        left, right = _plain_operand_node(expression), _plain_operand_node(match.group("result"))
        if left is None or right is None:
            continue
        yield Claim(start, end, EQ, left, right, match.group("expr"), match.group("result"), None, True, True)


def find_claims(text: str) -> list[Claim]:
    """Every checkable claim of `text`, in order of position (module doc)."""
    bodies, plain = _regions(text)
    claims: list[Claim] = []
    for start, end in bodies:
        for operands, relations, modulus in _math_chains(text, start, end):
            claims.extend(_links(operands, relations, modulus, text))
    claims.extend(_plain_claims(plain, text))
    claims.extend(_prose_claims(plain))
    claims.sort(key=lambda claim: (claim.start, claim.end))
    return claims
