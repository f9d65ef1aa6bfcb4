"""The in-sandbox runner on tiny notebooks: limits per cell and per notebook, dead kernels, capped output, exports."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.inside.protocol import decode_report
from grader.inside.runner import CappedClient, collapse_redraws, run


def write_job(tmp_path, *sources, cell_timeout=5, notebook_timeout=60, tasks=(), max_output=100_000, probes=(),
              warm=()):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    job = {"notebook": str(tmp_path / "nb.ipynb"), "workdir": str(tmp_path), "export_dir": str(out),
           "cell_timeout_s": cell_timeout, "notebook_timeout_s": notebook_timeout, "max_output_bytes": max_output,
           "tasks": list(tasks), "probes": list(probes), "warm_imports": list(warm)}
    return job, out


def run_cells(tmp_path, *sources, **options):
    """The runner's report (decoded as the host decodes it) and the export folder."""
    job, out = write_job(tmp_path, *sources, **options)
    return decode_report(run(job), 2**30), out


def all_gone(pids, within_s: float = 10) -> bool:
    """Whether every process of ``pids`` has ended, waiting up to ``within_s`` for the last of them."""
    deadline = time.monotonic() + within_s
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


def statuses(report):
    return [c.status for c in report.cells]


def test_a_looping_cell_is_interrupted_and_the_rest_runs(tmp_path):
    status, out = run_cells(tmp_path, "x = 1", "while True:\n    pass", "y = x + 1",
                            tasks=[{"name": "t", "exports": {"y": "value"}, "after_cell": 2}])
    assert statuses(status) == ["ok", "timeout", "ok"]
    assert status.stopped is None
    assert json.loads((out / "exports" / "t" / "y.json").read_text()) == {"value": 2}


def test_cells_after_a_timeout_keep_their_outputs_and_errors(tmp_path):
    """nbclient's raise-on-timeout mode left the interrupted cell's listener running, swallowing the next cells'
    outputs: an error (or a figure) after a timeout went unseen."""
    status, out = run_cells(tmp_path, "import time\ntime.sleep(30)", "print('still here')", "1 / 0",
                            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(8)",
                            "print('after a cell that ignores the interrupt')", cell_timeout=2)
    assert statuses(status) == ["timeout", "ok", "error", "timeout", "ok"]
    assert status.cells[2].ename == "ZeroDivisionError"
    executed = nbformat.reads(status.notebook, as_version=4)
    assert executed.cells[0].outputs[0]["ename"] == "KeyboardInterrupt"
    assert executed.cells[1].outputs[0]["text"] == "still here\n"
    assert "after a cell" in executed.cells[4].outputs[0]["text"]


def test_the_notebook_deadline_stops_later_cells(tmp_path):
    status, _ = run_cells(tmp_path, "import time\ntime.sleep(30)", "z = 1", cell_timeout=30, notebook_timeout=4)
    assert statuses(status) == ["notebook_timeout", "not_run"]
    assert status.stopped == "notebook_timeout"


def test_a_dead_kernel_keeps_what_was_exported_before(tmp_path):
    tasks = [{"name": "early", "exports": {"a": "value"}, "after_cell": 0},
             {"name": "late", "exports": {"b": "value"}, "after_cell": 2}]
    status, out = run_cells(tmp_path, "a = 'kept'", "import os\nos._exit(3)", "b = 1", tasks=tasks)
    assert statuses(status) == ["ok", "kernel_died", "not_run"]
    assert status.cells[1].exit_code == 3
    assert status.exports == {"early": "ok"}
    assert (out / "exports" / "early" / "a.json").is_file()
    assert not (out / "exports" / "late").exists()


def test_output_is_capped(tmp_path):
    status, out = run_cells(tmp_path, "for i in range(20000):\n    print('x' * 100)", max_output=50_000)
    executed = status.notebook
    assert len(executed) < 200_000
    assert "output truncated" in executed
    assert status.truncated_output_cells == (0,)
    assert not (out / "executed.ipynb").exists(), "the executed notebook travels in the report, not in a file"


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


SEEN_BY_THE_FIRST_CELL = """import sys, json
open('seen.json', 'w').write(json.dumps({
    'names': sorted(k for k in globals() if not k.startswith('_')), 'history': len(In), 'outputs': len(Out),
    'count': get_ipython().execution_count, 'colorsys': 'colorsys' in sys.modules}))"""


@pytest.mark.parametrize("warm", [["colorsys"], []])
def test_a_module_imported_ahead_is_there_before_the_first_cell_and_nothing_else_shows(tmp_path, warm):
    status, _ = run_cells(tmp_path, SEEN_BY_THE_FIRST_CELL, warm=warm)
    assert statuses(status) == ["ok"], status
    seen = json.loads((tmp_path / "seen.json").read_text())
    # the same namespace, history and execution count as in a kernel that imported nothing ahead
    assert seen == {"names": ["In", "Out", "exit", "get_ipython", "json", "open", "quit", "sys"], "history": 2,
                    "outputs": 0, "count": 2, "colorsys": bool(warm)}
    assert status.warm_imports == {m: "ok" for m in warm} and status.kernel_seconds > 0


def test_the_runner_starts_the_kernel_then_waits_for_its_turn(tmp_path):
    """``python -m grader.inside.runner``: the job on its first line starts the kernel; the first cell runs only once
    ``go`` comes, and the notebook's time counts from then."""
    job, out = write_job(tmp_path, "open('ran', 'w').write('yes')", warm=["colorsys"])
    runner = subprocess.Popen([sys.executable, "-m", "grader.inside.runner"], stdin=subprocess.PIPE, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        runner.stdin.write(json.dumps(job) + "\n")
        runner.stdin.flush()
        deadline = time.monotonic() + 60
        while not list(out.glob("kernel-*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(out.glob("kernel-*.json")), "the kernel did not start before its turn"
        time.sleep(3)
        assert not (tmp_path / "ran").exists() and runner.poll() is None
        runner.stdin.write("go\n")
        runner.stdin.close()
        channel = runner.stdout.read()
        assert runner.wait(60) == 0
    finally:
        runner.kill()
    status = decode_report(channel.encode(), 2**30)
    assert (tmp_path / "ran").read_text() == "yes" and statuses(status) == ["ok"]
    assert status.seconds < 3, "the wait for its turn counted in the notebook's time"
    assert status.warm_imports == {"colorsys": "ok"}
    assert not (out / "status.json").exists() and not (out / "executed.ipynb").exists()


def test_a_runner_whose_input_ends_before_go_runs_nothing_and_ends_with_its_kernel(tmp_path):
    """A batch's worker cancels a sandbox started ahead when another worker takes its submission; a runner that
    outlived that end (bubblewrap killed under it: seen in about 1 batch of 2 in 12) took the end of its input for
    ``go`` and ran the notebook, with nobody watching.  Now nothing runs, nothing is reported, its kernel ends."""
    job, _ = write_job(tmp_path, "open('ran', 'w').write('yes')")
    code = ("import json, os, sys\nfrom grader.inside import runner\n"
            "def turn():\n"
            "    kids = open(f'/proc/{os.getpid()}/task/{os.getpid()}/children').read()\n"
            "    open('kernel.pids', 'w').write(kids)\n"
            "    return sys.stdin.readline()\n"
            "try:\n    runner.run(json.loads(sys.stdin.readline()), turn)\n"
            "except runner.Cancelled:\n    print('cancelled')\n")
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(job) + "\n", cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "cancelled", done.stderr[-2000:]
    kernels = [int(pid) for pid in (tmp_path / "kernel.pids").read_text().split()]
    assert kernels, "no kernel had started before its turn"
    assert all_gone(kernels), "the kernel outlived its cancelled runner"
    main = subprocess.run([sys.executable, "-m", "grader.inside.runner"], input=json.dumps(job) + "\n",
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert main.returncode == 0 and main.stdout == "", main.stderr[-2000:]
    assert not (tmp_path / "ran").exists(), "the notebook ran without go"


def test_the_kernel_s_own_output_stays_in_the_runner_and_only_its_tail_reaches_the_log(tmp_path):
    """What the kernel writes on its descriptors 1 and 2 (here 20 MB, then a last line) goes through a pipe the runner
    drains, never through the runner's own streams: through a container engine, megabytes of log delayed the
    report past the container's end.  The log gets its tail and its size; the report comes whole."""
    job, out = write_job(tmp_path, "import os\nfor _ in range(20):\n    os.write(1, b'{' * 2**20)\n"
                                   "os.write(2, b'the last line\\n')", "x = 1")
    done = subprocess.run([sys.executable, "-m", "grader.inside.runner"], input=json.dumps(job) + "\ngo\n",
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stderr) < 100_000 and done.stderr.rstrip().endswith("the last line")
    assert "the kernel's output: " in done.stderr
    assert statuses(decode_report(done.stdout.encode(), 2**30)) == ["ok", "ok"]


def test_the_runner_imports_neither_numpy_nor_ipython(tmp_path):
    """Each submission pays the runner's start: it asks which MNIST is here without importing NumPy, and finds the
    kernel's launch without importing IPython (through ``~/.ipython``'s kernel folder): 0.1 core-s of each runner."""
    job, _ = write_job(tmp_path, "x = 1")
    (tmp_path / "job.json").write_text(json.dumps(job))
    script = ("import json, sys\nfrom grader.inside.runner import run\nrun(json.load(open('job.json')))\n"
              "print(json.dumps(sorted(m for m in ('numpy', 'IPython') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_runner_ends_at_once_with_its_report_sent_and_no_kernel_left(tmp_path):
    """Its report sent, the runner ends without the interpreter's own end (``end_now``): the report whole, the
    exit status 0, and the kernel already shut down, not left running."""
    job, _ = write_job(tmp_path, "import os\nopen('kernel.pid', 'w').write(str(os.getpid()))", "print('done')")
    done = subprocess.run([sys.executable, "-m", "grader.inside.runner"], input=json.dumps(job) + "\ngo\n",
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    status = decode_report(done.stdout.encode(), 2**30)
    assert statuses(status) == ["ok", "ok"]
    assert nbformat.reads(status.notebook, as_version=4).cells[1].outputs[0]["text"] == "done\n"
    kernel = int((tmp_path / "kernel.pid").read_text())
    assert all_gone([kernel]), "the runner left its kernel running"


PROBED_TASK = {
    "name": "hand", "title": "by hand",
    "exports": {"convolve": "function", "stopper": "callback", "pictures": "figure"},
    "checks": [
        {"kind": "function_matches", "evidence": "convolve", "points": 2, "reference": "correlate_3x3", "seed": 5,
         "shapes": [[28, 28], [9, 13]]},
        {"kind": "callback_stops", "evidence": "stopper", "points": 1, "threshold": 0.995},
        {"kind": "figure_shown", "evidence": "pictures", "points": 1},
    ]}
CONVOLVE = """import numpy as np
seen = []
def convolve(image, kernel):
    seen.append(image.shape)
    windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3))
    return (windows * kernel).sum(axis=(2, 3))
"""
STOPPER = """import keras
class Stopper(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs['accuracy'] >= 0.995:
            self.model.stop_training = True
stopper = Stopper()
"""
PLOT = """import matplotlib.pyplot as plt
plt.plot([1, 2])
plt.show()
"""


def test_functions_and_callbacks_are_probed_after_the_last_cell(tmp_path):
    from grader.course.source import read_source
    from grader.grading.evidence import load_task_evidence
    from grader.grading.probes import job_probes
    from grader.grading.scoring import score_task
    from grader.spec import AssignmentSpec

    read_source(Path(__file__).resolve().parents[2] / "solutions" / "by_hand" / "by_hand.ipynb")  # its references
    spec = AssignmentSpec.from_dict({"name": "p", "tasks": [PROBED_TASK]})
    tasks = [{"name": "hand", "exports": PROBED_TASK["exports"], "after_cell": 2, "cells": [0, 1, 2]}]
    # The last cell shows the function was never called before the notebook ended: the cases came after.
    status, out = run_cells(tmp_path, CONVOLVE, STOPPER, PLOT, "assert seen == [], seen", tasks=tasks,
                            probes=job_probes(spec), cell_timeout=30)
    assert statuses(status) == ["ok", "ok", "ok", "ok"], status
    assert status.probes == {"convolve": "ok", "stopper": "ok"}
    assert status.figures == {"hand": {"pictures": 1}}
    evidence = load_task_evidence(out, spec.task("hand"), status.probes, status.figures["hand"])
    result = score_task(spec.task("hand"), evidence)
    assert [c.passed for c in result.checks] == [True, True, True], result.feedback
    assert not list((tmp_path).glob("**/*-0.npy")), "the cases' inputs are removed after the probe"


def test_a_kernel_that_dies_later_keeps_the_finished_tasks_functions(tmp_path):
    """The kernel dies in a later task: the functions and callbacks of the task that finished are probed in a
    fresh kernel that ran the code cells again up to that task's end, and graded."""
    from grader.course.source import read_source
    from grader.grading.evidence import load_task_evidence
    from grader.grading.probes import job_probes
    from grader.grading.scoring import score_task
    from grader.spec import AssignmentSpec

    read_source(Path(__file__).resolve().parents[2] / "solutions" / "by_hand" / "by_hand.ipynb")  # its references
    spec = AssignmentSpec.from_dict({"name": "p", "tasks": [PROBED_TASK]})
    tasks = [{"name": "hand", "exports": PROBED_TASK["exports"], "after_cell": 2, "cells": [0, 1, 2]},
             {"name": "late", "exports": {"x": "value"}, "after_cell": 3, "cells": [3]}]
    status, out = run_cells(tmp_path, CONVOLVE, STOPPER, PLOT, "import os\nos._exit(1)", tasks=tasks,
                            probes=job_probes(spec), cell_timeout=30)
    assert statuses(status) == ["ok", "ok", "ok", "kernel_died"] and status.stopped == "kernel_died"
    assert status.probes == {"convolve": "ok", "stopper": "ok"} and status.replayed == ("convolve", "stopper")
    assert "os._exit" not in status.notebook.split("def convolve")[0]  # the replay is not in the notebook reported
    evidence = load_task_evidence(out, spec.task("hand"), status.probes, status.figures["hand"])
    result = score_task(spec.task("hand"), evidence)
    assert [c.passed for c in result.checks] == [True, True, True], result.feedback


def test_a_task_that_did_not_finish_is_not_replayed(tmp_path):
    from grader.grading.probes import job_probes
    from grader.spec import AssignmentSpec

    spec = AssignmentSpec.from_dict({"name": "p", "tasks": [PROBED_TASK]})
    tasks = [{"name": "hand", "exports": PROBED_TASK["exports"], "after_cell": 2, "cells": [0, 1, 2]}]
    status, _ = run_cells(tmp_path, CONVOLVE, "import os\nos._exit(1)", PLOT, tasks=tasks, probes=job_probes(spec))
    assert status.probes == {"convolve": "not_run", "stopper": "not_run"} and status.replayed == ()


PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
SHOW = ("import base64\nfrom IPython.display import Image, display\n"
        f"display(Image(data=base64.b64decode({PNG!r})))")


def progress_cell(redraws: int) -> str:
    """Training whose progress bar redraws ``redraws`` times per epoch, as Keras does in a notebook (``\\b`` back
    over the line, ``\\r``, the new state): a faster machine redraws it fewer times."""
    return ("import sys\nfor epoch in range(5):\n"
            f"    for step in range(1, {redraws} + 1):\n"
            f"        bar = '%d/{redraws} [' % step + '=' * (30 * step // {redraws}) + '.' * (30 - 30 * step // {redraws})"
            " + ']'\n"
            "        sys.stdout.write('\\b' * 50 + '\\r' + bar)\n"
            "    print(' - accuracy: 0.9%d' % epoch)\n")


FIGURE_TASK = {"name": "look", "exports": {"seen": "figure", "y": "value"}, "after_cell": 3, "cells": [2, 3]}


@pytest.mark.parametrize("redraws", [10, 3000])
def test_progress_bars_are_stored_as_shown_and_grade_alike_at_any_speed(tmp_path, redraws):
    """3,000 redraws of 5 epochs send ~1.4 MB, past the 200 KB cap; stored as Jupyter shows them, they are five
    lines, and the report (pictures, statuses, exports) is the same as at 10 redraws."""
    status, out = run_cells(tmp_path, progress_cell(redraws), "1 / 0", SHOW, "y = 2",
                            tasks=[FIGURE_TASK], max_output=200_000, cell_timeout=120, notebook_timeout=300)
    executed = nbformat.reads(status.notebook, as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[0].outputs)
    assert text.splitlines() == [f"{redraws}/{redraws} [{'=' * 30}] - accuracy: 0.9{e}" for e in range(5)]
    assert len(executed.cells[0].outputs) == 1
    assert statuses(status) == ["ok", "error", "ok", "ok"] and status.truncated_output_cells == ()
    assert status.figures == {"look": {"seen": 1}}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab\r\b\n", max_size=12), min_size=1, max_size=12))
def test_writes_merged_one_by_one_are_stored_as_the_whole_text_shows(pieces):
    """Each write meets only the stream's open line (the lines before it are final), so that a cell of thousands of
    writes costs each write its own length, not the stream's: stored, they are what the whole text shows."""
    client = CappedClient(nbformat.v4.new_notebook(), max_output_bytes=10**6)
    outs = [nbformat.v4.new_output("stream", name="stdout", text=collapse_redraws(pieces[0]))]
    for piece in pieces[1:]:
        client._extend_stream(outs, piece, 0)
    assert outs[0]["text"] == collapse_redraws("".join(pieces))


def test_past_the_cap_pictures_count_errors_show_and_the_cut_is_said(tmp_path):
    """A notebook that printed more than the cap: later pictures still count and later errors still end their
    cell; the executed notebook says what was not stored."""
    flood = "for i in range(3000):\n    print('x' * 100)"
    big_pictures = "from IPython.display import display\nfor _ in range(2):\n    display({'image/png': 'A' * 60000}, raw=True)"
    status, out = run_cells(tmp_path, flood, "undefined_name", big_pictures, "y = 2",
                            tasks=[FIGURE_TASK], max_output=50_000, cell_timeout=120, notebook_timeout=300)
    assert statuses(status) == ["ok", "error", "ok", "ok"]
    assert status.cells[1].ename == "NameError"
    assert status.figures == {"look": {"seen": 2}}
    assert status.truncated_output_cells == (0, 2)
    executed = nbformat.reads(status.notebook, as_version=4)
    note = executed.cells[0].outputs[-1]["text"]
    assert "50,000-byte limit" in note and "bytes of printed text" in note and "grader saw them all" in note
    assert "2 displayed outputs" in executed.cells[2].outputs[-1]["text"]
    assert len(status.notebook) < 120_000


def test_a_cleared_picture_is_not_counted_and_an_animation_counts_its_last_frame(tmp_path):
    animation = ("from IPython.display import clear_output\n" + SHOW + "\nfor _ in range(4):\n"
                 "    clear_output(wait=True)\n" + "\n".join("    " + line for line in SHOW.splitlines()))
    status, _ = run_cells(tmp_path, "x = 0", SHOW + "\nfrom IPython.display import clear_output\nclear_output()",
                          animation, "y = 2", tasks=[{**FIGURE_TASK, "cells": [1, 2]}])
    assert status.figures == {"look": {"seen": 1}}


def test_an_error_the_kernel_replies_is_kept_when_its_output_was_lost(tmp_path):
    """IOPub can drop messages when a notebook floods it faster than the runner reads; the shell channel's reply
    cannot: an error the reply reports and no output shows still ends the cell as an error."""
    from grader.inside.runner import CappedClient, _cell_error

    client = CappedClient(nbformat.v4.new_notebook(), max_output_bytes=1000)
    cell = nbformat.v4.new_code_cell("x")
    reply = {"content": {"status": "error", "ename": "ValueError", "evalue": "x" * 10_000, "traceback": ["t"] * 99}}
    client._ended_as_the_reply_says(cell, 0, reply)
    assert _cell_error(cell) == ("ValueError", "x" * 500)
    assert len(cell.outputs[0]["traceback"]) == 30 and len(cell.outputs[0]["evalue"]) == 4000
    client._ended_as_the_reply_says(cell, 0, reply)
    assert len(cell.outputs) == 1, "an error the outputs show is not added again"
    ok = nbformat.v4.new_code_cell("y")
    client._ended_as_the_reply_says(ok, 1, {"content": {"status": "ok"}})
    assert ok.outputs == []
