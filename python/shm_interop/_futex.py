"""The kernel calls every wait of shm_interop stands on: futex wait and wake on a 32-bit word of shared
memory, the atomic OR the kernel does for us (FUTEX_WAKE_OP), and futex_waitv (Linux 5.16+), which
blocks one thread on many words at once (_wait_thread.py).

Python has no atomic instructions: what must be atomic is done by the kernel (here) or by glibc's
robust pthread mutex (sync.py). Linux only; the system call numbers are data, one row per machine.
Importing never fails: on a machine with no row, a call raises OSError(ENOSYS) saying so.
"""
import ctypes
import errno as _errno
import os
import platform as _platform
import time

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# <asm/unistd.h>: futex_waitv is 449 on every architecture (it came after the tables were unified)
SYSCALLS = {
    "x86_64": {"futex": 202, "futex_waitv": 449, "membarrier": 324},
    "aarch64": {"futex": 98, "futex_waitv": 449, "membarrier": 283},
}
MACHINE = _platform.machine()
_NUMBERS = SYSCALLS.get(MACHINE, {})

# <linux/membarrier.h>
MEMBARRIER_CMD_QUERY = 0
MEMBARRIER_CMD_GLOBAL_EXPEDITED = 2
MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 4

# <linux/futex.h>
FUTEX_WAIT = 0
FUTEX_WAKE = 1
FUTEX_WAKE_OP = 5
FUTEX_OP_OR = 2
FUTEX_OP_OPARG_SHIFT = 8  # the operand is 1 << oparg
FUTEX_OP_CMP_EQ = 0
FUTEX2_SIZE_U32 = 0x02
FUTEX2_PRIVATE = 128
FUTEX_WAITV_MAX = 128
ALL = 0x7FFFFFFF


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Waitv(ctypes.Structure):
    """``struct futex_waitv`` (<linux/futex.h>), 24 bytes::

        0        8          16      20         24
        | val u64 | uaddr u64 | flags | reserved |
    """

    _fields_ = [("val", ctypes.c_uint64), ("uaddr", ctypes.c_uint64), ("flags", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32)]


def _number(call):
    number = _NUMBERS.get(call)
    if number is None:
        raise OSError(_errno.ENOSYS, f"shm_interop waits on Linux x86-64 and arm64 only, not on {MACHINE!r}")
    return ctypes.c_long(number)


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


def _u32(value):
    return ctypes.c_int32(value).value & 0xFFFFFFFF


def _load(address):
    """The int32 at ``address`` (an aligned 4-byte load: one instruction)."""
    return ctypes.c_int32.from_address(address).value


def _futex_wait_at(address, expected, timeout=None):
    """Sleeps while the int32 at ``address`` is ``expected``: "ok", "not-equal" or "timed-out"."""
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    expected = _u32(expected)
    number = _number("futex")
    while True:
        ts = None
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timed-out"
            ts = ctypes.byref(_timespec(left))
        result = _libc.syscall(number, ctypes.c_void_p(address), ctypes.c_int(FUTEX_WAIT),
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


def _futex_wake_at(address, count=None, private=False):
    """Wakes up to ``count`` sleepers (all when None) on the word at ``address``: how many woke."""
    n = ALL if count is None else max(0, min(ALL, int(count)))
    op = FUTEX_WAKE | (128 if private else 0)  # FUTEX_PRIVATE_FLAG: a word of this process only
    result = _libc.syscall(_number("futex"), ctypes.c_void_p(address), ctypes.c_int(op),
                           ctypes.c_uint32(n), None, None, ctypes.c_int(0))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def _futex_or_at(address, bit):
    """``*address |= 1 << bit``, atomically, done by the kernel (FUTEX_WAKE_OP waking no one).

    Python cannot do an atomic read-modify-write itself; this is how it sets FUTEX_WAITERS in a lock word
    that other processes change with compare-and-swap at the same time.
    """
    op = ((FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT) << 28) | (FUTEX_OP_CMP_EQ << 24) | (bit << 12)
    # syscall(SYS_futex, uaddr, FUTEX_WAKE_OP, nr_wake = 0, nr_wake2 = 0 (in the timeout slot), uaddr2, op)
    result = _libc.syscall(_number("futex"), ctypes.c_void_p(address), ctypes.c_int(FUTEX_WAKE_OP),
                           ctypes.c_uint32(0), ctypes.c_void_p(0), ctypes.c_void_p(address),
                           ctypes.c_int32(ctypes.c_uint32(op).value).value)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _futex_waitv(waiters, count):
    """Blocks the calling thread until one of ``count`` words of ``waiters`` (a ``_Waitv`` array) is woken
    while holding its value: its index; or -errno (-EAGAIN: a word differed from its value at the start)."""
    result = _libc.syscall(_number("futex_waitv"), waiters, ctypes.c_uint(count), ctypes.c_uint(0), None,
                           ctypes.c_int(0))
    return result if result >= 0 else -ctypes.get_errno()


def _futex_waitv_exists():
    """Whether the kernel has futex_waitv (Linux 5.16+): an empty call is EINVAL there, ENOSYS before."""
    return _futex_waitv(None, 0) != -_errno.ENOSYS


def _membarrier(command):
    number = _NUMBERS.get("membarrier")
    if number is None:
        return -1
    return _libc.syscall(ctypes.c_long(number), ctypes.c_int(command), ctypes.c_uint(0), ctypes.c_int(0))


_fences = None


def _can_fence():
    global _fences
    if _fences is None:
        commands = _membarrier(MEMBARRIER_CMD_QUERY)
        _fences = commands > 0 and bool(commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED)
    return _fences


def register_fence():
    """Registers this process for the channel's asymmetric fence (src/sync/fence.ts): other processes'
    ``fence_wakers()`` then reach the plain stores it publishes with (Python has no other kind). Whether it
    registered; once is enough."""
    return _can_fence() and _membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0


def fence_wakers():
    """A sleeper's fence, with its waiting count raised and before it loads the word it sleeps on: a full
    barrier here and on every CPU that runs a registered process (membarrier GLOBAL_EXPEDITED), so a waker's
    plain store of that word is seen, or the waker sees the count. Whether it ran."""
    return _can_fence() and _membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0
