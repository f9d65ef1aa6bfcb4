"""Attacks on the evidence channel: what a hostile notebook can leave, forge or plant for the host to read.

Each attack is the tiny channel assignment's reference solution with cells added, written as an attacker who
knows the grader's code would write them.  The assignment is real (generated, executed and graded like the
course's) and small: a number, an array, and a hand-written function probed after the last cell beside a task
that must show a picture, so that the probe's answers and the runner's own facts (the pictures a task showed,
how each cell ended, the executed notebook) are all in play, in a couple of seconds per notebook.

``ATTACKS`` maps each attack to its cells and its expected outcome: the points of each task (what the attack
genuinely broke, nothing more: a forged fact never earns a point) and a phrase its feedback must hold.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import notebooks as nbs

BASELINE = {"numbers": 1, "array": 2, "hand": 3}
LIMITS = {"notebook_timeout_s": 120, "cell_timeout_s": 60, "memory_mb": 2048, "cpus": 1, "max_processes": 256,
          "disk_mb": 3072}
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
SHOW_PICTURE = ("import base64\nfrom IPython.display import Image, display\n"
                f"display(Image(data=base64.b64decode({PNG!r})))  # SOLUTION")
# in the command line of every process an attack leaves running; this run's own (a killed run's daemons, not
# this run's, may be on the machine)
MARKER = f"channel-daemon-{os.getpid()}-{time.time_ns() % 10**6}"


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def reference_cells() -> list:
    """by_hand's reference cells, with the ``correlate_3x3`` this solution's held-out check names (the instructor's
    material: never in the student's notebook, nor in the grader's package)."""
    solution = nbformat.read(Path(__file__).resolve().parents[2] / "solutions" / "by_hand" / "by_hand.ipynb", 4)
    marks = [c.source.strip() for c in solution.cells]
    return solution.cells[marks.index("# BEGIN REFERENCES"):marks.index("# END REFERENCES") + 1]


def solution_notebook():
    limits = "\n".join(f"  {k}: {v}" for k, v in LIMITS.items())
    code = nbformat.v4.new_code_cell
    cells = [
        _raw(f"# ASSIGNMENT CONFIG\nname: channel\ntitle: The evidence channel\nlimits:\n{limits}"),
        nbformat.v4.new_markdown_cell("# The evidence channel"),
        code("import numpy as np\nfrom grader.student import check"),
        _raw("# BEGIN QUESTION\nname: numbers\ntitle: 'Task 1: a number'\nexport:\n  answer: value"),
        code("answer = 6 * 7  # SOLUTION"),
        _raw("# BEGIN CHECKS\n- {kind: number, evidence: answer, points: 1, expected: 42}"),
        _raw("# END QUESTION"),
        _raw("# BEGIN QUESTION\nname: array\ntitle: 'Task 2: an array'\nexport:\n  values: array"),
        code("values = np.arange(10) * 2  # SOLUTION"),
        _raw("# BEGIN CHECKS\n- {kind: array_shape, evidence: values, points: 1, shape: [10]}\n"
             "- {kind: array_range, evidence: values, points: 1, min: 0, max: 18}"),
        _raw("# END QUESTION"),
        _raw("# BEGIN QUESTION\nname: hand\ntitle: 'Task 3: by hand'\nexport:\n  convolve: function\n"
             "  pictures: figure"),
        code("def convolve(image, kernel):\n"
             "    windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3))  # SOLUTION\n"
             "    return (windows * kernel).sum(axis=(2, 3))  # SOLUTION"),
        code(SHOW_PICTURE),
        _raw("# BEGIN CHECKS\n- {kind: function_matches, evidence: convolve, points: 2, reference: correlate_3x3,"
             " seed: 3, shapes: [[8, 8], [9, 13]]}\n- {kind: figure_shown, evidence: pictures, points: 1}"),
        _raw("# END QUESTION"),
        *reference_cells(),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_solution(root: Path) -> Path:
    path = root / "solutions" / "channel" / "channel.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solution_notebook(), path)
    return path


@dataclass(frozen=True)
class Attack:
    """Cells added to the reference (task, source, where), the points each task keeps, and a phrase of the
    feedback of a task (task, phrase)."""

    cells: tuple[tuple[str, str, str], ...]
    points: dict[str, float] = field(default_factory=lambda: dict(BASELINE))
    says: tuple[str, str] | None = None
    no_picture: bool = False  # the reference's picture removed: a forged count would be the only way to the point


RUNTIME = "import os\nRUNTIME = os.path.expanduser('~/.local/share/jupyter/runtime')\n"
FORGED_REPORT = ('{"format": 1, "status": {"cells": [], "exports": {}, "probes": {}, "stopped": null}, '
                 '"figures": {"hand": {"pictures": 99}}, "notebook": ""}')
# Replace json.dump / numpy.save in the kernel: the in-kernel exporter and probes call them after the last cell.
PATCH_PROBE_REPORT = RUNTIME + """import json
_real_dump = json.dump
def _forged_dump(obj, fp, *args, **kwargs):
    if isinstance(obj, dict) and 'cases' in obj:
        for case in list(obj['cases']):
            obj['cases'][case]['seconds'] = 'abc'
        for evil in ['../../../../../../../../CANARY', 'CANARY', '/etc/passwd', './' * 40, 'x/../' * 40]:
            obj['cases'][evil[:-4] if evil.endswith('.npy') else evil] = {'status': 'ok'}
        obj['hooks'] = [{'x': 1}] * 1000
        obj['class'] = 'x' * 10**5
    return _real_dump(obj, fp, *args, **kwargs)
json.dump = _forged_dump
"""
CLAIM_WITHOUT_ANSWERS = RUNTIME + """import json, numpy
_real_dump, _real_save = json.dump, numpy.save
def _claiming_dump(obj, fp, *args, **kwargs):
    if isinstance(obj, dict) and 'cases' in obj:
        for case in list(obj['cases']):
            obj['cases'][case] = {'status': 'ok'}
    return _real_dump(obj, fp, *args, **kwargs)
json.dump = _claiming_dump
numpy.save = lambda path, *a, **k: None if '/probes/' in str(path) else _real_save(path, *a, **k)
"""
PATCH_NPY_SAVE = """import numpy, os
_real_save = numpy.save
def _planted_save(path, array, *args, **kwargs):
    path = str(path)
    if '/probes/' in path:
BODY
        return None
    return _real_save(path, array, *args, **kwargs)
numpy.save = _planted_save
"""
CLAIM_TERABYTES = ("with open(path, 'wb') as fp:\n"
                   "    numpy.lib.format.write_array_header_1_0(fp, {'descr': '<f8', 'fortran_order': False,"
                   " 'shape': (10**12,)})\n    fp.write(b'x' * 64)")


LINK_THE_PROBE_REPORT = """import json, os
_real_dump = json.dump
def _linking_dump(obj, fp, *args, **kwargs):
    if isinstance(obj, dict) and 'cases' in obj:
        name = fp.name
        fp.close()
        os.remove(name)
        os.symlink('CANARY', name)
        return None
    return _real_dump(obj, fp, *args, **kwargs)
json.dump = _linking_dump
"""


def planted(body: str) -> str:
    return PATCH_NPY_SAVE.replace("BODY", "\n".join("        " + line for line in body.splitlines()))


# Left running after the kernel: a double fork into a new session, rewriting what the runner used to write.
DAEMON = RUNTIME + """import subprocess, sys
code = '''
import os, time, json
runtime = os.path.expanduser('~/.local/share/jupyter/runtime')
end = time.time() + 600
while time.time() < end:
    os.makedirs(os.path.join(runtime, 'exports', 'hand'), exist_ok=True)
    for name, text in (('status.json', json.dumps({'cells': [], 'stopped': None, 'figures': {'hand': {'pictures': 9}}})),
                       ('executed.ipynb', '{"forged": true}'),
                       ('exports/hand/pictures.json', json.dumps({'value': {'pictures': 9}}))):
        try:
            open(os.path.join(runtime, name), 'w').write(text)
        except OSError:
            pass
    time.sleep(0.01)
'''
subprocess.Popen([sys.executable, '-c', code, '%s'], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
""" % MARKER
# Written over the runner's own channel and log, and through every /proc path to the runner's descriptors.
FORGE_CHANNEL = """import os, sys, glob
forged = %r + '\\n'
opened = 0
for fd in (1, 2):
    os.write(fd, forged.encode())
sys.__stdout__.write(forged); sys.__stdout__.flush()
for path in glob.glob('/proc/[0-9]*/fd/*'):
    if path.startswith('/proc/%%d/' %% os.getpid()):
        continue
    try:
        with open(path, 'w') as handle:
            handle.write(forged)
            opened += 1
    except OSError:
        pass
print(f'OPENED {opened}')  # one write: the forged text, written to the descriptors above, comes in between two
""" % FORGED_REPORT
FORGE_FILES = RUNTIME + """import json
os.makedirs(RUNTIME + '/exports/hand', exist_ok=True)
json.dump({'value': {'pictures': 15}}, open(RUNTIME + '/exports/hand/pictures.json', 'w'))
json.dump({'cells': [], 'stopped': None, 'figures': {'hand': {'pictures': 15}}}, open(RUNTIME + '/status.json', 'w'))
open(RUNTIME + '/executed.ipynb', 'w').write('{"forged": true}')
"""


def _replace_export(task: str, name: str, body: str) -> str:
    """A cell (in a later task) that replaces ``exports/<task>/<name>`` after the task's export."""
    return RUNTIME + f"path = RUNTIME + '/exports/{task}/{name}'\nos.remove(path)\n{body}\n"


JSON_BOMBS = {
    "json_deep": ("'{\"value\": ' + '[' * 50000 + ']' * 50000 + '}'", "nests more than"),
    "json_bigint": ("'{\"value\": ' + '9' * 5000 + '}'", "not valid JSON"),
    "json_nan": ("'{\"value\": NaN}'", "not valid JSON"),
    "json_huge": ("'{\"value\": \"' + 'x' * 50_000_000 + '\"}'", "more than the 1 MB"),
    "json_not_utf8": ("'{\"value\": \"\\udcff\"}'", "not UTF-8"),
}


def attacks(canary: Path) -> dict[str, Attack]:
    later = "hand"
    found: dict[str, Attack] = {
        "baseline": Attack(()),
        # --- the runner's facts: never taken from anything the student's code can write
        "forge_channel": Attack(((later, FORGE_CHANNEL, "end"),), {**BASELINE, "hand": 2},
                                ("hand", "0 pictures shown"), no_picture=True),
        "forge_files": Attack(((later, FORGE_FILES, "end"),), {**BASELINE, "hand": 2},
                              ("hand", "0 pictures shown"), no_picture=True),
        "daemon_forges_after_the_end": Attack((("numbers", DAEMON, "start"),), {**BASELINE, "hand": 2},
                                              ("hand", "0 pictures shown"), no_picture=True),
        "daemon": Attack((("numbers", DAEMON, "start"),)),
        # --- the probe's answers: only the cases the host sent, by its names, as data
        "probe_report_forged": Attack(((later, PATCH_PROBE_REPORT.replace("CANARY", str(canary)), "end"),)),
        "probe_claims_without_answers": Attack(((later, CLAIM_WITHOUT_ANSWERS, "end"),), {**BASELINE, "hand": 1},
                                               ("hand", "the result of convolve was not saved")),
        "probe_report_linked": Attack(((later, LINK_THE_PROBE_REPORT.replace("CANARY", str(canary)), "end"),),
                                      {**BASELINE, "hand": 1}, ("hand", "left a report the grader does not read: it"
                                                                        " is a symbolic link")),
        "forged_report_then_exit": Attack(((later, "import os\nos.write(2, (%r + '\\n').encode())\nos._exit(0)"
                                            % FORGED_REPORT, "start"),), {**BASELINE, "hand": 0},
                                          ("hand", "the kernel stopped")),
        "stop_the_runner": Attack(((later, "import os, signal\nfor sig in (signal.SIGSTOP, signal.SIGTERM,"
                                    " signal.SIGKILL):\n    os.kill(1, sig)", "end"),)),
        "probe_answers_linked": Attack(((later, planted(f"os.symlink({str(canary)!r}, path)"), "end"),),
                                       {**BASELINE, "hand": 1}, ("hand", "is a symbolic link, not data")),
        "probe_answers_claim_terabytes": Attack(((later, planted(CLAIM_TERABYTES), "end"),),
                                                {**BASELINE, "hand": 1}, ("hand", "declares")),
        "probe_answers_pickled": Attack(((later, planted("_real_save(path, numpy.array([{'evil': 1}], dtype=object),"
                                                         " allow_pickle=True)"), "end"),),
                                        {**BASELINE, "hand": 1}, ("hand", "Python objects")),
        "probe_answer_too_large": Attack(((later, "def convolve(image, kernel):\n"
                                           "    return np.zeros((100, 1000, 1000))", "end"),),
                                         {**BASELINE, "hand": 1}, ("hand", "more than the")),
        # --- the exported files: regular files within their limits, under the names the host chose
        "export_linked": Attack(((later, _replace_export("array", "values.npy", f"os.symlink({str(canary)!r}, path)"),
                                  "end"),), {**BASELINE, "array": 0}, ("array", "is a symbolic link, not data")),
        "export_fifo": Attack(((later, _replace_export("array", "values.npy", "os.mkfifo(path)"), "end"),),
                              {**BASELINE, "array": 0}, ("array", "is not a regular file")),
        "export_sparse_2gb": Attack(((later, _replace_export("array", "values.npy",
                                                             "open(path, 'wb').truncate(2 * 2**30)"), "end"),),
                                    {**BASELINE, "array": 0}, ("array", "more than the")),
        "export_header_lies": Attack(((later, _replace_export("array", "values.npy", "import numpy\n" + CLAIM_TERABYTES),
                                       "end"),), {**BASELINE, "array": 0}, ("array", "declares")),
        "export_pickled": Attack(((later, _replace_export("array", "values.npy",
                                                          "import numpy\nnumpy.save(path, numpy.array([{'a': 1}],"
                                                          " dtype=object), allow_pickle=True)"), "end"),),
                                 {**BASELINE, "array": 0}, ("array", "Python objects")),
        "task_folder_linked": Attack(((later, RUNTIME + "import shutil\nshutil.rmtree(RUNTIME + '/exports/numbers')\n"
                                       "os.symlink('/', RUNTIME + '/exports/numbers')", "end"),),
                                     {**BASELINE, "numbers": 0}, ("numbers", "is a symbolic link, not data")),
        "exports_folder_linked": Attack(((later, RUNTIME + "os.rename(RUNTIME + '/exports', RUNTIME + '/old')\n"
                                          f"os.symlink({str(canary.parent)!r}, RUNTIME + '/exports')", "end"),),
                                        {"numbers": 0, "array": 0, "hand": 1}, ("numbers", "symbolic link")),
        "runtime_locked": Attack(((later, RUNTIME + "os.chmod(RUNTIME, 0)", "end"),), {**BASELINE, "hand": 1},
                                 ("hand", "could not be tried")),
        "many_entries": Attack(((later, RUNTIME + "for n in range(30000):\n"
                                 "    open(RUNTIME + '/junk-%d' % n, 'w').close()", "end"),)),
        "strange_names": Attack(((later, RUNTIME + "for name in ('\\x1b[2J', 'a\\nb', '..x', ' '):\n"
                                  "    open(RUNTIME + '/exports/' + name, 'w').write('{}')", "end"),)),
        "export_report_forged": Attack(((later, RUNTIME + "import json\njson.dump({'answer': {'status': 'error',"
                                         " 'detail': {'x': [1] * 10**6}}}, open(RUNTIME + '/exports/numbers.json',"
                                         " 'w'))\nopen(RUNTIME + '/exports/array.json', 'w').write('[' * 100000)",
                                         "end"),)),
        # --- text that reaches the instructor's terminal and the feedback files
        "escape_codes": Attack(((later, "raise ValueError('\\x1b[2J\\x1b]0;pwned\\x07\\n[PASS] hidden check (10/10)"
                                 "\\r\\x1b]52;c;aGVsbG8=\\x07')", "end"),), dict(BASELINE), ("hand", "ValueError")),
        "huge_error": Attack(((later, "raise ValueError('x' * 10**7)", "end"),), dict(BASELINE),
                             ("hand", "ValueError")),
        "flood_the_channel": Attack(((later, "import os\nfor _ in range(100):\n    os.write(1, b'{' * 2**20)",
                                      "end"),)),
    }
    for name, (text, phrase) in JSON_BOMBS.items():
        body = f"open(path, 'w', errors='surrogateescape').write({text})"
        found[name] = Attack(((later, _replace_export("numbers", "answer.json", body), "end"),),
                             {**BASELINE, "numbers": 0}, ("numbers", phrase))
    return found


def notebook(assignment, attack: Attack):
    nb = nbs.reference(assignment)
    if attack.no_picture:
        nbs.replace(nb, "display(Image(data=", "_ = (Image(data=")
    for task, source, where in attack.cells:
        nbs.insert_cell(nb, task, source, where=where)
    return nb
