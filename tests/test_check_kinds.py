"""The guide is made from the code where it can drift: its reference of the check kinds is what
``grader docs check-kinds`` writes from ``grader/course/check_kinds.py``, every check kind the grader registers is in it,
each kind's example is a valid check, and the guide's example assignment generates."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import yaml

from grader.checks.base import REGISTRY, _register_all
from grader.course.check_kinds import BY_KIND, KINDS, with_reference
from grader.course.schema import check_problems

from .guide import GUIDE, write_example

REPO = GUIDE.parents[1]


def test_the_guide_s_reference_is_what_the_code_writes():
    guide = GUIDE.read_text()
    assert with_reference(guide) == guide, "run: grader docs check-kinds --write docs/authoring.md"


def test_every_registered_kind_is_documented():
    _register_all()
    assert set(REGISTRY) == set(BY_KIND) - {"manual"}
    assert len(KINDS) == len(BY_KIND)


def test_each_kind_s_example_is_a_valid_check():
    for doc in KINDS:
        if not doc.example:
            continue
        check = yaml.safe_load(f"kind: {doc.kind}\nevidence: VARIABLE\npoints: 1\n{doc.example}")
        if doc.kind == "manual":
            check.pop("evidence")
        exports = {"VARIABLE": doc.evidence, "model": "keras_model"}
        references = {"average_pool_2x2", "correlate_3x3", "max_pool_2x2"}
        assert check_problems(check, 1, _place(), exports, references) == [], doc.kind


def test_the_command_writes_the_reference(tmp_path):
    copy = tmp_path / "authoring.md"
    copy.write_text(GUIDE.read_text().replace("| `shape` | list of sizes", "| `shape` | stale"))
    done = subprocess.run([sys.executable, "-m", "grader", "docs", "check-kinds", "--write", str(copy)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert copy.read_text() == GUIDE.read_text()


def test_the_guide_s_example_generates_in_its_own_course_folder(tmp_path):
    """Made from the guide alone, its reference functions in its own file beside the solution: `grader --course DIR
    generate` writes the student's files there, with no reference in them."""
    written = write_example(tmp_path / "course")
    assert sorted(written) == ["solutions/avg_pool/avg_pool.ipynb", "solutions/avg_pool/references.py"]
    done = subprocess.run([sys.executable, "-m", "grader", "--course", str(tmp_path / "course"), "generate",
                           "avg_pool"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    student = tmp_path / "course" / "assignments" / "avg_pool"
    assert sorted(p.name for p in student.iterdir()) == ["avg_pool.ipynb", "public_checks.json"]
    text = "\n".join(p.read_text() for p in student.iterdir())
    assert "Reference(" not in text and "reshape" not in text  # neither the references nor the answer
    nb = nbformat.read(student / "avg_pool.ipynb", 4)
    assert any(c.source.startswith("def average_pool(image):") and "...  # YOUR CODE HERE" in c.source
               for c in nb.cells)
    from grader.bundle.gradescope import bundle_files
    from grader.course.assignment import load_assignment

    bundle = bundle_files(load_assignment(written["solutions/avg_pool/avg_pool.ipynb"]), with_datasets=False)
    assert bundle["solutions/avg_pool/references.py"] == written["solutions/avg_pool/references.py"]
    done = subprocess.run([sys.executable, "-m", "grader", "validate", "avg_pool", "--files-only"],
                          cwd=tmp_path / "course", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # the working folder chooses the course


def _place():
    from grader.course.schema import Place

    return Place(0, "BEGIN CHECKS of question q")
