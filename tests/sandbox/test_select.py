"""Choosing the sandbox: auto prefers the container, a named one is that one or an error, never no sandbox."""
from __future__ import annotations

import pytest

from grader.errors import SandboxUnavailableError
from grader.sandbox import select
from grader.sandbox.base import Sandbox


class Named(Sandbox):
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, run):  # pragma: no cover - never run here
        raise NotImplementedError


def unavailable(why: str):
    def make(cpu_slot: int, batch: str = "") -> Sandbox:
        raise SandboxUnavailableError(why)

    return make


def test_auto_takes_the_container_when_it_is_there(monkeypatch):
    monkeypatch.setattr(select, "_container", lambda slot, batch="": Named("container"))
    monkeypatch.setattr(select, "_bubblewrap", lambda slot, batch="": Named("bubblewrap"))
    assert select.choose_sandbox("auto").name == "container"


def test_auto_takes_bubblewrap_without_the_image(monkeypatch):
    monkeypatch.setattr(select, "_container", unavailable("the image is not built"))
    monkeypatch.setattr(select, "_bubblewrap", lambda slot, batch="": Named("bubblewrap"))
    assert select.choose_sandbox("auto").name == "bubblewrap"


def test_auto_without_any_sandbox_says_why(monkeypatch):
    monkeypatch.setattr(select, "_container", unavailable("no container engine"))
    monkeypatch.setattr(select, "_bubblewrap", unavailable("bubblewrap is not installed"))
    with pytest.raises(SandboxUnavailableError, match="no container engine.*bubblewrap is not installed"):
        select.choose_sandbox("auto")


def test_a_named_container_never_falls_back(monkeypatch):
    monkeypatch.setattr(select, "_container", unavailable("the image is not built"))
    monkeypatch.setattr(select, "_bubblewrap", lambda slot, batch="": Named("bubblewrap"))
    with pytest.raises(SandboxUnavailableError, match="the image is not built"):
        select.choose_sandbox("container")


def test_the_slot_reaches_the_sandbox(monkeypatch):
    seen = []
    monkeypatch.setattr(select, "_bubblewrap", lambda slot: seen.append(slot) or Named("bubblewrap"))
    select.choose_sandbox("bubblewrap", cpu_slot=3)
    assert seen == [3]


def test_unknown_names_are_refused():
    with pytest.raises(SandboxUnavailableError, match="unknown sandbox 'none'"):
        select.choose_sandbox("none")


def test_the_gradescope_sandbox_only_where_gradescope_runs(monkeypatch):
    monkeypatch.setattr(select, "_container", unavailable("x"))
    monkeypatch.setattr(select, "_bubblewrap", lambda slot, batch="": Named("bubblewrap"))
    assert select.choose_sandbox("auto").name == "bubblewrap"
    with pytest.raises(SandboxUnavailableError, match="gradescope-container"):
        select.choose_sandbox("gradescope-container")  # no /autograder here (or not root)
