"""Reading what a submission exported, as data, outside the student's process.

Everything under the export folder was written by untrusted code: a path may be a
symbolic link, a file may be huge or malformed.  Only regular files are read,
through safe loaders: ``.npy`` with ``allow_pickle=False``, ``.keras`` with
``safe_mode=True``, JSON with a size cap.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .checks.base import Missing
from .errors import EvidenceError

log = logging.getLogger(__name__)

SUFFIX = {"keras_model": ".keras", "array": ".npy", "value": ".json", "history": ".json", "figure": ".json",
          "function": ".json", "callback": ".json", "any": ""}
MAX_BYTES = {"keras_model": 200 * 2**20, "array": 1024 * 2**20, "value": 2**20, "history": 4 * 2**20,
             "figure": 2**16, "function": 2**16, "callback": 2**16, "any": 1024 * 2**20}
EXPORTS = "exports"


def task_folder(out_dir: Path, task: str) -> Path:
    return out_dir / EXPORTS / task


def regular_file(root: Path, relative: Path, max_bytes: int) -> Path:
    """The path of a regular file under ``root``, refusing links and special files on the way."""
    path = root
    for part in relative.parts:
        path = path / part
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            raise EvidenceError("not exported") from None
        if stat.S_ISLNK(info.st_mode):
            raise EvidenceError("is a symbolic link, not data")
    if not stat.S_ISREG(info.st_mode):
        raise EvidenceError("is not a regular file")
    if info.st_size > max_bytes:
        raise EvidenceError(f"is {info.st_size / 2**20:.0f} MB, more than the {max_bytes / 2**20:.0f} MB allowed")
    return path


def read_json(path: Path, max_bytes: int = 2**20) -> Any:
    path = regular_file(path.parent, Path(path.name), max_bytes)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"is not valid JSON ({exc})") from None


def load_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise EvidenceError(f"is not a plain array ({exc})") from None
    except OSError as exc:
        raise EvidenceError(f"is not a valid .npy file ({exc})") from None


def load_model(path: Path) -> Any:
    import keras

    if not zipfile.is_zipfile(path):
        raise EvidenceError("is not a valid .keras file")
    with tempfile.TemporaryDirectory(prefix="grader-model-") as private:
        copy = Path(private) / "model.keras"
        shutil.copyfile(path, copy)
        try:
            return keras.models.load_model(copy, safe_mode=True, compile=True)
        except Exception as exc:  # noqa: BLE001 - any failure to load a hostile file is the submission's
            raise EvidenceError(f"could not be loaded as a Keras model ({type(exc).__name__}: {exc})") from None


def load_value(path: Path) -> Any:
    data = read_json(path, MAX_BYTES["value"])
    if not isinstance(data, dict) or "value" not in data:
        raise EvidenceError("is not an exported value")
    return data["value"]


def load_history(path: Path) -> Any:
    data = load_value(path)
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise EvidenceError("is not a training history")
    return data


LOADERS = {"keras_model": load_model, "array": load_array, "value": load_value, "history": load_history,
           "figure": load_value}


def export_report(out_dir: Path, task: str) -> Mapping[str, Any]:
    """What the exporter said about each variable (untrusted: used for wording only)."""
    try:
        report = read_json(out_dir / EXPORTS / f"{task}.json")
    except EvidenceError:
        return {}
    return report if isinstance(report, dict) else {}


def _missing_reason(variable: str, kind: str, said: Any) -> str:
    said = said if isinstance(said, dict) else {}
    status = said.get("status")
    detail = str(said.get("detail", ""))[:300]
    if status == "undefined":
        return f"the variable {variable} is not defined in your notebook"
    if status == "placeholder":
        return f"{variable} is still the placeholder ...: replace it with your answer"
    if status == "error":
        wanted = {"keras_model": "a Keras model", "array": "a NumPy array", "value": "a plain value",
                  "history": "a training history"}.get(kind, "data")
        return f"{variable} could not be saved as {wanted}: {detail}"
    return f"{variable} was not exported (the notebook stopped before this task finished)"


def _load_any(out_dir: Path, task: str, variable: str, said: Any) -> Any:
    """A variable saved by ``inkernel.save_any``: whichever of its files is there, read by its own safe loader."""
    from .otter import json_loads_tagged

    for suffix, loader in ((".keras", load_model), (".npy", load_array), (".json", None)):
        relative = Path(EXPORTS) / task / f"{variable}{suffix}"
        try:
            path = regular_file(out_dir, relative, MAX_BYTES["keras_model" if suffix == ".keras" else "any"])
        except EvidenceError as exc:
            if str(exc) == "not exported":
                continue
            return Missing(f"the exported {variable} {exc}")
        try:
            if loader is not None:
                return loader(path)
            data = json_loads_tagged(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or "value" not in data and "__module__" not in data:
                raise EvidenceError("is not an exported value")
            return data["value"] if "value" in data else data
        except (EvidenceError, ValueError, UnicodeDecodeError) as exc:
            return Missing(f"the exported {variable} could not be read ({exc})")
    return Missing(_missing_reason(variable, "any", said))


def load_task_evidence(out_dir: Path, task: str, exports: Mapping[str, str],
                       probes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each exported variable of a task, loaded safely, or a ``Missing`` with the reason."""
    from .probes import PROBED_KINDS, load_probe

    report = export_report(out_dir, task)
    evidence: dict[str, Any] = {}
    for variable, kind in exports.items():
        if kind == "any":
            evidence[variable] = _load_any(out_dir, task, variable, report.get(variable))
            continue
        if kind in PROBED_KINDS:  # probed after the last cell: a function or callback defined in a later cell
            said = report.get(variable)  # (a cell moved) is graded as it is at the end, as the student's check sees it
            probed = load_probe(out_dir, task, variable, kind, probes or {})
            if isinstance(said, dict) and said.get("status") in ("undefined", "placeholder") \
                    and isinstance(probed, Missing):
                probed = Missing(_missing_reason(variable, kind, said))
            evidence[variable] = probed
            continue
        relative = Path(EXPORTS) / task / f"{variable}{SUFFIX[kind]}"
        try:
            path = regular_file(out_dir, relative, MAX_BYTES[kind])
        except EvidenceError as exc:
            if str(exc) == "not exported":
                evidence[variable] = Missing(_missing_reason(variable, kind, report.get(variable)))
            else:
                evidence[variable] = Missing(f"the exported {variable} {exc}")
            continue
        try:
            evidence[variable] = LOADERS[kind](path)
        except EvidenceError as exc:
            evidence[variable] = Missing(f"the exported {variable} {exc}")
    return evidence
