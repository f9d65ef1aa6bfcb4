"""The command-line reference (docs/cli.md) is what ``grader docs cli`` renders from the click commands: it fails
when a command or option changes and the file was not written again, so the reference cannot drift."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from grader.cli import main
from grader.cli_reference import command_docs, reference_text

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "cli.md"


def _walk(group: click.Group, prefix: str = "grader") -> set[str]:
    names = {prefix}
    for name, command in group.commands.items():
        names |= _walk(command, f"{prefix} {name}") if isinstance(command, click.Group) else {f"{prefix} {name}"}
    return names


def test_docs_cli_md_is_what_the_code_renders():
    assert REFERENCE.read_text() == reference_text(), "run: grader docs cli --write docs/cli.md"


def test_every_command_and_option_is_in_it():
    text = reference_text()
    assert {doc.path for doc in command_docs(main)} == _walk(main)
    for path in _walk(main):
        assert f"## `{path}`" in text
    grade = main.commands["grade"]
    for option in grade.params:
        if isinstance(option, click.Option):
            assert f"`{', '.join(sorted(option.opts, key=len))}" in text, option.name


def test_it_shows_usage_help_and_defaults():
    docs = {doc.path: doc for doc in command_docs(main)}
    batch = docs["grader batch"]
    assert batch.usage == "grader batch [OPTIONS] SOURCE"
    assert batch.arguments == ("SOURCE",)
    by_flag = {flags.split(" ")[0]: (text, default) for flags, text, default in batch.options}
    assert by_flag["--out"][1] == "grading-output"
    assert by_flag["--sandbox"][1] == "auto"
    assert by_flag["--workers"][1] == ""  # none declared: the help says what it is
    assert "(required)" in by_flag["-a,"][0]
    assert "(repeatable)" in by_flag["--only"][0]
    assert docs["grader validate"].arguments == ("[ASSIGNMENT]",)


def test_a_changed_option_changes_the_reference():
    @click.group()
    def tool() -> None:
        """A tool."""

    @tool.command()
    @click.option("--size", default=3, show_default=True, help="how big | how wide")
    def make(size: int) -> None:
        """Make something.

        \b
        Kept as click shows it.
        \f
        Never shown: click leaves out what follows the form feed.
        """

    before = reference_text(tool)
    assert "| `--size INTEGER` | how big \\| how wide | `3` |" in before
    assert "Make something. Kept as click shows it.\n" in before
    assert "Never shown" not in before
    tool.commands["make"].params[0].default = 4
    assert reference_text(tool) != before


def test_the_command_writes_the_reference(tmp_path):
    out = tmp_path / "cli.md"
    done = subprocess.run([sys.executable, "-m", "grader", "docs", "cli", "--write", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_text() == REFERENCE.read_text()
    printed = subprocess.run([sys.executable, "-m", "grader", "docs", "cli"], cwd=REPO, capture_output=True,
                             text=True, timeout=120)
    assert printed.stdout == REFERENCE.read_text()
