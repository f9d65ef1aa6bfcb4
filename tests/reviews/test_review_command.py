"""``grader review`` as an instructor runs it: the URL it prints (127.0.0.1, a token) serves the page, a request
without the token is refused, and Ctrl+C (SIGINT) stops it with the reviews backed up."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from grader.reviews.store import BACKUP, ReviewStore

from ..e2e.conftest import REPO, run_cli


def test_the_command_serves_the_page_with_a_token_and_backs_up_on_ctrl_c(class_folder):
    ReviewStore(class_folder).save("carol", 0, [], "Good work", True, "ta1")
    process = subprocess.Popen([sys.executable, "-m", "grader", "review", str(class_folder), "-a", "by_hand"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/)\?token=([\w-]{20,})", line)
        assert found, line + process.stderr.read() if process.poll() is not None else line
        base, token = found.groups()
        with urllib.request.urlopen(f"{base}student/carol?token={token}") as response:
            page = response.read().decode()
        assert "Good work" in page and response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        try:
            urllib.request.urlopen(base)
            refused = None
        except urllib.error.HTTPError as error:
            refused = error.code
        assert refused == 403
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert (class_folder / BACKUP).is_file()


def test_backup_alone(class_folder):
    done = run_cli("review", str(class_folder), "-a", "by_hand", "--backup")
    assert done.returncode == 0 and "no reviews in" in done.stdout
    ReviewStore(class_folder).save("carol", 0, [], "Good work", True, "ta1")
    done = run_cli("review", str(class_folder), "-a", "by_hand", "--backup")
    assert done.returncode == 0 and f"reviews copied to {class_folder / BACKUP}" in done.stdout
