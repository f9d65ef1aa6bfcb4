"""Every file the reports write, and what `grader report` prints, when students wrote escape codes, bidi overrides
and newlines before a fake ``[PASS]`` line (into their exceptions, their cells, their names): no control reaches
a file or the terminal, no line a student wrote reads as the grader's."""
from __future__ import annotations

import json
import re
import unicodedata

from click.testing import CliRunner

from grader.cli import main
from grader.output_folder import write_result
from grader.reports import regenerate
from grader.student_text import CONTROL_CATEGORIES, JOINERS

from .builders import HOSTILE, by_hand_result, hostile_result, write_out_dir


def controls(text: str, allowed: str = "\n") -> list[str]:
    return [c for c in text if unicodedata.category(c) in CONTROL_CATEGORIES and c not in JOINERS and c not in allowed]


def lines_with_a_fake_mark(text: str) -> list[str]:
    """Lines that begin (spaces, Markdown's escape and table bars aside) as a passed check's line."""
    return [line for line in text.split("\n") if re.match(r"[\s|\\]*\[?PASS\\?\] hidden", line)]


def hostile_out(tmp_path):
    """A batch's folder: mallory's result all hostile, her name too (and no Canvas ID: the report names her)."""
    out = write_out_dir(tmp_path / "out", {"mallory": hostile_result(), "alice": by_hand_result("alice")}, {},
                        {"mallory": None, "alice": "1001"})
    manifest = json.loads((out / "submissions.json").read_text())
    manifest["submissions"][0]["student"] = f"Mallory {HOSTILE}"
    (out / "submissions.json").write_text(json.dumps(manifest))
    return out


def test_the_files_written_hold_no_control_and_no_fake_line(tmp_path, by_hand_course):
    out = hostile_out(tmp_path)
    write_result(hostile_result(), out, "mallory")  # feedback/mallory.txt, as a batch writes it
    regenerate(out, by_hand_course)
    written = {path.relative_to(out).as_posix(): path.read_text(encoding="utf-8")
               for path in [out / "feedback" / "mallory.txt", out / "feedback" / "mallory.md",
                            out / "feedback" / "mallory.html", out / "report.html", out / "gradebook.csv",
                            out / "canvas.csv"]}
    for name, text in written.items():
        line_ends = "\r\n" if name.endswith(".csv") else "\n"  # csv's own rows end in \r\n
        assert controls(text.replace(line_ends, "\n")) == [], name
        assert lines_with_a_fake_mark(text) == [], name
        assert "hidden check (10/10)" in text, name  # shown, on its line
    as_typed = r"\x1b[2J\x1b]52;c;aGVsbG8=\x07\rboom\n[PASS] hidden check (10/10)\u202eeulav"
    assert as_typed in written["feedback/mallory.txt"]
    assert "Mallory \\\\x1b\\[2J" in written["feedback/mallory.md"]  # the name's escapes, Markdown-escaped
    assert "&#34;[PASS] hidden check (10/10)\\u202eeulav&#34;" in written["feedback/mallory.html"]
    assert "layer 3: expected Conv2D with 64 filters, found 32\n" in written["feedback/mallory.html"]  # its lines


def test_what_grader_report_prints_holds_no_control_and_no_fake_line(tmp_path):
    out = hostile_out(tmp_path)
    done = CliRunner().invoke(main, ["report", str(out), "-a", "by_hand"])
    assert done.exit_code == 0, done.output
    assert "have no Canvas user ID" in done.output and r"Mallory \x1b[2J" in done.output
    assert controls(done.output) == [] and lines_with_a_fake_mark(done.output) == []


def test_a_large_figure_is_embedded_whole():
    """The grader's own markup (a figure's data URI, larger than any student's text may be) is never cut."""
    import numpy as np
    from matplotlib.figure import Figure

    from grader.reports.feedback import shown_in_html
    from grader.reports.plots import data_uri
    from grader.student_text import MAX_TEXT_CHARS

    figure = Figure(figsize=(12, 12))
    figure.subplots().imshow(np.random.default_rng(0).random((300, 300)))
    uri = data_uri(figure)
    assert len(uri) > MAX_TEXT_CHARS and shown_in_html(uri) == uri
