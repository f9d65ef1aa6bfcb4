"""``grader review OUTPUT``: a local page to go through a batch's students one by one (Flask).

Bound to 127.0.0.1 with a random token in the URL, as Jupyter does: a request without the token (in the query, or
the cookie the first request with it sets) is refused with 403, and so is one whose Host is not this machine (DNS
rebinding). A form carries the token too (no other site can post one). What students wrote is escaped everywhere
(Jinja's autoescape, every ``{{ }}`` through ``shown_in_html``), and a strict Content-Security-Policy lets the page
run only its own script and show only data: images: no HTML or JavaScript of a student's runs.
"""
from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, abort, make_response, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.serving import make_server

from grader.course.assignment import Course
from grader.output_folder import read_results
from grader.reports.cohort import concerns_of
from grader.reports.feedback import points as points_text
from grader.reports.feedback import shown_in_html
from grader.reports.roster import Roster, load_roster
from grader.results import CheckResult
from grader.reviews.apply import Reviewed, review_adjustments
from grader.reviews.notebook_view import read_view
from grader.reviews.store import (
    PartReview,
    ReviewConflict,
    ReviewError,
    ReviewStore,
    check_part,
    fingerprint,
    manual_part,
)

log = logging.getLogger(__name__)
COOKIE = "grader_review_token"
REVIEWER_COOKIE = "grader_reviewer"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self';"
       " base-uri 'none'; frame-ancestors 'none'")


class _Flask(Flask):
    jinja_options = {**Flask.jinja_options, "finalize": shown_in_html}


@dataclass(frozen=True)
class Part:
    """One row of the review form: a check of the machine's or a manual part, and what a reviewer stored for it."""

    n: int
    task: str
    part: str
    title: str
    check: CheckResult | None  # the machine's (for a check), else None
    max_points: float
    stored: PartReview | None
    flagged: bool
    guide: str = ""

    @property
    def name(self) -> str:
        """What the form says the row is: a save checks it (a regrade between loading and saving may move rows)."""
        return f"{self.task}/{self.part}"

    @property
    def fingerprint_now(self) -> str:
        return fingerprint(self.check) if self.check else ""

    @property
    def fingerprint_saved(self) -> str:
        """The fingerprint a save keeps: the stored one for an override that exists (a flagged one is confirmed
        only with its box ticked), else the result's now."""
        if self.stored and self.stored.points is not None and self.check:
            return self.stored.fingerprint
        return self.fingerprint_now


def _cookie(name: str = COOKIE) -> str:
    """A cookie's name for this page's port: a browser sends 127.0.0.1's cookies to every port of it (another local
    page, another review of another batch), so each page's own name."""
    return f"{name}-{request.host.rsplit(':', 1)[-1] if ':' in request.host else '80'}"


def _lines(text: object) -> Markup:
    """Text of several lines (a student's code, an output): escaped here, its newlines kept (``shown_in_html``
    shows every other control as its escape)."""
    return Markup(escape(str(text)))


class Batch:
    """What the page reads of an output folder, read again on each request (a regrade may run beside it)."""

    def __init__(self, out_dir: Path, assignment: Course) -> None:
        self.out_dir = out_dir
        self.assignment = assignment
        self.store = ReviewStore(out_dir)

    def load(self) -> tuple[Roster, dict[str, Reviewed], list[str]]:
        roster = load_roster(self.out_dir)
        results, _ = read_results(self.out_dir, list(roster.students) if roster.from_intake else None)
        results = {k: r for k, r in results.items() if r.assignment == self.assignment.name}
        reviewed = review_adjustments(self.out_dir, results, self.assignment.spec)
        order = sorted(reviewed, key=lambda key: (roster.student(key).name.casefold(), key))
        return roster, reviewed, order

    def parts(self, key: str, reviewed: Reviewed) -> list[Part]:
        review = self.store.get(key)
        specs = {task.name: task for task in self.assignment.spec.tasks}
        flagged = {(flag.task, flag.part) for flag in reviewed.flags}
        parts: list[Part] = []
        for task in reviewed.raw.tasks:
            for index, check in enumerate(task.checks):
                name = check_part(index)
                parts.append(Part(len(parts), task.name, name, check.title, check, check.max_points,
                                  review.part(task.name, name), (task.name, name) in flagged))
            for index, manual in enumerate(specs[task.name].manual if task.name in specs else ()):
                name = manual_part(index)
                parts.append(Part(len(parts), task.name, name, manual.title, None, manual.points,
                                  review.part(task.name, name), False, manual.guide))
        return parts


def needs_look(reviewed: Reviewed) -> bool:
    """Flagged overrides and ungraded manual parts always; a concern (no grade, a crash, zero points) until a
    reviewer marks the student done."""
    return reviewed.needs_look or (not reviewed.done and bool(concerns_of(reviewed.raw, 0)))


def _number(text: str, what: str, most: float) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        raise ReviewError(f"{what}: {text[:40]!r} is not a number of points") from None
    if not 0 <= value <= most:
        raise ReviewError(f"{what}: {value:g} points is outside 0 to {most:g}")
    return value


def _edits(form: Any, parts: list[Part]) -> list[PartReview]:
    edits = []
    for part in parts:
        if form.get(f"part-{part.n}") != part.name:
            raise ReviewError("this student's results changed since the page was loaded (graded again?): load it"
                              " again, then make your changes")
        points = _number(form.get(f"points-{part.n}", ""), part.title, part.max_points)
        reason = form.get(f"reason-{part.n}", "").strip()
        if part.check is not None and points is not None and not reason:
            raise ReviewError(f"{part.title}: say why its points change (the reason is kept with the change)")
        confirmed = form.get(f"confirm-{part.n}") == "yes"
        edits.append(PartReview(part.task, part.part, part.title, points, reason,
                                form.get(f"comment-{part.n}", "").strip(),
                                part.fingerprint_now if confirmed else form.get(f"fp-{part.n}", part.fingerprint_now)))
    return edits


def create_app(out_dir: Path, assignment: Course, token: str) -> Flask:
    app = _Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    batch = Batch(out_dir, assignment)
    app.jinja_env.filters["lines"] = _lines
    app.jinja_env.globals["points"] = points_text

    @app.before_request
    def require_token() -> None:
        host = (request.host or "").rsplit(":", 1)[0]
        if host not in ("127.0.0.1", "localhost"):
            abort(403)
        given = request.args.get("token") or request.cookies.get(_cookie()) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(403)
        if request.method == "POST" and not hmac.compare_digest(request.form.get("token", "").encode(),
                                                                token.encode()):
            abort(403)

    @app.after_request
    def harden(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        if request.args.get("token") == token:
            response.set_cookie(_cookie(), token, httponly=True, samesite="Strict")
        return response

    @app.errorhandler(403)
    def refused(_):
        return "403: this page needs the token printed by `grader review` (open the URL it printed)", 403

    @app.get("/")
    def index():
        roster, reviewed, order = batch.load()
        rows = [(key, roster.student(key).name, reviewed[key], needs_look(reviewed[key])) for key in order]
        return render_template("index.html", assignment=assignment, rows=rows, token=token,
                               looking=sum(look for *_, look in rows))

    def student_page(key: str, message: str = "", error: str = "", status: int = 200):
        roster, reviewed, order = batch.load()
        if key not in reviewed:
            abort(404)
        here = order.index(key)
        after = order[here + 1:] + order[:here]
        look = next((k for k in after if needs_look(reviewed[k])), None)
        page = render_template(
            "student.html", assignment=assignment, key=key, name=roster.student(key).name, r=reviewed[key],
            parts=batch.parts(key, reviewed[key]), view=read_view(out_dir, key), token=token,
            previous=order[here - 1] if here else None, next=order[here + 1] if here + 1 < len(order) else None,
            next_look=look, position=here + 1, total=len(order), message=message, error=error,
            reviewer=request.form.get("reviewer") or request.cookies.get(_cookie(REVIEWER_COOKIE), ""),
            concerns=concerns_of(reviewed[key].raw, 0))
        return make_response(page, status)

    @app.get("/student/<key>")
    def student(key: str):
        return student_page(key, message="Saved." if request.args.get("saved") else "")

    @app.post("/student/<key>")
    def save(key: str):
        _, reviewed, _ = batch.load()
        if key not in reviewed:
            abort(404)
        reviewer = request.form.get("reviewer", "").strip()[:100]
        try:
            version = int(request.form.get("version", "-1"))
            edits = _edits(request.form, batch.parts(key, reviewed[key]))
            batch.store.save(key, version, edits, request.form.get("comment", "").strip(),
                             request.form.get("done") == "yes", reviewer)
        except ReviewConflict as exc:
            return student_page(key, error=str(exc), status=409)
        except (ReviewError, ValueError) as exc:
            return student_page(key, error=f"Not saved: {exc}", status=400)
        response = redirect(url_for("student", key=key, saved=1), code=303)
        response.set_cookie(_cookie(REVIEWER_COOKIE), reviewer, httponly=True, samesite="Strict")
        return response

    return app


@dataclass
class ReviewServer:
    """The page served from a thread (``grader review`` runs it in the foreground; the tests beside Chromium)."""

    url: str
    server: Any

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def review_server(out_dir: Path, assignment: Course, port: int = 0, token: str | None = None) -> ReviewServer:
    token = token or secrets.token_urlsafe(24)
    server = make_server("127.0.0.1", port, create_app(out_dir, assignment, token), threaded=True)
    return ReviewServer(f"http://127.0.0.1:{server.server_port}/?token={token}", server)
