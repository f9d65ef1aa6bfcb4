"""Choosing the sandbox: never a silent fallback to running student code without isolation.

``auto`` takes the container sandbox when a container engine and an up-to-date grading image
are there, else bubblewrap; a named sandbox is that one or an error that says why.
``gradescope-container`` (isolation by Gradescope's own container, plus an unprivileged user
and rlimits) is never chosen by ``auto``: only run_autograder names it.
"""
from __future__ import annotations

import logging
import sys
from functools import lru_cache
from typing import TYPE_CHECKING

from grader.errors import SandboxUnavailableError
from grader.sandbox.base import Sandbox

if TYPE_CHECKING:
    from grader.sandbox.gpu import GpuShare

log = logging.getLogger(__name__)

CHOICES = ("auto", "container", "bubblewrap", "gradescope-container")


def choose_sandbox(name: str = "auto", cpu_slot: int = 0, batch: str = "", gpu: bool = False) -> Sandbox:
    """The sandbox called ``name``; ``auto`` takes the best one this machine has; ``batch`` labels containers;
    ``gpu``: the students' code runs on this machine's GPUs (bubblewrap), or an error says why it cannot."""
    if name not in CHOICES:
        raise SandboxUnavailableError(f"unknown sandbox {name!r}; choose one of {', '.join(CHOICES)}")
    if gpu:
        if name not in ("auto", "bubblewrap"):
            raise SandboxUnavailableError(f"--gpu runs in the bubblewrap sandbox, not in {name!r}: the grading"
                                          " image's TensorFlow is built without CUDA (choose --sandbox bubblewrap)")
        return _bubblewrap(cpu_slot, _gpu_share())
    if name == "container":
        return _container(cpu_slot, batch)
    if name == "bubblewrap":
        return _bubblewrap(cpu_slot)
    if name == "gradescope-container":
        from grader.sandbox.gradescope import GradescopeSandbox

        return GradescopeSandbox(cpu_slot=cpu_slot)
    try:
        return _container(cpu_slot, batch)
    except SandboxUnavailableError as container_problem:
        log.info("not using the container sandbox: %s", container_problem)
        try:
            return _bubblewrap(cpu_slot)
        except SandboxUnavailableError as bubblewrap_problem:
            raise SandboxUnavailableError(f"no sandbox can run student code on this machine: {container_problem};"
                                          f" {bubblewrap_problem}") from None


@lru_cache(maxsize=1)
def _gpu_share():
    """This machine's GPUs, once its students' TensorFlow is known to use them (asked once per process)."""
    from grader.sandbox.gpu import check_tensorflow_has_cuda, find_gpus

    share = find_gpus()
    check_tensorflow_has_cuda(sys.executable)
    return share


def _container(cpu_slot: int, batch: str) -> Sandbox:
    from grader.sandbox.container import ContainerSandbox

    return ContainerSandbox(cpu_slot=cpu_slot, batch=batch)


def _bubblewrap(cpu_slot: int, gpu: "GpuShare | None" = None) -> Sandbox:
    from grader.sandbox.bubblewrap import BubblewrapSandbox

    return BubblewrapSandbox(cpu_slot=cpu_slot, gpu=gpu)
