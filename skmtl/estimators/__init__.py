"""The estimators: shared base, centralized, asynchronous (AMTL) and CV.

``_base`` validates data, calls a solver and stores the fitted attributes;
``_centralized`` and ``_async`` only choose the solver (the centralized
solvers of :mod:`skmtl.solvers` or the AMTL engine of :mod:`skmtl._amtl`);
``_cv`` adds cross-validation of ``alpha`` along a warm-started path.
"""
