"""Explanations: figures that show what the features and the networks see.

- :mod:`~genrekit.explain.figures`: a track's music features over its log-mel (Senac 2017).
- :mod:`~genrekit.explain.receptive`: the receptive field of a layer's units (which input
  bands and frames can reach them).
- :mod:`~genrekit.explain.activations`: the outputs of a trained network's named layers.
- :mod:`~genrekit.explain.strf`: learned filters estimated by Lasso regression (Dong 2018).
- :mod:`~genrekit.explain.lda`: LDA views of a representation and its separability (Dong 2018, Fig. 5).
- :mod:`~genrekit.explain.maps`: feature maps of the convolutional layers (Yang & Zhang 2019, Fig. 6).
- :mod:`~genrekit.explain.spectrogram`: Hz- vs mel-scale spectrograms (Yang & Zhang 2019, Fig. 5),
  any preset's input.
- :mod:`~genrekit.explain.inputs`: a run's data, or files, cut into clips for the above.

Figures are drawn with matplotlib's Agg backend (:mod:`genrekit.plotting`: imported only when a figure is
drawn, PNGs written atomically).
"""

from genrekit.explain.activations import layer_names, record
from genrekit.explain.lda import LdaView, lda_view, plot_lda
from genrekit.explain.maps import feature_maps, plot_feature_maps
from genrekit.explain.receptive import Field, Layer, network_fields, receptive_field
from genrekit.explain.spectrogram import hz_and_mel, plot_hz_mel, plot_spec_input
from genrekit.explain.strf import Strf, fit_filter, learned_filters, plot_filters, segments

__all__ = [
    "Field", "Layer", "LdaView", "Strf", "feature_maps", "fit_filter", "hz_and_mel", "layer_names", "lda_view",
    "learned_filters", "network_fields", "plot_feature_maps", "plot_filters", "plot_hz_mel", "plot_lda",
    "plot_spec_input", "receptive_field", "record", "segments",
]
