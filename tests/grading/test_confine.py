"""How a checks' child confines itself: which folders it could not import from as another user, which folders it
imports from, and the mount table's escapes.  What a confined child has: ``test_apart.py``."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from grader.grading.confine import _unescape, closed_to_others, import_folders

REPO = Path(__file__).resolve().parents[2]


def test_folders_closed_to_other_users_are_named():
    with tempfile.TemporaryDirectory() as folder:  # under /tmp: pytest's own folders are closed to others
        os.chmod(folder, 0o755)
        _closed_to_others_in(Path(folder))


def _closed_to_others_in(tmp_path: Path) -> None:
    inner = tmp_path / "closed" / "site-packages"
    inner.mkdir(parents=True)
    os.chmod(tmp_path / "closed", 0o700)
    assert closed_to_others([str(inner), "/usr/lib"]) == [str(inner)]
    os.chmod(tmp_path / "closed", 0o711)  # searchable on the way is enough
    assert closed_to_others([str(inner)]) == []
    os.chmod(inner, 0o711)  # but the folder itself must be readable
    assert closed_to_others([str(inner)]) == [str(inner)]


def test_the_checker_imports_late_only_from_folders_it_names():
    import keras  # noqa: F401
    import numpy

    folders = import_folders()
    assert os.path.dirname(os.__file__) in folders and numpy.__path__[0] in folders
    assert str(REPO / "grader") in folders


def test_mount_points_are_read_as_the_mount_table_escapes_them():
    assert _unescape(r"/media/my\040disk\011tab\134x") == "/media/my disk\ttab\\x"
