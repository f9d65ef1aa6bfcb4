"""Zip archives that try to escape, link, inflate, repeat or mis-encode: each member refused or renamed with a
reason, nothing written outside the target folder."""
from __future__ import annotations

import stat
import zipfile

import pytest

from grader.errors import IntakeError
from grader.intake import archives
from grader.intake.archives import extract, safe_parts

from .conftest import notebook_bytes, write_zip


def test_zip_slip_paths_are_refused_and_nothing_lands_outside(tmp_path):
    bundle = write_zip(tmp_path / "in.zip", {"../escaped.ipynb": notebook_bytes(), "/etc/abs.ipynb": notebook_bytes(),
                                             "a/../../up.ipynb": notebook_bytes(), "..\\win.ipynb": notebook_bytes(),
                                             "ok/fine.ipynb": notebook_bytes()})
    done = extract(bundle, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == ["fine.ipynb"]
    assert not (tmp_path / "escaped.ipynb").exists() and not (tmp_path / "up.ipynb").exists()
    assert not (tmp_path / "win.ipynb").exists()
    reasons = dict(done.refused)
    assert len(reasons) == 4 and all("zip-slip" in r for r in reasons.values())
    assert safe_parts("C:/x.ipynb") is None and safe_parts("./a/./b.ipynb") == ("a", "b.ipynb")


def test_symbolic_links_in_an_archive_are_not_made(tmp_path):
    link = zipfile.ZipInfo("student/secret.ipynb")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as bundle:
        bundle.writestr(link, "/etc/shadow")
        bundle.writestr("student/real.ipynb", notebook_bytes())
    done = extract(tmp_path / "in.zip", tmp_path / "out")
    assert not (tmp_path / "out/student/secret.ipynb").exists()
    assert (tmp_path / "out/student/real.ipynb").is_file()
    assert "symbolic link" in dict(done.refused)["in.zip: student/secret.ipynb"]


def test_a_member_inflating_past_the_limit_is_stopped_while_it_inflates(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 2**20)
    bundle = write_zip(tmp_path / "bomb.zip", {"bomb.ipynb": b"\0" * (8 * 2**20), "small.ipynb": notebook_bytes()})
    assert bundle.stat().st_size < 64 * 2**10  # a real bomb's ratio: 8 MB of zeros in a few kB
    done = extract(bundle, tmp_path / "out")
    assert not (tmp_path / "out/bomb.ipynb").exists() and (tmp_path / "out/small.ipynb").is_file()
    assert "zip bomb" in dict(done.refused)["bomb.zip: bomb.ipynb"]


def test_an_archive_inflating_past_the_total_is_refused_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_TOTAL_BYTES", 3 * 2**20)
    bundle = write_zip(tmp_path / "many.zip", {f"s{i}.ipynb": b"\0" * 2**20 for i in range(5)})
    with pytest.raises(IntakeError, match="zip bomb"):
        extract(bundle, tmp_path / "out")


def test_too_many_members_and_a_damaged_archive_are_said(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBERS", 3)
    with pytest.raises(IntakeError, match="more than 3"):
        extract(write_zip(tmp_path / "m.zip", {f"{i}.ipynb": b"{}" for i in range(4)}), tmp_path / "o1")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(IntakeError, match="not a readable zip archive"):
        extract(tmp_path / "broken.zip", tmp_path / "o2")


def test_a_name_that_is_not_utf8_is_read_as_the_zip_code_page_and_said(tmp_path):
    """Windows' own zip writer uses the OEM code page (cp437: ü is 0x81, ì 0x8d) without the UTF-8 flag; two names
    that differ there stay two names."""
    write_zip(tmp_path / "in.zip", {"J?rgen/hw.ipynb": notebook_bytes("u"), "J!rgen/hw.ipynb": notebook_bytes("i"),
                                    "na??ve.ipynb": notebook_bytes()})
    raw = (tmp_path / "in.zip").read_bytes()
    raw = raw.replace(b"J?rgen", b"J\x81rgen").replace(b"J!rgen", b"J\x8drgen").replace(b"na??ve", b"na\xc3\xafve")
    (tmp_path / "in.zip").write_bytes(raw)  # no UTF-8 flag: cp437 bytes, and UTF-8 bytes as macOS writes them
    done = extract(tmp_path / "in.zip", tmp_path / "out")
    assert (tmp_path / "out/Jürgen/hw.ipynb").is_file() and (tmp_path / "out/Jìrgen/hw.ipynb").is_file()
    assert (tmp_path / "out/naïve.ipynb").is_file()
    assert sorted(name for name, _ in done.renamed) == ["Jìrgen/hw.ipynb", "Jürgen/hw.ipynb"]
    assert all("cp437" in why for _, why in done.renamed)


def damaged_zip(path, name: str = "hw.ipynb"):
    """A zip whose member's compressed data is damaged (zlib fails on it, as on a download cut and mended)."""
    import random
    rng = random.Random(1)
    text = "".join(rng.choice("abcdefghij \n") for _ in range(20000)).encode()
    write_zip(path, {name: text})
    raw = bytearray(path.read_bytes())
    start = 30 + len(name)
    raw[start + 20:start + 60] = bytes(b ^ 0xFF for b in raw[start + 20:start + 60])
    path.write_bytes(bytes(raw))
    return path


def test_a_member_whose_data_is_damaged_is_refused_with_a_reason(tmp_path):
    done = extract(damaged_zip(tmp_path / "in.zip"), tmp_path / "out")
    assert not (tmp_path / "out/hw.ipynb").exists()
    assert "damaged" in dict(done.refused)["in.zip: hw.ipynb"] and "error" in dict(done.refused)["in.zip: hw.ipynb"]


def test_a_file_where_an_earlier_member_made_a_folder_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as bundle:
        bundle.writestr("hw/hw.ipynb", notebook_bytes())
        bundle.writestr("hw", b"a file of the folder's name")
    done = extract(tmp_path / "in.zip", tmp_path / "out")
    assert "could not be extracted" in dict(done.refused)["in.zip: hw"]


def test_only_the_wanted_members_are_inflated(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBER_BYTES", 2**20)
    bundle = write_zip(tmp_path / "hw.zip", {"data.bin": b"\0" * (8 * 2**20), "hw.ipynb": notebook_bytes()})
    done = extract(bundle, tmp_path / "out", suffixes=(".ipynb",))
    assert [p.name for p in (tmp_path / "out").rglob("*")] == ["hw.ipynb"] and done.refused == []


def test_a_name_twice_in_one_archive_keeps_the_later_copy_and_says_so(tmp_path):
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as bundle:
        bundle.writestr("hw.ipynb", notebook_bytes("first"))
        bundle.writestr("hw.ipynb", notebook_bytes("second"))
    done = extract(tmp_path / "in.zip", tmp_path / "out")
    assert b"second" in (tmp_path / "out/hw.ipynb").read_bytes()
    assert "twice" in done.refused[0][1]


def test_an_extracted_file_keeps_the_date_the_archive_records(tmp_path):
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as bundle:
        bundle.writestr(zipfile.ZipInfo("later.ipynb", date_time=(2026, 3, 2, 10, 0, 0)), notebook_bytes())
        bundle.writestr(zipfile.ZipInfo("earlier.ipynb", date_time=(2026, 3, 1, 10, 0, 0)), notebook_bytes())
    extract(tmp_path / "in.zip", tmp_path / "out")
    later, earlier = (tmp_path / "out/later.ipynb").stat().st_mtime, (tmp_path / "out/earlier.ipynb").stat().st_mtime
    assert later - earlier == 24 * 3600
