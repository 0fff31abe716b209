"""skmtl: trace-norm multi-task learning for scikit-learn, with asynchronous AMTL."""

__version__ = "0.1.0.dev0"
