"""Centralized solvers: plain functions on a data-fit that return arrays.

``_fista`` holds accelerated proximal gradient and the dispatching ``solve``;
``_admm`` the squared-loss ADMM with exact per-task solves; ``_gaps`` the
objectives and duality gaps; ``_result`` the :class:`SolverResult` that every
solver returns (the AMTL engine's ``run_amtl`` included).
"""
