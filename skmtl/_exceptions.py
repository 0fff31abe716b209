"""Warnings and errors specific to skmtl."""

__all__ = ["ZeroCoefficientsWarning"]


class ZeroCoefficientsWarning(UserWarning):
    """A fit returned ``coef_ == 0`` because ``alpha >= alpha_max``.

    At and above :func:`skmtl.alpha_max` the penalty wins over the data: every
    task's coefficients are zero and only the intercepts are fitted, so the
    model predicts a constant per task.  The message gives ``alpha_max``; pick
    ``alpha`` well below it, or let a CV estimator choose it.
    """
