"""Sequential backend: one activation at a time, in the caller's thread.

Deterministic and bit-for-bit reproducible: the reference for the other
backends.  Activations are served first-in first-out and every read sees the
latest published prox, so with no delays it is a cyclic block KM iteration.
Delays are slept in full: it shows no benefit of asynchrony, by design.
"""

import time
from collections import deque

from ._base import Backend, Reply


class SequentialBackend(Backend):
    """Run every forward step in the calling thread, in order."""

    name = "sequential"
    deterministic = True

    def start(self, datafit, step, read):
        super().start(datafit, step, read)
        self._queue = deque()

    def activate(self, task, delay):
        self._queue.append((task, delay, self.now()))

    def next_replies(self):
        task, delay, issued = self._queue.popleft()
        if delay > 0:
            time.sleep(delay)
        read = self.read(task)
        z, zb = self.step(self.datafit, task, read)
        return [Reply(task, z, zb, read.version, self.now() - issued)]

    def close(self):
        self._queue = deque()
        super().close()
