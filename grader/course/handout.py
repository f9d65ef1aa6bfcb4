"""The files a student got, as the student's side reads them: ``public_checks.json`` and the notebook beside it.

``public_checks.json`` holds the public checks, and for each task only the kind, variable and points of the
checks it leaves out, the limits a submission runs under, and the setup cells as given.  Everything here is
public: the notebook's own checks, ``check_all`` and ``grader submit`` read it, never the solution.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import nbformat

from grader.course.generate import PLACEHOLDER, PUBLIC_CHECKS_FILE
from grader.errors import SpecError
from grader.spec import AssignmentSpec, Limits, TaskSpec

SUBMISSION_SUFFIX = "-submission"


@dataclass(frozen=True)
class LeftOut:
    """A check the grader runs that students cannot: its kind and variable only."""

    kind: str
    evidence: str
    points: float


@dataclass(frozen=True)
class Handout:
    """The public checks of an assignment and what comes with them."""

    path: Path
    spec: AssignmentSpec
    left_out: Mapping[str, tuple[LeftOut, ...]]
    setup_cells: tuple[Mapping[str, str], ...]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def limits(self) -> Limits:
        return self.spec.limits

    def task(self, name: str) -> TaskSpec:
        return self.spec.task(name)

    def text(self) -> str:
        return self.path.read_text()

    def template(self) -> Any:
        """A stand-in for the notebook as given, for ``prepare``: its setup cells, and a marked cell per task."""
        nb = nbformat.v4.new_notebook()
        for setup in self.setup_cells:
            cell = nbformat.v4.new_code_cell(setup["source"])
            cell["id"] = setup["id"]
            cell.metadata["grader"] = {"task": None, "role": "setup"}
            nb.cells.append(cell)
        for task in self.spec.tasks:
            cell = nbformat.v4.new_code_cell(PLACEHOLDER)
            cell.metadata["grader"] = {"task": task.name, "role": "answer"}
            nb.cells.append(cell)
        return nb


def read_handout(path: str | Path) -> Handout:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path} cannot be read ({type(exc).__name__}): download it again with the notebook") from None
    spec = AssignmentSpec.from_dict(data, Limits.from_dict(data.get("limits")))
    left_out = {t["name"]: tuple(LeftOut(str(n["kind"]), str(n["evidence"]), float(n["points"]))
                                 for n in t.get("also_graded") or ()) for t in data["tasks"]}
    setup = tuple({"id": str(c.get("id") or ""), "source": str(c["source"])} for c in data.get("setup_cells") or ())
    return Handout(path, spec, left_out, setup)


def find_handout(start: str | Path | None = None) -> Handout:
    """``public_checks.json`` in ``start`` (a folder or a notebook's path; by default the working folder) or above;
    for a notebook named away from it (Colab's notebook on a mounted Drive), in the working folder."""
    start = Path(start or Path.cwd())
    named_notebook = start.is_file()
    if named_notebook:
        start = start.parent
    for folder in (start, *start.parents, *((Path.cwd(),) if named_notebook else ())):
        candidate = folder / PUBLIC_CHECKS_FILE
        if candidate.is_file():
            return read_handout(candidate)
    raise SpecError(f"{PUBLIC_CHECKS_FILE} was not found next to the notebook ({start}): keep the files of the"
                    " assignment together, in one folder")


def notebook_path(handout: Handout, namespace: Mapping[str, Any] | None = None,
                  notebook: str | Path | None = None) -> Path:
    """The notebook file being worked on, in this order: the path given; the one the editor says (VS Code's
    ``__vsc_ipynb_file__``, Jupyter's ``__session__`` or ``$JPY_SESSION_NAME``) if it is a notebook on disk; the
    only notebook beside ``public_checks.json`` (hand-in copies aside); the one named after the assignment."""
    if notebook is not None:
        return Path(notebook)
    namespace = namespace or {}
    for said in (namespace.get("__vsc_ipynb_file__"), namespace.get("__session__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(said, str) and said.endswith(".ipynb"):
            for path in (Path(said), Path.cwd() / said, Path.cwd() / Path(said).name):
                if path.is_file():
                    return path
    candidates = sorted(p for p in handout.folder.glob("*.ipynb") if not p.stem.endswith(SUBMISSION_SUFFIX))
    if len(candidates) == 1:
        return candidates[0]
    named = handout.folder / f"{handout.spec.name}.ipynb"
    if named.is_file():
        return named
    raise SpecError(f"which notebook is yours? {len(candidates)} notebooks are beside {PUBLIC_CHECKS_FILE}: name it,"
                    " for example grader.check_all(notebook=\"my_notebook.ipynb\")")
