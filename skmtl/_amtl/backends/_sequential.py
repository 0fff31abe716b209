"""Sequential backend: one activation at a time, in the caller's thread.

Deterministic and bit-for-bit reproducible: the reference for the other
backends.  Activations are served first-in first-out and every read sees the
latest published prox, so with no delays and ``refresh_every=1`` it is a
cyclic block KM iteration.
The steps run in the caller's thread, between the central node's refreshes:
``refresh_every='auto'`` therefore batches the refresh here (one prox per
``T // 2`` updates), and one :meth:`~SequentialBackend.next_replies` call
computes every queued step that reads the same published prox (the engine
says how many, ``max_replies``) as one batch (:mod:`.._batch`: array
operations over the tasks for the squared loss), so that the central loop
runs once per batch, with the same result as one step per call.
Delays are slept in full: it shows no benefit of asynchrony, by design (but
never past ``max_time``).  A user's delay callable is drawn by the engine with
a guard (:class:`~skmtl._amtl._delays.DelaySource`): one that blocks ends the
fit after ``task_timeout`` seconds.
"""

import time
from collections import deque

import numpy as np

from .._batch import ReplyBatch
from ._base import Backend, Reply


class SequentialBackend(Backend):
    """Run every forward step in the calling thread, in order."""

    name = "sequential"
    deterministic = True
    # Every prox refresh runs between two task steps: 'auto' batches it.
    steps_in_central_thread = True
    # Steps computed per next_replies call, at most (set by the engine to the
    # queued steps that read the current prox: see Schedule.room).
    max_replies = 1

    # Steps that read the same prox are computed together (see .._batch).
    batches_steps = True

    def start(self, datafit, step, read, read_batch=None):
        super().start(datafit, step, read)
        self.read_batch = read_batch
        self._queue = deque()

    def activate(self, task, delay):
        self._queue.append((task, delay, self.now()))

    def activate_many(self, tasks, delays):
        now = self.now()
        self._queue.extend((t, d, now) for t, d in zip(tasks, delays, strict=True))

    def next_replies(self, timeout=None):
        task, delay, issued = self._queue[0]
        if delay > 0:
            if timeout is not None and delay > timeout:
                # max_time falls within this delay: sleep until then only.
                time.sleep(max(timeout, 0.0))
                self._queue[0] = (task, delay - max(timeout, 0.0), issued)
                return []
            time.sleep(delay)
        self._queue.popleft()
        tasks, issues = [task], [issued]
        # Then the next queued steps without a delay, up to max_replies: the
        # central node does not refresh within a call, so they read the same
        # prox as they would one call each (the engine's ``room``), and are
        # computed as one batch.
        queue = self._queue
        while len(tasks) < self.max_replies and queue and queue[0][1] == 0:
            task, _, issued = queue.popleft()
            tasks.append(task)
            issues.append(issued)
        if self.read_batch is None:  # started without batches (one by one)
            return [self._run(t, i) for t, i in zip(tasks, issues, strict=True)]
        read = self.read_batch(tasks)
        Z, zb = self.step.batch(self.datafit, read)
        round_trips = self.now() - np.array(issues)
        return [ReplyBatch(tasks, Z, zb, read.version, round_trips)]

    def _run(self, task, issued):
        read = self.read(task)
        z, zb = self.step(self.datafit, task, read)
        return Reply(task, z, zb, read.version, self.now() - issued)

    def close(self):
        self._queue = deque()
        self.__dict__.pop("max_replies", None)  # back to one step per call
        self.read_batch = None
        super().close()
