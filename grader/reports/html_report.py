"""The instructor's report: one self-contained HTML page (figures as data URIs, inline CSS, no script, no network)."""
from __future__ import annotations

import statistics
from typing import Mapping, Sequence

import jinja2
from markupsafe import Markup

from ..results import SubmissionResult
from . import similarity
from .cohort import Cohort
from .feedback import points, shown_in_html
from .roster import Roster
from .similarity import SimilarPairs

PAGE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                          finalize=shown_in_html).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ assignment }}: grading report</title>
<style>
body { font-family: sans-serif; margin: 2rem; line-height: 1.4; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
th, td { border: 1px solid #bbb; padding: .2rem .5rem; text-align: left; vertical-align: top; }
figure { display: inline-block; margin: 0 1.5rem 1.5rem 0; vertical-align: top; }
img { max-width: 100%; }
.warning { background: #fff3cd; padding: .5rem; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin-bottom: 2rem; }
.pair > div { min-width: 0; }
.pair pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; font-size: 85%; }
mark { background: #ffd27f; }
</style></head><body>
<h1>{{ assignment }}: grading report</h1>
<p class="summary">{{ results|length }} submissions; mean {{ "%.2f"|format(mean) }}, median {{ "%g"|format(median) }}
of {{ "%g"|format(cohort.max_points) }} points. Made from the stored results, without grading again.</p>
{% for warning in warnings %}<p class="warning">{{ warning }}</p>{% endfor %}

<h2>Figures</h2>
{% for title, uri in figures.items() %}<figure><img alt="{{ title }}" src="{{ uri }}"><figcaption>{{ title }}</figcaption></figure>
{% endfor %}

<h2 id="attention">Submissions that need a human look ({{ cohort.concerns|length }})</h2>
{% if cohort.concerns %}<table class="concerns"><tr><th>Student</th><th>Why</th></tr>
{% for c in cohort.concerns %}<tr><td><a href="feedback/{{ c.key }}.html">{{ c.student }}</a></td>
<td><ul>{% for reason in c.reasons %}<li>{{ reason }}</li>{% endfor %}</ul></td></tr>
{% endfor %}</table>{% else %}<p>None.</p>{% endif %}

<h2>Most common failures</h2>
{% if cohort.failures %}<table class="failures"><tr><th>Check</th><th>What the grader found (for example)</th><th>Students</th></tr>
{% for f in cohort.failures %}<tr><td>{{ f.check }}</td><td>{{ f.message }}</td>
<td>{{ f.students|length }}: {{ f.students|join(", ") }}</td></tr>
{% endfor %}</table>{% else %}<p>No check failed.</p>{% endif %}

<h2>Tasks and checks</h2>
<table class="rates"><tr><th>Task or check</th><th>Passed</th><th>Of</th></tr>
{% for r in cohort.tasks %}<tr><td><b>{{ r.name }}</b> (full points)</td><td>{{ r.passed }}</td><td>{{ r.total }}</td></tr>{% endfor %}
{% for r in cohort.checks %}<tr><td>{{ r.name }}</td><td>{{ r.passed }}</td><td>{{ r.total }}</td></tr>{% endfor %}
</table>

<h2 id="similar">Similar submissions ({% if pairs.found > pairs.shown|length %}the {{ pairs.shown|length }} most similar of {{ pairs.found }} pairs{% else %}{{ pairs.found }}{% endif %})</h2>
<p>Answer code is each notebook's code without the cells and lines of the student notebook (scaffold and given code).
copydetect compares it by winnowing ({{ noise }}-token fingerprints, names replaced, so renaming variables changes
nothing). A pair is listed when at least {{ "%d"|format(threshold * 100) }}% of one student's answer code is also in
the other's and at least {{ min_tokens }} tokens are shared: a renamed copy shares 100%, independent right answers to
the by-hand assignment under 25%. Similar code is a reason to look, not a proof: answers the task dictates
(a given architecture) can be close.</p>
{% for p in pairs.shown %}<section class="pair-block"><h3>{{ names[p.first] }} and {{ names[p.second] }}:
{{ "%d"|format(p.shares[0] * 100) }}% and {{ "%d"|format(p.shares[1] * 100) }}% shared ({{ p.shared_tokens }} tokens)</h3>
<div class="pair"><div><b>{{ names[p.first] }}</b><pre>{{ markup(p.marked[0]) }}</pre></div>
<div><b>{{ names[p.second] }}</b><pre>{{ markup(p.marked[1]) }}</pre></div></div></section>
{% else %}<p>No pair above the threshold.</p>{% endfor %}

<h2>Students</h2>
<table class="students"><tr><th>Student</th><th>ID</th><th>Points</th>{% for t in task_names %}<th>{{ t }}</th>{% endfor %}<th>Feedback</th></tr>
{% for key, r in results.items() %}<tr data-key="{{ key }}"><td>{{ names[key] }}</td><td>{{ roster.student(key).user_id }}</td>
<td class="points">{{ "%g"|format(r.points) }}</td>{% for t in r.tasks %}<td>{{ points(t.points, t.max_points) }}</td>{% endfor %}
<td><a href="feedback/{{ key }}.html">HTML</a> <a href="feedback/{{ key }}.md">Markdown</a></td></tr>
{% endfor %}</table>
</body></html>
""")


def report_html(assignment: str, results: Mapping[str, SubmissionResult], roster: Roster, cohort: Cohort,
                figures: Mapping[str, str], pairs: SimilarPairs, warnings: Sequence[str] = (),
                threshold: float = similarity.THRESHOLD) -> str:
    ordered = dict(sorted(results.items(), key=lambda item: (roster.student(item[0]).name, item[0])))
    first = next(iter(ordered.values()), None)
    return PAGE.render(
        assignment=assignment, results=ordered, roster=roster, cohort=cohort, figures=figures, pairs=pairs,
        warnings=warnings, names={key: roster.student(key).name for key in results},
        mean=statistics.fmean(cohort.scores) if cohort.scores else 0.0,
        median=statistics.median(cohort.scores) if cohort.scores else 0.0,
        task_names=[t.title for t in first.tasks] if first else [], points=points,
        markup=Markup,  # the pairs' code is escaped by copydetect's highlight_overlap; only <mark> is added
        threshold=threshold, min_tokens=similarity.MIN_OVERLAP_TOKENS, noise=similarity.NOISE_TOKENS)
