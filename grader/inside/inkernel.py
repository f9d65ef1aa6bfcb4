"""Code that runs inside the student's kernel, after a task's cells: it saves the task's variables as data.

The runner sends this module's source to the kernel as one hidden cell that executes it in a
fresh namespace (nothing is imported under the grader's name, no name is left in the student's
namespace, no history entry).  It only writes files; what it writes is untrusted on the other
side, where the grader reads it as data.  Keep it to the standard library, NumPy and Keras.

A Keras model is saved so that the grader can load it with ``safe_mode=True`` whatever the
correct way it was built:

* activation functions given as TensorFlow functions (``tf.nn.relu``, ``tf.nn.softmax``, as
  the course notes write them) are saved under their Keras names, which Keras itself cannot do
  for some of them (``tf.nn.softmax`` is saved as ``softmax_v2`` and cannot be loaded again);
  the student's model is left as it was;
* a subclassed model is saved as the functional network of its layers, when its ``call`` is
  made of Keras layers (traced on a symbolic input); otherwise the report says why not.
"""
from __future__ import annotations

import json
import os

# TensorFlow's functions and the Keras activation that computes the same thing.
TF_ACTIVATIONS = {
    "nn.relu": "relu", "nn.softmax": "softmax", "nn.sigmoid": "sigmoid", "math.sigmoid": "sigmoid",
    "sigmoid": "sigmoid", "nn.tanh": "tanh", "math.tanh": "tanh", "tanh": "tanh", "nn.elu": "elu",
    "nn.selu": "selu", "nn.softplus": "softplus", "math.softplus": "softplus", "nn.softsign": "softsign",
    "nn.silu": "silu", "nn.swish": "silu", "nn.gelu": "gelu", "nn.relu6": "relu6",
    "nn.leaky_relu": "leaky_relu", "nn.log_softmax": "log_softmax", "math.exp": "exponential",
    "exp": "exponential",
}


def _tf_equivalents():
    """{id(TensorFlow function): Keras activation} for the functions TensorFlow has (when it is imported)."""
    import sys

    tf = sys.modules.get("tensorflow")
    if tf is None:
        return {}
    import keras

    found = {}
    for dotted, name in TF_ACTIVATIONS.items():
        target = tf
        for part in dotted.split("."):
            target = getattr(target, part, None)
        if target is not None:
            found[id(target)] = keras.activations.get(name)
    return found


class KerasActivations:
    """Within ``with``: every layer's TensorFlow activation function replaced by the Keras one; restored after."""

    def __init__(self, model):
        self.model = model
        self.swapped = []

    def __enter__(self):
        equivalents = _tf_equivalents()
        for layer in self.model._flatten_layers(include_self=False, recursive=True):
            current = getattr(layer, "activation", None)
            if current is not None and id(current) in equivalents:
                self.swapped.append((layer, current))
                layer.activation = equivalents[id(current)]
        return self

    def __exit__(self, *exc_info):
        for layer, original in self.swapped:
            layer.activation = original


def _input_shape(model, hint):
    for getter in (lambda: model.input_shape, lambda: model._build_shapes_dict.get("input_shape"),
                   lambda: (None, *hint) if hint else None):
        try:
            shape = getter()
        except (AttributeError, ValueError, TypeError):
            continue
        if shape is not None and not isinstance(shape, list):
            return tuple(shape)
    return None


def network_of(model, input_hint=None):
    """A model whose configuration standard Keras can load: the model itself, or its traced network."""
    import keras

    if type(model).__name__ in ("Sequential", "Functional"):
        return model, None
    shape = _input_shape(model, input_hint)
    if shape is None:
        raise TypeError("it is a subclassed model that was never built or called, so its network is unknown")
    inputs = keras.Input(shape=shape[1:])
    try:
        outputs = model.call(inputs)
        traced = keras.Model(inputs, outputs)
    except Exception as exc:  # noqa: BLE001 - whatever the student's call() does symbolically
        raise TypeError("it is a subclassed model whose call() is not made of Keras layers only, so it cannot be"
                        " saved for grading (%s: %s); build it with keras.Sequential or the functional API"
                        % (type(exc).__name__, str(exc)[:200])) from None
    if getattr(model, "optimizer", None) is not None and getattr(model, "loss", None) is not None:
        traced.compile(optimizer=model.optimizer, loss=model.loss)
    return traced, "a subclassed model, saved as the network of its layers"


def save_model(model, path, input_hint=None):
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError("it is a %s, not a Keras model" % type(model).__name__)
    network, note = network_of(model, input_hint)
    with KerasActivations(network):
        network.save(path)
    return note


def as_array(value):
    """``value`` as the array of numbers the export saves (``numpy.asarray``: a list, a tensor); a ``TypeError``
    where it holds Python objects."""
    import numpy

    array = numpy.asarray(value)
    if array.dtype == object:
        raise TypeError("it is a %s, not an array of numbers" % type(value).__name__)
    return array


def save_array(value, path):
    import numpy

    numpy.save(path, as_array(value), allow_pickle=False)


def _plain_numbers(value):
    """A NumPy number or array as the Python number or list it holds (``np.prod((13, 13, 32))`` is 5408); a
    TensorFlow shape or tensor likewise (``conv(x).shape[1:3]`` is ``[30, 46]``)."""
    value = tensorflow_plain(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist") and getattr(value, "dtype", None) != object:  # noqa: E721 (NumPy's dtype equality)
        return value.tolist()
    if isinstance(value, list):
        return value
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


def tensorflow_plain(value):
    """A TensorFlow ``TensorShape`` as the list of its sizes (None where one is unknown), an eager tensor as the
    NumPy value it holds; anything else as it is. TensorFlow itself is never imported here."""
    kind = type(value)
    if not kind.__module__.startswith("tensorflow"):
        return value
    if kind.__name__ == "TensorShape" and hasattr(value, "as_list"):
        try:
            return value.as_list()
        except ValueError:  # a shape of unknown rank
            return value
    if hasattr(value, "numpy") and hasattr(value, "dtype"):
        try:
            return value.numpy()
        except Exception:  # noqa: BLE001 - a symbolic tensor, in a graph: no value
            return value
    return value


def save_value(value, path):
    text = json.dumps({"value": value}, allow_nan=False, default=_plain_numbers)
    with open(path, "w") as handle:
        handle.write(text)


def save_history(value, path):
    """A Keras ``History`` (what ``fit`` returns), or its ``.history`` dict: the metrics of each epoch, as JSON."""
    history = getattr(value, "history", value)
    if not isinstance(history, dict):
        raise TypeError("it is a %s, not what model.fit(...) returns" % type(value).__name__)
    metrics = {}
    for key, values in history.items():
        metrics[str(key)] = [float(v) for v in list(values)[:10_000]]
    epochs = [int(e) for e in getattr(value, "epoch", range(max((len(v) for v in metrics.values()), default=0)))]
    params = getattr(value, "params", None) or {}
    steps = params.get("steps") if isinstance(params, dict) else None
    save_value({"metrics": metrics, "epochs": epochs, "planned_epochs": params.get("epochs"),
                "steps": steps if isinstance(steps, int) else None}, path)


def save_callable(value, path):
    """A function or callback is probed after the notebook; here only what it is is recorded."""
    save_value({"type": type(value).__name__, "callable": callable(value)}, path)


def _tagged(value):
    """``value`` as JSON that keeps tuples, sets and dicts with keys other than strings (read by the grader).
    NumPy numbers inside it are saved as the Python numbers they hold, NumPy arrays and TensorFlow tensors inside
    it as the lists they hold (a feature map built as a list of rows, each an array)."""
    value = tensorflow_plain(value)
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        value = _plain_numbers(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist") and getattr(value, "dtype", None) != object:  # noqa: E721 (NumPy's dtype equality)
        value = value.tolist()
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("it holds a NaN or infinite number")
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [_tagged(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"__set__": [_tagged(v) for v in sorted(value, key=repr)]}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    if isinstance(value, dict):
        tags = {"__tuple__", "__set__", "__pairs__", "__module__"}
        if all(isinstance(k, str) for k in value) and not (tags & set(value)):
            return {k: _tagged(v) for k, v in value.items()}
        return {"__pairs__": [[_tagged(k), _tagged(v)] for k, v in value.items()]}
    raise TypeError("it is a %s, which cannot be saved as data" % type(value).__name__)


def save_any(value, path):
    """Whatever a test reads: a Keras model, an array or NumPy number, a module (its name), or plain data."""
    import types

    import numpy

    value = tensorflow_plain(value)  # a tensor as the array it holds
    keras = __import__("sys").modules.get("keras")
    if keras is not None and isinstance(value, keras.Model):
        return save_model(value, path + ".keras")
    if isinstance(value, types.ModuleType):
        return save_value({"__module__": value.__name__}, path + ".json")
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return save_array(value, path + ".npy")
    if callable(value):
        raise TypeError("it is a function (%s): a test that calls it cannot run on data outside your kernel"
                        % type(value).__name__)
    save_value(_tagged(value), path + ".json")


SAVERS = {"keras_model": (".keras", save_model), "array": (".npy", save_array), "value": (".json", save_value),
          "history": (".json", save_history), "function": (".json", save_callable),
          "callback": (".json", save_callable), "any": ("", save_any)}


def export_task(user_ns, spec):
    """Save each variable of ``spec["exports"]`` from ``user_ns`` into ``spec["folder"]``; write a report."""
    os.makedirs(spec["folder"], exist_ok=True)
    report = {}
    for name, kind in spec["exports"].items():
        if name not in user_ns:
            report[name] = {"status": "undefined"}
            continue
        value = user_ns[name]
        if value is Ellipsis:
            report[name] = {"status": "placeholder"}
            continue
        suffix, saver = SAVERS[kind]
        path = os.path.join(spec["folder"], name + suffix)
        try:
            if kind == "keras_model":
                note = saver(value, path, (spec.get("input_hints") or {}).get(name))
            else:
                note = saver(value, path)
            report[name] = {"status": "ok", **({"note": note} if note else {})}
        except Exception as exc:  # noqa: BLE001 - any failure is reported, in the student's words
            report[name] = {"status": "error", "detail": _describe_error(exc)}
    with open(spec["report"], "w") as handle:
        json.dump(report, handle)


def _describe_error(exc):
    return ("%s: %s" % (type(exc).__name__, exc))[:300]


PLACEHOLDER_LINE = r"^\s*\.\.\.\s*(#.*)?$"  # the line the student's notebook has in place of an answer


def still_placeholder(function):
    """Whether ``function`` is still the template's: its code holds the placeholder, a line ``...  # YOUR CODE
    HERE`` (Python drops that line when it compiles the function, so its source is read), and returns nothing (a
    student who wrote the function under the line they left, with its ``return``, has written it)."""
    import ast
    import inspect
    import re
    import textwrap

    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    if re.search(PLACEHOLDER_LINE, source, re.M) is None:
        return False
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return True
    return not any(isinstance(node, ast.Return) and node.value is not None for node in ast.walk(tree))


def probe_function(user_ns, spec):
    """Call ``spec["name"]`` on each case's arguments (``.npy`` files); save each result as ``.npy``, or why not.  A
    function that returned None on every case, raising nothing, is a ``problem`` of its own (not done yet, or no
    ``return``), said once for all cases."""
    import time

    import numpy

    function = user_ns.get(spec["name"])
    report = {"cases": {}}
    if not callable(function):
        report["problem"] = "undefined" if function is None else "not callable: %s" % type(function).__name__
    else:
        for case in spec["cases"]:
            args = [numpy.load(path, allow_pickle=False) for path in case["args"]]
            before = [(a.shape, a.dtype.str, a.tobytes()) for a in args]
            started = time.monotonic()
            try:
                returned = function(*args)
                if returned is None:
                    outcome = {"status": "none", "detail": "nothing: it returned None (is a return statement missing"
                                                           " where it stops?)"}
                else:
                    result = numpy.asarray(returned)
                    if result.dtype == object:
                        raise TypeError("it returned %s, not an array of numbers" % _a_type(returned))
                    numpy.save(os.path.join(spec["folder"], case["id"] + ".npy"), result, allow_pickle=False)
                    outcome = {"status": "ok"}
            except Exception as exc:  # noqa: BLE001 - the student's function failing is a finding
                outcome = {"status": "error", "detail": _describe_error(exc)}
            outcome["seconds"] = round(time.monotonic() - started, 4)
            if [(a.shape, a.dtype.str, a.tobytes()) for a in args] != before:
                outcome["changed_input"] = True  # it wrote into an argument (an image pooled in place)
            report["cases"][case["id"]] = outcome
        outcomes = list(report["cases"].values())
        if outcomes and all(o["status"] == "none" for o in outcomes):
            report["problem"] = ("not done yet: its code still holds the placeholder ... (# YOUR CODE HERE)"
                                 if still_placeholder(function) else
                                 "a function that returned None and raised nothing: is its return statement missing?")
    with open(os.path.join(spec["folder"], "report.json"), "w") as handle:
        json.dump(report, handle)


def _a_type(value):
    name = type(value).__name__
    return ("an " if name.lower().startswith(("a", "e", "i", "o", "nd")) else "a ") + name


HOOKS = ("on_epoch_end", "on_train_batch_end", "on_batch_end", "on_epoch_begin", "on_train_end")


def callback_hooks(callback):
    """The hooks the callback's class defines itself (not inherited from ``keras.callbacks.Callback``)."""
    import keras

    return tuple(sorted(name for name in HOOKS if getattr(type(callback), name, None)
                        is not getattr(keras.callbacks.Callback, name, None)))


class ReadLogs(dict):
    """The logs given to a probed callback; ``missing`` holds each key the callback asked for that they do not hold
    (``logs["acc"]`` or ``logs.get("acc")`` where Keras logs ``"accuracy"``)."""

    def __init__(self, logs):
        super().__init__(logs)
        self.missing = []

    def _note(self, key):
        if not dict.__contains__(self, key) and str(key)[:50] not in self.missing:
            self.missing.append(str(key)[:50])

    def __getitem__(self, key):
        self._note(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._note(key)
        return dict.get(self, key, default)


def epoch_end(callback, model, case):
    """Give a copy of ``callback`` the end of an epoch with ``case``'s logs: whether it stopped ``model``'s training,
    and the keys it read that the logs do not hold."""
    import copy

    try:
        probe = copy.deepcopy(callback)
    except Exception:  # noqa: BLE001 - an object that cannot be copied is used as it is
        probe = callback
    model.stop_training = False
    logs = ReadLogs(case["logs"])
    try:
        probe.set_model(model)
        probe.on_epoch_end(int(case.get("epoch", 0)), logs)  # as Keras calls it: the name of logs is free
        outcome = {"status": "ok", "stopped": bool(model.stop_training)}
    except Exception as exc:  # noqa: BLE001 - the student's callback failing is a finding
        outcome = {"status": "error", "detail": _describe_error(exc)}
    if logs.missing:
        outcome["missing_keys"] = logs.missing[:5]
    return outcome


def callback_object(value):
    """A callback class (``callbacks = myCallback``, no parentheses) as an object of it, where it takes no
    arguments; anything else as it is."""
    import keras

    if isinstance(value, type) and issubclass(value, keras.callbacks.Callback):
        try:
            return value()
        except Exception:  # noqa: BLE001 - a class that needs arguments is probed as it is
            return value
    return value


def one_callback(value):
    """The callback a variable holds: the value itself, or the one item of a list or tuple of one
    (``callbacks = [myCallback()]``, which ``fit(callbacks=[callbacks])`` flattens)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return value[0]
    return value


def probe_callback(user_ns, spec):
    """Give a copy of the callback ``spec["name"]`` each case's logs at the end of an epoch; record whether it stopped
    training.  Also what it is (a ``keras.callbacks.Callback``?) and which hooks it defines."""
    import keras

    callback = user_ns.get(spec["name"])
    report = {"cases": {}}
    if callback is None:
        report["problem"] = "undefined"
    else:
        if isinstance(callback, (list, tuple)):
            report["container"] = "%s of %d" % (type(callback).__name__, len(callback))
            callback = one_callback(callback)
        if isinstance(callback, type) and issubclass(callback, keras.callbacks.Callback):
            report["container"] = "class"  # callbacks = myCallback: the form's mistake; its logic is probed on
            report["class"] = callback.__name__  # an object of it, so that it is not charged twice
            callback = callback_object(callback)
        report["is_callback"] = isinstance(callback, keras.callbacks.Callback)
        report.setdefault("class", type(callback).__name__)
        report["hooks"] = list(callback_hooks(callback))
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        for case in spec["cases"]:
            report["cases"][case["id"]] = epoch_end(callback, model, case)
    with open(os.path.join(spec["folder"], "report.json"), "w") as handle:
        json.dump(report, handle)


# Otter tests that call a notebook's function (``grader/course/otter_calls.py``): the host planned each call, its
# arguments
# as data (arrays as .npy bytes) or as the notebook's own variables by name with an index or attribute path; the
# kernel makes the arguments, calls the function, and saves what it returned as data, with ``call_id`` of the
# arguments it made (the host looks its answers up by that id, computed the same way on the values it loaded).

def _canonical(value, depth=0):
    """A value's content as nested tuples of text, the same in the kernel and on the host."""
    import hashlib

    import numpy

    if depth > 50:
        raise ValueError("nested too deep")
    if isinstance(value, numpy.ndarray):
        if value.dtype == object:
            raise TypeError("an array of objects")
        data = numpy.ascontiguousarray(value)
        return ("nd", data.dtype.str, tuple(data.shape), hashlib.sha256(data.tobytes()).hexdigest())
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str, complex)):
        return (type(value).__name__, repr(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__,) + tuple(_canonical(v, depth + 1) for v in value)
    if isinstance(value, (set, frozenset)):
        return ("set",) + tuple(sorted((_canonical(v, depth + 1) for v in value), key=repr))
    if isinstance(value, dict):
        return ("dict",) + tuple(sorted(((_canonical(k, depth + 1), _canonical(v, depth + 1))
                                         for k, v in value.items()), key=repr))
    raise TypeError("a %s" % type(value).__name__)


def call_id(args, kwargs):
    """The id of a call's arguments, from their content."""
    import hashlib

    return hashlib.sha256(repr((_canonical(list(args)), _canonical(dict(kwargs)))).encode()).hexdigest()


def _decode_call_value(user_ns, value):
    import base64
    import io

    import numpy

    if isinstance(value, list):
        return [_decode_call_value(user_ns, v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return numpy.load(io.BytesIO(base64.b64decode(value["__ndarray__"])), allow_pickle=False)
    if "__tuple__" in value:
        return tuple(_decode_call_value(user_ns, v) for v in value["__tuple__"])
    if "__set__" in value:
        return set(_decode_call_value(user_ns, v) for v in value["__set__"])
    if "__pairs__" in value:
        return {_decode_call_value(user_ns, k): _decode_call_value(user_ns, v) for k, v in value["__pairs__"]}
    if "__slice__" in value:
        return slice(*value["__slice__"])
    if "__ellipsis__" in value:
        return Ellipsis
    if "__ref__" in value:
        if value["__ref__"] not in user_ns:
            raise NameError("name %r is not defined" % value["__ref__"])
        found = user_ns[value["__ref__"]]
        for step, detail in value["path"]:
            if step == "item":
                found = found[_decode_call_value(user_ns, detail)]
            elif step == "attr":
                found = getattr(found, detail)
            else:
                found = found(*_decode_call_value(user_ns, detail[0]), **_decode_call_value(user_ns, detail[1]))
        return found
    return {k: _decode_call_value(user_ns, v) for k, v in value.items()}


def probe_calls(user_ns, spec):
    """Call ``spec["name"]`` as each planned call says; save each answer (``.npy`` for an array, tagged JSON for
    data) with the ``call_id`` of the arguments it was given, or why there is none."""
    import time

    import numpy

    function = user_ns.get(spec["name"])
    report = {"cases": {}}
    if not callable(function):
        report["problem"] = "undefined" if function is None else "not callable: %s" % type(function).__name__
    else:
        for case in spec["cases"]:
            started = time.monotonic()
            try:
                args = _decode_call_value(user_ns, case["call"]["args"])
                kwargs = _decode_call_value(user_ns, case["call"]["kwargs"])
                outcome = {"args_id": call_id(args, kwargs)}
            except Exception as exc:  # noqa: BLE001 - the notebook's variables are not what the test reads
                report["cases"][case["id"]] = {"status": "arguments", "detail": _describe_error(exc)}
                continue
            try:
                returned = function(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the student's function failing is a finding
                outcome.update(status="error", ename=type(exc).__name__[:100], detail=_describe_error(exc))
            else:
                try:
                    if isinstance(returned, numpy.ndarray) and returned.dtype != object:
                        numpy.save(os.path.join(spec["folder"], case["id"] + ".npy"), returned, allow_pickle=False)
                        outcome.update(status="ok", saved="npy")
                    elif isinstance(returned, (tuple, list)) and 0 < len(returned) <= 8 \
                            and any(isinstance(v, numpy.ndarray) for v in returned):  # (mean, std), [x, y]...
                        parts = []
                        for number, part in enumerate(returned):
                            if isinstance(part, numpy.ndarray) and part.dtype != object:
                                numpy.save(os.path.join(spec["folder"], "%s-%d.npy" % (case["id"], number)), part,
                                           allow_pickle=False)
                                parts.append({"npy": number})
                            else:
                                parts.append({"value": _tagged(part)})
                        outcome.update(status="ok", saved="parts", parts=parts,
                                       container="tuple" if isinstance(returned, tuple) else "list")
                    else:
                        outcome.update(status="ok", saved="json", value=_tagged(returned))
                except (TypeError, ValueError) as exc:
                    outcome.update(status="unreadable", detail="it returned %s: %s" % (_a_type(returned), exc))
            outcome["seconds"] = round(time.monotonic() - started, 4)
            report["cases"][case["id"]] = outcome
    with open(os.path.join(spec["folder"], "report.json"), "w") as handle:
        json.dump(report, handle)
