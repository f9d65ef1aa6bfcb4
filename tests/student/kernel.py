"""A real Jupyter kernel driven cell by cell, as JupyterLab drives it, keeping what each cell displayed."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import KernelManager


@dataclass
class CellOutput:
    """What one executed cell showed: plain text, HTML, and the error if it raised."""

    text: str = ""
    html: str = ""
    error: str = ""
    outputs: list = field(default_factory=list)


class StudentKernel:
    """``python3`` started in the student's folder; ``run(code)`` executes one cell and returns its outputs."""

    def __init__(self, folder: Path, env: dict | None = None) -> None:
        self.folder = folder
        self.env = env
        self.manager = KernelManager(kernel_name="python3")

    def __enter__(self) -> "StudentKernel":
        self.manager.start_kernel(cwd=str(self.folder), **({"env": self.env} if self.env else {}))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        return self

    def __exit__(self, *_) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def run(self, code: str, timeout: float = 120) -> CellOutput:
        found = CellOutput()

        def keep(message: dict) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                found.text += content["text"]
            elif kind in ("execute_result", "display_data"):
                found.text += content["data"].get("text/plain", "") + "\n"
                found.html += content["data"].get("text/html", "")
            elif kind == "error":
                found.error = f"{content['ename']}: {content['evalue']}"
            found.outputs.append(message)

        self.client.execute_interactive(code, output_hook=keep, timeout=timeout)
        return found
