"""Submissions for end-to-end tests, made from the reference solution by the edits students make.

They stand for students who wrote that code.  ``quick`` ones train on 3,000 images for
one epoch, so that the suite stays inside CI's time: their accuracy checks fail for that
reason, and the tests expect it.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

QUICK_TRAINING = {
    "dense_model.fit(training_images, training_labels, epochs=5)":
        "dense_model.fit(training_images[:3000], training_labels[:3000], epochs=1)",
    "cnn_model.fit(training_images, training_labels, epochs=5)":
        "cnn_model.fit(training_images[:3000], training_labels[:3000], epochs=1)",
    "variant_model.fit(training_images, training_labels, epochs=5)":
        "variant_model.fit(training_images[:3000], training_labels[:3000], epochs=1)",
}


def reference(assignment):
    return assignment.reference_submission()


def replace(nb, old: str, new: str, count: int = 1):
    """Replace ``old`` in the code cells; fail loudly when the reference no longer contains it."""
    done = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and old in cell.source and done < count:
            cell.source = cell.source.replace(old, new, count - done)
            done = min(count, done + 1)
    assert done, f"the reference solution no longer contains {old!r}"
    return nb


def quick(nb):
    """Train each model of the notebook on 3,000 images for one epoch (the accuracy checks then fail, as expected)."""
    for old, new in QUICK_TRAINING.items():
        if any(old in c.source for c in nb.cells if c.cell_type == "code"):
            replace(nb, old, new)
    return nb


def set_answer(nb, task: str, source: str):
    """Replace the answer cell(s) of ``task`` by one cell of ``source``: a student's own way of writing it."""
    cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.metadata["grader"]["task"] == task
             and c.metadata["grader"]["role"] == "answer"]
    assert cells, f"task {task} has no answer cell"
    nb.cells[cells[0]].source = source
    for index in reversed(cells[1:]):
        del nb.cells[index]
    return nb


def code_cells_of(nb, task: str) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.metadata["grader"]["task"] == task]


def insert_cell(nb, task: str, source: str, where: str = "end"):
    """A new code cell in ``task``: at its ``start`` or its ``end``."""
    cells = code_cells_of(nb, task)
    index = cells[0] if where == "start" else cells[-1] + 1
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = f"{task}-inserted-{index}"  # not random: the examples made with it stay the same
    cell.metadata["grader"] = {"task": task, "role": "answer"}
    nb.cells.insert(index, cell)
    return nb


def write(nb, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def network_probe(port: int) -> str:
    """A cell that tries the host's loopback on ``port`` and a DNS lookup, printing 'blocked:' for each refusal."""
    return ("import socket\n"
            "for attempt in (lambda: socket.create_connection(('127.0.0.1', %d), timeout=3),\n"
            "                lambda: socket.getaddrinfo('pypi.org', 443)):\n"
            "    try:\n        attempt()\n        print('CONNECTED')\n"
            "    except OSError as exc:\n        print('blocked:', exc)\n") % port


# Cells of hostile submissions, shared by the suites of both sandboxes.
SNOOP = """import os
found = []
for folder, dirs, files in os.walk('/'):
    if folder in ('/proc', '/sys', '/dev') or os.path.basename(folder) == 'site-packages':
        dirs[:] = []  # (the Python environment's installed packages: 6 s of a 10 s cell limit under CI's load)
        continue
    found += [os.path.join(folder, n) for n in files if n.endswith('.ipynb')]
print('NOTEBOOKS', sorted(found))
for path in (%r, %r, %r, '/src', '/work'):
    print('EXISTS' if os.path.exists(path) else 'ABSENT', path)
"""
FORGE = """import json, os
runtime = os.path.expanduser('~/.local/share/jupyter/runtime')
for folder in (runtime, '/tmp/outputs'):
    os.makedirs(folder + '/exports', exist_ok=True)
    json.dump({'cells': [], 'exports': {}, 'stopped': None}, open(folder + '/status.json', 'w'))
    for name in ('results.json', 'result.json', 'gradebook.csv'):
        open(folder + '/' + name, 'w').write('{"points": 24, "score": 24, "max_points": 24}')
"""
# What a notebook can learn about being graded, before the first export: printed, for the tests to read.
DETECT = """import os
def cmdline(pid):
    return open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode().strip()
print('PID1', cmdline(1))
print('PARENT', os.getppid(), cmdline(os.getppid()))
for what in ('environ', 'fd', 'mem', 'maps'):
    try:
        target = f'/proc/{os.getppid()}/{what}'
        os.listdir(target) if what == 'fd' else open(target, 'rb').read(10)
        print('READABLE', what)
    except OSError as exc:
        print('BLOCKED', what)
print('RUNTIME', sorted(os.listdir(os.path.expanduser('~/.local/share/jupyter/runtime'))))
print('ENVIRONMENT', sorted(os.environ))
print('OUTPUTS', os.path.exists('/tmp/outputs'))
"""
FORK_STORM = """import subprocess
children, error = [], None
for _ in range(600):
    try:
        children.append(subprocess.Popen(['sleep', '120']))
    except OSError as exc:
        error = exc
        break
print('STARTED', len(children), type(error).__name__)
for child in children:
    child.kill()
    child.wait()
"""
FLOOD = """chunk = 'x' * 1_000_000
for _ in range(300):
    print(chunk)
try:
    with open('/proc/1/fd/1', 'w') as runner_output:
        for _ in range(200):
            runner_output.write(chunk)
    print('WROTE TO THE RUNNER')
except OSError as exc:
    print('runner output blocked:', exc)
"""
DISK_FILL = """index = 0
while True:  # many files of 64 MB, so that no per-file limit stops it first
    with open(f'filler{index}.bin', 'wb') as filler:
        filler.write(bytes(2**26))
    index += 1
"""


def printed(executed_path: Path) -> str:
    """Everything the executed notebook's code cells printed."""
    executed = nbformat.read(executed_path, as_version=4)
    return "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", ()))


def assert_looks_ordinary(text: str, notebook_name: str) -> None:
    """What the DETECT cell printed shows an ordinary Jupyter kernel run by ``jupyter-execute``."""
    lines = {line.split(" ", 1)[0]: line for line in text.splitlines() if line}
    assert lines["PID1"].endswith(f"/jupyter-execute {notebook_name}"), lines["PID1"]
    assert lines["PARENT"].startswith("PARENT 1 ") and lines["PARENT"].endswith(f"/jupyter-execute {notebook_name}")
    assert "READABLE" not in text and text.count("BLOCKED") == 4
    runtime = eval(lines["RUNTIME"].split(" ", 1)[1])  # noqa: S307 - a list the test's own cell printed
    assert all(name.startswith("kernel-") and name.endswith(".json") for name in runtime), runtime
    environment = lines["ENVIRONMENT"].upper()
    assert "GRAD" not in environment and "AUTOGRADER" not in environment and "OUTPUTS False" in text
