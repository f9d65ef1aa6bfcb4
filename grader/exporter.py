"""The code that saves a task's variables as data, run inside the student's kernel.

It is sent as one expression that leaves no name behind in the student's
namespace and no entry in its history.  Its parameters travel as a JSON string
literal, never spliced into code.  What it writes is untrusted on the other side.
"""
from __future__ import annotations

import json

EXPORT_SOURCE = r'''
import json as _json, os as _os
import numpy as _numpy
_spec = _json.loads(spec_json)
_os.makedirs(_spec["folder"], exist_ok=True)
_report = {}
for _name, _kind in _spec["exports"].items():
    _path = _os.path.join(_spec["folder"], _name)
    if _name not in user_ns:
        _report[_name] = {"status": "undefined"}
        continue
    _value = user_ns[_name]
    if _value is Ellipsis:
        _report[_name] = {"status": "placeholder"}
        continue
    try:
        if _kind == "keras_model":
            import keras as _keras
            if not isinstance(_value, _keras.Model):
                raise TypeError("it is a %s, not a Keras model" % type(_value).__name__)
            _value.save(_path + ".keras")
        elif _kind == "array":
            _array = _numpy.asarray(_value)
            if _array.dtype == object:
                raise TypeError("it is a %s, not an array of numbers" % type(_value).__name__)
            _numpy.save(_path + ".npy", _array, allow_pickle=False)
        else:
            _text = _json.dumps({"value": _value}, allow_nan=False)
            with open(_path + ".json", "w") as _file:
                _file.write(_text)
        _report[_name] = {"status": "ok"}
    except Exception as _exc:
        _report[_name] = {"status": "error", "detail": ("%s: %s" % (type(_exc).__name__, _exc))[:300]}
with open(_spec["report"], "w") as _file:
    _json.dump(_report, _file)
'''


def export_code(task: str, exports: dict[str, str], folder: str, report: str) -> str:
    """One expression that exports ``exports`` of ``task`` from the kernel's namespace."""
    spec = json.dumps({"task": task, "exports": exports, "folder": folder, "report": report})
    return (f"(lambda _s, _j: exec(_s, {{'user_ns': get_ipython().user_ns, 'spec_json': _j}}))"
            f"({EXPORT_SOURCE!r}, {spec!r})")
