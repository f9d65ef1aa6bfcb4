"""Validation reports as JUnit XML, the format GitHub Actions' test reporters, GitLab CI (``artifacts:reports:junit``)
and Jenkins (``junit``) display: one ``<testsuite>`` per assignment, one ``<testcase>`` per validation step (its
``classname`` the assignment), a failed step's text in ``<failure>``, a step that could not run ``<skipped>``."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable

from grader.ci.validate import FAILED, SKIPPED, ValidationReport
from grader.files import atomic_write_text
from grader.student_text import one_line, visible_lines

SUITES = "grader validate"
MAX_FAILURE_CHARS = 20_000


def _text(value: str) -> str:
    """XML 1.0 allows no control character but tab, newline and carriage return: any other is shown escaped (a
    message can quote what a notebook printed)."""
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 and c not in "\ufffe\uffff" else f"\\x{ord(c):02x}"
                   for c in value)


def junit_tree(reports: Iterable[ValidationReport]) -> ET.ElementTree[ET.Element]:
    root = ET.Element("testsuites", name=SUITES)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for report in reports:
        steps = report.steps
        failures = sum(s.failed for s in steps)
        skipped = sum(s.status == SKIPPED for s in steps)
        took = sum(s.seconds for s in steps)
        suite = ET.SubElement(root, "testsuite", name=_text(report.assignment), tests=str(len(steps)),
                              failures=str(failures), errors="0", skipped=str(skipped), time=f"{took:.3f}")
        for step in steps:
            case = ET.SubElement(suite, "testcase", classname=_text(report.assignment), name=step.name,
                                 time=f"{step.seconds:.3f}")
            if step.status == FAILED:
                failure = ET.SubElement(case, "failure", message=_text(one_line(step.message, 500)),
                                        type="ValidationFailure")
                failure.text = _text(visible_lines(step.message, MAX_FAILURE_CHARS))
            elif step.status == SKIPPED:
                ET.SubElement(case, "skipped", message=_text(one_line(step.message, 500)))
            elif step.message:
                ET.SubElement(case, "system-out").text = _text(visible_lines(step.message, MAX_FAILURE_CHARS))
        for key, value in (("tests", len(steps)), ("failures", failures), ("skipped", skipped)):
            totals[key] += value
        seconds += took
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(reports: Iterable[ValidationReport], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = junit_tree(reports)
    atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n'
                      + ET.tostring(tree.getroot(), encoding="unicode") + "\n")
    return path
