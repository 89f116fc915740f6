"""The choice domain: multiple-choice answers (GPQA, MMLU-Pro, AQuA, MathQA, AMC-style options).

Contract: `ChoiceChecker(options=CheckerOptions())` with `domain = "choice"` and
`version = CHOICE_VERSION`; `check_many([(task, response, finish_reason), ...], workers=,
timeout=) -> [Verdict, ...]` in order; `close()` stops the SymPy workers it may have started.
A task is anything with `question`, `gold_answer` and `meta` (curate/verify/domains.py's Task).

The options (`options_of(question, meta)`): `meta["options"]` or `meta["choices"]` (a list, a
JSON list, a {"A": ...} mapping, or MathQA's "a ) 38 , b ) 27" string), else the lettered
options of the question ("(A) 27 (B) 30" inline, or "A. 27" / "B) 30" / "(C) 33" lines; the
rule of curate/verify/question.py, which the math verifier reads too). The gold
(`task.gold_answer`) is a letter ("C", "(C)", "\\text{(C)}", "c", "C) 14"), else an option's
text, else a 0-based index ("2" is C), else a value equal to one option's.

The answer is read from the final text (after the last `</think>`; the reasoning, with its
"maybe A... no", is never read), first reading that names an option wins:
1. the last `\\boxed{}` (adjacent boxes are one answer, curate/verify/extract.py);
2. the last answer phrase: "the answer is (C)", "Answer: C", "the correct option is C",
   "I choose C" (the rest of its line), else the last "option (C) is correct" / "C is the best";
3. the last bold run: "**C**", "**(C) 14**", "**14**";
4. a single line that restates one option, letter and text ("B. <option B's text>"); several
   such lines are a restated list of options, not an answer;
5. a letter that opens the final text ("C. Because ..."), or a final text that is an option.
Each reading is a letter ("(C)", "C)", "C: 14", "option C", "14 (C)") or an option's text,
compared after normalisation or, for numbers and expressions, by value with the math
verifier's equivalence ("0.5" is the option "\\frac{1}{2}"). "A" and "I" followed by a word
are an article and a pronoun ("A plane", "I think"), not letters.
Verdicts: correct / incorrect ('answered B ("12"), gold C ("14")'); incorrect for two different
options in one reading ("A or C", "\\boxed{A}, \\boxed{C}": a hedge is not an answer) and for a
letter outside the options; no_answer when cut off at the token limit (finish reason
"length", or none and a loop to the end: curate/verify/loops.py), when no reading names an option, or without a final text; error when the problem
gives no options that its gold can be found among; timeout when a value comparison ran past
`timeout` seconds.
"""

from __future__ import annotations

import json
import re
import time
from typing import Sequence

from curate.verify.checker import Verdict, Verifier, ms_since
from curate.verify.domains import CheckerOptions
from curate.verify.equivalence import choice_letter, is_text_answer, normalize_text, unwrap_text
from curate.verify.extract import TAIL_CHARS, extract
from curate.verify.loops import final_answer
from curate.verify.question import lettered_options

# choice/2: a response without a finish reason that loops to its end is no_answer (curate/verify/loops.py).
CHOICE_VERSION = "choice/2"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
QUESTION_LAST_LETTER = "P"  # lettered options read from a question: A..P (MMLU-Pro has ten)
ANSWER_LAST_LETTER = "J"  # a letter up to J is read as a choice even where there are fewer options
OPTION_TEXT_CHARS = 60
SPAN_CHARS = 500  # a reading longer than this is prose, not an answer (and costs time to normalise)
PHRASES_TRIED = 16  # the last answer phrases that are read; earlier ones are the reasoning of the final text

# "the answer is (C)", "Answer: C", "the correct option is C", "I choose C": the rest is the reading.
_PHRASE = re.compile(
    r"(?:\b(?:final|correct|right|best)\s+(?:answer|option|choice|statement|one|letter)s?\b|\banswers?\b|\b(?:option|choice)\b(?=\s+(?:is|would be|must be)\b))"
    r"(?:[ \t]+(?:is|are|would be|must be|should be|will be|seems to be|here is))?[ \t]*(?:[:：=\-–—]|\bis\b)?"
    r"|\bI(?:'ll| will| would)?[ \t]+(?:choose|pick|select|go with)\b",
    re.IGNORECASE,
)
# "option (C) is correct", "C is the right answer": the letter before the verb is the reading.
_LETTER_IS_CORRECT = re.compile(
    r"(?<![A-Za-z0-9])((?:(?i:option|choice)\s+)?\(?[A-Z]\)?)\s+is\s+(?:the\s+)?(?:correct|right|best)\b"
    r"(?!\s+(?:in|about|for|that|to|because)\b)"
)
_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
_LEAD_WORDS = re.compile(r"^(?:(?:either|both|options?|choices?|letter|is|:)\s*)+", re.IGNORECASE)
# A letter as a token: "C", "(C)", "C)", "C." but not in a word ("Cl", "I'm").
_LETTER = r"\(?([A-Z])\)?(?![A-Za-z0-9'’])"
_LEADING_LETTER = re.compile(r"^\(?([A-Z])(?:\)|(?![A-Za-z0-9'’]))")
_LOWER_LETTER = re.compile(r"^\(([a-j])\)|^([a-j])\)")
_FOLLOWING_WORD = re.compile(r"^\)?\s+([a-z]+)")
_LETTER_VERBS = {"is", "because", "since", "as", "or", "and", "seems", "would", "must", "should", "fits", "matches"}
_SECOND_LETTER = re.compile(r"(?:,|/|&|\bor\b|\band\b)\s*(?:(?:option|choice)\s+)?" + _LETTER)
_SECOND_KEEP = {"are", "both", "together"}
_TRAILING_LETTER = re.compile(r"(?:\(\s*(?:option|choice)?\s*|\b(?:option|choice)\s+)\(?([A-Z])\)?\s*\)?\s*\.?$", re.I)
_MATHQA_OPTION = re.compile(r"(?:^|,)\s*([a-z])\s*\)\s*")
_LABELLED_LINE = re.compile(r"^[ \t>*-]*\(?([A-Z])[.):][ \t]+(.+?)[ \t]*$", re.MULTILINE)
_OWN_LABEL = re.compile(r"^\s*\(?([A-Za-z])\s*[).:]\s*")


class ProblemError(ValueError):
    """A problem whose fields give no options, or a gold that names none of them."""


# -- the options and the gold -----------------------------------------------------------------
def _from_meta(value) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            try:
                return _from_meta(json.loads(text))
            except ValueError:
                return []
        parts = _MATHQA_OPTION.split(text)
        if len(parts) > 3 and parts[1] == "a":
            return [part.strip() for part in parts[2::2]]
        return []
    if isinstance(value, dict):
        keyed = {str(key).strip().upper(): str(text) for key, text in value.items()}
        return [keyed[letter] for letter in LETTERS if letter in keyed] if "A" in keyed else []
    if isinstance(value, (list, tuple)):
        options = [str(item) for item in value]
        labels = [_OWN_LABEL.match(option) for option in options]
        # AQuA's "A)21", "B)21.5": each option carries its own letter, which is not its text.
        if options and all(m and m.group(1).upper() == LETTERS[i] for i, m in enumerate(labels)):
            options = [option[m.end() :] for option, m in zip(options, labels)]
        return [option.strip() for option in options]
    return []


def options_of(question: str | None, meta: dict | None) -> list[str]:
    """The options of a problem, in letter order (module doc); [] when it gives none."""
    for key in ("options", "choices"):
        value = (meta or {}).get(key)
        if value:
            options = _from_meta(value)
            if options:
                return options[: len(LETTERS)]
    found = lettered_options(question or "", QUESTION_LAST_LETTER, lines=True)
    options = []
    for letter in LETTERS:
        if letter not in found:
            break
        options.append(_tidy(found[letter]))
    return options


def _tidy(option: str) -> str:
    """An option as read from "\\textbf{(A)}\\ 3 \\qquad": without the TeX spacing around it and
    the "$" that closed the line's math."""
    option = re.sub(r"^(?:\\[ ,;!]|~)+", "", option.strip()).strip()
    option = re.sub(r"\s*\$\s*\$$", "", option)  # "7$ $\\textbf{(D)}": the math closed and reopened
    if option.endswith("$") and option.count("$") % 2:
        option = option[:-1].strip()
    return option


def _same_text(a: str, b: str) -> bool:
    return normalize_text(unwrap_text(_bare(a))) == normalize_text(unwrap_text(_bare(b)))


def _bare(text: str) -> str:
    """Without math delimiters, a final period and surrounding space."""
    text = text.strip().rstrip(".").strip()
    for start, end in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(start) and text.endswith(end) and len(text) > len(start) + len(end):
            return text[len(start) : -len(end)].strip()
    return text


def gold_letter(gold: str | None, options: list[str], verifier: Verifier | None = None) -> str:
    """The letter of the gold (module doc); ProblemError when it names no option."""
    if gold is None or not str(gold).strip():
        raise ProblemError("the problem has no gold answer")
    gold = str(gold).strip()
    same = [LETTERS[i] for i, option in enumerate(options) if _same_text(gold, option)]
    letter = choice_letter(gold, gold=True, last="Z")
    if letter is None and len(same) != 1:
        letter = choice_letter(gold.upper(), gold=True, last="Z")  # MathQA's "c"
        labelled = _OWN_LABEL.match(gold)
        if letter is None and labelled and LETTERS.index(labelled.group(1).upper()) < len(options):
            if _same_text(gold[labelled.end() :], options[LETTERS.index(labelled.group(1).upper())]):
                letter = labelled.group(1).upper()  # "B) Coulomb"
    if letter is not None:
        if options and LETTERS.index(letter) >= len(options):
            raise ProblemError(f"the gold {letter} is not among the options{_range(options)}")
        return letter
    if not options:
        raise ProblemError(f"the gold {gold!r} is not a letter and the problem lists no options")
    if len(same) == 1:
        return same[0]
    if re.fullmatch(r"\d+", gold) and int(gold) < len(options):
        return LETTERS[int(gold)]
    if verifier is not None and _looks_like_math(gold):
        equal = _equal_options(gold, options, verifier)[0]
        if len(equal) == 1:
            return equal[0]
    raise ProblemError(f"the gold {gold!r} is none of the {len(options)} options")


def _looks_like_math(text: str) -> bool:
    """Numbers and expressions ("0.5", "\\frac{1}{2}", "2x+1"), not prose: only those are
    compared by value."""
    bare = re.sub(r"\\[A-Za-z]+", "", text)
    return len(text) <= 200 and re.search(r"[A-Za-z]{3,}", bare) is None and re.search(r"[\d\\]", text) is not None


def _equal_options(value: str, options: list[str], verifier: Verifier) -> tuple[list[str], bool]:
    """(letters of the options equal in value to `value`, whether a comparison timed out)."""
    if is_text_answer(value):
        return [], False
    pairs = [(option, value) for option in options if option.strip() and not is_text_answer(option)]
    if not pairs:
        return [], False
    outcomes = verifier.compare_many(pairs)
    letters, timed_out = [], False
    for (option, _), (outcome, _ms) in zip(pairs, outcomes):
        if outcome is None:
            timed_out = True
        elif outcome.status == "correct":
            letters.append(LETTERS[options.index(option)])
    return sorted(set(letters)), timed_out


# -- reading the answer -----------------------------------------------------------------------
def _letter_token(text: str) -> tuple[str, int] | None:
    """(the letter that opens `text`, where it ends) for "C", "(C) 14", "C: 14", "c)", or None;
    "A plane" and "I think" open with an article and a pronoun."""
    match = _LEADING_LETTER.match(text)
    if match is None:
        lower = _LOWER_LETTER.match(text)
        return ((lower.group(1) or lower.group(2)).upper(), lower.end()) if lower else None
    letter = match.group(1)
    word = _FOLLOWING_WORD.match(text[match.end() :])
    if letter in "AI" and word and word.group(1) not in _LETTER_VERBS:
        return None
    return letter, match.end()


def _clean(span: str, lead_words: bool = True) -> str:
    span = unwrap_text(span) if "\\" in span else span
    span = _bare(span.strip().strip("*_").strip())
    return (_LEAD_WORDS.sub("", span) if lead_words else span).strip().strip("*_").strip()


def named_letters(span: str, options: Sequence[str] = (), trailing: bool = True) -> list[str]:
    """The letters a reading names: one ("(C) 14"), several ("A or C", "B, D"), or none;
    `trailing` also reads a letter that ends it ("14 (option C)")."""
    token = _letter_token(span)
    if token is None:
        found = _TRAILING_LETTER.search(span) if trailing else None
        return [found.group(1).upper()] if found else []
    first, rest = token[0], span[token[1] :]
    index = LETTERS.index(first)
    own = options[index].strip() if index < len(options) else ""
    written = rest.lstrip(" .:)")
    if own and written.lower().startswith(own.lower()):
        rest = written[len(own) :]  # "(D) A and B": the option's own text names no other option
    letters = [first]
    for match in _SECOND_LETTER.finditer(rest):
        letter, after = match.group(1), rest[match.end() :]
        word = _FOLLOWING_WORD.match(after)
        if word and (word.group(1) not in _SECOND_KEEP or letter in "AI"):
            continue  # "C, and B is wrong": a letter in a sentence, not a second answer
        if letter not in letters:
            letters.append(letter)
    return letters


def _spans(text: str, options: Sequence[str]) -> list[tuple[str, str]]:
    """(reading, source) candidates of a final text, best first (module doc)."""
    tail = text[-TAIL_CHARS:]
    spans: list[tuple[str, str]] = []
    found = extract(text, last_number=False)
    if found.boxes and found.answer is not None:
        spans.append((found.answer, "boxed" if found.source == "boxed" else found.source or "boxed"))
    for match in list(_PHRASE.finditer(tail))[-PHRASES_TRIED:][::-1]:
        line = tail[match.end() :].split("\n", 1)[0]
        if not line.strip(" \t*_") and match.end() < len(tail):
            rest = tail[match.end() :].lstrip(" \t*_\n")
            line = rest.split("\n", 1)[0]  # "**Answer:**\n\nC"
        sentence = re.split(r"(?<![A-Z(])\.(?:\s|$)", line, maxsplit=1)[0]
        spans.append((sentence, "final_answer_phrase"))
    for match in list(_LETTER_IS_CORRECT.finditer(tail))[-PHRASES_TRIED:][::-1]:
        spans.append((match.group(1), "final_answer_phrase"))
    for match in reversed(list(_BOLD.finditer(tail))):
        if not match.group(1).strip().endswith(":"):  # "**Option A:**" is a heading
            spans.append((match.group(1), "bold"))
    restated = {
        match.group(1)
        for match in _LABELLED_LINE.finditer(tail)
        if LETTERS.index(match.group(1)) < len(options)
        and _same_text(match.group(2), options[LETTERS.index(match.group(1))])
    }
    if len(restated) == 1:  # "The best course of action would be:\n\nB. <option B>"; a restated list is no answer
        spans.append((restated.pop(), "option_line"))
    whole = text.strip()
    spans.append((whole[:SPAN_CHARS].split("\n", 1)[0], "choice"))
    if len(whole) <= SPAN_CHARS and "\n" not in whole:
        spans.append((whole, "option_text"))
    return spans


class ChoiceChecker:
    """Verdicts for multiple-choice problems (module doc)."""

    domain = "choice"
    version = CHOICE_VERSION

    def __init__(self, options: CheckerOptions = CheckerOptions()):
        self._verifier: Verifier | None = None

    def _verifier_for(self, workers: int, timeout: float) -> Verifier:
        if self._verifier is None or self._verifier.timeout != timeout:
            self.close()
            self._verifier = Verifier(workers=workers, timeout=timeout)
        return self._verifier

    def check_many(self, items: Sequence[tuple], *, workers: int = 1, timeout: float = 10.0) -> list[Verdict]:
        verifier = self._verifier_for(workers, timeout)
        return [self._check(task, response, finish_reason, verifier) for task, response, finish_reason in items]

    def _check(self, task, response: str | None, finish_reason: str | None, verifier: Verifier) -> Verdict:
        begun = time.perf_counter()

        def verdict(status: str, reason: str, answer: str | None = None, source: str | None = None) -> Verdict:
            return Verdict(status, answer, source, reason, None, None, ms_since(begun))

        options = options_of(task.question, task.meta)
        try:
            gold = gold_letter(task.gold_answer, options, verifier)
        except ProblemError as error:
            return verdict("error", str(error))
        text, why = final_answer(response, finish_reason)
        if text is None:
            return verdict("no_answer", why)
        letters, source, written, timed_out = self._read(text, options, verifier)
        if not letters:
            if timed_out:
                return verdict(
                    "timeout", f"comparing the answer with the options ran past {verifier.timeout:g} s", written
                )
            shown = f' "{_short(written)}"' if written else ""
            return verdict("no_answer", f"the final answer{shown} names no option{_range(options)}")
        answer = ", ".join(letters)
        if len(letters) > 1:
            return verdict("incorrect", f"two different options: {answer}", answer, source)
        (letter,) = letters
        if options and LETTERS.index(letter) >= len(options):
            return verdict("incorrect", f"answered {letter}, which is not an option{_range(options)}", answer, source)
        described = f"answered {_described(letter, options)}"
        if letter == gold:
            return verdict("correct", f"{described}, the gold", answer, source)
        return verdict("incorrect", f"{described}, gold {_described(gold, options)}", answer, source)

    def _read(
        self, text: str, options: list[str], verifier: Verifier
    ) -> tuple[list[str], str | None, str | None, bool]:
        """(letters named, source, the reading as written, a comparison timed out)."""
        first_written, timed_out = None, False
        last = LETTERS[max(len(options) - 1, LETTERS.index(ANSWER_LAST_LETTER))]
        for span, source in _spans(text, options):
            span = span[:SPAN_CHARS]
            if not span.strip():
                continue
            cleaned = _clean(span, lead_words=source != "choice")
            if source != "option_text":
                named = named_letters(cleaned, options, trailing=source in ("boxed", "final_answer_phrase"))
                letters = [letter for letter in named if letter <= last]
                if letters:
                    return letters, source, cleaned, False
            if not options or not cleaned:
                continue
            if source in ("boxed", "final_answer_phrase") and first_written is None:
                first_written = cleaned
            same = [LETTERS[i] for i, option in enumerate(options) if _same_text(cleaned, option)]
            if not same and _looks_like_math(cleaned):
                same, late = _equal_options(cleaned, options, verifier)
                timed_out = timed_out or late
            if same:
                return same, "option_text" if source == "choice" else source, cleaned, False
        return [], None, first_written, timed_out

    def close(self) -> None:
        if self._verifier is not None:
            self._verifier.close()
            self._verifier = None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= OPTION_TEXT_CHARS else text[: OPTION_TEXT_CHARS - 3] + "..."


def _described(letter: str, options: list[str]) -> str:
    index = LETTERS.index(letter)
    return f'{letter} ("{_short(options[index])}")' if index < len(options) else letter


def _range(options: list[str]) -> str:
    return f" (A-{LETTERS[len(options) - 1]})" if options else ""
