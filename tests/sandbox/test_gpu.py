"""Grading on the GPU when told to: which devices and variables a sandbox gets, and a plain answer where this
machine or its TensorFlow cannot.  No GPU is lent to CI: the last test runs a real bubblewrap sandbox with files
standing in for the device nodes, which proves the plumbing (devices, variables, limits), not CUDA itself."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from grader.errors import SandboxUnavailableError
from grader.sandbox.base import INSIDE_EXPORT, INSIDE_WORKDIR, SandboxRun
from grader.sandbox.bubblewrap import BubblewrapSandbox, bwrap_argv
from grader.sandbox.gpu import GpuShare, GpuUnavailableError, check_tensorflow_has_cuda, find_gpus
from grader.spec import Limits

LIMITS = Limits(notebook_timeout_s=120, cell_timeout_s=60, memory_mb=2048, cpus=1, max_processes=200, disk_mb=256)


def fake_dev(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("")
        (folder / name).chmod(0o666)
    return folder


def test_the_gpus_and_the_driver_files_are_found(tmp_path):
    dev = fake_dev(tmp_path / "dev", "nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-caps", "null")
    share = find_gpus(dev)
    assert share.gpus == (0, 1)
    assert share.devices == tuple(str(dev / n) for n in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"))


def test_workers_take_the_gpus_in_turn_and_share_them():
    share = GpuShare(gpus=(0, 1), devices=())
    assert [share.gpu_of(slot) for slot in range(5)] == [0, 1, 0, 1, 0]
    assert share.environment(3) == {"CUDA_VISIBLE_DEVICES": "1", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def test_no_gpu_says_so(tmp_path):
    with pytest.raises(GpuUnavailableError, match=r"no NVIDIA GPU on this machine \(no .*/nvidia0\)"):
        find_gpus(fake_dev(tmp_path / "dev", "null"))
    with pytest.raises(GpuUnavailableError, match="nvidiactl is missing"):
        find_gpus(fake_dev(tmp_path / "dev2", "nvidia0"))


def test_a_tensorflow_without_cuda_says_what_to_install():
    """This project's environment has tensorflow-cpu: the real question, asked of the real TensorFlow."""
    with pytest.raises(GpuUnavailableError, match=r"built without CUDA.*tensorflow\[and-cuda\]"):
        check_tensorflow_has_cuda(sys.executable)


def test_the_sandbox_gets_the_devices_and_the_gpu_variables(tmp_path):
    dev = fake_dev(tmp_path / "dev", "nvidia0", "nvidiactl")
    run = SandboxRun(workdir=tmp_path / "work", export_dir=tmp_path / "export", job={}, limits=LIMITS)
    argv = bwrap_argv(run, sys.executable, find_gpus(dev), slot=0)
    assert argv[argv.index(str(dev / "nvidia0")) - 1:][:3] == ["--dev-bind", str(dev / "nvidia0"), "/dev/nvidia0"]
    assert ["--setenv", "TF_FORCE_GPU_ALLOW_GROWTH", "true"] == argv[argv.index("TF_FORCE_GPU_ALLOW_GROWTH") - 1:][:3]
    plain = bwrap_argv(run, sys.executable)
    assert "--dev-bind" not in plain and "TF_FORCE_GPU_ALLOW_GROWTH" not in plain


def test_the_gpu_is_refused_by_name_where_it_cannot_be_used(monkeypatch):
    from grader.sandbox import select

    with pytest.raises(SandboxUnavailableError, match="no NVIDIA GPU|built without CUDA"):
        select.choose_sandbox("bubblewrap", gpu=True)
    with pytest.raises(SandboxUnavailableError, match="bubblewrap sandbox"):
        select.choose_sandbox("container", gpu=True)


SEEN = """import json, os
limits = {line[:26].strip(): line[26:].split()[0] for line in open('/proc/self/limits').read().splitlines()[1:]}
open(os.path.expanduser('~/.local/share/jupyter/runtime/seen.json'), 'w').write(json.dumps({
    'devices': sorted(n for n in os.listdir('/dev') if n.startswith('nvidia')),
    'env': {k: os.environ.get(k) for k in ('CUDA_VISIBLE_DEVICES', 'TF_FORCE_GPU_ALLOW_GROWTH')},
    'data': limits['Max data size'], 'address_space': limits['Max address space']}))"""


@pytest.mark.parametrize("gpu", [True, False])
def test_a_notebook_in_a_gpu_sandbox_sees_the_devices_and_its_limits(gpu):
    folder = Path(tempfile.mkdtemp(prefix="notebook-grader-test-"))  # the sandbox's user passes through it
    os.chmod(folder, 0o755)
    try:
        dev = fake_dev(folder / "dev", "nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm")
        os.chmod(dev, 0o755)
        work, export = folder / "work", folder / "export"
        work.mkdir()
        export.mkdir()
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SEEN)]), work / "nb.ipynb")
        job = {"notebook": f"{INSIDE_WORKDIR}/nb.ipynb", "workdir": INSIDE_WORKDIR, "export_dir": INSIDE_EXPORT,
               "cell_timeout_s": 60, "notebook_timeout_s": 120, "max_output_bytes": 100_000, "tasks": [],
               "probes": []}
        sandbox = BubblewrapSandbox(cpu_slot=1, gpu=find_gpus(dev) if gpu else None)
        outcome = sandbox.run(SandboxRun(workdir=work, export_dir=export, job=job, limits=LIMITS,
                                         evidence_files={"seen.json": 10_000}))
        assert outcome.exit_code == 0, outcome.log_tail
        seen = json.loads((export / "seen.json").read_text())  # as root, only the files asked for are copied out
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    limit = str(LIMITS.memory_mb * 2**20)
    if gpu:
        assert seen == {"devices": ["nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl"],
                        "env": {"CUDA_VISIBLE_DEVICES": "1", "TF_FORCE_GPU_ALLOW_GROWTH": "true"},
                        "data": limit, "address_space": "unlimited"}
    else:
        assert seen == {"devices": [], "env": {"CUDA_VISIBLE_DEVICES": None, "TF_FORCE_GPU_ALLOW_GROWTH": None},
                        "data": "unlimited", "address_space": limit}
