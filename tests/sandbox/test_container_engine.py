"""Finding the engine and the image, and running a container with a wall-clock limit."""
from __future__ import annotations

import os
import subprocess

import pytest

from grader.errors import SandboxUnavailableError
from grader.sandbox import container, process
from grader.sandbox.container import Engine, check_image, find_engine, run_container
from grader.sandbox.staging import ExportStaging
from grader.untrusted import copy_wanted_files


@pytest.fixture(autouse=True)
def fresh_engine_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("GRADER_ENGINE", raising=False)
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    find_engine.cache_clear()
    yield
    find_engine.cache_clear()


def machine(monkeypatch, programs: set[str], docker_answers: bool) -> None:
    monkeypatch.setattr(container.shutil, "which", lambda name: f"/usr/bin/{name}" if name in programs else None)
    monkeypatch.setattr(container, "_docker_answers", lambda: docker_answers)


def test_docker_is_preferred_when_its_daemon_answers(monkeypatch):
    machine(monkeypatch, {"docker", "podman", "runc"}, docker_answers=True)
    assert find_engine().command == ("docker",)


def test_podman_when_docker_does_not_answer(monkeypatch, tmp_path):
    machine(monkeypatch, {"docker", "podman", "runc"}, docker_answers=False)
    engine = find_engine()
    assert engine.command == ("podman", "--runtime", "runc")
    conf = tmp_path / "config" / "notebook-grader" / "containers.conf"
    assert engine.env == {"CONTAINERS_CONF": str(conf)}
    assert conf.read_text() == '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n'


def test_no_engine_is_an_error_that_says_what_to_install(monkeypatch):
    machine(monkeypatch, set(), docker_answers=False)
    with pytest.raises(SandboxUnavailableError, match="install podman"):
        find_engine()


def test_insisting_on_docker_without_its_daemon(monkeypatch):
    machine(monkeypatch, {"docker", "podman"}, docker_answers=False)
    monkeypatch.setenv("GRADER_ENGINE", "docker")
    with pytest.raises(SandboxUnavailableError, match="daemon"):
        find_engine()


class FakeEngine(Engine):
    def __init__(self, returncode: int, stdout: str) -> None:
        super().__init__("podman", ("podman",))
        object.__setattr__(self, "answer", subprocess.CompletedProcess([], returncode, stdout, ""))

    def call(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return self.answer


def test_a_missing_image_says_how_to_build_it():
    with pytest.raises(SandboxUnavailableError, match="not built.*build-image.sh"):
        check_image(FakeEngine(125, ""), "localhost/x")


def test_an_image_of_other_sources_is_refused():
    with pytest.raises(SandboxUnavailableError, match="out of date"):
        check_image(FakeEngine(0, "0123\n"), "localhost/x")
    check_image(FakeEngine(0, container.source_hash(names=container.runner_files(container.REPO_ROOT)) + "\n"), "localhost/x")


def test_a_container_past_its_time_is_removed(monkeypatch):
    removed = []
    monkeypatch.setattr(container, "remove_container", lambda engine, name: removed.append(name))
    outcome = run_container(Engine("docker", ("docker",)), ["sleep", "30"], "nb-x", "{}", timeout_s=0.5)
    assert outcome.timed_out and outcome.exit_code is None and outcome.seconds < 10
    assert outcome.stopped_for == "time"
    assert removed == ["nb-x"]


def test_a_container_writing_past_its_disk_budget_is_stopped(monkeypatch, tmp_path):
    removed = []
    monkeypatch.setattr(container, "remove_container", lambda engine, name: removed.append(name))
    argv = ["sh", "-c", f"head -c 3000000 /dev/zero > {tmp_path}/big; sleep 30"]
    outcome = run_container(Engine("docker", ("docker",)), argv, "nb-x", "", timeout_s=60,
                            watched=(tmp_path,), disk_bytes=2**20)
    assert outcome.stopped_for == "disk" and not outcome.timed_out and outcome.seconds < 20
    assert removed == ["nb-x"]


def test_only_the_tail_of_a_huge_output_is_kept(monkeypatch):
    monkeypatch.setattr(container, "remove_container", lambda engine, name: None)
    argv = ["sh", "-c", "{ head -c 30000000 /dev/zero | tr '\\0' x; cat; echo; echo END; } >&2; exit 3"]
    outcome = run_container(Engine("docker", ("docker",)), argv, "nb-x", "the job", timeout_s=60)
    assert outcome.exit_code == 3 and not outcome.timed_out
    assert len(outcome.log_tail) <= process.LOG_TAIL_BYTES
    assert outcome.log_tail.endswith("the job\nEND\n")


def test_only_the_files_the_host_reads_are_copied_back_and_only_within_their_limits(tmp_path):
    """What a container left is a hostile archive: the host copies out only the names it chose, regular files
    within their limits (by apparent size: a sparse file counts for what it claims), never links or pipes."""
    source, target = tmp_path / "source", tmp_path / "target"
    (source / "exports" / "cnn").mkdir(parents=True)
    (source / "status.json").write_text("{}")
    (source / "exports" / "cnn" / "model.keras").write_bytes(b"zip")
    (source / "exports" / "cnn" / "extra.npy").write_bytes(b"not asked for")
    (source / "exports" / "cnn" / "link.npy").symlink_to("/etc/passwd")
    (source / "exports" / "linked").symlink_to(tmp_path)
    os.mkfifo(source / "exports" / "cnn" / "fifo.json")
    with open(source / "exports" / "cnn" / "sparse.npy", "wb") as handle:
        handle.truncate(2 * 2**30)
    target.mkdir()
    wanted = {"exports/cnn/model.keras": 100, "exports/cnn/link.npy": 100, "exports/cnn/fifo.json": 100,
              "exports/cnn/sparse.npy": 2**20, "exports/linked/x.json": 100, "exports/cnn/absent.json": 100}
    left_out = copy_wanted_files(source, target, wanted)
    copied = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert copied == ["exports/cnn/model.keras"]
    assert left_out == {"exports/cnn/fifo.json": "is not a regular file",
                        "exports/cnn/link.npy": "is a symbolic link, not data",
                        "exports/cnn/sparse.npy": "is 2,048 MB, more than the 1 MB the grader reads",
                        "exports/linked/x.json": "is a symbolic link, not data"}


def test_without_root_the_export_folder_is_mounted_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with ExportStaging(tmp_path, 10) as staging:
        assert staging.source == tmp_path and not staging.mounted


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_as_root_the_export_folder_is_a_tmpfs_of_limited_size(tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    with ExportStaging(target, 1, {"exports/t.json": 100}) as staging:
        assert staging.mounted and staging.source != target
        (staging.source / "exports").mkdir()
        (staging.source / "exports" / "t.json").write_text("{}")
        (staging.source / "status.json").write_text("{}")
        with pytest.raises(OSError, match="No space left"):
            (staging.source / "big").write_bytes(b"x" * 2 * 2**20)
    assert (target / "exports" / "t.json").read_text() == "{}" and not (target / "status.json").exists()
    assert not staging.source.exists()
