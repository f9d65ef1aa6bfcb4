"""What a kernel template would save: a kernel forked from a process that has imported ipykernel (and, with
``--tensorflow``, TensorFlow) against a kernel started afresh, side by side (issue 24's first design to weigh).

Run: .venv/bin/python benchmarks/kernel_template.py [--runs 5] [--tensorflow]

For each run, alternating: a fresh ``python -m ipykernel_launcher`` and a fork of the template, each until it
answers its first request and has run a cell (with ``--tensorflow``, a cell that trains a tiny Keras model: a
forked TensorFlow must still work, and give what a fresh one gives).  Prints the wall seconds to that point, the
kernel's CPU seconds, and the cell's answer.  Outside any sandbox: this measures what the template saves, not how
a forked kernel would be isolated (a sandbox of its own around each fork, which is the hard part).  Asserts nothing.
"""
from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

TICK = os.sysconf("SC_CLK_TCK")
CELL = "x = sum(range(1000)); x"
TF_CELL = ("import numpy as np, keras\nkeras.utils.set_random_seed(1)\n"
           "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='relu'),"
           " keras.layers.Dense(1)])\n"
           "m.compile('sgd', 'mse')\nh = m.fit(np.ones((64, 4)), np.ones((64, 1)), epochs=2, verbose=0)\n"
           "round(float(h.history['loss'][-1]), 6)")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def result_of(connection: str, code: str) -> str:
    client = BlockingKernelClient(connection_file=connection)
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        found: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "execute_result":
                found.append(msg["content"]["data"]["text/plain"])

        client.execute_interactive(code, timeout=120, output_hook=hook)
        return found[-1] if found else "no result"
    finally:
        client.stop_channels()


def fresh_kernel(folder: Path, code: str) -> tuple[float, float, str]:
    connection, _ = write_connection_file(str(folder / f"fresh-{time.time_ns()}.json"))
    started = time.perf_counter()
    kernel = subprocess.Popen([sys.executable, "-m", "ipykernel_launcher", "-f", connection],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        value = result_of(connection, code)
        return time.perf_counter() - started, cpu_seconds(kernel.pid), value
    finally:
        kernel.kill()
        kernel.wait()


class Template:
    """A process that has imported what a kernel imports, then forks a kernel per request (a pipe of requests)."""

    def __init__(self, tensorflow: bool) -> None:
        requests, self.requests = os.pipe()
        self.replies, replies = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the template
            os.close(self.requests)
            os.close(self.replies)
            import ipykernel.kernelapp  # noqa: F401
            import IPython  # noqa: F401
            import numpy  # noqa: F401
            if tensorflow:
                import keras  # noqa: F401
                import tensorflow  # noqa: F401
            signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # its kernels need no reaping
            with os.fdopen(requests) as lines:
                for line in lines:
                    kernel = os.fork()
                    if kernel == 0:
                        from ipykernel.kernelapp import IPKernelApp

                        quiet = os.open(os.devnull, os.O_WRONLY)
                        os.dup2(quiet, 1)
                        os.dup2(quiet, 2)

                        IPKernelApp.launch_instance(argv=["-f", line.strip()])
                        os._exit(0)
                    os.write(replies, f"{kernel}\n".encode())
            os._exit(0)
        os.close(requests)
        os.close(replies)
        self.pids = os.fdopen(self.replies)

    def kernel(self, folder: Path, code: str) -> tuple[float, float, str]:
        connection, _ = write_connection_file(str(folder / f"forked-{time.time_ns()}.json"))
        started = time.perf_counter()
        os.write(self.requests, (connection + "\n").encode())
        pid = int(self.pids.readline())
        try:
            value = result_of(connection, code)
            return time.perf_counter() - started, cpu_seconds(pid), value
        finally:
            os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        os.close(self.requests)
        self.pids.close()
        os.waitpid(self.pid, 0)


@click.command()
@click.option("--runs", default=5, show_default=True)
@click.option("--tensorflow", is_flag=True, help="the template imports TensorFlow, and the cell trains a model")
def main(runs: int, tensorflow: bool) -> None:
    code = TF_CELL if tensorflow else CELL
    template = Template(tensorflow)
    time.sleep(8 if tensorflow else 2)  # its imports done before the first request
    fresh: list[tuple[float, float, str]] = []
    forked: list[tuple[float, float, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            for run in range(1, runs + 1):
                for which in (("fresh", "forked") if run % 2 else ("forked", "fresh")):
                    if which == "fresh":
                        fresh.append(fresh_kernel(Path(folder), code))
                    else:
                        forked.append(template.kernel(Path(folder), code))
                print(f"run {run}: fresh {fresh[-1][0]:.2f} s wall, {fresh[-1][1]:.2f} core-s ({fresh[-1][2]});"
                      f" forked {forked[-1][0]:.2f} s wall, {forked[-1][1]:.2f} core-s ({forked[-1][2]})", flush=True)
        finally:
            template.close()
    for name, rows in (("fresh", fresh), ("forked", forked)):
        print(f"{name}: median {statistics.median(r[0] for r in rows):.2f} s wall to the cell's answer,"
              f" {statistics.median(r[1] for r in rows):.2f} core-s in the kernel")


if __name__ == "__main__":
    main()
