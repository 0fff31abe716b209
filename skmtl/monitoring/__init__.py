"""Opt-in per-task convergence monitoring: the TaskMonitor parameter object
(``_monitor``) and the hooks that wire it into the solvers (``_hooks``)."""
