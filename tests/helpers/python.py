"""Helpers for the python3 side of the interop tests (imported by the children with sys.path set)."""
import asyncio
from multiprocessing import resource_tracker, shared_memory


def attach(name):
    """Attaches to a segment another process owns, without letting Python's tracker unlink it at exit.

    CPython before 3.13 registers attachers too (python/cpython issue 82300) and would remove the
    segment under its creator when this process ends; 3.13+ says track=False.
    """
    try:
        return shared_memory.SharedMemory(name=name, track=False)
    except TypeError:
        shm = shared_memory.SharedMemory(name=name)
        resource_tracker.unregister(shm._name, "shared_memory")
        return shm


def create(size, name=None):
    """Creates a segment that the TypeScript side will unlink: untracked, so Python's tracker stays quiet."""
    try:
        return shared_memory.SharedMemory(name=name, create=True, size=size, track=False)
    except TypeError:
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        resource_tracker.unregister(shm._name, "shared_memory")
        return shm


class Ticker:
    """A 5 ms timer on the running event loop that counts how often it fired, the asyncio tests' proof that
    the loop ran while a wait was pending: ``async with Ticker() as ticker: ...`` then ``ticker.ticks``."""

    def __init__(self):
        self.ticks = 0
        self._timer = None

    async def _tick(self):
        while True:
            await asyncio.sleep(0.005)
            self.ticks += 1

    async def __aenter__(self):
        self._timer = asyncio.ensure_future(self._tick())
        return self

    async def __aexit__(self, *exc):
        self._timer.cancel()
