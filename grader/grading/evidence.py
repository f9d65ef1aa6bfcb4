"""Reading what a submission exported, as data, outside the student's process, after every process of it is dead.

The export folder is a hostile archive: everything in it was written by the student's code.  The host reads only
the names it chose (``evidence_files``: each task's variables under the names the assignment gives them, the
exporter's report, each probe's report and one answer per case the host sent), each through a total reader with
limits checked before loading (``grader/untrusted.py``): ``.npy`` with its header checked and without pickles,
``.keras`` with its declared size checked and ``safe_mode=True`` (``grader/grading/model_file.py``), JSON bounded in
bytes,
nesting and entries.  What the runner itself saw (the pictures a task showed) comes from its report, never from
this folder.  Any problem is a ``Missing`` with a reason for that variable, never an exception.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from grader.checks.base import Missing
from grader.errors import EvidenceError
from grader.inside.protocol import EXPORTS, PROBES
from grader.spec import AssignmentSpec, TaskSpec
from grader.student_text import one_line
from grader.untrusted import JsonLimits, parse_json, read_bytes, read_json, read_npy, regular_file

log = logging.getLogger(__name__)

SUFFIX = {"keras_model": ".keras", "array": ".npy", "value": ".json", "history": ".json", "figure": "",
          "function": ".json", "callback": ".json", "any": ""}
MAX_BYTES = {"keras_model": 200 * 2**20, "array": 1024 * 2**20, "value": 2**20, "history": 4 * 2**20,
             "figure": 0, "function": 2**16, "callback": 2**16, "any": 1024 * 2**20}
ANY_JSON_BYTES = 16 * 2**20  # a value a test reads (otter), as JSON
ANY_JSON_LIMITS = JsonLimits(max_bytes=ANY_JSON_BYTES, max_depth=32, max_entries=1_000_000)
ARRAY_FACTOR = 4  # an array may take this many times what the task's stated shape needs as float64
MODEL_PARAMS_FACTOR = 100  # a model may declare this many times the parameters the task states
DEFAULT_MAX_PARAMS = 50_000_000
MIN_MAX_PARAMS = 5_000_000
REPORT_LIMITS = JsonLimits(max_bytes=2**20, max_depth=4, max_entries=10_000)


def task_folder(out_dir: Path, task: str) -> Path:
    return out_dir / EXPORTS / task


@dataclass(frozen=True)
class ExportFolder:
    """An export folder, and what its sandbox left there that the host refused to copy out (relative path: why)."""

    root: Path
    left_out: Mapping[str, str] = field(default_factory=dict)

    def file(self, relative: str, max_bytes: int) -> Path:
        """The regular file at ``relative`` (a path the host chose) within ``max_bytes``, or ``EvidenceError``."""
        if relative in self.left_out:
            raise EvidenceError(self.left_out[relative])
        return regular_file(self.root, Path(relative), max_bytes)


@dataclass(frozen=True)
class VariableLimits:
    """What the host reads of one exported variable: its bytes, and for a model the parameters it may declare."""

    max_bytes: int
    max_params: int = DEFAULT_MAX_PARAMS


def variable_limits(task: TaskSpec, variable: str, kind: str) -> VariableLimits:
    """Limits from the assignment's own statement of the evidence, with a generous factor: an array's shape, a
    model's parameter count; a kind's default where the task states none."""
    params = [c.params for c in task.checks if c.evidence == variable]
    if kind == "array":
        shapes = [p["shape"] for p in params if isinstance(p.get("shape"), (list, tuple))
                  and all(isinstance(n, int) and n > 0 for n in p["shape"])]
        if shapes:
            return VariableLimits(max(ARRAY_FACTOR * 8 * max(math.prod(s) for s in shapes), 2**20))
    if kind in ("keras_model", "any"):
        stated = [int(p["total_params"]) for p in params if isinstance(p.get("total_params"), int)]
        if stated:
            most = max(MODEL_PARAMS_FACTOR * max(stated), MIN_MAX_PARAMS)
            return VariableLimits(max_bytes=min(MAX_BYTES[kind], 16 * most + 2**24), max_params=most)
    return VariableLimits(MAX_BYTES[kind])


def load_array(path: Path, max_bytes: int = MAX_BYTES["array"]) -> Any:
    return read_npy(path, max_bytes)


def load_model(path: Path, limits: VariableLimits = VariableLimits(MAX_BYTES["keras_model"])) -> Any:
    from grader.grading.model_file import ModelFileLimits, load_model_file

    return load_model_file(path, ModelFileLimits(max_file_bytes=limits.max_bytes, max_params=limits.max_params))


def load_value(path: Path, max_bytes: int = MAX_BYTES["value"]) -> Any:
    data = read_json(path, JsonLimits(max_bytes=max_bytes))
    if not isinstance(data, dict) or "value" not in data:
        raise EvidenceError("is not an exported value")
    return data["value"]


def load_history(path: Path, max_bytes: int = MAX_BYTES["history"]) -> Any:
    data = load_value(path, max_bytes)
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise EvidenceError("is not a training history")
    metrics = data["metrics"]
    if not all(isinstance(k, str) and isinstance(v, list) and all(_is_number(x) for x in v)
               for k, v in metrics.items()):
        raise EvidenceError("is not a training history (its metrics are not lists of numbers)")
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


LOADERS: dict[str, Callable[..., Any]] = {"keras_model": load_model, "array": load_array, "value": load_value,
                                          "history": load_history}


def export_report(folder: ExportFolder, task: str) -> Mapping[str, Any]:
    """What the exporter said about each variable (the student's process wrote it: used for wording only)."""
    try:
        report = read_json(folder.file(f"{EXPORTS}/{task}.json", REPORT_LIMITS.max_bytes), REPORT_LIMITS)
    except EvidenceError:
        return {}
    return report if isinstance(report, dict) else {}


def _missing_reason(variable: str, kind: str, said: Any) -> str:
    said = said if isinstance(said, dict) else {}
    status = said.get("status")
    detail = one_line(said.get("detail", ""), 300)
    if status == "undefined":
        return f"the variable {variable} is not defined in your notebook"
    if status == "placeholder":
        return f"{variable} is still the placeholder ...: replace it with your answer"
    if status == "error":
        wanted = {"keras_model": "a Keras model", "array": "a NumPy array", "value": "a plain value",
                  "history": "a training history"}.get(kind, "data")
        return f"{variable} could not be saved as {wanted}: {detail}"
    return f"{variable} was not exported (the notebook stopped before this task finished)"


def _load_any(folder: ExportFolder, task: TaskSpec, variable: str, said: Any) -> Any:
    """A variable saved by ``inkernel.save_any``: whichever of its files is there, read by its own safe loader."""
    from grader.course.otter import json_loads_tagged

    limits = variable_limits(task, variable, "any")
    for suffix in (".keras", ".npy", ".json"):
        most = {".json": ANY_JSON_BYTES, ".keras": min(limits.max_bytes, MAX_BYTES["keras_model"])}.get(
            suffix, limits.max_bytes)
        try:
            path = folder.file(f"{EXPORTS}/{task.name}/{variable}{suffix}", most)
        except EvidenceError as exc:
            if str(exc) == "not exported":
                continue
            return Missing(f"the exported {variable} {exc}")
        try:
            if suffix == ".keras":
                return load_model(path, limits)
            if suffix == ".npy":
                array = load_array(path, most)
                return array[()] if array.ndim == 0 else array  # a NumPy number (np.int64(26)) is one again
            text = read_bytes(path, most)
            parse_json(text, ANY_JSON_LIMITS)  # its size, nesting and values, before the tagged reading
            data = json_loads_tagged(text.decode("utf-8"))
            if not isinstance(data, dict) or "value" not in data and "__module__" not in data:
                raise EvidenceError("is not an exported value")
            return data["value"] if "value" in data else data
        except (EvidenceError, ValueError, TypeError, UnicodeDecodeError) as exc:
            return Missing(f"the exported {variable} could not be read ({one_line(exc, 300)})")
    return Missing(_missing_reason(variable, "any", said))


def _figure(variable: str, figures: Mapping[str, int]) -> Any:
    """A figure export: the pictures the runner saw the task's cells show (told on its own channel)."""
    if variable in figures:
        return {"pictures": int(figures[variable])}
    return Missing(f"the pictures of {variable} were not counted: the notebook stopped before this task finished")


def load_task_evidence(out_dir: Path, task: TaskSpec, probes: Mapping[str, Any] | None = None,
                       figures: Mapping[str, int] | None = None,
                       left_out: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Each exported variable of a task, loaded safely, or a ``Missing`` with the reason; ``probes``: how each
    probe ended, ``figures``: the pictures the runner counted, ``left_out``: what the sandbox refused to copy out
    (both from the runner's report and the sandbox, never from the folder)."""
    from grader.grading.probes import PROBED_KINDS, load_probe

    folder = ExportFolder(out_dir, dict(left_out or {}))
    report = export_report(folder, task.name)
    evidence: dict[str, Any] = {}
    for variable, kind in task.exports.items():
        if kind == "figure":
            evidence[variable] = _figure(variable, figures or {})
        elif kind == "any":
            evidence[variable] = _load_any(folder, task, variable, report.get(variable))
        elif kind in PROBED_KINDS:  # probed after the last cell: a function or callback defined in a later cell
            said = report.get(variable)  # (a cell moved) is graded as it is at the end, as the student's check sees it
            probed = load_probe(folder, task, variable, kind, probes or {})
            if isinstance(said, dict) and said.get("status") in ("undefined", "placeholder") \
                    and isinstance(probed, Missing):
                probed = Missing(_missing_reason(variable, kind, said))
            evidence[variable] = probed
        else:
            evidence[variable] = _load_file(folder, task, variable, kind, report.get(variable))
    return evidence


def _load_file(folder: ExportFolder, task: TaskSpec, variable: str, kind: str, said: Any) -> Any:
    limits = variable_limits(task, variable, kind)
    try:
        path = folder.file(f"{EXPORTS}/{task.name}/{variable}{SUFFIX[kind]}", limits.max_bytes)
    except EvidenceError as exc:
        if str(exc) == "not exported":
            return Missing(_missing_reason(variable, kind, said))
        return Missing(f"the exported {variable} {exc}")
    try:
        if kind == "keras_model":
            return load_model(path, limits)
        return LOADERS[kind](path, limits.max_bytes)
    except EvidenceError as exc:
        return Missing(f"the exported {variable} {exc}")


def evidence_files(spec: AssignmentSpec) -> dict[str, int]:
    """Every file the host may read from an export folder (relative path: its most bytes): the only names it
    copies out of a container and reads."""
    from grader.grading.probes import PROBED_KINDS, answer_limits

    files: dict[str, int] = {}
    for task in spec.tasks:
        files[f"{EXPORTS}/{task.name}.json"] = REPORT_LIMITS.max_bytes
        for variable, kind in task.exports.items():
            base = f"{EXPORTS}/{task.name}/{variable}"
            if kind == "any":
                limits = variable_limits(task, variable, kind)
                files.update({f"{base}.keras": min(limits.max_bytes, MAX_BYTES["keras_model"]),
                              f"{base}.npy": limits.max_bytes, f"{base}.json": ANY_JSON_BYTES})
            elif kind in PROBED_KINDS:
                folder = f"{EXPORTS}/{task.name}/{PROBES}/{variable}"
                files[f"{folder}/report.json"] = MAX_BYTES["history"]
                files.update({f"{folder}/{case}.npy": most for case, most in answer_limits(task, variable).items()})
            elif SUFFIX[kind]:
                files[f"{base}{SUFFIX[kind]}"] = variable_limits(task, variable, kind).max_bytes
    return files
