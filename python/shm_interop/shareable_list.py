"""CPython's ShareableList, attached without registering its segment with Python's resource tracker.

A list made by TypeScript (``new ShareableList([...])``) or by another Python process is read and
changed in place; this process's exit never removes it. Items are read as CPython reads them (the
TypeScript side checks the segment's layout on attach; CPython does not).
"""
import struct
from multiprocessing import shared_memory as _mp

from ._descriptor import read_segment_descriptor
from .shared_memory import SharedMemory, attach

__all__ = ["ShareableList", "attach_list"]


class ShareableList(_mp.ShareableList):
    """CPython's ShareableList; attached by name it is untracked, and ``with`` closes it at the end.

    A list this process creates (``ShareableList([1, 2])``) is tracked as CPython tracks it, and its
    ``with`` block also unlinks it.
    """

    def __init__(self, sequence=None, *, name=None):
        if sequence is not None or name is None:
            super().__init__(sequence, name=name)
            # CPython's own handle, registered as a creator's: make it ours, so `with` unlinks it
            self.shm.__class__ = SharedMemory
            self.shm._tracked = True
            self.shm._created = True
            return
        # what CPython's __init__ does to attach (the same in 3.9 to 3.13), over an untracked handle
        self.shm = attach(name)
        self._list_len = len(self)
        self._allocated_offsets = list(struct.unpack_from(self._format_size_metainfo, self.shm.buf, 1 * 8))

    @property
    def descriptor(self):
        """What TypeScript's ShareableList.attach (and attach_list) take: ``{"kind": "list", "name", "offset": 0}``."""
        return {"kind": "list", "name": self.shm.name, "offset": 0}

    def close(self):
        """Closes the list's segment in this process (as ``shm.close()``)."""
        self.shm.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shm.__exit__(*exc)


def attach_list(name_or_descriptor):
    """The ShareableList in a segment, untracked: ``with attach_list(...) as items:`` closes it.

    By the segment's name, or by TypeScript's descriptor of the list (``list.descriptor``, a dict
    ``{"kind": "list", "name": ..., "offset": 0}``, or its JSON: ``JSON.stringify(list)``).
    """
    return ShareableList(name=read_segment_descriptor(name_or_descriptor, "list")["name"])
