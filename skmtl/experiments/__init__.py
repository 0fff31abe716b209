"""The paper's experiments: a library of reusable functions and the paper CLI.

:mod:`skmtl.experiments` holds the functions (AMTL against SMTL, the dynamic
step table, the jitter-distribution table, the synthetic problems);
``python -m skmtl paper`` prints the paper's tables next to ours
(``skmtl/experiments/_paper.py``).
"""

from ._jitter import *  # noqa: F403
from ._jitter import __all__ as _jitter_all
from ._library import *  # noqa: F403
from ._library import __all__ as _library_all

__all__ = sorted(_library_all + _jitter_all)
