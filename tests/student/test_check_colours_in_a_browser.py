"""The check table read in a real browser, in JupyterLab's light and dark themes and on a plain white page: every
coloured text of it at WCAG's 4.5:1 or better against the page it is shown on (issue 18, point 8)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from grader.student import check

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must look at the check table in a real browser, but Debian's chromium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

# The variables the table uses, as JupyterLab 4.6's own themes set them (theme-light-extension and
# theme-dark-extension, index.css), and the background of a notebook's output area in each.
THEMES = {
    "jupyterlab-light": ("#ffffff", {"--jp-success-color0": "#1b5e20", "--jp-error-color1": "#d32f2f",
                                     "--jp-content-font-color1": "rgba(0,0,0,.87)",
                                     "--jp-content-font-color2": "rgba(0,0,0,.54)", "--jp-border-color2": "#e0e0e0"}),
    "jupyterlab-dark": ("#111111", {"--jp-success-color0": "#388e3c", "--jp-error-color1": "#f44336",
                                    "--jp-content-font-color1": "#fff",
                                    "--jp-content-font-color2": "rgba(255,255,255,.7)",
                                    "--jp-border-color2": "#424242"}),
    "plain white page": ("#ffffff", {}),
}
PROBE = """<script>
function rgba(text) { const v = text.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; }
function luminance(c) {
  const f = x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
}
window.addEventListener("load", () => {
  const page = rgba(getComputedStyle(document.body).backgroundColor);
  const found = [];
  for (const element of document.querySelectorAll("[style*=color]")) {
    const c = rgba(getComputedStyle(element).color);
    const shown = [0, 1, 2].map(i => c[i] * c[3] + page[i] * (1 - c[3]));  // over the page, as the eye sees it
    const [a, b] = [luminance(shown), luminance(page)];
    found.push({text: element.textContent.slice(0, 40), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)});
  }
  document.body.setAttribute("data-probe", JSON.stringify(found));
});
</script>"""


def page(table: str, background: str, variables: dict[str, str]) -> str:
    root = ";".join(f"{name}:{value}" for name, value in variables.items())
    return (f"<!DOCTYPE html><html><head><style>:root{{{root}}} body{{background:{background};color:"
            f"{'#fff' if background == '#111111' else '#000'}}}</style></head><body>{table}{PROBE}</body></html>")


@pytest.fixture(scope="module")
def tables(assignment, keras) -> str:
    """A failing task, a task not done, and a passing one with what it leaves to the grader: every colour shown."""
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    shown = [check("cnn", {"cnn_model": model}, assignment.student_dir),
             check("data", {}, assignment.student_dir),
             check("quiz", {"q1_convolution": "a"}, assignment.student_dir)]
    return "".join(report._repr_html_() for report in shown)


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_every_coloured_text_reads_at_4_5_to_1(tables, theme, tmp_path):
    background, variables = THEMES[theme]
    path = tmp_path / "page.html"
    path.write_text(page(tables, background, variables))
    done = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom",
                           path.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    measured = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(measured) >= 5, measured  # PASS/FAIL marks, headlines, notes
    low = [m for m in measured if m["ratio"] < 4.5]
    assert not low, f"{theme}: {low}"
