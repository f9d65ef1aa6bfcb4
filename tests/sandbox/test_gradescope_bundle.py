"""Gradescope's bundle: the scripts, the grader and the solution; no tests; and its sandbox stays in Gradescope."""
from __future__ import annotations

import os
import re
import subprocess
import zipfile

import pytest
from click.testing import CliRunner

from grader.bundle.gradescope import write_bundle
from grader.cli import main
from grader.errors import SandboxUnavailableError
from grader.sandbox.gradescope import GradescopeSandbox


@pytest.fixture(scope="module")
def bundle(assignment, tmp_path_factory):
    return write_bundle(assignment, tmp_path_factory.mktemp("bundle"), ["--notebook-timeout", "900"],
                        with_datasets=False)


def test_the_bundle_holds_what_gradescope_runs(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        run_autograder = archive.read("run_autograder").decode()
    assert names[:3] == ["setup.sh", "run_autograder", "pyproject.toml"]
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "solutions/fashion_cnn/fashion_cnn.ipynb" in names
    assert "grader/inside/runner.py" in names and "grader/bundle/gradescope.py" in names
    assert not [n for n in names if n.startswith(("tests/", "assignments/", "benchmarks/")) or "__pycache__" in n]
    assert "--sandbox gradescope-container --gradescope \"$RESULTS/results.json\"" in run_autograder
    assert "LIMITS=(--notebook-timeout 900)" in run_autograder
    assert "NOTEBOOK_NAME=fashion_cnn.ipynb" in run_autograder
    assert 'chmod -R go-rwx "$SOURCE"' in run_autograder


def test_the_scripts_are_valid_bash(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_the_same_sources_give_the_same_bundle(assignment, bundle, tmp_path):
    again = write_bundle(assignment, tmp_path, ["--notebook-timeout", "900"], with_datasets=False)
    assert again.read_bytes() == bundle.read_bytes()


def test_the_cli_writes_the_bundle_with_the_data_set(tmp_path):
    done = CliRunner().invoke(main, ["gradescope", "fashion_cnn", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert "datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz" in archive.namelist()


def test_the_gradescope_sandbox_refuses_outside_gradescope(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(SandboxUnavailableError, match="for Gradescope's container only"):
        GradescopeSandbox(layout=tmp_path / "autograder")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxUnavailableError, match="runs as root"):
        GradescopeSandbox(layout=tmp_path)


def test_an_otter_assignment_has_a_bundle_too(tmp_path):
    """``grader gradescope conv_arithmetic`` once failed: the otter assignment's interface differed (a method where
    the others have a property); both are a ``Course`` now (tests/course/test_assignment.py)."""
    from grader.course.assignment import load_assignment

    bundle = write_bundle(load_assignment("conv_arithmetic"), tmp_path, [], with_datasets=False)
    with zipfile.ZipFile(bundle) as archive:
        run_autograder = archive.read("run_autograder").decode()
        setup = archive.read("setup.sh").decode()
        assert "solutions/conv_arithmetic/conv_arithmetic.ipynb" in archive.namelist()
    assert "NOTEBOOK_NAME=conv_arithmetic.ipynb" in run_autograder
    # otter-assign builds it where it is graded: without otter-grader, every student got "the grader failed"
    assert '"$SOURCE[tensorflow,otter]"' in setup and '"matplotlib", "otter")' in setup and not re.search(r"@[A-Z]+@", setup)


def test_a_keras_assignments_setup_installs_no_otter(bundle):
    with zipfile.ZipFile(bundle) as archive:
        setup = archive.read("setup.sh").decode()
    assert '"$SOURCE[tensorflow]"' in setup and "otter" not in setup and not re.search(r"@[A-Z]+@", setup)
