"""The package's folders say where code runs and which way a submission travels (issue 22), and the imports keep to
it: what runs in the sandbox imports nothing of the host's; the student's side, the checks and the reports never
reach up into batch grading; only the command line ties the top layers together."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grader"
# folder -> the grader folders (and top-level modules) it must never import
NEVER = {
    "inside": ("grading", "course", "checks", "sandbox", "student", "batch", "reports", "reviews", "ci", "bundle",
               "intake", "results", "spec", "cli"),
    "checks": ("batch", "reports", "reviews", "student", "ci", "bundle", "sandbox", "intake", "cli"),
    "student": ("batch", "reports", "reviews", "ci", "bundle", "intake", "cli"),
    "grading": ("batch", "reports", "reviews", "ci", "bundle", "student", "intake", "cli"),
    "sandbox": ("grading", "checks", "student", "batch", "reports", "reviews", "ci", "bundle", "intake", "cli"),
    "intake": ("grading", "checks", "student", "batch", "reports", "reviews", "ci", "bundle", "sandbox", "cli"),
    "reports": ("batch", "ci", "bundle", "student", "sandbox", "cli"),
    "reviews": ("batch", "ci", "bundle", "student", "sandbox", "cli"),
    "batch": ("ci", "bundle", "student", "cli"),
    "bundle": ("batch", "reports", "reviews", "ci", "student", "cli"),
}


def grader_imports(path: Path) -> set[str]:
    """The grader folders and top-level modules ``path`` imports (first part after ``grader.``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "grader" and len(parts) > 1:
                found.add(parts[1])
            elif parts == ["grader"] and isinstance(node, ast.ImportFrom):
                found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("folder", sorted(NEVER))
def test_a_folder_imports_nothing_above_its_layer(folder):
    wrong = {str(path.relative_to(PACKAGE)): sorted(grader_imports(path) & set(NEVER[folder]))
             for path in sorted((PACKAGE / folder).rglob("*.py"))}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_top_level_holds_only_the_shared_vocabulary_and_the_command_line():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == ["__init__", "__main__", "cli", "cli_reference", "defaults", "errors", "files", "output_folder",
                   "results", "spec", "student_text", "untrusted"]
