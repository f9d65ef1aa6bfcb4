"""Hostile ``.keras`` files on the host, before and after ``grader/grading/model_file.py``; and what its checks cost.

Run: .venv/bin/python benchmarks/model_file_attacks.py [--runs 15] [--skip-old-dense]

Builds the two measured attacks at full size (a config declaring a 1.5 GB Dense with a weights file of a few KB;
800 MB of zeros in four deflated assets) and loads each in a fresh process, with the loader the grader had
before (``keras.models.load_model`` on a private copy, as in commit c65f814) and with ``load_model_file``.
Each child reports its peak resident memory above what importing Keras and loading a tiny model took, the
peak bytes under its own TMPDIR (polled every 2 ms) and what was left there.  Then it times both loaders on
the course's CNN (Conv2D 64, MaxPool, Conv2D 64, MaxPool, Flatten, Dense 128, Dense 10: 243,786 parameters,
trained one step), alternating them, and prints the medians.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import click
from host_measure import FolderPeak, folder_bytes, peak_rss

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def old_load_model(path: Path):
    """``grader.grading.evidence.load_model`` as it was before ``grader/grading/model_file.py``."""
    import keras

    if not zipfile.is_zipfile(path):
        raise ValueError("is not a valid .keras file")
    with tempfile.TemporaryDirectory(prefix="grader-model-") as private:
        copy = Path(private) / "model.keras"
        shutil.copyfile(path, copy)
        return keras.models.load_model(copy, safe_mode=True, compile=True)


def new_load_model(path: Path):
    from grader.grading.model_file import load_model_file

    return load_model_file(path)


LOADERS = {"old": old_load_model, "new": new_load_model}


def child(loader: str, path: Path, warm: Path) -> dict:
    """In a fresh process whose TMPDIR is its own: load ``path`` once, measuring memory and TMPDIR."""
    LOADERS[loader](warm)  # imports Keras and builds a model once: the baseline
    base_rss = peak_rss()
    with FolderPeak(Path(tempfile.gettempdir()), interval=0.002) as tmp:
        started = time.perf_counter()
        try:
            LOADERS[loader](path)
            outcome = "loaded"
        except Exception as exc:  # noqa: BLE001 - the outcome is what is measured
            outcome = f"{type(exc).__name__}: {str(exc)[:160]}"
        seconds = time.perf_counter() - started
    return {"loader": loader, "file": path.name, "file_bytes": path.stat().st_size, "outcome": outcome,
            "seconds": round(seconds, 2), "peak_rss_above_baseline_mb": round((peak_rss() - base_rss) / 2**20),
            "peak_tmp_mb": round(tmp.bytes / 2**20, 1), "left_in_tmp_mb": round(folder_bytes(tmp.folder) / 2**20, 1)}


def run_child(loader: str, path: Path, warm: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-tmpdir-") as tmp:
        env = dict(os.environ, TMPDIR=tmp)
        out = subprocess.run([sys.executable, __file__, "--child", loader, str(path), str(warm)], env=env,
                             capture_output=True, text=True, check=False)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if not lines:
            return {"loader": loader, "file": path.name, "outcome": f"child died (rc {out.returncode})",
                    "stderr": out.stderr[-300:]}
        return json.loads(lines[-1])


def course_model(keras, folder: Path) -> Path:
    import numpy as np

    L = keras.layers
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                              L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.zeros((8, 28, 28, 1)), np.zeros(8), epochs=1, verbose=0)
    model.save(folder / "course.keras")
    return folder / "course.keras"


def timings(path: Path, runs: int) -> dict:
    from grader.grading.model_file import inspect_model_file

    for loader in LOADERS.values():
        loader(path)
    measured: dict[str, list[float]] = {"old": [], "new": [], "checks": []}
    for _ in range(runs):
        for name, action in (("old", old_load_model), ("new", new_load_model), ("checks", inspect_model_file)):
            started = time.perf_counter()
            action(path)
            measured[name].append(time.perf_counter() - started)
    medians = {name: round(statistics.median(values) * 1000, 1) for name, values in measured.items()}
    medians["added"] = round(medians["new"] - medians["old"], 1)
    return medians


@click.command()
@click.option("--runs", default=15, show_default=True)
@click.option("--skip-old-dense", is_flag=True, help="the old loader on the 1.5 GB Dense takes about 8 GB")
@click.option("--child", "child_args", nargs=3, default=None, hidden=True)
def main(runs: int, skip_old_dense: bool, child_args: tuple[str, str, str] | None) -> None:
    if child_args:
        print(json.dumps(child(child_args[0], Path(child_args[1]), Path(child_args[2]))))
        return
    import keras

    from tests import hostile_keras

    with tempfile.TemporaryDirectory(prefix="bench-files-") as folder:
        work = Path(folder)
        warm = work / "warm"
        warm.mkdir()
        hostile_keras.tiny_model(keras).save(warm / "warm.keras")
        attacks = []
        for name, build in (("dense", hostile_keras.huge_dense), ("assets", hostile_keras.compressed_assets)):
            (work / name).mkdir()
            attacks.append(build(keras, work / name))
        for path in attacks:
            for loader in ("old", "new"):
                if loader == "old" and skip_old_dense and path.name == "huge_dense.keras":
                    continue
                print(json.dumps(run_child(loader, path, warm / "warm.keras")))
        print(json.dumps({"course_model_ms": timings(course_model(keras, work), runs)}))


if __name__ == "__main__":
    main()
