"""What a hostile export folder costs the host grader that reads it: memory and disk, before and after issue 17.

Run: .venv/bin/python benchmarks/hostile_evidence.py [--baseline PATH] [--limit-gb 8] [--timeout 240]

Each attack is an export folder built as the student's code would leave it (the kernel writes anything it likes
under ``exports/``), read by each version's own host-side code, as ``grader grade`` reads it:

* the current tree (this checkout, as it is on disk): ``load_task_evidence(out_dir, TaskSpec, probes, figures,
  left_out)``, and for a container ``copy_wanted_files(source, target, evidence_files(spec))``;
* the baseline (commit c65f814, before the fixes): ``load_task_evidence(out_dir, task_name, exports, probes)``
  (probes through ``grader.grading.probes.load_probe``), and for a container ``copy_regular_files(source, target)``.

Without ``--baseline`` the baseline is checked out with ``git worktree add`` in a temporary folder and removed
after; without git only the current tree is measured.

Every reading runs in a fresh process (``--child``) with the version's ``grader`` first on ``sys.path``, its own
TMPDIR, an address-space limit (``--limit-gb``, so that an absurd allocation fails there instead of taking the
machine down) and a time limit.  The child imports the reader, loads the assignment's spec and reads a benign
folder of the same shape once (so that lazy imports are done), notes its peak resident memory (``VmHWM``, not
``ru_maxrss``, which Linux makes at least the parent's size: see ``peak_rss``) ("after imports"),
then reads the hostile folder and notes the peak again ("above imports" is the difference).  Disk is what the
reading wrote: the peak size of its TMPDIR (polled every 5 ms) plus, for the container copy, the blocks of the
folder it copied into.  A reader that raises is reported as "crash: <exception>": ``grader grade`` would end
there with a traceback and no result.

The attacks (the worst case of each class in issue 17, and where the current tree still reads something, the
worst case its limits allow):

1a. 40 aliases (``x``, ``./x``, ``././x``, ...) of one 60 MB probe answer, named in the probe report.
1b. the same, and each of the host's own case ids answered by a hard link to the 60 MB file.
2a. a 100 MB JSON export of kind ``any`` (an otter assignment): ``{"value": [[], [], ...]}``, the most Python
    objects per byte.
2b. the same at 16 MB, the most the current reader takes for ``any`` JSON.
2c. a 100 MB JSON export of kind ``value``.
2d. the same at 1 MB, the most either reader takes for ``value``.
3.  a probe answer whose ``.npy`` header claims 1 TB (a few bytes of data).
4a. a 2 GB sparse file (0 blocks) under a name the host copies out of a container (fashion_cnn's
    ``training_images.npy``): the bytes written to the copy's target.
4b. the same file at exactly that name's limit in the current tree (about 1.4 GB): copied by both.
5a-d. JSON nested 100,000 levels deep: a ``value`` export, a probe report, an ``any`` export, the exporter's
    report.
6.  Keras files: measured by ``benchmarks/model_file_attacks.py``.

It prints a table: the attack, the version, the outcome in a few words, the peak after imports, the peak above
it, the disk written, the seconds, and on the current tree's line the ratios baseline / current (a figure under
1 MB counts as 1 MB).  Nothing is asserted.
"""
from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from host_measure import FolderPeak, folder_bytes, peak_rss

ROOT = Path(__file__).resolve().parent.parent
BASELINE_COMMIT = "c65f814"
MB = 2**20


# --- the hostile folders, as the student's code would leave them ----------------------------------------------

def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _probe_dir(folder: Path, task: str, variable: str) -> Path:
    return folder / "exports" / task / "probes" / variable


def _host_case_ids(assignment: str, task: str, variable: str) -> tuple[str, ...]:
    """The ids of the cases the host sends (the current tree's ``probe_case_ids``): the only answers it reads."""
    sys.path.insert(0, str(ROOT))
    from grader.course.assignment import load_assignment
    from grader.grading.probes import probe_case_ids

    return probe_case_ids(load_assignment(assignment).spec.task(task), variable)


def _wanted(assignment: str) -> dict[str, int]:
    """What the current tree copies out of a container for ``assignment`` (relative path: its most bytes)."""
    sys.path.insert(0, str(ROOT))
    from grader.course.assignment import load_assignment
    from grader.grading.evidence import evidence_files

    return evidence_files(load_assignment(assignment).spec)


def _npy_bytes(shape: tuple[int, ...], data: bytes = b"") -> bytes:
    """An ``.npy`` file of float64 declaring ``shape``, followed by ``data`` (whatever its length)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def probe_folder(folder: Path, ids: tuple[str, ...], answer: bytes | None, aliases: int, host_links: bool,
                 extra: str = "") -> None:
    """A probe of by_hand's ``convolve``: ``x.npy`` (``answer``), a report naming ``aliases`` ids that all resolve to
    it, and with ``host_links`` each host case id answered by a hard link to it."""
    base = _probe_dir(folder, "convolve", "convolve")
    base.mkdir(parents=True, exist_ok=True)
    names = ["./" * i + "x" for i in range(aliases)]
    if host_links:
        names += list(ids)
    cases = {name: {"status": "ok", "seconds": 0.01} for name in names}
    report = json.dumps({"cases": cases, "problem": None})
    if extra:
        report = report[:-1] + f', "note": {extra}}}'
    _write(base / "report.json", report)
    if answer is not None:
        _write(base / "x.npy", answer)
        if host_links:
            for identifier in ids:
                os.link(base / "x.npy", base / f"{identifier}.npy")


def value_export(folder: Path, task: str, variable: str, body: str) -> None:
    _write(folder / "exports" / task / f"{variable}.json", '{"value": ' + body + "}")


def empty_lists(total_bytes: int) -> str:
    """A JSON list of empty lists that makes ``{"value": ...}`` ``total_bytes`` long: the most objects per byte."""
    count = (total_bytes - len('{"value": []}') + 1) // 3
    return "[" + ",".join(["[]"] * count) + "]"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)


# --- one attack: its folder, its benign twin (the warm-up), and how each version reads it ----------------------

class Attack:
    def __init__(self, key: str, title: str, assignment: str, task: str, variable: str, mode: str,
                 build: Callable[[Path], None], warm: Callable[[Path], None]) -> None:
        self.key, self.title, self.assignment, self.task, self.variable = key, title, assignment, task, variable
        self.mode = mode  # "read" (load_task_evidence) or "copy" (the container's copy of the export folder)
        self.build, self.warm = build, warm


def attacks(options: argparse.Namespace) -> list[Attack]:
    ids = _host_case_ids("by_hand", "convolve", "convolve")
    small = _npy_bytes((4,), bytes(32))
    answer = _npy_bytes((options.probe_mb * MB // 8,), bytes(options.probe_mb * MB))
    terabyte = _npy_bytes((2**40 // 8,), bytes(64))
    json_bytes, any_most, value_most = options.json_mb * MB, 16 * MB, MB
    training = _wanted("fashion_cnn")["exports/data/training_images.npy"]  # the current tree's limit for it
    depth = options.depth

    def warm_probe(folder: Path) -> None:
        probe_folder(folder, ids, small, 3, True)

    def warm_value(folder: Path) -> None:
        value_export(folder, "quiz", "q1_conv_size", "[26, 26]")
        _write(folder / "exports" / "quiz.json", '{"q1_conv_size": {"status": "ok"}}')

    def warm_any(folder: Path) -> None:
        value_export(folder, "q1", "output_size", '{"__tuple__": [26, 26]}')

    def warm_copy(folder: Path) -> None:
        _write(folder / "exports" / "data" / "training_images.npy", small)
        _write(folder / "exports" / "data.json", "{}")

    return [
        Attack("1a", f"{options.aliases} aliases of one {options.probe_mb} MB probe answer", "by_hand", "convolve",
               "convolve", "read", lambda f: probe_folder(f, ids, answer, options.aliases, False), warm_probe),
        Attack("1b", f"1a + the host's {len(ids)} case ids hard-linked to it", "by_hand", "convolve", "convolve",
               "read", lambda f: probe_folder(f, ids, answer, options.aliases, True), warm_probe),
        Attack("2a", f"{options.json_mb} MB JSON of [] items, kind any", "conv_arithmetic", "q1", "output_size",
               "read", lambda f: value_export(f, "q1", "output_size", empty_lists(json_bytes)), warm_any),
        Attack("2b", "16 MB JSON of [] items, kind any", "conv_arithmetic", "q1", "output_size", "read",
               lambda f: value_export(f, "q1", "output_size", empty_lists(any_most)), warm_any),
        Attack("2c", f"{options.json_mb} MB JSON of [] items, kind value", "by_hand", "quiz", "q1_conv_size", "read",
               lambda f: value_export(f, "quiz", "q1_conv_size", empty_lists(json_bytes)), warm_value),
        Attack("2d", "1 MB JSON of [] items, kind value", "by_hand", "quiz", "q1_conv_size", "read",
               lambda f: value_export(f, "quiz", "q1_conv_size", empty_lists(value_most)), warm_value),
        Attack("3", "probe answer whose .npy header claims 1 TB", "by_hand", "convolve", "convolve", "read",
               lambda f: probe_folder(f, ids, terabyte, 1, True), warm_probe),
        Attack("4a", f"container copy: {options.sparse_gb} GB sparse file as training_images.npy", "fashion_cnn",
               "data", "training_images", "copy",
               lambda f: sparse(f / "exports" / "data" / "training_images.npy", options.sparse_gb * 2**30),
               warm_copy),
        Attack("4b", f"container copy: {training / 2**30:.2f} GB sparse, at the current limit", "fashion_cnn",
               "data", "training_images", "copy",
               lambda f: sparse(f / "exports" / "data" / "training_images.npy", training), warm_copy),
        Attack("5a", f"value export nested {depth:,} deep", "by_hand", "quiz", "q1_conv_size", "read",
               lambda f: value_export(f, "quiz", "q1_conv_size", nested(depth)), warm_value),
        Attack("5b", f"probe report nested {depth:,} deep", "by_hand", "convolve", "convolve", "read",
               lambda f: probe_folder(f, ids, small, 1, True, extra=nested(depth)), warm_probe),
        Attack("5c", f"any export nested {depth:,} deep", "conv_arithmetic", "q1", "output_size", "read",
               lambda f: value_export(f, "q1", "output_size", nested(depth)), warm_any),
        Attack("5d", f"exporter's report nested {depth:,} deep", "by_hand", "quiz", "q1_conv_size", "read",
               lambda f: (warm_value(f), _write(f / "exports" / "quiz.json", '{"q1_conv_size": '
                                                 + nested(depth) + "}")), warm_value),
    ]


# --- the child: one reading, measured ---------------------------------------------------------------------------

def _apparent_bytes(folder: Path) -> tuple[int, int]:
    count = size = 0
    for base, _, files in os.walk(folder):
        for name in files:
            count += 1
            size += os.lstat(os.path.join(base, name)).st_size
    return count, size


def _short(text: Any, most: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= most else text[:most - 3] + "..."


def describe(value: Any) -> str:
    """A few words on what a reader returned for one variable."""
    import numpy as np

    if type(value).__name__ == "Missing":
        return "refused: " + _short(value.reason)
    if type(value).__name__ == "ProbedFunction":
        arrays = [a for a in value.outputs.values() if isinstance(a, np.ndarray)]
        refused = [m for m in value.outputs.values() if not isinstance(m, np.ndarray)]
        words = f"read {len(arrays)} answers ({sum(a.nbytes for a in arrays) / MB:,.0f} MB)"
        if refused:
            words += f", {len(refused)} refused: " + _short(refused[-1].reason, 50)
        return words
    if isinstance(value, (list, tuple, dict)):
        return f"read a {type(value).__name__} of {len(value):,} items"
    return f"read a {type(value).__name__}"


def reader(attack: dict) -> tuple[Callable[[Path, Path], str], str]:
    """How this version of ``grader`` reads (or copies) the attack's export folder, and which API that is."""
    from grader.course.assignment import load_assignment
    from grader.grading.evidence import load_task_evidence

    spec = load_assignment(attack["assignment"]).spec
    task = spec.task(attack["task"])
    probes = {attack["variable"]: "ok"}
    old_api = "exports" in inspect.signature(load_task_evidence).parameters

    if attack["mode"] == "copy":
        if old_api:
            from grader.sandbox.container import copy_regular_files

            def copy(source: Path, target: Path) -> str:
                copy_regular_files(source, target)
                count, size = _apparent_bytes(target)
                return f"copied {count} files ({size / MB:,.0f} MB)"
            return copy, "copy_regular_files"
        from grader.grading.evidence import evidence_files
        from grader.untrusted import copy_wanted_files

        wanted = evidence_files(spec)

        def copy_wanted(source: Path, target: Path) -> str:
            target.mkdir(parents=True, exist_ok=True)
            left_out = copy_wanted_files(source, target, wanted)
            count, size = _apparent_bytes(target)
            words = f"copied {count} files ({size / MB:,.0f} MB)"
            for name, why in left_out.items():
                words += f"; left out {Path(name).name}: {_short(why, 60)}"
            return words
        return copy_wanted, "copy_wanted_files"

    def read(folder: Path, _: Path) -> str:
        if old_api:
            evidence = load_task_evidence(folder, task.name, task.exports, probes)
        else:
            evidence = load_task_evidence(folder, task, probes, {}, {})
        return describe(evidence[attack["variable"]])
    return read, "load_task_evidence"


def child(attack: dict) -> dict:
    root = Path(attack["root"]).resolve()
    sys.path.insert(0, str(root))
    import grader

    where = Path(grader.__file__).resolve()
    if root not in where.parents:
        return {"outcome": f"wrong grader imported ({where})"}
    action, api = reader(attack)
    action(Path(attack["warm"]), Path(attack["warm_target"]))  # the lazy imports, on a benign folder
    shutil.rmtree(attack["warm_target"], ignore_errors=True)
    gc.collect()
    after_imports = peak_rss()
    resident = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()
    with FolderPeak(Path(tempfile.gettempdir())) as tmp:
        started = time.perf_counter()
        try:
            outcome = action(Path(attack["folder"]), Path(attack["target"]))
        except BaseException as exc:  # noqa: BLE001 - a reader that raises is the outcome measured
            outcome = f"crash: {type(exc).__name__}" + (f": {_short(exc, 50)}" if str(exc) else "")
        seconds = time.perf_counter() - started
    return {"outcome": outcome, "api": api, "seconds": round(seconds, 2),
            "after_imports_mb": round(after_imports / MB), "resident_mb": round(resident / MB),
            "above_imports_mb": round((peak_rss() - after_imports) / MB),
            "tmp_mb": round(tmp.bytes / MB, 1)}


# --- the parent ------------------------------------------------------------------------------------------------

def run_child(attack: Attack, version: str, root: Path, work: Path, options: argparse.Namespace) -> dict:
    """One version's reading of one attack, in a fresh process with an address-space limit and a time limit."""
    gc.collect()
    cell = work / f"{attack.key}-{version}"
    tmpdir, target, warm_target = cell / "tmp", cell / "target", cell / "warm-target"
    tmpdir.mkdir(parents=True)
    if attack.mode == "copy":
        target.mkdir()
        warm_target.mkdir()
    limit = options.limit_gb * 2**30

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    spec = {"root": str(root), "folder": str(work / attack.key / "hostile"), "warm": str(work / attack.key / "warm"),
            "target": str(target), "warm_target": str(warm_target), "assignment": attack.assignment,
            "task": attack.task, "variable": attack.variable, "mode": attack.mode}
    env = dict(os.environ, TMPDIR=str(tmpdir), PYTHONDONTWRITEBYTECODE="1", TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)
    process = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)], env=env, cwd=str(root),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=limits,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=options.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        result = {"outcome": f"timed out after {options.timeout} s (killed)"}
    else:
        lines = [line for line in stdout.splitlines() if line.startswith("{")]
        if lines:
            result = json.loads(lines[-1])
        elif process.returncode < 0:
            name = signal.Signals(-process.returncode).name
            result = {"outcome": f"killed by {name} (the {options.limit_gb} GB address-space limit?)"}
        else:
            last = (stderr.strip().splitlines() or [""])[-1]
            result = {"outcome": f"child died (rc {process.returncode}): {_short(last, 60)}"}
    if result.get("outcome", "").startswith("crash: MemoryError"):
        result["outcome"] += f" (raised with the {options.limit_gb} GB address-space limit in force)"
    written = result.get("tmp_mb", round(folder_bytes(tmpdir) / MB, 1)) + round(folder_bytes(target) / MB, 1)
    result["disk_mb"] = round(written, 1)
    shutil.rmtree(cell, ignore_errors=True)  # a copy's gigabytes go at once
    return result


def baseline_tree(path: str | None, work: Path) -> tuple[Path | None, str, Callable[[], None]]:
    """The baseline's tree, a note on where it came from, and how to remove it."""
    if path:
        return Path(path).resolve(), f"baseline: {path} (given)", lambda: None
    if shutil.which("git") is None:
        return None, "baseline: not measured (git is not available to check out commit " + BASELINE_COMMIT + ")", \
            lambda: None
    tree = work / f"baseline-{BASELINE_COMMIT}"
    done = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), BASELINE_COMMIT],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, f"baseline: not measured (git worktree add failed: {_short(done.stderr, 120)})", lambda: None

    def remove() -> None:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True,
                       check=False)
    return tree, f"baseline: commit {BASELINE_COMMIT}, checked out at {tree} (removed after)", remove


def ratio(baseline: dict, current: dict, key: str) -> str:
    """baseline / current, a figure under 1 MB counting as 1 MB; ">limit" where the baseline died at a limit."""
    if key not in current:
        return "n/a"
    if key not in baseline:
        return ">limit" if "limit" in baseline.get("outcome", "") or "timed out" in baseline.get("outcome", "") \
            else "n/a"
    old, new = baseline[key], current[key]
    if old < 1 and new < 1:
        return "-"
    return f"{old / max(new, 1):,.1f}x"


def print_table(rows: list[tuple[Attack, str, dict]], results: dict[tuple[str, str], dict]) -> None:
    header = ("attack", "version", "outcome", "after imports MB", "peak above MB", "disk MB", "s",
              "ratio mem", "ratio disk")
    table = [header]
    for attack, version, result in rows:
        ratios = ("", "")
        if version == "current" and (attack.key, "baseline") in results:
            old = results[(attack.key, "baseline")]
            ratios = (ratio(old, result, "above_imports_mb"), ratio(old, result, "disk_mb"))
        table.append((f"{attack.key} {attack.title}" if version == "baseline" or (attack.key, "baseline")
                      not in results else "", version, result.get("outcome", "?"),
                      str(result.get("after_imports_mb", "-")), f"{result.get('above_imports_mb', '-'):,}"
                      if "above_imports_mb" in result else "-", f"{result.get('disk_mb', 0):,.1f}",
                      f"{result.get('seconds', '-')}", *ratios))
    widths = [min(max(len(row[i]) for row in table), 62 if i in (0, 2) else 200) for i in range(len(header))]
    for number, row in enumerate(table):
        cells = []
        for i, cell in enumerate(row):
            cell = cell if len(cell) <= widths[i] else cell[:widths[i] - 3] + "..."
            cells.append(cell.rjust(widths[i]) if i >= 3 else cell.ljust(widths[i]))
        print(" | ".join(cells).rstrip())
        if number == 0:
            print("-+-".join("-" * w for w in widths))


def copy_totals() -> list[str]:
    """What the current tree copies out of a container at most, per assignment: every wanted name at its limit."""
    sys.path.insert(0, str(ROOT))
    from grader.course.assignment import load_assignment
    from grader.grading.evidence import evidence_files

    lines = []
    for name in sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()):
        try:
            wanted = evidence_files(load_assignment(name).spec)
        except Exception as exc:  # noqa: BLE001 - a figure for the others
            lines.append(f"  {name}: {type(exc).__name__}")
            continue
        largest = max(wanted.items(), key=lambda item: item[1])
        lines.append(f"  {name}: {len(wanted)} names, {sum(wanted.values()) / 2**30:,.2f} GB in all "
                     f"(largest {largest[0]}: {largest[1] / 2**30:,.2f} GB)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a checkout of the baseline (default: git worktree of c65f814)")
    parser.add_argument("--limit-gb", type=int, default=8, help="address-space limit of each reading process")
    parser.add_argument("--timeout", type=int, default=240, help="seconds each reading may take")
    parser.add_argument("--only", nargs="*", help="attack keys to run (1a 2b ...)")
    parser.add_argument("--probe-mb", type=int, default=60)
    parser.add_argument("--aliases", type=int, default=40)
    parser.add_argument("--json-mb", type=int, default=100)
    parser.add_argument("--sparse-gb", type=int, default=2)
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(json.loads(options.child))))
        return

    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    try:
        baseline, note, remove = baseline_tree(options.baseline, work)
        try:
            head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                                  text=True, check=False).stdout.strip()[:70]
            dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--short", "--untracked-files=no", "grader"],
                                   capture_output=True, text=True, check=False).stdout.split("\n")
            dirty = [line.split()[-1] for line in dirty if line.strip()]
        except OSError:
            head, dirty = "(git not available)", []
        print(f"current: {ROOT} at {head}" + (f" (uncommitted edits in {len(dirty)} files of grader/: "
                                                + ", ".join(Path(d).name for d in dirty) + ")" if dirty else ""))
        print(note)
        print(f"each reading: a fresh process, address space at most {options.limit_gb} GB, {options.timeout} s; "
              f"peaks from VmHWM (see peak_rss); disk: TMPDIR's peak + the copy's target, in blocks")
        print(flush=True)
        versions = [("baseline", baseline)] if baseline else []
        versions.append(("current", ROOT))
        rows, results = [], {}
        try:
            for attack in attacks(options):
                if options.only and attack.key not in options.only:
                    continue
                attack.build(work / attack.key / "hostile")
                attack.warm(work / attack.key / "warm")
                for version, root in versions:
                    result = run_child(attack, version, root, work, options)
                    results[(attack.key, version)] = result
                    rows.append((attack, version, result))
                    print(f"  ran {attack.key} {version}: {result.get('outcome')}", file=sys.stderr, flush=True)
                shutil.rmtree(work / attack.key, ignore_errors=True)
        finally:
            remove()
        print_table(rows, results)
        slack = max((r["after_imports_mb"] - r["resident_mb"] for r in results.values() if "resident_mb" in r),
                    default=0)
        print(f"(peak above imports: how far the reading raised the process's peak; a reading that stays under the "
              f"peak its imports reached shows 0, and that peak was at most {slack} MB above the memory then resident)")
        print()
        print("6 Keras files (a config declaring a 1.5 GB Dense, 800 MB of compressed assets): "
              "benchmarks/model_file_attacks.py")
        print("the most the current tree copies out of a container (every name evidence_files() wants, each at its "
              "limit by apparent size; a sparse file is written out in full):")
        for line in copy_totals():
            print(line)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
