"""The seed example with python3 + numpy as the parent and any child.

The parent puts the int64 array [1, 2, 3, 4, 5] in a new shared memory segment, runs the child command
given as arguments with the array's descriptor (JSON) appended, and prints the array the child doubled
in place: [2, 4, 6, 8, 10].

    python3 examples/seed/parent.py deno run --allow-ffi examples/seed/child.ts
    python3 examples/seed/parent.py bun run examples/seed/child.ts
"""
import json
import subprocess
import sys
from multiprocessing import shared_memory

import numpy as np

if len(sys.argv) < 2:
    sys.exit("usage: parent.py CHILD-COMMAND [ARGS...]   (the child gets the array's descriptor as its last argument)")

shm = shared_memory.SharedMemory(create=True, size=5 * 8)
try:
    numbers = np.ndarray((5,), dtype=np.int64, buffer=shm.buf)
    numbers[:] = [1, 2, 3, 4, 5]
    # the descriptor that SharedArray.attach takes: {name, dtype, shape, offset}
    descriptor = {"name": shm.name, "dtype": str(numbers.dtype), "shape": list(numbers.shape), "offset": 0}
    subprocess.run([*sys.argv[1:], json.dumps(descriptor)], check=True)
    print(numbers.tolist())
    del numbers  # no view of shm.buf may outlive close()
finally:
    shm.close()
    shm.unlink()
