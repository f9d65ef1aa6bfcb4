"""The command-line reference (docs/cli.md), rendered from the click commands themselves so that it cannot drift:
``grader docs cli --write docs/cli.md`` writes it and ``tests/test_cli_reference.py`` fails when the file differs
from what the code renders. Only what click declares is read (names, arguments, options, help, defaults); no
command runs."""
from __future__ import annotations

import re
from dataclasses import dataclass

import click
import click.core

_UNSET = getattr(click.core, "UNSET", None)  # click 8.2 and later: an option declared without a default

HEADER = ("# Command-line reference\n\n"
          "<!-- Written by `grader docs cli --write docs/cli.md` from the click commands (grader/cli.py); do not edit"
          " by hand: tests/test_cli_reference.py fails when this file differs from what the code renders. -->\n\n"
          "Every command of `grader`, with its usage, arguments and options. What the commands are for: the"
          " [README](../README.md), [students](students.md), [instructors](instructors.md).\n")


@dataclass(frozen=True)
class CommandDoc:
    """One command as the reference shows it: its full name (``grader docs cli``), usage, help and parameters."""

    path: str
    usage: str
    help: str
    arguments: tuple[str, ...]
    options: tuple[tuple[str, str, str], ...]  # (flags and value, help, default as shown or "")
    is_group: bool


def _words(text: str | None) -> str:
    """Help text on one line, as click shows it: what follows ``\\f`` left out, ``\\b`` marks dropped."""
    if not text:
        return ""
    return " ".join(text.split("\f")[0].replace("\b", " ").split())


def _cell(text: str) -> str:
    """Text inside a Markdown table cell: a pipe would end the cell."""
    return text.replace("|", "\\|")


def _default(param: click.Parameter, ctx: click.Context) -> str:
    """The default as the reference shows it ("" when there is none worth showing: unset, off, empty)."""
    default = param.get_default(ctx, call=False)
    if default is _UNSET or callable(default) or default is None or default is False or default == () or default == []:
        return ""
    if isinstance(param, click.Option) and param.is_flag and default is True:
        return "on"
    return str(default)


def _metavar(param: click.Parameter, ctx: click.Context) -> str:
    try:
        return param.make_metavar(ctx)
    except TypeError:  # click before 8.2 takes no context
        return param.make_metavar()  # type: ignore[call-arg]


def _option(param: click.Option, ctx: click.Context) -> tuple[str, str, str]:
    flags = ", ".join(sorted(param.opts, key=len) + list(param.secondary_opts))
    if not param.is_flag and not param.count:
        flags += f" {_metavar(param, ctx)}"
    help_text = _words(param.help)
    notes = [note for note, on in (("required", param.required), ("repeatable", param.multiple)) if on]
    if param.envvar:
        notes.append(f"environment: `{param.envvar}`")
    if notes:
        help_text = f"{help_text} ({'; '.join(notes)})" if help_text else "; ".join(notes)
    return flags, help_text, _default(param, ctx)


def _argument(param: click.Argument) -> str:
    name = param.human_readable_name
    if not param.required:
        name = f"[{name}]"
    return f"{name}..." if param.nargs == -1 else name


def command_docs(command: click.Command, name: str = "grader", parent: click.Context | None = None
                 ) -> list[CommandDoc]:
    """``command`` and, for a group, every command under it (in name order), each with its full name."""
    ctx = click.Context(command, info_name=name, parent=parent)
    pieces = " ".join(command.collect_usage_pieces(ctx))
    doc = CommandDoc(
        path=ctx.command_path, usage=f"{ctx.command_path} {pieces}".strip(), help=_words(command.help),
        arguments=tuple(_argument(p) for p in command.params if isinstance(p, click.Argument)),
        options=tuple(_option(p, ctx) for p in command.params if isinstance(p, click.Option) and not p.hidden),
        is_group=isinstance(command, click.Group))
    docs = [doc]
    if isinstance(command, click.Group):
        for sub_name in sorted(command.commands):
            sub = command.commands[sub_name]
            if not sub.hidden:
                docs += command_docs(sub, sub_name, ctx)
    return docs


def _section(doc: CommandDoc) -> str:
    lines = [f"## `{doc.path}`", "", "```", doc.usage, "```", ""]
    if doc.help:
        lines += [doc.help, ""]
    if doc.arguments:
        lines += ["Arguments: " + ", ".join(f"`{a}`" for a in doc.arguments) + ".", ""]
    if doc.options:
        lines += ["| option | what it does | default |", "|---|---|---|"]
        lines += [f"| `{_cell(flags)}` | {_cell(text)} | {f'`{_cell(default)}`' if default else ''} |"
                  for flags, text, default in doc.options]
        lines.append("")
    return "\n".join(lines)


def _anchor(path: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", path.lower()).replace(" ", "-")


def reference_text(group: click.Command | None = None) -> str:
    """The whole reference, Markdown: a list of the commands, then a section for each."""
    if group is None:
        from grader.cli import main

        group = main
    docs = command_docs(group)
    index = [f"- [`{d.path}`](#{_anchor(d.path)}): {d.help.split('. ')[0].rstrip('.')}" for d in docs[1:]]
    body = "\n".join(_section(d) for d in docs)
    return f"{HEADER}\n" + "\n".join(index) + "\n\n" + body
