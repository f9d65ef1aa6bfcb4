"""A batch's output folder: the names of what is in it, and its results store (a result as JSON per submission,
its text feedback beside it).  Batches write it; reports, the review page and the course's CI read it, through
this module only (none of them imports the batch)."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from grader.files import atomic_write_text
from grader.results import SubmissionResult

log = logging.getLogger(__name__)
RESULTS = "results"  # <key>.json: a submission's result
FEEDBACK = "feedback"  # <key>.txt, .md, .html: what the student reads
EXECUTED = "executed"  # <key>/executed.ipynb: the notebook as the runner reported it
GRADEBOOK = "gradebook.csv"


def write_result(result: SubmissionResult, out_dir: Path, stem: str) -> None:
    atomic_write_text(out_dir / RESULTS / f"{stem}.json", json.dumps(result.to_dict(), indent=1))
    atomic_write_text(out_dir / FEEDBACK / f"{stem}.txt", result.feedback_text())


def read_result(out_dir: Path, stem: str) -> dict | None:
    """A stored result's JSON object; None when there is none that can be read as one."""
    try:
        stored = json.loads((out_dir / RESULTS / f"{stem}.json").read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return stored if isinstance(stored, dict) else None


def read_results(out_dir: Path, keys: list[str] | None = None
                 ) -> tuple[dict[str, SubmissionResult], dict[str, str]]:
    """The stored results by key (of ``keys`` only, when given: the submissions of the latest intake), and why
    each result file that is there could not be read."""
    paths = sorted((out_dir / RESULTS).glob("*.json")) if keys is None \
        else [out_dir / RESULTS / f"{k}.json" for k in keys]
    results, unreadable = {}, {}
    for path in paths:
        try:
            results[path.stem] = SubmissionResult.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            unreadable[path.stem] = f"{type(exc).__name__}: {str(exc)[:200]}"
            log.warning("ignoring unreadable result %s (%s)", path, unreadable[path.stem])
    return results, unreadable


def load_results(out_dir: Path, keys: list[str] | None = None) -> dict[str, SubmissionResult]:
    return read_results(out_dir, keys)[0]
