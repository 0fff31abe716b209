"""Penalties coupling the tasks: the trace norm (and its proximal map)."""
