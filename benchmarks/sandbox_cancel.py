"""What cancelling a started sandbox costs, and whether anything of it is left: a batch's worker cancels one when
another worker takes the submission it started ahead. Two workers start a sandbox each for the assignment's
complete example, wait a random delay (0 to 3 s: bubblewrap starting, the runner importing, its kernel forked),
then cancel both; after each round, every process of a sandbox's user (uids from 700,000,000) that still runs is
listed (an ended one waiting for its parent, a zombie, is not).

Run: .venv/bin/python benchmarks/sandbox_cancel.py [--assignment by_hand] [--rounds 20] (as root, bubblewrap)

Prints the cancel's time by delay and the rounds that left a process; asserts nothing.
"""
from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.batch.workers import GradingJob, Worker  # noqa: E402
from grader.course.assignment import assignment_reference, load_assignment  # noqa: E402
from grader.sandbox.process import user_processes  # noqa: E402
from grader.sandbox.uids import SANDBOX_UID_BASE  # noqa: E402

DELAYS = (0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0)


def running_sandbox_processes() -> list[str]:
    """Every process of a sandbox's user that still runs, as the host's kill counts them (``user_processes``: a
    zombie with its one thread has ended): its PID, user, parent and command. Another grading process's
    sandboxes, at the same time on this machine, would be counted too."""
    users = set()
    for entry in os.scandir("/proc"):
        try:
            uid = Path(entry.path, "status").read_text().split("\nUid:")[1].split()[0]
        except (OSError, IndexError):
            continue
        if int(uid) >= SANDBOX_UID_BASE:
            users.add(int(uid))
    found = []
    for uid in sorted(users):
        for pid in user_processes(uid):
            try:
                parent = Path(f"/proc/{pid}/status").read_text().split("\nPPid:")[1].split()[0]
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:80].decode(errors="replace")
            except (OSError, IndexError):
                continue
            found.append(f"{pid} (user {uid}, parent {parent}): {command}")
    return found


@click.command()
@click.option("--assignment", default="by_hand", show_default=True)
@click.option("--rounds", default=20, show_default=True)
def main(assignment: str, rounds: int) -> None:
    course = load_assignment(assignment)
    notebook = REPO / "examples" / assignment / f"{assignment}_complete.ipynb"
    scratch = Path(tempfile.mkdtemp(prefix="sandbox-cancel-"))
    os.chmod(scratch, 0o755)
    workers = [Worker(course, "bubblewrap", slot, scratch / f"slot-{slot}") for slot in range(2)]
    job = GradingJob(key="cancelled", notebook=str(notebook), assignment=assignment_reference(course),
                     assignment_sha256="-", grader_version="-", sandbox="bubblewrap",
                     limits=asdict(course.spec.limits))
    times: list[tuple[float, float]] = []
    left_rounds = 0

    def start_then_cancel(worker: Worker) -> None:
        delay = random.choice(DELAYS)
        started = worker.start(job)
        time.sleep(delay)
        began = time.monotonic()
        worker.cancel(started)
        times.append((delay, time.monotonic() - began))

    try:
        for number in range(rounds):
            threads = [threading.Thread(target=start_then_cancel, args=(worker,)) for worker in workers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            left = running_sandbox_processes()
            if left:
                left_rounds += 1
                print(f"round {number}: still running after the cancel: {left}", flush=True)
    finally:
        for worker in workers:
            worker.close()
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{assignment}, {rounds} rounds of 2 cancels:")
    for delay in DELAYS:
        took = [seconds for d, seconds in times if d == delay]
        if took:
            print(f"  cancelled {delay:>4} s after its start: median {statistics.median(took):.3f} s,"
                  f" most {max(took):.3f} s ({len(took)} cancels)")
    print(f"  rounds that left a process running: {left_rounds} of {rounds}")


if __name__ == "__main__":
    main()
