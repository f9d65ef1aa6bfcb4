"""The hidden cells the runner executes in the student's kernel: they run ``grader.inside.inkernel`` there.

Each is one expression that executes the source of :mod:`grader.inside.inkernel` in a fresh namespace and
calls one of its functions: it leaves no name in the student's namespace, imports nothing under the
grader's name and adds no history entry.  Its parameters travel as a JSON string literal, never
spliced into code.  What it writes is untrusted on the other side.
"""
from __future__ import annotations

import inspect
import json
from functools import lru_cache

from grader.inside import inkernel


@lru_cache(maxsize=1)
def inkernel_source() -> str:
    return inspect.getsource(inkernel)


def call_code(function: str, spec: dict) -> str:
    """One expression that runs ``inkernel.<function>(user_ns, spec)`` in the kernel."""
    if not function.isidentifier() or not hasattr(inkernel, function):
        raise ValueError(f"no function {function!r} in grader.inside.inkernel")
    return ("(lambda _s, _f, _j: (lambda _n: (exec(_s, _n), _n[_f](get_ipython().user_ns, __import__('json')"
            ".loads(_j)))[1])({'__name__': '__inkernel__'}))"
            f"({inkernel_source()!r}, {function!r}, {json.dumps(spec)!r})")


def export_code(task: str, exports: dict[str, str], folder: str, report: str,
                input_hints: dict[str, list] | None = None) -> str:
    """One expression that exports ``exports`` of ``task`` from the kernel's namespace."""
    return call_code("export_task", {"task": task, "exports": exports, "folder": folder, "report": report,
                                     "input_hints": input_hints or {}})
