"""What an assignment expects: typed, frozen specs read from the solution notebook."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from grader.errors import SpecError

EVIDENCE_KINDS = ("keras_model", "array", "value", "history", "function", "callback", "figure", "any")
# A hidden check of an answer has a public twin that only reads its form (never the answer): students see
# at once whether the grader can read what they wrote.  {kind: (twin kind, parameters the twin keeps)}
FORMAT_TWINS = {"choice": ("choice_format", ("options",)), "number": ("number_format", ("integer",)),
                "shape": ("shape_format", ("length",))}


@dataclass(frozen=True)
class Limits:
    """Resource limits for executing one submission."""

    notebook_timeout_s: float = 1800.0
    cell_timeout_s: float = 900.0
    memory_mb: int = 6144
    cpus: int = 2
    max_processes: int = 512
    max_output_bytes: int = 2_000_000
    disk_mb: int = 1024
    check_timeout_s: float = 600.0  # the grader's own checks of one submission (outside the sandbox)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Limits":
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SpecError(f"unknown limits: {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> "Limits":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return Limits(**values)


@dataclass(frozen=True)
class CheckSpec:
    """One check of a task: a kind, what evidence it reads, its points and parameters."""

    kind: str
    evidence: str
    points: float
    public: bool = False
    title: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CheckSpec":
        data = dict(data)
        try:
            kind = data.pop("kind")
            evidence = data.pop("evidence")
            points = float(data.pop("points"))
        except KeyError as missing:
            raise SpecError(f"a check needs {missing}: {data}") from None
        public = bool(data.pop("public", False))
        title = str(data.pop("title", ""))
        return cls(kind=kind, evidence=evidence, points=points, public=public, title=title, params=data)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "evidence": self.evidence, "points": self.points,
                "public": self.public, "title": self.title, **dict(self.params)}


def _form_params(check: CheckSpec) -> dict[str, Any]:
    """What a format twin may know besides the parameters it keeps: how many sizes a shape has (the question says
    "height and width"; the student's check then reads one number as a square size, as the grader does)."""
    if check.kind == "shape" and "expected" in check.params and not check.params.get("ignore_channels"):
        return {"length": len(check.params["expected"])}
    return {}


EVIDENCE_PARAMS = ("compare_to", "trained_model")  # check parameters that name another variable of the task
MANUAL = "manual"  # the kind of a part graded by a person (grader/reviews): no evidence, never run by the machine


@dataclass(frozen=True)
class ManualPart:
    """A part of a task a person grades on the review page (a free-text answer, a plot's reading): its points,
    its title and what the reviewer should look for; machine grading never sees it."""

    title: str
    points: float
    guide: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ManualPart":
        unknown = set(data) - {"kind", "title", "points", "guide", "evidence", "public"}
        if unknown or "points" not in data or not data.get("title"):
            raise SpecError(f"a manual part needs a title and points (and may have a guide): {dict(data)}")
        return cls(title=str(data["title"]), points=float(data["points"]), guide=str(data.get("guide", "")))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": MANUAL, "title": self.title, "points": self.points, "guide": self.guide}


@dataclass(frozen=True)
class TaskSpec:
    """A gradable task: the variables it exports and the checks run on them."""

    name: str
    title: str
    exports: Mapping[str, str]
    checks: tuple[CheckSpec, ...]
    manual: tuple[ManualPart, ...] = ()  # graded by a person; not in max_points (the machine's)

    @property
    def max_points(self) -> float:
        return sum(check.points for check in self.checks)

    @property
    def manual_points(self) -> float:
        return sum(part.points for part in self.manual)

    def public_view(self) -> "TaskSpec":
        """The checks students may run: the public ones, and the form of each hidden answer."""
        public = []
        for check in self.checks:
            if check.public:
                public.append(check)
            elif check.kind in FORMAT_TWINS:
                twin, keep = FORMAT_TWINS[check.kind]
                public.append(CheckSpec(kind=twin, evidence=check.evidence, points=0, public=True,
                                        title=f"form of the answer {check.evidence}",
                                        params={**_form_params(check), **{k: v for k, v in check.params.items()
                                                                          if k in keep}}))
        return TaskSpec(self.name, self.title, dict(self.exports), tuple(public))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "exports": dict(self.exports),
                "checks": [c.to_dict() for c in self.checks] + [m.to_dict() for m in self.manual]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TaskSpec":
        exports = dict(data.get("exports") or {})
        for variable, kind in exports.items():
            if kind not in EVIDENCE_KINDS:
                raise SpecError(f"task {data.get('name')}: {variable} has unknown kind {kind!r}")
            if not str(variable).isidentifier():
                raise SpecError(f"task {data.get('name')}: {variable!r} is not a variable name")
        listed = list(data.get("checks") or ())
        manual = tuple(ManualPart.from_dict(c) for c in listed if isinstance(c, Mapping) and c.get("kind") == MANUAL)
        checks = tuple(CheckSpec.from_dict(c) for c in listed if not (isinstance(c, Mapping)
                                                                      and c.get("kind") == MANUAL))
        for check in checks:
            for name in (check.evidence, *(check.params[key] for key in EVIDENCE_PARAMS if key in check.params)):
                if name not in exports:
                    raise SpecError(f"task {data.get('name')}: check {check.kind} reads {name!r},"
                                    " which the task does not export")
        return cls(name=str(data["name"]), title=str(data.get("title") or data["name"]),
                   exports=exports, checks=checks, manual=manual)


@dataclass(frozen=True)
class AssignmentSpec:
    """An assignment: its tasks in order, and its limits."""

    name: str
    title: str
    tasks: tuple[TaskSpec, ...]
    limits: Limits = Limits()

    @property
    def max_points(self) -> float:
        return sum(task.max_points for task in self.tasks)

    @property
    def manual_points(self) -> float:
        return sum(task.manual_points for task in self.tasks)

    def task(self, name: str) -> TaskSpec:
        for task in self.tasks:
            if task.name == name:
                return task
        raise SpecError(f"assignment {self.name} has no task {name!r}")

    def public_view(self) -> "AssignmentSpec":
        return AssignmentSpec(self.name, self.title, tuple(t.public_view() for t in self.tasks), self.limits)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "tasks": [t.to_dict() for t in self.tasks]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], limits: Limits | None = None) -> "AssignmentSpec":
        return cls(name=str(data["name"]), title=str(data.get("title") or data["name"]),
                   tasks=tuple(TaskSpec.from_dict(t) for t in data.get("tasks") or ()),
                   limits=limits or Limits())
