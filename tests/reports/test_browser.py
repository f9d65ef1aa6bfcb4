"""The instructor's report in a real browser: Debian's Chromium, headless, opens it from disk, every figure decodes,
and the screenshot shows them."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must look at the report in a real browser, but Debian's chromium is not installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh"
                                                         " installs it)")
FIGURE_BLUE = (0x3A, 0x6E, 0xA5)  # the bars of the score distribution and the grading times (plots.py)
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth}));
  document.body.setAttribute("data-probe", JSON.stringify(images));
});
</script></body>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


def test_every_figure_decodes_in_the_browser(class_report, tmp_path):
    probe = tmp_path / "probe.html"  # a copy with a script that reads each image as the browser decoded it
    probe.write_text(class_report.report.read_text().replace("</body>", PROBE))
    done = chromium("--virtual-time-budget=5000", "--dump-dom", probe.as_uri(), profile=tmp_path / "profile")
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    images = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(images) == 5
    assert all(image["complete"] and image["width"] > 300 for image in images), images


def test_the_screenshot_shows_the_figures(class_report, tmp_path):
    shot = tmp_path / "report.png"
    done = chromium("--hide-scrollbars", "--window-size=1280,6000", f"--screenshot={shot}",
                    class_report.report.as_uri(), profile=tmp_path / "profile")
    assert shot.is_file(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (6000, 1280)  # the figures come after the tables
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # not a blank page
    blue = (np.abs(pixels - FIGURE_BLUE).sum(axis=2) < 30).sum()
    assert blue > 5000, f"only {blue} pixels of the figures' blue"  # the bars are drawn, not just their frames
