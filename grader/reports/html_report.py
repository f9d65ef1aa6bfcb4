"""The instructor's report: one self-contained HTML page (figures as data URIs, inline CSS, no network), in the
order an instructor works from it: the students (a table sortable by any column and filterable, by the page's own
small inline script; each name links to that student's feedback), who needs a look, each task's statistics with its
checks under it, the common failures, the figures, and the clusters of similar submissions."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import jinja2
from markupsafe import Markup

from grader.reports import similarity
from grader.reports.cohort import Cohort
from grader.reports.feedback import points, shown_in_html
from grader.reports.roster import Roster
from grader.reports.similarity import SimilarPairs
from grader.results import SubmissionResult

GRADED, NOT_GRADABLE = "graded", "not gradable"


@dataclass(frozen=True)
class StudentRow:
    """One row of the student table: what the page shows, with the number each column sorts by."""

    key: str  # "" for a student with no result (no submission, a wrong file)
    name: str
    user_id: str
    status: str
    reason: str
    final: float | None
    raw: float | None
    review: float
    penalty: float
    max_points: float
    tasks: tuple[tuple[float, float] | None, ...]  # (points, max) a task, None where there is no result
    needs_look: bool


def _rows(results: Mapping[str, SubmissionResult], roster: Roster, task_names: Sequence[str],
          standings: Sequence[Any] | None) -> list[StudentRow]:
    def tasks_of(key: str) -> tuple[tuple[float, float] | None, ...]:
        result = results.get(key)
        by_name = {t.name: (t.points, t.max_points) for t in result.tasks} if result else {}
        return tuple(by_name.get(name) for name in task_names)

    if standings is not None:
        return [StudentRow(s.key, s.student, s.user_id, s.status, s.reason, s.final, s.raw, s.review, s.penalty,
                           s.max_points, tasks_of(s.key) if s.key in results else (None,) * len(task_names),
                           s.needs_look) for s in standings]
    return [StudentRow(key, roster.student(key).name, roster.student(key).user_id,
                       NOT_GRADABLE if r.error else GRADED, r.error or "", r.points, r.points, 0.0, 0.0,
                       r.max_points, tasks_of(key), False) for key, r in results.items()]


SCRIPT = Markup("""<script>
// The student table: a click on a column's heading sorts by it (again: the other way), the box filters the rows.
(() => {
  const table = document.getElementById("student-table"), body = table.tBodies[0];
  const value = (row, n) => { const cell = row.cells[n]; const v = cell.dataset.sort;
    return v === undefined ? cell.textContent.trim().toLowerCase() : (v === "" ? -Infinity : parseFloat(v)); };
  table.querySelectorAll("thead th").forEach((th, n) => {
    th.tabIndex = 0; th.title = "sort by this column";
    const sort = () => {
      const up = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(h => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      const rows = [...body.rows].sort((a, b) => { const x = value(a, n), y = value(b, n);
        return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); });
      rows.forEach(row => body.appendChild(row));
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", e => { if (e.key === "Enter") sort(); });
  });
  const filter = document.getElementById("student-filter"), shown = document.getElementById("student-count");
  filter.addEventListener("input", () => {
    const words = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
    let n = 0;
    for (const row of body.rows) {
      const text = row.textContent.toLowerCase();
      row.hidden = !words.every(w => text.includes(w));
      n += !row.hidden;
    }
    shown.textContent = n;
  });
})();
</script>""")

PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          finalize=shown_in_html).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ assignment }}: grading report</title>
<style>
body { font-family: sans-serif; margin: 2rem; line-height: 1.4; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #bbb; padding: .2rem .5rem; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
#student-table thead th { cursor: pointer; background: #f0f0f0; position: sticky; top: 0; }
#student-table th[aria-sort=ascending]::after { content: " ▲"; } #student-table th[aria-sort=descending]::after { content: " ▼"; }
tr.look td:first-child::before { content: "● "; color: #b5523b; }
.stats tr.task td { font-weight: bold; background: #f6f6f6; } .stats tr.check td:first-child { padding-left: 1.5rem; }
figure { display: inline-block; margin: 0 1.5rem 1.5rem 0; vertical-align: top; }
img { max-width: 100%; }
.warning { background: #fff3cd; padding: .5rem; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin-bottom: 2rem; }
.pair > div { min-width: 0; }
.pair pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: 85%; }
mark { background: #ffd27f; }
nav.toc ol { columns: 2; }
</style></head><body>
<h1>{{ assignment }}: grading report</h1>
<p class="summary">{{ rows|length }} students{% if counts %} ({{ counts }}){% endif %}; of the {{ cohort.scores|length }}
results, mean {{ "%.2f"|format(mean) }}, median {{ "%g"|format(median) }} of {{ "%g"|format(cohort.max_points) }} points.
Made from the stored results, without grading again.</p>
<nav class="toc"><h2>Contents</h2><ol>
<li><a href="#students">Students ({{ rows|length }})</a></li>
<li><a href="#attention">Submissions that need a human look ({{ attention|length }})</a></li>
<li><a href="#tasks">Tasks and checks: statistics</a></li>
<li><a href="#failures">Most common failures ({{ cohort.failures|length }})</a></li>
<li><a href="#figures">Figures ({{ figures|length }})</a></li>
<li><a href="#similar">Similar submissions ({{ pairs.clusters|length }})</a></li>
{% if warnings %}<li><a href="#warnings">Warnings ({{ warnings|length }})</a></li>{% endif %}
</ol></nav>

<h2 id="students">Students</h2>
<p><label>Filter: <input id="student-filter" type="search" placeholder="name, status, ..."></label>
<span id="student-count">{{ rows|length }}</span> shown. Click a column's heading to sort by it.</p>
<table class="students" id="student-table"><thead><tr><th>Student</th><th>ID</th><th>Status</th><th class="n">Points</th>
<th class="n">Graded</th><th class="n">Review</th><th class="n">Late penalty</th>{% for t in task_titles %}<th class="n">{{ t }}</th>{% endfor %}<th>Feedback</th></tr></thead><tbody>
{% for r in rows %}<tr{% if r.key %} data-key="{{ r.key }}"{% endif %}{% if r.needs_look %} class="look"{% endif %}>
<td>{% if r.key %}<a href="feedback/{{ r.key }}.html">{{ r.name }}</a>{% else %}{{ r.name }}{% endif %}</td>
<td>{{ r.user_id }}</td><td>{{ r.status }}{% if r.reason %}: {{ r.reason }}{% endif %}</td>
<td class="n points" data-sort="{{ num(r.final) }}">{{ pts(r.final) }}</td><td class="n" data-sort="{{ num(r.raw) }}">{{ pts(r.raw) }}</td>
<td class="n" data-sort="{{ r.review }}">{{ "%+g"|format(r.review) if r.review else "" }}</td>
<td class="n" data-sort="{{ r.penalty }}">{{ "%g"|format(-r.penalty) if r.penalty else "" }}</td>
{% for t in r.tasks %}<td class="n" data-sort="{{ num(t[0] if t else none) }}">{{ points(t[0], t[1]) if t else "" }}</td>{% endfor %}
<td>{% if r.key %}<a href="feedback/{{ r.key }}.html">HTML</a> <a href="feedback/{{ r.key }}.md">Markdown</a>{% endif %}</td></tr>
{% endfor %}</tbody></table>

<h2 id="attention">Submissions that need a human look ({{ attention|length }})</h2>
{% if attention %}<table class="concerns"><tr><th>Student</th><th>Why</th></tr>
{% for key, name, reasons in attention %}<tr><td>{% if key %}<a href="feedback/{{ key }}.html">{{ name }}</a>{% else %}{{ name }}{% endif %}</td>
<td><ul>{% for reason in reasons %}<li>{{ reason }}</li>{% endfor %}</ul></td></tr>
{% endfor %}</table>{% else %}<p>None.</p>{% endif %}

<h2 id="tasks">Tasks and checks: statistics</h2>
<p>Over the {{ cohort.graded }} submissions of which something was graded; spread is the standard deviation.</p>
<table class="stats"><thead><tr><th>Task, then its checks</th><th class="n">Of</th><th class="n">Mean</th><th class="n">Spread</th><th class="n">Min</th><th class="n">Max</th><th class="n">Full points</th></tr></thead><tbody>
{% for t in cohort.stats %}{% for s in [t.task] + t.checks|list %}<tr class="{{ 'task' if loop.first else 'check' }}"><td>{{ s.name }}</td>
<td class="n">{{ "%g"|format(s.max_points) }}</td><td class="n">{{ "%.2f"|format(s.mean) }}</td><td class="n">{{ "%.2f"|format(s.spread) }}</td>
<td class="n">{{ "%g"|format(s.low) }}</td><td class="n">{{ "%g"|format(s.high) }}</td><td class="n">{{ s.full }} of {{ s.total }}</td></tr>
{% endfor %}{% endfor %}</tbody></table>

<h2 id="failures">Most common failures</h2>
{% if cohort.failures %}<p>Messages that differ only in numbers, quoted answers or remarks in parentheses are one row.</p>
<table class="failures"><tr><th>Task</th><th>Checks</th><th>What the grader found (for example)</th><th>Students</th></tr>
{% for f in cohort.failures %}<tr><td>{{ f.task }}</td><td>{{ f.check }}</td><td>{{ f.message }}</td>
<td>{{ f.students|length }}: {{ f.students|join(", ") }}</td></tr>
{% endfor %}</table>{% else %}<p>No check failed.</p>{% endif %}

<h2 id="figures">Figures</h2>
{% for title, uri in figures.items() %}<figure><img alt="{{ title }}" src="{{ uri }}"></figure>
{% endfor %}

<h2 id="similar">Similar submissions ({{ pairs.clusters|length }} {{ "group" if pairs.clusters|length == 1 else "groups" }}, {{ pairs.found }} {{ "pair" if pairs.found == 1 else "pairs" }})</h2>
<p>Answer code is each notebook's code without the cells and lines of the student notebook (scaffold and given code).
copydetect compares it by winnowing ({{ noise }}-token fingerprints, names replaced, so renaming variables changes
nothing). A pair is listed when at least {{ "%d"|format(threshold * 100) }}% of one student's answer code is also in
the other's and at least {{ min_tokens }} tokens are shared: a renamed copy shares 100%, independent right answers to
the by-hand assignment under 25%. Students linked by similar pairs are one group (one entry), its closest pair side by
side. Similar code is a reason to look, not a proof: answers the task dictates (a given architecture) can be close.</p>
{% for c in pairs.clusters %}{% set p = c.shown %}<section class="pair-block">
{% if c.members|length > 2 %}<h3>{% for m in c.members %}{{ names[m] }}{% if not loop.last %}, {% endif %}{% endfor %}: {{ c.pairs|length }} similar pairs</h3>
<ul>{% for a, b, share in c.pairs %}<li>{{ names[a] }} and {{ names[b] }}: {{ "%d"|format(share * 100) }}%</li>{% endfor %}</ul>
<p>The closest pair:</p>{% endif %}
<h3>{{ names[p.first] }} and {{ names[p.second] }}:
{{ "%d"|format(p.shares[0] * 100) }}% and {{ "%d"|format(p.shares[1] * 100) }}% shared ({{ p.shared_tokens }} tokens)</h3>
<div class="pair"><div><b>{{ names[p.first] }}</b><pre>{{ markup(p.marked[0]) }}</pre></div>
<div><b>{{ names[p.second] }}</b><pre>{{ markup(p.marked[1]) }}</pre></div></div></section>
{% else %}<p>No pair above the threshold.</p>{% endfor %}

{% if warnings %}<h2 id="warnings">Warnings</h2>
{% for warning in warnings %}<p class="warning">{{ warning }}</p>{% endfor %}{% endif %}
{{ script }}
</body></html>
""")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _attention(cohort: Cohort, rows: Sequence[StudentRow]) -> list[tuple[str, str, list[str]]]:
    """Who needs a look and why: the cohort's concerns, reviews waiting for another look, students with no grade."""
    found: dict[str, tuple[str, str, list[str]]] = {c.key: (c.key, c.student, list(c.reasons)) for c in cohort.concerns}
    for row in rows:
        if row.needs_look and row.key:
            found.setdefault(row.key, (row.key, row.name, []))[2].append(
                "a review waits: an override whose check changed since, or a part graded by hand not graded yet")
        elif row.status not in (GRADED, NOT_GRADABLE) and not row.key:
            found.setdefault(f"-{row.name}", ("", row.name, []))[2].append(
                f"{row.status}{': ' + row.reason if row.reason else ''}")
    return sorted(found.values(), key=lambda item: (item[1].casefold(), item[0]))


def report_html(assignment: str, results: Mapping[str, SubmissionResult], roster: Roster, cohort: Cohort,
                figures: Mapping[str, str], pairs: SimilarPairs, warnings: Sequence[str] = (),
                threshold: float = similarity.THRESHOLD, standings: Sequence[Any] | None = None) -> str:
    """``standings``: every student's row (``grader/reports/standing.py``: status, raw, review, late penalty, final),
    with the students who have no result; without them, a row a result."""
    ordered = dict(sorted(results.items(), key=lambda item: (roster.student(item[0]).name, item[0])))
    first = next(iter(ordered.values()), None)
    task_names = [t.name for t in first.tasks] if first else []
    rows = _rows(ordered, roster, task_names, standings)
    rows.sort(key=lambda row: (row.name.casefold(), row.key))
    counts = ", ".join(f"{sum(r.status == s for r in rows)} {s}" for s in dict.fromkeys(r.status for r in rows))
    names = {key: roster.student(key).name for key in results}
    return PAGE.render(
        assignment=assignment, rows=rows, counts=counts if standings is not None else "", cohort=cohort,
        figures=figures, pairs=pairs, warnings=warnings, names=names, attention=_attention(cohort, rows),
        mean=statistics.fmean(cohort.scores) if cohort.scores else 0.0,
        median=statistics.median(cohort.scores) if cohort.scores else 0.0,
        task_titles=[t.title for t in first.tasks] if first else [], points=points, num=_number, pts=_number,
        markup=Markup,  # the pairs' code is escaped by copydetect's highlight_overlap; only <mark> is added
        script=SCRIPT, threshold=threshold, min_tokens=similarity.MIN_OVERLAP_TOKENS, noise=similarity.NOISE_TOKENS)
