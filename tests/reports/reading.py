"""The report files read back as a user's tools read them: CSV, JSON, the HTML's tables and images."""
from __future__ import annotations

import base64
import csv
import re
from html.parser import HTMLParser
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


class PageReader(HTMLParser):
    """The images, links and the cells of each table row (by the row's data-key) of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self._row: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag in ("a", "link", "script"):
            self.links.append(attrs.get("href") or attrs.get("src") or "")
        elif tag == "tr" and "data-key" in attrs:
            self._row = attrs["data-key"]
            self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None


def read_page(path: Path) -> PageReader:
    reader = PageReader()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader


def png_of(image: dict[str, str]) -> bytes:
    prefix = "data:image/png;base64,"
    assert image["src"].startswith(prefix), image["src"][:40]
    data = base64.b64decode(image["src"][len(prefix):], validate=True)
    assert data.startswith(PNG_SIGNATURE)
    return data


def external_references(text: str) -> list[str]:
    """Anything the page would fetch from elsewhere: http(s) or protocol-relative URLs in src, href or CSS url()."""
    return re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']*|url\(\s*["']?(?:https?:)?//""", text)
