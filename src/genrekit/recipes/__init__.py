"""The papers' experiments as configuration: one YAML per paper, read by ``genrekit reproduce``.

No logic lives here; :mod:`genrekit.evaluation.protocols` runs them.
"""
