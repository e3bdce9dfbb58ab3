"""Reports of reproductions: ``report.md``, a self-contained ``report.html``, figures and ``figures.json``.

Split by job:

- :mod:`.assembly` - :func:`write_report` (one reproduction) and :func:`combine` (several): reads
  ``results.json`` (:mod:`genrekit.evaluation.results`) and each run's curves, lays out the sections;
- :mod:`.figures` - the PNGs: confusion matrices, training curves, ours beside the paper;
- :mod:`.document` - the small document model and its Markdown and HTML renderers.

    genrekit report DIR [DIR...] [--out OUT]
"""

from genrekit.evaluation.report.assembly import combine, write_report

__all__ = ["combine", "write_report"]
