"""The command line: a thin click layer over the library, one function per verb."""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from .assignment import load_assignment
from .errors import GraderError
from .local_run import SUBMIT_SANDBOXES
from .sandbox.select import CHOICES as SANDBOXES
from .student_text import MAX_TEXT_CHARS, one_line, visible_lines

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


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="log what the grader does")
def main(verbose: bool) -> None:
    """Autograder for Keras notebook assignments."""
    handler = logging.StreamHandler()
    handler.setFormatter(VisibleFormatter("%(levelname)s %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


def _fail(exc: GraderError) -> None:
    say(f"error: {exc}", err=True)
    sys.exit(2)


@main.command()
@click.argument("assignment")
def generate(assignment: str) -> None:
    """Write the student notebook and public checks of ASSIGNMENT from its solution notebook."""
    try:
        course = load_assignment(assignment)
        for path in course.write_student_files():
            say(f"wrote {path}")
    except GraderError as exc:
        _fail(exc)


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
    from .checker import CPU_ONLY
    from .grade import grade_submission
    from .sandbox.select import choose_sandbox

    os.environ.update(CPU_ONLY)  # this process's checks measure on the CPU, as a batch's checker does
    try:
        course = load_assignment(assignment)
        result = grade_submission(submission, course, choose_sandbox(sandbox, cpu_slot, gpu=gpu),
                                  limits=limits_of(course, cell_timeout, notebook_timeout, memory_mb), keep=keep)
    except GraderError as exc:
        _fail(exc)
        return
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
@click.option("--workers", type=int, help="submissions graded at once on this machine (default: one per `cpus` cores of the"
              " assignment's limits, so that no two share a CPU)")
@click.option("--scheduler", help="grade on a Dask cluster: its scheduler's address (tcp://host:8786)")
@click.option("--redo", is_flag=True, help="grade again submissions that already have a result")
@gpu_option
@limit_options
def batch(source: Path, assignment: str, out_dir: Path, sandbox: str, workers: int | None, scheduler: str | None,
          redo: bool, gpu: bool, cell_timeout, notebook_timeout, memory_mb) -> None:
    """Grade every submission in SOURCE: a folder or a zip (Canvas's download, Gradescope's export, one folder per
    student, or notebooks), into a gradebook; results are reused while nothing they were graded from changed."""
    from tqdm import tqdm

    from .batch import grade_folder
    from .sandbox.select import choose_sandbox

    try:
        course = load_assignment(assignment)
        used = choose_sandbox(sandbox, gpu=gpu and not scheduler)  # a cluster's workers ask their own machines
    except GraderError as exc:
        _fail(exc)
        return
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
        summary = grade_folder(source, course, out_dir, sandbox=used.name, workers=workers, redo=redo,
                               progress=progress, limits=limits_of(course, cell_timeout, notebook_timeout, memory_mb),
                               scheduler=scheduler, gpu=gpu,
                               on_plan=plan)
    except GraderError as exc:
        bar.close()
        _fail(exc)
        return
    bar.close()
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
    from .reports import regenerate

    try:
        made = regenerate(out_dir, course)
    except Exception as exc:  # noqa: BLE001 - the grades are written: only the reports are missing
        log.exception("making the reports failed")
        say(f"warning: the reports could not be made ({type(exc).__name__}: {exc}); the grades are written;"
            " make the reports with `grader report`", err=True)
        return
    say(f"report: {made.report} (feedback for each student, canvas.csv, gradescope/; `grader report`"
        " makes them again)")


@main.command()
@click.argument("assignment")
@click.option("--files-only", is_flag=True, help="only check the student files (no execution)")
@click.option("--sandbox", type=click.Choice(SANDBOXES), default="auto", show_default=True)
def validate(assignment: str, files_only: bool, sandbox: str) -> None:
    """Check ASSIGNMENT: in sync, no leaks, reference scores full marks, untouched notebook scores zero."""
    from .sandbox.select import choose_sandbox
    from .validate import validate as run_validation

    try:
        course = load_assignment(assignment)
        report = run_validation(course, None if files_only else choose_sandbox(sandbox), execute=not files_only)
    except GraderError as exc:
        _fail(exc)
        return
    if report.reference:
        say(f"reference solution: {report.reference.points:g}/{report.reference.max_points:g}")
    if report.blank:
        say(f"untouched student notebook: {report.blank.points:g}/{report.blank.max_points:g}")
    for problem in report.problems:
        say(f"problem: {problem}", err=True)
    say("valid" if report.ok else "NOT valid")
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("assignment")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="folder to write autograder.zip into")
@click.option("--no-datasets", is_flag=True, help="leave the data set out of the bundle (setup.sh installs it)")
@limit_options
def gradescope(assignment: str, out_dir: Path, no_datasets: bool, cell_timeout, notebook_timeout, memory_mb) -> None:
    """Write Gradescope's autograder bundle for ASSIGNMENT (setup.sh, run_autograder, grader, solution)."""
    from .gradescope import write_bundle

    try:
        course = load_assignment(assignment)
        path = write_bundle(course, out_dir, limit_args(cell_timeout, notebook_timeout, memory_mb),
                            with_datasets=not no_datasets)
    except GraderError as exc:
        _fail(exc)
        return
    say(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB): upload it as the assignment's autograder")


@main.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--assignment", "-a", required=True, help=ASSIGNMENT_HELP)
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), help="write here (default: OUT_DIR)")
@click.option("--canvas-column", help='the Canvas gradebook column, as Canvas names it: "Name (id)"'
                                      " (default: the assignment's name)")
@click.option("--similarity-threshold", type=click.FloatRange(0, 1), default=None,
              help="share of answer code in common that flags a pair (default 0.6)")
def report(out_dir: Path, assignment: str, to: Path | None, canvas_column: str | None,
           similarity_threshold: float | None) -> None:
    """Make every report again from the stored results in OUT_DIR, without grading: gradebook.csv, canvas.csv,
    gradescope/*/results.json, feedback/*.html and .md, report.html."""
    from .reports import regenerate
    from .reports.similarity import THRESHOLD

    try:
        summary = regenerate(out_dir, load_assignment(assignment), to=to, canvas_column=canvas_column,
                             threshold=THRESHOLD if similarity_threshold is None else similarity_threshold)
    except GraderError as exc:
        _fail(exc)
        return
    for warning in summary.warnings:
        say(f"warning: {warning}", err=True)
    shown = f" (the {summary.similar_shown} most similar shown)" \
        if summary.similar_shown < summary.similar_pairs else ""
    say(f"{summary.results} results, {summary.similar_pairs} similar pairs{shown}; report: {summary.report}")


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
    from .checker import CPU_ONLY
    from .handin import submit as hand_in
    from .handout import find_handout

    if dry_run:
        os.environ.update(CPU_ONLY)  # what the task text states is measured on the CPU, as the grader measures it
    try:
        report = hand_in(notebook, find_handout(notebook.resolve()), run=dry_run, sandbox_name=sandbox,
                         out_dir=out_dir)
    except GraderError as exc:
        _fail(exc)
        return
    say_lines(str(report))
    sys.exit(int(report.status))
