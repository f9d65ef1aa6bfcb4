"""Reports made from stored results, without grading again: gradebooks, feedback, the instructor's report."""
from grader.reports.regenerate import ReportSummary, regenerate

__all__ = ["ReportSummary", "regenerate"]
