"""Loading a ``.keras`` file written by a student's code, refusing a hostile one before Keras allocates anything.

A ``.keras`` file is a zip of ``config.json`` (the architecture), ``metadata.json``, ``model.weights.h5`` and,
for a few preprocessing layers, ``assets/``.  All of it is untrusted: a 48 KB file whose configuration declares
a 1.5 GB ``Dense`` took ``keras.models.load_model`` to 8 GB of memory, and 847 KB of compressed assets made it
write 800 MB into ``/tmp``.  :func:`load_model_file` checks, each step bounded, in this order:

1. the file: a regular file, not a link, of at most ``max_file_bytes``;
2. the archive, from its central directory (nothing decompressed yet): few members, only those Keras writes,
   names inside the model, sizes and compression ratios that fit;
3. ``config.json``: bounded size, nesting and count of values; no NaN, no 5,000-digit numbers;
4. what that configuration declares, counted without allocating it: the model is built inside a TensorFlow
   graph and a Keras stateless scope, where variables are deferred and every array computed while building
   is a graph node that is never run (``count_declared``);
5. the weights file, once extracted into a private folder: no links, no external or virtual datasets,
   arrays whose declared size fits;

and only then does Keras load the private folder (``safe_mode=True``).  Keras loads a folder in place, so
it extracts nothing itself: nothing is written outside that folder, which is removed afterwards.
"""
from __future__ import annotations

import copy
import errno
import logging
import math
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterator

from grader.errors import EvidenceError
from grader.untrusted import JsonLimits, parse_json

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

MiB = 2**20
CONFIG, METADATA, WEIGHTS, ASSETS = "config.json", "metadata.json", "model.weights.h5", "assets"
SHAPE = f"a .keras file holds {CONFIG}, {METADATA}, {WEIGHTS} and assets/"
CENTRAL_ENTRY_BYTES = 1024  # a central-directory record: 46 bytes, the name and the extra fields
RATIO_FLOOR = 64 * 1024  # members smaller than this may compress as well as they like
CHUNK = MiB
WEIGHTS_PER_VALUE = 6  # a variable's value, and the optimizer's slots for it, in the weights file


@dataclass(frozen=True)
class ModelFileLimits:
    """How large a ``.keras`` file, and the model it declares, may be before it is loaded.

    ``eager_fallback``: a model that no graph can build (a lookup layer given a vocabulary and a counting output
    mode) is counted eagerly, its variables still deferred but the arrays computed while building made; False
    refuses such a model instead (see ``PASSES``)."""

    max_file_bytes: int = 256 * MiB
    max_entries: int = 64
    max_uncompressed_bytes: int = 512 * MiB  # the members' declared sizes; the weights' declared arrays
    max_compression_ratio: float = 100.0  # Keras stores its members uncompressed (ratio 1)
    max_config_bytes: int = 4 * MiB
    max_config_depth: int = 100
    max_config_values: int = 250_000
    max_params: int = 20_000_000  # the model's variables, its parameters and any other state
    max_metric_values: int = 1_000_000  # the metrics' state (an AUC's thresholds, a MeanIoU's matrix)
    max_build_values: int = 100_000_000  # the arrays computed while building (a graph's nodes, never run)
    eager_fallback: bool = True


@dataclass(frozen=True)
class DeclaredState:
    """What a model's configuration declares, counted without allocating it."""

    parameters: int  # the model's weights, as model.count_params() counts them
    variable_values: int  # every variable the model makes (seed states, a stateful RNN's states too)
    metric_values: int  # the compiled metrics' variables
    build_values: int | None  # the arrays computed while building; None when counted eagerly
    counted_in: str  # the name of the pass of PASSES that built it


@dataclass(frozen=True)
class ModelFileReport:
    """What a ``.keras`` file holds and declares, found without loading it."""

    members: tuple[str, ...]
    uncompressed_bytes: int
    declared: DeclaredState
    weights_bytes: int  # the weights file's declared arrays


def load_model_file(path: Path, limits: ModelFileLimits = ModelFileLimits(), *,
                    scratch: Path | None = None) -> keras.Model:
    """The Keras model in ``path``, compiled as it was saved; ``EvidenceError`` with a reason if it is refused.

    ``scratch`` is where the private folder is made (the system's temporary folder by default)."""
    with _private_folder(scratch) as folder:
        _prepare(path, limits, folder)
        return _keras_load(folder)


def inspect_model_file(path: Path, limits: ModelFileLimits = ModelFileLimits(), *,
                       scratch: Path | None = None) -> ModelFileReport:
    """Every check :func:`load_model_file` makes, without loading the model."""
    with _private_folder(scratch) as folder:
        return _prepare(path, limits, folder)


def _private_folder(scratch: Path | None) -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="grader-model-", dir=scratch)


def _prepare(path: Path, limits: ModelFileLimits, folder: str) -> ModelFileReport:
    """The checks, in order; the model's members extracted under ``folder/model`` when all pass."""
    with _open_regular_file(path, limits) as file:
        archive, infos = _open_archive(file, limits)
        with archive:
            config_bytes = _read_config(archive, infos, limits)
            config = parse_config(config_bytes, limits)
            declared = count_declared(config, limits)
            target = Path(folder) / "model"
            _extract(archive, infos, target, config_bytes)
    weights_bytes = _check_weights(target / WEIGHTS, limits, declared)
    return ModelFileReport(members=tuple(info.filename for info in infos),
                           uncompressed_bytes=sum(info.file_size for info in infos), declared=declared,
                           weights_bytes=weights_bytes)


def _keras_load(folder: str) -> keras.Model:
    import keras

    try:
        return keras.saving.load_model(str(Path(folder) / "model"), safe_mode=True, compile=True)
    except Exception as exc:  # noqa: BLE001 - any failure to load a hostile file is the submission's
        raise EvidenceError(f"could not be loaded as a Keras model ({type(exc).__name__}: {str(exc)[:300]})") \
            from None


# 1. The file.

def _open_regular_file(path: Path, limits: ModelFileLimits) -> BinaryIO:
    """``path`` opened for reading, refusing a link (no following), a special file or a too large one."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # non-blocking: a FIFO does not hang
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise EvidenceError("not exported") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise EvidenceError("is a symbolic link, not data") from None
        raise EvidenceError(f"cannot be opened ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise EvidenceError("is not a regular file")
    if info.st_size > limits.max_file_bytes:
        os.close(fd)
        raise EvidenceError(f"is {_size(info.st_size)}, more than the {_size(limits.max_file_bytes)} a model may"
                            " take")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


# 2. The archive.

ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error, zlib.error,
              NotImplementedError)


def _open_archive(file: BinaryIO, limits: ModelFileLimits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The zip and its members, once its central directory is known to be small and each member to fit."""
    try:
        # The end record, as zipfile itself finds it (zip64 included): the central directory's size bounds
        # the records zipfile parses, so it is checked before ZipFile reads them all into memory.
        # (zipfile's private names are not in its type stubs: hence the ignores)
        end = zipfile._EndRecData(file)  # type: ignore[attr-defined]  # noqa: SLF001 - the stdlib's own reader
    except ZIP_ERRORS:
        end = None
    if end is None:
        raise EvidenceError("is not a valid .keras file")
    entries = end[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]  # noqa: SLF001
    directory = end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]  # noqa: SLF001
    if entries > limits.max_entries:
        raise EvidenceError(f"has {entries:,} entries, more than the {limits.max_entries} a Keras model has"
                            f" ({SHAPE})")
    if directory > limits.max_entries * CENTRAL_ENTRY_BYTES:
        raise EvidenceError(f"has a list of entries of {_size(directory)}, more than {limits.max_entries} entries"
                            " take")
    try:
        archive = zipfile.ZipFile(file)
    except ZIP_ERRORS as exc:
        raise EvidenceError(f"is not a valid .keras file ({str(exc)[:200]})") from None
    try:
        infos = archive.infolist()
        _check_members(infos, limits)
    except EvidenceError:
        archive.close()
        raise
    return archive, infos


def _check_members(infos: list[zipfile.ZipInfo], limits: ModelFileLimits) -> None:
    if len(infos) > limits.max_entries:
        raise EvidenceError(f"has {len(infos):,} entries, more than the {limits.max_entries} a Keras model has")
    names = [info.filename for info in infos]
    for name in names:
        _check_member_name(name)
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise EvidenceError(f"has the member {duplicated[0]!r} twice")
    for required in (CONFIG, WEIGHTS):
        if required not in names:
            raise EvidenceError(f"has no {required} ({SHAPE}): it was not saved by model.save()")
    for info in infos:
        if info.flag_bits & 0x1:
            raise EvidenceError(f"has an encrypted member {info.filename!r}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise EvidenceError(f"has a member {info.filename!r} compressed with an unusual method")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > limits.max_compression_ratio:
            raise EvidenceError(f"has a member {info.filename!r} that expands {ratio:,.0f} times"
                                f" (to {_size(info.file_size)}): Keras stores its members uncompressed")
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise EvidenceError(f"holds {_size(total)} once uncompressed, more than the"
                            f" {_size(limits.max_uncompressed_bytes)} a model may take")


def _check_member_name(name: str) -> None:
    """Only the members Keras writes: the three files, and files (or folders) under ``assets/``."""
    if name in (CONFIG, METADATA, WEIGHTS):
        return
    parts = name.split("/")
    if parts[-1] == "":  # a folder entry
        parts.pop()
    inside = len(name) <= 1024 and all(part not in ("", ".", "..") and len(part) <= 255
                                       and not any(c in part for c in "\\\x00") and part.isprintable()
                                       for part in parts)
    if not inside:
        raise EvidenceError(f"has a member named {name[:100]!r}, outside the model ({SHAPE})")
    if parts[0] != ASSETS or len(parts) < 2:
        raise EvidenceError(f"has a member {name[:100]!r} that Keras does not write ({SHAPE})")


def _read_config(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: ModelFileLimits) -> bytes:
    info = next(info for info in infos if info.filename == CONFIG)
    if info.file_size > limits.max_config_bytes:
        raise EvidenceError(f"has a {CONFIG} of {_size(info.file_size)}, more than the"
                            f" {_size(limits.max_config_bytes)} a model's configuration may take")
    try:
        with archive.open(info) as member:
            return member.read(limits.max_config_bytes + 1)[:limits.max_config_bytes]
    except ZIP_ERRORS as exc:
        raise EvidenceError(f"has a {CONFIG} that cannot be read ({exc})") from None


# 3. config.json.

def parse_config(data: bytes, limits: ModelFileLimits) -> dict[str, Any]:
    """A ``config.json``'s object, read by the grader's bounded JSON reader (NaN and 40-digit integers refused)."""
    try:
        config = parse_json(data, JsonLimits(max_bytes=limits.max_config_bytes, max_depth=limits.max_config_depth,
                                             max_entries=limits.max_config_values))
    except EvidenceError as exc:
        raise EvidenceError(f"has a {CONFIG} that {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise EvidenceError(f"has a {CONFIG} that does not describe a Keras model")
    return config


# 4. What the configuration declares.

@dataclass(frozen=True)
class CountingPass:
    """One way of building a model from its configuration without allocating what it declares."""

    name: str
    in_graph: bool  # inside a tf.Graph: every array computed while building is a node, never run
    stateless: bool  # inside a keras.StatelessScope: every variable made from an initializer is deferred


PASSES = (CountingPass("graph and stateless scope", True, True),  # fast: no variable is even a node
          CountingPass("graph", True, False),  # a stateful RNN's states are made from a value, not an initializer
          CountingPass("stateless scope", False, True))  # lookup layers with a counting output mode need eager ops


def count_declared(config: dict[str, Any], limits: ModelFileLimits) -> DeclaredState:
    """The values the model's configuration declares, counted without allocating them; refused over the limits.

    The model (without its optimizer, whose state follows its trainable parameters) and its metrics are built
    from the configuration by the first of :data:`PASSES` that can build it.  In a ``tf.Graph`` the arrays
    computed while building (initial values, broadcast constants, a stateful RNN's states) are nodes that are
    never run, ``tf.init_scope`` included; in a ``keras.StatelessScope(initialize_variables=False)`` Keras defers
    every variable made from an initializer and initializes nothing on leaving.  Counted are the model's weights
    (its parameters), every variable made (deferred, or a node of the graph), the metrics' variables and the
    values of the graph's nodes.  Only the last pass, for the few layers that need eager ops while built, runs
    what building computes (never the variables).  Keras's list of variables awaiting initialization is
    restored after each pass, so nothing made here lingers."""
    compile_config = config.get("compile_config")
    compile_config = compile_config if isinstance(compile_config, dict) else {}
    metrics = [compile_config[key] for key in ("metrics", "weighted_metrics") if compile_config.get(key)]
    _check_metric_numbers(metrics, limits)
    model_config = {key: value for key, value in config.items() if key != "compile_config"}
    failures = []
    for counting in PASSES if limits.eager_fallback else PASSES[:2]:
        try:
            declared = _count(copy.deepcopy(model_config), copy.deepcopy(metrics), counting)  # Keras pops keys
            break
        except Exception as exc:  # noqa: BLE001 - a hostile configuration raises anything
            log.debug("%s could not build the model: %s", counting.name, exc)
            failures.append(exc)
    else:
        first = failures[0]
        raise EvidenceError(f"could not be loaded as a Keras model ({type(first).__name__}: {str(first)[:300]})")
    _check_declared(declared, limits)
    return declared


def _count(model_config: dict[str, Any], metrics: list[Any], counting: CountingPass) -> DeclaredState:
    import keras
    import tensorflow as tf
    from keras.src.saving.serialization_lib import ObjectSharingScope

    graph = tf.Graph() if counting.in_graph else None
    with _pending_variables_kept(), ExitStack() as scopes:
        if graph is not None:
            scopes.enter_context(graph.as_default())
        if counting.stateless:
            scopes.enter_context(keras.StatelessScope(initialize_variables=False))
        scopes.enter_context(ObjectSharingScope())
        model = keras.saving.deserialize_keras_object(model_config, safe_mode=True)
        if not isinstance(model, keras.Model):
            raise TypeError(f"the configuration describes a {type(model).__name__}, not a model")
        parameters = sum(math.prod(weight.shape) for weight in model.weights)
        variable_values = _variable_values(graph)
        for each in metrics:
            keras.saving.deserialize_keras_object(each, safe_mode=True)
        metric_values = _variable_values(graph) - variable_values
    built = None if graph is None else sum(output.shape.num_elements() for operation in graph.get_operations()
                                           for output in operation.outputs if output.shape.is_fully_defined())
    return DeclaredState(parameters, variable_values, metric_values, built, counting.name)


def _variable_values(graph: Any) -> int:
    """The values of the variables made so far: those Keras deferred, and those of ``graph``."""
    from keras.src.backend.common import global_state

    deferred = global_state.get_global_attribute("uninitialized_variables") or []
    values = sum(math.prod(variable.shape) for variable in deferred)
    if graph is not None:
        values += sum(variable.shape.num_elements() or 0 for variable in graph.get_collection("variables"))
    return values


@contextmanager
def _pending_variables_kept() -> Iterator[None]:
    """Within: Keras's (thread-local) list of variables awaiting initialization starts empty; after, the list
    that was there before is back, and nothing made inside lingers in it."""
    from keras.src.backend.common import global_state

    before = global_state.get_global_attribute("uninitialized_variables")
    global_state.set_global_attribute("uninitialized_variables", [])
    try:
        yield
    finally:
        global_state.set_global_attribute("uninitialized_variables", before)


def _check_metric_numbers(metrics: list[Any], limits: ModelFileLimits) -> None:
    """A metric's numbers (thresholds, classes) size its state, and some build Python lists of that size first."""
    for number in _numbers(metrics):
        if number > limits.max_metric_values:
            raise EvidenceError(f"is compiled with a metric configured with {number:,} (thresholds or classes),"
                                f" more than the {limits.max_metric_values:,} this task's grader allows")


def _numbers(value: Any) -> Iterator[int]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            yield item


def _check_declared(declared: DeclaredState, limits: ModelFileLimits) -> None:
    if declared.parameters > limits.max_params:
        raise EvidenceError(f"declares {declared.parameters:,} parameters, more than the"
                            f" {limits.max_params:,} this task's grader loads: make the model smaller (fewer"
                            " units or filters, or pooling before Flatten)")
    if declared.variable_values > limits.max_params:
        raise EvidenceError(f"keeps {declared.variable_values:,} values in its variables ({declared.parameters:,}"
                            f" of them parameters), more than the {limits.max_params:,} this task's grader loads"
                            " (a stateful RNN with a huge batch?)")
    if declared.metric_values > limits.max_metric_values:
        raise EvidenceError(f"is compiled with metrics that keep {declared.metric_values:,} values, more than the"
                            f" {limits.max_metric_values:,} this task's grader allows")
    if declared.build_values is not None and declared.build_values > limits.max_build_values:
        raise EvidenceError(f"computes arrays of {declared.build_values:,} values while it is built, more than"
                            f" the {limits.max_build_values:,} this task's grader allows (are its input shapes"
                            " far larger than the data's?)")


# 5. Extraction and the weights file.

def _extract(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], target: Path, config_bytes: bytes) -> None:
    """The members under ``target`` (names already checked), each no larger than it declared."""
    try:
        target.mkdir()
        for info in infos:
            path = target.joinpath(*info.filename.rstrip("/").split("/"))
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "xb") as sink:
                if info.filename == CONFIG:
                    sink.write(config_bytes)  # the very text that was checked
                    continue
                with archive.open(info) as source:
                    _copy(source.read, sink.write, info.file_size)
    except ZIP_ERRORS as exc:
        raise EvidenceError(f"has a member that cannot be extracted ({str(exc)[:200]})") from None


def _copy(read: Callable[[int], bytes], write: Callable[[bytes], Any], limit: int) -> None:
    copied = 0
    while chunk := read(CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise EvidenceError("has a member larger than it declares")
        write(chunk)


def _check_weights(path: Path, limits: ModelFileLimits, declared: DeclaredState) -> int:
    """The bytes the weights file's arrays declare; refused with links, external data, or arrays too large.

    Keras reads a whole dataset before comparing its shape with the variable's, and only refuses a dataset
    that declares more than 4 GiB, so a small compressed dataset declaring 3 GB would be read in full.  A file
    that ``model.save`` wrote holds the model's variables, the optimizer's (at most about 5 per trainable
    parameter: Adam's two slots, an EMA, accumulated gradients) and the metrics', at most 8 bytes a value."""
    import h5py

    found: dict[str, Any] = {"bytes": 0, "problem": None}

    def visit(name: str, link: Any) -> str | None:
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            found["problem"] = f"has a weights file with a link ({name[:100]!r})"
        else:
            item = weights.get(name)
            if isinstance(item, h5py.Dataset):
                if item.external or item.is_virtual:
                    found["problem"] = f"has a weights file whose array {name[:100]!r} is stored elsewhere"
                else:
                    found["bytes"] += math.prod(item.shape or ()) * item.dtype.itemsize
        return found["problem"]  # not None: the visit stops

    try:
        with h5py.File(path, "r") as weights:
            weights.visititems_links(visit)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise EvidenceError(f"has a weights file that is not valid HDF5 ({str(exc)[:200]})") from None
    if found["problem"]:
        raise EvidenceError(found["problem"])
    needed = 8 * (WEIGHTS_PER_VALUE * declared.variable_values + declared.metric_values) + MiB
    allowed = min(limits.max_uncompressed_bytes, needed)
    if found["bytes"] > allowed:
        raise EvidenceError(f"has a weights file whose arrays declare {_size(found['bytes'])}, more than the"
                            f" {_size(allowed)} the model it declares can need")
    return found["bytes"]


def _size(count: int) -> str:
    if count >= MiB:
        return f"{count / MiB:,.0f} MB"
    if count >= 1024:
        return f"{count / 1024:,.0f} KB"
    return f"{count:,} bytes"
