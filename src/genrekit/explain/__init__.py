"""Explanations: figures that show what the features and the networks see.

:mod:`genrekit.explain.figures`: drawings of a track's features (matplotlib, Agg backend,
imported only when a figure is drawn).
"""
