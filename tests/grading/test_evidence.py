"""Evidence is read as data: links, pickles, malformed and oversized files are refused with a reason."""
from __future__ import annotations

import json
import os
import pickle

import numpy as np

from grader.checks.base import Missing
from grader.grading.evidence import MAX_BYTES, task_folder
from grader.grading.evidence import load_task_evidence as load_spec_evidence
from grader.spec import CheckSpec, TaskSpec


def load_task_evidence(out_dir, name, exports, probes=None, figures=None, checks=()):
    """The evidence of a task ``name`` that exports ``exports`` (and has ``checks``)."""
    return load_spec_evidence(out_dir, TaskSpec(name, name, dict(exports), tuple(checks)), probes, figures)


def export(tmp_path, task="t"):
    folder = task_folder(tmp_path, task)
    folder.mkdir(parents=True)
    return folder


def test_arrays_values_and_models_load(tmp_path, make_model, keras):
    folder = export(tmp_path)
    np.save(folder / "a.npy", np.arange(6).reshape(2, 3))
    (folder / "v.json").write_text(json.dumps({"value": "b"}))
    make_model(keras.layers.Flatten(), keras.layers.Dense(10)).save(folder / "m.keras")
    found = load_task_evidence(tmp_path, "t", {"a": "array", "v": "value", "m": "keras_model"})
    assert found["a"].shape == (2, 3) and found["v"] == "b"
    assert isinstance(found["m"], keras.Model) and found["m"].count_params() == 7850


def test_a_pickled_array_is_refused(tmp_path):
    folder = export(tmp_path)
    np.save(folder / "a.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    found = load_task_evidence(tmp_path, "t", {"a": "array"})
    assert isinstance(found["a"], Missing) and "not a plain array" in found["a"].reason


def test_a_pickle_where_a_model_is_expected_is_refused(tmp_path):
    folder = export(tmp_path)
    (folder / "m.keras").write_bytes(pickle.dumps({"x": 1}))
    found = load_task_evidence(tmp_path, "t", {"m": "keras_model"})
    assert found["m"].reason == "the exported m is not a valid .keras file"


def test_a_model_with_code_in_a_lambda_is_refused(tmp_path, keras):
    folder = export(tmp_path)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(folder / "m.keras")
    found = load_task_evidence(tmp_path, "t", {"m": "keras_model"})
    assert isinstance(found["m"], Missing) and "could not be loaded as a Keras model" in found["m"].reason


def test_links_are_not_followed(tmp_path):
    folder = export(tmp_path)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"value": "stolen"}))
    os.symlink(secret, folder / "v.json")
    found = load_task_evidence(tmp_path, "t", {"v": "value"})
    assert found["v"].reason == "the exported v is a symbolic link, not data"


def test_a_linked_task_folder_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "v.json").write_text(json.dumps({"value": "b"}))
    (tmp_path / "exports").mkdir()
    os.symlink(elsewhere, tmp_path / "exports" / "t")
    assert isinstance(load_task_evidence(tmp_path, "t", {"v": "value"})["v"], Missing)


def test_oversized_and_malformed_values(tmp_path):
    folder = export(tmp_path)
    (folder / "big.json").write_text(" " * (MAX_BYTES["value"] + 1))
    (folder / "bad.json").write_text("{not json")
    (folder / "shape.json").write_text("[1, 2]")
    found = load_task_evidence(tmp_path, "t", {"big": "value", "bad": "value", "shape": "value"})
    assert "more than the 1 MB the grader reads" in found["big"].reason
    assert "not valid JSON" in found["bad"].reason
    assert "not an exported value" in found["shape"].reason


def test_missing_variables_are_explained_from_the_export_report(tmp_path):
    folder = export(tmp_path)
    (folder.parent / "t.json").write_text(json.dumps({
        "a": {"status": "undefined"}, "m": {"status": "error", "detail": "TypeError: it is a str"},
        "p": {"status": "placeholder"}}))
    found = load_task_evidence(tmp_path, "t", {"a": "array", "m": "keras_model", "q": "value", "p": "value"})
    assert found["p"].reason == "p is still the placeholder ...: replace it with your answer"
    assert found["a"].reason == "the variable a is not defined in your notebook"
    assert found["m"].reason == "m could not be saved as a Keras model: TypeError: it is a str"
    assert "was not exported" in found["q"].reason


def test_a_callback_defined_in_a_later_cell_is_graded_from_the_probe_after_the_last_cell(tmp_path):
    """The task's export ran before the cell that defines it (the student moved it): the probe, after the last cell,
    found it; a variable the probe did not find either keeps the export's reason."""
    from grader.grading.probes import ProbedCallback, probe_case_ids

    checks = (CheckSpec(kind="callback_stops", evidence="callbacks", points=1, params={"threshold": 0.995}),)
    task = TaskSpec("t", "t", {"callbacks": "callback", "other": "callback"}, checks)
    sent = probe_case_ids(task, "callbacks")
    folder = export(tmp_path)
    (folder.parent / "t.json").write_text(json.dumps({"callbacks": {"status": "undefined"},
                                                      "other": {"status": "placeholder"}}))
    probe = folder / "probes" / "callbacks"
    probe.mkdir(parents=True)
    (probe / "report.json").write_text(json.dumps({"cases": {sent[0]: {"status": "ok", "stopped": False},
                                                             sent[-1]: {"status": "ok", "stopped": True},
                                                             "forged": {"status": "ok", "stopped": True}},
                                                   "is_callback": True, "class": "myCallback",
                                                   "hooks": ["on_epoch_end"]}))
    found = load_spec_evidence(tmp_path, task, {})
    assert isinstance(found["callbacks"], ProbedCallback)
    assert found["callbacks"].stopped[sent[0]] is False and found["callbacks"].stopped[sent[-1]] is True
    assert set(found["callbacks"].stopped) == set(sent), "only the cases the host sent are read"
    assert found["other"].reason == "other is still the placeholder ...: replace it with your answer"


def test_a_numpy_number_read_back_for_a_test_is_a_numpy_number(tmp_path):
    """Fairness audit: ``output_size = np.int64(26)`` passed otter's ``isinstance(output_size, (int, np.integer))``
    in the kernel, and failed it in the grader, which read the exported number back as a 0-d array."""
    from grader.inside.inkernel import save_any

    folder = export(tmp_path)
    save_any(np.int64(26), str(folder / "size"))
    save_any(np.floor_divide(np.int64(26), 2), str(folder / "half"))
    save_any(np.float32(0.5), str(folder / "ratio"))
    save_any(np.arange(3), str(folder / "many"))
    found = load_task_evidence(tmp_path, "t", {"size": "any", "half": "any", "ratio": "any", "many": "any"})
    assert isinstance(found["size"], np.integer) and found["size"] == 26
    assert isinstance(found["half"], np.integer) and found["half"] == 13
    assert isinstance(found["ratio"], np.floating) and found["ratio"] == 0.5
    assert isinstance(found["many"], np.ndarray) and found["many"].tolist() == [0, 1, 2]
