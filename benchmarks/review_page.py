"""The review page and the reviews for a class of 300: the time to apply every review (what each output does once),
to serve a student's page, and to save a review (one transaction), as medians.

    .venv/bin/python benchmarks/review_page.py [--results 300] [--runs 5]

The class is by_hand's results built directly (tests/reports/builders.py: no grading), each with the example's
executed notebook, and a review with an override, a comment and a reviewer's note for every student.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.course.assignment import load_assignment  # noqa: E402
from grader.output_folder import read_results
from grader.reviews.apply import review_adjustments  # noqa: E402
from grader.reviews.server import create_app  # noqa: E402
from grader.reviews.store import PartReview, ReviewStore, fingerprint  # noqa: E402
from tests.reports.builders import by_hand_result, class_notebooks, write_out_dir  # noqa: E402


def median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    course = load_assignment("by_hand")
    with tempfile.TemporaryDirectory() as scratch:
        keys = [f"s{n:04d}" for n in range(args.results)]
        results = {key: by_hand_result(key, pool=n % 2 == 0, quiz=n % 6) for n, key in enumerate(keys)}
        notebook = class_notebooks()["alice"]
        out = write_out_dir(Path(scratch), results, {key: notebook for key in keys}, {key: key for key in keys})
        store = ReviewStore(out)
        started = time.perf_counter()
        for key in keys:
            check = results[key].tasks[1].checks[0]
            store.save(key, 0, [PartReview("pool", "check:0", check.title, 1.0, "partly", "see the stride",
                                           fingerprint(check))], "a comment", False, "bench")
        saves = 1000 * (time.perf_counter() - started) / len(keys)
        loaded = read_results(out)[0]
        apply_ms = median_ms(lambda: review_adjustments(out, loaded, course.spec), args.runs)
        client = create_app(out, course, "t").test_client()
        page_ms = median_ms(lambda: client.get(f"/student/{keys[len(keys) // 2]}?token=t",
                                               headers={"Host": "127.0.0.1:1"}), args.runs)
        print(f"{args.results} students: a save (one transaction, WAL) {saves:.1f} ms; every review applied"
              f" {apply_ms:.0f} ms; a student's page (results read, reviews applied, notebook rendered)"
              f" {page_ms:.0f} ms (medians of {args.runs})")


if __name__ == "__main__":
    main()
