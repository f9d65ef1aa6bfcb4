"""The wheel students install (docs/students.md: the instructor builds it with ``pip wheel --no-deps .``) is the grader's package
and nothing else: no solution, no hidden check, no reference function of any solution."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from grader.course.assignment import load_assignment
from grader.course.leaks import reference_lines

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_the_package_and_no_answer(tmp_path):
    source = tmp_path / "src"  # a clean copy: a build folder left in a checkout is not what is tested here
    shutil.copytree(REPO / "grader", source / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", source)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp_path / "wheels"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = zipfile.ZipFile(next((tmp_path / "wheels").glob("notebook_grader-*.whl")))
    modules = {name for name in wheel.namelist() if name.endswith(".py")}
    assert modules == {str(p.relative_to(source)) for p in (source / "grader").rglob("*.py")}
    assert not [n for n in wheel.namelist() if not n.startswith(("grader/", "notebook_grader-"))]
    lines = set()
    for solution in sorted((REPO / "solutions").glob("*/*.ipynb")):
        course = load_assignment(solution.parent.name)
        if hasattr(course, "source"):  # an otter-assign notebook has no reference cells
            lines |= reference_lines(course.source)
    assert "out += kernel[dy, dx] * image[dy:dy + out.shape[0], dx:dx + out.shape[1]]" in lines
    for name in modules:
        text = wheel.read(name).decode()
        assert not [line for line in lines if line in text], name
    assert "grader/data/mnist_5k.csv.gz" in wheel.namelist()  # MNIST offline, with nothing else installed
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    tensorflow = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: tensorflow")]
    # TensorFlow only as the extra: a student who has it (Colab) keeps theirs; macOS gets TensorFlow's own build
    assert tensorflow and all('extra == "tensorflow"' in line for line in tensorflow), tensorflow
    assert any("tensorflow==2.21.0" in line and "darwin" in line for line in tensorflow)
    # what only instructors use (batch grading's progress bar, similar submissions, the review page) is the
    # `grading` extra: a student's install never brings it (issue 22)
    requires = [line.removeprefix("Requires-Dist: ") for line in metadata.splitlines()
                if line.startswith("Requires-Dist: ")]
    for name in ("tqdm", "copydetect", "flask"):
        wanted = [r for r in requires if r.startswith(name)]
        assert wanted and all('extra == "grading"' in r for r in wanted), (name, wanted)
    assert "grader/bundle/setup.sh" in wheel.namelist() and "grader/bundle/run_autograder" in wheel.namelist()


def test_a_grading_command_without_the_grading_extra_says_what_to_install(monkeypatch):
    import importlib.util

    import click
    import pytest

    from grader.cli import needs_grading_extra

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "flask" else real(name, *a))
    with pytest.raises(click.ClickException, match=r"needs flask, which only instructors install: pip install"
                                                   r" 'notebook-grader\[grading\]'"):
        needs_grading_extra("flask", "tqdm")
