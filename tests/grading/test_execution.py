"""The host's reading of a run: limits it enforces itself, and a status file it does not take on trust."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from grader.grading.execution import summarize
from grader.grading.submission import PreparedNotebook
from grader.inside.protocol import decode_report, encode_report
from grader.sandbox.base import GO, SandboxOutcome
from grader.sandbox.process import StartedProcess, folder_bytes, run_limited
from grader.spec import Limits


def test_a_run_that_writes_too_much_is_stopped(tmp_path):
    script = "import os\nwhile True:\n    open(os.urandom(8).hex(), 'wb').write(b'x' * 2**20)\n"
    outcome = run_limited([sys.executable, "-c", script], "", timeout_s=60, watched=(tmp_path,),
                          disk_bytes=5 * 2**20, preexec=lambda: __import__("os").chdir(tmp_path))
    assert outcome.stopped_for == "disk"
    assert outcome.seconds < 30


def test_a_process_that_never_reads_its_job_is_still_stopped_at_its_time_limit():
    """Its job (larger than a pipe's buffer) and the word to go are written in a thread: the limit runs."""
    started = StartedProcess(["sleep", "120"], first_input="x" * (4 * 2**20) + "\n")
    before = time.monotonic()
    outcome = started.finish(GO, timeout_s=2)
    assert outcome.stopped_for == "time" and outcome.exit_code is None
    assert time.monotonic() - before < 60  # not the 120 s of a process that never reads


def test_a_run_past_its_time_is_killed_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    script = (f"import subprocess, time\nchild = subprocess.Popen(['sleep', '60'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(child.pid))\ntime.sleep(60)\n")
    outcome = run_limited([sys.executable, "-c", script], "", timeout_s=3)
    assert outcome.stopped_for == "time" and outcome.timed_out and outcome.exit_code is None
    child = int(pid_file.read_text())
    time.sleep(0.2)
    state = Path(f"/proc/{child}/stat")
    assert not state.exists() or state.read_text().split()[2] == "Z"  # gone, or a zombie awaiting its reaper


def test_folder_bytes_does_not_follow_links(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 10000)
    (tmp_path / "link").symlink_to("/usr")
    assert 10000 <= folder_bytes([tmp_path]) < 100000


def _prepared():
    return PreparedNotebook(notebook=type("NB", (), {"cells": []})(), last_cell_of_task={}, notes=())


def _report(**status) -> bytes:
    return encode_report({"cells": [], "stopped": None, **status}, {}, "")


def test_without_a_report_on_the_runners_channel_the_host_says_what_it_saw(tmp_path):
    """A status file in the export folder (the student's code can write it) is never read: only the runner's
    channel counts, and without a report the host says what it saw itself."""
    (tmp_path / "status.json").write_text(json.dumps({"cells": [], "stopped": None}))
    outcome = SandboxOutcome(exit_code=1, timed_out=False, seconds=1.0, log_tail="", report=b"")
    summary = summarize("bubblewrap", outcome, None, _prepared(), Limits())
    assert summary.problem.startswith("the notebook could not be run to the end")
    killed = SandboxOutcome(exit_code=137, timed_out=False, seconds=1.0, log_tail="", report=b"")
    summary = summarize("container", killed, None, _prepared(), Limits())
    assert "most likely because it used more memory than the 6,144 MB allowed" in summary.problem


def test_the_runners_report_is_read(tmp_path):
    outcome = SandboxOutcome(exit_code=0, timed_out=False, seconds=1.0, log_tail="",
                             report=_report(stopped="kernel_died"))
    summary = summarize("bubblewrap", outcome, decode_report(outcome.report, 2**20), _prepared(), Limits())
    assert summary.problem is None and summary.stopped == "kernel_died"


def test_disk_and_time_limits_win_over_any_report(tmp_path):
    for reason, words in (("disk", "wrote more than the 1,024 MB"), ("time", "ran longer than its time limit")):
        outcome = SandboxOutcome(exit_code=None, timed_out=reason == "time", seconds=1.0, log_tail="",
                                 stopped_for=reason, report=_report())
        report = decode_report(outcome.report, 2**20)
        assert words in summarize("bubblewrap", outcome, report, _prepared(), Limits()).problem


def test_a_report_past_its_limit_is_not_read():
    outcome = StartedProcess([sys.executable, "-c", "import sys; sys.stdout.write('x' * 100_000)"],
                             report_bytes=1000).finish("", timeout_s=60)
    assert outcome.exit_code == 0 and outcome.report is None
    summary = summarize("bubblewrap", outcome, None, _prepared(), Limits())
    assert summary.problem == "the notebook ran, but what it printed was too large for the grader to read back"


def test_only_the_tail_of_a_flood_is_kept_and_nothing_reaches_the_disk(tmp_path):
    script = "import sys\nsys.stderr.write('x' * 50_000_000)\nsys.stderr.write('\\nEND\\n')\n"
    outcome = run_limited([sys.executable, "-c", script], "", timeout_s=60)
    assert outcome.exit_code == 0
    assert len(outcome.log_tail) <= 8000 and outcome.log_tail.endswith("END\n")


def _run_notebook(tmp_path, cells, cell_timeout_s=60):
    """``cells`` run by the grader's own runner (no sandbox: the notebook is the test's), its report read as the host
    reads it; the notebook as prepared, with its markdown cells."""
    import nbformat

    from grader.inside.runner import run

    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(nb, tmp_path / "nb.ipynb")
    (tmp_path / "export").mkdir()
    job = {"notebook": str(tmp_path / "nb.ipynb"), "workdir": str(tmp_path), "export_dir": str(tmp_path / "export"),
           "cell_timeout_s": cell_timeout_s, "notebook_timeout_s": 120, "max_output_bytes": 10**6, "tasks": [],
           "probes": [], "warm_imports": []}
    data = run(job)
    outcome = SandboxOutcome(exit_code=0, timed_out=False, seconds=1.0, log_tail="", report=data)
    prepared = PreparedNotebook(notebook=nb, last_cell_of_task={}, notes=(), task_of={})
    return summarize("none", outcome, decode_report(data, 2**24), prepared, Limits(cell_timeout_s=cell_timeout_s))


def test_a_cells_error_is_told_in_the_students_terms(tmp_path):
    """The code cell's number (markdown cells do not count), the line that raised (not the cell's first line, not a
    line of the function it called in another cell), and what the cell therefore did not set."""
    import nbformat

    from grader.grading.execution import cell_problem

    v4 = nbformat.v4
    summary = _run_notebook(tmp_path, [
        v4.new_markdown_cell("# Task 1"), v4.new_code_cell("def convolve(image):\n    return image / zero"),
        v4.new_markdown_cell("## Task 3"),
        v4.new_code_cell("import numpy as np\nimage = np.ones(3)\nfiltered = convolve(image)\npooled = filtered[::2]\n"
                         "figure, axes = None, None\ndef show():\n    pass"),
        v4.new_code_cell("x = (\n"), v4.new_code_cell("import time\ntime.sleep(30)")], cell_timeout_s=3)
    problems = [cell_problem(c, Limits(cell_timeout_s=3)) for c in summary.cells]
    assert problems[1] == ("code cell 2, line 3 (filtered = convolve(image)) raised NameError: name 'zero' is not"
                           " defined, so it did not set filtered, pooled, figure, axes or 1 other name")
    assert problems[2] == "code cell 3, line 1 (x = () is not valid Python (SyntaxError: incomplete input), so none" \
                          " of it ran"
    assert problems[3] == ("code cell 4, line 2 (time.sleep(30)) ran longer than the 3 s a cell may take, and was"
                           " interrupted")


def test_a_cell_without_a_traceback_is_named_by_its_first_line():
    from grader.grading.execution import cell_problem
    from grader.results import CellReport

    died = CellReport(index=7, status="kernel_died", exit_code=1, code_cell=4, first_line="import os")
    assert cell_problem(died, Limits()) == ("the kernel stopped in code cell 4 (starting import os) (exit code 1):"
                                            " does the code call exit(), os._exit() or kill its own process?")
