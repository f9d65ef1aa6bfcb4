"""Finding answers in the files students get.

Nothing in the student's folder may give an answer away: no answer line of the solution (``# SOLUTION``,
``# BEGIN SOLUTION``), no line of its reference cells, no marker of the solution notebook, no hidden check in
``public_checks.json`` (nor a note on one that says more than its kind, variable and points), and no hidden answer
written anywhere, in any common form.  The answers are those of ``ANSWER_KINDS``, one rule per kind of hidden
check; every other kind holds no value a student works out (``NO_ANSWER`` says why, kind by kind), and a new kind
must be put in one of the two (``tests/course/test_leaks.py``); an otter-assign notebook's answers are the values its
hidden tests compare with (``otter_answers``).  Each answer is looked for

* as a number in every text of every file (Markdown, code, outputs, titles, the setup cells): ``5408``, ``5,408``,
  ``5 408``, ``5_408``, ``5.408``, ``5408.0``, ``5.408e3``, a percentage for a fraction;
* as sizes, consecutive in a sequence: ``26 x 26``, ``26x26``, ``26 × 26``, ``26 by 26``, ``(26, 26)``, ``[26, 26]``,
  ``(None, 26, 26, 1)``, ``28 x 28 x 6`` for ``(28, 28)``, a list of ``public_checks.json`` (``[26, 26, 64]``);
  where one number answers a square size (``26`` for ``(26, 26)``), as that number too; a row of a computed array as
  NumPy prints it (``[ 9. 36. 27.  0.]``);
* as a value the check itself would accept, assigned to the answer's variable in a code cell
  (``q4 = "a"``, ``q2 = 13 * 13 * 32``, ``q1 = "26x26"``).

Whole numbers from -9 to 9 are in every text (filter sizes, counts, points): such a number alone is not looked for
(sizes made of them are).
"""
from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from grader.course.generate import BEGIN_SOLUTION, END_SOLUTION, PUBLIC_CHECKS_FILE, SOLUTION_LINE
from grader.course.source import MARKS, AssignmentSource
from grader.errors import DatasetUnavailableError
from grader.spec import FORMAT_TWINS, CheckSpec

MIN_LINE = 10
MIN_REFERENCE_LINE = 20  # a line of the reference cells long enough to be theirs alone
ALSO_GRADED_KEYS = {"kind", "evidence", "points"}
COMMON = 10  # whole numbers below this (in size) are in every text: not looked for alone
DISTINCT_IN_ROW = 3  # a row of a computed array is telling when it holds this many different values
TEXT_SUFFIXES = (".ipynb", ".json", ".md", ".txt", ".py", ".csv", ".yaml", ".yml")

# -- the answers of hidden checks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a hidden check expects, in the forms it can be found: numbers (within ``tolerance``), runs of
    consecutive numbers (sizes, rows of an array), and whether a value assigned to the check's variable in the
    student's code is one the check would accept."""

    check: CheckSpec
    numbers: tuple[float, ...] = ()
    tolerance: float = 0.0
    runs: tuple[tuple[float, ...], ...] = ()
    assigned: bool = False

    def name(self) -> str:
        return f"the answer of the hidden check {self.check.title or self.check.kind!r} ({self.check.evidence})"


def _telling(value: float) -> bool:
    return not (value == int(value) and abs(value) < COMMON)


def _number_answer(check: CheckSpec, source: AssignmentSource) -> Answer:
    value = float(check.params["expected"])
    return Answer(check, (value,) if _telling(value) else (), float(check.params.get("tolerance", 0)), assigned=True)


def _shape_answer(check: CheckSpec, source: AssignmentSource) -> Answer:
    sizes = tuple(float(v) for v in check.params["expected"])
    runs = [sizes] + ([sizes[:-1]] if check.params.get("ignore_channels") and len(sizes) > 1 else [])
    runs = [r for r in runs if len(r) > 1 or (r and _telling(r[0]))]
    square = (sizes[0],) if len(sizes) == 2 and sizes[0] == sizes[1] and _telling(sizes[0]) else ()
    return Answer(check, square, runs=tuple(runs), assigned=True)


def _choice_answer(check: CheckSpec, source: AssignmentSource) -> Answer:
    """A letter: found where a student's code gives it to the variable (its option's text is in the question)."""
    return Answer(check, assigned=True)


def _computed_array_answer(check: CheckSpec, source: AssignmentSource) -> Answer:
    """The array the reference functions give: found where a row of it (one that says something: several values)
    is written out."""
    from grader.checks.functions import reference_result

    result = reference_result(check.params)
    rows = result.reshape(-1, result.shape[-1]) if result.ndim > 1 else result.reshape(1, -1)
    telling = tuple(tuple(float(v) for v in row) for row in rows if len(np.unique(row)) >= DISTINCT_IN_ROW)
    return Answer(check, runs=telling)


# {kind of hidden check: its answer}
ANSWER_KINDS: dict[str, Callable[[CheckSpec, AssignmentSource], Answer]] = {
    "number": _number_answer,
    "shape": _shape_answer,
    "choice": _choice_answer,
    "array_from_reference": _computed_array_answer,
}
STATED = "what the task's text asks for (a shape, layers, settings, a range of values): nothing to work out"
THRESHOLD = "a threshold the task's text states (grader/course/stated.py publishes it): no answer"
DRAWN = "cases the grader draws, counts or compares itself: no value a student could be given"
# {kind of check: why it holds no answer}
NO_ANSWER: dict[str, str] = {
    "array_shape": STATED, "array_range": STATED, "array_matches_dataset": STATED, "model_layers": STATED,
    "model_shapes": STATED, "model_compile": STATED, "callback_form": STATED,
    "model_accuracy": THRESHOLD, "training_stopped": THRESHOLD, "callback_stops": THRESHOLD,
    "function_matches": DRAWN + " (the held-out cases come from the reference cells, which students never get)",
    "function_example": "public: the notebook's own example and its result, given to students",
    "activation_outputs": DRAWN, "activation_values": DRAWN, "images_of_one_class": DRAWN, "figure_shown": DRAWN,
    "choice_format": "public: the form of an answer", "number_format": "public: the form of an answer",
    "shape_format": "public: the form of an answer",
    "otter_case": "otter's hidden tests, not of this kind of solution: OtterAssignment.leaks looks for their lines"
                  " and for the values they compare with (otter_answers)",
}


COMPARING = ("allclose", "isclose", "array_equal", "array_equiv", "assert_allclose", "assert_array_equal",
             "assert_array_almost_equal", "assert_almost_equal", "assert_equal")


def _answer_of_value(check: CheckSpec, value: Any) -> Answer | None:
    """A value a test compares with, as an answer: a number, or a list (rows of an array): its runs, and each telling
    number of it (a part of the answer is an answer)."""
    if isinstance(value, bool) or value is None or value is Ellipsis or isinstance(value, str):
        return None
    if isinstance(value, (int, float)):
        return Answer(check, (float(value),) if _telling(value) else ())
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if array.size == 0:
        return None
    rows = array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array.reshape(1, -1)
    runs = tuple(tuple(float(v) for v in row) for row in rows
                 if len(row) > 1 and (len(row) == 2 or len(np.unique(row)) >= DISTINCT_IN_ROW))
    numbers = tuple(dict.fromkeys(float(v) for v in array.ravel() if _telling(float(v))))
    return Answer(check, numbers, runs=runs)


def _compared(code: str) -> Iterator[tuple[str, Any]]:
    """(what, value) for each constant a test's code compares something with: ``x == 26``, ``np.allclose(x, [..])``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        sides: list[ast.expr] = []
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.Is)):
            sides = [node.left, node.comparators[0]]
        elif isinstance(node, ast.Call) and len(node.args) >= 2 and \
                (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) in COMPARING:
            sides = list(node.args[:2])
        values = [_constant(side) for side in sides]
        for index, value in enumerate(values):
            if value is not Ellipsis and values[1 - index] is Ellipsis:
                yield ast.unparse(sides[1 - index]), value


def otter_answers(tests: Iterable[Mapping[str, Any]]) -> list[Answer]:
    """The answers of otter's hidden test cases: each value a case compares a variable with, and each output a
    doctest expects (``>>> output_size`` then ``26``)."""
    answers = []
    for test in tests:
        for suite in test.get("suites", ()):
            for number, case in enumerate(suite.get("cases", ()), start=1):
                if not case.get("hidden", True):
                    continue
                code, expected = [], []
                for line in (line.strip() for line in str(case.get("code", "")).splitlines()):
                    if line.startswith((">>>", "...")):
                        code.append(line[4:])
                    elif line:
                        expected.append(line)
                found = list(_compared("\n".join(code)))
                for line in expected:
                    try:
                        found.append(("its output", _constant(ast.parse(line, mode="eval").body)))
                    except SyntaxError:
                        continue
                for what, value in found:
                    check = CheckSpec(kind="otter_case", evidence=what, points=float(case.get("points") or 0),
                                      title=f"{test.get('name')}, case {number}")
                    answer = _answer_of_value(check, value)
                    if answer is not None and (answer.numbers or answer.runs):
                        answers.append(answer)
    return answers


def hidden_answers(source: AssignmentSource, unknown: list[str] | None = None) -> list[Answer]:
    """The answer of every hidden check of the assignment that has one.  One computed from a data set this machine
    lacks is said in ``unknown`` (raised without it)."""
    answers = []
    for check in (c for task in source.spec.tasks for c in task.checks if not c.public and c.kind in ANSWER_KINDS):
        try:
            answers.append(ANSWER_KINDS[check.kind](check, source))
        except DatasetUnavailableError as exc:
            if unknown is None:
                raise
            unknown.append(f"the answer of the hidden check {check.title or check.kind!r} could not be computed to"
                           f" look for it: {exc}")
    return answers


# -- what the student's files write -------------------------------------------------------------------------------

SEPARATOR = r"[.,_'\u00a0\u2009\u202f ]"
NUMBER = re.compile(rf"(?<![\w.\-−])[-−]?\d+(?:{SEPARATOR}\d+)*(?:[eE][-+]?\d+)?%?(?![\w])")
SIZES = re.compile(r"(?<![\w.])\d+(?:\s*(?:x|X|×|\*|by)\s*\d+)+(?![\w])")
BRACKETED = re.compile(r"[(\[]([^()\[\]]*)[)\]]")
IN_BRACKETS = re.compile(r"^[\s,]*(?:(?:None|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)[\s,]+)*"
                         r"(?:None|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)?[\s,]*$")


def number_values(written: str) -> set[float]:
    """Every value a number written this way can mean: ``5,408`` is 5408 (and 5.408, a decimal comma), ``0.995``
    is 0.995, ``99.5%`` is 99.5 and 0.995; a list written without spaces (``1,5,2``) is its numbers."""
    text = written.replace("−", "-")
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("-")
    percent = text.endswith("%")
    text = text.rstrip("%")
    exponent = 0
    found = re.search(r"[eE]([-+]?\d+)$", text)
    if found:  # scientific: 5.408e3 (its mantissa a plain decimal)
        exponent, text = int(found.group(1)), text[:found.start()].replace(",", ".")
    pieces = re.split(f"({SEPARATOR})", text)
    digits, separators = pieces[0::2], pieces[1::2]
    values: set[float] = set() if separators else {float(text)}
    if _grouped(digits, separators) and not exponent:
        values.add(float("".join(digits)))  # thousands: 5,408  5 408  5_408  5.408
    last = separators[-1] if separators else ""
    decimal = last == "." or (last == "," and len(digits[-1]) != 3)  # 60,000 is sixty thousand, 0,5 a half
    if decimal and separators.count(last) == 1 and (len(separators) == 1 or _grouped(digits[:-1], separators[:-1])):
        values.add(float("".join(digits[:-1]) + "." + digits[-1]))  # a decimal point or comma: 0.995  0,5  1,234.5
    if not values:
        values = {float(d) for d in digits}  # numbers one after another: 1,5,2
    values = {sign * v * 10.0 ** exponent for v in values if math.isfinite(v)}
    return values | {v / 100 for v in values} if percent else values


def _grouped(digits: list[str], separators: list[str]) -> bool:
    """Thousands written with one separator: ``5,408``, ``60 000``, ``1_000_000`` (never ``0.995``)."""
    return bool(separators) and len(set(separators)) == 1 and 1 <= len(digits[0]) <= 3 and \
        not digits[0].startswith("0") and all(len(d) == 3 for d in digits[1:])


@dataclass
class Written:
    """The numbers and sequences of numbers a piece of a student's file writes, each with how it is written."""

    where: str
    numbers: list[tuple[float, str]]
    sequences: list[tuple[tuple[float, ...], str]]


def written_in_text(where: str, text: str) -> Written:
    numbers = [(value, match.group()) for match in NUMBER.finditer(text) for value in number_values(match.group())]
    sequences = [(tuple(float(n) for n in re.findall(r"\d+", match.group())), match.group())
                 for match in SIZES.finditer(text)]
    for match in BRACKETED.finditer(text):
        inside = match.group(1)
        if IN_BRACKETS.match(inside) and re.search(r"\d", inside):
            values = tuple(math.nan if n == "None" else float(n)
                           for n in re.findall(r"None|-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", inside))
            sequences.append((values, match.group()))
    return Written(where, numbers, sequences)


def written_in_json(where: str, data: Any) -> list[Written]:
    """A JSON document's numbers and lists of numbers (where each is), and the text of its strings."""
    found = Written(where, [], [])
    pieces = [found]

    def walk(value: Any, path: str) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            found.numbers.append((float(value), f"{path} = {value}"))
        elif isinstance(value, str):
            pieces.append(written_in_text(f"{where} {path}", value))
        elif isinstance(value, list):
            if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) or v is None for v in value):
                found.sequences.append((tuple(math.nan if v is None else float(v) for v in value),
                                        f"{path} = {json.dumps(value)}"))
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))

    walk(data, "")
    return pieces


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _output_texts(cell: dict) -> Iterator[str]:
    for output in cell.get("outputs", ()) if isinstance(cell.get("outputs"), list) else ():
        if not isinstance(output, dict):
            continue
        pieces = [output.get("text", "")] + list((output.get("data") or {}).values())
        for piece in pieces:
            if isinstance(piece, list):
                piece = "".join(p for p in piece if isinstance(p, str))
            if isinstance(piece, str) and piece:
                yield piece


def written_in_notebook(path: Path, nb: dict) -> list[Written]:
    """What a notebook shows a student: each cell's text and outputs (never its ids or metadata)."""
    pieces = []
    for index, cell in enumerate(nb.get("cells", ())):
        where = f"{path.name}, cell {index} ({cell.get('cell_type')})"
        pieces.append(written_in_text(where, _cell_text(cell)))
        pieces += [written_in_text(f"{where} output", text) for text in _output_texts(cell)]
    return pieces


def written_in_folder(folder: Path) -> list[Written]:
    pieces = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES):
        text = path.read_text(errors="replace")
        if path.suffix in (".ipynb", ".json"):
            try:
                data = json.loads(text)
            except ValueError:
                pieces.append(written_in_text(path.name, text))
                continue
            pieces += written_in_notebook(path, data) if path.suffix == ".ipynb" else written_in_json(path.name, data)
        else:
            pieces.append(written_in_text(path.name, text))
    return pieces


def _holds(sequence: tuple[float, ...], run: tuple[float, ...]) -> bool:
    size = len(run)
    return any(all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(sequence[i:i + size], run))
               for i in range(len(sequence) - size + 1))


def answers_written(answers: Iterable[Answer], pieces: Iterable[Written]) -> list[str]:
    """Where each answer is written as a number or as consecutive numbers."""
    pieces = list(pieces)
    problems = []
    for answer in answers:
        for piece in pieces:
            shown = [written for value, written in piece.numbers
                     if any(abs(value - n) <= answer.tolerance + 1e-9 * max(1.0, abs(n)) for n in answer.numbers)]
            shown += [written for sequence, written in piece.sequences if any(_holds(sequence, r) for r in answer.runs)]
            if shown:
                problems.append(f"{piece.where}: {', '.join(dict.fromkeys(_short(s) for s in shown))} gives away"
                                f" {answer.name()}")
    return problems


def _short(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 60 else text[:57] + "...")


# -- answers assigned in the student's code --------------------------------------------------------------------------

ARITHMETIC = (ast.Expression, ast.Constant, ast.Tuple, ast.List, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult,
              ast.Div, ast.FloorDiv, ast.Pow, ast.Mod, ast.USub, ast.UAdd, ast.Load)


def _constant(node: ast.expr) -> Any:
    """The value of a literal, or of arithmetic on literals (``13 * 13 * 32``); ``Ellipsis`` for anything else."""
    expression = ast.Expression(node)
    if not all(isinstance(n, ARITHMETIC) for n in ast.walk(expression)):
        return Ellipsis
    try:
        return eval(compile(expression, "<answer>", "eval"), {"__builtins__": {}})  # noqa: S307 - literals only
    except (ArithmeticError, TypeError, ValueError, OverflowError):
        return Ellipsis


def _assignments(code: str) -> Iterator[tuple[str, Any, str]]:
    """(variable, value, as written) for each assignment of a constant value in ``code``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            names = [target] if isinstance(target, ast.Name) else \
                [t for t in target.elts if isinstance(t, ast.Name)] if isinstance(target, (ast.Tuple, ast.List)) else []
            for index, name in enumerate(names):
                value = node.value
                if len(names) > 1 and isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(names):
                    value = value.elts[index]
                elif len(names) > 1:
                    continue
                found = _constant(value)
                if found is not Ellipsis:
                    yield name.id, found, ast.get_source_segment(code, node) or name.id


def answers_assigned(answers: Iterable[Answer], student_dir: Path) -> list[str]:
    """Where a code cell of a student's notebook gives an answer's variable a value its check accepts."""
    from grader.checks.base import lookup

    wanted: dict[str, list[Answer]] = {}
    for answer in answers:
        if answer.assigned:
            wanted.setdefault(answer.check.evidence, []).append(answer)
    problems = []
    for path in sorted(student_dir.rglob("*.ipynb")):
        try:
            cells = json.loads(path.read_text(errors="replace")).get("cells", ())
        except ValueError:
            continue
        for index, cell in enumerate(cells):
            if cell.get("cell_type") != "code":
                continue
            for variable, value, written in _assignments(_cell_text(cell)):
                for answer in wanted.get(variable, ()):
                    if lookup(answer.check.kind)[1](value, answer.check.params).passed:
                        problems.append(f"{path.name}, cell {index} (code): {_short(written)} gives away"
                                        f" {answer.name()}")
    return problems


# -- the solution's own lines, markers and hidden checks ----------------------------------------------------------

def solution_lines(source: AssignmentSource) -> set[str]:
    """The answer lines of the solution notebook, stripped, long enough to be telling."""
    lines: set[str] = set()
    for item in source.cells:
        if item.cell.cell_type != "code":
            continue
        inside = False
        for line in item.cell.source.split("\n"):
            if BEGIN_SOLUTION.match(line):
                inside = True
                continue
            if END_SOLUTION.match(line):
                inside = False
                continue
            single = SOLUTION_LINE.match(line)
            text = single.group(2).strip() if single else line.strip() if inside else ""
            if len(text) >= MIN_LINE and re.search(r"\w", text):
                lines.add(text)
    return lines


def reference_lines(source: AssignmentSource) -> set[str]:
    """The lines of the solution's reference cells that are theirs alone (long, not an import or a comment)."""
    return {line.strip() for line in source.reference_code.split("\n")
            if len(line.strip()) >= MIN_REFERENCE_LINE and not line.strip().startswith(("#", "import ", "from "))}


def _notebook_texts(notebook: Path) -> tuple[str, str]:
    nb = json.loads(notebook.read_text())
    code = "\n".join(_cell_text(c) for c in nb["cells"] if c["cell_type"] == "code")
    return code, "\n".join(_cell_text(c) for c in nb["cells"])


def _hidden_checks(source: AssignmentSource, student_dir: Path) -> list[str]:
    problems = []
    public = json.loads((student_dir / PUBLIC_CHECKS_FILE).read_text())
    public_checks = [c for t in public["tasks"] for c in t["checks"]]
    hidden = [c.to_dict() for t in source.spec.tasks for c in t.checks if not c.public]
    for check in public_checks:
        if check.get("kind") in FORMAT_TWINS:  # a choice, number or shape with its expected answer
            problems.append(f"{PUBLIC_CHECKS_FILE}: the check {check.get('title')!r} reveals an answer")
        if not check.get("public") or check in hidden:
            problems.append(f"{PUBLIC_CHECKS_FILE}: contains the hidden check {check.get('title')!r}")
    for task in public["tasks"]:
        for note in task.get("also_graded", ()):
            if set(note) != ALSO_GRADED_KEYS:  # a check left out is named by its kind only: its parameters hold answers
                problems.append(f"{PUBLIC_CHECKS_FILE}: the note on a hidden check of {task.get('name')!r}"
                                f" says more than {sorted(ALSO_GRADED_KEYS)}")
    return problems


def find_leaks(source: AssignmentSource, student_dir: Path) -> list[str]:
    """Every answer line, reference line, solution marker, hidden check and hidden answer found in the student's
    files."""
    problems = []
    notebook = student_dir / f"{source.spec.name}.ipynb"
    code, everything = _notebook_texts(notebook)
    for line in sorted(solution_lines(source)):
        if line in code:
            problems.append(f"{notebook.name}: contains the answer line {line!r}")
    for line in sorted(reference_lines(source)):
        if line in everything:
            problems.append(f"{notebook.name}: contains the reference line {line!r}")
    for mark in (*MARKS, "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"):
        if mark in everything:
            problems.append(f"{notebook.name}: contains the marker {mark!r}")
    problems += _hidden_checks(source, student_dir)
    answers = hidden_answers(source, problems)
    problems += answers_written(answers, written_in_folder(student_dir))
    problems += answers_assigned(answers, student_dir)
    for path in sorted(student_dir.rglob("*")):
        if path.is_file() and path.suffix not in (".ipynb", ".json", ".md", ".txt", ".py"):
            problems.append(f"{path.name}: unexpected file in the student's folder")
    return problems
