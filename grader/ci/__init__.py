"""The course's own CI: validation of every assignment, thresholds across seeds, drift of grades."""
