"""Which heavy modules a notebook's kernel may import before its job starts (a batch's warm sandbox).

A sandbox started ahead starts its kernel while the previous submission runs; importing TensorFlow there too
(3.8 s of a kernel's start here) takes it off the submission's time.  It must change nothing the notebook can
compute, so it is done only where it cannot:

- only modules the notebook itself imports (TensorFlow, for a notebook that imports ``tensorflow`` or ``keras``;
  the one imports the other), so that it loads nothing the notebook would not have loaded moments later;
- never in a notebook whose code mentions the process environment or the import machinery (``os.environ``,
  ``%env``, ``putenv``, ``dotenv``, ``sys.modules``, ``importlib``, ``__import__``): TensorFlow and Keras read
  variables at import (``TF_ENABLE_ONEDNN_OPTS`` changes numerics, ``KERAS_BACKEND`` the backend,
  ``CUDA_VISIBLE_DEVICES`` the devices), and a notebook that sets one before its import must get it, as in
  Jupyter.  Such a notebook runs exactly as before (its kernel still starts ahead).

The import runs in the kernel as a hidden cell, outside the notebook's history and namespace: no name is bound,
and the notebook's ``import tensorflow as tf`` binds ``tf`` as usual.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

# module imported ahead -> the top-level packages whose import in the notebook means it is imported anyway
WARMABLE = {"tensorflow": ("tensorflow", "keras", "tf_keras")}
ENVIRONMENT_WORDS = ("environ", "putenv", "unsetenv", "%env", "%set_env", "dotenv", "sys.modules", "importlib",
                     "__import__")
_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w]*)|import\s+(.+))", re.MULTILINE)


def imported_packages(source: str) -> set[str]:
    """The top-level packages ``import``/``from`` statements of ``source`` name (line by line, so that cells with
    magics, which are not Python, are read too)."""
    found: set[str] = set()
    for match in _IMPORT.finditer(source):
        if match.group(1):
            found.add(match.group(1))
        else:
            for part in match.group(2).split("#")[0].split(";")[0].split(","):
                name = part.strip().split(" ")[0].split(".")[0]
                if name.isidentifier():
                    found.add(name)
    return found


def packages_of_cells(code_cells: Iterable[str]) -> set[str]:
    """The top-level packages any of ``code_cells`` imports."""
    return set().union(*(imported_packages(source) for source in code_cells))


def warm_imports(code_cells: Iterable[str]) -> list[str]:
    """The modules the runner may import in the kernel before the notebook's first cell (see the module)."""
    sources = list(code_cells)
    if any(word in source for source in sources for word in ENVIRONMENT_WORDS):
        return []
    imported = packages_of_cells(sources)
    return [module for module, names in WARMABLE.items() if imported & set(names)]


def notebook_warm_imports(notebook: Any) -> list[str]:
    return warm_imports(c.source for c in notebook.cells if c.cell_type == "code")
