"""Hostile ``.keras`` files, written as an attacker who knows the grader's code would write them.

Each starts from a tiny model saved by ``model.save`` and changes what a sandboxed notebook could change:
the configuration, the weights file, the members of the zip.  Sizes are parameters, so that the tests build
small ones and ``benchmarks/model_file_attacks.py`` the measured ones (a 1.5 GB ``Dense``, 800 MB of assets).
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable

STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED


def tiny_model(keras: Any, inputs: int = 8, units: int = 2) -> Any:
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(units)])


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path: Path, entries: list[tuple[str, bytes | Callable[[Any], None]]], method: int = STORED) -> Path:
    """A zip of ``entries``: (name, bytes) or (name, a writer called with the open member, for large ones)."""
    with zipfile.ZipFile(path, "w", compression=method, compresslevel=9 if method == DEFLATED else None) as zf:
        for name, data in entries:
            if callable(data):
                with zf.open(zipfile.ZipInfo(name), "w", force_zip64=True) as member:
                    data(member)
            else:
                zf.writestr(name, data, compress_type=method)
    return path


def with_config(saved: Path, path: Path, change: Callable[[dict], Any]) -> Path:
    """``saved`` with its config.json changed by ``change`` (which edits the dict in place)."""
    files = members(saved)
    config = json.loads(files["config.json"])
    change(config)
    files["config.json"] = json.dumps(config).encode()
    return write_zip(path, list(files.items()))


def with_config_text(saved: Path, path: Path, text: str) -> Path:
    files = members(saved)
    files["config.json"] = text.encode()
    return write_zip(path, list(files.items()))


def huge_dense(keras: Any, folder: Path, units: int = 375_000, inputs: int = 1000) -> Path:
    """A model whose config declares Dense(inputs -> units) (1.5 GB of float32 by default) with the weights
    file of a Dense(inputs -> 2): tens of KB on disk."""
    saved = folder / "small.keras"
    tiny_model(keras, inputs).save(saved)

    def grow(config: dict) -> None:
        config["config"]["layers"][1]["config"]["units"] = units

    return with_config(saved, folder / "huge_dense.keras", grow)


def widen(features: int) -> Callable[[dict], None]:
    """A change to a Sequential's config: its input (and each layer's build shape) ``features`` wide."""
    def change(config: dict) -> None:
        config["build_config"]["input_shape"] = [None, features]
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "InputLayer":
                layer["config"]["batch_shape"] = [None, features]
            elif layer.get("build_config"):
                layer["build_config"]["input_shape"] = [None, features]
    return change


def zeros_writer(size: int) -> Callable[[Any], None]:
    def write(member: Any) -> None:
        block = bytes(2**20)
        for start in range(0, size, len(block)):
            member.write(block[:min(len(block), size - start)])
    return write


def compressed_assets(keras: Any, folder: Path, each: int = 200 * 2**20, count: int = 4) -> Path:
    """A tiny model with ``count`` assets of ``each`` bytes of zeros, deflated (800 MB in about 800 KB by
    default): Keras extracts every member to a temporary folder when a file has more than three."""
    saved = folder / "small.keras"
    tiny_model(keras).save(saved)
    entries: list[tuple[str, Any]] = list(members(saved).items())
    entries += [(f"assets/blob{i}.bin", zeros_writer(each)) for i in range(count)]
    with zipfile.ZipFile(folder / "assets.keras", "w", compression=DEFLATED, compresslevel=9) as zf:
        for name, data in entries:
            if callable(data):
                info = zipfile.ZipInfo(name)
                info.compress_type = DEFLATED
                with zf.open(info, "w", force_zip64=True) as member:
                    data(member)
            else:
                zf.writestr(name, data, compress_type=STORED)
    return folder / "assets.keras"


def h5_shape_bomb(keras: Any, folder: Path, declared: int = 2**30) -> Path:
    """A tiny model whose weights file holds, beside the real kernel, a chunked gzip dataset of ``declared``
    bytes of zeros (a fill value: a few KB on disk), where Keras reads the Dense's kernel."""
    import h5py
    import numpy as np

    saved = folder / "small.keras"
    tiny_model(keras).save(saved)
    files = members(saved)
    buffer = io.BytesIO()
    with h5py.File(io.BytesIO(files["model.weights.h5"]), "r") as source, h5py.File(buffer, "w") as target:
        for name in source:
            source.copy(source[name], target, name=name)
        kernel = next(path for path in _datasets(target) if path.endswith("vars/0"))
        del target[kernel]
        rows = declared // 4 // 2
        target.create_dataset(kernel, shape=(rows, 2), dtype=np.float32, chunks=(2**16, 2), compression="gzip",
                              fillvalue=0.0)
    files["model.weights.h5"] = buffer.getvalue()
    return write_zip(folder / "h5_bomb.keras", list(files.items()))


def _datasets(group: Any) -> list[str]:
    import h5py

    found: list[str] = []
    group.visititems(lambda name, item: found.append(name) if isinstance(item, h5py.Dataset) else None)
    return found
