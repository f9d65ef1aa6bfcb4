"""A student's feedback as Markdown and as a self-contained HTML page: each task and its points, each check with
what it found (its message says what was expected), and a model's layers as a table of expected and found."""
from __future__ import annotations

import html
import re

import jinja2
from markupsafe import Markup

from grader.results import CheckResult, SubmissionResult, lines_of
from grader.student_text import MAX_TEXT_CHARS, one_line, visible


def points(got: float, most: float) -> str:
    return f"{got:g} / {most:g}"


def graded_nothing(result: SubmissionResult) -> bool:
    """Whether nothing of the submission was graded (an unreadable notebook, a kernel that never started): then its
    feedback says why once, not once a task and a "was not exported" line for every check."""
    return bool(result.error) and all(task.ungraded_reason for task in result.tasks) \
        and not any(check.points > 0 for task in result.tasks for check in task.checks)


REVIEWER_COMMENT = "Reviewer's comment"  # as grader/reviews/apply.py's COMMENT_TITLE


MARKDOWN_SIGNS = re.compile(r"([\\`*~!|\[\]])")  # links, images, code, emphasis, table cells


def _md(text: str) -> str:
    """Text that Markdown shows as written, whoever wrote it (a student's name, their answer quoted in a message),
    as one line: every control shown as its escape (``one_line``: no newline a student wrote starts a line, no
    escape code reaches the file), HTML-escaped (no tag), the signs of links, images, code, emphasis and table
    cells escaped (no line can start a heading, a list or any other block)."""
    return MARKDOWN_SIGNS.sub(r"\\\1", html.escape(one_line(text), quote=False))


_cell = _md  # a table cell: the same, pipes included


def _md_message(check: CheckResult) -> str:
    """A check's message in a table cell: its lines (``CheckResult.message_lines``) joined with <br>."""
    return "<br>".join(_md(line) for line in check.message_lines())


def shown_in_html(value: object) -> object:
    """What a page shows of a value (the pages' ``finalize``: every ``{{ }}``), before it is HTML-escaped: text as
    ``one_line``; markup (made of lines on purpose: a check's message, a student's code) with every control but
    newlines and tabs shown as its escape. A bidi override would reverse what a browser shows, a newline would
    start a line of the file, an escape code would reach a terminal that shows the file."""
    if isinstance(value, Markup):
        return Markup(visible(value, "\n\t", None))
    return one_line(value, MAX_TEXT_CHARS) if isinstance(value, str) else value


def _markdown_check_table(checks: tuple[CheckResult, ...]) -> list[str]:
    lines = ["| Result | Check | Points | What the grader found |", "|---|---|---|---|"]
    for check in checks:
        lines.append(f"| {'PASS' if check.passed else 'FAIL'} | {_cell(check.title)} |"
                     f" {points(check.points, check.max_points)} | {_md_message(check)} |")
    return lines


def _markdown_layers(check: CheckResult) -> list[str]:
    lines = ["", f"Layers for \"{_cell(check.title)}\", expected and found:", "",
             "| Layer | Expected | Found | Same |", "|---|---|---|---|"]
    lines += [f"| {_cell(r.layer)} | {_cell(r.expected)} | {_cell(r.found)} | {'yes' if r.ok else '**no**'} |"
              for r in check.details]
    return lines


def feedback_markdown(result: SubmissionResult, student: str, comment: str = "", late: str = "") -> str:
    """``comment``: the reviewer's for the student; ``late``: one line on the late penalty (grader/reports/late.py)."""
    lines = [f"# {_md(result.assignment)}: {points(result.points, result.max_points)} points", "",
             f"Student: {_md(student)}"]
    if late:
        lines += ["", _md(late)]
    if comment:
        lines += ["", f"**{REVIEWER_COMMENT}:** " + "<br>".join(_md(line) for line in lines_of(comment))]
    if result.error:
        lines += ["", f"**Your notebook could not be graded:** {_md(result.error)}"]
    if graded_nothing(result):
        lines += ["", "No task could be graded:", ""]
        lines += [f"- {_md(task.title)}: {points(task.points, task.max_points)}" for task in result.tasks]
        return "\n".join(lines) + "\n"
    for task in result.tasks:
        lines += ["", f"## {_md(task.title)}: {points(task.points, task.max_points)}", ""]
        if task.ungraded_reason:
            lines += [f"Not graded in full: {_md(task.ungraded_reason)}.", ""]
        notes = [f"- {_md(note.strip())}" for note in task.notes]
        lines += [*notes, ""] if notes else []
        if task.checks:
            lines += _markdown_check_table(task.checks)
        for check in task.checks:
            if check.details:
                lines += _markdown_layers(check)
    return "\n".join(lines) + "\n"


PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          finalize=shown_in_html).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ result.assignment }}: {{ student }}</title>
<style>
body { font-family: sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.4; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #bbb; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.msg { white-space: pre-wrap; }
.pass { color: #176117; } .fail { color: #a01010; font-weight: bold; } .bad { background: #fde2e2; }
.error { background: #fde2e2; padding: .5rem; } .comment { white-space: pre-wrap; }
</style></head><body>
<h1>{{ result.assignment }}: <span class="score">{{ points(result.points, result.max_points) }}</span> points</h1>
<p>Student: <span class="student">{{ student }}</span></p>
{% if late %}<p class="late">{{ late }}</p>{% endif %}
{% if comment %}<p class="comment"><b>Reviewer's comment:</b> {{ lines_of(comment)|map("escape")|join("\\n") }}</p>{% endif %}
{% if result.error %}<p class="error">Your notebook could not be graded: {{ result.error }}</p>{% endif %}
{% if nothing %}<p>No task could be graded:</p><ul class="tasks">{% for task in result.tasks %}<li>{{ task.title }}: {{ points(task.points, task.max_points) }}</li>{% endfor %}</ul>{% else %}
{% for task in result.tasks %}
<section class="task" data-task="{{ task.name }}">
<h2>{{ task.title }}: <span class="task-points">{{ points(task.points, task.max_points) }}</span></h2>
{% if task.ungraded_reason %}<p class="error">Not graded in full: {{ task.ungraded_reason }}.</p>{% endif %}
{% set notes = task.notes %}{% if notes %}<ul>{% for note in notes %}<li>{{ note.strip() }}</li>{% endfor %}</ul>{% endif %}
{% if task.checks %}<table class="checks"><tr><th>Result</th><th>Check</th><th>Points</th><th>What the grader found</th></tr>
{% for check in task.checks %}<tr><td class="{{ 'pass' if check.passed else 'fail' }}">{{ 'PASS' if check.passed else 'FAIL' }}</td>
<td>{{ check.title }}</td><td>{{ points(check.points, check.max_points) }}</td><td class="msg">{{ check.message_lines()|map("escape")|join("\\n") }}</td></tr>
{% endfor %}</table>{% endif %}
{% for check in task.checks if check.details %}
<p>Layers for “{{ check.title }}”, expected and found:</p>
<table class="layers"><tr><th>Layer</th><th>Expected</th><th>Found</th><th>Same</th></tr>
{% for row in check.details %}<tr{% if not row.ok %} class="bad"{% endif %}><td>{{ row.layer }}</td><td>{{ row.expected }}</td>
<td>{{ row.found }}</td><td>{{ 'yes' if row.ok else 'no' }}</td></tr>
{% endfor %}</table>
{% endfor %}
</section>
{% endfor %}{% endif %}
</body></html>
""")


def feedback_html(result: SubmissionResult, student: str, comment: str = "", late: str = "") -> str:
    return PAGE.render(result=result, student=student, points=points, comment=comment, late=late, lines_of=lines_of,
                       nothing=graded_nothing(result))
