"""Executes a notebook inside the sandbox: run as ``python -m grader.inside.runner`` with a job as JSON on stdin.

The job comes first, on a line of its own: the runner starts the kernel (and imports what the job says may be
imported ahead), then waits for the next line (``go``) before the notebook's first cell; the notebook's time limit
counts from then.  The end of its input instead means the sandbox was cancelled: the runner ends, nothing run.
A batch's worker starts the next submission's sandbox so, while the current one runs.

One fresh kernel; every code cell runs with a time limit of its own and within the
notebook's deadline; outputs are capped; after the last cell of a task, the
task's variables are exported as data (by the kernel, into the export folder).  What
the runner itself saw (how each cell ended, the pictures each task showed, its times, the
executed notebook) it tells the host on its own channel, never in a file: see
``grader/inside/protocol.py`` for why the kernel cannot write that channel.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, BinaryIO, Callable

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_path
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from grader.inside.exporter import call_code, export_code
from grader.inside.kernel_door import DoorKernelManager, door_of
from grader.inside.protocol import EXPORTS, PROBES, CellStatus, StepOutcome, Stopped, encode_report

EXPORT_TIMEOUT_S = 120
IOPUB_QUEUE = 200_000  # messages the runner's side of IOPub holds before ZeroMQ drops any (1,000 by default)
PR_SET_DUMPABLE = 4
PROBE_TIMEOUT_S = 15
STARTUP_TIMEOUT_S = 120
KERNEL_LOG_TAIL = 16_384  # bytes of the kernel's own output the runner's log keeps


class CappedClient(NotebookClient):
    """A notebook client that stores at most ``max_output_bytes`` of output per notebook, and sees every output.

    What the runner reports never depends on how much a notebook printed, which depends on the machine's load
    (Keras's progress bars redraw by time): every message counts, whatever the cap (the pictures each cell showed,
    how it ended); stream text is stored as Jupyter's front end shows it (consecutive writes to one stream are
    one output, a line redrawn with ``\\r`` or ``\\b`` is its last state); only what is stored is capped, and a
    cell whose outputs were cut says in the executed notebook what was cut."""

    def __init__(self, nb: Any, max_output_bytes: int, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.max_output_bytes = max_output_bytes
        self.output_bytes = 0  # stored, all cells
        self.truncated_cells: set[int] = set()
        self.pictures: dict[int, int] = {}  # the pictures each cell shows at its end, stored or not
        self._cell_bytes: dict[int, int] = {}
        self._cut: dict[int, CutOutput] = {}
        self.on_cell_executed = self._ended_as_the_reply_says

    timed_out = False

    async def _async_handle_timeout(self, timeout, cell=None):  # type: ignore[override]
        """Interrupt the kernel and go on waiting for the interrupted cell's last messages, within nbclient's own
        loop: raising here instead (nbclient's other mode) leaves that cell's output listener running, and it
        swallows the next cells' outputs (their errors and figures would go unseen)."""
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def execute_cell(self, cell, cell_index, *args, **kwargs):  # type: ignore[override]
        """Execute one cell; a cell that ran past ``timeout`` is interrupted and raises ``CellTimeoutError``."""
        self.timed_out = False
        self._forget(cell_index)
        executed = super().execute_cell(cell, cell_index, *args, **kwargs)
        if self.timed_out:
            raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", self.timeout, cell)
        return executed

    def _ended_as_the_reply_says(self, cell: Any, cell_index: int, execute_reply: dict) -> None:
        """How a cell ended is the kernel's reply (the shell channel, which drops nothing); its error output
        travels on IOPub, which drops messages past its queue when a notebook floods it: an error the reply
        reports and no output shows is added to the cell's outputs, so the cell counts as an error however
        much was printed before."""
        content = (execute_reply or {}).get("content") or {}
        if content.get("status") != "error" or _cell_error(cell):
            return
        error = _bounded_error({"content": {"ename": content.get("ename", ""), "evalue": content.get("evalue", ""),
                                            "traceback": content.get("traceback") or []}})["content"]
        cell.outputs.append(nbformat.v4.new_output("error", **error))

    def _forget(self, cell_index: int) -> None:
        """A cell's outputs start again (it runs, or its outputs were cleared)."""
        self.output_bytes -= self._cell_bytes.pop(cell_index, 0)
        self.pictures[cell_index] = 0
        self._cut.pop(cell_index, None)

    def clear_output(self, outs, msg, cell_index):  # type: ignore[override]
        super().clear_output(outs, msg, cell_index)
        if not outs and not self.clear_before_next_output:
            self._forget(cell_index)

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
        if self.output_hook_stack[msg["parent_header"].get("msg_id")]:  # a widget's own output: its business
            return super().output(outs, msg, display_id, cell_index)
        if self.clear_before_next_output:  # a clear_output(wait=True) before: the cell's outputs go now
            outs[:] = []
            self.clear_display_id_mapping(cell_index)
            self.clear_before_next_output = False
            self._forget(cell_index)
        msg_type = msg.get("msg_type")
        content = msg.get("content") or {}
        if msg_type == "error":  # how a cell ended is a fact, however much it printed before
            return self._store(outs, super().output(outs, _bounded_error(msg), display_id, cell_index), cell_index)
        if msg_type in ("display_data", "execute_result") and any(
                str(mime).startswith("image/") for mime in (content.get("data") or {})):
            self.pictures[cell_index] = self.pictures.get(cell_index, 0) + 1
        if msg_type == "stream" and outs and outs[-1].get("output_type") == "stream" \
                and outs[-1].get("name") == content.get("name") and not self._is_note(outs[-1], cell_index):
            return self._extend_stream(outs, str(content.get("text", "")), cell_index)
        if msg_type == "stream":  # measured as it is stored
            content = {**content, "text": collapse_redraws(str(content.get("text", "")))}
            msg = {**msg, "content": content}
        size = len(json.dumps(content))
        if self.output_bytes + size > self.max_output_bytes:
            self._cut_note(outs, cell_index).add(msg_type, size)
            return None
        return self._store(outs, super().output(outs, msg, display_id, cell_index), cell_index)

    def _is_note(self, output: Any, cell_index: int) -> bool:
        note = self._cut.get(cell_index)
        return note is not None and note.output is output

    def _store(self, outs: list, out: Any, cell_index: int) -> Any:
        if out is not None:
            size = len(json.dumps(out))
            self.output_bytes += size
            self._cell_bytes[cell_index] = self._cell_bytes.get(cell_index, 0) + size
            note = self._cut.get(cell_index)
            if note is not None and outs and outs[-1] is out:  # the note stays last
                outs.remove(note.output)
                outs.append(note.output)
        return out

    def _extend_stream(self, outs: list, text: str, cell_index: int) -> None:
        last = outs[-1]
        before = len(last["text"])
        done = last["text"].rfind("\n") + 1  # the lines before are final: only the open line meets the redraws
        merged = last["text"][:done] + collapse_redraws(last["text"][done:] + text)
        grown = len(merged) - before
        if self.output_bytes + grown > self.max_output_bytes:
            self._cut_note(outs, cell_index).add("stream", len(text))
            return None
        last["text"] = merged
        self.output_bytes += grown
        self._cell_bytes[cell_index] = self._cell_bytes.get(cell_index, 0) + grown
        return None

    def _cut_note(self, outs: list, cell_index: int) -> "CutOutput":
        """The cell's note of what was not stored (one per cell, kept last among its outputs)."""
        self.truncated_cells.add(cell_index)
        note = self._cut.get(cell_index)
        if note is None or not any(o is note.output for o in outs):
            note = self._cut[cell_index] = CutOutput(self.max_output_bytes)
            outs.append(note.output)
        return note


class CutOutput:
    """The note a cell's outputs end with when some were not stored: what was cut, kept current as more is."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.text_bytes = 0
        self.pictures = 0
        self.others = 0
        self.output = nbformat.v4.new_output("stream", name="stderr", text="")

    def add(self, msg_type: str | None, size: int) -> None:
        if msg_type == "stream":
            self.text_bytes += size
        elif msg_type in ("display_data", "execute_result", "update_display_data"):
            self.pictures += 1
        else:
            self.others += 1
        cut = [f"{self.text_bytes:,} bytes of printed text"] if self.text_bytes else []
        cut += [f"{self.pictures} displayed outputs"] if self.pictures else []
        cut += [f"{self.others} other outputs"] if self.others else []
        self.output["text"] = (f"[output truncated: the notebook's stored output reached its {self.cap:,}-byte limit, "
                               f"so {', '.join(cut)} of this cell were not stored. The grader saw them all: pictures "
                               "are counted and errors reported whatever the limit.]\n")


def collapse_redraws(text: str) -> str:
    """Stream text as a terminal (and Jupyter's front end) shows it: ``\\r`` returns to the line's start, ``\\b``
    moves back one character, and what follows overwrites.  A line still open keeps its cursor (written as the
    line, ``\\r``, and the part before the cursor), so that the next write continues where this one stopped."""
    if "\r" not in text and "\b" not in text:
        return text
    lines = text.split("\n")
    shown = []
    for number, line in enumerate(lines):
        chars: list[str] = []
        cursor = 0
        for char in line:
            if char == "\r":
                cursor = 0
            elif char == "\b":
                cursor = max(0, cursor - 1)
            else:
                if cursor < len(chars):
                    chars[cursor] = char
                else:
                    chars.append(char)
                cursor += 1
        rendered = "".join(chars)
        if number == len(lines) - 1 and cursor < len(chars):
            rendered += "\r" + rendered[:cursor]
        shown.append(rendered)
    return "\n".join(shown)


def _bounded_error(msg: dict, most: int = 4000) -> dict:
    """An error message kept whatever the output's cap, its text bounded (an exception's message can be huge)."""
    content = dict(msg.get("content", {}))
    content["ename"] = str(content.get("ename", ""))[:200]
    content["evalue"] = str(content.get("evalue", ""))[:most]
    content["traceback"] = [str(line)[:most] for line in list(content.get("traceback") or [])[-30:]]
    return {**msg, "content": content}


def _cell_error(cell: Any) -> tuple[str, str] | None:
    for out in cell.get("outputs", ()):
        if out.get("output_type") == "error":
            return str(out.get("ename", ""))[:200], str(out.get("evalue", ""))[:500]
    return None


def _kernel_exit_code(client: CappedClient) -> int | None:
    provisioner = getattr(client.km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    return process.poll() if process is not None else None


def _run_hidden(client: CappedClient, source: str, timeout: int) -> Any:
    """Run code that is not part of the notebook: no history entry, outputs discarded."""
    cell = nbformat.v4.new_code_cell(source)
    client.nb.cells.append(cell)
    client.timeout = timeout
    try:
        client.execute_cell(cell, len(client.nb.cells) - 1, store_history=False)
    finally:
        client.nb.cells.pop()
    return cell


def _run_export(client: CappedClient, code: str, timeout: int = EXPORT_TIMEOUT_S) -> str:
    try:
        cell = _run_hidden(client, code, timeout)
    except CellTimeoutError:  # interrupted already
        return StepOutcome.TIMEOUT.value
    except DeadKernelError:
        return StepOutcome.KERNEL_DIED.value
    return (StepOutcome.ERROR if _cell_error(cell) else StepOutcome.OK).value


def _export(client: CappedClient, task: dict, export_dir: Path) -> str:
    folder = export_dir / EXPORTS
    exports = {name: kind for name, kind in task["exports"].items() if kind != "figure"}
    if not exports:
        return StepOutcome.OK.value
    code = export_code(task["name"], exports, str(folder / task["name"]),
                       str(folder / f"{task['name']}.json"), task.get("input_hints"))
    return _run_export(client, code)


def count_figures(nb: Any, task: dict, pictures: dict[int, int]) -> dict[str, int]:
    """For each ``figure`` export, how many pictures the task's cells that ran without an error showed (counted by
    the runner from every message it received, stored or not: ``pictures``, by cell; told to the host on the
    runner's own channel)."""
    names = [name for name, kind in task["exports"].items() if kind == "figure"]
    if not names:
        return {}
    shown = sum(pictures.get(index, 0) for index in task.get("cells", ())
                if index < len(nb.cells) and not _cell_error(nb.cells[index]))
    return {name: shown for name in names}


def _probe(client: CappedClient, probe: dict, export_dir: Path) -> str:
    """Call a function or callback of the notebook on the grader's cases, after the last cell.

    The cases arrive with the job (in this process's memory, which the kernel cannot read): they are written
    for the kernel only now, in a folder of their own, and removed after.
    """
    folder = export_dir / EXPORTS / probe["task"] / PROBES / probe["variable"]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # the notebook locked or replaced its own export folder: its loss, not the runner's
        return StepOutcome.ERROR.value
    with tempfile.TemporaryDirectory() as inputs:
        cases = []
        for case in probe["cases"]:
            if probe["kind"] == "function":
                args = []
                for number, encoded in enumerate(case["args"]):
                    path = Path(inputs) / f"{case['id']}-{number}.npy"
                    path.write_bytes(base64.b64decode(encoded))
                    args.append(str(path))
                cases.append({"id": case["id"], "args": args})
            else:
                cases.append(case)
        function = {"function": "probe_function", "calls": "probe_calls"}.get(probe["kind"], "probe_callback")
        return _run_export(client, call_code(function, {"name": probe["variable"], "cases": cases,
                                                        "folder": str(folder)}),
                           int(probe.get("timeout_s", EXPORT_TIMEOUT_S)))


def _warm_imports(client: CappedClient, modules: list[str]) -> dict[str, str]:
    """Import ``modules`` in the kernel before the notebook's first cell, as a hidden cell that binds no name
    (which modules, and why that changes nothing the notebook computes: ``grader/inside/warm_imports.py``)."""
    modules = [m for m in modules if isinstance(m, str) and all(p.isidentifier() for p in m.split("."))]
    if not modules:
        return {}
    code = f"(lambda _modules: [__import__(_m) for _m in _modules] and None)({modules!r})"
    outcome = _run_export(client, code, STARTUP_TIMEOUT_S)
    return {module: outcome for module in modules}


class Cancelled(Exception):
    """The runner's input ended before ``go``: its sandbox was cancelled (a batch's worker took another's started
    submission) or the host is gone. The notebook never runs then: a runner that outlived its sandbox's end (as
    the first process of its namespace, orphaned when bubblewrap was killed) would run student code nobody
    watches."""


def run(job: dict, wait_for_go: Callable[[], object] | None = None) -> bytes:
    """Start the kernel (and import what the job says to), wait for ``wait_for_go`` (a sandbox started ahead
    waits there for its turn: a false answer, the end of its input, raises ``Cancelled``), then execute the
    notebook: its time limit counts from then.  Returns the report for the host (``grader/inside/protocol.py``)."""
    seen = datasets_seen()
    began = time.monotonic()
    notebook = NotebookRun(job)
    output = KernelOutput()
    with notebook.client.setup_kernel(**output.launch_options()):
        output.close()
        warmed = _warm_imports(notebook.client, list(job.get("warm_imports", ())))
        kernel_seconds = time.monotonic() - began
        if wait_for_go is not None and not wait_for_go():
            raise Cancelled("the host closed the runner's input before the notebook's turn")
        started = time.monotonic()
        deadline = started + float(job["notebook_timeout_s"])
        notebook.execute_cells(deadline)
        notebook.probe()
    output.log()
    replayed = notebook.probe_again_if_the_kernel_died(deadline)
    status = {**notebook.status(), "datasets": seen, "seconds": round(time.monotonic() - started, 3),
              "kernel_seconds": round(kernel_seconds, 3), "warm_imports": warmed, "replayed": replayed}
    return encode_report(status, notebook.figures, nbformat.writes(notebook.nb))


class NotebookRun:
    """One notebook's run in its kernel: each code cell in turn within the notebook's deadline, each task's
    variables exported after its last cell, then the probes; what happened, for the report."""

    def __init__(self, job: dict) -> None:
        self.job = job
        self.nb = nbformat.read(job["notebook"], as_version=4)
        self.export_dir = Path(job["export_dir"])
        self.client = new_client(self.nb, job, self.export_dir, int(job["max_output_bytes"]), door_of(job))
        self.after_cell: dict[int, list[dict]] = {}  # the tasks to export after each cell (-1: after the last)
        for task in job["tasks"]:
            self.after_cell.setdefault(task["after_cell"] if task["after_cell"] is not None else -1, []).append(task)
        self.cells: list[dict] = []
        self.exports: dict[str, str] = {}
        self.figures: dict[str, dict[str, int]] = {}
        self.probes: dict[str, str] = {}
        self.stopped: str | None = None  # why the notebook stopped early (a Stopped value), None while it goes on

    def execute_cells(self, deadline: float) -> None:
        """Every cell in turn (those after a stop are recorded as not run), exporting each task after its last."""
        cell_timeout_s = float(self.job["cell_timeout_s"])
        for index, cell in enumerate(self.nb.cells):
            if self.stopped:
                if cell.cell_type == "code":
                    self.cells.append({"index": index, "status": CellStatus.NOT_RUN.value})
                continue
            remaining = deadline - time.monotonic()
            if cell.cell_type == "code" and cell.source.strip():
                if remaining <= 1:
                    self.stopped = Stopped.NOTEBOOK_TIMEOUT.value
                    self.cells.append({"index": index, "status": CellStatus.NOT_RUN.value})
                    continue
                self.client.timeout = max(1, int(min(cell_timeout_s, remaining)))
                record, self.stopped = _execute(self.client, cell, index, cell_timeout_s, remaining)
                self.cells.append(record)
            self._export_tasks_after(index)
        self._export_tasks_after(-1)

    def _export_tasks_after(self, index: int) -> None:
        for task in self.after_cell.get(index, ()) if not self.stopped else ():
            self.figures[task["name"]] = count_figures(self.nb, task, self.client.pictures)
            self.exports[task["name"]] = _export(self.client, task, self.export_dir)
            if self.exports[task["name"]] == StepOutcome.KERNEL_DIED.value:
                self.stopped = Stopped.KERNEL_DIED.value

    def probe(self) -> None:
        """Each probe of the job in turn, once the cells are done (none once the notebook stopped)."""
        for probe in self.job.get("probes", ()):
            if self.stopped:
                self.probes[probe["variable"]] = StepOutcome.NOT_RUN.value
                continue
            self.probes[probe["variable"]] = _probe(self.client, probe, self.export_dir)
            if self.probes[probe["variable"]] == StepOutcome.KERNEL_DIED.value:
                self.stopped = Stopped.KERNEL_DIED.value

    def probe_again_if_the_kernel_died(self, deadline: float) -> list[str]:
        """After the kernel died (or stopped answering), the probes of the tasks that finished, in a fresh kernel
        (``probe_afresh``); the variables probed so."""
        if self.stopped not in (Stopped.KERNEL_DIED.value, Stopped.STUCK_AFTER_TIMEOUT.value):
            return []
        return probe_afresh(self.job, self.nb, self.export_dir, self.exports, self.probes, deadline)

    def status(self) -> dict[str, Any]:
        return {"cells": self.cells, "exports": self.exports, "probes": self.probes, "stopped": self.stopped,
                "truncated_output_cells": sorted(self.client.truncated_cells)}


class KernelOutput:
    """The kernel's own standard output and error (what ``os.write(1, ...)``, C libraries and TensorFlow's logs
    write, not what Jupyter shows): a pipe the runner drains as fast as it is written, keeping only its tail for
    its log.  Never the runner's own streams, which the host reads: a notebook that writes 100 MB on its
    descriptor 1 would send it all through the sandbox (and a container engine) to a host that keeps a tail."""

    def __init__(self, keep: int = KERNEL_LOG_TAIL) -> None:
        self.keep = keep
        self.tail = bytearray()
        self.total = 0
        self.read_end, self.write_end = os.pipe()  # not inheritable: only the kernel gets the write end (1 and 2)
        self.thread = threading.Thread(target=self._drain, args=(self.read_end,), daemon=True)
        self.thread.start()

    def _drain(self, read: int) -> None:
        with os.fdopen(read, "rb", buffering=0) as stream:
            for chunk in iter(lambda: stream.read(1 << 16), b""):
                self.total += len(chunk)
                self.tail += chunk
                del self.tail[:-self.keep]

    def launch_options(self) -> dict[str, Any]:
        return {"stdin": subprocess.DEVNULL, "stdout": self.write_end, "stderr": self.write_end}

    def close(self) -> None:
        """The kernel has its copy: the runner's is closed, so the pipe ends when the kernel's processes do."""
        if self.write_end >= 0:
            os.close(self.write_end)
            self.write_end = -1

    def log(self, wait_s: float = 1.0) -> None:
        """Its tail on the runner's log, once what the pipe holds is drained.  The kernel is still alive (the
        sandbox's end ends it), so the pipe does not end: a process of the student's writing on still is not waited
        for longer than ``wait_s``."""
        self.close()
        deadline = time.monotonic() + wait_s
        while self.thread.is_alive() and _unread_bytes(self.read_end) and time.monotonic() < deadline:
            time.sleep(0.005)
        tail, total = bytes(self.tail), self.total
        if total:
            sys.stderr.write(f"--- the kernel's output: {total} bytes, the last {len(tail)} ---\n")
            sys.stderr.write(tail.decode("utf-8", "replace") + "\n")
            sys.stderr.flush()


def _unread_bytes(fd: int) -> int:
    """Bytes waiting in a pipe (0 once it is closed, or where this cannot be asked: a student's dry run on Windows)."""
    try:
        import fcntl
        import struct
        import termios

        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except (ImportError, OSError):
        return 0


class DeepIOPubClient(AsyncKernelClient):
    """The runner's side of the kernel's channels, with a deep IOPub queue: ZeroMQ drops IOPub messages past a
    queue of 1,000 when a notebook prints faster than they are read (a flush per progress-bar redraw on a loaded
    machine); ``IOPUB_QUEUE`` keeps every picture and every line the kernel sent."""

    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.RCVHWM, IOPUB_QUEUE)
        return context


def new_client(nb: Any, job: dict, export_dir: Path, max_output_bytes: int, door_fd: int = -1) -> CappedClient:
    """A notebook client with a kernel of its own (its connection file where Jupyter puts it: the runtime folder,
    which is also the export folder); with ``door_fd``, that kernel is asked of the host's kernel template
    (``grader/inside/kernel_door.py``)."""
    connection_file = str(export_dir / f"kernel-{uuid.uuid4()}.json")
    specs = KernelSpecManager(kernel_dirs=jupyter_path("kernels"))  # not ~/.ipython's: its path needs IPython imported
    km = (DoorKernelManager(kernel_name="python3", connection_file=connection_file, door_fd=door_fd,
                            kernel_spec_manager=specs) if door_fd >= 0
          else AsyncKernelManager(kernel_name="python3", connection_file=connection_file, kernel_spec_manager=specs))
    km.client_factory = DeepIOPubClient
    return CappedClient(nb, max_output_bytes=max_output_bytes, km=km, kernel_name="python3", allow_errors=True,
                        interrupt_on_timeout=True, startup_timeout=STARTUP_TIMEOUT_S,
                        error_on_timeout={"ename": "CellTimeoutError", "evalue": "interrupted at its time limit"},
                        resources={"metadata": {"path": job["workdir"]}})


def probe_afresh(job: dict, nb: Any, export_dir: Path, exports: dict[str, str], probes: dict[str, str],
                 deadline: float) -> list[str]:
    """After the kernel died (or stopped answering), probe the functions and callbacks of the tasks that finished
    before, in a fresh kernel that runs the notebook's code cells again up to the end of the last of those tasks
    (their outputs discarded, within the notebook's time): what a finished task earned is kept.  Updates
    ``probes``; returns the variables probed so."""
    tasks = {task["name"]: task for task in job["tasks"]}
    wanted = [probe for probe in job.get("probes", ())
              if exports.get(probe["task"]) == StepOutcome.OK.value and tasks[probe["task"]]["after_cell"] is not None]
    if not wanted:
        return []
    last = max(tasks[probe["task"]]["after_cell"] for probe in wanted)
    replay = nbformat.v4.new_notebook(metadata=nb.metadata, cells=[
        nbformat.v4.new_code_cell(cell.source) for cell in nb.cells[:last + 1]
        if cell.cell_type == "code" and cell.source.strip()])
    client = new_client(replay, job, export_dir, max_output_bytes=0)
    quiet = subprocess.DEVNULL  # the replay's own output is not kept, as its cells' outputs are not
    with client.setup_kernel(stdin=quiet, stdout=quiet, stderr=quiet):
        _warm_imports(client, list(job.get("warm_imports", ())))
        for index, cell in enumerate(replay.cells):
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                return []
            client.timeout = max(1, int(min(float(job["cell_timeout_s"]), remaining)))
            if _execute(client, cell, index, float(job["cell_timeout_s"]), remaining)[1]:
                return []  # this kernel died or hung too: the probes stay not run
        for probe in wanted:
            probes[probe["variable"]] = _probe(client, probe, export_dir)
            if probes[probe["variable"]] == StepOutcome.KERNEL_DIED.value:
                break
    return [probe["variable"] for probe in wanted if probes[probe["variable"]] != StepOutcome.NOT_RUN.value]


def _execute(client: CappedClient, cell: Any, index: int, cell_timeout_s: float,
             remaining: float) -> tuple[dict[str, Any], str | None]:
    """Run one code cell: how it ended, and why the notebook stops here (None when it goes on)."""
    record: dict[str, Any] = {"index": index, "status": CellStatus.OK.value}
    stopped = None
    try:
        client.execute_cell(cell, index)
    except CellTimeoutError:
        record["status"] = (CellStatus.TIMEOUT if cell_timeout_s <= remaining else CellStatus.NOTEBOOK_TIMEOUT).value
        if not _responsive(client):
            stopped = Stopped.STUCK_AFTER_TIMEOUT.value
    except DeadKernelError:
        record["status"] = CellStatus.KERNEL_DIED.value
        record["exit_code"] = _kernel_exit_code(client)
        stopped = Stopped.KERNEL_DIED.value
    else:
        err = _cell_error(cell)
        if err:
            record.update(status=CellStatus.ERROR.value, ename=err[0], evalue=err[1])
    return record, stopped


def datasets_seen() -> dict[str, str]:
    """Which MNIST the notebook will load here (before any student code runs), for the grader to compare."""
    try:
        from grader.inside.datasets import mnist_source

        return {"mnist": mnist_source()}
    except Exception:  # noqa: BLE001 - no MNIST here: the grader says so if the assignment needs it
        return {}


def _responsive(client: CappedClient) -> bool:
    try:
        _run_hidden(client, "pass", PROBE_TIMEOUT_S)
    except (CellTimeoutError, DeadKernelError):
        return False
    return True


def look_like_jupyter(job: dict) -> None:
    """Make the runner look, to the student's code, like what runs an ordinary notebook (docs/security.md).

    Its process title is ``jupyter-execute NOTEBOOK``; it is not dumpable, so that code running as the same
    user cannot read its memory, open its files (its channel to the host) or its environment;
    and an interrupt sent to it is ignored (as PID 1 it ignores the other signals anyway).
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError, TypeError):  # not Linux (Windows has no CDLL(None)): a student's dry run
        pass
    try:
        from setproctitle import setproctitle

        setproctitle(f"{sys.executable} {Path(sys.executable).parent / 'jupyter-execute'} {Path(job['notebook']).name}")
    except ImportError:
        pass
    signal.signal(signal.SIGINT, lambda *_: None)


def private_channel() -> BinaryIO:
    """The runner's own channel to the host: its original standard output, kept on a descriptor no child
    inherits; standard output itself now goes to the log (standard error), which the kernel inherits."""
    channel = os.fdopen(os.dup(1), "wb")  # os.dup: not inheritable
    sys.stdout.flush()
    os.dup2(2, 1)
    return channel


def main() -> int:
    """The job is the first line of standard input; the next line says go (its end instead: cancelled, nothing
    runs). A sandbox started ahead gets its job at once and starts its kernel, and says go when the submission's
    turn comes."""
    channel = private_channel()
    job = json.loads(sys.stdin.readline())
    look_like_jupyter(job)
    try:
        report = run(job, sys.stdin.readline)
    except Cancelled:
        return 0  # its kernel shut down on the way out; nobody reads a report
    except Exception as exc:  # noqa: BLE001 - report any failure of the run itself, then fail
        status = {"cells": [], "stopped": Stopped.RUNNER_FAILED.value, "error": f"{type(exc).__name__}: {exc}"[:500]}
        _send(channel, encode_report(status, {}, ""))
        raise
    _send(channel, report)
    return 0


def end_now(code: int) -> None:
    """End the process once its report is sent, without the interpreter's own end: collecting every object,
    closing ZeroMQ's sockets and context, joining threads, for nothing (the sandbox ends with its first process):
    0.09 core-s of each submission (``benchmarks/fixed_cost.py``)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _send(channel: BinaryIO, report: bytes) -> None:
    try:
        channel.write(report)
        channel.flush()
    except OSError:
        pass  # the host stopped listening (it killed the sandbox at a limit): it says so itself


if __name__ == "__main__":
    end_now(main())
