"""Export formats: pure renderers and readers of back-end files (see `base`).

`base` is imported first on purpose: it holds the registry, which imports every format.
"""

from . import base as base
