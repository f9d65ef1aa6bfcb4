"""The whole specification of a solution notebook, checked when it is read: every problem, with its cell and field.

A solution notebook is read by ``grader.course.source``; before any of it is used, this module checks what the
instructor
wrote against the form the grader reads (the check kinds' fields are ``grader.course.check_kinds``), and returns each
problem as a line a person fixes: the cell (counted from 1, as a reader counts the notebook's cells, with its
mark), the task, the check and the field, what is wrong and how it is written instead.  ``read_source`` raises one
``SpecError`` that lists them all, so that ``grader generate`` and ``grader validate`` stop at once, before a
student sees the notebook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Iterable, Mapping, Sequence

from grader.course.check_kinds import BY_KIND, COMMON_FIELDS, _type_name
from grader.spec import EVIDENCE_KINDS, Limits

CONFIG_FIELDS = ("name", "title", "limits")
QUESTION_FIELDS = ("name", "title", "export", "points")  # points: otter's; a task's points are its checks'
OPTIONAL_CHECK_FIELDS = ("margin",)  # read by ``grader validate --seeds`` (issue 23): a number
MANUAL_FIELDS = ("kind", "title", "points", "guide", "evidence", "public")
CHECK_IMPORT = re.compile(r"^\s*from\s+grader\.student\s+import\s+(?:\(?\s*)?(?:[\w\s,]*\b)?check\b", re.M)
CHECK_CALL = re.compile(r"^\s*check\(", re.M)


@dataclass(frozen=True)
class Place:
    """Where something is written: the cell's index (from 0) and what the cell is."""

    cell: int
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell + 1} ({self.what})"


def config_problems(config: Any, place: Place) -> list[str]:
    if not isinstance(config, dict):
        return [f"{place}: should hold 'name: ...' lines (YAML), found {_type_name(config)}"]
    problems = []
    if not isinstance(config.get("name"), str) or not str(config.get("name")).isidentifier():
        problems.append(f"{place}, field name: should be the assignment's name, a word like fashion_cnn, found"
                        f" {_type_name(config.get('name'))}")
    problems += [f"{place}, field {key}: not a field of the config (it has {', '.join(CONFIG_FIELDS)})"
                 for key in config if key not in CONFIG_FIELDS]
    limits = config.get("limits")
    if limits is not None:
        if not isinstance(limits, dict):
            problems.append(f"{place}, field limits: should be a mapping (notebook_timeout_s: 600 ...), found"
                            f" {_type_name(limits)}")
        else:
            known = {f.name for f in fields(Limits)}
            for key, value in limits.items():
                if key not in known:
                    problems.append(f"{place}, field limits.{key}: unknown limits entry {key!r} (limits are optional;"
                                    f" they are {', '.join(sorted(known))})")
                elif isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    problems.append(f"{place}, field limits.{key}: should be a positive number, found"
                                    f" {_type_name(value)}")
    return problems


def question_problems(head: Any, place: Place) -> list[str]:
    if not isinstance(head, dict):
        return [f"{place}: should hold 'name: ...' and 'export: ...' lines (YAML), found {_type_name(head)}"]
    problems = []
    name = head.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        problems.append(f"{place}, field name: a question needs a name, a word like q1, found {_type_name(name)}")
    problems += [f"{place}, field {key}: not a field of a question (it has {', '.join(QUESTION_FIELDS)})"
                 for key in head if key not in QUESTION_FIELDS]
    exports = head.get("export")
    if exports is not None and not isinstance(exports, dict):
        problems.append(f"{place}, field export: should map each variable to its kind (model: keras_model), found"
                        f" {_type_name(exports)}")
    for variable, kind in (exports or {}).items() if isinstance(exports, dict) else ():
        if not str(variable).isidentifier():
            problems.append(f"{place}, field export: {variable!r} is not a variable name")
        if kind not in EVIDENCE_KINDS:
            problems.append(f"{place}, field export.{variable}: unknown kind {kind!r} (the kinds:"
                            f" {', '.join(EVIDENCE_KINDS)})")
    return problems


def checks_problems(checks: Any, place: Place) -> list[str]:
    """The form of a ``# BEGIN CHECKS`` cell itself: a YAML list of mappings."""
    if checks is None or isinstance(checks, list):
        return []
    return [f"{place}: should be a YAML list of checks, each starting with '- kind: ...', found {_type_name(checks)}"]


def check_problems(check: Any, number: int, place: Place, exports: Mapping[str, str],
                   references: Iterable[str]) -> list[str]:
    """Every problem of one check (``number`` counted from 1 in its task), against its kind's fields."""
    if not isinstance(check, dict):
        return [f"{place}, check {number}: should be a mapping ('- kind: ...' and its fields on the lines under"
                f" it), found {_type_name(check)}"]
    kind = check.get("kind")
    at = f"{place}, check {number}" + (f" ({kind})" if isinstance(kind, str) else "")
    if kind == "manual":  # a part graded by a person (grader/reviews)
        return [f"{at}, field {key}: not a field of a manual part ({', '.join(MANUAL_FIELDS)})"
                for key in check if key not in MANUAL_FIELDS] + _points(check, at)
    doc = BY_KIND.get(kind) if isinstance(kind, str) else None
    if doc is None:
        known = ", ".join(sorted(d.kind for d in BY_KIND.values() if d.by_hand))
        return [f"{at}, field kind: {_type_name(kind)} is not a check kind (the kinds: {known})"]
    problems = _points(check, at)
    evidence = check.get("evidence")
    if not isinstance(evidence, str):
        problems.append(f"{at}, field evidence: the variable the check reads, one the task exports, is missing")
    elif evidence not in exports:
        problems.append(f"{at}, field evidence: the task does not export {evidence!r} (add '{evidence}:"
                        f" {doc.evidence}' under export: in the question's cell)")
    elif doc.evidence != "any" and exports[evidence] not in (doc.evidence, "any"):
        problems.append(f"{at}, field evidence: {evidence} is exported as {exports[evidence]}, but {kind} reads"
                        f" {'an' if doc.evidence[0] in 'aeiou' else 'a'} {doc.evidence} (export it as"
                        f" '{evidence}: {doc.evidence}')")
    if "public" in check and not isinstance(check["public"], bool):
        problems.append(f"{at}, field public: should be true or false, found {_type_name(check['public'])}")
    own = {p.name: p for p in doc.params}
    for key in check:
        if key in COMMON_FIELDS or key in OPTIONAL_CHECK_FIELDS or (key == "mistakes" and kind == "function_example"):
            continue
        if key not in own:
            fields_text = ", ".join(own) or "no fields of its own"
            problems.append(f"{at}, field {key}: {kind} has no field {key} (its fields: {fields_text})")
    for param in doc.params:
        if param.name not in check:
            if param.required:
                problems.append(f"{at}, field {param.name}: missing ({param.form}: {param.doc})")
            continue
        problem = param.validate(check[param.name])
        if problem:
            problems.append(f"{at}, field {param.name}: {problem}")
    if "margin" in check and (isinstance(check["margin"], bool) or not isinstance(check["margin"], (int, float))):
        problems.append(f"{at}, field margin: should be a number, found {_type_name(check['margin'])}")
    for key in ("compare_to", "trained_model"):
        if isinstance(check.get(key), str) and check[key] not in exports:
            problems.append(f"{at}, field {key}: the task does not export {check[key]!r} (add it under export:)")
    problems += _reference_problems(check, at, set(references))
    return problems


def _points(check: Mapping[str, Any], at: str) -> list[str]:
    points = check.get("points")
    if points is None:
        return [f"{at}, field points: missing (a number, 0 for a check that only informs)"]
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        return [f"{at}, field points: should be a number of points (0 or more), found {_type_name(points)}"]
    return []


def _reference_problems(check: Mapping[str, Any], at: str, references: set[str]) -> list[str]:
    named = []
    if isinstance(check.get("reference"), str):
        named.append(("reference", check["reference"]))
    steps = check.get("steps")
    if isinstance(steps, list):
        named += [(f"steps[{n}].reference", s["reference"]) for n, s in enumerate(steps, 1)
                  if isinstance(s, dict) and isinstance(s.get("reference"), str)]
    known = ", ".join(sorted(references)) or "none"
    return [f"{at}, field {field}: no reference function {name!r} (the solution's reference cells, between"
            f" '# BEGIN REFERENCES' and '# END REFERENCES', or references.py beside it, define: {known})"
            for field, name in named if name not in references]


def setup_problems(code_cells: Sequence[tuple[int, str]]) -> list[str]:
    """A notebook whose cells call ``check(...)`` imports it first (``from grader.student import check``, in a setup
    cell): else every student's check raises ``NameError``."""
    for index, source in code_cells:
        if CHECK_IMPORT.search(source):
            return []
        if CHECK_CALL.search(source):
            return [f"cell {index + 1} calls check(...), but no cell before it imports it: add"
                    " 'from grader.student import check' to the setup cell (the first code cell, before the first"
                    " question)"]
    return []
