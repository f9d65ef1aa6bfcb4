"""Kernels forked from a template into their sandboxes: the same kernel, by every fact a notebook can read, as
one the runner launches; nothing of the host, of the template or of another submission; a request that is not a
kernel's launch refused, and a runner whose door says no launching its kernel itself."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from grader.inside.kernel_door import ask
from grader.inside.protocol import decode_report
from grader.sandbox import kernel_template
from grader.sandbox.base import SandboxRun
from grader.sandbox.kernel_template import DISABLE_ENV, checked_launch
from grader.sandbox.uids import SANDBOX_UID_BASE
from grader.spec import Limits


@pytest.fixture
def tmp_path():
    """A folder the sandbox's user may pass through (pytest's own are its owner's only)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="template-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


as_root_with_bubblewrap = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("bwrap"), reason="kernel templates join sandboxes as root, with bubblewrap")

FACTS = r'''
import json, os, platform, resource, socket, sys
import numpy as _np
_np.ones((400, 400)) @ _np.ones((400, 400))  # BLAS's threads, as many as the CPUs it saw at its import
def _status(name):
    return [l.split(":", 1)[1].strip() for l in open("/proc/self/status") if l.startswith(name + ":")][0]
_limits = {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")}
def _fd(f):
    try:
        return os.readlink(f"/proc/self/fd/{f}").split(":")[0]
    except OSError:
        return "gone"  # the listing's own descriptor
_fds = sorted(_fd(f) for f in os.listdir("/proc/self/fd"))
print("FACTS" + json.dumps({
    "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()],
    "caps": {n: _status(n) for n in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")},
    "ppid": os.getppid(), "own_session": os.getsid(0) == os.getpid(), "cwd": os.getcwd(),
    "path": sys.path, "argv": sys.argv, "orig_argv": sys.orig_argv,
    "cmdline": open("/proc/self/cmdline").read().replace("\0", " ").strip(),
    "environ": dict(os.environ), "limits": _limits, "cpus": sorted(os.sched_getaffinity(0)),
    "fds": [f for f in _fds if f not in ("socket", "anon_inode", "gone")], "hostname": socket.gethostname(),
    "node": platform.node(), "threads": len(os.listdir("/proc/self/task")),
    "net": sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]),
    "mounts": sorted(l.split()[4] for l in open("/proc/self/mountinfo")),
    "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "own_proc_files": os.stat("/proc/self/environ").st_uid == os.getuid(),
    "home": sorted(os.listdir(os.path.expanduser("~"))),
    "main_file": getattr(sys.modules["__main__"], "__file__", None),
    "grader_modules": sorted(m for m in sys.modules if m.startswith("grader")),
    "modules": sorted(sys.modules),
}))
'''
NUMBERS = "import numpy as np, random\nprint('NUMBERS', np.random.randint(10**9), random.randint(0, 10**9))"
SCRATCH = "import os\nopen('/tmp/{}', 'w').write('x')\nprint('TMP', sorted(os.listdir('/tmp')))"


def _run_in_bubblewrap(folder: Path, cells: list[str], warm_imports: list[str]) -> tuple[str, str]:
    """``cells`` executed by the runner in a bubblewrap sandbox: their text output, and the runner's log."""
    from grader.sandbox.bubblewrap import BubblewrapSandbox

    folder.mkdir()
    folder.chmod(0o711)  # the sandbox's user passes through to its own folders
    work, export = folder / "work", folder / "export"
    work.mkdir()
    export.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, work / "nb.ipynb")
    job = {"notebook": "/home/student/work/nb.ipynb", "workdir": "/home/student/work",
           "export_dir": "/home/student/.local/share/jupyter/runtime", "cell_timeout_s": 120,
           "notebook_timeout_s": 240, "max_output_bytes": 10**6, "tasks": [], "probes": [],
           "warm_imports": warm_imports}
    outcome = BubblewrapSandbox().run(SandboxRun(workdir=work, export_dir=export, job=job,
                                                 limits=Limits(notebook_timeout_s=240, cpus=1)))
    report = decode_report(outcome.report or b"", 2**26)
    assert report is not None and report.notebook, outcome.log_tail
    executed = nbformat.reads(report.notebook, as_version=4)
    printed = "".join(o.get("text", "") or f"{o.get('ename', '')}: {o.get('evalue', '')}\n"
                      for c in executed.cells for o in c.get("outputs", ()))
    return printed, outcome.log_tail


def _facts(printed: str) -> dict:
    line = next((line for line in printed.splitlines() if line.startswith("FACTS")), "")
    assert line, printed
    facts = json.loads(re.sub(r"kernel-[0-9a-f-]{36}\.json", "kernel-ID.json", line[len("FACTS"):]))
    facts["processes"] = len(facts["processes"])  # the kernel's own PID differs by how it came
    uid, euid, gid, egid, groups = facts.pop("ids")  # each sandbox run has a user of its own
    assert uid == euid == gid == egid >= SANDBOX_UID_BASE and groups == []
    facts["cmdline"] = " ".join(facts["cmdline"].split())  # a process title, not NUL-separated arguments
    return facts


@as_root_with_bubblewrap
@pytest.mark.parametrize("warm", [[], ["tensorflow"]], ids=["plain", "tensorflow"])
def test_a_forked_kernel_is_the_launched_kernel_by_every_fact_a_notebook_reads(tmp_path, monkeypatch, warm):
    forked, forked_log = _run_in_bubblewrap(tmp_path / "forked", [FACTS], warm)
    assert "not forked" not in forked_log, forked_log
    monkeypatch.setenv(DISABLE_ENV, "0")
    launched, _ = _run_in_bubblewrap(tmp_path / "launched", [FACTS], warm)
    forked_facts, launched_facts = _facts(forked), _facts(launched)
    forked_modules, launched_modules = set(forked_facts.pop("modules")), set(launched_facts.pop("modules"))
    assert forked_modules == launched_modules, (forked_modules - launched_modules, launched_modules - forked_modules)
    for fact in launched_facts:
        assert forked_facts[fact] == launched_facts[fact], fact
    assert forked_facts["caps"]["CapEff"] == "0000000000000000" and forked_facts["caps"]["NoNewPrivs"] == "1"
    assert forked_facts["net"] == ["lo"] and forked_facts["ppid"] == 1 and forked_facts["grader_modules"] == []


@as_root_with_bubblewrap
def test_kernels_of_one_template_draw_their_own_numbers_and_share_no_file(tmp_path):
    first, _ = _run_in_bubblewrap(tmp_path / "a", [NUMBERS, SCRATCH.format("first")], ["tensorflow"])
    second, log = _run_in_bubblewrap(tmp_path / "b", [NUMBERS, SCRATCH.format("second")], ["tensorflow"])
    assert "not forked" not in log, log
    numbers = [next(line for line in text.splitlines() if line.startswith("NUMBERS")) for text in (first, second)]
    assert numbers[0] != numbers[1]
    assert "'first'" in first and "'second'" in second and "'first'" not in second  # a fresh /tmp each


@as_root_with_bubblewrap
def test_the_template_leaves_nothing_in_the_hosts_home(tmp_path):
    """Keras writes ``~/.keras/keras.json`` and Matplotlib its caches at import: the template imports in a home of
    its own, never the host's (the sandbox's home path, which the host may not even have)."""
    before = os.path.exists("/home/student")
    _run_in_bubblewrap(tmp_path / "a", ["print(1)"], ["tensorflow"])
    assert os.path.exists("/home/student") == before


def test_only_a_kernels_launch_is_passed_on():
    python = sys.executable
    good = {"cmd": [python, "-m", "ipykernel_launcher", "-f", "/tmp/k.json", "--HistoryManager.hist_file=:memory:"],
            "env": {"HOME": "/home/student"}, "cwd": "/home/student/work"}
    assert checked_launch(good, python) == good
    for bad in ({**good, "cmd": [python, "-c", "import os; os.system('id')", "-f", "x"]},
                {**good, "cmd": ["/bin/sh", "-m", "ipykernel_launcher", "-f", "x"]},
                {**good, "cmd": [python, "-m", "ipykernel_launcher", "-f", "x", "-c", "print(1)"]},
                {**good, "env": {"A": 1}}, {**good, "env": {"A=B": "c"}}, {**good, "cwd": "relative"},
                {**good, "cwd": None}, [good], "text"):
        with pytest.raises(ValueError):
            checked_launch(bad, python)


def test_a_runner_whose_door_says_no_launches_its_kernel_itself(capsys):
    runner_end, host_end = socket.socketpair()
    read_end, write_end = os.pipe()
    seen: dict = {}

    def host() -> None:
        data, fds, _flags, _address = socket.recv_fds(host_end, 1 << 16, 1)
        seen.update(json.loads(data), fds=len(fds))
        for fd in fds:
            os.close(fd)
        host_end.sendall(b'{"error": "no template here"}\n')

    thread = threading.Thread(target=host)
    thread.start()
    pid = ask(runner_end.detach(), ["python", "-m", "ipykernel_launcher", "-f", "k.json"],
              {"stdout": write_end, "env": {"A": "b"}, "cwd": "/w"})
    thread.join()
    os.close(read_end)
    os.close(write_end)
    assert pid is None and "no template here" in capsys.readouterr().err
    assert seen["fds"] == 1 and seen["env"] == {"A": "b", "JPY_PARENT_PID": str(os.getpid())}
    assert seen["cwd"] == "/w"


def test_templates_are_wanted_only_as_root_and_not_when_switched_off(monkeypatch):
    monkeypatch.setenv(DISABLE_ENV, "0")
    assert not kernel_template.templates_wanted()
    monkeypatch.delenv(DISABLE_ENV)
    assert kernel_template.templates_wanted() == (os.geteuid() == 0 and sys.platform.startswith("linux"))


def test_the_template_process_imports_no_grader_module_but_its_own():
    """What a forked kernel could find in its memory: the template imports ipykernel and what it is told to,
    never the grader's host modules (specs, answers, the checks)."""
    code = ("import sys, grader.sandbox.template_process as t; "
            "print(sorted(m for m in sys.modules if m.startswith('grader')))")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(eval(shown)) <= {"grader", "grader.errors", "grader.sandbox", "grader.sandbox.template_process"}


@pytest.mark.skipif(os.geteuid() != 0, reason="the template runs as root")
def test_the_template_puts_a_kernel_only_into_a_sandboxs_first_process():
    """A host process, or one of another user (a PID reused after its sandbox ended), is refused: the template
    never joins the host's namespaces."""
    from grader.sandbox.kernel_template import KernelTemplate

    template = KernelTemplate(sys.executable, {"HOME": "/home/student", "PATH": "/usr/bin:/bin"}, [])
    sleeper = subprocess.Popen(["sleep", "30"], user=65534)
    read_end, write_end = os.pipe()
    try:
        launch = {"cmd": [sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k.json"], "env": {}, "cwd": "/"}
        for target, uid in ((os.getpid(), 0), (sleeper.pid, 65534), (sleeper.pid, 200_001)):
            with pytest.raises(OSError, match="not the first of a sandbox|not of the sandbox's user"):
                template.kernel(target, uid, launch, write_end)
    finally:
        sleeper.kill()
        sleeper.wait()
        template.close()
        os.close(read_end)
        os.close(write_end)


def test_a_busy_template_answers_no_in_time_so_that_no_fork_arrives_after_the_runner_gave_up(monkeypatch):
    """The host's longest answer is shorter than the runner's wait: a runner that launched its own kernel never
    gets a second one forked into its sandbox."""
    from grader.inside import kernel_door
    from grader.sandbox.kernel_template import LOCK_WAIT_S, REPLY_TIMEOUT_S, START_TIMEOUT_S, KernelTemplate

    assert LOCK_WAIT_S + START_TIMEOUT_S + REPLY_TIMEOUT_S < kernel_door.ANSWER_TIMEOUT_S
    monkeypatch.setattr(kernel_template, "LOCK_WAIT_S", 0.2)
    template = KernelTemplate(sys.executable, {}, [])
    template.lock.acquire()
    try:
        with pytest.raises(OSError, match="busy"):
            template.kernel(1, 200_001, {}, 0)
    finally:
        template.lock.release()
