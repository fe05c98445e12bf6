"""The seed example's child in python3 + numpy: attaches to the array whose descriptor (JSON) is its
last argument, and doubles every element in place. Any parent (parent.ts, parent.py) can run it.

    python3 examples/seed/child.py '{"name": "psm_1a2b3c4d", "dtype": "int64", "shape": [5], "offset": 0}'
"""
import json
import sys
from multiprocessing import resource_tracker, shared_memory

import numpy as np


def attach(name):
    """Attaches without letting Python's resource tracker unlink the parent's segment when we exit."""
    try:
        return shared_memory.SharedMemory(name=name, track=False)  # Python 3.13+
    except TypeError:  # before 3.13 attaching registers the segment too (python/cpython issue 82300)
        shm = shared_memory.SharedMemory(name=name)
        resource_tracker.unregister(shm._name, "shared_memory")
        return shm


d = json.loads(sys.argv[-1])
shm = attach(d["name"])
numbers = np.ndarray(d["shape"], dtype=np.dtype(d["dtype"]), buffer=shm.buf, offset=d["offset"])
numbers *= 2
del numbers  # no view of shm.buf may outlive close()
shm.close()
