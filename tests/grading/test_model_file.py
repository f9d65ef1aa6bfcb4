"""A .keras file is refused, with a reason a student can read, before Keras allocates what it declares; every
model that model.save() writes still loads, compiled and trained as it was."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.errors import EvidenceError
from grader.grading.model_file import ModelFileLimits, count_declared, inspect_model_file, load_model_file
from tests import hostile_keras as hk

ROOT = Path(__file__).resolve().parents[2]


def refusal(path: Path, limits: ModelFileLimits = ModelFileLimits(), **kwargs) -> str:
    with pytest.raises(EvidenceError) as refused:
        load_model_file(path, limits, **kwargs)
    return str(refused.value)


@pytest.fixture
def saved(keras, tmp_path):
    """A tiny model saved by model.save()."""
    path = tmp_path / "small.keras"
    hk.tiny_model(keras).save(path)
    return path


def trained(keras, model, x, y, path):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.save(path)
    return model


# Legitimate models load as they were saved.

def test_the_course_cnn_trained_one_epoch_loads_with_its_optimizer(keras, seed_cnn, tmp_path):
    x, y = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32), np.arange(8) % 10
    seed_cnn.fit(x, y, epochs=1, batch_size=4, verbose=0)
    seed_cnn.save(tmp_path / "cnn.keras")
    report = inspect_model_file(tmp_path / "cnn.keras")
    assert report.declared.parameters == seed_cnn.count_params() == 243_786
    assert report.members == ("metadata.json", "config.json", "model.weights.h5")
    loaded = load_model_file(tmp_path / "cnn.keras")
    assert int(loaded.optimizer.iterations.numpy()) == 2 and loaded.optimizer.__class__.__name__ == "Adam"
    assert loaded.loss == "sparse_categorical_crossentropy"
    for mine, theirs in zip(loaded.weights, seed_cnn.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    for mine, theirs in zip(loaded.optimizer.variables, seed_cnn.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def test_functional_uncompiled_and_tf_activation_models_load(keras, tmp_path):
    import tensorflow as tf

    from grader.inside.inkernel import save_model

    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(5)(inputs)))
    trained(keras, functional, np.ones((8, 4)), np.arange(8) % 3, tmp_path / "functional.keras")
    hk.tiny_model(keras).save(tmp_path / "uncompiled.keras")
    tf_activation = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=tf.nn.relu)])
    tf_activation.compile("sgd", "mse")
    save_model(tf_activation, str(tmp_path / "tf_activation.keras"))
    assert load_model_file(tmp_path / "functional.keras").optimizer.iterations.numpy() == 2
    assert load_model_file(tmp_path / "uncompiled.keras").count_params() == 18
    assert load_model_file(tmp_path / "tf_activation.keras").layers[0].get_config()["activation"] == "relu"


def model_with(keras, kind):
    """A tiny model made of the layer ``kind`` (and its kin)."""
    L = keras.layers
    if kind == "MultiHeadAttention":
        inputs = keras.Input((3, 4))
        return keras.Model(inputs, L.MultiHeadAttention(2, 4)(inputs, inputs))
    if kind == "nested model":
        inner = keras.Sequential([keras.Input((4,)), L.Dense(3)])
        inputs = keras.Input((4,))
        return keras.Model(inputs, L.Dense(2)(inner(inputs)))
    layers = {"Dense": [L.Dense(3)],
              "Conv2D": [L.Reshape((2, 2, 1)), L.Conv2D(4, 2, padding="same"), L.Conv2DTranspose(2, 2)],
              "SeparableConv": [L.Reshape((4, 1)), L.SeparableConv1D(3, 2), L.DepthwiseConv1D(2)],
              "Embedding": [L.Embedding(10, 3)],
              "LSTM/GRU": [L.Reshape((2, 2)), L.LSTM(3, return_sequences=True), L.GRU(2)],
              "BatchNormalization": [L.BatchNormalization(), L.LayerNormalization(), L.GroupNormalization(2)]}
    return keras.Sequential([keras.Input((4,)), *layers[kind]])


@pytest.mark.parametrize("kind", ["Dense", "Conv2D", "SeparableConv", "Embedding", "LSTM/GRU", "BatchNormalization",
                                  "MultiHeadAttention", "nested model"])
def test_declared_parameters_are_counted_for_any_layer(keras, kind):
    model = model_with(keras, kind)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    declared = count_declared(config, ModelFileLimits())
    assert declared.parameters == model.count_params() and declared.counted_in == "graph and stateless scope"


def test_a_stateful_rnn_is_counted_in_a_graph_and_loads(keras, tmp_path):
    model = keras.Sequential([keras.Input((5, 3), batch_size=2), keras.layers.GRU(4, stateful=True)])
    model.save(tmp_path / "stateful.keras")
    report = inspect_model_file(tmp_path / "stateful.keras")
    assert report.declared.counted_in == "graph" and report.declared.parameters == model.count_params()
    assert load_model_file(tmp_path / "stateful.keras").count_params() == model.count_params()
    huge_batch = hk.with_config_text(tmp_path / "stateful.keras", tmp_path / "huge_batch.keras", json.dumps(
        json.loads(hk.members(tmp_path / "stateful.keras")["config.json"])).replace("[2, 5, 3]", "[100000000, 5, 3]"))
    assert refusal(huge_batch).startswith("keeps 400,000,110 values in its variables (108 of them parameters)")


def test_a_lookup_layer_that_needs_eager_ops_is_counted_eagerly_unless_refused(keras, tmp_path):
    model = keras.Sequential([keras.Input((1,), dtype="string"),
                              keras.layers.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot")])
    model.save(tmp_path / "lookup.keras")
    assert inspect_model_file(tmp_path / "lookup.keras").declared.counted_in == "stateless scope"
    assert load_model_file(tmp_path / "lookup.keras").layers[0].vocabulary_size() == 3
    assert "could not be loaded" in refusal(tmp_path / "lookup.keras", ModelFileLimits(eager_fallback=False))


def test_assets_are_extracted_in_the_private_folder_only(keras, tmp_path, monkeypatch):
    vectorize = keras.layers.TextVectorization(max_tokens=10, output_sequence_length=3)
    vectorize.adapt(["a b c", "b c d"])
    keras.Sequential([keras.Input((1,), dtype="string"), vectorize]).save(tmp_path / "text.keras")
    system_tmp, scratch = tmp_path / "system-tmp", tmp_path / "scratch"
    system_tmp.mkdir()
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    loaded = load_model_file(tmp_path / "text.keras", scratch=scratch)
    assert "b" in loaded.layers[0].get_vocabulary()
    assert not list(system_tmp.iterdir()) and not list(scratch.iterdir())


def test_counting_leaves_nothing_behind(keras, saved):
    import tensorflow as tf
    from keras.src.backend.common import global_state

    pending = []
    global_state.set_global_attribute("uninitialized_variables", pending)
    try:
        inspect_model_file(saved)
        assert global_state.get_global_attribute("uninitialized_variables") is pending and pending == []
        assert global_state.get_global_attribute("stateless_scope") is None and tf.executing_eagerly()
    finally:
        global_state.set_global_attribute("uninitialized_variables", None)


# Hostile files are refused by name.

def test_a_huge_dense_with_a_tiny_weights_file_is_refused_by_its_parameters(keras, tmp_path):
    path = hk.huge_dense(keras, tmp_path, units=500_000, inputs=100)
    assert path.stat().st_size < 50_000
    assert refusal(path).startswith("declares 50,500,000 parameters, more than the 20,000,000 this task's grader")


def test_the_huge_dense_is_refused_without_allocating_it(keras, tmp_path):
    """In a fresh process: the peak resident memory grows by far less than the 1.5 GB the config declares."""
    path = hk.huge_dense(keras, tmp_path)
    script = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        from grader.errors import EvidenceError
        from grader.grading.model_file import load_model_file
        load_model_file(__import__("pathlib").Path({str(tmp_path / "small.keras")!r}))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            load_model_file(__import__("pathlib").Path({str(path)!r}))
        except EvidenceError as exc:
            print("refused:", exc)
        print("grew_mb", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert "refused: declares 375,375,000 parameters" in out.stdout, out.stderr[-2000:]
    assert int(out.stdout.split("grew_mb")[1]) < 100


def test_compressed_assets_are_refused_before_anything_is_written(keras, tmp_path):
    path = hk.compressed_assets(keras, tmp_path, each=16 * 2**20, count=4)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert "has a member 'assets/blob0.bin' that expands" in refusal(path, scratch=scratch)
    assert not list(scratch.iterdir())
    stored = hk.write_zip(tmp_path / "stored.keras", list(hk.members(path).items()))
    assert refusal(stored, ModelFileLimits(max_uncompressed_bytes=32 * 2**20)).startswith("holds 64 MB once")


def test_a_zip_bomb_weights_member_is_refused(saved, tmp_path):
    files = hk.members(saved)
    bomb = [(name, data) for name, data in files.items() if name != "model.weights.h5"]
    bomb.append(("model.weights.h5", files["model.weights.h5"] + bytes(8 * 2**20)))
    path = hk.write_zip(tmp_path / "bomb.keras", bomb, method=hk.DEFLATED)
    assert "has a member 'model.weights.h5' that expands" in refusal(path)


def test_too_many_entries_are_refused(saved, tmp_path):
    entries = list(hk.members(saved).items()) + [(f"assets/{i}", b"") for i in range(200)]
    assert refusal(hk.write_zip(tmp_path / "many.keras", entries)).startswith("has 203 entries, more than the 64")


@pytest.mark.parametrize("name", ["../evil.py", "assets/../../evil.py", "/etc/cron.d/evil", "assets/a\\..\\b",
                                  "assets/", "evil.py", "model.weights.npz"])
def test_members_outside_the_model_or_unknown_are_refused(saved, tmp_path, name):
    entries = list(hk.members(saved).items()) + [(name, b"x")]
    reason = refusal(hk.write_zip(tmp_path / "odd.keras", entries))
    assert f"has a member named {name!r}, outside the model" in reason or \
        f"has a member {name!r} that Keras does not write" in reason


def test_a_duplicated_member_is_refused(saved, tmp_path):
    entries = list(hk.members(saved).items())
    with pytest.warns(UserWarning):
        path = hk.write_zip(tmp_path / "twice.keras", entries + [("config.json", b"{}")])
    assert refusal(path) == "has the member 'config.json' twice"


@pytest.mark.parametrize("text, reason", [
    ("[" * 10_000 + "]" * 10_000, "has a config.json that nests more than 100 levels deep"),
    ('{"class_name": "Sequential", "config": {"seed": ' + "9" * 5000 + "}}", "an integer of 5,000 digits"),
    ('{"class_name": "Sequential", "config": {"rate": NaN}}', "NaN is not a number JSON allows"),
    ('{"class_name": "Sequential", "config": ' + json.dumps(list(range(300_000))) + "}", "holds more than 250,000"),
    ("[1, 2]", "has a config.json that does not describe a Keras model"),
])
def test_a_hostile_config_json_is_refused(saved, tmp_path, text, reason):
    assert reason in refusal(hk.with_config_text(saved, tmp_path / "config.keras", text))


def test_a_config_that_keras_refuses_is_refused(keras, tmp_path):
    keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)]).save(tmp_path / "lambda.keras")
    assert refusal(tmp_path / "lambda.keras").startswith("could not be loaded as a Keras model")


def test_metrics_and_arrays_computed_while_building_are_bounded(keras, tmp_path):
    model = hk.tiny_model(keras)
    model.compile("adam", "mse", metrics=[keras.metrics.AUC(num_thresholds=10)])
    model.save(tmp_path / "auc.keras")
    path = hk.with_config(tmp_path / "auc.keras", tmp_path / "huge_auc.keras", lambda config: config[
        "compile_config"]["metrics"][0]["config"].update(num_thresholds=10**9))
    assert "a metric configured with 1,000,000,000" in refusal(path)
    keras.Sequential([keras.Input((4,)), keras.layers.Normalization(mean=0.5, variance=2.0)]).save(
        tmp_path / "norm.keras")
    path = hk.with_config(tmp_path / "norm.keras", tmp_path / "wide_norm.keras", hk.widen(200_000_000))
    assert refusal(path).startswith("computes arrays of 400,000,00")


def test_a_weights_file_declaring_huge_arrays_is_refused(keras, tmp_path):
    path = hk.h5_shape_bomb(keras, tmp_path, declared=2**30)
    assert path.stat().st_size < 1_000_000
    assert refusal(path).startswith("has a weights file whose arrays declare 1,024 MB, more than the 1 MB the model")


def test_not_a_zip_a_link_and_a_fifo_are_refused(saved, tmp_path):
    (tmp_path / "pickle.keras").write_bytes(pickle.dumps({"x": 1}))
    assert refusal(tmp_path / "pickle.keras") == "is not a valid .keras file"
    os.symlink(saved, tmp_path / "link.keras")
    assert refusal(tmp_path / "link.keras") == "is a symbolic link, not data"
    os.mkfifo(tmp_path / "fifo.keras")
    assert refusal(tmp_path / "fifo.keras") == "is not a regular file"
    assert refusal(saved, ModelFileLimits(max_file_bytes=1000)).endswith("more than the 1,000 bytes a model may take")


def test_the_members_keras_needs_must_be_there(saved, tmp_path):
    entries = [(name, data) for name, data in hk.members(saved).items() if name != "model.weights.h5"]
    assert refusal(hk.write_zip(tmp_path / "no_weights.keras", entries)).startswith("has no model.weights.h5")
    with zipfile.ZipFile(tmp_path / "empty.keras", "w"):
        pass
    assert refusal(tmp_path / "empty.keras").startswith("has no config.json")
