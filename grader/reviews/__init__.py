"""Human review of a batch: overrides, comments and manually graded parts kept in SQLite in the output folder
(``store``), applied to the results for every output (``apply``), and the local review page (``server``)."""
