"""CPython's SharedMemory, as the TypeScript side behaves: attaching never registers the segment with
Python's resource tracker, every handle is a context manager, and close() never raises BufferError.

Who unlinks what (the same rules as TypeScript's):
- a process that creates a segment owns it: ``with create(...)`` unlinks it at the end of the block, and
  a tracked one (the default) is also unlinked by Python's resource tracker if the process ends without
  unlinking it; ``track=False`` hands the unlinking to someone else (another process calls ``unlink()``);
- close() lets go of the mapping; a numpy array still using it keeps it until the array is gone;
- a process that attaches never unlinks, at exit or at the end of a ``with`` block. Before 3.13 CPython
  registers attachers too and its tracker removes the segment when the attaching process ends
  (python/cpython issue 82300): ``attach`` takes the registration back at once (3.13+: ``track=False``),
  so the child's exit leaves the segment and prints no "leaked shared_memory objects" warning.
"""
import mmap
import os
import sys
from multiprocessing import resource_tracker
from multiprocessing import shared_memory as _mp

import _posixshmem

from ._descriptor import read_segment_descriptor

__all__ = ["SharedMemory", "attach", "create"]

# CPython 3.13 added SharedMemory(..., track=); before it, every handle registers with the tracker.
_HAS_TRACK = sys.version_info >= (3, 13)


class SharedMemory(_mp.SharedMemory):
    """A segment, created (tracked by default) or attached (never tracked); closes at the end of ``with``.

    The same object as CPython's (``buf``, ``name``, ``size``, ``close()``, ``unlink()``, pickling by
    name); a handle that created the segment also unlinks it when its ``with`` block ends.
    """

    def __init__(self, name=None, create=False, size=0, *, track=None):
        track = create if track is None else bool(track)
        if track and not create:
            raise ValueError("track=True is for a segment this process creates; attaching never tracks")
        if _HAS_TRACK:
            super().__init__(name, create, size, track=track)
        elif not create:
            self._attach_untracked(name)
        else:
            super().__init__(name, create, size)
            if not track:
                _untrack(self)  # a name this process has just created: no one else registered it
        self._tracked = track
        self._created = bool(create)

    def _attach_untracked(self, name):
        """What CPython's __init__ does to attach (3.8-3.12, POSIX), without registering the name.

        Unregistering after CPython's own attach would also drop a registration this process made as
        the creator (the tracker keeps one entry per name), and the creator's unlink() would then make
        the tracker print a KeyError traceback.
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {name!r}")
        self._name = "/" + name if self._prepend_leading_slash else name
        self._fd = _posixshmem.shm_open(self._name, os.O_RDWR, mode=self._mode)
        try:
            size = os.fstat(self._fd).st_size
            self._mmap = mmap.mmap(self._fd, size)
        except BaseException:
            os.close(self._fd)
            self._fd = -1
            raise
        self._size = size
        self._buf = memoryview(self._mmap)

    @property
    def descriptor(self):
        """What TypeScript's SharedMemory.attach (and attach) take: ``{"kind": "shm", "name": ...}``."""
        return {"kind": "shm", "name": self.name}

    @property
    def created(self):
        """Whether this handle created the segment (and so unlinks it when its ``with`` block ends)."""
        return self._created

    @property
    def closed(self):
        """Whether close() has run."""
        return self._buf is None and self._mmap is None

    def close(self):
        """Lets go of the segment; safe to call twice, and never a BufferError.

        The mapping goes at once unless a view still uses it (a numpy array over ``buf``: numpy keeps the
        mapping object as its ``base``): then it goes with the last such view. CPython's own close()
        unmaps under a live numpy array (numpy 2 keeps no buffer export), and reading it then crashes.
        """
        buf, self._buf = self._buf, None
        if buf is not None:
            try:
                buf.release()
            except BufferError:
                pass  # a view exported from buf is still alive: the mapping goes with it
        self._mmap = None  # unmapped when its last reference goes: now, or with the last numpy view
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def unlink(self):
        """Removes the segment's name (FileNotFoundError if it is gone). Untracked handles tell no tracker."""
        if self._tracked or _HAS_TRACK:
            super().unlink()  # tracked: also unregisters; 3.13+ untracked: CPython skips the tracker itself
        else:
            # CPython before 3.13 would unregister a name we never kept registered, and its tracker
            # would print a KeyError traceback
            _posixshmem.shm_unlink(self._name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        if self._created:
            try:
                self.unlink()
            except FileNotFoundError:
                pass


def _untrack(shm):
    """Takes back the registration CPython made in SharedMemory.__init__ (before 3.13)."""
    resource_tracker.unregister(shm._name, "shared_memory")


def attach(name_or_descriptor):
    """Attaches to a segment, never registering it with Python's resource tracker.

    By its name, or by TypeScript's descriptor of it (``shm.descriptor``, a dict ``{"kind": "shm",
    "name": ...}``, or its JSON). The segment outlives this process whatever it does; ``with attach(name)
    as shm:`` closes at the end.
    """
    return SharedMemory(read_segment_descriptor(name_or_descriptor, "shm")["name"])


def create(size, name=None, *, track=True):
    """Creates a segment of `size` bytes (a fresh ``psm_`` name unless `name` is given).

    ``with create(size) as shm:`` unlinks it at the end of the block. `track` (default True): Python's
    resource tracker unlinks it if this process ends first; False when another process will unlink it.
    """
    return SharedMemory(name, create=True, size=size, track=track)
