"""Otter tests that call a function of the student's notebook, graded without the tests entering the sandbox.

The test code runs on the host only.  Before the run, the host *plans* the calls: it runs each test once with a
recorder in place of each function it calls, the notebook's other variables as symbols (``Ref``: a name, and the
indices, attributes and method calls a test applies to it) and the modules by the master notebook's imports.  Each
call whose arguments are data (numbers, texts, lists, arrays) or a notebook variable reached so
(``pool(training_images[1])``) is sent with the job, as data; after the notebook's last cell the kernel makes the
arguments, calls the student's function and saves what it returned as data (``grader.inside.inkernel.probe_calls``: an
array as ``.npy``, a tuple or list with arrays as one ``.npy`` per array, anything else as tagged JSON), with
the id of the arguments' content (``grader.inside.inkernel.call_id``).  When grading, the test runs again on the host,
on
the variables loaded back, with a stand-in (``StandIn``) for the function that answers each call from the kernel's
answers by the id of its arguments.

What cannot be planned: a call whose arguments are computed from another call's result (``pool(pool(x))``) or by
arithmetic on the notebook's variables (``pool(x * 2)``).  Such a call finds no answer and fails its test with a
reason that says so.
"""
from __future__ import annotations

import ast
import base64
import doctest
import io
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from grader.inside.inkernel import call_id

MAX_PLANNED_CALLS = 200  # per test
MAX_ARGUMENT_BYTES = 8 * 2**20  # what a planned call sends


class Unplannable(Exception):
    """An argument the host cannot send as data."""


class Opaque:
    """A value the host does not know before the run (a function's result, arithmetic on a notebook variable): any
    use of it gives another; it is true, empty and zero, so that the test goes on to its next calls."""

    def __getattr__(self, name: str) -> "Opaque":
        if name.startswith("__"):
            raise AttributeError(name)
        return Opaque()

    def __call__(self, *args: Any, **kwargs: Any) -> "Opaque":
        return Opaque()

    def __getitem__(self, key: Any) -> "Opaque":
        return Opaque()

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __index__(self) -> int:
        return 0

    def __float__(self) -> float:
        return 0.0

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return Opaque()

    __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __eq__
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __eq__
    __and__ = __rand__ = __or__ = __ror__ = __neg__ = __pos__ = __abs__ = __invert__ = __eq__


class Ref(Opaque):
    """A notebook variable, and the indices, attributes and method calls (with data) applied to it."""

    def __init__(self, name: str, path: tuple = ()) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return Ref(self._name, self._path + (("attr", name),))

    def __getitem__(self, key: Any) -> Any:
        try:
            return Ref(self._name, self._path + (("item", encode(key)),))
        except Unplannable:
            return Opaque()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return Ref(self._name, self._path + (("call", [encode(list(args)), encode(dict(kwargs))]),))
        except Unplannable:
            return Opaque()

    def encoded(self) -> dict:
        return {"__ref__": self._name, "path": [list(step) for step in self._path]}


def encode(value: Any, depth: int = 0) -> Any:
    """``value`` as the JSON ``grader.inside.inkernel._decode_call_value`` reads; ``Unplannable`` when it is not
    data."""
    if depth > 30:
        raise Unplannable("nested too deep")
    if isinstance(value, Ref):
        return value.encoded()
    if isinstance(value, Opaque):
        raise Unplannable("it is computed from a result the grader knows only after the run")
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise Unplannable("an array of objects")
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buffer.getvalue()).decode()}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, slice):
        return {"__slice__": [encode(v, depth + 1) for v in (value.start, value.stop, value.step)]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"__set__": [encode(v, depth + 1) for v in sorted(value, key=repr)]}
    if isinstance(value, list):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(k.startswith("__") for k in value):
            return {k: encode(v, depth + 1) for k, v in value.items()}
        return {"__pairs__": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    raise Unplannable(f"it is a {type(value).__name__}, which the grader does not send as data")


@dataclass
class Recorder:
    """A function of the notebook while the calls are planned: records each call it can send, returns ``Opaque``."""

    name: str
    calls: list[dict] = field(default_factory=list)
    unplanned: list[str] = field(default_factory=list)

    def __call__(self, *args: Any, **kwargs: Any) -> Opaque:
        try:
            call = {"args": encode(list(args)), "kwargs": encode(dict(kwargs))}
        except Unplannable as exc:
            self.unplanned.append(str(exc))
            return Opaque()
        if len(self.calls) < MAX_PLANNED_CALLS and call not in self.calls \
                and len(str(call)) <= MAX_ARGUMENT_BYTES:
            self.calls.append(call)
        return Opaque()


def called_names(source: str) -> set[str]:
    """The names a test's code calls directly (``pool(...)``): the notebook's functions among its names."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}


def doctest_source(code: str) -> str:
    return "\n".join(example.source for example in doctest.DocTestParser().get_examples(code))


def plan_namespace(names: Iterable[str], functions: Iterable[str], modules: Mapping[str, Any]) -> tuple[dict, dict]:
    """The symbols a test runs on while its calls are planned: (namespace, recorders by function name)."""
    recorders = {name: Recorder(name) for name in functions}
    namespace: dict[str, Any] = {}
    for name in names:
        namespace[name] = recorders.get(name) or modules.get(name) or Ref(name)
    return namespace, recorders


def plan_doctest(code: str, namespace: dict[str, Any]) -> None:
    """Run an OK-format case's examples one by one (as doctest does, going on after a failure)."""
    for example in doctest.DocTestParser().get_examples(code):
        try:
            exec(compile(example.source, "<test>", "exec"), namespace)  # noqa: S102 - the instructor's test
        except Exception:  # noqa: BLE001 - a symbol cannot do everything a value does: the calls so far count
            continue


def plan_function(call: Callable[[dict], None], namespace: dict[str, Any]) -> None:
    try:
        call(namespace)
    except Exception:  # noqa: BLE001 - as above
        pass


def calls_of(recorders: Mapping[str, Recorder]) -> dict[str, list[dict]]:
    return {name: list(recorder.calls) for name, recorder in recorders.items()}


def case_key(call: Mapping[str, Any]) -> dict:
    """A planned call as a probe case (``grader.grading.probes``): identified by the hash of its JSON."""
    return {"call": dict(call)}


def module_names(notebook_code: Iterable[str], known: Mapping[str, Any]) -> dict[str, str]:
    """The names the master notebook gives modules (``import numpy as np`` gives np: numpy), for those in
    ``known`` (``grader.course.otter.MODULES``)."""
    found: dict[str, str] = {}
    for source in notebook_code:
        try:
            tree = ast.parse(_python_only(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in known:
                        found[alias.asname] = alias.name
                    elif not alias.asname and alias.name.split(".")[0] in known:
                        found[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in known:
                        found[alias.asname or alias.name] = full
    return found


def _python_only(source: str) -> str:
    """A notebook cell without IPython's magics and shell lines."""
    return "\n".join("" if re.match(r"^\s*[%!]", line) else line for line in source.splitlines())


class StudentFunctionError(Exception):
    """What the student's function raised when the kernel called it (its type and message, as data)."""


class NotCalled(Exception):
    """A call the grader could not make before the test ran (its arguments were not known then)."""


@dataclass(frozen=True)
class ProbedCalls:
    """What a notebook's function returned on the planned calls: by the id of the arguments (``call_id``), the
    value or a ``Missing``; ``problem``: why it was not called at all."""

    name: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    problem: str = ""


class StandIn:
    """The student's function as a test on the host sees it: each call answered from the kernel's answers."""

    def __init__(self, probed: ProbedCalls) -> None:
        self.__name__ = probed.name
        self._probed = probed

    def __repr__(self) -> str:
        return f"<function {self.__name__}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from grader.checks.base import Missing

        try:
            key = call_id(args, kwargs)
        except (TypeError, ValueError):
            key = ""
        answer = self._probed.answers.get(key, NotCalled)
        if answer is NotCalled:
            raise NotCalled(f"the grader could not call {self.__name__} on these arguments: they are computed from"
                            " another result of a function of the notebook, or by arithmetic on its variables"
                            " (write the test so that each call's arguments are data or notebook variables)")
        if isinstance(answer, Missing):
            raise StudentFunctionError(answer.reason)
        return answer
