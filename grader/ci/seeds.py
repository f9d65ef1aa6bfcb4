"""Thresholds that hold: the reference run under several seeds, each accuracy and training-stop check's margin.

Run 1 keeps the setup cell's own seed (the grading run); run ``k`` > 1 adds a cell right after the last setup cell
that seeds Python, NumPy and, where the notebook imported it, TensorFlow/Keras with ``k - 1`` (the grader puts the
setup cells back as written, so the seed cannot go into them).  After each run the host measures, from the
exported evidence, what the checks compare with their threshold: a model's accuracy as the grader measures it
(``checks.accuracy.measure_accuracy``), and for a training-stop check the watched metric at the epoch training
stopped.  A check passes "with room" when ``value - threshold >= margin``; the margin is the check's ``margin:``
parameter where the assignment states one, else the course's rule (``DEFAULT_MARGINS``).

The figures are recorded in ``solutions/<name>/thresholds.json`` (the format of ``benchmarks/threshold_margins.py``,
under the data the grader has: for MNIST the full file or the subset); ``recorded_margin_problems`` then holds every
later threshold to them without running anything, so a threshold cannot be made tighter than the reference met.
"""
from __future__ import annotations

import datetime
import json
import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import nbformat

from grader.checks.base import Missing
from grader.errors import SpecError

log = logging.getLogger(__name__)
MARGIN_KINDS = ("model_accuracy", "training_stopped")
DEFAULT_MARGINS = {"model_accuracy": 0.01, "training_stopped": 0.001}  # docs/authoring.md: "at least 0.01"
RECORD_FILE = "thresholds.json"
SETUP_LABEL = "setup"  # run 1: the seed the setup cell sets itself
DIGITS = 4  # values are compared as the grader prints them

RESEED = """\
import random as _grader_random, sys as _grader_sys
_grader_random.seed({seed})
if "numpy" in _grader_sys.modules:
    _grader_sys.modules["numpy"].random.seed({seed})
if "tensorflow" in _grader_sys.modules:
    _grader_sys.modules["tensorflow"].keras.utils.set_random_seed({seed})
elif "keras" in _grader_sys.modules:
    _grader_sys.modules["keras"].utils.set_random_seed({seed})
del _grader_random, _grader_sys"""


def seed_labels(runs: int) -> list[str]:
    """The label of each run: the setup cell's own seed first, then 1, 2, ..."""
    if runs < 1:
        raise SpecError(f"--seeds needs at least 1 run, not {runs}")
    return [SETUP_LABEL, *(str(n) for n in range(1, runs))]


def reseeded(nb, label: str):
    """The reference notebook ``nb`` seeded for the run ``label`` (unchanged for the setup cell's own seed)."""
    if label == SETUP_LABEL:
        return nb
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # a copy: the caller's notebook is left as it was
    setups = [i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("grader", {}).get("role") == "setup"]
    cell = nbformat.v4.new_code_cell(RESEED.format(seed=int(label)))
    cell["id"] = f"grader-reseed-{label}"
    cell.metadata["grader"] = {"task": None, "role": "scaffold"}
    nb.cells.insert((setups[-1] + 1) if setups else 0, cell)
    return nb


def required_margin(check) -> float:
    """The margin ``check`` must pass by: its own ``margin:``, else the course's rule for its kind."""
    stated = check.params.get("margin")
    if stated is None:
        return DEFAULT_MARGINS[check.kind]
    if isinstance(stated, bool) or not isinstance(stated, (int, float)) or stated < 0:
        raise SpecError(f"check {check.title!r}: margin must be a number >= 0, not {stated!r}")
    return float(stated)


def threshold_of(check) -> float:
    if check.kind == "model_accuracy":
        from grader.checks.accuracy import minimum_accuracy

        return float(minimum_accuracy(check.params))
    return float(check.params["threshold"])


def margin_checks(spec) -> list[tuple[Any, Any]]:
    """(task, check) of every accuracy and training-stop check of ``spec``."""
    return [(t, c) for t in spec.tasks for c in t.checks if c.kind in MARGIN_KINDS]


@dataclass(frozen=True)
class Measured:
    """What one run measured for one check: the value held against its threshold (None: it could not be
    measured, and ``note`` says why), and for a training-stop check the epoch training stopped at."""

    title: str
    kind: str
    value: float | None
    threshold: float
    margin: float  # what the assignment requires
    epoch: int | None = None
    max_epochs: int | None = None
    note: str = ""

    @property
    def room(self) -> float | None:
        return None if self.value is None else round(self.value - self.threshold, DIGITS + 2)

    @property
    def spare_epochs(self) -> bool:
        """A training stop with an epoch to spare (one that stops at its last allowed epoch passes, but a run
        that needs one more fails)."""
        return self.kind != "training_stopped" or (self.epoch is not None and self.max_epochs is not None
                                                   and self.epoch < self.max_epochs)

    @property
    def holds(self) -> bool:
        return self.room is not None and self.room >= round(self.margin, DIGITS + 2) and self.spare_epochs


def measure_checks(assignment, export_dir: Path, summary) -> list[Measured]:
    """Measure every accuracy and training-stop check of ``assignment`` from one execution's evidence (the
    reference's: the instructor's own code, loaded safely all the same)."""
    from grader.grading.evidence import load_task_evidence

    found = []
    loaded: dict[str, dict[str, Any]] = {}
    for task, check in margin_checks(assignment.spec):
        if task.name not in loaded:
            loaded[task.name] = load_task_evidence(export_dir, task, summary.probes,
                                                   summary.figures.get(task.name, {}), summary.left_out)
        found.append(_measure(check, loaded[task.name].get(check.evidence, Missing("not exported"))))
    return found


def _measure(check, value: Any) -> Measured:
    base = {"title": check.title or check.kind, "kind": check.kind, "threshold": threshold_of(check),
            "margin": required_margin(check)}
    if isinstance(value, Missing):
        return Measured(value=None, note=value.reason, **base)
    try:
        if check.kind == "model_accuracy":
            from grader.checks.accuracy import measure_accuracy

            return Measured(value=round(measure_accuracy(value, check.params), DIGITS), **base)
        from grader.checks.training import _metrics

        values = _metrics(value).get(str(check.params.get("metric", "accuracy"))) or []
        reached = [i for i, v in enumerate(values) if v >= base["threshold"]]
        at = reached[0] if reached else (values.index(max(values)) if values else None)
        return Measured(value=None if at is None else round(float(values[at]), DIGITS), epoch=None if at is None
                        else at + 1, max_epochs=int(check.params["max_epochs"]), note="" if reached else
                        "the threshold was never reached", **base)
    except Exception as exc:  # noqa: BLE001 - the reference's evidence could not be measured: said, not raised
        return Measured(value=None, note=f"{type(exc).__name__}: {exc}", **base)


@dataclass(frozen=True)
class CheckSpread:
    """One check over every run: each run's value, their spread, the threshold and the margin required."""

    title: str
    kind: str
    threshold: float
    margin: float
    by_run: Mapping[str, Measured] = field(default_factory=dict)

    @property
    def values(self) -> list[float]:
        return [m.value for m in self.by_run.values() if m.value is not None]

    @property
    def holds(self) -> bool:
        return bool(self.by_run) and all(m.holds for m in self.by_run.values())

    @property
    def lowest_room(self) -> float | None:
        rooms = [m.room for m in self.by_run.values() if m.room is not None]
        return min(rooms) if rooms else None

    def describe(self) -> str:
        runs = ", ".join(f"{label}: {'not measured (' + m.note + ')' if m.value is None else f'{m.value:.4f}'}"
                         + (f" at epoch {m.epoch}/{m.max_epochs}" if m.epoch else "")
                         + ("" if m.spare_epochs or m.epoch is None else " (no epoch to spare)")
                         for label, m in self.by_run.items())
        values = self.values
        spread = f"spread {max(values) - min(values):.4f} (min {min(values):.4f}, max {max(values):.4f})" \
            if values else "nothing measured"
        low = self.lowest_room
        verdict = "holds" if self.holds else "too tight"
        return (f"{self.title}: {verdict}: {runs}; {spread}; threshold {self.threshold:g}, smallest room"
                f" {'-' if low is None else f'{low:+.4f}'}, margin required {self.margin:g}")

    def to_record(self) -> dict[str, Any]:
        values = self.values
        record = {"kind": self.kind, "by_seed": {k: m.value for k, m in self.by_run.items()},
                  "min": min(values, default=None), "max": max(values, default=None),
                  "median": statistics.median(values) if values else None,
                  "threshold": self.threshold, "margin": self.lowest_room, "required_margin": self.margin}
        if self.kind == "training_stopped":
            record["stop_epoch_by_seed"] = {k: m.epoch for k, m in self.by_run.items()}
            record["max_epochs"] = next(iter(self.by_run.values())).max_epochs
        return record


def spreads(runs: Mapping[str, list[Measured]]) -> list[CheckSpread]:
    """The runs' measurements gathered check by check (in the assignment's order)."""
    by_title: dict[str, dict[str, Measured]] = {}
    for label, measured in runs.items():
        for m in measured:
            by_title.setdefault(m.title, {})[label] = m
    return [CheckSpread(title, (first := next(iter(found.values()))).kind, first.threshold, first.margin, found)
            for title, found in by_title.items()]


def data_key(assignment) -> str:
    """Under which data a record is kept (as ``benchmarks/threshold_margins.py`` keeps it): the MNIST source for
    MNIST (its thresholds differ), else the data sets' names."""
    from grader.grading.grade import datasets_used

    used = datasets_used(assignment.spec)
    if "mnist" in used:
        return used["mnist"]
    return "+".join(sorted(used)) or "no-dataset"


def record_path(assignment) -> Path:
    return assignment.solution_path.parent / RECORD_FILE


def read_record(assignment) -> dict[str, Any]:
    path = record_path(assignment)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SpecError(f"{path} cannot be read: {exc}") from None
    return data if isinstance(data, dict) else {}


def write_record(assignment, found: list[CheckSpread], labels: list[str], seconds: Mapping[str, float]) -> Path:
    """Record ``found`` beside the solution, keeping what is there for other data and other checks."""
    from grader.grading.grade import datasets_used
    from grader.inside import datasets

    path = record_path(assignment)
    data = read_record(assignment)
    entry = data.setdefault(data_key(assignment), {})
    entry.setdefault("checks", {}).update({s.title: s.to_record() for s in found})
    used = datasets_used(assignment.spec)
    entry.update({"measured_on": {n: datasets.describe_mnist(s) if n == "mnist" else s for n, s in used.items()},
                  "date": datetime.date.today().isoformat(), "seeds": labels,
                  "sandbox_seconds_by_seed": {k: round(v, 1) for k, v in seconds.items()},
                  "recorded_by": f"grader validate --seeds {len(labels)}"})
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def recorded_margin_problems(assignment) -> tuple[list[str], list[str]]:
    """Each accuracy or training-stop threshold held to the lowest value recorded for it (no execution): the
    problems (a threshold the reference met by less than its margin), and what was not recorded."""
    record = read_record(assignment).get(data_key(assignment), {}).get("checks", {})
    problems, unrecorded = [], []
    for _, check in margin_checks(assignment.spec):
        title = check.title or check.kind
        entry = record.get(title)
        if not isinstance(entry, dict) or not isinstance(entry.get("min"), (int, float)):
            unrecorded.append(title)
            continue
        threshold, margin = threshold_of(check), required_margin(check)
        if check.kind == "training_stopped" and entry.get("threshold") != threshold:
            # where training stops depends on the threshold itself: a value recorded for another one says nothing
            problems.append(f"{title}: recorded for the threshold {entry.get('threshold')}, which is now"
                            f" {threshold:g}: measure it again with `grader validate {assignment.name} --seeds 3`")
            continue
        room = round(float(entry["min"]) - threshold, DIGITS + 2)
        if room < round(margin, DIGITS + 2):
            problems.append(f"{title}: the threshold {threshold:g} is met by the reference's lowest recorded value"
                            f" {float(entry['min']):.4f} by {room:+.4f}, less than the margin {margin:g}"
                            f" ({record_path(assignment).name}, seeds {entry.get('by_seed', {})})")
    return problems, unrecorded
