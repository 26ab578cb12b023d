"""Runs a task for each job (a feed, the relay) whose lease this process holds.

Every round — a third of the lease's life, or sooner when woken — it lists the jobs, takes or
renews their leases, starts the jobs it newly holds and stops those it no longer holds.  A
job that fails is logged and started again on the next round, with nothing kept from before:
each job keeps its state where it survives a crash (the database, JetStream).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

from kiban.core.logging import get_logger
from kiban.mesh.events.leases import Leases
from kiban.mesh.events.store import describe

log = get_logger(__name__)

Job = Callable[[], Coroutine[Any, Any, None]]


class Supervisor:
    def __init__(self, leases: Leases, jobs: Callable[[], dict[str, Job]], ttl: float) -> None:
        self.leases = leases
        self.jobs = jobs  # called in a thread: it may read the database
        self.ttl = ttl
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Look at the jobs now (a subscription was added)."""
        self._wakeup.set()

    async def run(self) -> None:
        """Run the jobs until cancelled."""
        running: dict[str, asyncio.Task[None]] = {}
        # Until when the leases held at the last renewal surely still hold (half their life,
        # for clocks and slow commits): past it with no renewal, this process stops its jobs.
        safe_until = 0.0
        try:
            while True:
                self._wakeup.clear()
                started = time.monotonic()
                try:
                    jobs = await asyncio.to_thread(self.jobs)
                    held = await asyncio.to_thread(self.leases.hold, jobs)
                    safe_until = started + self.ttl / 2
                except Exception as error:
                    log.error("mesh.events.lease_failed", error=describe(error))
                    jobs, held = {}, set(running) if time.monotonic() < safe_until else set()
                for name, task in list(running.items()):
                    if task.done():
                        del running[name]
                        if not task.cancelled() and (failure := task.exception()) is not None:
                            log.error("mesh.events.job_failed", job=name, error=describe(failure))
                    elif name not in held:
                        task.cancel()
                        del running[name]
                for name in sorted(held - running.keys()):
                    if name in jobs:
                        running[name] = asyncio.create_task(jobs[name](), name=name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.ttl / 3)
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)
