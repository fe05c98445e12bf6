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
