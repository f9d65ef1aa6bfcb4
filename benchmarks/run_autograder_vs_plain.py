"""Gradescope's ``run_autograder`` against ``jupyter execute`` of the same notebook, in Gradescope's layout.

Run: .venv/bin/python benchmarks/run_autograder_vs_plain.py [--assignment by_hand] [--runs 3]
     [--network bridge] (an otter assignment: its setup.sh installs otter-grader, as Gradescope's does)

What every student's submission costs on Gradescope: one container of the grading image laid out as Gradescope
lays it out (the bundle in /autograder/source, set up by its ``setup.sh``; the submission in
/autograder/submission), in which ``run_autograder`` (the whole ``grader grade --sandbox gradescope-container``)
and ``jupyter execute`` of the same notebook beside the assignment's files alternate, each a whole process timed
inside the container (its start is not counted for either).  Prints each run, the medians, their difference
and ratio; asserts nothing.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.course.assignment import load_assignment  # noqa: E402

INSIDE = r'''
import json, shutil, subprocess, sys, time
from pathlib import Path
runs, name = int(sys.argv[1]), sys.argv[2]
plain = Path("/tmp/plain")
shutil.copytree("/autograder/source/bench_handouts", plain)
notebook = next(Path("/autograder/submission").glob("*.ipynb"))
times = {"run_autograder": [], "jupyter execute": []}
said = ""
for run in range(runs):
    for what, argv in (("run_autograder", ["/autograder/run_autograder"]),
                       ("jupyter execute", ["/opt/venv/bin/jupyter", "execute", "--timeout=-1", "--allow-errors",
                                            str(plain / name)])):
        if what == "jupyter execute":
            shutil.copy(notebook, plain / name)
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=plain, capture_output=True, text=True)
        times[what].append(time.perf_counter() - started)
        said = done.stderr[-600:] if what == "run_autograder" else said
        if done.returncode != 0:
            sys.exit(f"{what} failed: {done.stderr[-1500:]}")
    results = json.loads(Path("/autograder/results/results.json").read_text())
    print(json.dumps({"run": run + 1, "score": results["score"],
                      "output": results.get("output", "")[:300] + " " + (said if not results["score"] else ""),
                      **{k: v[-1] for k, v in times.items()}}), flush=True)
'''


@click.command()
@click.option("--assignment", default="by_hand", show_default=True)
@click.option("--runs", default=3, show_default=True)
@click.option("--network", default="none", show_default=True,
              help="the container's network: an otter assignment's setup.sh installs otter-grader, as on Gradescope")
def main(assignment: str, runs: int, network: str) -> None:
    from grader.sandbox.container import ContainerSandbox

    sandbox = ContainerSandbox()
    course = load_assignment(assignment)
    notebook = REPO / "examples" / assignment / f"{assignment}_complete.ipynb"
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        done = subprocess.run([sys.executable, "-m", "grader", "gradescope", assignment, "--out", str(root / "bundle")],
                              cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            raise click.ClickException(done.stderr[-2000:])
        source, submission, results = root / "source", root / "submission", root / "results"
        with zipfile.ZipFile(root / "bundle" / "autograder.zip") as bundle:
            bundle.extractall(source)
        for script in ("setup.sh", "run_autograder"):
            (source / script).chmod(0o755)
        (source / "bench_inside.py").write_text(INSIDE)
        (source / "bench_handouts").mkdir()
        for name, text in course.handouts().items():
            (source / "bench_handouts" / name).write_text(text)
        name = f"{assignment}.ipynb"  # the name students' copies have (otter's ``grader.check`` reads it)
        submission.mkdir()
        results.mkdir()
        shutil.copy(notebook, submission / name)
        host_ca = Path("/etc/ssl/certs/ca-certificates.crt")  # pip through this machine's proxy, if it has one
        trust = (["-v", f"{host_ca}:/etc/ssl/host-ca.crt:ro", "-e", "PIP_CERT=/etc/ssl/host-ca.crt"]
                 if network != "none" and host_ca.exists() else [])
        argv = sandbox.engine.argv(
            "run", "--rm", "--network", network, *trust, "--user", "0:0", "--memory", "8g",
            "-v", f"{source}:/autograder/source", "-v", f"{submission}:/autograder/submission",
            "-v", f"{results}:/autograder/results", sandbox.image, "bash", "-c",
            "bash /autograder/source/setup.sh >/dev/null && cp /autograder/source/run_autograder /autograder/"
            f" && /opt/venv/bin/python /autograder/source/bench_inside.py {runs} {name}")
        ran = subprocess.run(argv, env=sandbox.engine.environ(), capture_output=True, text=True)
        if ran.returncode != 0:
            raise click.ClickException((ran.stdout + ran.stderr)[-3000:])
    rows = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    for row in rows:
        print(f"run {row['run']}: run_autograder {row['run_autograder']:.2f} s (score {row['score']}),"
              f" jupyter execute {row['jupyter execute']:.2f} s" + (f"; {row['output']}" if not row["score"] else ""))
    graded = statistics.median(r["run_autograder"] for r in rows)
    plain = statistics.median(r["jupyter execute"] for r in rows)
    print(f"\n{assignment}, Gradescope's layout (medians of {len(rows)}): run_autograder {graded:.2f} s,"
          f" jupyter execute {plain:.2f} s: {graded - plain:+.2f} s, ratio {graded / plain:.2f}")


if __name__ == "__main__":
    main()
