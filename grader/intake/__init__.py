"""Intake: what instructors download (a folder, a zip, Canvas's or Gradescope's export) into one notebook per student.

read (``archives``) → who is who (``layouts``) → staged notebooks and ``submissions.json`` (``stage``).
"""
