"""Probes: a function or a callback of the notebook, called by the grader on cases of its own, after the last cell.

The checks of a probed variable say which cases they need (``probe_cases``): held-out images and filters,
accuracies just under and at a threshold.  The grader sends the cases with the job, the runner hands them to
the kernel only after the notebook's last cell, and the kernel's answers come back as data (``.npy`` without
pickles, JSON).  The expected answers are computed here, outside, and never enter the sandbox.

Each case is named by a hash of its content, so that a check finds the answers to its own cases.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from grader.checks.base import Missing
from grader.errors import EvidenceError
from grader.inside.protocol import EXPORTS, PROBES
from grader.spec import AssignmentSpec, CheckSpec, TaskSpec
from grader.student_text import one_line

if TYPE_CHECKING:
    from grader.grading.evidence import ExportFolder

PROBED_KINDS = ("function", "callback")
PROBE_TIMEOUT_S = 300
MAX_OUTPUT_BYTES = 64 * 2**20  # one answer of a probed function, at most
ANSWER_FACTOR = 16  # an answer may take this many times the bytes of its case's arguments (at least 1 MB)
REPORT_BYTES = 4 * 2**20
# the arrays of a tuple or list an otter test's call returned, each a file (grader.inside.inkernel)
MAX_ANSWER_PARTS = 8
# {check kind: its cases from its parameters}: filled by the check modules (see ``cases_of``).
CASE_BUILDERS: dict[str, Callable[[Mapping[str, Any]], list[Any]]] = {}


def case_builder(kind: str) -> Callable:
    def register(function: Callable) -> Callable:
        CASE_BUILDERS[kind] = function
        return function

    return register


def case_id(case: Any) -> str:
    """A name for a case, from its content: the arguments' bytes and shapes, or the logs."""
    digest = hashlib.sha256()
    if isinstance(case, tuple):
        for arg in case:
            array = np.ascontiguousarray(arg)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
    else:
        digest.update(json.dumps(case, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def encode_array(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode()


def cases_of(check: CheckSpec) -> list[Any]:
    from grader.checks import base

    base.lookup(check.kind)  # imports the check modules, which register their case builders
    builder = CASE_BUILDERS.get(check.kind)
    return builder(check.params) if builder else []


def probe_cases(task: TaskSpec, variable: str) -> dict[str, Any]:
    """The cases the checks of ``variable`` ask for, by their ids (the host's names for them)."""
    cases: dict[str, Any] = {}
    for check in task.checks:
        if check.evidence == variable:
            cases.update({case_id(c): c for c in cases_of(check)})
        planned = check.params.get("calls", {}).get(variable, ()) if check.kind == "otter_case" else ()
        cases.update({case_id(c): c for c in ({"call": call} for call in planned)})  # otter tests' calls
    return cases


def is_planned_call(case: Any) -> bool:
    """A case of an otter test's call (``grader.course.otter_calls``): arguments as data, sent as they are."""
    return isinstance(case, dict) and set(case) == {"call"}


def probe_case_ids(task: TaskSpec, variable: str) -> tuple[str, ...]:
    """The ids of the cases the host sends for ``variable``: the only answers it reads back."""
    return tuple(probe_cases(task, variable))


def answer_limits(task: TaskSpec, variable: str) -> dict[str, int]:
    """The most bytes the answer to each case may take: a generous multiple of what the case sends (a convolution
    or a pooling of an image is never larger than the image many times over)."""
    limits = {}
    for identifier, case in probe_cases(task, variable).items():
        limits[identifier] = most = min(MAX_OUTPUT_BYTES, max(2**20, ANSWER_FACTOR * _case_bytes(case)))
        if is_planned_call(case):  # an otter test's call may return a tuple or list with arrays: one file each
            limits.update({f"{identifier}-{part}": most for part in range(MAX_ANSWER_PARTS)})
    return limits


def _case_bytes(case: Any) -> int:
    if is_planned_call(case):
        return len(json.dumps(case))  # arrays in it as base64 .npy: a third more than their bytes
    return sum(np.asarray(arg).nbytes for arg in case) if isinstance(case, tuple) else 0


def job_probes(spec: AssignmentSpec) -> list[dict]:
    """What the runner probes after the last cell: every case each probed variable's checks ask for."""
    probes = []
    for task in spec.tasks:
        for variable, kind in task.exports.items():
            if kind not in PROBED_KINDS:
                continue
            cases = probe_cases(task, variable)
            if kind == "function" and any(is_planned_call(c) for c in cases.values()):
                probes.append({"task": task.name, "variable": variable, "kind": "calls", "timeout_s": PROBE_TIMEOUT_S,
                               "cases": [{"id": i, **c} for i, c in cases.items() if is_planned_call(c)]})
                continue
            if kind == "function":
                encoded = [{"id": i, "args": [encode_array(a) for a in c]} for i, c in cases.items()]
            else:
                encoded = [{"id": i, "logs": c.get("logs", {}), "epoch": c.get("epoch", 0)} for i, c in cases.items()]
            probes.append({"task": task.name, "variable": variable, "kind": kind, "cases": encoded,
                           "timeout_s": PROBE_TIMEOUT_S})
    return probes


@dataclass(frozen=True)
class ProbedFunction:
    """What a notebook's function returned on the grader's cases (an array, or a ``Missing`` with the reason)."""

    name: str
    outputs: Mapping[str, Any] = field(default_factory=dict)
    seconds: Mapping[str, float] = field(default_factory=dict)
    changed_input: frozenset[str] = frozenset()  # the cases whose arguments it wrote into


@dataclass(frozen=True)
class ProbedCallback:
    """How a notebook's callback reacted to the grader's logs: stopped or not, per case; and what it is."""

    name: str
    stopped: Mapping[str, Any] = field(default_factory=dict)  # case id -> bool, or Missing
    is_callback: bool = False
    class_name: str = ""  # of the callback, or of the one item of a list of one
    hooks: tuple[str, ...] = ()
    container: str = ""  # "list of 1" where the variable holds a list (or a tuple) instead of the callback
    missing_keys: tuple[str, ...] = ()  # keys the callback read that the logs did not hold ("acc")


def load_probe(folder: "ExportFolder", task: TaskSpec, variable: str, kind: str, status: Mapping[str, Any]) -> Any:
    """The probe's findings, read as data; a ``Missing`` with the reason when there are none.  Only the cases the
    host sent are read, each answer under the host's own name for its case (never a name from the report)."""
    from grader.untrusted import JsonLimits, read_json

    base = f"{EXPORTS}/{task.name}/{PROBES}/{variable}"
    said = status.get(variable)
    planned = any(is_planned_call(c) for c in probe_cases(task, variable).values())
    limits = JsonLimits(max_bytes=REPORT_BYTES, max_depth=40 if planned else 6)  # an otter call's answer: data
    try:
        report = read_json(folder.file(f"{base}/report.json", REPORT_BYTES), limits)
    except EvidenceError as exc:
        if str(exc) == "not exported":
            return Missing(_not_probed(variable, said))
        return Missing(f"the probe of {variable} left a report the grader does not read: it {exc}")
    if not isinstance(report, dict) or not isinstance(report.get("cases"), dict):
        return Missing(f"the probe of {variable} wrote nothing readable")
    problem = report.get("problem")
    if problem == "undefined":
        return Missing(f"the variable {variable} is not defined in your notebook")
    if problem:
        return Missing(f"{variable} is {one_line(problem, 200)}")
    sent = probe_case_ids(task, variable)
    cases = {identifier: report["cases"].get(identifier) for identifier in sent}
    if kind == "callback":
        return _probed_callback(variable, report, cases)
    if planned:
        return _probed_calls(folder, base, variable, cases, answer_limits(task, variable))
    return _probed_function(folder, base, variable, cases, answer_limits(task, variable))


def _probed_callback(variable: str, report: Mapping[str, Any], cases: Mapping[str, Any]) -> ProbedCallback:
    stopped: dict[str, bool | Missing] = {}
    for identifier, outcome in cases.items():
        if outcome is None:
            stopped[identifier] = Missing("this case was not tried")
        elif isinstance(outcome, dict) and outcome.get("status") == "ok":
            stopped[identifier] = outcome.get("stopped") is True
        else:
            detail = one_line(outcome.get("detail", ""), 300) if isinstance(outcome, dict) else ""
            stopped[identifier] = Missing(f"calling on_epoch_end raised {detail}")
    hooks: list[Any] = report["hooks"] if isinstance(report.get("hooks"), list) else []
    return ProbedCallback(variable, stopped, report.get("is_callback") is True, one_line(report.get("class", ""), 100),
                          tuple(one_line(h, 50) for h in hooks[:10]), one_line(report.get("container") or "", 30),
                          _missing_keys(cases))


def _probed_function(folder: "ExportFolder", base: str, variable: str, cases: Mapping[str, Any],
                     limits: Mapping[str, int]) -> ProbedFunction:
    from grader.untrusted import read_npy

    outputs: dict[str, np.ndarray | Missing] = {}
    seconds: dict[str, float] = {}
    changed: set[str] = set()
    for identifier, outcome in cases.items():
        if not isinstance(outcome, dict):
            outputs[identifier] = Missing(f"{variable} was not tried on this case")
            continue
        if outcome.get("changed_input") is True:
            changed.add(identifier)
        took = outcome.get("seconds")
        seconds[identifier] = float(took) if isinstance(took, (int, float)) and 0 <= took < 10**6 else 0.0
        if outcome.get("status") != "ok":
            outputs[identifier] = Missing(f"{variable} raised {one_line(outcome.get('detail', ''), 300)}")
            continue
        try:
            most = limits[identifier]
            outputs[identifier] = read_npy(folder.file(f"{base}/{identifier}.npy", most), most, mmap=False)
        except EvidenceError as exc:
            said = "was not saved" if str(exc) == "not exported" else str(exc)
            outputs[identifier] = Missing(f"the result of {variable} {said}")
    return ProbedFunction(variable, outputs, seconds, frozenset(changed))


def _probed_calls(folder: "ExportFolder", base: str, variable: str, cases: Mapping[str, Any],
                  limits: Mapping[str, int]) -> Any:
    """The answers of an otter test's planned calls, by the id of the arguments the kernel made (a 64-digit hex
    text, else ignored): an array, data (tagged JSON, read totally), or a ``Missing`` with what went wrong."""
    from grader.course.otter import json_loads_tagged
    from grader.course.otter_calls import ProbedCalls

    answers: dict[str, Any] = {}
    for identifier, outcome in cases.items():
        if not isinstance(outcome, dict) or not re.fullmatch(r"[0-9a-f]{64}", str(outcome.get("args_id", ""))):
            continue
        key, status = outcome["args_id"], outcome.get("status")
        if status == "error":
            answers[key] = Missing(f"{variable} raised {one_line(outcome.get('detail', ''), 300)}")
        elif status != "ok":
            answers[key] = Missing(f"the result of {variable} cannot be read as data:"
                                   f" {one_line(outcome.get('detail', ''), 300)}")
        elif outcome.get("saved") == "npy":
            answers[key] = _answer_file(folder, f"{base}/{identifier}.npy", limits[identifier], variable)
        elif outcome.get("saved") == "parts":
            answers[key] = _answer_parts(folder, base, identifier, outcome, limits, variable)
        else:
            try:
                answers[key] = json_loads_tagged(json.dumps(outcome.get("value")))
            except (ValueError, TypeError) as exc:
                answers[key] = Missing(f"the result of {variable} cannot be read: {exc}")
    return ProbedCalls(variable, answers)


def _answer_file(folder: "ExportFolder", name: str, most: int, variable: str) -> Any:
    from grader.untrusted import read_npy

    try:
        return read_npy(folder.file(name, most), most, mmap=False)
    except EvidenceError as exc:
        return Missing(f"the result of {variable} {exc}")


def _answer_parts(folder: "ExportFolder", base: str, identifier: str, outcome: Mapping[str, Any],
                  limits: Mapping[str, int], variable: str) -> Any:
    """A tuple or list the function returned with arrays in it: each array from its own file (named by the host:
    the case and the part's place), the rest tagged JSON."""
    from grader.course.otter import json_loads_tagged

    parts = outcome.get("parts")
    if not isinstance(parts, list) or not 0 < len(parts) <= MAX_ANSWER_PARTS:
        return Missing(f"the result of {variable} was not saved as the grader saves it")
    values = []
    for number, part in enumerate(parts):
        if isinstance(part, dict) and part.get("npy") == number:
            value = _answer_file(folder, f"{base}/{identifier}-{number}.npy", limits[f"{identifier}-{number}"],
                                 variable)
        elif isinstance(part, dict) and set(part) == {"value"}:
            try:
                value = json_loads_tagged(json.dumps(part["value"]))
            except (ValueError, TypeError) as exc:
                value = Missing(f"the result of {variable} cannot be read: {exc}")
        else:
            value = Missing(f"the result of {variable} was not saved as the grader saves it")
        if isinstance(value, Missing):
            return value
        values.append(value)
    return tuple(values) if outcome.get("container") == "tuple" else values


def _missing_keys(cases: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys a probed callback read that the logs did not hold, over all cases (untrusted: strings only)."""
    keys: dict[str, None] = {}
    for outcome in list(cases.values())[:100]:
        found = outcome.get("missing_keys") if isinstance(outcome, dict) else None
        for key in found[:5] if isinstance(found, list) else ():
            keys[one_line(key, 50)] = None
    return tuple(keys)[:5]


def _not_probed(variable: str, said: Any) -> str:
    if said == "timeout":
        return f"{variable} did not finish on the grader's inputs within the time limit"
    if said == "not_run":
        return f"{variable} was not tried: the notebook did not run to its end"
    if said == "kernel_died":
        return f"the kernel died while {variable} was tried on the grader's inputs"
    return f"{variable} could not be tried on the grader's inputs"
