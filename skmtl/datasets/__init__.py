"""Multi-task data sets: generators for the paper's synthetic setting and loaders.

make_low_rank_regression, make_low_rank_classification
    Tasks whose weight vectors span a low-dimensional subspace (the synthetic
    setting of Baytas et al., 2016: 100 samples per task, 50 features).
load_digits_tasks
    The paper's five binary digit tasks (0v9, 1v8, 2v7, 3v6, 4v5), built
    offline from :func:`sklearn.datasets.load_digits`.
"""

from ._synthetic import (
    load_digits_tasks,
    make_low_rank_classification,
    make_low_rank_regression,
)

__all__ = [
    "load_digits_tasks",
    "make_low_rank_classification",
    "make_low_rank_regression",
]
