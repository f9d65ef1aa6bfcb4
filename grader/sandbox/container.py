"""The container sandbox: one throw-away container per submission, through the docker CLI (podman as a drop-in).

The container has no network, a cgroup memory limit, a process limit, a CPU share and a
read-only image.  The student's home and ``/tmp`` are size-limited tmpfs; the notebook is
copied into ``~/work`` from a read-only mount, so nothing the student writes there reaches
the host.  The only host folder it can write is the export folder, and as root even that is a
size-limited tmpfs, copied out once the container is gone.  The image holds Python, the
notebook runtime and the data sets; no solutions, checks or tests (see the Dockerfile).

Inside, the runner is PID 1: a signal from the student's kernel cannot kill it.  The
environment holds what a desktop's would (HOME, USER, LANG, PATH), nothing that says "grading".
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

from grader.errors import SandboxUnavailableError
from grader.sandbox.base import (
    GO,
    INSIDE_EXPORT,
    INSIDE_HOME,
    INSIDE_WORKDIR,
    Sandbox,
    SandboxOutcome,
    SandboxRun,
    StartedRun,
    hard_timeout,
    job_line,
)
from grader.sandbox.bubblewrap import DATASETS, cpu_set
from grader.sandbox.process import StartedProcess
from grader.sandbox.staging import ExportStaging

log = logging.getLogger(__name__)

IMAGE = "localhost/notebook-grader:latest"
RUNNER_LABEL = "notebook-grader.runner-hash"
# What the container runs, and what decides the format of what it writes (scripts/build-image.sh has the same list).
RUNNER_BASE = ("Dockerfile", ".dockerignore", "pyproject.toml", "grader/__init__.py", "grader/errors.py")


def runner_files(root: Path) -> list[str]:
    """What the container runs, and the format of what it writes: the image's recipe and everything under
    ``grader/inside/`` (the same list as scripts/build-image.sh's ``runner_hash``)."""
    return [*RUNNER_BASE, *sorted(p.relative_to(root).as_posix() for p in (root / "grader" / "inside").rglob("*.py")
                                  if "__pycache__" not in p.parts)]
RUN_LABEL = "notebook-grader.run"  # on the host only: labels are not visible inside the container
BATCH_LABEL = "notebook-grader.batch"  # which batch made it: a batch started again removes what a killed one left
NAME_PREFIX = "nb-"
CONTAINER_USER = (1000, 1000)  # the image's ``student``
INSIDE_INPUT = "/mnt/notebook"  # the host's work folder, read-only; copied into the tmpfs home
VENV_BIN = "/opt/venv/bin"
ENGINE_ERRORS = {125, 126, 127}  # the engine could not create or start the container
# This machine's kernel refuses some rlimits and mixes cgroup versions: podman needs this (and runc).
PODMAN_CONF = '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n'
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Engine:
    """A container engine's command line: ``docker``, or ``podman`` with its options and configuration."""

    name: str
    command: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)

    def argv(self, *args: str) -> list[str]:
        return [*self.command, *args]

    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def call(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), env=self.environ(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def remove_argv(self, name: str) -> list[str]:
        """Kill and remove a container now (podman would first wait 10 s for it to stop)."""
        return self.argv("rm", "-f", *(["--time", "0"] if self.name == "podman" else []), name)


def podman_conf_path() -> Path:
    """The containers.conf podman uses here (scripts/build-image.sh writes the same file)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = base / "notebook-grader" / "containers.conf"
    if not path.is_file() or path.read_text() != PODMAN_CONF:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PODMAN_CONF)
    return path


def podman_engine() -> Engine:
    command = ("podman", "--runtime", "runc") if shutil.which("runc") else ("podman",)
    conf = os.environ.get("CONTAINERS_CONF") or str(podman_conf_path())
    return Engine("podman", command, {"CONTAINERS_CONF": conf})


def _docker_answers() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@lru_cache(maxsize=None)
def find_engine(wanted: str | None = None) -> Engine:
    """docker when its daemon answers, else podman; ``wanted`` (or $GRADER_ENGINE) insists on one."""
    wanted = wanted or os.environ.get("GRADER_ENGINE") or None
    if wanted not in (None, "docker", "podman"):
        raise SandboxUnavailableError(f"unknown container engine {wanted!r}: docker or podman")
    if wanted != "podman" and shutil.which("docker") and _docker_answers():
        return Engine("docker", ("docker",))
    if wanted == "docker":
        raise SandboxUnavailableError("docker does not answer ('docker info' fails): is its daemon running?")
    if shutil.which("podman"):
        return podman_engine()
    raise SandboxUnavailableError("no container engine: install podman (apt-get install podman runc) or docker")


def source_hash(root: Path = REPO_ROOT, names: Sequence[str] | None = None) -> str | None:
    """The hash scripts/build-image.sh labels the image with (of ``names``, by default all its inputs);
    None outside a checkout (no Dockerfile)."""
    if not (root / "Dockerfile").is_file():
        return None
    if names is None:
        names = ["Dockerfile", ".dockerignore", "pyproject.toml"]
        names += sorted(str(p.relative_to(root)) for p in (root / "grader").rglob("*.py") if p.is_file())
    listing = "".join(f"{hashlib.sha256((root / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    return hashlib.sha256(listing.encode()).hexdigest()


def check_image(engine: Engine, image: str) -> None:
    """Fail unless ``image`` is there and runs this checkout's runner (what it runs and the format it writes)."""
    try:
        done = engine.call("image", "inspect", "--format", f'{{{{ index .Config.Labels "{RUNNER_LABEL}" }}}}', image)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailableError(f"{engine.name} does not work: {exc}") from None
    if done.returncode != 0:
        raise SandboxUnavailableError(f"the image {image} is not built ({engine.name}): run scripts/build-image.sh")
    expected = source_hash(names=runner_files(REPO_ROOT)) if (REPO_ROOT / "Dockerfile").is_file() else None
    if expected is not None and done.stdout.strip() != expected:
        raise SandboxUnavailableError(f"the image {image} is out of date with the grader's runner:"
                                      " run scripts/build-image.sh")


def container_user(engine: Engine) -> tuple[tuple[int, int], list[str]]:
    """Who runs inside, and the engine options for it: the image's student, or the caller when not root."""
    if os.geteuid() == 0:
        return CONTAINER_USER, []
    me = (os.getuid(), os.getgid())
    return me, (["--userns", "keep-id"] if engine.name == "podman" else [])


def inside_command() -> list[str]:
    """What runs in the container: fill the fresh home, then become the runner (PID 1) in a clean environment."""
    links = " && ".join(f"{{ [ ! -e {shlex.quote(str(src))} ] || ln -sfn {shlex.quote(str(src))}"
                        f" {INSIDE_HOME}/.keras/datasets/{shlex.quote(name)}; }}" for name, src in DATASETS.items())
    env = {"HOME": INSIDE_HOME, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
           "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"}
    script = (f"set -e; umask 022; ulimit -c 0; mkdir -p {INSIDE_WORKDIR} {INSIDE_HOME}/.keras/datasets && {links}; "
              f"cp -R {INSIDE_INPUT}/. {INSIDE_WORKDIR}/; cd {INSIDE_WORKDIR}; "
              f"exec env -i {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} python -m grader.inside.runner")
    return ["sh", "-c", script]


def container_argv(engine: Engine, image: str, name: str, run: SandboxRun, export_source: Path,
                   cpus: Sequence[int], batch: str = "") -> list[str]:
    """The engine's command line for one submission (one place for all the container's options)."""
    limits = run.limits
    (uid, gid), user_options = container_user(engine)
    # podman refuses uid= but chowns with U, and would copy the image's folder into a tmpfs; docker does neither.
    owner = "U,notmpcopyup" if engine.name == "podman" else f"uid={uid},gid={gid}"
    fresh = ",notmpcopyup" if engine.name == "podman" else ""
    return engine.argv(
        "run", "--rm", "-i", "--name", name, "--label", f"{RUN_LABEL}=1",
        *(["--label", f"{BATCH_LABEL}={batch}"] if batch else []),
        "--network", "none", "--hostname", "localhost",
        "--memory", f"{limits.memory_mb}m", "--memory-swap", f"{limits.memory_mb}m",
        "--cpus", str(len(cpus)), "--cpuset-cpus", ",".join(str(c) for c in cpus),
        "--pids-limit", str(limits.max_processes),
        "--read-only",
        "--tmpfs", f"/tmp:rw,nosuid,nodev,size={limits.disk_mb}m,mode=1777{fresh}",
        "--tmpfs", f"{INSIDE_HOME}:rw,nosuid,nodev,size={limits.disk_mb}m,mode=0700,{owner}",
        "--user", f"{uid}:{gid}", *user_options,
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--log-driver", "none",
        "-v", f"{run.workdir}:{INSIDE_INPUT}:ro",
        "-v", f"{export_source}:{INSIDE_EXPORT}:rw",
        "--workdir", "/",
        image, *inside_command())


def remove_batch_containers(batch: str) -> int:
    """Remove the containers a batch left behind (it was killed); how many there were. Quiet without an engine."""
    try:
        engine = find_engine()
        listed = engine.call("ps", "-a", "-q", "--filter", f"label={BATCH_LABEL}={batch}")
    except (SandboxUnavailableError, OSError, subprocess.TimeoutExpired):
        return 0
    names = listed.stdout.split() if listed.returncode == 0 else []
    for name in names:
        remove_container(engine, name)
    return len(names)


class StartedContainer:
    """A container started now (the engine's ``run`` in ``argv``; its process reads ``first_input`` at once), and
    removed, whatever happened, before ``finish`` or ``cancel`` returns."""

    def __init__(self, engine: Engine, argv: Sequence[str], name: str, first_input: str = "",
                 cwd: Path | None = None, report_bytes: int = 2**20) -> None:
        self.engine = engine
        self.name = name
        # The engine runs in a scratch folder: conmon leaves files (an "oom" marker) in its working directory.
        self.process = StartedProcess(argv, env=engine.environ(), cwd=cwd, first_input=first_input,
                                      report_bytes=report_bytes)

    def finish(self, rest: str, timeout_s: float, watched: Sequence[Path] = (),
               disk_bytes: int | None = None) -> SandboxOutcome:
        """Write the rest of its input; wait until it ends, ``timeout_s`` passes or the ``watched`` host folders
        pass ``disk_bytes``."""
        try:
            return self.process.finish(rest, timeout_s, watched, disk_bytes)
        finally:
            remove_container(self.engine, self.name)

    def cancel(self) -> None:
        try:
            self.process.cancel()
        finally:
            remove_container(self.engine, self.name)


def run_container(engine: Engine, argv: Sequence[str], name: str, stdin_text: str, timeout_s: float,
                  watched: Sequence[Path] = (), disk_bytes: int | None = None,
                  cwd: Path | None = None) -> SandboxOutcome:
    """Run ``argv`` (an engine's ``run``) until it ends, ``timeout_s`` passes or the ``watched`` host folders pass
    ``disk_bytes``; whatever happens, the container is removed before this returns."""
    return StartedContainer(engine, argv, name, cwd=cwd).finish(stdin_text, timeout_s, watched, disk_bytes)


def remove_container(engine: Engine, name: str) -> None:
    """Kill and remove the container if it is still there; it is gone when this returns (or it says so)."""
    try:
        done = subprocess.run(engine.remove_argv(name), env=engine.environ(), capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.error("could not remove the container %s: %s", name, exc)
        return
    if done.returncode != 0 and "no such container" not in done.stderr.lower() \
            and "no container with" not in done.stderr.lower():
        log.error("could not remove the container %s: %s", name, done.stderr.strip()[-500:])


def _give_to(folder: Path, uid: int, gid: int) -> None:
    os.chown(folder, uid, gid)
    for path in folder.rglob("*"):
        os.chown(path, uid, gid, follow_symlinks=False)


class ContainerSandbox(Sandbox):
    """Each submission in a fresh container of the grading image, removed afterwards whatever happened."""

    name = "container"

    def __init__(self, cpu_slot: int = 0, engine: Engine | None = None, image: str | None = None,
                 check: bool = True, batch: str = "") -> None:
        self.engine = engine or find_engine()
        self.batch = batch  # a batch's containers carry its label, so that a killed batch's are found again
        self.image = image or os.environ.get("GRADER_IMAGE") or IMAGE
        self.cpu_slot = cpu_slot
        if check:
            check_image(self.engine, self.image)

    def describe(self) -> str:
        return f"{self.name} ({self.engine.name}, {self.image})"

    def run(self, run: SandboxRun) -> SandboxOutcome:
        return self.start(run).go()

    def start(self, run: SandboxRun) -> StartedRun:
        """Start the container now, its runner starting the kernel and then waiting for ``go`` (when its time
        limit starts): a batch's worker starts the next submission's container while the current one runs."""
        name = f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}"
        (uid, gid), _ = container_user(self.engine)
        staging = ExportStaging(run.export_dir, run.limits.disk_mb, run.evidence_files).__enter__()
        try:
            if os.geteuid() == 0:
                _give_to(run.workdir, uid, gid)
                _give_to(staging.source, uid, gid)
            argv = container_argv(self.engine, self.image, name, run, staging.source,
                                  cpu_set(run.limits.cpus, self.cpu_slot), self.batch)
            log.info("running %s", shlex.join(argv))
            started = StartedContainer(self.engine, argv, name, job_line(run.job), cwd=run.workdir.parent,
                                       report_bytes=run.report_bytes)
        except BaseException:
            staging.__exit__(None, None, None)
            raise
        # A tmpfs bounds the export folder; without one (not root), a watchdog does.
        watched = () if staging.mounted else (staging.source,)

        def go() -> SandboxOutcome:
            try:
                outcome = started.finish(GO, hard_timeout(run.limits), watched=watched,
                                         disk_bytes=run.limits.disk_mb * 2**20)
            finally:
                staging.__exit__(None, None, None)
            outcome = dataclasses.replace(outcome, left_out=staging.left_out)
            if outcome.exit_code in ENGINE_ERRORS and "Traceback" not in outcome.log_tail:
                raise SandboxUnavailableError(f"{self.engine.name} could not run the container (exit code"
                                              f" {outcome.exit_code}): {outcome.log_tail.strip()[-800:]}")
            return outcome

        def cancel() -> None:
            try:
                started.cancel()
            finally:
                staging.__exit__(None, None, None)

        return StartedRun(go, cancel)
