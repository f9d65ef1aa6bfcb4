"""What crosses the sandbox's boundary, both ways, in one place: the runner's report and the export folder's names.

The runner (``grader/inside/runner.py``, inside the sandbox) tells the host what it saw: how each cell ended, what each
export and probe did, how many pictures each task showed, its times, and the executed notebook.  It writes that
report on its own channel, its original standard output, which it keeps to itself: before the kernel starts,
the runner moves its standard output onto its log (standard error), so the kernel and every process the student
starts inherit only the log, and the runner is not dumpable, so they cannot open its descriptors through
``/proc``.  Nothing the student's code can write is taken as the runner's word: not a file, not the log.

The export folder holds the student's data only (what the in-kernel exporter saved, and the probes' answers),
read by the host as hostile data under names the host chose (``grader/grading/evidence.py``).

This module is imported on both sides: the runner's part uses the standard library only.
"""
from __future__ import annotations

import enum
import json
import socket
from dataclasses import dataclass, field
from typing import Any, Mapping

FORMAT = 1
KERNEL_DOOR = "kernel_door"  # the job's key for the door's descriptor (``grader/inside/kernel_door.py``)
EXPORTS = "exports"  # under the export folder: <task>/<variable>.<suffix>, <task>.json (the exporter's report)
PROBES = "probes"  # under a task's export folder: <variable>/report.json and <case id>.npy (the probe's answers)


class CellStatus(str, enum.Enum):
    """How a code cell ended, as the runner saw it."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    NOTEBOOK_TIMEOUT = "notebook_timeout"
    KERNEL_DIED = "kernel_died"
    NOT_RUN = "not_run"


class Stopped(str, enum.Enum):
    """Why the runner stopped before the notebook's end."""

    NOTEBOOK_TIMEOUT = "notebook_timeout"
    STUCK_AFTER_TIMEOUT = "stuck_after_timeout"
    KERNEL_DIED = "kernel_died"
    RUNNER_FAILED = "runner_failed"


class StepOutcome(str, enum.Enum):
    """How a hidden step (a task's export, a probe, the imports ahead) ended."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel_died"
    NOT_RUN = "not_run"


# --- the runner's side ------------------------------------------------------------------------------------------

def encode_report(status: Mapping[str, Any], figures: Mapping[str, Mapping[str, int]], notebook: str) -> bytes:
    """The runner's report as one line: its status, the pictures each task showed, the executed notebook (text)."""
    return (json.dumps({"format": FORMAT, "status": dict(status), "figures": dict(figures), "notebook": notebook})
            + "\n").encode("utf-8")


# --- the host's side --------------------------------------------------------------------------------------------

MAX_CELLS = 10_000


@dataclass(frozen=True)
class CellRecord:
    """One code cell as the runner saw it end."""

    index: int
    status: str
    ename: str = ""
    evalue: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class RunnerReport:
    """The runner's report, checked field by field (the runner is the grader's code, but the report holds what the
    student's code printed and raised: bounded, typed, nothing trusted beyond its shape)."""

    cells: tuple[CellRecord, ...] = ()
    exports: Mapping[str, str] = field(default_factory=dict)
    probes: Mapping[str, str] = field(default_factory=dict)
    figures: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    stopped: str | None = None
    error: str = ""
    datasets: Mapping[str, str] = field(default_factory=dict)
    seconds: float | None = None
    kernel_seconds: float | None = None
    warm_imports: Mapping[str, str] = field(default_factory=dict)
    truncated_output_cells: tuple[int, ...] = ()
    replayed: tuple[str, ...] = ()  # variables probed in a fresh kernel after the first one died
    notebook: str = ""


def max_report_bytes(max_output_bytes: int, notebook_bytes: int) -> int:
    """The most a report may take: the notebook as sent, its capped outputs (JSON-escaped, so up to six times
    larger in the worst case), and the status."""
    return notebook_bytes * 2 + max_output_bytes * 6 + 8 * 2**20


def decode_report(data: bytes, max_bytes: int) -> RunnerReport | None:
    """The report in ``data`` (the runner's channel), or None when there is none that reads as one."""
    from grader.errors import EvidenceError
    from grader.untrusted import JsonLimits, parse_json

    lines = [line for line in data.split(b"\n") if line.strip()]
    if not lines:
        return None
    try:
        raw = parse_json(lines[-1], JsonLimits(max_bytes=max_bytes, max_depth=8, max_entries=20 * MAX_CELLS))
    except EvidenceError:
        return None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("status"), dict):
        return None
    status = raw["status"]
    return RunnerReport(cells=_cells(status.get("cells")), exports=_statuses(status.get("exports"), StepOutcome),
                        probes=_statuses(status.get("probes"), StepOutcome), figures=_figures(raw.get("figures")),
                        stopped=_member(status.get("stopped"), Stopped),
                        error=_text(status.get("error"), 500), datasets=_strings(status.get("datasets"), 40),
                        seconds=_seconds(status.get("seconds")), kernel_seconds=_seconds(status.get("kernel_seconds")),
                        warm_imports=_statuses(status.get("warm_imports"), StepOutcome),
                        truncated_output_cells=tuple(i for i in _list(status.get("truncated_output_cells"))
                                                     if _is_int(i))[:MAX_CELLS],
                        replayed=tuple(v[:100] for v in _list(status.get("replayed"))[:100] if isinstance(v, str)),
                        notebook=raw["notebook"] if isinstance(raw.get("notebook"), str) else "")


def _list(value: Any) -> list:
    return value[:MAX_CELLS] if isinstance(value, list) else []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9


def _text(value: Any, most: int) -> str:
    return value[:most] if isinstance(value, str) else ""


def _member(value: Any, kind: type[enum.Enum]) -> str | None:
    return value if isinstance(value, str) and value in {m.value for m in kind} else None


def _cells(value: Any) -> tuple[CellRecord, ...]:
    cells = []
    for item in _list(value):
        if not isinstance(item, dict) or not _is_int(item.get("index")):
            continue
        status = _member(item.get("status"), CellStatus)
        if status is None:
            continue
        exit_code = item.get("exit_code")
        cells.append(CellRecord(index=item["index"], status=status, ename=_text(item.get("ename"), 200),
                                evalue=_text(item.get("evalue"), 500),
                                exit_code=exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool)
                                and -1000 < exit_code < 1000 else None))
    return tuple(cells)


def _statuses(value: Any, kind: type[enum.Enum]) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {key[:100]: status for key, item in list(value.items())[:1000]
            for status in [_member(item, kind)] if status is not None}


def _strings(value: Any, most: int) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {key[:40]: item[:most] for key, item in list(value.items())[:20] if isinstance(item, str)}


def _figures(value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, dict):
        return {}
    return {task[:100]: {name[:100]: count for name, count in list(names.items())[:100] if _is_int(count)}
            for task, names in list(value.items())[:1000] if isinstance(names, dict)}


def _seconds(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 10**6:
        return round(float(value), 3)
    return None


def send_with_descriptor(sock: socket.socket, data: bytes, fd: int) -> None:
    """``data`` whole on ``sock``, with ``fd`` attached to its first part (a kernel door's request, both ways)."""
    sent = socket.send_fds(sock, [data], [fd])
    if sent < len(data):
        sock.sendall(data[sent:])
