"""The instructor's reference functions, as the checks of functions written by hand find them.

A reference is the grader's own answer to a task that asks for a function (a convolution, a pooling), the typical
wrong answers it can name, and how it draws held-out cases.  None is written here: this package is what students
install and what the sandbox can import, and a reference is an answer.  Each lives with the solution, in the code
cells between the raw cells ``# BEGIN REFERENCES`` and ``# END REFERENCES`` of the solution notebook, which students
never get.  Reading a solution notebook (``grader.course.source``) runs those cells and registers every ``Reference``
they
define under its variable's name, the name its checks give as ``reference``; the host's checks find it here.
"""
from __future__ import annotations

import hashlib
import sys
import types
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from grader.errors import SpecError

Arrays = tuple[np.ndarray, ...]
MODULE_PREFIX = "grader_solution_references_"  # the name of a solution's reference cells as a module, and a hash


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: what it gives for a case's arguments (None where it does not apply), and what to tell
    a student whose answer it is, from the arguments, the student's answer and the right one."""

    gives: Callable[..., np.ndarray | None]
    says: Callable[[Arrays, np.ndarray, np.ndarray], str]


@dataclass(frozen=True)
class Reference:
    """A function students write: the grader's version of it, how to draw held-out case ``number`` (from 0) of a
    shape with a random generator, and the typical wrong answers to name."""

    compute: Callable[..., np.ndarray]
    draw: Callable[[np.random.Generator, tuple[int, ...], int], Arrays] | None = None
    mistakes: tuple[Mistake, ...] = ()


# {name: reference}: filled from the solution notebook this process read (``register``), empty in a student's.
REFERENCES: dict[str, Reference] = {}


def load_references(code: str, origin: str) -> dict[str, Reference]:
    """The references ``code`` (the solution's reference cells) defines, by their variable's name."""
    name = f"{MODULE_PREFIX}{hashlib.sha256(origin.encode()).hexdigest()[:12]}"
    module = types.ModuleType(name, f"The reference cells of {origin}")
    module.__file__ = origin
    sys.modules[name] = module  # as an imported module is (dataclasses and pickle look their module up there)
    try:
        exec(compile(code, origin, "exec"), module.__dict__)  # noqa: S102 - the instructor's own code, on the host
    except Exception as exc:  # noqa: BLE001 - whatever the instructor's code raised is a fault of the solution
        del sys.modules[name]
        raise SpecError(f"{origin}: the reference cells raised {type(exc).__name__}: {exc}") from exc
    return {name: value for name, value in vars(module).items() if isinstance(value, Reference)}


def register(references: Mapping[str, Reference]) -> None:
    REFERENCES.update(references)


def reference(name: Any) -> Reference:
    """The reference registered as ``name``; a ``SpecError`` when the solution read defines none by that name."""
    try:
        return REFERENCES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(REFERENCES)) or "none"
        raise SpecError(f"no reference function {name!r}: the solution notebook's reference cells (between"
                        f" '# BEGIN REFERENCES' and '# END REFERENCES') define {known}") from None


def held_out_cases(params: Mapping[str, Any]) -> list[Arrays]:
    """The cases of a ``function_matches`` check: one per shape of ``shapes``, drawn from ``seed``."""
    found = reference(params["reference"])
    if found.draw is None:
        raise SpecError(f"the reference {params['reference']!r} does not say how to draw held-out cases (draw=)")
    rng = np.random.default_rng(int(params["seed"]))
    return [found.draw(rng, tuple(int(s) for s in shape), number) for number, shape in enumerate(params["shapes"])]


def example_mistakes(name: str, args: Arrays) -> list[dict[str, Any]]:
    """What each typical mistake of reference ``name`` gives on a public example, and what it tells: written into
    the example's check when the solution is read, so that a student's own check names the mistake without the
    reference (a wrong answer to the example, which is public, gives nothing away)."""
    found = reference(name)
    expected = np.asarray(found.compute(*args), dtype=np.float64)
    mistakes: list[dict[str, Any]] = []
    for mistake in found.mistakes:
        try:
            wrong = mistake.gives(*args)
        except (ValueError, IndexError):
            continue
        if wrong is None:
            continue
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == expected.shape and np.allclose(wrong, expected):
            continue  # this example cannot tell the mistake from the right answer
        if any(np.asarray(m["gives"]).shape == wrong.shape and np.allclose(m["gives"], wrong) for m in mistakes):
            continue  # nor from a mistake named before it (the first that gives it names it)
        mistakes.append({"gives": wrong.tolist(), "says": mistake.says(args, wrong, expected)})
    return mistakes
