"""The in-sandbox runner on tiny notebooks: limits per cell and per notebook, dead kernels, capped output, exports."""
from __future__ import annotations

import json

import nbformat
import pytest

from grader.runner import run


def run_cells(tmp_path, *sources, cell_timeout=5, notebook_timeout=60, tasks=(), max_output=100_000):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    job = {"notebook": str(tmp_path / "nb.ipynb"), "workdir": str(tmp_path), "export_dir": str(out),
           "cell_timeout_s": cell_timeout, "notebook_timeout_s": notebook_timeout, "max_output_bytes": max_output,
           "tasks": list(tasks), "token": "t"}
    return run(job), out


def statuses(status):
    return [c["status"] for c in status["cells"]]


def test_a_looping_cell_is_interrupted_and_the_rest_runs(tmp_path):
    status, out = run_cells(tmp_path, "x = 1", "while True:\n    pass", "y = x + 1",
                            tasks=[{"name": "t", "exports": {"y": "value"}, "after_cell": 2}])
    assert statuses(status) == ["ok", "timeout", "ok"]
    assert status["stopped"] is None
    assert json.loads((out / "exports" / "t" / "y.json").read_text()) == {"value": 2}


def test_the_notebook_deadline_stops_later_cells(tmp_path):
    status, _ = run_cells(tmp_path, "import time\ntime.sleep(30)", "z = 1", cell_timeout=30, notebook_timeout=4)
    assert statuses(status) == ["notebook_timeout", "not_run"]
    assert status["stopped"] == "notebook_timeout"


def test_a_dead_kernel_keeps_what_was_exported_before(tmp_path):
    tasks = [{"name": "early", "exports": {"a": "value"}, "after_cell": 0},
             {"name": "late", "exports": {"b": "value"}, "after_cell": 2}]
    status, out = run_cells(tmp_path, "a = 'kept'", "import os\nos._exit(3)", "b = 1", tasks=tasks)
    assert statuses(status) == ["ok", "kernel_died", "not_run"]
    assert status["cells"][1]["exit_code"] == 3
    assert status["exports"] == {"early": "ok"}
    assert (out / "exports" / "early" / "a.json").is_file()
    assert not (out / "exports" / "late").exists()


def test_output_is_capped(tmp_path):
    status, out = run_cells(tmp_path, "for i in range(20000):\n    print('x' * 100)", max_output=50_000)
    executed = (out / "executed.ipynb").read_text()
    assert len(executed) < 200_000
    assert "output truncated" in executed
    assert status["truncated_output_cells"] == [0]


@pytest.mark.parametrize("source, detail", [
    ("m = 'not a model'", "it is a str, not a Keras model"),
])
def test_exports_that_are_not_what_the_task_declares(tmp_path, source, detail):
    tasks = [{"name": "t", "exports": {"m": "keras_model", "arr": "array", "v": "value", "gone": "value",
                                       "todo": "value"}, "after_cell": 0}]
    status, out = run_cells(tmp_path, source + "\narr = [object()]\nv = {1, 2}\ntodo = ...", tasks=tasks)
    report = json.loads((out / "exports" / "t.json").read_text())
    assert report["m"] == {"status": "error", "detail": f"TypeError: {detail}"}
    assert report["arr"]["status"] == "error" and "not an array of numbers" in report["arr"]["detail"]
    assert report["v"]["status"] == "error" and "not JSON serializable" in report["v"]["detail"]
    assert report["gone"] == {"status": "undefined"}
    assert report["todo"] == {"status": "placeholder"}


def test_the_export_leaves_no_trace_in_the_namespace(tmp_path):
    tasks = [{"name": "t", "exports": {"a": "value"}, "after_cell": 0}]
    status, out = run_cells(tmp_path, "a = 1", "names = sorted(k for k in globals() if not k.startswith('_'))\n"
                            "assert names == ['In', 'Out', 'a', 'exit', 'get_ipython', 'open', 'quit'], names\n"
                            "assert len(In) == 3, In", tasks=tasks)
    assert statuses(status) == ["ok", "ok"], status
