"""Evaluation: the papers' protocols, reproductions, reports (the metrics they use, with confidence
intervals, are :mod:`genrekit.metrics`, which training uses too).

- :mod:`.protocols` - recipes (``genrekit/recipes/*.yaml``) run under their paper's protocol:
  :func:`reproduce`;
- :mod:`.results` - ``results.json``, the one file a reproduction hands the report: its schema,
  reading and writing, deviations from the paper with their kinds;
- :mod:`.report` - ``report.md`` / ``report.html`` / figures from a reproduction.
"""

from genrekit.metrics import bootstrap_ci, summarize
from genrekit.evaluation.protocols import load_recipe, papers, reproduce
from genrekit.evaluation.report import combine, write_report
from genrekit.evaluation.results import validate_results

__all__ = ["bootstrap_ci", "combine", "load_recipe", "papers", "reproduce", "summarize", "validate_results",
           "write_report"]
