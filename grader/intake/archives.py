"""Zip archives opened without trusting them: no path leaves the target folder, no link is made, and no member
expands past fixed limits (a zip bomb is stopped while it inflates, whatever its headers claim)."""
from __future__ import annotations

import os
import shutil
import stat
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.errors import IntakeError

MAX_MEMBERS = 20_000
MAX_MEMBER_BYTES = 512 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30  # a whole download
MAX_STUDENT_ARCHIVE_BYTES = 2**30  # a student's own zip: its notebooks only
UTF8_FLAG = 0x800
IGNORED_PARTS = {"__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db"}


@dataclass
class Extracted:
    """What came out of an archive: the folder, and each member left out with the reason."""

    folder: Path
    refused: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)


def member_name(info: zipfile.ZipInfo) -> tuple[str, bool]:
    """The member's name as its author's machine wrote it: UTF-8 when flagged or valid (macOS does not flag it),
    else the zip format's own code page, cp437, as Windows' built-in zip writes it (zipfile read it so)."""
    if info.flag_bits & UTF8_FLAG:
        return info.filename, True
    try:
        return info.filename.encode("cp437").decode("utf-8"), True
    except UnicodeDecodeError:
        return info.filename, False


def safe_parts(name: str) -> tuple[str, ...] | None:
    """The member's path as parts inside the archive, or None when it would leave it (zip-slip)."""
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = tuple(p for p in PurePosixPath(text).parts if p not in ("", "."))
    if any(p == ".." for p in parts):
        return None
    return parts


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def extract(archive: Path, target: Path, label: str = "", suffixes: tuple[str, ...] = (),
            max_total: int | None = None) -> Extracted:
    """Extract ``archive`` into the new folder ``target`` (only members ending in ``suffixes``, when given: the
    others are never inflated); members that are unsafe are refused with a reason."""
    label = label or archive.name
    max_total = MAX_TOTAL_BYTES if max_total is None else max_total
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{label} is not a readable zip archive ({exc}): download it again") from None
    target.mkdir(parents=True, exist_ok=False)
    done = Extracted(target)
    total = 0
    with bundle:
        infos = bundle.infolist()
        if len(infos) > MAX_MEMBERS:
            raise IntakeError(f"{label} holds {len(infos):,} files, more than {MAX_MEMBERS:,}: refused")
        seen: set[tuple[str, ...]] = set()
        for info in infos:
            name, utf8 = member_name(info)
            shown = f"{label}: {name}"
            parts = safe_parts(name)
            if parts is None:
                done.refused.append((shown, "its path leaves the archive's folder (zip-slip): not extracted"))
                continue
            if not parts or IGNORED_PARTS.intersection(parts) or info.is_dir():
                continue
            if suffixes and not parts[-1].lower().endswith(suffixes):
                continue
            if _is_link(info):
                done.refused.append((shown, "a symbolic link: links are not followed; submit the file itself"))
                continue
            if not utf8:
                done.renamed.append((name, "its name is not UTF-8: read as the zip format's code page, cp437"))
            if parts in seen:
                done.refused.append((shown, "twice in the archive under the same name: the later copy is kept"))
            seen.add(parts)
            path = target.joinpath(*parts)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                total += _copy_member(bundle, info, path, max_total - total)
            except _TooBig as exc:
                _remove_path(path)
                done.refused.append((shown, str(exc)))
                if exc.total:
                    raise IntakeError(f"{label} expands to more than {max_total / 2**30:g} GB"
                                      " (a zip bomb?): refused") from None
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, zlib.error,
                    NotImplementedError) as exc:
                _remove_path(path)
                done.refused.append((shown, f"could not be extracted ({type(exc).__name__}: {exc}): the archive is"
                                            " damaged, encrypted or compressed in a way zip readers rarely know"))
    return done


class _TooBig(Exception):
    def __init__(self, message: str, total: bool = False) -> None:
        super().__init__(message)
        self.total = total


def _copy_member(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, room: int) -> int:
    """Inflate one member, counting the bytes as they come out (headers can lie)."""
    written = 0
    with bundle.open(info) as source, path.open("wb") as sink:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > MAX_MEMBER_BYTES:
                raise _TooBig(f"expands to more than {MAX_MEMBER_BYTES / 2**20:.0f} MB (a zip bomb?): refused")
            if written > room:
                raise _TooBig("the archive expands past its limit", total=True)
            sink.write(chunk)
    path.chmod(0o644)
    try:  # the member's own date, not the extraction's: which of two files is later stays known
        stamp = time.mktime((*info.date_time, 0, 0, -1))
        os.utime(path, (stamp, stamp))
    except (OverflowError, ValueError, OSError):
        pass
    return written


def _remove_path(path: Path) -> None:
    """What a failed extraction left at ``path`` (a file, or a folder an earlier member made there)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
