"""numpy's .npy header, stdlib only: the twin of src/npy.ts, with the same rules and the same words.

An array in a segment of its own starts with this header; the data follows it, 64-byte aligned::

    offset 0        6     7     8           10 (12 in versions 2.0 and 3.0)
    +---------------+-----+-----+-----------+---------------------------------------------+------
    | \\x93 N U M P Y| maj | min | HEADER_LEN| {'descr': '<i4', 'fortran_order': False,     | data
    | (6 bytes)     | 1   | 0   | uint16 LE | 'shape': (2, 3), }   <spaces>             \\n| ...
    +---------------+-----+-----+-----------+---------------------------------------------+------
                                             <---------------- HEADER_LEN bytes ----------->
                                                                      data offset: 10 + HEADER_LEN, a multiple of 64

``encode_header`` writes exactly what numpy 2 writes for the same array; ``read_header`` refuses
anything but a header of that grammar (MalformedArrayError, naming what is wrong).
"""
import re
import struct

__all__ = ["DTYPES", "MalformedArrayError", "dtype_row", "encode_header", "read_header"]

# name, numpy type string, bytes per element: the rows of src/dtypes.ts, in its order
DTYPES = (
    ("bool", "|b1", 1),
    ("int8", "|i1", 1),
    ("uint8", "|u1", 1),
    ("int16", "<i2", 2),
    ("uint16", "<u2", 2),
    ("int32", "<i4", 4),
    ("uint32", "<u4", 4),
    ("int64", "<i8", 8),
    ("uint64", "<u8", 8),
    ("float16", "<f2", 2),
    ("float32", "<f4", 4),
    ("float64", "<f8", 8),
)
_BY_DESCR = {row[1]: row for row in DTYPES}
_BY_NAME = {row[0]: row for row in DTYPES}

MAGIC = b"\x93NUMPY"
ALIGN = 64  # numpy's ARRAY_ALIGN
GROWTH_DIGITS = 21  # numpy's GROWTH_AXIS_MAX_DIGITS
MAX_HEADER = 1 << 20  # the longest header read or written
MAX_BYTES = 2**53 - 1  # as TypeScript's Number.MAX_SAFE_INTEGER
# version: (bytes before the header, struct format of the length, encoding)
_VERSIONS = {(1, 0): (10, "<H", "latin1"), (2, 0): (12, "<I", "latin1"), (3, 0): (12, "<I", "utf8")}
_KNOWN_VERSIONS = "1.0, 2.0, 3.0"
_DIGITS = re.compile(r"[0-9]+")


class MalformedArrayError(ValueError):
    """The segment does not start with a well-formed .npy header for the array it holds."""

    def __init__(self, segment, reason):
        super().__init__(f"shared memory segment '{segment}' does not hold a well-formed .npy array: {reason}")
        self.segment = segment
        self.reason = reason


def dtype_row(dtype):
    """(name, typestr, itemsize) of a dtype given by name ('int32'), type string ('<i4') or as a numpy dtype."""
    if isinstance(dtype, str):
        row = _BY_NAME.get(dtype) or _BY_DESCR.get(dtype)
    else:
        # a numpy dtype or scalar type, without importing numpy here: np.dtype(x).name is the name
        try:
            import numpy as np
        except ImportError:
            raise TypeError(f"dtype must be a string such as 'float64', got {dtype!r}") from None
        try:
            row = _BY_NAME.get(np.dtype(dtype).name) if np.dtype(dtype).isnative else None
        except TypeError:
            raise TypeError(f"dtype must be a string or a numpy dtype, got {dtype!r}") from None
    if row is None:
        known = ", ".join(name for name, _, _ in DTYPES)
        raise ValueError(f"unknown dtype {dtype!r}; known: {known}")
    return row


def _tuple(shape):
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(n) for n in shape) + ")"


def encode_header(typestr, shape):
    """The header of an array of `typestr` and `shape`: version 1.0 unless the header needs 2.0."""
    text = f"{{'descr': '{typestr}', 'fortran_order': False, 'shape': {_tuple(shape)}, }}"
    if shape:
        text += " " * max(GROWTH_DIGITS - len(str(shape[0])), 0)
    with_newline = len(text) + 1
    prefix = 10
    padding = ALIGN - (prefix + with_newline) % ALIGN
    major = 2 if with_newline + padding > 0xFFFF else 1
    if major == 2:
        prefix = 12
        padding = ALIGN - (prefix + with_newline) % ALIGN
    length = with_newline + padding
    if length > MAX_HEADER:
        raise ValueError(f"a shape of {len(shape)} axes needs an .npy header over the {MAX_HEADER}-byte limit")
    size_field = struct.pack("<H" if major == 1 else "<I", length)
    return MAGIC + bytes([major, 0]) + size_field + text.encode("ascii") + b" " * padding + b"\n"


def read_header(buf, size, segment):
    """Reads the header at the start of `buf` (the segment's bytes, `size` of them).

    Returns ((name, typestr, itemsize), shape tuple, data offset); raises MalformedArrayError.
    """
    def fail(reason):
        raise MalformedArrayError(segment, reason)

    if size < 10:
        fail(f"the segment is {size} bytes, too small for an .npy header (at least 10)")
    start = bytes(buf[: min(size, 12)])
    if start[:6] != MAGIC:
        found = "".join(f"\\x{b:02x}" for b in start[:6])
        fail(f"it does not start with the .npy magic string \\x93NUMPY (found {found})")
    version = (start[6], start[7])
    if version not in _VERSIONS:
        fail(f"unsupported .npy format version {start[6]}.{start[7]} (known: {_KNOWN_VERSIONS})")
    prefix, length_format, encoding = _VERSIONS[version]
    if size < prefix:
        fail(f"the segment is {size} bytes, too small for an .npy {start[6]}.{start[7]} header (at least {prefix})")
    (length,) = struct.unpack_from(length_format, start, 8)
    offset = prefix + length
    if length > MAX_HEADER:
        fail(f"the header length {length} is over the {MAX_HEADER}-byte limit")
    if offset > size:
        fail(f"the header length {length} runs past the end of the {size}-byte segment")
    try:
        text = bytes(buf[prefix:offset]).decode(encoding)
    except UnicodeDecodeError:
        fail("the header is not valid UTF-8")
    descr, shape = _Parser(text, fail).dict()
    row = _BY_DESCR.get(descr)
    if row is None:
        if descr.startswith(">") and "<" + descr[1:] in _BY_DESCR:
            fail(f"descr '{descr}' is big-endian; only little-endian ('<') arrays are supported")
        fail(f"descr '{descr}' is not a supported dtype (known: {', '.join(_BY_DESCR)})")
    name, _, itemsize = row
    nbytes = itemsize
    for n in shape:
        nbytes *= n
        if n > MAX_BYTES or nbytes > MAX_BYTES:
            fail(f"shape ({', '.join(str(n) for n in shape)}) needs more than {MAX_BYTES} bytes")
    if offset % itemsize != 0:
        fail(f"the data starts at byte {offset}, not a multiple of {itemsize} (the size of a {name} element)")
    if offset + nbytes > size:
        fail(
            f"the header describes {nbytes} bytes of {name} data at byte {offset}, "
            f"past the end of the {size}-byte segment"
        )
    return row, tuple(shape), offset


class _Parser:
    """The Python literal dict, by its grammar: { 'key': value, ... } then spaces and a newline, nothing else."""

    def __init__(self, text, fail):
        self.text = text
        self.at = 0
        self.fail = fail

    def spaces(self):
        while self.text.startswith(" ", self.at):
            self.at += 1

    def near(self):
        if self.at >= len(self.text) - 1:
            return "the end of the header"
        return "'" + self.text[self.at : self.at + 12] + "'"

    def expect(self, token, what):
        self.spaces()
        if not self.text.startswith(token, self.at):
            self.fail(f"expected {what} at byte {self.at} of the header, found {self.near()}")
        self.at += len(token)

    def string(self, what):
        self.spaces()
        text, at = self.text, self.at
        quote = text[at : at + 1]
        if quote not in ("'", '"'):
            self.fail(f"expected {what} (a quoted string) at byte {at}, found {self.near()}")
        end = text.find(quote, at + 1)
        body = "" if end < 0 else text[at + 1 : end]
        if end < 0 or "\n" in body:
            self.fail(f"a string at byte {at} of the header is not closed")
        if "\\" in body:
            self.fail(f"escape sequences in strings are not supported (at byte {at})")
        self.at = end + 1
        return body

    def whole(self, what):
        self.spaces()
        match = _DIGITS.match(self.text, self.at)
        if match is None or (len(match.group()) > 1 and match.group()[0] == "0"):
            self.fail(f"{what} must be a whole number, found {self.near()}")
        self.at = match.end()
        if int(match.group()) > MAX_BYTES:
            self.fail(f"{what} is {match.group()}, more than {MAX_BYTES}")
        return int(match.group())

    def tuple(self):
        self.expect("(", "shape as a tuple such as (2, 3)")
        lengths = []
        comma = False
        while True:
            self.spaces()
            if self.text.startswith(")", self.at):
                break
            if lengths and not comma:
                self.fail(f"expected ',' or ')' in shape at byte {self.at}, found {self.near()}")
            lengths.append(self.whole(f"shape[{len(lengths)}]"))
            self.spaces()
            comma = self.text.startswith(",", self.at)
            if comma:
                self.at += 1
        self.at += 1
        if len(lengths) == 1 and not comma:
            n = lengths[0]
            self.fail(f"shape ({n}) is not a tuple: a 1-d shape is written ({n},)")
        return lengths

    def descr(self):
        self.spaces()
        if self.text.startswith("[", self.at):
            self.fail("descr is a list of fields (a structured dtype), which is not supported")
        return self.string("descr")

    def fortran_order(self):
        self.spaces()
        for word, value in (("False", False), ("True", True)):
            if self.text.startswith(word, self.at):
                self.at += len(word)
                if value:
                    self.fail("fortran_order is True: arrays in Fortran order are not supported")
                return value
        self.fail(f"fortran_order must be False, found {self.near()}")

    def dict(self):
        if not self.text.endswith("\n"):
            self.fail("the header does not end with a newline")
        readers = {"descr": self.descr, "fortran_order": self.fortran_order, "shape": self.tuple}
        values = {}
        self.expect("{", "'{'")
        comma = True
        while True:
            self.spaces()
            if self.text.startswith("}", self.at):
                break
            if not comma:
                self.fail(f"expected ',' or '}}' at byte {self.at} of the header, found {self.near()}")
            key = self.string("a key")
            if key not in readers:
                self.fail(f"unknown key '{key}' (known: descr, fortran_order, shape)")
            if key in values:
                self.fail(f"key '{key}' appears twice")
            self.expect(":", f"':' after '{key}'")
            values[key] = readers[key]()
            self.spaces()
            comma = self.text.startswith(",", self.at)
            if comma:
                self.at += 1
        self.at += 1
        self.spaces()
        if self.at != len(self.text) - 1:
            self.fail(f"unexpected {self.near()} after the dict (only spaces may follow it)")
        for key in readers:
            if key not in values:
                self.fail(f"the header has no '{key}'")
        return values["descr"], values["shape"]
