"""Reading a descriptor, the hand-over form of every shared object, as src/descriptor.ts reads one: the
dict itself, its JSON text (a string starting with ``{``), or a bare segment name (offset 0)::

    {"kind": "list", "name": "psm_1a2b3c4d", "offset": 0}    '{"kind":"list",...}'    "psm_1a2b3c4d"
      a dict (json.loads of TypeScript's .descriptor)        its JSON (argv, a pipe)   a name alone

Every attach of shm_interop reads its argument here, once; each kind checks its own fields after. The
errors are Python's: TypeError for a value of the wrong type (not a dict, a name that is not a string, an
offset that is not an int), ValueError for a wrong value (bad JSON, another kind, a negative offset).
"""
import json

def read_descriptor(value, kind, kind_optional=False):
    """The descriptor's fields as a new dict, ``kind`` checked, ``offset`` defaulted to 0.

    ``kind_optional`` also takes a dict without ``kind`` (array descriptors had none at first).
    """
    if isinstance(value, str):
        if not value.lstrip().startswith("{"):
            if not value:
                raise ValueError(f"{_a(kind)} {kind} descriptor or segment name cannot be empty")
            return {"kind": kind, "name": value, "offset": 0}
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as error:  # RecursionError: nested deeper than json can read
            raise ValueError(f"{_a(kind)} {kind} descriptor is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise TypeError(f"{_a(kind)} {kind} descriptor must be a dict {{'kind', 'name', 'offset'}}, its JSON or "
                        f"a segment name, got {type(value).__name__}")
    got = value.get("kind")
    if got != kind and not (kind_optional and got is None):
        if got is not None and not isinstance(got, str):
            raise TypeError(f"descriptor['kind'] must be the string {kind!r}, got {got!r}")
        raise ValueError(f"the descriptor is of {_a(got)} {got!r}, not of {_a(kind)} {kind!r}")
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"descriptor['name'] must be a segment name, got {name!r}")
    offset = value.get("offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError(f"descriptor['offset'] must be an int, got {offset!r}")
    if offset < 0:
        raise ValueError(f"descriptor['offset'] must be a whole number >= 0, got {offset}")
    return {**value, "kind": kind, "name": name, "offset": offset}


def read_segment_descriptor(value, kind):
    """As read_descriptor, for an object that starts its segment (a list; a segment itself): offset 0."""
    d = read_descriptor(value, kind)
    if d["offset"] != 0:
        raise ValueError(f"{_a(kind)} {kind} starts its segment: descriptor['offset'] must be 0, got {d['offset']}")
    return d


def _a(word):
    return "an" if isinstance(word, str) and word[:1] in "aeiou" else "a"
