"""Instructors' own otter-assign notebooks, graded with otter-grader's tests, outside the student's process.

An otter-assign master notebook (``# BEGIN QUESTION`` ... ``# BEGIN TESTS`` ...) placed at
``solutions/<name>/<name>.ipynb`` is an assignment like the others:

* ``otter assign`` itself makes the student notebook, the public tests and the autograder's tests (all of them,
  hidden ones included): students get otter's notebook and use otter's ``grader.check("q1")`` as they know it;
* the grader runs the submission in its sandbox (otter's own cells, which would run the tests in the student's
  kernel, are left out), exports every variable the tests read as data (``any``: a value, an array, a Keras
  model, or a module's name), and runs each test case with otter's runner (``OKTestFile``) in the grading
  process, which never ran student code, on those variables loaded back as data;
* each test case is a check with otter's points (public or hidden as otter says), so partial credit is otter's.

A test that calls a function of the student's notebook cannot run on data: such a name is reported as not
exportable (write those questions with this grader's ``function_matches`` checks instead).  Plain pytest
functions are not a check format: otter's test format covers instructors' Python tests (see the README).
"""
from __future__ import annotations

import ast
import builtins
import doctest
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import nbformat

from .errors import SpecError
from .spec import AssignmentSpec, CheckSpec, Limits, TaskSpec

TESTS_MARK = re.compile(r"^\s*#\s*BEGIN\s+TESTS\s*$", re.M)
CONFIG_MARK = re.compile(r"^\s*#\s*ASSIGNMENT\s+CONFIG\s*$", re.M)
OTTER_CELL = re.compile(r"^\s*(import otter\b|grader\s*=\s*otter\.Notebook|grader\.(check|check_all|export)\()",
                        re.M)
BUILTINS = set(dir(builtins))
# The modules a test may use by the notebook's name for them, by the exact ``__name__`` the module has in the
# student's kernel (what the export says), each with how the grader reaches it: a module the grader names itself,
# and an attribute of it where the kernel's name is not an importable one (``tf.math`` is
# ``tensorflow._api.v2.math``; ``tf.keras.layers`` is ``keras._tf_keras.keras.layers``).  The host looks a name up
# here and nowhere else: a name the sandbox wrote is never imported, and a name not here is a reason.
MODULES: dict[str, tuple[str, str]] = {
    **{name: (name, "") for name in (
        "math", "cmath", "statistics", "random", "re", "json", "itertools", "functools", "collections", "string",
        "operator", "numpy", "numpy.linalg", "numpy.random", "numpy.fft", "pandas", "tensorflow", "keras",
        "keras.layers", "keras.models", "keras.ops", "keras.backend", "keras.activations", "keras.losses",
        "keras.metrics", "keras.optimizers", "keras.callbacks", "keras.utils", "keras.initializers",
        "keras.regularizers")},
    "tensorflow.keras": ("tensorflow", "keras"),  # `import tensorflow.keras as k`, `from tensorflow import keras`
    "keras._tf_keras.keras": ("tensorflow", "keras"),
    "keras._tf_keras.keras.layers": ("tensorflow", "keras.layers"),
    "keras._tf_keras.keras.models": ("tensorflow", "keras.models"),
    "tensorflow._api.v2.math": ("tensorflow", "math"),
    "tensorflow._api.v2.nn": ("tensorflow", "nn"),
    "tensorflow._api.v2.random": ("tensorflow", "random"),
    "tensorflow._api.v2.linalg": ("tensorflow", "linalg"),
}
MAX_TAGGED_DEPTH = 100  # lists, tuples, sets and dicts inside each other in an export
MAX_INTEGER_DIGITS = 100


def is_otter_master(path: Path) -> bool:
    """An otter-assign master notebook: a config cell and at least one ``# BEGIN TESTS`` cell."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - not a notebook: not an otter master either
        return False
    texts = [_cell_text(c) for c in nb.cells]
    return any(CONFIG_MARK.search(t) for t in texts) and any(TESTS_MARK.search(t) for t in texts)


def _cell_text(cell: Any) -> str:
    text = cell.source
    fenced = re.match(r"^```otter\s*\n(.*?)```\s*$", text.strip(), re.S)
    return fenced.group(1) if fenced else text


def free_names(test_code: str) -> list[str]:
    """The names a test reads that it does not bind itself: the notebook's variables (and modules) it needs."""
    source = "\n".join(example.source for example in doctest.DocTestParser().get_examples(test_code))
    loaded, bound = [], set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loaded.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return list(dict.fromkeys(n for n in loaded if n not in bound and n not in BUILTINS))


@dataclass(frozen=True)
class OtterBuild:
    """What ``otter assign`` made of a master notebook."""

    autograder_notebook: Path
    student_dir: Path
    tests: tuple[dict, ...]  # OK-format specs of the autograder's tests: every case, hidden ones included


def _assign(master: Path) -> OtterBuild:
    """Run ``otter assign`` once per master notebook content (cached in the temporary folder)."""
    digest = hashlib.sha256(master.read_bytes() + b"otter-7").hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"grader-otter-{master.stem}-{digest}"
    if not (out / "done").is_file():
        work = Path(tempfile.mkdtemp(prefix="grader-otter-"))
        shutil.copyfile(master, work / master.name)
        done = subprocess.run([sys.executable, "-m", "otter", "assign", "--no-pdfs", "--no-run-tests", master.name,
                               "dist"], cwd=work, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise SpecError(f"otter assign rejected {master.name}: {(done.stderr or done.stdout).strip()[-800:]}")
        (work / "dist" / "done").write_text("ok")
        try:
            os.replace(work / "dist", out)
        except OSError:  # another process built it meanwhile
            shutil.rmtree(work, ignore_errors=True)
    zips = sorted((out / "autograder").glob("*-autograder_*.zip"))
    if not zips:
        raise SpecError(f"otter assign made no autograder zip for {master.name}")
    with zipfile.ZipFile(zips[-1]) as bundle:
        tests = tuple(_ok_spec(bundle.read(name).decode()) for name in sorted(bundle.namelist())
                      if name.startswith("tests/") and name.endswith(".py"))
    return OtterBuild(out / "autograder" / master.name, out / "student", tests)


def _ok_spec(source: str) -> dict:
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - the instructor's own test file, as otter reads it
    if not namespace.get("OK_FORMAT"):
        raise SpecError("only otter's OK-format tests are supported (the default of otter assign)")
    return namespace["test"]


def _question_order(master: Path) -> list[str]:
    names = []
    for cell in nbformat.read(master, as_version=4).cells:
        text = _cell_text(cell)
        if re.match(r"^\s*#\s*BEGIN\s+QUESTION", text):
            found = re.search(r"^\s*name:\s*(\S+)", text, re.M)
            if found:
                names.append(found.group(1).strip("'\""))
    return names


def spec_from_tests(name: str, tests: tuple[dict, ...], order: list[str], limits: Limits) -> AssignmentSpec:
    """One task per question, one check per test case, with otter's points and hidden flags."""
    from otter.test_files import OKTestFile

    files = {spec["name"]: OKTestFile.from_spec(spec, path=f"tests/{spec['name']}.py") for spec in tests}
    tasks = []
    for question in [q for q in order if q in files] + sorted(set(files) - set(order)):
        test_file = files[question]
        cases = list(zip(test_file.test_cases, [c for s in _suites(files, question, tests) for c in s["cases"]]))
        names = list(dict.fromkeys(n for case, _ in cases for n in free_names(case.body)))
        exports = {n: "any" for n in names}
        checks = []
        for number, (case, raw) in enumerate(cases, start=1):
            uses = free_names(case.body)
            checks.append(CheckSpec(kind="otter_case", evidence=(uses or names or ["_"])[0], points=float(case.points),
                                    public=not case.hidden,
                                    title=f"{question} test {number}" + (" (hidden)" if case.hidden else ""),
                                    params={"question": question, "case": raw, "uses": uses,
                                            "failure_message": case.failure_message or "",
                                            "success_message": case.success_message or ""}))
        if not names:
            exports = {"_": "any"}
        if test_file.all_or_nothing:
            checks = [CheckSpec(kind="otter_case", evidence=checks[0].evidence, points=float(test_file.possible),
                                public=False, title=f"{question}: every test", params={
                                    "question": question, "cases": [c.params["case"] for c in checks],
                                    "uses": names, "failure_message": "", "success_message": ""})]
        tasks.append(TaskSpec(name=question, title=f"Question {question}", exports=exports, checks=tuple(checks)))
    return AssignmentSpec(name=name, title=name, tasks=tuple(tasks), limits=limits)


def _suites(files: dict, question: str, tests: tuple[dict, ...]) -> list[dict]:
    spec = next(t for t in tests if t["name"] == question)
    return spec["suites"]


def without_otter_cells(nb: Any) -> Any:
    """The notebook without otter's own cells (its init, checks and export), which would run tests in the kernel."""
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and OTTER_CELL.search(c.source)
                                            and all(OTTER_CELL.search(line) or not line.strip()
                                                    for line in c.source.splitlines()))]
    return nb


def canonical(nb: Any) -> list:
    """A notebook's content without what ``otter assign`` draws at random (cell ids) or stamps (outputs)."""
    return [(c.cell_type, c.source) for c in nb.cells]


@dataclass(frozen=True)
class OtterAssignment:
    """An otter-assign master notebook as an assignment: the same interface as ``Assignment``."""

    solution_path: Path
    student_dir: Path

    @cached_property
    def build(self) -> OtterBuild:
        return _assign(self.solution_path)

    @cached_property
    def spec(self) -> AssignmentSpec:
        # otter assign refuses unknown keys in its config, so an otter notebook has the grader's default limits
        # (the command line's --cell-timeout, --notebook-timeout and --memory-mb override them).
        return spec_from_tests(self.name, self.build.tests, _question_order(self.solution_path), Limits())

    @property
    def name(self) -> str:
        return self.solution_path.stem

    @property
    def notebook_name(self) -> str:
        return self.solution_path.name

    @property
    def student_notebook_path(self) -> Path:
        return self.student_dir / self.notebook_name

    def template(self):
        return nbformat.read(self.build.student_dir / self.solution_path.name, as_version=4)

    def reference_submission(self):
        return nbformat.read(self.build.autograder_notebook, as_version=4)

    def clean_submission(self, nb: Any) -> Any:
        return without_otter_cells(nb)

    def handouts(self) -> dict[str, str]:
        return {}

    def student_files(self) -> dict[str, bytes]:
        """What students get, as otter assign made it: the notebook and its public tests."""
        root = self.build.student_dir
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    def out_of_date(self) -> list[str]:
        stale = []
        for name, data in self.student_files().items():
            path = self.student_dir / name
            if not path.is_file():
                stale.append(name)
            elif name.endswith(".ipynb"):
                if canonical(nbformat.reads(data.decode(), as_version=4)) != canonical(nbformat.read(path, 4)):
                    stale.append(name)
            elif path.read_bytes() != data:
                stale.append(name)
        return stale

    def write_student_files(self) -> list[Path]:
        written = []
        for name, data in self.student_files().items():
            path = self.student_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".ipynb") and path.is_file() and name not in self.out_of_date():
                continue  # the same notebook but for otter's random cell ids: keep the committed one
            path.write_bytes(data)
            written.append(path)
        return written

    def leaks(self) -> list[str]:
        """Hidden test cases or answer lines of the master found in the student's files."""
        problems = []
        student_text = "\n".join(p.read_text(errors="replace") for p in sorted(self.student_dir.rglob("*"))
                                 if p.is_file())
        for test in self.build.tests:
            for suite in test["suites"]:
                for case in suite["cases"]:
                    if case.get("hidden", True):
                        for line in (line.strip() for line in case["code"].splitlines()):
                            if line.startswith(">>>") and len(line) > 12 and line in student_text:
                                problems.append(f"{self.student_dir.name}: contains the hidden test line {line!r}")
        for cell in nbformat.read(self.solution_path, as_version=4).cells:
            if cell.cell_type == "code":
                for line in cell.source.splitlines():
                    answer = re.match(r"^\s*(.+?)\s*# SOLUTION\s*$", line)
                    if answer and len(answer.group(1)) >= 10 and answer.group(1) in student_text:
                        problems.append(f"{self.student_dir.name}: contains the answer line {answer.group(1)!r}")
        from .leaks import answers_written, otter_answers, written_in_folder

        return problems + answers_written(otter_answers(self.build.tests), written_in_folder(self.student_dir))


def load_modules(names: list[str], values: dict[str, Any]) -> dict[str, Any]:
    """The test's namespace: the notebook's values, and the modules it refers to by the notebook's names, looked up
    in ``MODULES`` by their exact name (a ``SpecError`` names one that is not there: the check's reason)."""
    namespace = {}
    for name in names:
        value = values.get(name)
        if isinstance(value, dict) and set(value) == {"__module__"}:
            namespace[name] = known_module(value["__module__"])
        else:
            namespace[name] = value
    return namespace


def known_module(module: Any) -> Any:
    """The module the kernel's ``module.__name__`` is, as the grader reaches it through ``MODULES``, the one table
    of names it chose; the name itself is never imported."""
    import importlib

    where = MODULES.get(module) if isinstance(module, str) else None
    if where is None:
        shown = repr(module)[:80] if isinstance(module, str) else f"a {type(module).__name__}"
        raise SpecError(f"the tests use the module {shown}, which the grader does not load (it loads NumPy, math,"
                        " pandas, Keras, TensorFlow and a few more, by their exact names)")
    package, attributes = where
    try:
        found = importlib.import_module(package)  # one of the grader's own names above
        for attribute in filter(None, attributes.split(".")):
            found = getattr(found, attribute)
    except (ImportError, AttributeError) as exc:  # a version of the library without it
        raise SpecError(f"the tests use the module {module!r}, which this grader's {package} lacks ({exc})") from None
    return found


def run_cases(question: str, cases: list[dict], namespace: dict[str, Any]) -> list[tuple[bool, str]]:
    """Run otter test cases with otter's own runner on ``namespace``: (passed, otter's output) for each."""
    from otter.test_files import OKTestFile

    spec = {"name": question, "points": None, "suites": [{"cases": cases, "scored": True, "setup": "",
                                                           "teardown": "", "type": "doctest"}]}
    test_file = OKTestFile.from_spec(spec, path=f"{question}.py")
    test_file.run(dict(namespace))
    return [(result.passed, result.message or "") for result in test_file.test_case_results]


def short_error(output: str) -> str:
    """One line from a doctest transcript: the exception, or what was expected and what came."""
    lines = [line.strip() for line in output.splitlines()]
    if "Exception raised:" in lines:
        tail = [line for line in lines[lines.index("Exception raised:") + 1:]
                if line and not line.startswith(("Traceback", "File ", "^", "~"))]
        last = tail[-1] if tail else "an exception"
        return f"the test failed ({last})" if last == "AssertionError" else last
    if "Expected:" in lines and "Got:" in lines:
        i, j = lines.index("Expected:"), lines.index("Got:")
        got = lines[j + 1] if j + 1 < len(lines) else ""
        return f"expected {' '.join(lines[i + 1:j])}, got {got}"
    last = next((line for line in reversed(lines) if line), "")
    return f"the test failed ({last})" if last in ("AssertionError", "") or last.endswith("Error") else last


def json_loads_tagged(text: str) -> Any:
    """JSON written by ``grader.inkernel.save_any``: tuples, sets and dicts with other keys restored.

    Total on anything the sandbox wrote: deep nesting, huge integers, NaN (``save_any`` writes none), an unknown or
    malformed tag, a set or a key that cannot be hashed are each a ``ValueError`` that says what is wrong."""
    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
            raise ValueError(f"it holds an integer of {len(digits):,} digits (at most {MAX_INTEGER_DIGITS})")
        return int(digits)

    def no_constant(name: str) -> Any:
        raise ValueError(f"it holds {name}, which the grader's export never writes")

    try:
        data = json.loads(text, parse_int=parse_int, parse_constant=no_constant)
    except RecursionError:
        raise ValueError(f"its lists and objects are nested more than {MAX_TAGGED_DEPTH} levels deep") from None
    return _restore(data, 0)


TAGS = ("__tuple__", "__set__", "__pairs__", "__module__")


def _restore(value: Any, depth: int) -> Any:
    if depth > MAX_TAGGED_DEPTH:
        raise ValueError(f"its lists and objects are nested more than {MAX_TAGGED_DEPTH} levels deep")
    if isinstance(value, list):
        return [_restore(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    tags = [key for key in TAGS if key in value]
    if not tags:
        return {k: _restore(v, depth + 1) for k, v in value.items()}
    if len(value) != 1:
        raise ValueError(f"an object with {tags[0]!r} and other keys, which the grader's export never writes")
    tag, inner = tags[0], value[tags[0]]
    if tag == "__module__":
        if not isinstance(inner, str) or len(inner) > 200:
            raise ValueError("a module whose name is not a short text")
        return value
    if not isinstance(inner, list):
        raise ValueError(f"a {tag!r} that is not a list")
    items = [_restore(v, depth + 1) for v in inner]
    try:
        if tag == "__tuple__":
            return tuple(items)
        if tag == "__set__":
            return set(items)
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in items):
            raise ValueError("a '__pairs__' whose items are not [key, value] pairs")
        return {key: item for key, item in items}
    except TypeError:  # an unhashable item of a set, or key of a dict
        raise ValueError(f"a {tag!r} with an item that cannot be a set's item or a dict's key (a list or a dict)"
                         ) from None
