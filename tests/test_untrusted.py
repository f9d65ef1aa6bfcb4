"""Every reader of what a sandbox leaves is total: fuzzed with arbitrary bytes and hostile structures, each gives a
value within its limits or a reason (``EvidenceError``, ``Missing``, ``None``), never another exception."""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.checks.base import Missing
from grader.errors import EvidenceError
from grader.grading.evidence import ExportFolder, load_task_evidence
from grader.grading.probes import ProbedCallback, ProbedFunction, probe_case_ids
from grader.inside.protocol import RunnerReport, decode_report, encode_report
from grader.spec import CheckSpec, TaskSpec
from grader.untrusted import JsonLimits, copy_wanted_files, parse_json, read_json, read_npy

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True, scope="module")
def by_hand_references():
    """A check here names a reference of by_hand's solution: registered from its reference cells, as the host has it
    once it read the solution."""
    from grader.course.source import read_source

    read_source(Path(__file__).resolve().parents[1] / "solutions" / "by_hand" / "by_hand.ipynb")
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=5), max_leaves=40)


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_parse_json_on_any_bytes_gives_a_value_or_a_reason(data):
    try:
        parse_json(data, JsonLimits(max_bytes=300, max_depth=5, max_entries=50))
    except EvidenceError:
        pass


@FUZZ
@given(JSON)
def test_parse_json_keeps_its_limits(value):
    limits = JsonLimits(max_bytes=10**6, max_depth=3, max_entries=30)
    try:
        parsed = parse_json(json.dumps(value), limits)
    except EvidenceError as exc:
        assert "nests more than" in str(exc) or "holds more than" in str(exc) or "not valid JSON" in str(exc)
        return
    assert parsed == value and depth(parsed) <= limits.max_depth + 1


@pytest.mark.parametrize("text, words", [
    ("[" * 100_000 + "]" * 100_000, "nests more than"),
    ('{"value": ' + "9" * 5000 + "}", "not valid JSON"),
    ('{"value": NaN}', "not valid JSON"),
    ('{"value": 1e999}', "not valid JSON"),
    ("[" + "0," * 200_000 + "0]", "holds more than"),
])
def test_hostile_json_is_refused_by_name(text, words):
    with pytest.raises(EvidenceError, match=words):
        parse_json(text, JsonLimits(max_bytes=10**7))


@FUZZ
@given(JSON)
def test_what_strings_quote_never_counts_as_values(value):
    """The count made before parsing is of commas and brackets outside strings: a value within the limit parses,
    whatever its strings quote (an executed notebook's printed lists, escaped quotes)."""
    text = json.dumps({"quoted": json.dumps(value) + '\\", [{' * 50, "value": value})
    entries = sum(max(len(v), 1) for v in walk(json.loads(text)) if isinstance(v, (dict, list)))
    assert parse_json(text, JsonLimits(max_bytes=10**8, max_depth=100, max_entries=entries + 1))["value"] == value


def walk(value):
    yield value
    for item in value.values() if isinstance(value, dict) else value if isinstance(value, list) else ():
        yield from walk(item)


def test_a_report_whose_notebook_printed_braces_and_commas_is_read():
    """A notebook that printed 400,000 braces and commas (a flood, a long printed list) made its whole report
    unreadable: the pictures and cell statuses were lost, and points with them."""
    notebook = json.dumps({"cells": [{"outputs": [{"text": "{" * 200_000 + ", " * 200_000}]}]})
    report = encode_report({"cells": [{"index": 1, "status": "ok"}], "stopped": None}, {"hand": {"pictures": 1}},
                           notebook)
    decoded = decode_report(report, 2**24)
    assert decoded is not None and dict(decoded.figures) == {"hand": {"pictures": 1}} and decoded.notebook == notebook


@pytest.mark.parametrize("text", ['"' + '\\"' * 2_000_000, '\\"' * 2_000_000, '"' * 4_000_001, '["a\\'])
def test_unclosed_strings_are_refused_in_one_pass(text):
    """Counting outside strings never rescans from each quote: a text of millions of (escaped) quotes that never
    closes is refused at once, not after hours."""
    with pytest.raises(EvidenceError, match="not valid JSON"):
        parse_json(text, JsonLimits(max_bytes=10**8, max_entries=10))


def npy_bytes(shape, dtype="<f8", body: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue() + (body if body is not None else b"")


@FUZZ
@given(st.binary(max_size=300))
def test_read_npy_on_any_bytes(tmp_path, data):
    path = tmp_path / "a.npy"
    path.write_bytes(data)
    try:
        read_npy(path, 1000)
    except EvidenceError:
        pass


@FUZZ
@given(st.lists(st.integers(min_value=0, max_value=10**13), max_size=4), st.sampled_from(["<f8", "|u1", "<i4", "|O"]),
       st.integers(min_value=0, max_value=200))
def test_read_npy_trusts_no_header(tmp_path, shape, dtype, body):
    path = tmp_path / "a.npy"
    path.write_bytes(npy_bytes(shape, dtype, b"\0" * body))
    try:
        array = read_npy(path, 160, mmap=False)
    except EvidenceError:
        return
    assert array.nbytes <= 160 and array.shape == tuple(shape) and array.dtype != object


@FUZZ
@given(st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode())
       | JSON.map(lambda v: json.dumps({"format": 1, "status": v, "figures": v, "notebook": v}).encode()))
def test_decode_report_on_anything(data):
    report = decode_report(data, 10**6)
    assert report is None or isinstance(report, RunnerReport)


@FUZZ
@given(st.dictionaries(st.sampled_from(["cells", "exports", "probes", "stopped", "datasets", "seconds",
                                        "kernel_seconds", "warm_imports", "truncated_output_cells", "error"]), JSON),
       JSON)
def test_a_report_of_wrong_types_keeps_only_what_is_well_formed(status, figures):
    report = decode_report(encode_report(status, figures if isinstance(figures, dict) else {}, ""), 10**6)
    assert isinstance(report, RunnerReport)
    assert all(isinstance(c.index, int) and c.status in ("ok", "error", "timeout", "notebook_timeout",
                                                         "kernel_died", "not_run") for c in report.cells)
    assert report.seconds is None or 0 <= report.seconds < 10**6
    assert all(isinstance(n, int) for counts in report.figures.values() for n in counts.values())
    assert report.stopped in (None, "notebook_timeout", "stuck_after_timeout", "kernel_died", "runner_failed")


TASK = TaskSpec("t", "t", {"v": "value", "h": "history", "a": "array", "n": "any", "f": "function",
                           "c": "callback", "p": "figure"},
                (CheckSpec(kind="array_shape", evidence="a", points=1, params={"shape": [2, 3]}),
                 CheckSpec(kind="function_matches", evidence="f", points=1,
                           params={"reference": "max_pool_2x2", "seed": 1, "shapes": [[4, 4]]}),
                 CheckSpec(kind="callback_stops", evidence="c", points=1, params={"threshold": 0.9})))
FILES = ["exports/t.json", "exports/t/v.json", "exports/t/h.json", "exports/t/a.npy", "exports/t/n.json",
         "exports/t/n.npy", "exports/t/probes/f/report.json", "exports/t/probes/c/report.json"]


@FUZZ
@given(st.dictionaries(st.sampled_from(FILES), st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode())
                       | JSON.map(lambda v: json.dumps({"value": v, "cases": v, "metrics": v}).encode()),
                       max_size=len(FILES)),
       st.dictionaries(st.text(max_size=10), st.sampled_from(["ok", "error", 3, None])),
       st.dictionaries(st.text(max_size=5), st.integers(min_value=0, max_value=9)))
def test_the_evidence_of_a_task_is_values_or_reasons_whatever_the_folder_holds(tmp_path_factory, files, probes,
                                                                                figures):
    root = tmp_path_factory.mktemp("export")
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    evidence = load_task_evidence(root, TASK, probes, figures)
    assert set(evidence) == set(TASK.exports)
    assert isinstance(evidence["h"], (Missing, dict)) and isinstance(evidence["a"], (Missing, np.ndarray))
    assert isinstance(evidence["f"], (Missing, ProbedFunction)) and isinstance(evidence["c"], (Missing, ProbedCallback))
    assert isinstance(evidence["p"], Missing) if "p" not in figures else evidence["p"] == {"pictures": figures["p"]}
    if isinstance(evidence["f"], ProbedFunction):  # only the cases the host sent, each an array or a reason
        assert set(evidence["f"].outputs) <= set(probe_case_ids(TASK, "f"))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["a.npy", "d/b.json", "d", "d/e/c.keras", "x"]),
                          st.sampled_from(["file", "big", "link", "fifo", "dir"])), max_size=6))
def test_copying_out_of_a_hostile_folder_copies_only_wanted_regular_files(tmp_path_factory, entries):
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("target")
    for name, kind in entries:
        path = source / name
        if path.exists() or path.is_symlink():
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            {"file": lambda: path.write_bytes(b"x" * 10), "big": lambda: path.write_bytes(b"x" * 1000),
             "link": lambda: path.symlink_to("/etc/passwd"), "fifo": lambda: os.mkfifo(path),
             "dir": lambda: path.mkdir()}[kind]()
        except (FileExistsError, NotADirectoryError):
            continue
    wanted = {"a.npy": 100, "d/b.json": 100, "d/e/c.keras": 100}
    left_out = copy_wanted_files(source, target, wanted)
    assert set(left_out) <= set(wanted)
    for path in target.rglob("*"):
        assert path.is_dir() or (str(path.relative_to(target)) in wanted and not path.is_symlink()
                                 and path.stat().st_size <= 100)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["config.json", "metadata.json", "model.weights.h5", "assets/x",
                                           "../evil", "/abs", "a" * 300]),
                          st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode())), max_size=5))
def test_a_keras_file_of_any_members_is_a_model_or_a_reason(tmp_path_factory, members):
    from grader.grading.model_file import ModelFileLimits, inspect_model_file

    path = tmp_path_factory.mktemp("model") / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    try:
        inspect_model_file(path, ModelFileLimits())
    except EvidenceError:
        pass


def test_read_json_never_follows_a_link(tmp_path):
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    with pytest.raises(EvidenceError, match="symbolic link"):
        read_json(tmp_path / "link.json")
    assert ExportFolder(tmp_path, {"x.json": "is a symbolic link, not data"}).left_out


def test_a_sparse_file_counts_for_the_size_it_claims(tmp_path):
    path = tmp_path / "a.npy"
    with open(path, "wb") as handle:
        handle.truncate(2**31)
    with pytest.raises(EvidenceError, match="more than the 1 MB"):
        read_npy(path, 2**20)
    assert Path(path).stat().st_blocks == 0


def test_a_sparse_file_within_its_limit_is_not_copied_out_and_the_copy_has_a_budget(tmp_path):
    """A sparse file costs the sandbox no disk and the host its whole size: refused; and all the files copied
    out together stay within the disk the notebook may use."""
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    target.mkdir()
    with open(source / "sparse.npy", "wb") as handle:
        handle.truncate(100 * 2**20)
    (source / "a.npy").write_bytes(b"x" * 3000)
    (source / "b.npy").write_bytes(b"x" * 3000)
    left_out = copy_wanted_files(source, target, {"sparse.npy": 200 * 2**20, "a.npy": 4000, "b.npy": 4000},
                                 budget=5000)
    assert left_out == {"sparse.npy": "is a sparse file (100 MB that hold 0 MB), not data the notebook wrote",
                        "b.npy": "is more than what is left of the disk the notebook may use"}
    assert sorted(p.name for p in target.iterdir()) == ["a.npy"]


def test_json_of_too_many_values_is_refused_before_it_is_built():
    import resource

    text = "[" + "[]," * 3_000_000 + "[]]"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(EvidenceError, match="holds more than 1,000,000 values"):
        parse_json(text, JsonLimits(max_bytes=10**8, max_entries=1_000_000))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB: no list of millions built


NOTEBOOK_PARTS = st.fixed_dictionaries({}, optional={
    "cells": st.lists(st.fixed_dictionaries({}, optional={"cell_type": st.sampled_from(["code", "markdown", "raw", 3]),
                                                          "source": JSON | st.text(max_size=30),
                                                          "metadata": JSON, "outputs": JSON, "id": JSON}),
                      max_size=4) | JSON,
    "metadata": JSON, "nbformat": st.sampled_from([4, 3, "4", None]), "nbformat_minor": JSON})


@FUZZ
@given(NOTEBOOK_PARTS.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=300))
def test_a_submission_of_any_content_is_a_notebook_or_a_reason(tmp_path_factory, data):
    """The submitted notebook is the other file a student controls: any content is read or refused by name."""
    from grader.errors import SubmissionError
    from grader.grading.submission import read_submission

    path = tmp_path_factory.mktemp("nb") / "n.ipynb"
    path.write_bytes(data)
    try:
        nb = read_submission(path)
    except SubmissionError as exc:
        assert str(exc)
        return
    assert all(isinstance(c.source, str) and c.cell_type in ("code", "markdown", "raw") for c in nb.cells)
