"""Separable multi-task data-fits (squared and logistic losses).

A data-fit knows the per-task losses, their gradients, Lipschitz constants,
exact per-task proximal maps and the conjugate terms of the duality gap; it
knows nothing about the penalty.
"""
