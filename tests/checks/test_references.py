"""The instructor's reference functions live with the solution (its reference cells), never in the grader's package:
what students install and the sandbox can import computes no answer of by_hand, and grades exactly as before.  And a
function that returns nothing is told so, in the student's check and in the grader's."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.checks import references
from grader.checks.functions import function_example
from grader.course.leaks import reference_lines
from grader.course.source import read_source
from grader.errors import SpecError
from grader.grading.evidence import load_task_evidence
from grader.grading.probes import probe_cases
from grader.grading.scoring import score_task
from grader.inside.inkernel import probe_function
from grader.inside.protocol import EXPORTS, PROBES

REPO = Path(__file__).resolve().parents[2]
BY_HAND = REPO / "solutions" / "by_hand" / "by_hand.ipynb"
STUDENT = REPO / "assignments" / "by_hand"


@pytest.fixture(scope="module")
def by_hand():
    return read_source(BY_HAND)


def held_out(source, evidence: str) -> tuple[list, references.Reference]:
    check = next(c for t in source.spec.tasks for c in t.checks if c.kind == "function_matches" and c.evidence == evidence)
    return references.held_out_cases(check.params), references.reference(check.params["reference"])


SCAN = r"""
import importlib, json, pkgutil, sys
import numpy as np
import grader, grader.checks
from grader.checks.base import lookup

lookup("function_matches")  # imports every check module
names = ["grader.inside.inkernel", "grader.grading.probes", "grader.student.live_checks", "grader.student"]
names += [m.name for m in pkgutil.iter_modules(grader.checks.__path__, "grader.checks.")]
cases = json.loads(sys.stdin.read())
found = []

def reachable(module):
    for name, value in vars(module).items():
        for item in (value if isinstance(value, (tuple, list)) else value.values() if isinstance(value, dict) else (value,)):
            for candidate in (item, *(vars(item).values() if hasattr(item, "__dataclass_fields__") else ())):
                if callable(candidate) and getattr(candidate, "__module__", "").startswith("grader") \
                        and not isinstance(candidate, type):
                    yield f"{module.__name__}.{name}", candidate

for module_name in names:
    module = importlib.import_module(module_name)
    for name, function in reachable(module):
        for case in cases:
            args = [np.asarray(a, dtype=float) for a in case["args"]]
            try:
                got = np.asarray(function(*args), dtype=float)
            except Exception:
                continue
            if got.shape == np.shape(case["expected"]) and np.allclose(got, case["expected"]):
                found.append(f"{name} answers {case['task']}")
from grader.checks.references import REFERENCES
print(json.dumps({"found": sorted(set(found)), "references": sorted(REFERENCES)}))
"""


def test_nothing_students_can_import_computes_by_hands_answers(by_hand):
    """Every function of the check modules, the in-kernel code and the student's side (and those held in their
    tuples, dicts and dataclasses: typical mistakes, registries) tried on by_hand's held-out cases, in a fresh
    interpreter that read no solution: none gives the convolution or the pooling."""
    cases = []
    for evidence, task in (("convolve", "convolve"), ("max_pool", "pool")):
        drawn, found = held_out(by_hand, evidence)
        cases += [{"task": task, "args": [a.tolist() for a in args], "expected": found.compute(*args).tolist()}
                  for args in drawn[:2]]
    done = subprocess.run([sys.executable, "-c", SCAN], input=json.dumps(cases), capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    scanned = json.loads(done.stdout.strip().splitlines()[-1])
    assert scanned == {"found": [], "references": []}


def test_no_line_of_the_reference_cells_is_in_the_package(by_hand):
    """The text of every file of the package students install (and the sandbox mounts) holds no telling line of the
    solution's reference cells: not ``def correlate_valid``, not its loop."""
    lines = reference_lines(by_hand)
    assert "out += kernel[dy, dx] * image[dy:dy + out.shape[0], dx:dx + out.shape[1]]" in lines
    assert "return image[:h, :w].reshape(h // size, size, w // size, size).max(axis=(1, 3))" in lines
    for path in (REPO / "grader").rglob("*.py"):
        text = path.read_text()
        assert not [line for line in lines if line in text], path
        assert "def correlate_valid" not in text and "def max_pool" not in text, path


def test_the_reference_cells_are_the_solutions_own(by_hand, tmp_path):
    assert {"correlate_3x3", "max_pool_2x2"} <= set(references.REFERENCES)
    assert "def correlate_valid" in by_hand.reference_code
    student = nbformat.read(STUDENT / "by_hand.ipynb", as_version=4)
    assert not any("correlate_valid" in c.source or "REFERENCES" in c.source for c in student.cells)
    public = (STUDENT / "public_checks.json").read_text()
    assert "correlate_valid" not in public and "seed" not in public


def test_the_held_out_cases_and_answers_are_those_of_before(by_hand):
    """The cases drawn from the seeds of by_hand's checks, and the reference's answers, as the grader's package drew
    and computed them before they moved to the solution (fingerprints of the arrays); the pooling's changed on
    purpose on 2026-12-08 (filtered pieces of images, with blocks below zero: a maximum started from 0 passed)."""
    digest = []
    for evidence in ("convolve", "max_pool"):
        drawn, found = held_out(by_hand, evidence)
        digest.append([(args[0].shape, round(float(args[0].sum()), 3), round(float(args[-1].sum()), 3),
                        round(float(found.compute(*args).sum()), 3)) for args in drawn])
    assert digest == BEFORE


BEFORE = [  # computed with grader/checks/references.py as it was (commit e565b6c), the same seeds and shapes;
    # the pooling's with the solution's filtered_image (2026-12-08)
    [((28, 28), 61752.0, 3.0, 177779.0), ((31, 17), 16865.0, 4.21, 59996.58), ((12, 45), 35735.0, -2.0, -62215.0),
     ((64, 64), 303945.0, 2.34, 695333.44)],
    [((26, 26), 40305.0, 40305.0, 19350.0), ((31, 17), 352928.0, 352928.0, 91149.0), ((11, 11), -7379.0, -7379.0,
     -718.0), ((64, 40), -1195223.0, -1195223.0, -218020.0)],  # filtered_image, the solution's draw since 2026-12-08
]


def _solution(tmp_path, *cells) -> Path:
    raw = nbformat.v4.new_raw_cell
    nb = nbformat.v4.new_notebook(cells=[raw("# ASSIGNMENT CONFIG\nname: r"), *cells])
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, path)
    return path


QUESTION = ("# BEGIN QUESTION\nname: t\nexport:\n  f: function", "# BEGIN CHECKS\n- {kind: function_matches, evidence: f,"
            " points: 1, reference: doubled, seed: 1, shapes: [[3, 3]]}", "# END QUESTION")
DOUBLED = ("from grader.checks.references import Reference\nimport numpy as np\n"
           "doubled = Reference(lambda a: 2 * a, lambda rng, shape, number: (rng.normal(size=shape),))")


def test_a_solution_names_only_references_its_cells_define(tmp_path):
    raw, code = nbformat.v4.new_raw_cell, nbformat.v4.new_code_cell
    with pytest.raises(SpecError, match="no reference function 'doubled'"):
        read_source(_solution(tmp_path, *map(raw, QUESTION)))
    source = read_source(_solution(tmp_path, *map(raw, QUESTION), raw("# BEGIN REFERENCES"), code(DOUBLED),
                                   raw("# END REFERENCES")))
    assert [c.cell.cell_type for c in source.cells] == []  # the reference cells are nobody's but the grader's
    (args,) = references.held_out_cases(source.spec.tasks[0].checks[0].params)
    assert np.array_equal(references.reference("doubled").compute(*args), 2 * args[0])
    with pytest.raises(SpecError, match="the reference cells raised ZeroDivisionError"):
        read_source(_solution(tmp_path, raw("# BEGIN REFERENCES"), code("1 / 0"), raw("# END REFERENCES")))
    with pytest.raises(SpecError, match="not closed"):
        read_source(_solution(tmp_path, raw("# BEGIN REFERENCES"), code(DOUBLED)))
    with pytest.raises(SpecError, match="without"):
        read_source(_solution(tmp_path, raw("# END REFERENCES")))


def test_the_students_check_names_the_examples_mistakes_without_the_reference(monkeypatch):
    """The public check of the example carries what each typical mistake gives on it: the student's own check
    names a flipped filter with no reference anywhere."""
    public = json.loads((STUDENT / "public_checks.json").read_text())
    params = next(c for t in public["tasks"] for c in t["checks"] if c["evidence"] == "convolve")
    monkeypatch.setattr(references, "REFERENCES", {})

    def flipped(image, kernel):
        windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3))
        return (windows * kernel[::-1, ::-1]).sum(axis=(2, 3))

    assert "on the example: the filter is flipped (a mathematical convolution" in function_example(flipped, params).message
    pool = next(c for t in public["tasks"] for c in t["checks"] if c["evidence"] == "max_pool")
    averaged = lambda im: im[:4, :4].reshape(2, 2, 2, 2).mean(axis=(1, 3))  # noqa: E731
    assert "each block is averaged" in function_example(averaged, pool).message


# -- a function that returns nothing -----------------------------------------------------------------------------

def template_function(tmp_path, name: str):
    """by_hand's task 1 as students get it, run from a file (as a kernel has each cell's source to show)."""
    student = nbformat.read(STUDENT / "by_hand.ipynb", as_version=4)
    cell = next(c for c in student.cells if c.source.startswith("def convolve"))
    path = tmp_path / f"{name}.py"
    path.write_text("import numpy as np\n" + cell.source.split("\n\n\n")[0] + "\n")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - the template's own code
    return namespace["convolve"]


def forgot_return(image, kernel):
    result = np.zeros((image.shape[0] - 2, image.shape[1] - 2))
    for a in range(3):
        for b in range(3):
            result += kernel[a, b] * image[a:a + result.shape[0], b:b + result.shape[1]]


def test_the_students_check_of_a_function_that_returns_nothing(tmp_path):
    public = json.loads((STUDENT / "public_checks.json").read_text())
    params = next(c for t in public["tasks"] for c in t["checks"] if c["evidence"] == "convolve")
    message = function_example(forgot_return, params).message
    assert message == "on the example: it returned None and raised nothing: is its return statement missing?"
    template = function_example(template_function(tmp_path, "cell"), params).message
    assert template == "not done yet: its code still holds the placeholder ... (# YOUR CODE HERE)"


@pytest.mark.parametrize("function, says", [
    (forgot_return, "convolve is a function that returned None and raised nothing: is its return statement missing?"),
    ("template", "convolve is not done yet: its code still holds the placeholder ... (# YOUR CODE HERE)"),
    (lambda image, kernel: None if image.shape == (28, 28) else image[1:-1, 1:-1],
     "convolve raised nothing: it returned None (is a return statement missing where it stops?)"),
])
def test_the_graders_probe_of_a_function_that_returns_nothing(by_hand, tmp_path, function, says):
    """The probe's report read as the host reads it: never "raised TypeError: it returned a ndarray"."""
    function = template_function(tmp_path, "cell") if function == "template" else function
    task = by_hand.spec.task("convolve")
    folder = tmp_path / "out" / EXPORTS / task.name / PROBES / "convolve"
    folder.mkdir(parents=True)
    cases = []
    for identifier, args in probe_cases(task, "convolve").items():
        paths = [str(folder / f"{identifier}-{n}.npy") for n in range(len(args))]
        for path, arg in zip(paths, args):
            np.save(path, arg)
        cases.append({"id": identifier, "args": paths})
    probe_function({"convolve": function}, {"name": "convolve", "cases": cases, "folder": str(folder)})
    evidence = load_task_evidence(tmp_path / "out", task, {"convolve": "ok"})
    result = score_task(task, evidence)
    held_out = next(c for c in result.checks if c.kind == "function_matches")
    assert says in held_out.message and not held_out.passed, held_out.message
    if "raised nothing" not in says:  # None everywhere: the example's check says the same
        assert all(c.message == says for c in result.checks), [c.message for c in result.checks]
    assert "TypeError" not in result.feedback and "ndarray" not in result.feedback
