"""The Dask distributed backend: task-node actors (``_node``), their pool on
the workers (``_pool``) and the backend the central loop talks to
(``_backend``)."""
