"""numpy arrays in shared memory, as TypeScript's SharedArray lays them out.

- An array in a segment of its own starts with numpy's .npy header, so the name alone describes it:
  ``attach_array("psm_1a2b3c4d")`` reads the header (and so does ``np.load("/dev/shm/psm_1a2b3c4d",
  mmap_mode="r+")`` on Linux). ``create_array`` writes that header.
- Arrays at an offset in a shared segment have no header: they travel as descriptors,
  ``{"kind": "array", "name": ..., "dtype": ..., "shape": [...], "offset": ...}`` (``kind`` optional),
  and ``layout`` computes their offsets exactly as ``SharedArray.layout`` does.

The standard library does everything but ``.array``, which needs numpy.
"""
import operator

from ._descriptor import read_descriptor
from .npy import MAX_BYTES, dtype_row, encode_header, read_header
from .shared_memory import attach, create

__all__ = ["SharedArray", "attach_array", "create_array", "layout"]


class SharedArray:
    """One array in a segment: ``.array`` is the numpy array over it (no copy); ``with`` closes it.

    The array that created its segment (``create_array``) also unlinks the segment when its ``with``
    block ends; an attached one only closes its mapping.
    """

    def __init__(self, shm, row, shape, offset):
        self._shm = shm
        self._row = row
        self._shape = tuple(shape)
        self._offset = offset
        self._array = None
        self._closed = False

    @property
    def array(self):
        """The numpy array over the segment (made at first use; needs numpy)."""
        if self._closed:
            raise ValueError(f"the SharedArray over '{self.name}' is closed")
        if self._array is None:
            try:
                import numpy as np
            except ImportError:
                raise ImportError("SharedArray.array needs numpy (pip install numpy)") from None
            dtype = np.dtype(self._row[1])
            self._array = np.ndarray(self._shape, dtype=dtype, buffer=self._shm.buf, offset=self._offset)
        return self._array

    @array.setter
    def array(self, value):
        # `shared.array *= 2` works in place and assigns the same array back; anything else would be lost
        if value is not self.array:
            raise AttributeError("write into the shared array with shared.array[...] = values")

    @property
    def shm(self):
        """The segment (a shm_interop SharedMemory)."""
        return self._shm

    @property
    def name(self):
        """The segment's name."""
        return self._shm.name

    @property
    def dtype(self):
        """The dtype's name, such as 'int32'."""
        return self._row[0]

    @property
    def shape(self):
        """The shape, a tuple."""
        return self._shape

    @property
    def offset(self):
        """Where the first element is, in bytes from the start of the segment."""
        return self._offset

    @property
    def nbytes(self):
        """The bytes the elements take."""
        return _count(self._shape) * self._row[2]

    @property
    def closed(self):
        """Whether close() has run."""
        return self._closed

    @property
    def descriptor(self):
        """What SharedArray.attach (TypeScript) and attach_array take: a JSON-ready dict."""
        return {"kind": "array", "name": self.name, "dtype": self.dtype, "shape": list(self._shape),
                "offset": self._offset}

    def close(self):
        """Closes the mapping (a numpy view still alive keeps it until it is gone). Safe to call twice."""
        self._array = None
        self._closed = True
        self._shm.close()

    def unlink(self):
        """Removes the segment's name."""
        self._shm.unlink()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._array = None
        self._closed = True
        self._shm.__exit__(*exc)  # closes; the creator's also unlinks

    def __repr__(self):
        closed = ", closed" if self._closed else ""
        return f"SharedArray('{self.name}', dtype='{self.dtype}', shape={self._shape}, offset={self._offset}{closed})"


def create_array(shape, dtype, name=None, *, track=True):
    """A new zero-filled array in a segment of its own, behind numpy's .npy header.

    `dtype` by name ('int32'), type string ('<i4') or numpy dtype; `name` default a fresh ``psm_`` name.
    ``with create_array(...) as shared:`` unlinks the segment at the end of the block; `track` as
    ``create``: False when another process (TypeScript, say) will unlink it.
    """
    row = dtype_row(dtype)
    checked = _check_shape(shape, "shape", row[2])
    header = encode_header(row[1], checked)
    shm = create(len(header) + _count(checked) * row[2], name, track=track)
    shm.buf[: len(header)] = header
    return SharedArray(shm, row, checked, len(header))


def attach_array(name_or_descriptor):
    """The array in a segment, by its name (read from the .npy header) or by a descriptor.

    A descriptor is a dict or its JSON (a string starting with '{'): ``{"name", "dtype", "shape",
    "offset"}``, ``kind`` optional. Never registers the segment with Python's resource tracker.
    Raises MalformedArrayError (a ValueError) for a segment whose header is malformed or does not fit it.
    """
    if isinstance(name_or_descriptor, str) and not name_or_descriptor.lstrip().startswith("{"):
        shm = attach(name_or_descriptor)
        try:
            row, shape, offset = read_header(shm.buf, shm.size, shm.name)
        except BaseException:
            shm.close()
            raise
        return SharedArray(shm, row, shape, offset)
    row, shape, offset, name = _check_descriptor(read_descriptor(name_or_descriptor, "array", kind_optional=True))
    shm = attach(name)
    try:
        _check_offset(offset, _count(shape) * row[2], row, shm.size, "descriptor['offset']")
    except BaseException:
        shm.close()
        raise
    return SharedArray(shm, row, shape, offset)


def layout(specs):
    """Offsets for several arrays in one segment, each aligned to its element size, and the size that
    holds them all: ``{"offsets": [...], "size": n}``, exactly what TypeScript's SharedArray.layout gives.

    `specs`: a list of ``{"shape": ..., "dtype": ...}`` dicts or ``(shape, dtype)`` pairs.
    """
    if isinstance(specs, (str, bytes, dict)) or not hasattr(specs, "__iter__"):
        raise TypeError(f"specs must be a list of {{'shape', 'dtype'}}, got {specs!r}")
    offsets = []
    end = 0
    for i, spec in enumerate(specs):
        if isinstance(spec, dict):
            if "shape" not in spec or "dtype" not in spec:
                raise TypeError(f"specs[{i}] must have a shape and a dtype, got {spec!r}")
            shape, dtype = spec["shape"], spec["dtype"]
        elif isinstance(spec, (tuple, list)) and len(spec) == 2:
            shape, dtype = spec
        else:
            raise TypeError(f"specs[{i}] must be a dict {{'shape', 'dtype'}} or a (shape, dtype) pair, got {spec!r}")
        row = dtype_row(dtype)
        nbytes = _count(_check_shape(shape, f"specs[{i}]['shape']", row[2])) * row[2]
        offset = -(-end // row[2]) * row[2]
        offsets.append(offset)
        end = offset + nbytes
        if end > MAX_BYTES:
            raise ValueError(f"the arrays need more than {MAX_BYTES} bytes")
    return {"offsets": offsets, "size": max(end, 1)}


def _count(shape):
    count = 1
    for n in shape:
        count *= n
    return count


def _whole(value, argument):
    if isinstance(value, bool):
        raise TypeError(f"{argument} must be an integer, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{argument} must be an integer, got {value!r}") from None
    if value < 0:
        raise ValueError(f"{argument} must be a whole number >= 0, got {value}")
    return value


def _check_shape(shape, argument, itemsize):
    """A shape (an integer for 1-d, or a sequence of lengths) as a tuple; at most MAX_BYTES bytes in all."""
    if isinstance(shape, (str, bytes)) or not (hasattr(shape, "__iter__") or hasattr(shape, "__index__")):
        raise TypeError(f"{argument} must be a sequence of lengths such as (2, 3), got {shape!r}")
    lengths = [shape] if hasattr(shape, "__index__") else list(shape)
    checked = tuple(_whole(n, f"{argument}[{axis}]") for axis, n in enumerate(lengths))
    if _count(checked) * itemsize > MAX_BYTES or any(n > MAX_BYTES for n in checked):
        raise ValueError(f"{argument} {checked} needs more than {MAX_BYTES} bytes")
    return checked


def _check_descriptor(descriptor):
    """The array's own fields of a descriptor read_descriptor has read (kind, name and offset checked)."""
    if "dtype" not in descriptor or "shape" not in descriptor:
        raise TypeError(f"descriptor must have a dtype and a shape, got {descriptor!r}")
    row = dtype_row(descriptor["dtype"])
    shape = _check_shape(descriptor["shape"], "descriptor['shape']", row[2])
    return row, shape, descriptor["offset"], descriptor["name"]


def _check_offset(offset, nbytes, row, size, argument):
    name, _, itemsize = row
    if offset % itemsize != 0:
        raise ValueError(f"{argument} {offset} is not a multiple of {itemsize}, the size of a {name} element")
    if offset + nbytes > size:
        raise ValueError(
            f"{argument} {offset} + {nbytes} bytes of {name} data runs past the end of the {size}-byte segment"
        )
