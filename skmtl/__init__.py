"""skmtl: trace-norm multi-task learning for scikit-learn, with asynchronous AMTL."""

from ._estimators import TraceNormMTLClassifier, TraceNormMTLRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "TraceNormMTLClassifier",
    "TraceNormMTLRegressor",
    "__version__",
]
