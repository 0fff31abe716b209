"""Multi-task data sets: generators for the paper's synthetic setting and loaders.

make_low_rank_regression, make_low_rank_classification
    Tasks whose weight vectors span a low-dimensional subspace (the synthetic
    setting of Baytas et al., 2016: 100 samples per task, 50 features).
load_school, load_landmine, load_computer_survey, load_parkinsons
    Real multi-task data sets in long format, downloaded once (checksummed)
    into a cache folder (see :func:`get_data_home`), or read from a local
    copy (``path=``, or ``SKMTL_DATA`` naming a folder that holds the files).
load_digits_tasks
    The paper's five binary digit tasks (0v9, 1v8, 2v7, 3v6, 4v5), built
    offline from :func:`sklearn.datasets.load_digits`.
"""

from ._loaders import (
    clear_data_home,
    get_data_home,
    load_computer_survey,
    load_landmine,
    load_parkinsons,
    load_school,
    load_school_splits,
)
from ._synthetic import (
    load_digits_tasks,
    make_low_rank_classification,
    make_low_rank_regression,
)

__all__ = [
    "clear_data_home",
    "get_data_home",
    "load_computer_survey",
    "load_digits_tasks",
    "load_landmine",
    "load_parkinsons",
    "load_school",
    "load_school_splits",
    "make_low_rank_classification",
    "make_low_rank_regression",
]
