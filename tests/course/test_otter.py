"""What an otter export may name: modules by the exact names the grader lists (never imported by the sandbox's
string), and tagged JSON read totally (any text gives a value or a ValueError that says what is wrong)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader.checks.otter_cases import otter_case
from grader.course.otter import MODULES, json_loads_tagged, load_modules
from grader.inside.inkernel import _tagged

ATTACKS = ["numpy.f2py.__main__", "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.", "numpy.linalg.x",
           "os", "subprocess", "importlib", "builtins", "grader", "numpy; import os", "numpy\x00", " numpy",
           "NUMPY", "numpy.linalg ", "pandas.io", "keras.src.saving", "tensorflow.python", "x" * 10_000]


def test_a_module_the_sandbox_names_is_never_imported():
    """otter's export says {"__module__": name}: the f2py attack (a name that begins with "numpy.") and others must
    not reach an import; run in a fresh interpreter to see what it imported."""
    script = f"""
import importlib, json, sys
from grader.errors import SpecError
from grader.course.otter import MODULES, load_modules
asked = []
real = importlib.import_module
importlib.import_module = lambda name, *a, **k: asked.append(name) or real(name, *a, **k)
reasons = []
for name in {ATTACKS!r} + [5, ["numpy"], None, {{"a": 1}}]:
    try:
        load_modules(["np"], {{"np": {{"__module__": name}}}})
    except SpecError as exc:
        reasons.append(str(exc))
print(json.dumps({{"reasons": reasons, "asked": asked, "loaded": [m for m in sys.modules if "f2py" in m
                                                                  or m.startswith("numpy.distutils")]}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["loaded"] == [] and seen["asked"] == []
    assert len(seen["reasons"]) == len(ATTACKS) + 4
    assert seen["reasons"][0].startswith("the tests use the module 'numpy.f2py.__main__', which the grader does not"
                                         " load")
    assert all("which the grader does not load" in reason and len(reason) < 300 for reason in seen["reasons"])
    assert "the tests use the module a int" in seen["reasons"][len(ATTACKS)]


def test_the_check_says_why_and_fails():
    outcome = otter_case(None, {"question": "q1", "uses": ["np"], "case": {"code": ">>> np.pi > 3\nTrue"}},
                         namespace={"np": {"__module__": "numpy.f2py.__main__"}})
    assert not outcome.passed
    assert outcome.message.startswith("the tests use the module 'numpy.f2py.__main__', which the grader does not load")


@pytest.mark.parametrize("name, expected", [("numpy", np), ("numpy.linalg", np.linalg), ("numpy.random", np.random),
                                            ("math", math), ("json", json)])
def test_exact_names_are_the_grader_s_own_modules(name, expected):
    assert load_modules(["m", "v"], {"m": {"__module__": name}, "v": 3}) == {"m": expected, "v": 3}


def test_every_name_in_the_table_is_a_module_the_grader_reaches():
    """In a fresh interpreter (it imports TensorFlow): each entry resolves to a module whose name is the entry's, or
    (the lazily loaded ``tf.keras``) the module it stands for."""
    script = """
import json, types
from grader.course.otter import MODULES, known_module
found = {name: getattr(known_module(name), "__name__", None) for name in MODULES}
print(json.dumps(found))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.splitlines()[-1])
    aliases = {"tensorflow.keras": "keras._tf_keras.keras", "keras._tf_keras.keras.models": "keras.models"}
    assert {name: aliases.get(name, name) for name in MODULES} == found


VALUES = [1, -2**62, 1.5, "x", None, True, (1, 2), (), {1, 2}, frozenset({"a"}), [1, (2, 3)], {"a": (1, {2})},
          {(1, 2): "pair", 3: [4]}, {"__set__": 1}, {"__module__": "x"}, {"__tuple__": [1], "y": 2}, [[[[1]]]],
          {"a": {"b": {"c": (1, 2)}}}]


@pytest.mark.parametrize("value", VALUES)
def test_what_the_kernel_saves_reads_back(value):
    text = json.dumps({"value": _tagged(value)}, allow_nan=False)
    restored = json_loads_tagged(text)["value"]
    assert restored == (set(value) if isinstance(value, frozenset) else value)


@pytest.mark.parametrize("text, reason", [
    ('{"value": {"__set__": [[1, 2]]}}', "a '__set__' with an item that cannot be a set's item or a dict's key"),
    ('{"value": {"__set__": [{"a": 1}]}}', "cannot be a set's item"),
    ('{"value": {"__pairs__": [[[1], 2]]}}', "a '__pairs__' with an item that cannot be"),
    ('{"value": {"__pairs__": [[{"__set__": [1]}, 2]]}}', "a '__pairs__' with an item that cannot be"),
    ('{"value": {"__pairs__": [[1]]}}', "a '__pairs__' whose items are not [key, value] pairs"),
    ('{"value": {"__pairs__": [5]}}', "whose items are not [key, value] pairs"),
    ('{"value": {"__pairs__": {"a": 1}}}', "a '__pairs__' that is not a list"),
    ('{"value": {"__tuple__": 5}}', "a '__tuple__' that is not a list"),
    ('{"value": {"__set__": "abc"}}', "a '__set__' that is not a list"),
    ('{"value": {"__set__": [1], "other": 2}}', "an object with '__set__' and other keys"),
    ('{"value": {"__tuple__": [], "__set__": []}}', "an object with '__tuple__' and other keys"),
    ('{"value": {"__module__": ["numpy"]}}', "a module whose name is not a short text"),
    ('{"value": [NaN]}', "it holds NaN, which the grader's export never writes"),
    ('{"value": -Infinity}', "it holds -Infinity"),
    ('{"value": ' + "9" * 5000 + "}", "it holds an integer of 5,000 digits (at most 100)"),
    ('{"value": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than 100 levels deep"),
    ('{"value": ' + '{"__tuple__": [' * 500 + "]}" * 500 + "}", "nested more than 100 levels deep"),
    ('{"value": ' + '{"a": ' * 150 + "1" + "}" * 150 + "}", "nested more than 100 levels deep"),
    ('{"value": 1', "Expecting"),
])
def test_a_forged_export_is_a_reason_never_a_crash(text, reason):
    with pytest.raises(ValueError) as raised:
        json_loads_tagged(text)
    assert reason in str(raised.value)


def test_modules_table_holds_exact_names_only():
    assert all(name == name.strip() and not name.endswith(".") for name in MODULES)
    assert "numpy.f2py" not in MODULES and "os" not in MODULES


# Otter's usual test styles: a test function of the notebook's names called with the same names; tests that call
# the student's function, planned on the host (grader/course/otter_calls.py) and answered by a stand-in.

def test_a_test_function_s_parameters_are_its_own_and_its_call_reads_the_notebook():
    from grader.course.otter import free_names

    code = (">>> def test_q1_shapes(training_images, test_images):\n"
            "...     assert training_images.shape == np.shape(test_images)\n"
            ">>> test_q1_shapes(training_images, test_images)\n")
    assert free_names(code) == ["training_images", "np", "test_images"]
    assert free_names(">>> x = [v * 2 for v in values]\n>>> assert len(x) == n\n") == ["values", "n"]


def test_calls_are_planned_as_data_or_the_notebook_s_variables():
    from grader.course.otter_calls import Opaque, plan_doctest, plan_namespace

    namespace, recorders = plan_namespace(["pool", "images", "np"], ["pool"], {"np": np})
    plan_doctest(">>> assert pool(np.ones((2, 2))).shape == (1, 1)\n>>> pool(images[1].T, size=2)\n"
                 ">>> pool(pool(images))\n>>> pool(images * 2)\n", namespace)
    calls = recorders["pool"].calls
    assert len(calls) == 3 and calls[1] == {"args": [{"__ref__": "images", "path": [["item", 1], ["attr", "T"]]}],
                                            "kwargs": {"size": 2}}
    assert calls[2] == {"args": [{"__ref__": "images", "path": []}], "kwargs": {}}  # the inner call of pool(pool(..))
    assert len(recorders["pool"].unplanned) == 2 and isinstance(Opaque() + 1, Opaque)


def test_the_kernel_s_arguments_and_the_host_s_have_one_id():
    """What the kernel makes of a planned call (decoding it) has the id the host computes on the same values."""
    from grader.course.otter_calls import encode
    from grader.inside.inkernel import _decode_call_value, call_id

    images = np.arange(32, dtype=np.float64).reshape(2, 4, 4)
    call = {"args": encode([np.ones((2, 2)), (1, "a"), {"k": [1.5, None]}]), "kwargs": encode({"n": np.int64(3)})}
    args, kwargs = _decode_call_value({}, call["args"]), _decode_call_value({}, call["kwargs"])
    assert call_id(args, kwargs) == call_id([np.ones((2, 2)), (1, "a"), {"k": [1.5, None]}], {"n": 3})
    ref = {"__ref__": "images", "path": [["item", 1], ["attr", "reshape"], ["call", [[{"__tuple__": [16]}], {}]]]}
    assert np.array_equal(_decode_call_value({"images": images}, ref), images[1].reshape(16))


def test_the_stand_in_answers_from_the_kernel_and_says_what_it_could_not_call():
    from grader.checks.base import Missing
    from grader.course.otter_calls import NotCalled, ProbedCalls, StandIn, StudentFunctionError
    from grader.inside.inkernel import call_id

    image = np.ones((2, 2))
    pool = StandIn(ProbedCalls("pool", {call_id([image], {}): np.array([[1.0]]),
                                        call_id([image * 2], {}): Missing("pool raised ValueError: no")}))
    assert pool(np.ones((2, 2))).tolist() == [[1.0]]
    with pytest.raises(StudentFunctionError, match="pool raised ValueError: no"):
        pool(image * 2)
    with pytest.raises(NotCalled, match="the grader could not call pool on these arguments"):
        pool(image * 3)


def test_a_forged_calls_report_is_read_under_the_host_s_names_only(tmp_path):
    """Answers are keyed by a 64-digit hex id; anything else in the kernel's report is left out, and a value the
    grader's JSON reader refuses is a reason."""
    from grader.course.otter_calls import ProbedCalls
    from grader.grading.evidence import ExportFolder
    from grader.grading.probes import load_probe
    from grader.spec import CheckSpec, TaskSpec

    call = {"args": [1], "kwargs": {}}
    task = TaskSpec("q", "q", {"f": "function"}, (CheckSpec("otter_case", "f", 1, params={"calls": {"f": [call]}}),))
    from grader.grading.probes import probe_case_ids

    (case,) = probe_case_ids(task, "f")
    folder = tmp_path / "exports" / "q" / "probes" / "f"
    folder.mkdir(parents=True)
    good = "a" * 64
    (folder / "report.json").write_text(json.dumps({"cases": {case: {"status": "ok", "saved": "json", "args_id": good,
                                                                     "value": {"__tuple__": [1, 2]}},
                                                              "other": {"status": "ok", "args_id": "b" * 64}}}))
    probed = load_probe(ExportFolder(tmp_path, {}), task, "f", "function", {})
    assert probed == ProbedCalls("f", {good: (1, 2)})
    (folder / "report.json").write_text(json.dumps({"cases": {case: {"status": "ok", "saved": "json",
                                                                     "args_id": "../x", "value": 1}}}))
    assert load_probe(ExportFolder(tmp_path, {}), task, "f", "function", {}).answers == {}


def test_a_hidden_test_s_failing_line_is_never_shown_a_public_one_s_is():
    from grader.checks.otter_cases import otter_case

    source = ("from otter.test_files import test_case\nOK_FORMAT = False\nname = 'q1'\npoints = 2\n\n"
              "@test_case(points=1, hidden=False)\ndef test_q1_value(x):\n    assert x == 26\n")
    base = {"question": "q1", "format": "exception", "source": source, "function": "test_q1_value", "uses": ["x"]}
    public = otter_case(None, {**base, "hidden": False}, namespace={"x": 25})
    hidden = otter_case(None, {**base, "hidden": True}, namespace={"x": 25})
    assert public.message == "the test failed (AssertionError) at: assert x == 26"
    assert hidden.message == "the test failed (AssertionError)" and "26" not in hidden.message
    assert otter_case(None, {**base, "hidden": False}, namespace={"x": 26}).passed


def test_the_kernel_s_calls_come_back_as_the_stand_in_s_answers(tmp_path):
    """The kernel's side (``probe_calls``, as the runner runs it after the last cell) and the host's (the report
    read back, the stand-in answering): arrays, data, a tuple with arrays, a raise and arguments it could not make."""
    from grader.course.otter_calls import NotCalled, StandIn, StudentFunctionError, encode
    from grader.grading.evidence import ExportFolder
    from grader.grading.probes import job_probes, load_probe
    from grader.inside.inkernel import probe_calls
    from grader.spec import AssignmentSpec, CheckSpec, TaskSpec

    images = np.arange(32.0).reshape(2, 4, 4)
    calls = [{"args": encode([np.ones((2, 2))]), "kwargs": {}}, {"args": encode(["text"]), "kwargs": {}},
             {"args": [{"__ref__": "images", "path": [["item", 1]]}], "kwargs": encode({"split": True})},
             {"args": encode([None]), "kwargs": {}}, {"args": [{"__ref__": "missing", "path": []}], "kwargs": {}}]
    task = TaskSpec("q", "q", {"f": "function"}, (CheckSpec("otter_case", "f", 1, params={"calls": {"f": calls}}),))
    (probe,) = job_probes(AssignmentSpec("a", "a", (task,)))
    assert probe["kind"] == "calls" and len(probe["cases"]) == 5

    def f(x, split=False):
        if x is None:
            raise ValueError("no image")
        if isinstance(x, str):
            return {"length": len(x)}
        return (x.mean(axis=0), x.shape) if split else x * 2

    folder = tmp_path / "exports" / "q" / "probes" / "f"
    folder.mkdir(parents=True)
    probe_calls({"f": f, "images": images}, {"name": "f", "cases": probe["cases"], "folder": str(folder)})
    stand_in = StandIn(load_probe(ExportFolder(tmp_path, {}), task, "f", "function", {}))
    assert stand_in(np.ones((2, 2))).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert stand_in("text") == {"length": 4}
    mean, shape = stand_in(images[1], split=True)
    assert np.array_equal(mean, images[1].mean(axis=0)) and shape == (4, 4)
    with pytest.raises(StudentFunctionError, match="f raised ValueError: no image"):
        stand_in(None)
    with pytest.raises(NotCalled):
        stand_in(images[0])


OTTER_INIT = '# Initialize Otter\nimport otter\ngrader = otter.Notebook("conv_arithmetic.ipynb")'


def test_otter_s_own_cells_are_left_out_comments_and_all():
    """otter assign's init cell begins with a comment: it was kept, and every submission's kernel imported otter
    (0.6 core-seconds) and ran its init. Its checks and its export, with their comments, are left out too."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from grader.course.otter import without_otter_cells

    cells = [new_code_cell(OTTER_INIT), new_markdown_cell("grader.check('q1')"), new_code_cell("import numpy as np"),
             new_code_cell('grader.check("q1")'),
             new_code_cell("# Save your notebook first, then run this cell to export your submission.\n"
                           "grader.export(run_tests=True)"),
             new_code_cell("grader.check_all()")]
    kept = without_otter_cells(new_notebook(cells=cells)).cells
    assert [(c.cell_type, c.source) for c in kept] == [("markdown", "grader.check('q1')"),
                                                       ("code", "import numpy as np")]


@pytest.mark.parametrize("source, expected", [
    ('x = 5\ngrader.check("q1")\ny = x + 1', {"x": 5, "y": 6}),
    ('x = 5\nif x:\n    grader.check("q1")  # ours\ny = 2', {"x": 5, "y": 2}),
    ('grader.check(\n    "q1"\n)\ny = 3\nraise ValueError(y)', ValueError),
    ('import numpy as np\nimport otter\nz = int(np.int64(4))', {"z": 4}),
])
def test_a_student_s_code_beside_otter_s_runs_as_written_on_the_same_lines(source, expected):
    """In a cell that also holds the student's code, each otter statement becomes ``pass``: the rest runs without
    otter (no NameError on ``grader``), and an error's line number is the one the student sees."""
    from grader.course.otter import without_otter_statements

    changed = without_otter_statements(source)
    assert changed is not None and "grader" not in changed and "otter" not in changed
    assert len(changed.splitlines()) == len(source.splitlines())
    namespace: dict = {}
    if expected is ValueError:
        with pytest.raises(ValueError) as raised:
            exec(compile(changed, "cell", "exec"), namespace)
        assert raised.traceback[-1].lineno + 1 == 5
        return
    exec(compile(changed, "cell", "exec"), namespace)
    assert {k: namespace[k] for k in expected} == expected


@pytest.mark.parametrize("source, expected", [
    ("import numpy as np\nx = np.zeros(3)", "same"),
    ("x = 1; grader.check('q1')", "same"),  # not on lines of its own: left as it is
    ("grader = {'a': 1}\nvalue = grader['a']", "same"),
    ('%matplotlib inline\ngrader.check("q1")\n', '%matplotlib inline\npass\n'),
    ('%%capture\n# quiet\ngrader.export()', '%%capture\n# quiet\npass'),
    ('# only a comment\n\ngrader.check("q2")  # run me', None),
])
def test_otter_statements_out_and_everything_else_as_it_is(source, expected):
    from grader.course.otter import without_otter_statements

    assert without_otter_statements(source) == (source if expected == "same" else expected)


def test_the_course_s_otter_example_runs_no_otter_in_its_kernel():
    import nbformat

    from grader.course.assignment import load_assignment

    course = load_assignment("conv_arithmetic")
    example = Path(__file__).resolve().parents[2] / "examples" / "conv_arithmetic" / "conv_arithmetic_complete.ipynb"
    nb = course.clean_submission(nbformat.read(example, as_version=4))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "otter" not in code and "grader." not in code and "np.array" in code
