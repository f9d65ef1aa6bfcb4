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

Both of otter's test formats are read: OK format (doctests, the default) and the exception-based one
(``tests: ok_format: false``: decorated test functions, given the notebook's variables named by their
parameters, as otter gives them).  A test written as a function with parameters and called with the same names
(``def test_q1_shapes(training_images, test_images): ...`` then ``test_q1_shapes(training_images, test_images)``)
reads the variables of the call, not its parameters.  A test that calls a function of the student's notebook runs
on the host too, with a stand-in for the function that answers from the calls the kernel made after the notebook's
last cell (``grader.course.otter_calls``).  Each check is named after its test function; a public test's failure shows
its failing line, as otter does; a hidden one's only what failed.
"""
from __future__ import annotations

import ast
import builtins
import doctest
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import symtable
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import nbformat

from grader.errors import SpecError
from grader.spec import AssignmentSpec, CheckSpec, Limits, TaskSpec

TESTS_MARK = re.compile(r"^\s*#\s*BEGIN\s+TESTS\s*$", re.M)
CONFIG_MARK = re.compile(r"^\s*#\s*ASSIGNMENT\s+CONFIG\s*$", re.M)
OTTER_LINE = re.compile(r"^([ \t]*)(?:import otter|grader\s*=\s*otter\.Notebook\(.*\)|"
                        r"grader\.(?:check|check_all|export)\(.*\))[ \t]*(?:#.*)?$", re.M)
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
    """The names a test reads that it does not bind itself: the notebook's variables (and modules) it needs.  Scopes
    count: a test function's parameters are its own, and the call after it (``test_q1(training_images)``) reads the
    notebook's ``training_images``."""
    source = "\n".join(example.source for example in doctest.DocTestParser().get_examples(test_code))
    return _unbound(source)


def _unbound(source: str) -> list[str]:
    """The global names ``source`` reads, in every scope, that its module level does not bind, in order."""
    try:
        table = symtable.symtable(source, "<test>", "exec")
        tree = ast.parse(source)
    except SyntaxError:
        return []
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    wanted: set[str] = set()

    def visit(scope: symtable.SymbolTable) -> None:
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (scope.get_type() == "module" or symbol.is_global()) \
                    and symbol.get_name() not in bound:
                wanted.add(symbol.get_name())
        for child in scope.get_children():
            visit(child)

    visit(table)
    loaded = [node.id for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Name)
                                          and isinstance(n.ctx, ast.Load)), key=lambda n: (n.lineno, n.col_offset))]
    return list(dict.fromkeys(n for n in loaded if n in wanted and n not in BUILTINS))


def test_function_name(code: str) -> str:
    """The name of the test function a case defines (``def test_q1_shapes(...)``), or ""."""
    found = re.search(r"^\s*(?:>>>|\.\.\.)?\s*def\s+(\w+)\s*\(", code, re.M)
    return found.group(1) if found else ""


@dataclass(frozen=True)
class OtterBuild:
    """What ``otter assign`` made of a master notebook."""

    autograder_notebook: Path
    student_dir: Path
    tests: tuple[dict, ...]  # the autograder's tests, every case, hidden ones included: OK-format specs, and the
    # exception-based files as the same form ("format": "exception", their "source", each case's function as code)


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
    """A test file of either format as one form: OK format's spec; an exception-based file's cases in that spec's
    shape (each case's ``code`` its function's source as doctest lines, for the leak checks), with its source."""
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - the instructor's own test file, as otter reads it
    if namespace.get("OK_FORMAT"):
        return {**namespace["test"], "format": "ok"}
    from otter.test_files import ExceptionTestFile

    name = str(namespace.get("name") or "")
    test_file = ExceptionTestFile.from_string(source, path=f"tests/{name}.py")
    cases = []
    for case in test_file.test_cases:
        function = case.body.test_func
        code = _function_source(source, function.__name__)
        cases.append({"code": "\n".join((">>> " if n == 0 else "... ") + line
                                        for n, line in enumerate(code.splitlines())),
                      "hidden": bool(case.hidden), "points": case.points, "function": function.__name__})
    return {"name": name, "points": namespace.get("points"), "format": "exception", "source": source,
            "all_or_nothing": bool(namespace.get("all_or_nothing")), "suites": [{"cases": cases}]}


def _function_source(source: str, name: str) -> str:
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(source, node) or ""
    return ""


def exception_file(source: str, question: str) -> Any:
    from otter.test_files import ExceptionTestFile

    return ExceptionTestFile.from_string(source, path=f"tests/{question}.py")


def _question_order(master: Path) -> list[str]:
    names = []
    for cell in nbformat.read(master, as_version=4).cells:
        text = _cell_text(cell)
        if re.match(r"^\s*#\s*BEGIN\s+QUESTION", text):
            found = re.search(r"^\s*name:\s*(\S+)", text, re.M)
            if found:
                names.append(found.group(1).strip("'\""))
    return names


def spec_from_tests(name: str, tests: tuple[dict, ...], order: list[str], limits: Limits,
                    modules: dict[str, str] | None = None) -> AssignmentSpec:
    """One task per question, one check per test case, with otter's points and hidden flags; ``modules``: the names
    the master notebook gives modules (``np``: numpy), for planning the calls of the notebook's functions."""
    by_name = {spec["name"]: spec for spec in tests}
    tasks = []
    for question in [q for q in order if q in by_name] + sorted(set(by_name) - set(order)):
        test = by_name[question]
        cases = _cases(test, question)
        names = list(dict.fromkeys(n for case in cases for n in case["uses"]))
        functions = {n for case in cases for n in case["functions"]}
        exports = {n: "function" if n in functions else "any" for n in names} or {"_": "any"}
        checks = []
        for number, case in enumerate(cases, start=1):
            calls = plan_calls(case, modules or {})
            label = case["function"] or f"test {number}"
            checks.append(CheckSpec(kind="otter_case", evidence=(case["uses"] or names or ["_"])[0],
                                    points=float(case["points"]), public=not case["hidden"],
                                    title=f"{question} {label}" + (" (hidden)" if case["hidden"] else ""),
                                    params={"question": question, "format": test["format"], **case["run"],
                                            "uses": case["uses"], "calls": calls, "hidden": bool(case["hidden"]),
                                            "failure_message": case["failure_message"],
                                            "success_message": case["success_message"]}))
        if test.get("all_or_nothing") or (test["format"] == "ok" and _ok_file(test).all_or_nothing):
            every = [dict(c.params) for c in checks]
            checks = [CheckSpec(kind="otter_case", evidence=checks[0].evidence, points=sum(c.points for c in checks),
                                public=False, title=f"{question}: every test", params={
                                    "question": question, "format": test["format"], "every": every,
                                    "uses": names, "calls": _merged_calls(every), "failure_message": "",
                                    "success_message": ""})]
        tasks.append(TaskSpec(name=question, title=f"Question {question}", exports=exports, checks=tuple(checks)))
    return AssignmentSpec(name=name, title=name, tasks=tuple(tasks), limits=limits)


def _ok_file(test: dict) -> Any:
    from otter.test_files import OKTestFile

    spec = {k: v for k, v in test.items() if k != "format"}
    return OKTestFile.from_spec(spec, path=f"tests/{test['name']}.py")


def _cases(test: dict, question: str) -> list[dict]:
    """Each case of a test file: how it runs (``run``), the notebook names it reads and the functions it calls,
    its points, whether it is hidden, its messages and its test function's name."""
    from grader.course.otter_calls import called_names, doctest_source

    found = []
    if test["format"] == "ok":
        raw_cases = [c for suite in test["suites"] for c in suite["cases"]]
        for case, raw in zip(_ok_file(test).test_cases, raw_cases):
            uses = free_names(case.body)
            functions = sorted(called_names(doctest_source(case.body)) & set(uses))
            found.append({"run": {"case": raw}, "uses": uses, "functions": functions, "points": case.points,
                          "hidden": case.hidden, "function": test_function_name(case.body),
                          "failure_message": case.failure_message or "", "success_message": case.success_message or ""})
        return found
    for case in exception_file(test["source"], question).test_cases:
        function = case.body.test_func
        parameters = [p for p in inspect.signature(function).parameters if p != "env"]
        body = _function_source(test["source"], function.__name__)
        functions = sorted(called_names(body) & set(parameters))
        found.append({"run": {"source": test["source"], "function": function.__name__}, "uses": parameters,
                      "functions": functions, "points": case.points, "hidden": case.hidden,
                      "function": function.__name__, "failure_message": case.failure_message or "",
                      "success_message": case.success_message or ""})
    return found


def plan_calls(case: dict, modules: dict[str, str]) -> dict[str, list[dict]]:
    """The calls a case makes of the notebook's functions, planned on the host before the run
    (``grader.course.otter_calls``): {function: [call, ...]}."""
    if not case["functions"]:
        return {}
    from grader.course.otter_calls import calls_of, plan_doctest, plan_function, plan_namespace

    reachable = {}
    for name, module in modules.items():
        try:
            reachable[name] = known_module(module)
        except SpecError:
            continue
    namespace, recorders = plan_namespace(case["uses"], case["functions"], reachable)
    if "case" in case["run"]:
        plan_doctest(str(case["run"]["case"]["code"]), namespace)
    else:
        test = next(c for c in exception_file(case["run"]["source"], "plan").test_cases
                    if c.body.test_func.__name__ == case["run"]["function"])
        plan_function(test.body.call_func, namespace)
    return {name: calls for name, calls in calls_of(recorders).items() if calls}


def _merged_calls(params: list[dict]) -> dict[str, list[dict]]:
    merged: dict[str, list[dict]] = {}
    for one in params:
        for name, calls in one.get("calls", {}).items():
            merged.setdefault(name, []).extend(c for c in calls if c not in merged[name])
    return merged


def master_modules(master: Path) -> dict[str, str]:
    """The names the master notebook's code gives the modules the grader knows."""
    from grader.course.otter_calls import module_names

    code = [c.source for c in nbformat.read(master, as_version=4).cells if c.cell_type == "code"]
    return module_names(code, MODULES)


def without_otter_cells(nb: Any) -> Any:
    """The notebook without otter's own code (its init, checks and export), which would run tests in the kernel and
    import otter there (0.6 core-seconds of each submission's kernel): a cell of nothing else (its comments and blank
    lines count for nothing: otter's init cell begins ``# Initialize Otter``) is left out; in a cell that also holds
    the student's code, each of otter's statements becomes ``pass`` on its own lines, so the rest runs as written and
    its line numbers stay (``without_otter_statements``)."""
    kept = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            source = without_otter_statements(cell.source)
            if source is None:
                continue
            cell.source = source
        kept.append(cell)
    nb.cells = kept
    return nb


def without_otter_statements(source: str) -> str | None:
    """``source`` with otter's statements made ``pass``; None where it holds nothing else. Code Python cannot parse
    (an IPython magic, a syntax error) is kept as it is unless each of its lines is otter's, a comment or blank."""
    lines = source.splitlines(keepends=True)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _without_otter_lines(lines)
    statements = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    otter = [node for node in statements if _is_otter_statement(node) and _on_lines_of_its_own(node, lines)]
    if not otter:
        return source
    if all(node in otter for node in tree.body):
        return None
    for node in otter:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        ending = "\n" if lines[last].endswith("\n") else ""
        lines[first] = lines[first][:node.col_offset] + "pass" + ("\n" if last > first else ending)
        for index in range(first + 1, last + 1):
            lines[index] = "\n" if index < last or ending else ""
    return "".join(lines)


def _without_otter_lines(lines: list[str]) -> str | None:
    """Code Python cannot parse (an IPython magic, a syntax error): each line that is one whole otter statement
    becomes ``pass``; None where nothing else is left but comments and blank lines."""
    changed = [OTTER_LINE.sub(r"\1pass", line) for line in lines]
    if changed != lines and all(OTTER_LINE.match(line) or not line.strip() or line.lstrip().startswith("#")
                                for line in lines):
        return None
    return "".join(changed)


def _is_otter_statement(node: ast.stmt) -> bool:
    """``import otter``, ``grader = otter.Notebook(...)``, ``grader.check(...)``, ``.check_all()``, ``.export()``."""
    if isinstance(node, ast.Import):
        return all(alias.name == "otter" or alias.name.startswith("otter.") for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level == 0 and (node.module or "").split(".")[0] == "otter"
    call = node.value if isinstance(node, (ast.Assign, ast.Expr)) else None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return False
    owner = call.func.value
    if isinstance(node, ast.Assign):
        return (isinstance(owner, ast.Name) and owner.id == "otter" and call.func.attr == "Notebook"
                and all(isinstance(target, ast.Name) and target.id == "grader" for target in node.targets))
    return isinstance(owner, ast.Name) and owner.id == "grader" and call.func.attr in ("check", "check_all", "export")


def _on_lines_of_its_own(node: ast.stmt, lines: list[str]) -> bool:
    """Nothing but indentation before the statement, and nothing but a comment after it (not ``x = 1; import otter``),
    so that ``pass`` can take its lines."""
    last = (node.end_lineno or node.lineno) - 1
    after = lines[last][node.end_col_offset:].strip() if node.end_col_offset is not None else ""
    return not lines[node.lineno - 1][:node.col_offset].strip() and (not after or after.startswith("#"))


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
        return spec_from_tests(self.name, self.build.tests, _question_order(self.solution_path), Limits(),
                               master_modules(self.solution_path))

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
        from grader.course.leaks import answers_written, otter_answers, written_in_folder

        return problems + answers_written(otter_answers(self.build.tests), written_in_folder(self.student_dir))


def load_modules(names: list[str], values: dict[str, Any]) -> dict[str, Any]:
    """The test's namespace: the notebook's values, and the modules it refers to by the notebook's names, looked up
    in ``MODULES`` by their exact name (a ``SpecError`` names one that is not there: the check's reason)."""
    from grader.course.otter_calls import ProbedCalls, StandIn
    from grader.grading.probes import ProbedFunction

    namespace = {}
    for name in names:
        value = values.get(name)
        if isinstance(value, dict) and set(value) == {"__module__"}:
            namespace[name] = known_module(value["__module__"])
        elif isinstance(value, ProbedCalls):
            namespace[name] = StandIn(value)  # the student's function: answers from the calls the kernel made
        elif isinstance(value, ProbedFunction):  # no call of it could be planned
            namespace[name] = StandIn(ProbedCalls(name))
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


def run_exception_case(question: str, source: str, function: str, namespace: dict[str, Any]) -> tuple[bool, str]:
    """Run one test function of an exception-based test file with otter's runner, as otter gives it the notebook's
    variables (by its parameters' names): (passed, otter's message)."""
    test_file = exception_file(source, question)
    test_file.test_cases = [c for c in test_file.test_cases if c.body.test_func.__name__ == function]
    if not test_file.test_cases:
        raise SpecError(f"the tests of {question} have no test function {function}")
    test_file.run(dict(namespace))
    result = test_file.test_case_results[0]
    return result.passed, result.message or ""


RAISED_BY_GRADER = re.compile(r"^(?:[\w.]+\.)?(?:NotCalled|StudentFunctionError): ")


def failing_line(output: str, case_code: str = "") -> str:
    """The line of the test that failed, from otter's output: an exception-based test's ``Error at line N`` line,
    or the line of a doctest example (a test function's own line, from the traceback, where it is one)."""
    lines = output.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^\s*Error at line \d+ in test", line) and number + 1 < len(lines):
            return lines[number + 1].strip()
    if "Failed example:" in output:
        examples = doctest.DocTestParser().get_examples(case_code) if case_code else []
        where = re.findall(r'File "<doctest [^\[]*\[(\d+)\]>", line (\d+)', output)
        if where and examples:
            index, line_number = int(where[-1][0]), int(where[-1][1])
            if index < len(examples):
                source = examples[index].source.splitlines()
                if 0 < line_number <= len(source):
                    return source[line_number - 1].strip()
        start = lines.index("Failed example:") if "Failed example:" in lines else -1
        if start >= 0 and start + 1 < len(lines):
            return lines[start + 1].strip()
    return ""


def short_error(output: str) -> str:
    """One line from a doctest transcript: the exception, or what was expected and what came."""
    lines = [RAISED_BY_GRADER.sub("", line.strip()) for line in output.splitlines()]
    if "Exception raised:" in lines:
        tail = [line for line in lines[lines.index("Exception raised:") + 1:]
                if line and not line.startswith(("Traceback", "File ", "^", "~"))]
        last = tail[-1] if tail else "an exception"
        return f"the test failed ({last})" if last == "AssertionError" else last
    if "Expected:" in lines and "Got:" in lines:
        i, j = lines.index("Expected:"), lines.index("Got:")
        got = lines[j + 1] if j + 1 < len(lines) else ""
        return f"expected {' '.join(lines[i + 1:j])}, got {got}"
    last = next((line for line in reversed(lines) if line), "").removesuffix(":")
    return f"the test failed ({last})" if last in ("AssertionError", "") or last.endswith("Error") else last


def json_loads_tagged(text: str) -> Any:
    """JSON written by ``grader.inside.inkernel.save_any``: tuples, sets and dicts with other keys restored.

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
