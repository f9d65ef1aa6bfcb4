"""The command line: a thin click layer over the library, one function per verb.

The commands read their options, call the library and say what it did; the library decides (scoring rules,
defaults, what a batch writes). A ``GraderError`` from any command is said once, by the group: ``GraderGroup``.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from grader.ci.course_ci import DEFAULT_GRADER_REF, DEFAULT_IMAGE
from grader.course.assignment import load_assignment
from grader.course.layout import COURSE_ENV, course_root
from grader.defaults import SIMILARITY_THRESHOLD
from grader.errors import GraderError, SpecError
from grader.sandbox.select import CHOICES as SANDBOXES
from grader.student.local_run import SUBMIT_SANDBOXES
from grader.student_text import MAX_TEXT_CHARS, one_line, visible_lines

log = logging.getLogger(__name__)
ASSIGNMENT_HELP = "assignment name (under solutions/) or path of its solution notebook"


def say(line: str, err: bool = False) -> None:
    """Print one line the CLI made. What it holds was written by students too (a file's name, an exception's
    message in a result's error): the line is ``one_line``, so no newline in it starts a line that imitates the
    grader's, and no control reaches the terminal."""
    click.echo(one_line(line, MAX_TEXT_CHARS), err=err)


def say_lines(text: str) -> None:
    """Print text of several lines a report made (each field in it ``one_line``): any control left shown too."""
    click.echo(visible_lines(text))


class VisibleFormatter(logging.Formatter):
    """Log records as ``logging.Formatter`` makes them, every control but the newline shown as its escape (a log
    names files and quotes what a submission's run printed)."""

    def format(self, record: logging.LogRecord) -> str:
        return visible_lines(super().format(record))


def limit_options(command):
    """Options that override the assignment's limits."""
    for name, kind, text in (("--cell-timeout", float, "seconds a cell may run"),
                             ("--notebook-timeout", float, "seconds the whole notebook may run"),
                             ("--memory-mb", int, "memory (address space) of the student's processes")):
        command = click.option(name, type=kind, help=f"{text} (default: the assignment's)")(command)
    return command


def gpu_option(command):
    """--gpu: the students' code on this machine's GPUs, or a plain reason why it cannot be."""
    return click.option("--gpu", is_flag=True, help="run the students' code on this machine's GPUs (their kernels"
                        " share them; bubblewrap sandbox, TensorFlow with CUDA); the scores are still measured on"
                        " the CPU")(command)


def term_options(command):
    """--roster and the late policy's options: kept in the output folder for every later report and batch."""
    for args, kwargs in (
            (("--roster", "roster"), dict(type=click.Path(exists=True, dir_okay=False, path_type=Path),
                                          help="the class list: Canvas's gradebook export, Gradescope's roster, or"
                                               " a CSV with a header (name, id, sid, email, section); every"
                                               " student on it is on every output, handed in or not")),
            (("--late-policy", "late_policy"), dict(type=click.Path(exists=True, dir_okay=False, path_type=Path),
                                                    help="a YAML file: due, timezone, grace, per_day, max_penalty,"
                                                         " zero_after, late_mark_days, extensions"
                                                         " (docs/instructors.md)")),
            (("--due",), dict(help='the due date, "2026-03-01 23:59" (UTC unless it has an offset or the policy'
                                   " file a timezone)")),
            (("--grace",), dict(help="late by at most this is no penalty: 15m, 1h")),
            (("--late-per-day", "per_day"), dict(type=click.FloatRange(0, 100),
                                                 help="percent of the points taken per day (or part of one) late")),
            (("--zero-after",), dict(help="late by more than this after the due date: zero (7d)")),
            (("--extension", "extensions"), dict(multiple=True, metavar="WHO=WHEN",
                                                 help="a student's own due date or delay: 1203=2026-03-04 23:59,"
                                                      " ana@uni.example=2d (user id, SIS id, email or name)")))[::-1]:
        command = click.option(*args, **kwargs)(command)  # (the last applied is listed first)
    return command


def term_inputs(roster, late_policy, due, grace, per_day, zero_after, extensions):
    """The class list and the late policy the options give (None for either not given: the kept one stands)."""
    from grader.errors import ReportError
    from grader.intake.classlist import read_class_list
    from grader.reports.late import policy_from

    given = {}
    for item in extensions:
        who, sign, when = item.partition("=")
        if not sign or not who.strip() or not when.strip():
            raise ReportError(f"--extension {item!r}: write WHO=WHEN, as 1203=2026-03-04 23:59 or ana@uni.example=2d")
        given[who.strip()] = when.strip()
    policy = policy_from(late_policy, due=due, grace=grace, per_day=per_day, zero_after=zero_after,
                         extensions=given)
    return (read_class_list(roster) if roster else None), policy


GRADING_EXTRA = "notebook-grader[grading]"  # what batch grading, reports and the review page need besides


def needs_grading_extra(*modules: str) -> None:
    """Batch grading, reports and the review page use packages students never install (the ``grading`` extra):
    say which are missing and how to install them, before any work starts."""
    import importlib.util

    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise click.ClickException(f"this command needs {', '.join(missing)}, which only instructors install:"
                                   f" pip install '{GRADING_EXTRA}' (scripts/setup.sh does)")


def limits_of(course, cell_timeout, notebook_timeout, memory_mb):
    return course.spec.limits.replace(cell_timeout_s=cell_timeout, notebook_timeout_s=notebook_timeout,
                                      memory_mb=memory_mb)


def limit_args(cell_timeout, notebook_timeout, memory_mb) -> list[str]:
    args = []
    for flag, value in (("--cell-timeout", cell_timeout), ("--notebook-timeout", notebook_timeout),
                        ("--memory-mb", memory_mb)):
        if value is not None:
            args += [flag, str(value)]
    return args


def _fail(exc: GraderError) -> NoReturn:
    """Say why a command cannot do what was asked, on standard error, and end with exit code 2."""
    if isinstance(exc, SpecError) and "\n" in str(exc):  # a specification's mistakes, one a line (controls shown)
        click.echo(visible_lines(f"error: {exc}"), err=True)
    else:
        say(f"error: {exc}", err=True)
    sys.exit(2)


class GraderGroup(click.Group):
    """The commands' one error wrapper: a ``GraderError`` that any command raises (a course, a file or a machine
    that cannot do what was asked) is said as one error line with exit code 2, never as a traceback."""

    group_class = type  # its groups (``grader docs``) are GraderGroups too

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            _fail(exc)


@click.group(cls=GraderGroup)
@click.option("-v", "--verbose", is_flag=True, help="log what the grader does")
@click.option("--course", type=click.Path(exists=True, file_okay=False, path_type=Path), envvar=COURSE_ENV,
              help="the course folder, with solutions/ and assignments/ (default: the working folder when it has"
                   " solutions/, else the grader's own course)")
def main(verbose: bool, course: Path | None) -> None:
    """Autograder for Keras notebook assignments."""
    if course is not None:
        os.environ[COURSE_ENV] = str(course.resolve())  # every command, and the workers it starts, see it
    handler = logging.StreamHandler()
    handler.setFormatter(VisibleFormatter("%(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


@main.group()
def docs() -> None:
    """Write the parts of the guide made from the code."""


@docs.command("check-kinds")
@click.option("--write", "guide", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="replace the reference in this guide (docs/authoring.md) instead of printing it")
def check_kinds(guide: Path | None) -> None:
    """The reference of every check kind, its fields and an example, from grader/course/check_kinds.py."""
    from grader.course.check_kinds import reference_text, with_reference

    if guide is None:
        click.echo(reference_text(), nl=False)
        return
    try:
        text = with_reference(guide.read_text())
    except ValueError as exc:  # the guide lacks the markers the reference goes between
        raise GraderError(str(exc)) from exc
    guide.write_text(text)
    say(f"wrote the check kinds into {guide}")


@docs.command("cli")
@click.option("--write", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="write the reference to this file (docs/cli.md) instead of printing it")
def cli_reference(out: Path | None) -> None:
    """The reference of every command and its options, from the click commands themselves."""
    from grader.cli_reference import reference_text

    if out is None:
        click.echo(reference_text(), nl=False)
        return
    out.write_text(reference_text())
    say(f"wrote the command-line reference into {out}")


@main.command()
@click.argument("assignment")
def generate(assignment: str) -> None:
    """Write the student notebook and public checks of ASSIGNMENT from its solution notebook."""
    for path in load_assignment(assignment).write_student_files():
        say(f"wrote {path}")


@main.command()
@click.argument("submission", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--assignment", "-a", required=True, help=ASSIGNMENT_HELP)
@click.option("--sandbox", type=click.Choice(SANDBOXES), default="auto", show_default=True,
              help="auto: the container when its image is built, else bubblewrap")
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path), help="write the result as JSON")
@click.option("--gradescope", type=click.Path(dir_okay=False, path_type=Path),
              help="write Gradescope's results.json")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="keep the executed notebook here")
@click.option("--cpu-slot", default=0, show_default=True, help="which CPUs to use, for parallel grading")
@click.option("--quiet", is_flag=True, help="print nothing")
@gpu_option
@limit_options
def grade(submission: Path, assignment: str, sandbox: str, json_out: Path | None, gradescope: Path | None,
          keep: Path | None, cpu_slot: int, quiet: bool, gpu: bool, cell_timeout, notebook_timeout, memory_mb) -> None:
    """Grade one SUBMISSION notebook."""
    from grader.grading.checker import measure_on_the_cpu
    from grader.grading.grade import grade_submission
    from grader.sandbox.select import choose_sandbox

    measure_on_the_cpu()  # this process's checks measure on the CPU, as a batch's checker does
    course = load_assignment(assignment)
    result = grade_submission(submission, course, choose_sandbox(sandbox, cpu_slot, gpu=gpu),
                              limits=limits_of(course, cell_timeout, notebook_timeout, memory_mb), keep=keep)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(result.to_dict(), indent=1))
    if gradescope:
        gradescope.parent.mkdir(parents=True, exist_ok=True)
        gradescope.write_text(json.dumps(result.to_gradescope_dict(), indent=1))
    if not quiet:
        say_lines(result.feedback_text())


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--assignment", "-a", required=True, help=ASSIGNMENT_HELP)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("grading-output"),
              show_default=True, help="folder for results, feedback and the gradebook")
@click.option("--sandbox", type=click.Choice(SANDBOXES), default="auto", show_default=True)
@click.option("--workers", type=int, help="submissions graded at once on this machine (default: one per `cpus`"
              " cores of the assignment's limits, so that no two share a CPU)")
@click.option("--scheduler", help="grade on a Dask cluster: its scheduler's address (tcp://host:8786)")
@click.option("--redo", is_flag=True, help="grade again submissions that already have a result")
@click.option("--only", multiple=True, metavar="KEY",
              help="grade again only this submission (its key, user id or name; repeat for several) and remake every"
                   " output; the other results and every review are kept")
@term_options
@gpu_option
@limit_options
def batch(source: Path, assignment: str, out_dir: Path, sandbox: str, workers: int | None, scheduler: str | None,
          redo: bool, only: tuple[str, ...], roster: Path | None, late_policy: Path | None, due, grace, per_day,
          zero_after, extensions, gpu: bool, cell_timeout, notebook_timeout, memory_mb) -> None:
    """Grade every submission in SOURCE: a folder or a zip (Canvas's download, Gradescope's export, one folder per
    student, or notebooks), into a gradebook; results are reused while nothing they were graded from changed."""
    needs_grading_extra("tqdm", "copydetect")
    from tqdm import tqdm

    from grader.batch.run import grade_folder
    from grader.sandbox.select import choose_sandbox

    course = load_assignment(assignment)
    class_list, policy = term_inputs(roster, late_policy, due, grace, per_day, zero_after, extensions)
    used = choose_sandbox(sandbox, gpu=gpu and not scheduler)  # a cluster's workers ask their own machines
    bar = tqdm(total=0, unit="notebook", dynamic_ncols=True)

    def plan(to_grade: int, reused: int, where: str) -> None:
        bar.total = to_grade
        bar.refresh()
        bar.write(one_line(f"grading {to_grade} submissions of {source} with the {used.describe()} sandbox on"
                           f" {where} ({reused} earlier results still valid, reused)", MAX_TEXT_CHARS))

    def progress(result) -> None:
        bar.write(one_line(f"{result.submission}: {result.points:g}/{result.max_points:g}"
                           + (f"  ({result.error})" if result.error else ""), MAX_TEXT_CHARS))
        bar.update(1)

    try:
        summary = grade_folder(source, course, out_dir,
                               sandbox=used.name, workers=workers, redo=redo, progress=progress,
                               limits=limits_of(course, cell_timeout, notebook_timeout, memory_mb),
                               scheduler=scheduler, gpu=gpu, on_plan=plan, only=only, class_list=class_list,
                               policy=policy)
    finally:
        bar.close()  # before any error is said, so that the bar does not cut its line
    manifest = summary.manifest
    if summary.cleaned:
        say(f"removed what an interrupted batch left: {', '.join(summary.cleaned)}")
    say(f"{manifest.layout}: {len(manifest.submissions)} students")
    for item in manifest.superseded:
        say(f"  replaced: {item['file']} by {item['by']} ({item['reason']})")
    for item in manifest.unmatched:
        say(f"  not graded: {item['file']}: {item['reason']}")
    for staged in manifest.submissions:
        for note in staged.notes:
            say(f"  note: {staged.file}: {note}")
    say(f"graded {summary.graded}, reused {summary.skipped} earlier results, {summary.failed} grader"
        f" failures; gradebook: {summary.gradebook}")
    from grader.reports import regenerate

    try:
        made = regenerate(out_dir, course)
    except Exception as exc:  # noqa: BLE001 - the grades are written: only the reports are missing
        log.exception("making the reports failed")
        say(f"warning: the reports could not be made ({type(exc).__name__}: {exc}); the grades are written;"
            " make the reports with `grader report`", err=True)
        return
    say(f"students: {made.statuses()}")
    say(f"report: {made.report} (feedback for each student, canvas.csv, gradescope/; `grader report`"
        " makes them again)")


@main.command()
@click.argument("assignment", required=False)
@click.option("--all", "every", is_flag=True, help="every assignment of the course folder"
              " (solutions/<name>/<name>.ipynb): one exit code for all, a summary table")
@click.option("--files-only", is_flag=True, help="only check the student files (no execution)")
@click.option("--sandbox", type=click.Choice(SANDBOXES), default="auto", show_default=True)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="write a JUnit XML report: one test case per assignment and validation step")
@click.option("--seeds", type=click.IntRange(1), default=1, show_default=True,
              help="run the reference this many times (the setup cell's seed, then 1, 2, ...): each accuracy and"
                   " training-stop check must pass by its margin in every run; recorded in thresholds.json")
@click.option("--no-record", is_flag=True, help="with --seeds: leave thresholds.json as it is")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="an earlier batch's output folder: regrade its stored submissions with the assignment and grader"
                   " as they are now and list every score that would change (instead of validating)")
@click.option("--sample", type=click.IntRange(1), help="with --against: regrade only this many submissions")
@click.option("--accept", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="with --against: the changes accepted (a drift report written by --drift-out, reviewed)")
@click.option("--drift-out", type=click.Path(dir_okay=False, path_type=Path),
              help="with --against: write the changes found as JSON (an accept file once reviewed)")
@click.option("--workers", type=int, help="with --against: submissions regraded at once")
def validate(assignment: str | None, every: bool, files_only: bool, sandbox: str, junit: Path | None, seeds: int,
             no_record: bool, against: Path | None, sample: int | None, accept: Path | None,
             drift_out: Path | None, workers: int | None) -> None:
    """Check ASSIGNMENT (or --all): in sync, no leaks, thresholds within their recorded margins, reference scores
    full marks, untouched notebook scores zero; with --seeds, thresholds that hold across seeds; with --against,
    the grades of an earlier batch that would change.

    Exit codes: 0 valid (no unaccepted change); 1 not valid (or grades would change); 2 the command cannot run.
    """
    from grader.grading.checker import measure_on_the_cpu

    if every == bool(assignment):
        raise GraderError("name one ASSIGNMENT, or --all")
    if against is not None and (every or seeds > 1 or files_only):
        raise GraderError("--against compares one ASSIGNMENT's grades: not with --all, --seeds or --files-only")
    if against is None and (sample or accept or drift_out or workers):
        raise GraderError("--sample, --accept, --drift-out and --workers go with --against")
    measure_on_the_cpu()  # thresholds are measured on the CPU, as the grader measures them
    if against is not None:
        assert assignment is not None  # (--against goes without --all, so with one ASSIGNMENT)
        _validate_against(assignment, against, sandbox, sample, accept, drift_out, workers)
        return
    from grader.ci.course_ci import summary_table, validate_course
    from grader.ci.junit import write_junit
    from grader.ci.validate import validate as run_validation
    from grader.sandbox.select import choose_sandbox

    def show(report) -> None:
        if report.reference:
            say(f"{prefix(report)}reference solution: {report.reference.points:g}/{report.reference.max_points:g}")
        if report.blank:
            say(f"{prefix(report)}untouched student notebook: {report.blank.points:g}/{report.blank.max_points:g}")
        for spread in report.spreads:
            say(f"{prefix(report)}seeds: {spread.describe()}")
        if report.recorded:
            say(f"{prefix(report)}recorded in {report.recorded}")
        for problem in report.problems:
            say(f"{prefix(report)}problem: {problem}", err=True)

    def prefix(report) -> str:
        return f"{report.assignment}: " if every else ""

    if every:
        reports = validate_course(course_root(), None if files_only else (lambda: choose_sandbox(sandbox)),
                                  seeds=seeds, record=not no_record, on_report=show)
    else:
        assert assignment is not None  # (checked above: one ASSIGNMENT, or --all)
        reports = [run_validation(load_assignment(assignment), None if files_only else choose_sandbox(sandbox),
                                  execute=not files_only, seeds=seeds, record=not no_record)]
        show(reports[0])
    if junit:
        say(f"JUnit report: {write_junit(reports, junit)}")
    if every:
        say_lines(summary_table(reports))
    ok = all(r.ok for r in reports)
    say("valid" if ok else "NOT valid")
    sys.exit(0 if ok else 1)


def _validate_against(assignment: str, against: Path, sandbox: str, sample: int | None, accept: Path | None,
                      drift_out: Path | None, workers: int | None) -> None:
    from grader.ci.drift import drift, read_accepted
    from grader.files import atomic_write_text

    report = drift(load_assignment(assignment), against, sandbox=sandbox, sample=sample,
                   accepted=read_accepted(accept) if accept else None, workers=workers,
                   progress=lambda key, result: say(f"regraded {key}: {result.points:g}/{result.max_points:g}"))
    for line in report.lines():
        say(line)
    if drift_out:
        atomic_write_text(drift_out, json.dumps(report.to_dict(), indent=1))
        say(f"wrote {drift_out}")
    say("no unaccepted grade change" if report.ok else "grades would change")
    sys.exit(0 if report.ok else 1)


@main.command("ci-init")
@click.argument("course", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("."))
@click.option("--grader-source", required=True, help="the grader's git repository (its URL), which CI installs and"
              " whose Dockerfile builds the grading image")
@click.option("--grader-ref", default=DEFAULT_GRADER_REF, show_default=True, help="the branch or tag of it to use")
@click.option("--image", default=DEFAULT_IMAGE, show_default=True,
              help="the grading image's name (with --pull: a registry's image)")
@click.option("--pull", is_flag=True, help="pull the image from its registry instead of building it")
@click.option("--force", is_flag=True, help="write over CI files already there")
def ci_init(course: Path, grader_source: str, grader_ref: str, image: str, pull: bool, force: bool) -> None:
    """Write the CI of a course repository COURSE (default: here): ci/grader-ci.sh (the steps), and the GitHub
    Actions and GitLab CI files that run it and publish its JUnit report."""
    from grader.ci.course_ci import write_ci_files

    for path in write_ci_files(course, grader_source, grader_ref, image, pull, force):
        say(f"wrote {path}")


@main.command()
@click.argument("assignment")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="folder to write autograder.zip into")
@click.option("--no-datasets", is_flag=True, help="leave the data set out of the bundle (setup.sh installs it)")
@limit_options
def gradescope(assignment: str, out_dir: Path, no_datasets: bool, cell_timeout, notebook_timeout, memory_mb) -> None:
    """Write Gradescope's autograder bundle for ASSIGNMENT (setup.sh, run_autograder, grader, solution)."""
    from grader.bundle.gradescope import write_bundle

    path = write_bundle(load_assignment(assignment), out_dir, limit_args(cell_timeout, notebook_timeout, memory_mb),
                        with_datasets=not no_datasets)
    say(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB): upload it as the assignment's autograder")


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--assignment", "-a", required=True, help=ASSIGNMENT_HELP)
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), help="write here (default: OUT_DIR)")
@click.option("--canvas-column", help='the Canvas gradebook column, as Canvas names it: "Name (id)"'
                                      " (default: the assignment's name)")
@click.option("--similarity-threshold", type=click.FloatRange(0, 1), default=SIMILARITY_THRESHOLD,
              help=f"share of answer code in common that flags a pair (default {SIMILARITY_THRESHOLD:g})")
@term_options
def report(out_dir: Path, assignment: str, to: Path | None, canvas_column: str | None,
           similarity_threshold: float, roster: Path | None, late_policy: Path | None, due, grace, per_day,
           zero_after, extensions) -> None:
    """Make every report again from the stored results in OUT_DIR, without grading: gradebook.csv, canvas.csv,
    gradescope/*/results.json, feedback/*.txt, .html and .md, report.html."""
    needs_grading_extra("copydetect")
    from grader.reports import regenerate

    class_list, policy = term_inputs(roster, late_policy, due, grace, per_day, zero_after, extensions)
    summary = regenerate(out_dir, load_assignment(assignment), to=to, canvas_column=canvas_column,
                         threshold=similarity_threshold, class_list=class_list, policy=policy)
    for warning in summary.warnings:
        say(f"warning: {warning}", err=True)
    shown = f" (the {summary.similar_shown} most similar shown)" \
        if summary.similar_shown < summary.similar_pairs else ""
    say(f"{summary.results} results, {summary.similar_pairs} similar pairs{shown}; students: {summary.statuses()};"
        f" report: {summary.report}")


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--assignment", "-a", required=True, help=ASSIGNMENT_HELP)
@click.option("--port", type=int, default=0, show_default=True, help="port on 127.0.0.1 (0: any free one)")
@click.option("--backup", "backup_only", is_flag=True, help="only copy the reviews to reviews.backup.sqlite")
def review(out_dir: Path, assignment: str, port: int, backup_only: bool) -> None:
    """Go through OUT_DIR's students one by one in a local page (127.0.0.1, a token in its URL): feedback, code,
    outputs, points and comments; reviews kept in OUT_DIR/reviews.sqlite and applied by every report."""
    needs_grading_extra("flask")
    from grader.reviews.server import review_server
    from grader.reviews.store import backup_reviews

    try:
        if backup_only:
            copy = backup_reviews(out_dir)
            say(f"reviews copied to {copy}" if copy else f"no reviews in {out_dir} yet")
            return
        server = review_server(out_dir, load_assignment(assignment), port)
    except OSError as exc:  # the port taken, the reviews unreadable: said as the grader's errors are
        raise GraderError(str(exc)) from exc
    say(f"review page (Ctrl+C stops it): {server.url}")

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # also where SIGINT came ignored (a command started in the background)

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        backup_reviews(out_dir)


@main.command()
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="first run it from the top in a fresh kernel with the grader's limits, run the public checks and"
                   " measure what the task text states (the accuracies to reach) on the data this machine has")
@click.option("--sandbox", type=click.Choice(SUBMIT_SANDBOXES), default="auto", show_default=True,
              help="where --dry-run runs it: auto, the grading container when its image is here, else this machine"
                   " (local, no sandbox: it is your own code); container or bubblewrap, that sandbox only")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="folder for the file to hand in (default: beside NOTEBOOK)")
def submit(notebook: Path, dry_run: bool, sandbox: str, out_dir: Path | None) -> None:
    """Validate NOTEBOOK (as saved) with the public_checks.json beside it and write NAME-submission.ipynb to hand in;
    say what was checked and what was not.

    Exit codes: 0 ready; 1 written, but points will be lost; 2 the notebook or its public_checks.json cannot be
    read; 4 --dry-run in a sandbox (named with --sandbox) that this machine lacks.
    """
    from grader.course.handout import find_handout
    from grader.grading.checker import measure_on_the_cpu
    from grader.student.handin import submit as hand_in

    if dry_run:
        measure_on_the_cpu()  # what the task text states is measured on the CPU, as the grader measures it
    report = hand_in(notebook, find_handout(notebook.resolve()), run=dry_run, sandbox_name=sandbox, out_dir=out_dir)
    say_lines(str(report))
    sys.exit(int(report.status))
