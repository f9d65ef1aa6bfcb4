"""Pairs of students whose answer code is unusually similar, found with copydetect's winnowing.

A student's answer code is the code cells of the notebook that was graded (the intake's copy, else the one
executed), at most ``MAX_ANSWER_CHARS`` of it, without what the assignment gave: a cell identical to a cell of
the student notebook is left out whole, and so is any line the student notebook already has (the scaffold, the
given code, ``check("task")``).  copydetect tokenises what remains (names become placeholders, so renamed
variables do not hide a copy), takes every k-gram of ``NOISE_TOKENS`` tokens, and drops the k-grams of the
student notebook itself as boilerplate.  For a pair, each student's share is the part of their answer code that
is also in the other's.

A pair is flagged when the larger share is at least ``THRESHOLD`` and at least ``MIN_OVERLAP_TOKENS`` tokens
are shared.  The measured figures behind the choice: a copy with its variables renamed shares 100% both ways;
independent right answers to by_hand (the course notes' loops against NumPy slicing) share under 25%.  The
threshold sits well above the second, and copydetect's own report shows pairs from 33% up (its default).  The
floor on shared tokens keeps two nearly empty notebooks (one quiz line each) from being a pair.
"""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from grader.defaults import SIMILARITY_THRESHOLD
from grader.errors import SubmissionError
from grader.grading.submission import read_submission

log = logging.getLogger(__name__)

NOISE_TOKENS = 25  # copydetect's default noise threshold: shorter matches are not counted
THRESHOLD = SIMILARITY_THRESHOLD  # (written in grader/defaults.py, which the command line reads too)
MIN_OVERLAP_TOKENS = 80
MAX_PAIRS = 30  # the most similar pairs shown, however many pass the threshold
MAX_ANSWER_CHARS = 100_000  # compared of each student's answer code (an answer is a few thousand; 1 MB took 13 s)
MARK = ("<mark>", "</mark>")


@dataclass(frozen=True)
class SimilarPair:
    """Two students' answer code and how much of each is in the other (the shared parts marked in ``marked``)."""

    first: str
    second: str
    shares: tuple[float, float]
    shared_tokens: int
    marked: tuple[str, str]  # HTML: each one's escaped answer code, shared parts in <mark>

    @property
    def similarity(self) -> float:
        return max(self.shares)


@dataclass(frozen=True)
class Cluster:
    """Students linked by similar pairs (a shares with b, b with c: one cluster): every pair above the threshold
    among them, the most similar first, and that pair side by side (``shown``)."""

    members: tuple[str, ...]
    pairs: tuple[tuple[str, str, float], ...]  # (first, second, similarity)
    shown: SimilarPair


@dataclass(frozen=True)
class SimilarPairs:
    """The clusters of similar students, the most similar first (at most MAX_PAIRS, each with its closest pair side by
    side in ``shown``), and how many pairs passed the threshold."""

    shown: tuple[SimilarPair, ...]
    found: int
    clusters: tuple[Cluster, ...] = ()


def _code_cells(nb: Any) -> list[str]:
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def given_code(template: Any) -> str:
    """All the code the student notebook comes with: copydetect's boilerplate."""
    return "\n\n".join(_code_cells(template))


def answer_code(nb: Any, template: Any) -> str:
    """The code the student wrote: ``nb``'s code cells without the cells and lines that ``template`` has."""
    given_cells = {source.strip() for source in _code_cells(template)}
    given_lines = {line.strip() for source in given_cells for line in source.splitlines() if line.strip()}
    kept = []
    for source in _code_cells(nb):
        if source.strip() in given_cells:
            continue
        lines = [line.rstrip() for line in source.splitlines() if line.strip() not in given_lines]
        text = "\n".join(lines).strip("\n")
        if text.strip():
            kept.append(text)
    return "\n\n".join(kept)


def notebook_of(out_dir: Path, key: str, original: Path | None = None) -> Path | None:
    """The notebook executed for ``key`` (``executed/<key>/*.ipynb``), else the original submission when known."""
    executed = sorted((out_dir / "executed" / key).glob("*.ipynb"))
    if executed:
        return executed[0]
    return original if original is not None and original.is_file() else None


def read_answer_code(path: Path | None, template: Any) -> tuple[str, str | None]:
    """(the answer code of the notebook at ``path``, at most ``MAX_ANSWER_CHARS`` of it; why it is cut or missing,
    or None).  Total: a notebook that cannot be read gives no code and its reason, never an exception."""
    if path is None:
        return "", None
    try:
        code = answer_code(read_submission(path), template)
    except SubmissionError as exc:
        log.info("no answer code from %s: %s", path, exc)
        return "", f"its notebook cannot be read ({exc})"
    if len(code) > MAX_ANSWER_CHARS:
        return code[:MAX_ANSWER_CHARS], (f"its answer code is {len(code):,} characters long: only the first"
                                         f" {MAX_ANSWER_CHARS:,} are compared")
    return code, None


def _fingerprint(code: str, boilerplate: Any = None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("answer.py", NOISE_TOKENS, 1, boilerplate=boilerplate, fp=io.StringIO(code))


def similar_pairs(codes: Mapping[str, str], template_code: str, threshold: float = THRESHOLD,
                  min_tokens: int = MIN_OVERLAP_TOKENS) -> SimilarPairs:
    """The pairs of ``codes`` (key -> answer code) above the threshold, the most similar first."""
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    boilerplate = np.array(sorted(_fingerprint(template_code).hashes), dtype=np.int64)
    prints = {key: _fingerprint(code, boilerplate) for key, code in sorted(codes.items()) if code.strip()}
    found = []
    for a, b in _candidates(prints):
        shared, shares, slices = compare_files(prints[a], prints[b])
        if shared >= min_tokens and max(shares) >= threshold:
            found.append((a, b, (float(shares[0]), float(shares[1])), int(shared), slices))
    found.sort(key=lambda item: (-max(item[2]), item[0], item[1]))
    clusters = []
    for members, linked in _clusters(found)[:MAX_PAIRS]:
        a, b, shares, shared, slices = linked[0]
        marked = tuple(highlight_overlap(prints[key].raw_code, cut, *MARK, escape_html=True)[0]
                       for key, cut in ((a, slices[0]), (b, slices[1])))
        clusters.append(Cluster(members, tuple((x, y, max(s)) for x, y, s, _, _ in linked),
                                SimilarPair(a, b, shares, shared, marked)))
    return SimilarPairs(tuple(c.shown for c in clusters), len(found), tuple(clusters))


def _clusters(found: list) -> list[tuple[tuple[str, ...], list]]:
    """The pairs grouped by connected students (union-find), each group's pairs most similar first, the groups in
    the order of their most similar pair."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for a, b, *_ in found:
        parent[root(a)] = root(b)
    groups: dict[str, list] = {}
    for pair in found:  # already most similar first
        groups.setdefault(root(pair[0]), []).append(pair)
    return [(tuple(sorted({k for pair in pairs for k in pair[:2]})), pairs) for pairs in groups.values()]


def _candidates(prints: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """Pairs that share at least one fingerprint (the others cannot be similar)."""
    return ((a, b) for a, b in combinations(prints, 2) if not prints[a].hashes.isdisjoint(prints[b].hashes))
