"""Models: the papers' networks and the classical baselines, registered by name (``ModelInfo.kind``).

>>> from genrekit import models
>>> models.names()                                           # doctest: +SKIP
['dong2018', 'senac2017_music', 'senac2017_stft', 'wang_cnn2d', 'yang2019_net1', ...]
>>> net = models.build("yang2019_net1")                      # doctest: +SKIP
>>> net(torch.zeros(4, 256, 128)).shape                      # doctest: +SKIP
torch.Size([4, 10])
"""

from genrekit.models.registry import ModelInfo, build, info, names, register, regularization

__all__ = ["ModelInfo", "build", "info", "names", "register", "regularization"]
from genrekit.models import dong2018, senac2017, wang, yang2019, zhang2016  # noqa: F401  (registers the models)
from genrekit.models import classical  # noqa: F401  (registers Wang's baselines; scikit-learn loads on use)
from genrekit.models import transfer  # noqa: F401  (registers the musicnn embedding presets and heads)
