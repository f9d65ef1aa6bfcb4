"""The student notebook is generated from the solution, kept in sync, and leaks nothing."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader.ci.validate import validate_files
from grader.course.assignment import load_assignment
from grader.course.generate import PUBLIC_CHECKS_FILE, out_of_date, strip_solution, student_files
from grader.course.leaks import find_leaks, solution_lines
from grader.errors import SpecError


def test_solution_blocks_and_lines_are_replaced():
    source = "x = load()\n# BEGIN SOLUTION\ny = x * 2\nz = y + 1\n# END SOLUTION\nanswer = 'b'  # SOLUTION\nprint(z)"
    stripped, changed = strip_solution(source)
    assert changed
    assert stripped == "x = load()\n...  # YOUR CODE HERE\nanswer = ...\nprint(z)"


def test_indented_blocks_keep_valid_python():
    stripped, _ = strip_solution("def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n")
    compile(stripped, "cell", "exec")
    assert "    ...  # YOUR CODE HERE" in stripped


def test_consecutive_solution_lines_become_one_placeholder_at_their_indentation():
    source = ("for image in images:\n    total += image.sum()  # SOLUTION\n    count += 1  # SOLUTION\n"
              "    print(total)  # SOLUTION\n    show(image)  # SOLUTION\nreport()  # SOLUTION\nq1 = 3  # SOLUTION\n"
              "q2 = 'a'  # SOLUTION")
    stripped, _ = strip_solution(source)
    assert stripped == "for image in images:\n    ...  # YOUR CODE HERE\n...  # YOUR CODE HERE\nq1 = ...\nq2 = ..."
    compile(stripped, "cell", "exec")


def test_an_unclosed_block_is_an_error():
    with pytest.raises(SpecError):
        strip_solution("# BEGIN SOLUTION\nx = 1")


COURSE = sorted(p.parent.name for p in (Path(__file__).resolve().parents[2] / "solutions").glob("*/*.ipynb")
                if p.stem == p.parent.name)


@pytest.mark.parametrize("name", COURSE)
def test_every_assignments_student_files_are_up_to_date_and_leak_nothing(name):
    course = load_assignment(name)
    assert course.out_of_date() == []
    assert validate_files(course) == []


def test_committed_student_files_are_up_to_date(assignment):
    assert out_of_date(assignment.solution_path, assignment.student_dir) == []


def test_student_notebook_has_scaffolding_but_no_answers(assignment):
    nb = nbformat.read(assignment.student_notebook_path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "fashion_mnist.load_data()" in code
    assert 'check("cnn")' in code
    assert "Conv2D(64" not in code
    assert 'q1_convolution = ...' in code
    roles = {c.metadata["grader"]["role"] for c in nb.cells}
    assert roles == {"setup", "answer", "scaffold", "text"}
    public = json.loads((assignment.student_dir / PUBLIC_CHECKS_FILE).read_text())
    kinds = {c["kind"] for t in public["tasks"] for c in t["checks"]}
    assert "choice" not in kinds and "model_accuracy" not in kinds and "array_matches_dataset" not in kinds
    assert '"expected"' not in json.dumps(public)


def test_a_stale_student_notebook_is_detected(assignment, tmp_path):
    copy = tmp_path / "assignments" / assignment.name
    shutil.copytree(assignment.student_dir, copy)
    path = copy / f"{assignment.name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\nAn edit made by hand."
    nbformat.write(nb, path)
    assert out_of_date(assignment.solution_path, copy) == [path.name]


def test_leaked_answers_and_hidden_checks_are_found(assignment, tmp_path):
    files = student_files(assignment.source)
    for name, text in files.files.items():
        (tmp_path / name).write_text(text)
    assert find_leaks(assignment.source, tmp_path) == []
    nb = nbformat.read(tmp_path / files.notebook_name, as_version=4)
    answer = sorted(solution_lines(assignment.source))[0]
    nb.cells.append(nbformat.v4.new_code_cell(answer))
    nbformat.write(nb, tmp_path / files.notebook_name)
    public = json.loads((tmp_path / PUBLIC_CHECKS_FILE).read_text())
    hidden = next(c.to_dict() for t in assignment.spec.tasks for c in t.checks if c.kind == "choice")
    public["tasks"][-1]["checks"].append(hidden)
    (tmp_path / PUBLIC_CHECKS_FILE).write_text(json.dumps(public))
    problems = find_leaks(assignment.source, tmp_path)
    assert any("contains the answer line" in p for p in problems)
    assert any("hidden check" in p for p in problems)
