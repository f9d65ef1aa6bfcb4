"""Defaults that the command line states in its help and the library applies, each written once.

They live here, in a module that imports nothing, so that the command line can say what a default is without
importing the heavier module that applies it (the reports import matplotlib); that module imports it from here.
"""
from __future__ import annotations

SIMILARITY_THRESHOLD = 0.6  # share of answer code in common that flags a pair (grader/reports/similarity.py: why)
