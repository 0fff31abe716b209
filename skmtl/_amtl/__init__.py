"""Asynchronous multi-task learning (AMTL): the engine, its backends and delays."""

from ._delays import CallableDelay, DelayModel, NoDelay, make_delay_model
from ._engine import run_amtl
from ._nodes import DynamicStep, arock_relaxation_bound, forward_step, km_update
from .backends import (
    Backend,
    SequentialBackend,
    SimulatedBackend,
    ThreadingBackend,
    make_backend,
)

__all__ = [
    "Backend",
    "CallableDelay",
    "DelayModel",
    "DynamicStep",
    "NoDelay",
    "SequentialBackend",
    "SimulatedBackend",
    "ThreadingBackend",
    "arock_relaxation_bound",
    "forward_step",
    "km_update",
    "make_backend",
    "make_delay_model",
    "run_amtl",
]
