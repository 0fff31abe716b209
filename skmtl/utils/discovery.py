"""Discover the public estimators of skmtl (as ``sklearn.utils.all_estimators``).

Only the classes exported by :mod:`skmtl` (its ``__all__``) are listed, so the
common tests cover exactly what users import.
"""

import inspect

from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    TransformerMixin,
)

__all__ = ["all_estimators"]

_TYPE_FILTERS = {
    "classifier": ClassifierMixin,
    "regressor": RegressorMixin,
    "transformer": TransformerMixin,
}


def all_estimators(type_filter=None):
    """Get the public estimators of skmtl.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer"}, list of them, \
            or None, default=None
        Keep only the estimators of these types; ``None`` keeps all.

    Returns
    -------
    estimators : list of tuple
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from skmtl.utils import all_estimators
    >>> names = [name for name, _ in all_estimators(type_filter="regressor")]
    >>> "TraceNormMTLRegressor" in names
    True
    """
    import skmtl

    estimators = []
    for name in getattr(skmtl, "__all__", []):
        obj = getattr(skmtl, name, None)
        if (
            inspect.isclass(obj)
            and issubclass(obj, BaseEstimator)
            and not inspect.isabstract(obj)
            and not name.startswith("_")
        ):
            estimators.append((name, obj))

    if type_filter is not None:
        filters = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = [f for f in filters if f not in _TYPE_FILTERS]
        if unknown:
            raise ValueError(
                f"type_filter must be None or a subset of {sorted(_TYPE_FILTERS)}; "
                f"got {unknown}."
            )
        estimators = [
            (name, cls)
            for name, cls in estimators
            if any(issubclass(cls, _TYPE_FILTERS[f]) for f in filters)
        ]
    return sorted(estimators, key=lambda pair: pair[0])
