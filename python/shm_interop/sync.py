"""Processes that wait for each other, from Python: futex wait/notify and the objects of the TypeScript
side (Mutex, Semaphore, Event, Condition, Barrier), attached from their descriptors; every wait blocking,
or awaited in asyncio (``*_async``).

Standard library only. Python has no atomic instructions, so nothing here does a read-modify-write on a
shared word by itself: every change of state happens under the object's process-shared, robust
``pthread_mutex_t`` (libc through ctypes, exactly as TypeScript reaches it through FFI), and sleeping is
the kernel's futex on a word of the segment (_futex.py). Linux only (x86-64, arm64: every shared word
here is read and written under a pthread mutex, whose calls order memory on both).

asyncio: ``await mutex.acquire_async()``, ``async with mutex:``, ``await semaphore.acquire_async()``,
``await event.wait_async()``, ``await condition.wait_async()`` / ``wait_for_async``,
``await barrier.wait_async()``, ``await futex_wait_async(buf, index, expected)``. The event loop runs
while they wait (timers fire); they take ``timeout`` in seconds as the blocking calls do, and cancelling
the awaiting task cancels the wait (the waiter counts are put back, nothing stays locked; a Barrier wait
that is cancelled breaks the barrier, as a timeout does). No thread per wait: every pending wait of the
process is served by one thread blocked in futex_waitv (_wait_thread.py).
"""
import asyncio
import ctypes
import errno as _errno
import os
import time

from . import _wait_thread
from ._futex import (ALL, FUTEX_WAIT, FUTEX_WAKE, _address, _futex_or_at, _futex_wait_at,  # noqa: F401
                     _futex_wake_at, _libc, _load, _Timespec, _timespec)
from ._futex import _NUMBERS as _SYSCALLS

SYS_FUTEX = _SYSCALLS.get("futex")


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


async def futex_wait_async(buffer, index, expected, timeout=None):
    """``futex_wait`` for asyncio: the event loop runs while it waits, and cancelling the task cancels it.

    The same answers ("ok", "not-equal", "timed-out"). A notify from another process wakes every pending
    wait of this process on that word (this process counts as one sleeper however many tasks wait).
    The buffer stays mapped while the wait is pending.
    """
    offset = _check_index(buffer, index)
    pin = ctypes.c_int32.from_buffer(buffer, offset)
    return await _wait_thread.wait_at(ctypes.addressof(pin), expected, timeout, pin)


def futex_notify(buffer, index, count=None):
    """Wakes up to ``count`` sleepers (all when None) on word ``index`` of ``buffer``, in any process: how many woke."""
    return _futex_wake_at(_address(buffer, _check_index(buffer, index)), count)


def load(buffer, index):
    """The int32 at word ``index`` (an aligned 4-byte read: one instruction on x86-64 and arm64)."""
    return ctypes.c_int32.from_buffer(buffer, _check_index(buffer, index)).value


def store(buffer, index, value):
    """Writes the int32 at word ``index`` (aligned: one instruction). On x86-64 stores are seen in program
    order, so a store before futex_notify is seen by the woken waiter; arm64 gives no such order to plain
    stores (a protocol of several words there needs a lock around them, as the objects below take)."""
    ctypes.c_int32.from_buffer(buffer, _check_index(buffer, index)).value = value


# ---------------------------------------------------------------------------------------------------------
# The objects. Their bytes are described once, in src/sync/layout.ts (drawn there); these are the same
# offsets, and tests/sync_refusals.test.ts checks that the two tables agree.

from ._descriptor import read_descriptor as _read_descriptor  # noqa: E402
from .shared_memory import attach as _attach_untracked, create as _create_tracked  # noqa: E402

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

# glibc, Linux (<pthread.h>, <asm-generic/errno.h>, <linux/futex.h>)
PTHREAD_MUTEX_ERRORCHECK = 2
PTHREAD_PROCESS_SHARED = 1
PTHREAD_MUTEX_ROBUST = 1
CLOCK_MONOTONIC = 1
EOWNERDEAD = 130
ENOTRECOVERABLE = 131
# the lock word of a robust pthread_mutex_t (its first int): the owner's tid and two flags
FUTEX_WAITERS = 0x80000000
FUTEX_WAITERS_BIT = 31
FUTEX_TID_MASK = 0x3FFFFFFF
for _name in ("pthread_mutex_lock", "pthread_mutex_trylock", "pthread_mutex_unlock", "pthread_mutex_consistent"):
    getattr(_libc, _name).argtypes = [ctypes.c_void_p]
    getattr(_libc, _name).restype = ctypes.c_int
_libc.pthread_mutex_clocklock.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Timespec)]
_libc.pthread_mutex_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
# An absolute time long past on CLOCK_MONOTONIC, but not negative (glibc refuses a negative one before it
# touches the lock): pthread_mutex_clocklock with it takes a free mutex, or marks a busy one FUTEX_WAITERS
# with glibc's own compare-and-swap and returns ETIMEDOUT without sleeping (see Mutex.acquire_async).
_LONG_AGO = _Timespec(0, 0)


class MalformedObjectError(Exception):
    """A segment (or descriptor) that is not the object it claims to be."""


class LockStateError(RuntimeError):
    """Unlocking a lock this thread does not hold, or locking one it holds already."""


class BrokenBarrierError(RuntimeError):
    """The barrier is broken: a party died, timed out, was cancelled, or abort() ran."""


def _attach_segment(name):
    """Attaches untracked (shm_interop.attach): this process never unlinks what it did not create."""
    return _attach_untracked(name)


def _create_segment(size):
    """A new segment, tracked as Python tracks any it creates: ``obj.shm.unlink()`` when done."""
    return _create_tracked(size)


def _parse_descriptor(descriptor, kind):
    """The TypeScript descriptor of a ``kind``: a dict, its JSON, or a segment name (offset 0)."""
    return _read_descriptor(descriptor, kind)


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
            # the message first: close() forgets the segment
            problem = f"segment {self._shm.name!r} ({self._shm.size} bytes) cannot hold a {self.kind} at {self._offset}"
            self.close()
            raise MalformedObjectError(problem)
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

    @classmethod
    def _make(cls, shm, offset, init=None):
        """A new object of this class: in a new segment of its own (``shm`` None: the caller unlinks
        ``obj.shm``, or its ``with`` block does) or at ``offset`` in ``shm``. ``init(obj)`` sets its fields
        after its internal lock is made, before it is marked ready."""
        segment = shm or _create_segment(LAYOUTS[cls.kind]["size"])
        obj = cls.__new__(cls)

        def make():
            obj._init_lock()
            if init is not None:
                init(obj)
        try:
            _Object.__init__(obj, _shm=segment, _offset=offset, _create=make)
        except BaseException:
            if shm is None:
                segment.__exit__(None, None, None)  # closes and unlinks the segment made for it
            raise
        obj._owned = shm is None
        return obj

    @property
    def shm(self):
        """The segment the object is in (an object that made its own: unlink it when done)."""
        return self._shm

    @property
    def closed(self):
        """Whether close() has run."""
        return self._shm is None

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
        a_kind = ("an " if self.kind[0] in "aeiou" else "a ") + self.kind
        magic = ctypes.c_uint32.from_address(self._base).value
        kind = ctypes.c_uint16.from_address(self._base + 6).value
        version = ctypes.c_uint16.from_address(self._base + 4).value
        problem = None
        if magic != HEADER["magic"]:
            problem = f"{where} holds no shared object: not {a_kind}"
        elif kind != KINDS[self.kind]:
            problem = f"{where} holds kind {kind}, not {a_kind}"
        elif version != SYNC_VERSION:
            problem = f"{where} holds layout version {version}, not {SYNC_VERSION}"
        elif self._get32(8) != HEADER["ready"]:
            problem = f"{where} holds {a_kind} still being made"
        if problem:
            self.close()
            raise MalformedObjectError(problem)

    def _check_open(self):
        if self._shm is None:
            raise ValueError(f"the {self.kind} is closed")

    @property
    def descriptor(self):
        return dict(self._descriptor)

    def close(self):
        if self._shm is not None and getattr(self, "_layout", None) is not None:
            # this process's async waits on the object end now, with "the ... is closed"
            _wait_thread.wake_range(self._base, self._base + self._layout["size"])
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
        """The internal lock, as a context manager; a dead holder's lock is taken over as it is. It is held
        only for a few loads and stores, so async waits take it blocking too, as TypeScript's do."""
        return _Held(self._lock_address())

    # waiting on a word of the object
    def _sleep(self, field, seen, deadline, slice_seconds=None):
        """Sleeps while ``field`` holds ``seen``, until the deadline or at most ``slice_seconds``."""
        left = _left(deadline)
        if slice_seconds is not None:
            left = slice_seconds if left is None else min(left, slice_seconds)
        _futex_wait_at(self._base + self._layout[field], seen, left)

    async def _sleep_async(self, field, seen, deadline, slice_seconds=None):
        """``_sleep`` for asyncio; the segment stays mapped meanwhile, and a close() meanwhile is an error."""
        left = _left(deadline)
        if slice_seconds is not None:
            left = slice_seconds if left is None else min(left, slice_seconds)
        at = self._offset + self._layout[field]
        pin = ctypes.c_int32.from_buffer(self._shm.buf, at)
        try:
            await _wait_thread.wait_at(self._base + self._layout[field], seen, left, pin)
        finally:
            del pin
        self._check_open()

    def _wait_loop(self, attempt, deadline):
        """Every counted wait (Semaphore, Event): ``attempt(deadline)`` under the internal lock says
        ``(True, answer)``, or ``(False, seq)`` having counted this caller as a waiter; sleep on seq; uncount."""
        while True:
            done, value = attempt(deadline)
            if done:
                return value
            try:
                self._sleep("seq", value, deadline)
            finally:
                with self._locked():
                    self._set("waiters", self._field("waiters") - 1)

    async def _wait_loop_async(self, attempt, deadline):
        """``_wait_loop`` for asyncio: a cancel (or a close) uncounts this waiter too."""
        while True:
            done, value = attempt(deadline)
            if done:
                return value
            try:
                await self._sleep_async("seq", value, deadline)
            finally:
                if self._shm is not None:
                    with self._locked():
                        self._set("waiters", self._field("waiters") - 1)


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


class _Holdable:
    """``with`` and ``async with`` hold it: ``acquire()`` / ``await acquire_async()`` on entry, ``release()``
    on exit (Mutex, Semaphore)."""

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    async def __aenter__(self):
        await self.acquire_async()
        return self

    async def __aexit__(self, *exc):
        self.release()


_lock = _libc.pthread_mutex_lock
_unlock = _libc.pthread_mutex_unlock


class Mutex(_Holdable, _Object):
    """The TypeScript Mutex: a process-shared, robust, error-checking pthread_mutex_t. ``owner_died`` is True
    after an acquire that found the previous owner dead (the lock is made consistent again).

    ``with mutex:`` and ``acquire()`` block; ``async with mutex:`` and ``await mutex.acquire_async()`` let
    the event loop run meanwhile. As a pthread mutex is, it is held by a thread: the tasks of one event
    loop (one thread) exclude each other too, and ``release()`` runs on the thread that took it.
    """

    kind = "mutex"

    def __init__(self, descriptor=None, **kw):
        super().__init__(descriptor, **kw)
        self.owner_died = False
        self._pointer = ctypes.c_void_p(self._lock_address())
        self._task = None  # the asyncio task that took it with acquire_async, until release()

    @classmethod
    def create(cls, shm=None, offset=0):
        """A new mutex in a new segment (``shm`` None: the caller unlinks ``m.shm``) or at ``offset`` in ``shm``."""
        obj = cls._make(shm, offset)
        obj.owner_died = False
        obj._pointer = ctypes.c_void_p(obj._lock_address())
        obj._task = None
        return obj

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

    async def acquire_async(self, timeout=None):
        """``acquire`` for asyncio: True when held, False after ``timeout`` seconds (None: no limit); the
        event loop runs meanwhile, and cancelling the task cancels the wait (nothing is left held).

        Taken on the loop's thread, never on a helper thread (a pthread mutex belongs to the thread that
        locks it). Between tries it sleeps asynchronously on the lock word itself, marked FUTEX_WAITERS
        as glibc's own sleepers mark it (by glibc: a timed lock with a time long past marks a busy mutex
        with its own compare-and-swap and returns at once), so that an unlock in any process, and the
        kernel when the owner dies, wake it. A wake-up it takes and does not use is passed on. Another
        task of this loop holding it is waited for as any holder; acquire_async twice in one task without
        release() is a LockStateError.
        """
        self._check_open()
        deadline = _deadline(timeout)
        word = self._lock_address()  # the lock word: the first int of the pthread_mutex_t
        slept = False
        taken = False
        try:
            while True:
                err = _libc.pthread_mutex_clocklock(self._pointer, CLOCK_MONOTONIC, _LONG_AGO)
                if err == 0 or err == EOWNERDEAD:
                    if slept:
                        # this task took the wake-up meant for one sleeper, and glibc's first try took the
                        # word without FUTEX_WAITERS: set it again (safe: the word is ours now), as glibc's
                        # woken lockers do, or the sleepers still waiting would get no wake at our unlock
                        _futex_or_at(word, FUTEX_WAITERS_BIT)
                    taken = self._took(err)
                    self._task = _current_task()
                    return taken
                if err == _errno.EDEADLK:
                    if self._task is not None and self._task is _current_task():
                        raise LockStateError("this task already holds the mutex")
                    # another task of this thread holds it; it is released on this thread: wait as for
                    # anyone, and mark the word (ours, so no one frees it meanwhile) for the unlock to wake us
                    _futex_or_at(word, FUTEX_WAITERS_BIT)
                elif err != _errno.ETIMEDOUT:
                    return self._took(err)
                seen = _load(word)
                if seen & FUTEX_TID_MASK == 0 or not seen & FUTEX_WAITERS:
                    continue  # freed meanwhile, its owner died, or taken afresh: try again
                left = _left(deadline)
                if left == 0:
                    return False
                slept = True
                await self._sleep_async("lock", seen, deadline)
        finally:
            # a wake-up this task was given and did not use (a timeout, a cancel) goes on: otherwise a
            # sleeper elsewhere could sleep on while the mutex is free. To every sleeper, whatever the word
            # holds: the unlock that woke us left it 0 (glibc clears FUTEX_WAITERS), a locker since may
            # have taken it without the bit, and this process's wait thread may still sleep on the word
            # for another waiter and would take a wake of one
            if slept and not taken and self._shm is not None:
                _futex_wake_at(word)

    def release(self):
        self._task = None
        err = _unlock(self._pointer)
        if err == 0:
            return
        if err == _errno.EPERM:
            raise LockStateError("release of a mutex this thread does not hold")
        if err:
            raise OSError(err, os.strerror(err))

    def held_by_this_thread(self):
        # a word with no owner (free, or its owner died: the kernel leaves OWNER_DIED and no tid) is not
        # this thread's: said without trylock, which would take a dead owner's lock, and making it
        # consistent to let it go again would keep the next locker from hearing that the owner died
        if _load(self._lock_address()) & FUTEX_TID_MASK == 0:
            return False
        address = ctypes.c_void_p(self._lock_address())
        err = _libc.pthread_mutex_trylock(address)
        if err == _errno.EDEADLK:
            return True
        if err in (0, EOWNERDEAD):
            if err:
                _libc.pthread_mutex_consistent(address)
            _libc.pthread_mutex_unlock(address)
        return False

    def close(self):
        """Releases the mutex first if this thread holds it: a held robust mutex is on the thread's robust
        list, linked through the mutex's own bytes, which must stay mapped while it is there."""
        if self._shm is not None and getattr(self, "_valid", False) and self.held_by_this_thread():
            self.release()
        super().close()


def _current_task():
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None  # no running loop


class Semaphore(_Holdable, _Object):
    """The TypeScript Semaphore: ``acquire(blocking=True, timeout=None)``, ``await acquire_async(timeout=None)``,
    ``release(n=1)``, ``value``; ``with`` and ``async with`` hold one unit."""

    kind = "semaphore"

    @classmethod
    def create(cls, value=1, max=0, shm=None, offset=0):
        """A new semaphore holding ``value`` (``max`` > 0: at most that, as BoundedSemaphore), as Mutex.create."""
        def init(obj):
            obj._set("value", value)
            obj._set("max", max)
        return cls._make(shm, offset, init)

    @property
    def value(self):
        return self._field("value")

    def _attempt(self, deadline, blocking=True):
        with self._locked():
            value = self._field("value")
            if value > 0:
                self._set("value", value - 1)
                return True, True
            if not blocking or (deadline is not None and _left(deadline) == 0):
                return True, False
            self._set("waiters", self._field("waiters") + 1)
            return False, self._field("seq")

    def acquire(self, blocking=True, timeout=None):
        return self._wait_loop(lambda deadline: self._attempt(deadline, blocking), _deadline(timeout))

    async def acquire_async(self, timeout=None):
        """``acquire`` for asyncio: True when a unit is taken, False after ``timeout`` seconds."""
        self._check_open()
        return await self._wait_loop_async(self._attempt, _deadline(timeout))

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


class Event(_Object):
    """The TypeScript Event: ``set()``, ``clear()``, ``is_set()``, ``wait(timeout=None)``,
    ``await wait_async(timeout=None)``."""

    kind = "event"

    @classmethod
    def create(cls, shm=None, offset=0):
        """A new event, not set, as Mutex.create."""
        return cls._make(shm, offset)

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

    def _attempt(self, deadline):
        with self._locked():
            if self._field("flag"):
                return True, True
            if deadline is not None and _left(deadline) == 0:
                return True, False
            self._set("waiters", self._field("waiters") + 1)
            return False, self._field("seq")

    def wait(self, timeout=None):
        return self._wait_loop(self._attempt, _deadline(timeout))

    async def wait_async(self, timeout=None):
        """``wait`` for asyncio: True once set, False after ``timeout`` seconds."""
        self._check_open()
        return await self._wait_loop_async(self._attempt, _deadline(timeout))


class Condition(_Object):
    """The TypeScript Condition over its Mutex (``condition.mutex``): ``wait``, ``wait_for``, ``notify``,
    ``notify_all``; ``with condition:`` holds the mutex. asyncio: ``async with condition:``,
    ``await wait_async(timeout=None)``, ``await wait_for_async(predicate, timeout=None)``."""

    kind = "condition"

    def __init__(self, descriptor):
        d = _parse_descriptor(descriptor, self.kind)
        if not isinstance(d.get("mutex"), (dict, str)):
            raise TypeError(f"descriptor['mutex'] must be a mutex descriptor, got {d.get('mutex')!r}")
        super().__init__(d)
        try:
            self.mutex = Mutex(d["mutex"])
        except BaseException:
            self.close()
            raise

    def close(self):
        if getattr(self, "mutex", None) is not None:
            self.mutex.close()
        super().close()

    def __enter__(self):
        self.mutex.acquire()
        return self

    def __exit__(self, *exc):
        self.mutex.release()

    async def __aenter__(self):
        await self.mutex.acquire_async()
        return self

    async def __aexit__(self, *exc):
        self.mutex.release()

    def _check_held(self, what):
        if not self.mutex.held_by_this_thread():
            raise LockStateError(f"Condition.{what}: this thread must hold the mutex")

    def _enter(self):
        """Counts this caller as a waiter (holding the mutex), reads seq, releases the mutex."""
        self._set("waiters", self._field("waiters") + 1)
        seq = self._field("seq")
        self.mutex.release()
        return seq

    def _leave(self, deadline):
        """Holding the mutex again: True if a signal was left for this waiter, False past the deadline,
        else None (sleep again)."""
        signals = self._field("signals")
        if signals > 0:
            self._set("signals", signals - 1)
            self._set("waiters", self._field("waiters") - 1)
            return True
        if deadline is not None and _left(deadline) == 0:
            self._drop()
            return False
        return None

    def _drop(self):
        """Takes this waiter off the count, keeping signals <= waiters."""
        waiters = self._field("waiters") - 1
        self._set("waiters", waiters)
        if self._field("signals") > waiters:
            self._set("signals", max(0, waiters))

    def wait(self, timeout=None):
        self._check_held("wait")
        deadline = _deadline(timeout)
        seq = self._enter()
        while True:
            self._sleep("seq", seq, deadline)
            self.mutex.acquire()
            done = self._leave(deadline)
            if done is not None:
                return done
            seq = self._field("seq")
            self.mutex.release()

    async def wait_async(self, timeout=None):
        """``wait`` for asyncio: releases the mutex (which this thread holds), waits without blocking the
        loop, takes the mutex again (``acquire_async``) and says whether it was notified. Cancelled, it
        takes the mutex again too before the CancelledError goes on, as asyncio.Condition.wait does."""
        self._check_held("wait")
        deadline = _deadline(timeout)
        seq = self._enter()
        while True:
            try:
                await self._sleep_async("seq", seq, deadline)
            except BaseException:
                await _reacquire(self.mutex)
                if self._shm is not None:
                    self._drop()
                raise
            await _reacquire(self.mutex)
            done = self._leave(deadline)
            if done is not None:
                return done
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

    async def wait_for_async(self, predicate, timeout=None):
        """``wait_for`` for asyncio: waits until ``predicate()`` (called holding the mutex) is true."""
        deadline = _deadline(timeout)
        result = predicate()
        while not result:
            left = _left(deadline)
            if left == 0:
                break
            await self.wait_async(left)
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


async def _reacquire(mutex):
    """Takes ``mutex`` again whatever happens meanwhile: a cancel during it is raised once it is held."""
    cancelled = None
    while True:
        try:
            await mutex.acquire_async()
            break
        except asyncio.CancelledError as error:
            cancelled = error
    if cancelled is not None:
        raise cancelled


class Barrier(_Object):
    """The TypeScript Barrier: ``wait(timeout=None)`` and ``await wait_async(timeout=None)`` return the arrival
    index; a party that dies (or a timeout, a cancelled wait_async, or ``abort()``) breaks it:
    BrokenBarrierError. This process's pid is in its slots while open."""

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
        """A new barrier of ``parties`` parties, as Mutex.create."""
        def init(obj):
            obj._set("parties", parties)
            obj._set("broken", -1)
        obj = cls._make(shm, offset, init)
        obj._register(1)
        obj._registered = True
        return obj

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

    def _arrive(self):
        """Counts this party in: (seq, index, tripped)."""
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
        return seq, index, tripped

    def _check(self, seq, index, deadline):
        """After a sleep: the arrival index once tripped, None to sleep again, or BrokenBarrierError."""
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
        return None

    def wait(self, timeout=None):
        deadline = _deadline(timeout)
        seq, index, tripped = self._arrive()
        while not tripped:
            self._sleep("seq", seq, deadline, self.LIVENESS)
            tripped = self._check(seq, index, deadline) is not None
        return index

    async def wait_async(self, timeout=None):
        """``wait`` for asyncio. A cancelled wait breaks the barrier (the others would wait for it forever)."""
        self._check_open()
        deadline = _deadline(timeout)
        seq, index, tripped = self._arrive()
        while not tripped:
            try:
                await self._sleep_async("seq", seq, deadline, self.LIVENESS)
            except asyncio.CancelledError:
                if self._shm is not None:
                    self.abort()
                raise
            tripped = self._check(seq, index, deadline) is not None
        return index

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
