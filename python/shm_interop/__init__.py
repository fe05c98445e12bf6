"""shm_interop: Python's side of @shm/shared-memory, standard library only (numpy for .array).

    attach(name | descriptor)        a SharedMemory never registered with Python's resource tracker
    create(size, name=None)          a new segment, unlinked at the end of its `with` block
    attach_array(name | descriptor)  a numpy array over a segment, by its .npy header or a descriptor
    create_array(shape, dtype)       a new array behind an .npy header, as TypeScript's SharedArray makes
    layout(specs)                    offsets of several arrays in one segment, as SharedArray.layout
    attach_list(name | descriptor)   a ShareableList, untracked

Every attach takes TypeScript's descriptor of its kind: the dict, its JSON text, or the segment name.
shm_interop.sync (waits, blocking or asyncio) and shm_interop.channel are modules of their own.

Every object is a context manager: the end of its `with` block closes it, and the one that created its
segment also unlinks it. A process that attaches never unlinks (see shared_memory.py).

Each module names its public objects in __all__, and one line below re-exports it.
"""
from types import ModuleType as _ModuleType

from .shared_memory import *  # noqa: F401,F403
from .npy import *  # noqa: F401,F403
from .shared_array import *  # noqa: F401,F403
from .shareable_list import *  # noqa: F401,F403

__version__ = "0.1.0"
# everything the modules above export, and nothing else (not the submodules themselves)
__all__ = sorted(
    name for name, value in list(globals().items()) if not name.startswith("_") and not isinstance(value, _ModuleType)
)
