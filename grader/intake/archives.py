"""Zip archives opened without trusting them: no path leaves the target folder, no link is made, and no member
expands past fixed limits (a zip bomb is stopped while it inflates, whatever its headers claim)."""
from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import IntakeError
from .names import decode_name

MAX_MEMBERS = 20_000
MAX_MEMBER_BYTES = 512 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30
UTF8_FLAG = 0x800
IGNORED_PARTS = {"__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db"}


@dataclass
class Extracted:
    """What came out of an archive: the folder, and each member left out with the reason."""

    folder: Path
    refused: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)


def member_name(info: zipfile.ZipInfo) -> tuple[str, bool]:
    """The member's name as its author's machine wrote it: UTF-8 when flagged or valid, else Windows' Latin-1."""
    if info.flag_bits & UTF8_FLAG:
        return info.filename, True
    return decode_name(info.filename.encode("cp437"))  # zipfile decoded the raw bytes as cp437


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


def extract(archive: Path, target: Path, label: str = "") -> Extracted:
    """Extract ``archive`` into the new folder ``target``; members that are unsafe are refused with a reason."""
    label = label or archive.name
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
            if _is_link(info):
                done.refused.append((shown, "a symbolic link: links are not followed; submit the file itself"))
                continue
            if not utf8:
                done.renamed.append((shown, "its name is not UTF-8: read as Windows' Latin-1 (cp1252)"))
            if parts in seen:
                done.refused.append((shown, "twice in the archive under the same name: the later copy is kept"))
            seen.add(parts)
            path = target.joinpath(*parts)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                total += _copy_member(bundle, info, path, MAX_TOTAL_BYTES - total)
            except _TooBig as exc:
                path.unlink(missing_ok=True)
                done.refused.append((shown, str(exc)))
                if exc.total:
                    raise IntakeError(f"{label} expands to more than {MAX_TOTAL_BYTES / 2**30:.0f} GB"
                                      " (a zip bomb?): refused") from None
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
                path.unlink(missing_ok=True)
                done.refused.append((shown, f"could not be extracted ({exc}): the archive is damaged"))
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
    return written


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
