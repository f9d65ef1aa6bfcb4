"""Grading on the machine's GPUs when told to (``grader batch --gpu``): which devices a sandbox is given, and a
plain answer when this machine or this environment cannot.

Several kernels share a GPU: each bubblewrap sandbox gets the NVIDIA device files and sees one GPU
(``CUDA_VISIBLE_DEVICES``: worker N gets GPU N modulo their number), and TensorFlow takes GPU memory as it needs
it (``TF_FORCE_GPU_ALLOW_GROWTH``) rather than all of it at its first operation, which would starve the next kernel
on the same GPU.  CUDA reserves far more address space than it uses, so on the GPU the memory limit is the data
limit (``RLIMIT_DATA``: the heap and every private writable mapping, what a Python or NumPy allocation takes)
instead of the address-space limit, which CUDA's start would exceed.

The scores are measured on the host, on the CPU, the same with or without ``--gpu`` (the resident checker is
never given a GPU): only the students' own code runs on it.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SandboxUnavailableError

CONTROL_DEVICES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")
_GPU_DEVICE = re.compile(r"nvidia(\d+)$")
CUDA_CHECK = "import tensorflow as tf; print(tf.test.is_built_with_cuda())"


class GpuUnavailableError(SandboxUnavailableError):
    """Told to grade on the GPU, and this machine or its TensorFlow cannot."""


@dataclass(frozen=True)
class GpuShare:
    """The NVIDIA devices of this machine, as the sandboxes of a batch share them."""

    gpus: tuple[int, ...]  # the GPUs' numbers (/dev/nvidiaN)
    devices: tuple[str, ...]  # every device file a CUDA program opens: the GPUs' and the driver's control files

    def gpu_of(self, slot: int) -> int:
        """The GPU worker ``slot`` uses: the workers take them in turn, several kernels on each."""
        return self.gpus[slot % len(self.gpus)]

    def environment(self, slot: int) -> dict[str, str]:
        """What the sandbox's process is given (ordinary CUDA and TensorFlow variables, as on a desktop with a
        GPU): its GPU, and memory taken as needed so that kernels can share it."""
        return {"CUDA_VISIBLE_DEVICES": str(self.gpu_of(slot)), "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def find_gpus(dev: Path = Path("/dev")) -> GpuShare:
    """This machine's NVIDIA GPUs, or an error that says what is missing."""
    gpus = sorted(int(m.group(1)) for p in dev.glob("nvidia*") for m in [_GPU_DEVICE.match(p.name)] if m)
    if not gpus:
        raise GpuUnavailableError(f"no NVIDIA GPU on this machine (no {dev}/nvidia0): grade without --gpu, or on a"
                                  " machine whose NVIDIA driver is loaded")
    if not (dev / "nvidiactl").exists():
        raise GpuUnavailableError(f"{dev}/nvidiactl is missing: the NVIDIA driver is not fully loaded (nvidia-smi"
                                  " says more)")
    devices = [str(dev / f"nvidia{n}") for n in gpus] + [str(dev / c) for c in CONTROL_DEVICES if (dev / c).exists()]
    return GpuShare(gpus=tuple(gpus), devices=tuple(devices))


def check_tensorflow_has_cuda(python: str) -> None:
    """The students' TensorFlow (the environment the sandbox runs) must be built with CUDA: ``tensorflow-cpu``,
    which this project installs by default, never uses a GPU."""
    try:
        done = subprocess.run([python, "-c", CUDA_CHECK], capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GpuUnavailableError(f"could not ask {python}'s TensorFlow whether it has CUDA: {exc}") from None
    if done.returncode != 0:
        raise GpuUnavailableError(f"{python} could not import TensorFlow: {done.stderr.strip()[-300:]}")
    if done.stdout.strip().splitlines()[-1:] != ["True"]:
        raise GpuUnavailableError("this environment's TensorFlow is built without CUDA (tensorflow-cpu), so it"
                                  " cannot use a GPU: install TensorFlow with CUDA in the grading environment"
                                  " (pip install 'tensorflow[and-cuda]' of the same version) to grade on the GPU")
