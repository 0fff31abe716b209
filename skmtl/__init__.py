"""skmtl: trace-norm multi-task learning for scikit-learn, with asynchronous AMTL.

Estimators
----------
TraceNormMTLRegressor, TraceNormMTLClassifier
    Centralized solver: the fast in-memory path and the numerical reference.
AsyncTraceNormMTLRegressor, AsyncTraceNormMTLClassifier
    Asynchronous Multi-Task Learning (AMTL) on sequential, threading,
    simulated-clock or Dask backends.
L21MTLRegressor, L21MTLClassifier, AsyncL21MTLRegressor, AsyncL21MTLClassifier
    The same with the l2,1 penalty (joint feature selection).
"""

from . import datasets
from ._amtl import DelayModel, DynamicStep, SimulatedBackend, arock_relaxation_bound
from ._exceptions import ZeroCoefficientsWarning
from ._tasks import stack_tasks, unstack_tasks
from .estimators._async import AsyncTraceNormMTLClassifier, AsyncTraceNormMTLRegressor
from .estimators._centralized import TraceNormMTLClassifier, TraceNormMTLRegressor
from .estimators._cv import TraceNormMTLClassifierCV, TraceNormMTLRegressorCV, alpha_max
from .estimators._l21 import (
    AsyncL21MTLClassifier,
    AsyncL21MTLRegressor,
    L21MTLClassifier,
    L21MTLClassifierCV,
    L21MTLRegressor,
    L21MTLRegressorCV,
)
from .monitoring._monitor import TaskMonitor
from .penalties._trace_norm import prox_trace_norm, spectral_norm, trace_norm
from .solvers._path import mtl_path

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncL21MTLClassifier",
    "AsyncL21MTLRegressor",
    "AsyncTraceNormMTLClassifier",
    "AsyncTraceNormMTLRegressor",
    "DelayModel",
    "DynamicStep",
    "L21MTLClassifier",
    "L21MTLClassifierCV",
    "L21MTLRegressor",
    "L21MTLRegressorCV",
    "SimulatedBackend",
    "TaskMonitor",
    "TraceNormMTLClassifier",
    "TraceNormMTLClassifierCV",
    "TraceNormMTLRegressor",
    "TraceNormMTLRegressorCV",
    "ZeroCoefficientsWarning",
    "__version__",
    "alpha_max",
    "arock_relaxation_bound",
    "datasets",
    "mtl_path",
    "prox_trace_norm",
    "spectral_norm",
    "stack_tasks",
    "trace_norm",
    "unstack_tasks",
]
