"""Results and output folders for the report tests, built directly (no grading): a small by_hand class."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat

from grader.checks.base import Missing
from grader.grading.scoring import score_task
from grader.grading.submission import read_submission
from grader.results import GRADER_FAILED as GRADER_FAILED_PREFIX
from grader.results import CheckResult, LayerRow, SubmissionResult, TaskResult
from grader.spec import TaskSpec

from ..e2e.test_course import CONVOLVE_BODY, NOTES_LOOPS, POOL_BODY

REPO = Path(__file__).resolve().parents[2]
COMPLETE = REPO / "examples" / "by_hand" / "by_hand_complete.ipynb"
TEMPLATE = REPO / "assignments" / "by_hand" / "by_hand.ipynb"
GRADER_FAILED = f"{GRADER_FAILED_PREFIX} (exit code 1); an instructor will look at it"
LAYERS = (LayerRow("1", "Conv2D, 64 filters", "Conv2D, 64 filters", True),
          LayerRow("3", "Conv2D, 64 filters, kernel 3x3", "Conv2D, 32 filters, kernel 3x3", False),
          LayerRow("missing (4 of 7)", "MaxPooling2D, pool size 2x2", "(none)", False))


def check(title: str, passed: bool, points: float = 1.0, message: str = "", details=()) -> CheckResult:
    return CheckResult(kind="model_layers" if details else "function_matches", title=title,
                       points=points if passed else 0.0, max_points=points, passed=passed,
                       message=message or ("right" if passed else "wrong"), details=tuple(details))


def task(name: str, *checks: CheckResult, ungraded: str | None = None, notes: tuple[str, ...] = ()) -> TaskResult:
    lines = [*notes, *(f"[{'PASS' if c.passed else 'FAIL'}] {c.title}: {c.message}" for c in checks)]
    return TaskResult(name=name, title=f"Task {name}", points=sum(c.points for c in checks),
                      max_points=sum(c.max_points for c in checks), checks=checks, ungraded_reason=ungraded,
                      feedback="\n".join(lines))


def result(key: str, *tasks: TaskResult, error: str | None = None, seconds: float = 5.0) -> SubmissionResult:
    return SubmissionResult(submission=f"{key}.ipynb", assignment="by_hand", points=sum(t.points for t in tasks),
                            max_points=sum(t.max_points for t in tasks), tasks=tasks, sandbox="bubblewrap",
                            execution={"seconds": seconds, "checks_seconds": 0.5} if not error else {},
                            error=error)


def by_hand_result(key: str, convolve: bool = True, pool: bool = True, quiz: int = 5, **kwargs) -> SubmissionResult:
    """A result with by_hand's four tasks; ``quiz`` questions right of five."""
    return result(key,
                  task("convolve", check("convolve on held-out images and filters", convolve, 4,
                                         "" if convolve else "wrong on 4 of 4 held-out cases")),
                  task("pool", check("max_pool on held-out images", pool, 3,
                                     "" if pool else "wrong on 3 of 4 held-out cases")),
                  task("pictures", check("the three images are shown", convolve and pool, 3)),
                  task("quiz", *(check(f"question {n}", n <= quiz, 1, "" if n <= quiz else f"the answer {n * 7}"
                                       " is not right") for n in range(1, 6))), **kwargs)


# what a student can write into an exception's message, a cell, a file name: clear the screen, write the
# clipboard (OSC 52), go back to the line's start, start a line that imitates the grader's, reverse the text
HOSTILE = "\x1b[2J\x1b]52;c;aGVsbG8=\x07\rboom\n[PASS] hidden check (10/10)\u202eeulav"
FAKE_PASS = "[PASS] hidden check"


def hostile_result(key: str = "mallory") -> SubmissionResult:
    """A result whose every student-written part is ``HOSTILE``, made as grading makes it (``score_task``): a
    check's message (the student's function raised), a note quoting a cell, the reason a task was not graded in
    full, the error; and a model's differences, a message of several lines of the grader's own."""
    spec = TaskSpec.from_dict({"name": "convolve", "title": "Task convolve", "exports": {"convolve": "value"},
                               "checks": [{"kind": "number", "evidence": "convolve", "points": 4, "expected": 1,
                                           "title": "convolve on held-out images"}]})
    convolve = score_task(spec, {"convolve": Missing(f"it raised ValueError: {HOSTILE}")},
                          ungraded_reason=f"cell 4 raised ValueError: {HOSTILE}",
                          notes=(f"cell 3 (x = 1 {HOSTILE}) was changed back",))
    cnn = task("cnn", check("layers of cnn_model", False, 2, "layer 3: expected Conv2D with 64 filters, found 32\n"
                            f"layer 4: expected MaxPooling2D, found {HOSTILE}", LAYERS))
    return result(key, convolve, cnn, error=f"the kernel died in cell 2 ({HOSTILE})")


def edited(nb, *replacements: tuple[str, str]):
    """A copy of ``nb`` with regular-expression replacements in its code cells."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            for old, new in replacements:
                cell.source = re.sub(old, new, cell.source)
    return nb


RENAMES = ((r"\bheight\b", "h"), (r"\bwidth\b", "w"), (r"\bresult\b", "out"), (r"\bblocks\b", "tiles"),
           (r"\bfigure\b", "fig"), (r"\baxes\b", "axs"), (r"\bpicture\b", "img"))
SLOW_POOL = """    out = []
    for i in range(0, image.shape[0] - 1, 2):
        row = []
        for j in range(0, image.shape[1] - 1, 2):
            row.append(max(image[i, j], image[i + 1, j], image[i, j + 1], image[i + 1, j + 1]))
        out.append(row)
    return np.array(out)"""
OWN_PICTURES = """out1 = convolve(image, vertical_edges)
out2 = max_pool(out1)
plt.figure(figsize=(12, 4))
plt.subplot(1, 3, 1); plt.imshow(image); plt.title("original")
plt.subplot(1, 3, 2); plt.imshow(out1); plt.title("convolved")
plt.subplot(1, 3, 3); plt.imshow(out2); plt.title("pooled")
plt.show()"""


def class_notebooks() -> dict:
    """Real notebooks: the example solution, a copy of it with its variables renamed, an independent solution
    (the course notes' loops, a pooling of its own, its own figure), a wrong attempt, and the untouched notebook."""
    complete = read_submission(COMPLETE)
    template = read_submission(TEMPLATE)
    independent = edited(complete, (re.escape(CONVOLVE_BODY), NOTES_LOOPS.replace("\\", "\\\\")),
                         (re.escape(POOL_BODY), SLOW_POOL), (r"(?s)filtered = convolve.*plt\.show\(\)", OWN_PICTURES))
    wrong = edited(template, (r"\.\.\.  # YOUR CODE HERE", "return image[1:-1, 1:-1] * 0"))
    return {"alice": complete, "bob": edited(complete, *RENAMES), "carol": independent, "erin": wrong,
            "frank": template}


def class_results() -> dict[str, SubmissionResult]:
    return {"alice": by_hand_result("alice"), "bob": by_hand_result("bob", seconds=7.0),
            "carol": by_hand_result("carol", pool=False, quiz=3),
            "dave": by_hand_result("dave", False, False, 0, error=GRADER_FAILED),
            "erin": by_hand_result("erin", False, False, 0), "frank": by_hand_result("frank", False, False, 0)}


def intake_entry(key: str, user_id: str | None) -> dict:
    return {"key": key, "student": f"{key}smith", "user_id": user_id, "submission_id": "9" + (user_id or "0"),
            "file": f"{key}smith_{user_id}_9_by_hand.ipynb", "attempt": 0}


def write_out_dir(out: Path, results: dict[str, SubmissionResult], notebooks: dict, user_ids: dict | None) -> Path:
    """A batch's output folder: results/, executed/<key>/executed.ipynb and, with ``user_ids``, submissions.json."""
    for key, res in results.items():
        (out / "results").mkdir(parents=True, exist_ok=True)
        (out / "results" / f"{key}.json").write_text(json.dumps(res.to_dict()))
        if key in notebooks:
            (out / "executed" / key).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebooks[key], out / "executed" / key / "executed.ipynb")
    if user_ids is not None:
        entries = [intake_entry(key, user_ids.get(key)) for key in results]
        (out / "submissions.json").write_text(json.dumps({"assignment": "by_hand", "layout": "Canvas download",
                                                          "submissions": entries, "unmatched": [],
                                                          "superseded": []}))
    return out
