"""What students import in their notebooks: ``from grader.student import check`` (``check_all``, ``submit``,
``load_mnist``, and otter's shape, ``grader.check("cnn")``).  The functions live in ``grader/student/api.py`` and
are loaded on first use, so that the grader's own modules can use this folder's parts (live checks, hand-in,
what a task states) without loading the students' API."""
from __future__ import annotations

from typing import Any

__all__ = ["check", "check_all", "grader", "load_mnist", "submit", "Notebook"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from grader.student import api

        return getattr(api, name)
    raise AttributeError(f"module 'grader.student' has no attribute {name!r}")
