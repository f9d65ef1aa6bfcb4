"""Choosing the sandbox: never a silent fallback to running student code without isolation."""
from __future__ import annotations

from ..errors import SandboxUnavailableError
from .base import Sandbox

CHOICES = ("auto", "bubblewrap")


def choose_sandbox(name: str = "auto", cpu_slot: int = 0) -> Sandbox:
    """The sandbox called ``name``; ``auto`` takes the best one this machine has."""
    from .bubblewrap import BubblewrapSandbox

    if name not in CHOICES:
        raise SandboxUnavailableError(f"unknown sandbox {name!r}; choose one of {', '.join(CHOICES)}")
    try:
        return BubblewrapSandbox(cpu_slot=cpu_slot)
    except SandboxUnavailableError as exc:
        raise SandboxUnavailableError(f"no sandbox can run student code on this machine: {exc}") from None
