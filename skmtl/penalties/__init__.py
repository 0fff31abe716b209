"""Penalties coupling the tasks, as objects with one protocol.

:class:`Penalty` (value, prox, dual norm, incremental prox) is what the
solvers and the AMTL engine use; :class:`TraceNorm` (low rank) and
:class:`L21` (joint feature selection) implement it.
"""

from ._base import IncrementalProx, Penalty, make_penalty
from ._l21 import L21, l21_norm, prox_l21
from ._trace_norm import TraceNorm

__all__ = [
    "L21",
    "IncrementalProx",
    "Penalty",
    "TraceNorm",
    "l21_norm",
    "make_penalty",
    "prox_l21",
]
