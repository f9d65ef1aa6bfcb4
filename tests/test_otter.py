"""What an otter export may name: modules by the exact names the grader lists (never imported by the sandbox's
string), and tagged JSON read totally (any text gives a value or a ValueError that says what is wrong)."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from grader.checks.otter_cases import otter_case
from grader.errors import SpecError
from grader.inkernel import _tagged
from grader.otter import MODULES, json_loads_tagged, load_modules

ATTACKS = ["numpy.f2py.__main__", "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.", "numpy.linalg.x",
           "os", "subprocess", "importlib", "builtins", "grader", "numpy; import os", "numpy\x00", " numpy",
           "NUMPY", "numpy.linalg ", "pandas.io", "keras.src.saving", "tensorflow.python", "x" * 10_000]


def test_a_module_the_sandbox_names_is_never_imported():
    """otter's export says {"__module__": name}: the f2py attack (a name that begins with "numpy.") and others must
    not reach an import; run in a fresh interpreter to see what it imported."""
    script = f"""
import importlib, json, sys
from grader.errors import SpecError
from grader.otter import MODULES, load_modules
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
from grader.otter import MODULES, known_module
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
