"""Processes that wait for each other, from Python: futex wait/notify and the objects of the TypeScript
side (Mutex, Semaphore, Event, Condition, Barrier), attached from their descriptors.

Standard library only. Python has no atomic instructions, so nothing here does a read-modify-write on a
shared word by itself: every change of state happens under the object's process-shared, robust
``pthread_mutex_t`` (libc through ctypes, exactly as TypeScript reaches it through FFI), and sleeping is
the kernel's futex on a word of the segment. Linux only (x86-64, arm64).
"""
import ctypes
import ctypes.util
import errno as _errno
import os
import platform as _platform
import time

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

SYS_FUTEX = {"x86_64": 202, "aarch64": 98}[_platform.machine()]
FUTEX_WAIT = 0
FUTEX_WAKE = 1
ALL = 0x7FFFFFFF


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _address(buffer, offset=0):
    """The address of ``buffer[offset]`` (a writable buffer, such as a segment's ``buf``).

    The ctypes object that reads it is dropped at once, so the segment can still be closed.
    """
    obj = ctypes.c_char.from_buffer(buffer, offset)
    address = ctypes.addressof(obj)
    del obj
    return address


def _timespec(seconds):
    ts = _Timespec()
    ts.tv_sec = int(seconds)
    ts.tv_nsec = int((seconds - int(seconds)) * 1e9)
    return ts


def _futex_wait_at(address, expected, timeout=None):
    """Sleeps while the int32 at ``address`` is ``expected``: "ok", "not-equal" or "timed-out"."""
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    expected = ctypes.c_int32(expected).value & 0xFFFFFFFF
    while True:
        ts = None
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timed-out"
            ts = ctypes.byref(_timespec(left))
        result = _libc.syscall(ctypes.c_long(SYS_FUTEX), ctypes.c_void_p(address), ctypes.c_int(FUTEX_WAIT),
                               ctypes.c_uint32(expected), ts, None, ctypes.c_int(0))
        if result == 0:
            return "ok"
        err = ctypes.get_errno()
        if err == _errno.EAGAIN:
            return "not-equal"
        if err == _errno.ETIMEDOUT:
            return "timed-out"
        if err != _errno.EINTR:
            raise OSError(err, os.strerror(err))


def _futex_wake_at(address, count=None):
    n = ALL if count is None else max(0, min(ALL, int(count)))
    result = _libc.syscall(ctypes.c_long(SYS_FUTEX), ctypes.c_void_p(address), ctypes.c_int(FUTEX_WAKE),
                           ctypes.c_uint32(n), None, None, ctypes.c_int(0))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def _check_index(buffer, index):
    if not isinstance(index, int) or isinstance(index, bool):
        raise TypeError(f"index must be an int, got {type(index).__name__}")
    words = len(memoryview(buffer).cast("B")) // 4
    if not 0 <= index < words:
        raise IndexError(f"index {index} is out of range for a buffer of {words} 32-bit words")
    return index * 4


def futex_wait(buffer, index, expected, timeout=None):
    """Sleeps while the 32-bit word ``index`` of ``buffer`` holds ``expected`` (a segment's ``buf``; the index
    counts 32-bit words, as in TypeScript), at most ``timeout`` seconds: "ok", "not-equal" or "timed-out"."""
    return _futex_wait_at(_address(buffer, _check_index(buffer, index)), expected, timeout)


def futex_notify(buffer, index, count=None):
    """Wakes up to ``count`` sleepers (all when None) on word ``index`` of ``buffer``, in any process: how many woke."""
    return _futex_wake_at(_address(buffer, _check_index(buffer, index)), count)


def load(buffer, index):
    """The int32 at word ``index`` (an aligned 4-byte read: one instruction on x86-64 and arm64)."""
    return ctypes.c_int32.from_buffer(buffer, _check_index(buffer, index)).value


def store(buffer, index, value):
    """Writes the int32 at word ``index`` (aligned: one instruction; ordered by the futex call that follows)."""
    ctypes.c_int32.from_buffer(buffer, _check_index(buffer, index)).value = value


# ---------------------------------------------------------------------------------------------------------
# The objects. Their bytes are described once, in src/sync/layout.ts (drawn there); these are the same
# offsets, and tests/sync_python.test.ts checks that the two tables agree.

import json as _json
from .shared_memory import attach as _attach_untracked
from multiprocessing import shared_memory as _shared_memory

SYNC_VERSION = 1
SYNC_ALIGNMENT = 8
HEADER = {"bytes": 16, "magic": 0x4F4D4853, "ready": 1}
KINDS = {"mutex": 1, "semaphore": 2, "event": 3, "condition": 4, "barrier": 5, "channel": 6}
LOCK = {"offset": 16, "bytes": 64}
LAYOUTS = {
    "mutex": {"size": 80, "lock": 16},
    "semaphore": {"size": 96, "lock": 16, "value": 80, "seq": 84, "waiters": 88, "max": 92},
    "event": {"size": 96, "lock": 16, "flag": 80, "seq": 84, "waiters": 88},
    "condition": {"size": 32, "seq": 16, "waiters": 20, "signals": 24},
    "barrier": {"size": 224, "lock": 16, "parties": 80, "count": 84, "seq": 88, "broken": 92, "slots": 96,
                "slotCount": 16},
}

# glibc, Linux (<pthread.h>, <asm-generic/errno.h>)
PTHREAD_MUTEX_ERRORCHECK = 2
PTHREAD_PROCESS_SHARED = 1
PTHREAD_MUTEX_ROBUST = 1
CLOCK_MONOTONIC = 1
EOWNERDEAD = 130
ENOTRECOVERABLE = 131
for _name in ("pthread_mutex_lock", "pthread_mutex_trylock", "pthread_mutex_unlock", "pthread_mutex_consistent"):
    getattr(_libc, _name).argtypes = [ctypes.c_void_p]
    getattr(_libc, _name).restype = ctypes.c_int
_libc.pthread_mutex_clocklock.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Timespec)]
_libc.pthread_mutex_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p]


class MalformedObjectError(Exception):
    """A segment (or descriptor) that is not the object it claims to be."""


class LockStateError(RuntimeError):
    """Unlocking a lock this thread does not hold, or locking one it holds already."""


class BrokenBarrierError(RuntimeError):
    """The barrier is broken: a party died, timed out, or abort() ran."""


def _attach_segment(name):
    """Attaches untracked (shm_interop.attach): this process never unlinks what it did not create."""
    return _attach_untracked(name)


def _create_segment(size):
    """A new segment, tracked as Python tracks any it creates: ``obj.shm.unlink()`` when done."""
    return _shared_memory.SharedMemory(create=True, size=size)


def _parse_descriptor(descriptor, kind):
    if isinstance(descriptor, str):
        descriptor = _json.loads(descriptor) if descriptor.lstrip().startswith("{") else {
            "kind": kind, "name": descriptor, "offset": 0}
    if not isinstance(descriptor, dict):
        raise TypeError(f"a {kind} descriptor must be a dict, a JSON string or a name")
    if descriptor.get("kind") != kind:
        raise TypeError(f"the descriptor is of a {descriptor.get('kind')!r}, not of a {kind!r}")
    offset = descriptor.get("offset", 0)
    if not isinstance(descriptor.get("name"), str) or not isinstance(offset, int) or offset < 0:
        raise TypeError(f"a {kind} descriptor needs a name and an offset >= 0")
    return descriptor


def _deadline(timeout):
    return None if timeout is None or timeout < 0 else time.monotonic() + timeout


def _left(deadline):
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class _Object:
    """Placement, header check, fields and closing, as src/shared_object.ts."""

    kind = ""

    def __init__(self, descriptor=None, *, _shm=None, _offset=0, _create=None):
        layout = LAYOUTS[self.kind]
        if _shm is None:
            d = _parse_descriptor(descriptor, self.kind)
            self._shm = _attach_segment(d["name"])
            self._owned = True
            self._offset = d["offset"]
            self._descriptor = d
        else:
            self._shm, self._owned, self._offset = _shm, False, _offset
            self._descriptor = {"kind": self.kind, "name": _shm.name, "offset": _offset}
        if self._offset % SYNC_ALIGNMENT or self._offset + layout["size"] > self._shm.size:
            self.close()
            raise MalformedObjectError(
                f"segment {self._shm.name!r} ({self._shm.size} bytes) cannot hold a {self.kind} at {self._offset}")
        self._base = _address(self._shm.buf, self._offset)
        self._layout = layout
        self._valid = False  # until the header is checked: close() must not touch a foreign object's lock
        if _create is not None:
            ctypes.memset(self._base, 0, layout["size"])
            self._header(ready=False)
            _create()
            self._set32(8, HEADER["ready"])
        else:
            self._check_header()
        self._valid = True

    # fields (aligned int32: one load or store)
    def _get32(self, offset):
        return ctypes.c_int32.from_address(self._base + offset).value

    def _set32(self, offset, value):
        ctypes.c_int32.from_address(self._base + offset).value = value

    def _field(self, name):
        return self._get32(self._layout[name])

    def _set(self, name, value):
        self._set32(self._layout[name], value)

    def _header(self, ready):
        ctypes.c_uint32.from_address(self._base).value = HEADER["magic"]
        ctypes.c_uint16.from_address(self._base + 4).value = SYNC_VERSION
        ctypes.c_uint16.from_address(self._base + 6).value = KINDS[self.kind]
        self._set32(8, HEADER["ready"] if ready else 0)

    def _check_header(self):
        where = f"segment {self._shm.name!r} at offset {self._offset}"
        magic = ctypes.c_uint32.from_address(self._base).value
        kind = ctypes.c_uint16.from_address(self._base + 6).value
        version = ctypes.c_uint16.from_address(self._base + 4).value
        problem = None
        if magic != HEADER["magic"]:
            problem = f"{where} holds no shared object: not a {self.kind}"
        elif kind != KINDS[self.kind]:
            problem = f"{where} holds kind {kind}, not a {self.kind}"
        elif version != SYNC_VERSION:
            problem = f"{where} holds layout version {version}, not {SYNC_VERSION}"
        elif self._get32(8) != HEADER["ready"]:
            problem = f"{where} holds a {self.kind} still being made"
        if problem:
            self.close()
            raise MalformedObjectError(problem)

    @property
    def descriptor(self):
        return dict(self._descriptor)

    def close(self):
        if self._shm is not None and self._owned:
            self._shm.close()
        self._shm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # the internal lock of Semaphore, Event, Barrier (and the lock that is a Mutex)
    def _lock_address(self):
        return self._base + LOCK["offset"]

    def _init_lock(self):
        attr = ctypes.create_string_buffer(16)
        for call, arg in ((_libc.pthread_mutexattr_init, None),
                          (_libc.pthread_mutexattr_settype, PTHREAD_MUTEX_ERRORCHECK),
                          (_libc.pthread_mutexattr_setpshared, PTHREAD_PROCESS_SHARED),
                          (_libc.pthread_mutexattr_setrobust, PTHREAD_MUTEX_ROBUST)):
            err = call(attr) if arg is None else call(attr, arg)
            if err:
                raise OSError(err, os.strerror(err))
        err = _libc.pthread_mutex_init(ctypes.c_void_p(self._lock_address()), attr)
        if err:
            raise OSError(err, os.strerror(err))

    def _locked(self):
        """The internal lock, as a context manager; a dead holder's lock is taken over as it is."""
        return _Held(self._lock_address())


class _Held:
    def __init__(self, address):
        self.address = ctypes.c_void_p(address)

    def __enter__(self):
        err = _libc.pthread_mutex_lock(self.address)
        if err == EOWNERDEAD:
            _libc.pthread_mutex_consistent(self.address)
        elif err:
            raise OSError(err, os.strerror(err))

    def __exit__(self, *exc):
        _libc.pthread_mutex_unlock(self.address)


def _sleep_on(obj, seq_offset, seq, deadline, slice_seconds=None):
    left = _left(deadline)
    if slice_seconds is not None:
        left = slice_seconds if left is None else min(left, slice_seconds)
    _futex_wait_at(obj._base + seq_offset, seq, left)


_lock = _libc.pthread_mutex_lock
_unlock = _libc.pthread_mutex_unlock


class Mutex(_Object):
    """The TypeScript Mutex: a process-shared, robust, error-checking pthread_mutex_t. ``owner_died`` is True
    after an acquire that found the previous owner dead (the lock is made consistent again)."""

    kind = "mutex"

    def __init__(self, descriptor=None, **kw):
        super().__init__(descriptor, **kw)
        self.owner_died = False
        self._pointer = ctypes.c_void_p(self._lock_address())

    @classmethod
    def create(cls, shm=None, offset=0):
        """A new mutex in a new segment (``shm`` None: the caller unlinks ``m.shm``) or at ``offset`` in ``shm``."""
        segment = shm or _create_segment(LAYOUTS[cls.kind]["size"])
        obj = cls.__new__(cls)
        obj.owner_died = False
        _Object.__init__(obj, _shm=segment, _offset=offset, _create=obj._init_lock)
        obj._owned = shm is None
        obj._pointer = ctypes.c_void_p(obj._lock_address())
        return obj

    @property
    def shm(self):
        return self._shm

    def _took(self, err):
        if err == 0:
            self.owner_died = False
            return True
        if err == EOWNERDEAD:
            _libc.pthread_mutex_consistent(ctypes.c_void_p(self._lock_address()))
            self.owner_died = True
            return True
        if err == _errno.EBUSY or err == _errno.ETIMEDOUT:
            return False
        if err == _errno.EDEADLK:
            raise LockStateError("this thread already holds the mutex")
        raise OSError(err, os.strerror(err))

    def acquire(self, blocking=True, timeout=-1):
        """As threading.Lock.acquire: True when held, False when not free (or not within ``timeout`` s)."""
        address = self._pointer
        if blocking and (timeout is None or timeout < 0):  # the fast path: one call
            err = _lock(address)
            if err == 0:
                self.owner_died = False
                return True
            return self._took(err)
        if not blocking:
            err = _libc.pthread_mutex_trylock(address)
            return False if err == _errno.EDEADLK else self._took(err)
        if timeout is None or timeout < 0:
            return self._took(_libc.pthread_mutex_lock(address))
        end = time.clock_gettime(CLOCK_MONOTONIC) + timeout
        return self._took(_libc.pthread_mutex_clocklock(address, CLOCK_MONOTONIC, _timespec(end)))

    def release(self):
        err = _unlock(self._pointer)
        if err == 0:
            return
        if err == _errno.EPERM:
            raise LockStateError("release of a mutex this thread does not hold")
        if err:
            raise OSError(err, os.strerror(err))

    def held_by_this_thread(self):
        address = ctypes.c_void_p(self._lock_address())
        err = _libc.pthread_mutex_trylock(address)
        if err == _errno.EDEADLK:
            return True
        if err in (0, EOWNERDEAD):
            if err:
                _libc.pthread_mutex_consistent(address)
            _libc.pthread_mutex_unlock(address)
        return False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def close(self):
        """Releases the mutex first if this thread holds it: a held robust mutex is on the thread's robust
        list, linked through the mutex's own bytes, which must stay mapped while it is there."""
        if self._shm is not None and getattr(self, "_valid", False) and self.held_by_this_thread():
            self.release()
        super().close()


class Semaphore(_Object):
    """The TypeScript Semaphore: ``acquire(blocking=True, timeout=None)``, ``release(n=1)``, ``value``."""

    kind = "semaphore"

    @classmethod
    def create(cls, value=1, max=0, shm=None, offset=0):
        segment = shm or _create_segment(LAYOUTS[cls.kind]["size"])
        obj = cls.__new__(cls)

        def init():
            obj._init_lock()
            obj._set("value", value)
            obj._set("max", max)
        _Object.__init__(obj, _shm=segment, _offset=offset, _create=init)
        obj._owned = shm is None
        return obj

    @property
    def shm(self):
        return self._shm

    @property
    def value(self):
        return self._field("value")

    def acquire(self, blocking=True, timeout=None):
        deadline = _deadline(timeout)
        while True:
            with self._locked():
                value = self._field("value")
                if value > 0:
                    self._set("value", value - 1)
                    return True
                if not blocking or (deadline is not None and _left(deadline) == 0):
                    return False
                self._set("waiters", self._field("waiters") + 1)
                seq = self._field("seq")
            try:
                _sleep_on(self, self._layout["seq"], seq, deadline)
            finally:
                with self._locked():
                    self._set("waiters", self._field("waiters") - 1)

    def release(self, n=1):
        with self._locked():
            value, top = self._field("value"), self._field("max")
            if top and value + n > top:
                raise ValueError(f"release({n}) would take the semaphore above {top}")
            self._set("value", value + n)
            wake = self._field("waiters") > 0
            if wake:
                self._set("seq", self._field("seq") + 1)
        if wake:
            _futex_wake_at(self._base + self._layout["seq"])

    __enter__ = lambda self: (self.acquire(), self)[1]  # noqa: E731

    def __exit__(self, *exc):
        self.release()


class Event(_Object):
    """The TypeScript Event: ``set()``, ``clear()``, ``is_set()``, ``wait(timeout=None)``."""

    kind = "event"

    @classmethod
    def create(cls, shm=None, offset=0):
        segment = shm or _create_segment(LAYOUTS[cls.kind]["size"])
        obj = cls.__new__(cls)
        _Object.__init__(obj, _shm=segment, _offset=offset, _create=obj._init_lock)
        obj._owned = shm is None
        return obj

    @property
    def shm(self):
        return self._shm

    def is_set(self):
        return self._field("flag") != 0

    def set(self):
        with self._locked():
            self._set("flag", 1)
            self._set("seq", self._field("seq") + 1)
            wake = self._field("waiters") > 0
        if wake:
            _futex_wake_at(self._base + self._layout["seq"])

    def clear(self):
        with self._locked():
            self._set("flag", 0)

    def wait(self, timeout=None):
        deadline = _deadline(timeout)
        while True:
            with self._locked():
                if self._field("flag"):
                    return True
                if deadline is not None and _left(deadline) == 0:
                    return False
                self._set("waiters", self._field("waiters") + 1)
                seq = self._field("seq")
            try:
                _sleep_on(self, self._layout["seq"], seq, deadline)
            finally:
                with self._locked():
                    self._set("waiters", self._field("waiters") - 1)


class Condition(_Object):
    """The TypeScript Condition over its Mutex (``condition.mutex``): ``wait``, ``wait_for``, ``notify``,
    ``notify_all``; ``with condition:`` holds the mutex."""

    kind = "condition"

    def __init__(self, descriptor):
        d = _parse_descriptor(descriptor, self.kind)
        super().__init__(d)
        self.mutex = Mutex(d["mutex"])

    def close(self):
        if getattr(self, "mutex", None) is not None:
            self.mutex.close()
        super().close()

    def __enter__(self):
        self.mutex.acquire()
        return self

    def __exit__(self, *exc):
        self.mutex.release()

    def _check_held(self, what):
        if not self.mutex.held_by_this_thread():
            raise LockStateError(f"Condition.{what}: this thread must hold the mutex")

    def wait(self, timeout=None):
        self._check_held("wait")
        deadline = _deadline(timeout)
        self._set("waiters", self._field("waiters") + 1)
        seq = self._field("seq")
        self.mutex.release()
        while True:
            _sleep_on(self, self._layout["seq"], seq, deadline)
            self.mutex.acquire()
            signals = self._field("signals")
            if signals > 0:
                self._set("signals", signals - 1)
                self._set("waiters", self._field("waiters") - 1)
                return True
            if deadline is not None and _left(deadline) == 0:
                waiters = self._field("waiters") - 1
                self._set("waiters", waiters)
                if self._field("signals") > waiters:
                    self._set("signals", max(0, waiters))
                return False
            seq = self._field("seq")
            self.mutex.release()

    def wait_for(self, predicate, timeout=None):
        deadline = _deadline(timeout)
        result = predicate()
        while not result:
            left = _left(deadline)
            if left == 0:
                break
            self.wait(left)
            result = predicate()
        return result

    def notify(self, n=1):
        self._check_held("notify")
        k = min(n, self._field("waiters") - self._field("signals"))
        if k <= 0:
            return
        self._set("signals", self._field("signals") + k)
        self._set("seq", self._field("seq") + 1)
        _futex_wake_at(self._base + self._layout["seq"])

    def notify_all(self):
        self.notify(ALL)


class Barrier(_Object):
    """The TypeScript Barrier: ``wait(timeout=None)`` returns the arrival index; a party that dies (or a
    timeout, or ``abort()``) breaks it: BrokenBarrierError. This process's pid is in its slots while open."""

    kind = "barrier"
    LIVENESS = 0.1

    def __init__(self, descriptor=None, **kw):
        super().__init__(descriptor, **kw)
        if self._field("parties") < 1:
            self.close()
            raise MalformedObjectError(f"a barrier of {self._field('parties')} parties")
        self._register(1)
        self._registered = True

    @classmethod
    def create(cls, parties, shm=None, offset=0):
        segment = shm or _create_segment(LAYOUTS[cls.kind]["size"])
        obj = cls.__new__(cls)

        def init():
            obj._init_lock()
            obj._set("parties", parties)
            obj._set("broken", -1)
        _Object.__init__(obj, _shm=segment, _offset=offset, _create=init)
        obj._owned = shm is None
        obj._register(1)
        obj._registered = True
        return obj

    @property
    def shm(self):
        return self._shm

    @property
    def parties(self):
        return self._field("parties")

    @property
    def n_waiting(self):
        return self._field("count")

    @property
    def broken(self):
        return self._field("broken") == self._field("seq")

    def _slot(self, i):
        return self._layout["slots"] + 8 * i

    def _register(self, delta):
        pid = os.getpid()
        with self._locked():
            free = -1
            for i in range(self._layout["slotCount"]):
                at = self._slot(i)
                if self._get32(at) == pid:
                    handles = self._get32(at + 4) + delta
                    self._set32(at + 4, max(0, handles))
                    if handles <= 0:
                        self._set32(at, 0)
                    return
                if self._get32(at) == 0 and free < 0:
                    free = i
            if delta == 1 and free >= 0:
                self._set32(self._slot(free), pid)
                self._set32(self._slot(free) + 4, 1)

    def _break(self):
        if self._field("broken") == self._field("seq"):
            return
        self._set("seq", self._field("seq") + 1)
        self._set("broken", self._field("seq"))
        self._set("count", 0)
        _futex_wake_at(self._base + self._layout["seq"])

    def _dead(self):
        me = os.getpid()
        for i in range(self._layout["slotCount"]):
            at = self._slot(i)
            pid = self._get32(at)
            if pid in (0, me):
                continue
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                self._set32(at, 0)
                self._set32(at + 4, 0)
                return pid
            except PermissionError:
                pass
        return None

    def wait(self, timeout=None):
        deadline = _deadline(timeout)
        with self._locked():
            seq = self._field("seq")
            if self._field("broken") == seq:
                raise BrokenBarrierError("the barrier is broken")
            index = self._field("count")
            if index + 1 >= self._field("parties"):
                self._set("count", 0)
                self._set("seq", seq + 1)
                tripped = True
            else:
                self._set("count", index + 1)
                tripped = False
        if tripped:
            _futex_wake_at(self._base + self._layout["seq"])
            return index
        while True:
            _sleep_on(self, self._layout["seq"], seq, deadline, self.LIVENESS)
            with self._locked():
                if self._field("seq") != seq:
                    if self._field("broken") == seq + 1:
                        raise BrokenBarrierError("the barrier is broken")
                    return index
                dead = self._dead()
                if dead is not None:
                    self._break()
                    raise BrokenBarrierError(f"the barrier is broken: process {dead}, a party, died")
                if deadline is not None and _left(deadline) == 0:
                    self._break()
                    raise BrokenBarrierError("the barrier is broken: a wait timed out")

    def abort(self):
        with self._locked():
            self._break()

    def reset(self):
        with self._locked():
            if self._field("count") > 0:
                self._break()
            if self._field("broken") == self._field("seq"):
                self._set("seq", self._field("seq") + 1)
            self._set("count", 0)

    def close(self):
        if self._shm is not None and getattr(self, "_registered", False):
            self._registered = False
            self._register(-1)
        super().close()
