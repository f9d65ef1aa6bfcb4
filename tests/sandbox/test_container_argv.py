"""The container's command line: every limit and mount in it, and nothing in its environment that says grading."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from grader.sandbox import container
from grader.sandbox.base import INSIDE_EXPORT, SandboxRun
from grader.sandbox.container import Engine, container_argv, inside_command
from grader.spec import Limits

PODMAN = Engine("podman", ("podman", "--runtime", "runc"), {"CONTAINERS_CONF": "/x/containers.conf"})
DOCKER = Engine("docker", ("docker",))
LIMITS = Limits(notebook_timeout_s=600, cell_timeout_s=60, memory_mb=4096, cpus=2, max_processes=300, disk_mb=512)


@pytest.fixture
def as_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)


def argv_for(engine: Engine, tmp_path: Path) -> list[str]:
    run = SandboxRun(workdir=tmp_path / "work", export_dir=tmp_path / "export", job={}, limits=LIMITS)
    return container_argv(engine, "localhost/img:1", "nb-abc", run, tmp_path / "staged", [2, 3])


def option(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == name]


def test_podman_argv_has_every_limit(tmp_path, as_root):
    argv = argv_for(PODMAN, tmp_path)
    assert argv[:5] == ["podman", "--runtime", "runc", "run", "--rm"]
    assert option(argv, "--network") == ["none"]
    assert option(argv, "--memory") == ["4096m"] and option(argv, "--memory-swap") == ["4096m"]
    assert option(argv, "--cpus") == ["2"] and option(argv, "--cpuset-cpus") == ["2,3"]
    assert option(argv, "--pids-limit") == ["300"]
    assert option(argv, "--user") == ["1000:1000"]
    assert option(argv, "--cap-drop") == ["ALL"]
    assert option(argv, "--security-opt") == ["no-new-privileges"]
    assert option(argv, "--log-driver") == ["none"]
    assert option(argv, "--name") == ["nb-abc"]
    assert "--read-only" in argv and "-i" in argv
    tmpfs = option(argv, "--tmpfs")
    assert "/tmp:rw,nosuid,nodev,size=512m,mode=1777,notmpcopyup" in tmpfs
    assert "/home/student:rw,nosuid,nodev,size=512m,mode=0700,U,notmpcopyup" in tmpfs
    volumes = option(argv, "-v")
    assert volumes == [f"{tmp_path / 'work'}:/mnt/notebook:ro", f"{tmp_path / 'staged'}:{INSIDE_EXPORT}:rw"]
    image = argv.index("localhost/img:1")
    assert argv[image + 1:image + 3] == ["sh", "-c"] and len(argv) == image + 4


def test_a_batchs_containers_carry_its_label_and_others_none(tmp_path, as_root):
    run = SandboxRun(workdir=tmp_path / "work", export_dir=tmp_path / "export", job={}, limits=LIMITS)
    labelled = container_argv(PODMAN, "localhost/img:1", "nb-abc", run, tmp_path / "staged", [2, 3], "b0a1c2")
    assert option(labelled, "--label") == ["notebook-grader.run=1", "notebook-grader.batch=b0a1c2"]
    assert option(argv_for(PODMAN, tmp_path), "--label") == ["notebook-grader.run=1"]


def test_docker_argv_owns_the_home_by_uid(tmp_path, as_root):
    argv = argv_for(DOCKER, tmp_path)
    assert argv[:3] == ["docker", "run", "--rm"]
    assert option(argv, "--tmpfs") == ["/tmp:rw,nosuid,nodev,size=512m,mode=1777",
                                       "/home/student:rw,nosuid,nodev,size=512m,mode=0700,uid=1000,gid=1000"]
    assert DOCKER.remove_argv("nb-abc") == ["docker", "rm", "-f", "nb-abc"]
    assert PODMAN.remove_argv("nb-abc") == ["podman", "--runtime", "runc", "rm", "-f", "--time", "0", "nb-abc"]


def test_without_root_the_caller_runs_inside(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1234)
    monkeypatch.setattr(os, "getuid", lambda: 1234)
    monkeypatch.setattr(os, "getgid", lambda: 99)
    assert option(argv_for(DOCKER, tmp_path), "--user") == ["1234:99"]
    podman = argv_for(PODMAN, tmp_path)
    assert option(podman, "--user") == ["1234:99"] and option(podman, "--userns") == ["keep-id"]


def test_the_runner_starts_in_a_clean_environment():
    script = inside_command()[2]
    assert "exec env -i " in script and script.endswith("python -m grader.inside.runner")
    environment = script.split("exec env -i ", 1)[1].rsplit(" python", 1)[0]
    assert "grad" not in environment.lower()
    assert sorted(item.split("=")[0] for item in environment.split()) == [
        "HOME", "LANG", "LOGNAME", "PATH", "TF_CPP_MIN_LOG_LEVEL", "USER"]
    assert "ln -sfn /usr/share/datasets/fashion-mnist /home/student/.keras/datasets/fashion-mnist" in script
    assert "cp -R /mnt/notebook/. /home/student/work/" in script
    assert "ulimit -c 0" in script


def test_the_inside_script_runs_in_a_shell(tmp_path):
    """The script is valid sh (checked with sh -n; nothing is executed)."""
    done = subprocess.run(["sh", "-n", "-c", inside_command()[2]], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("option, names", [("--hash", None), ("--runner-hash", container.runner_files(container.REPO_ROOT))])
def test_the_hashes_match_the_build_script(option, names):
    done = subprocess.run(["bash", str(container.REPO_ROOT / "scripts" / "build-image.sh"), option],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == container.source_hash(names=names)


def test_no_source_hash_outside_a_checkout(tmp_path):
    assert container.source_hash(tmp_path) is None
