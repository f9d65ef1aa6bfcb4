"""The review page served from a thread, a class with a hostile notebook to serve (``browser``, Debian's Chromium
driven by Playwright, is tests/conftest.py's)."""
from __future__ import annotations

import threading
from pathlib import Path

import nbformat
import pytest

from grader.reviews.server import review_server

from ..reports.builders import class_notebooks, class_results, hostile_result, write_out_dir

# what a student's notebook can hold to run code in a page that shows it as HTML
SCRIPT = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">"


def png() -> str:
    """A real plot, as Jupyter stores it: base64 of the PNG."""
    import base64
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.subplots().plot([0, 1, 0])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def hostile_notebook():
    """A notebook whose every part tries to run script: code, markdown, a stream, an HTML output, an error, an
    image that is not one."""
    cell = nbformat.v4.new_code_cell(f"print('{SCRIPT}')  # </code></pre>{SCRIPT}")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"</pre>{SCRIPT}\x1b[2J"),
                    nbformat.v4.new_output("display_data", data={"text/html": SCRIPT, "text/plain": "<HTML object>"}),
                    nbformat.v4.new_output("display_data", data={"image/png": "PHNjcmlwdD4=",
                                                                 "text/plain": "<Figure size 640x480>"}),
                    nbformat.v4.new_output("display_data", data={"image/png": png(), "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("error", ename="ValueError", evalue=SCRIPT, traceback=[])]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Answer {SCRIPT}"), cell])


@pytest.fixture
def class_folder(tmp_path) -> Path:
    results = {**class_results(), "mallory": hostile_result("mallory")}
    notebooks = {**class_notebooks(), "mallory": hostile_notebook()}
    return write_out_dir(tmp_path / "out", results, notebooks, {key: str(1000 + n) for n, key in enumerate(results)})


@pytest.fixture
def serve():
    """``serve(out_dir, assignment)``: the page's URL (with its token), served until the test ends."""
    servers = []

    def start(out_dir: Path, assignment) -> str:
        server = review_server(out_dir, assignment)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.shutdown()
