"""Helpers for end-to-end tests: the CLI run as users run it, and result files read back."""
from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader.results import SubmissionResult

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def read_results(out_dir: Path) -> dict[str, SubmissionResult]:
    return {p.stem: SubmissionResult.from_dict(json.loads(p.read_text()))
            for p in sorted((out_dir / "results").glob("*.json"))}


def read_gradebook(out_dir: Path) -> list[dict[str, str]]:
    with (out_dir / "gradebook.csv").open() as handle:
        return list(csv.DictReader(handle))


def task(result: SubmissionResult, name: str):
    return next(t for t in result.tasks if t.name == name)


def check_result(result: SubmissionResult, task_name: str, kind: str, evidence_word: str = ""):
    return next(c for c in task(result, task_name).checks if c.kind == kind and evidence_word in c.title)


def points_by_task(result: SubmissionResult) -> dict[str, float]:
    return {t.name: t.points for t in result.tasks}


@pytest.fixture(scope="session")
def sandbox():
    from grader.sandbox.select import choose_sandbox

    return choose_sandbox("bubblewrap")  # tests/e2e/test_container.py covers the container sandbox


class Listener:
    """A TCP server on the host's loopback that counts connections."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                self.server.accept()[0].close()
                self.connections += 1
            except OSError:
                continue

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()
