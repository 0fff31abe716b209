"""The paper's experiments: a library of reusable functions and the paper CLI.

:mod:`skmtl.experiments` holds the functions (AMTL against SMTL, the dynamic
step table, the synthetic problems); ``python -m skmtl paper`` prints the
paper's tables next to ours (``skmtl/experiments/_paper.py``).
"""

from ._library import *  # noqa: F403
from ._library import __all__  # noqa: F401
