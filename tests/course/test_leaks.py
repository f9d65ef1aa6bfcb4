"""``grader validate`` finds every hidden answer written in a student's file, in any common form: answers planted in
copies of each assignment's student files, one way at a time, are each found, and the files as generated hold none."""
from __future__ import annotations

import json
import shutil

import nbformat
import numpy as np
import pytest

from grader.checks.base import REGISTRY, lookup
from grader.course.assignment import load_assignment
from grader.course.generate import PUBLIC_CHECKS_FILE
from grader.course.leaks import ANSWER_KINDS, NO_ANSWER, find_leaks, hidden_answers, number_values

COURSE = ["by_hand", "fashion_cnn", "mnist_callback", "lenet5"]


def test_every_kind_of_check_says_whether_it_holds_an_answer():
    lookup("number")  # every check module registered
    assert set(ANSWER_KINDS).isdisjoint(NO_ANSWER)
    assert set(REGISTRY) == set(ANSWER_KINDS) | set(NO_ANSWER)


@pytest.mark.parametrize("written, value", [
    ("5408", 5408), ("5,408", 5408), ("5 408", 5408), ("5\u202f408", 5408), ("5_408", 5408), ("5.408", 5408),
    ("5408.0", 5408), ("5.408e3", 5408), ("5.408E+03", 5408), ("692,352", 692352), ("0.995", 0.995), ("99.5%", 0.995),
    ("0,5", 0.5), ("-9", -9), ("1,234.5", 1234.5),
])
def test_numbers_are_read_in_every_common_form(written, value):
    assert value in number_values(written)


def test_thousands_are_never_read_as_small_numbers():
    assert number_values("60,000") == {60000.0} and number_values("0.995") == {0.995}


@pytest.fixture(params=COURSE)
def course(request, tmp_path):
    """An assignment and a copy of its student files as generated, which hold no answer."""
    assignment = load_assignment(request.param)
    folder = tmp_path / request.param
    shutil.copytree(assignment.student_dir, folder)
    assert find_leaks(assignment.source, folder) == []
    return assignment, folder


def _plant_text(folder, name, text, where="markdown"):
    path = folder / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    if where == "markdown":
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(text))
    elif where == "code":
        nb.cells.append(nbformat.v4.new_code_cell(text))
    else:  # an output a saved notebook would show
        cell = nbformat.v4.new_code_cell("print(x)")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    nbformat.write(nb, path)


def _plant_json(folder, value):
    path = folder / PUBLIC_CHECKS_FILE
    data = json.loads(path.read_text())
    data["tasks"][0]["checks"][0]["planted"] = value
    path.write_text(json.dumps(data))


def number_forms(n: float) -> list[str]:
    forms = [f"{n:g}", f"{n:.1f}", f"{n:e}"]
    if n == int(n) and abs(n) >= 1000:
        n = int(n)
        forms += [f"{n:,}", f"{n:,}".replace(",", " "), f"{n:_}", f"{n:,}".replace(",", "."),
                  f"{n:,}".replace(",", "\u2009")]
    return forms


def shape_forms(sizes: tuple[int, ...]) -> list[str]:
    h, w = sizes[:2]
    return [f"{h} x {w}", f"{h}x{w}", f"{h} × {w}", f"{h} by {w}", f"({h}, {w})", f"[{h}, {w}]", f"({h},{w})",
            f"(None, {h}, {w}, 1)", f"{h} x {w} x 16", f"shape=({h}, {w}, 64)"]


def planted_cases(assignment):
    """(kind, how, a function planting one answer that way in a copy of the student files) for each hidden answer."""
    cases = []
    for answer in hidden_answers(assignment.source):
        check = answer.check
        if check.kind == "number":
            n = float(check.params["expected"])
            for form in number_forms(n) if answer.numbers else ():  # 1 alone is in every text: not looked for
                cases.append((check.kind, f"{check.evidence} as {form!r} in a text cell",
                              lambda folder, form=form: _plant_text(folder, assignment.name, f"It is {form}.")))
            if answer.numbers:
                cases.append((check.kind, f"{check.evidence} in an output", lambda folder, n=n: _plant_text(
                    folder, assignment.name, f"{int(n)}\n", where="output")))
                cases.append((check.kind, f"{check.evidence} in public_checks.json",
                              lambda folder, n=n: _plant_json(folder, [1, int(n)])))
                cases.append((check.kind, f"{check.evidence} in a string of public_checks.json",
                              lambda folder, n=n: _plant_json(folder, f"the total is {int(n):,}")))
            cases.append((check.kind, f"{check.evidence} assigned in code", lambda folder, c=check, n=n: _plant_text(
                folder, assignment.name, f"{c.evidence} = {int(n)}", where="code")))
        elif check.kind == "shape":
            sizes = tuple(int(v) for v in check.params["expected"])
            for form in shape_forms(sizes):
                cases.append((check.kind, f"{check.evidence} as {form!r} in a text cell",
                              lambda folder, form=form: _plant_text(folder, assignment.name, f"It gives {form}.")))
            cases.append((check.kind, f"{check.evidence} in a list of public_checks.json",
                          lambda folder, s=sizes: _plant_json(folder, [[*s, 64], [1600]])))
            cases.append((check.kind, f"{check.evidence} as a string in code", lambda folder, c=check, s=sizes: _plant_text(
                folder, assignment.name, f'{c.evidence} = "{s[0]}x{s[1]}"', where="code")))
        elif check.kind == "choice":
            letter = str(check.params["expected"])
            text = check.params["options"][letter]
            cases.append((check.kind, f"{check.evidence} assigned in code", lambda folder, c=check, letter=letter: _plant_text(
                folder, assignment.name, f'{c.evidence} = "{letter.upper()}"', where="code")))
            cases.append((check.kind, f"{check.evidence} assigned with its text", lambda folder, c=check, t=text: _plant_text(
                folder, assignment.name, f"x = 1\n{c.evidence} = {t!r}", where="code")))
        elif check.kind == "array_from_reference":
            from grader.checks.functions import reference_result

            shown = np.array2string(reference_result(check.params), threshold=10**6)
            cases.append((check.kind, f"{check.evidence} printed in an output", lambda folder, s=shown: _plant_text(
                folder, assignment.name, s, where="output")))
    return cases


def test_every_hidden_answer_planted_anywhere_is_found(course, tmp_path):
    assignment, clean = course
    cases = planted_cases(assignment)
    kinds = {c.kind for t in assignment.spec.tasks for c in t.checks if not c.public and c.kind in ANSWER_KINDS}
    assert {kind for kind, _, _ in cases} == kinds  # every kind of answer the assignment has is planted
    missed = []
    for number, (_, how, plant) in enumerate(cases):
        folder = tmp_path / f"planted-{number}"
        shutil.copytree(clean, folder)
        plant(folder)
        found = find_leaks(assignment.source, folder)
        if not any("gives away" in p for p in found):
            missed.append(how)
    assert missed == []


def test_a_leak_names_the_file_the_place_and_the_answer(tmp_path):
    assignment = load_assignment("mnist_callback")
    folder = tmp_path / "copy"
    shutil.copytree(assignment.student_dir, folder)
    _plant_text(folder, "mnist_callback", "Flatten gives 4,608 values.")
    (problem,) = find_leaks(assignment.source, folder)
    assert problem == ("mnist_callback.ipynb, cell 1 (markdown): '4,608' gives away the answer of the hidden check"
                       " 'values after Flatten' (q2_flatten_size)")


def test_numbers_that_are_not_the_answer_are_not_found(tmp_path):
    """Near misses: a number inside a longer one, another number, small numbers everywhere, an unrelated shape."""
    assignment = load_assignment("mnist_callback")
    folder = tmp_path / "copy"
    shutil.copytree(assignment.student_dir, folder)
    _plant_text(folder, "mnist_callback", "Not 46080, nor 4609, nor q4608, nor 14,608; 12 x 12 x 16 and (24, 24).")
    _plant_text(folder, "mnist_callback", "q1_conv_params = 320\nq2_flatten_size = 4609", where="code")
    assert find_leaks(assignment.source, folder) == []


@pytest.mark.parametrize("planted", ["The convolution gives 26 x 26.", "Its second layer has 36,928 parameters.",
                                     "[[-6 -4  4]\n [-3 -4  5]\n [-2  2 -2]]"])
def test_an_otter_notebooks_hidden_answers_are_found(tmp_path, planted):
    """An otter-assign notebook's hidden tests: the values they compare with (``output_size == 26``, a list, an
    array) are answers too."""
    from grader.course.otter import OtterAssignment

    course = load_assignment("conv_arithmetic")
    assert course.leaks() == []
    copy = OtterAssignment(solution_path=course.solution_path, student_dir=tmp_path / "conv_arithmetic")
    shutil.copytree(course.student_dir, copy.student_dir)
    _plant_text(copy.student_dir, "conv_arithmetic", planted)
    assert [p for p in copy.leaks() if "gives away the answer of the hidden check 'q" in p], copy.leaks()
