"""Futex waits for asyncio, without a thread per wait: the twin of src/sync/futex.ts's waitAsync.

Every pending wait of this process on the same word and the same expected value is one entry, and up to
127 entries are waited on by ONE daemon thread blocked in ``futex_waitv`` (Linux 5.16+), with a private
control word last, which the event loop's side bumps to change the set. When the kernel wakes that thread
for an entry, every waiter of the entry is told "ok" through its loop's ``call_soon_threadsafe``: a
notify from another process with a count wakes this process's thread once, which cannot tell how many of
its waiters it meant, so all of them wake (more than asked for, which every user of a futex checks for).

A wait's timeout is a timer on its own loop, and cancelling the task takes its waiter off the entry (an
entry left with no waiter is dropped, and the thread is told). A wake-up the thread takes for an entry no
one waits for any more (a timeout or a cancel raced it) is passed on to the word's next sleeper, so a
sleeper elsewhere never misses the wake-up it was owed. 128 and more entries take a second thread, and
so on; the threads stay (idle, blocked on their control word) once started, and a fork starts afresh.

While an entry is pending it holds a buffer export of the word (``pin``), so the segment cannot be
unmapped under the kernel's wait: shm_interop's close() leaves such a mapping to its last view.
"""
import asyncio
import ctypes
import errno as _errno
import os
import threading

from ._futex import (FUTEX2_PRIVATE, FUTEX2_SIZE_U32, FUTEX_WAITV_MAX, _futex_wake_at, _futex_waitv,
                     _futex_waitv_exists, _load, _u32, _Waitv)

ENTRIES_PER_THREAD = FUTEX_WAITV_MAX - 1  # and the control word


class _Entry:
    __slots__ = ("key", "address", "expected", "pin", "waiters", "thread")

    def __init__(self, key, address, expected, pin, thread):
        self.key = key
        self.address = address
        self.expected = expected  # as the load gives it: a signed int32
        self.pin = pin
        self.waiters = set()  # (loop, future)
        self.thread = thread


class _Thread:
    """One blocked thread and the entries it waits on."""

    def __init__(self):
        self.entries = []
        self.control = ctypes.c_uint32(0)  # the generation: bumped for every change of `entries`
        self.thread = None

    @property
    def full(self):
        return len(self.entries) >= ENTRIES_PER_THREAD

    def changed(self):
        """The set changed (held: _state.lock): the thread waits on the new one from now on."""
        self.control.value = (self.control.value + 1) & 0xFFFFFFFF
        if self.thread is None:
            self.thread = threading.Thread(target=self._serve, name="shm_interop futex_waitv", daemon=True)
            self.thread.start()
        elif threading.current_thread() is not self.thread:
            _futex_wake_at(ctypes.addressof(self.control), 1, private=True)

    def _serve(self):
        waitv = (_Waitv * FUTEX_WAITV_MAX)()
        control = ctypes.addressof(self.control)
        while True:
            with _state.lock:
                generation = self.control.value
                waited = list(self.entries)
            for i, entry in enumerate(waited):
                waitv[i].val = _u32(entry.expected)
                waitv[i].uaddr = entry.address
                waitv[i].flags = FUTEX2_SIZE_U32
            waitv[len(waited)].val = generation
            waitv[len(waited)].uaddr = control
            waitv[len(waited)].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE
            index = _futex_waitv(waitv, len(waited) + 1)
            fired, passed_on = [], []
            with _state.lock:
                if 0 <= index < len(waited):
                    # the entry of that word and value now (a cancel and a new wait may have made another)
                    entry = _state.entries.get(waited[index].key)
                    if entry is not None:
                        fired.append((entry, "ok"))
                    else:
                        passed_on.append(waited[index].address)  # a wake-up for no one here: someone else's
                if index >= 0 or index == -_errno.EAGAIN:
                    # a word that differs now: its wake-up may have come at once with the one that woke us
                    # (the kernel reports one index), or it changed before the wait began (EAGAIN)
                    woken = {id(entry) for entry, _ in fired}
                    fired += [(e, "ok") for e in waited
                              if id(e) not in woken and e in self.entries and _load(e.address) != e.expected]
                elif index < 0 and index != -_errno.EINTR:
                    error = OSError(-index, f"futex_waitv failed: {os.strerror(-index)}")
                    fired = [(e, error) for e in waited if e in self.entries]
                told = [(list(entry.waiters), result, entry.address) for entry, result in fired]
                for entry, _ in fired:
                    _drop(entry)
            for waiters, result, address in told:
                for loop, future in waiters:
                    _tell(loop, future, result, address)
            for address in passed_on:
                try:
                    _futex_wake_at(address, 1)  # still mapped: `waited` holds the entries' pins
                except OSError:
                    pass


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}  # (address, expected) -> _Entry
        self.threads = []
        self.checked = False


_state = _State()


def _reset_after_fork():
    global _state
    _state = _State()  # the parent's threads are not in the child; its lock may have been held


os.register_at_fork(after_in_child=_reset_after_fork)


def _drop(entry):
    """Forgets an entry (held: _state.lock)."""
    if _state.entries.get(entry.key) is entry:
        del _state.entries[entry.key]
    if entry in entry.thread.entries:
        entry.thread.entries.remove(entry)
        entry.thread.changed()


def _settle(future, result, address=None):
    if future.done():
        # the wait ended first (cancelled, timed out): a wake-up it was given goes on to the word's next
        # sleeper, or a notify of one would be lost with it (a spurious wake for the next is harmless)
        if result == "ok" and address is not None:
            _pass_on(address)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _pass_on(address):
    try:
        _futex_wake_at(address, 1)
    except OSError:
        pass  # unmapped since: no one can sleep there


def _tell(loop, future, result, address=None):
    try:
        loop.call_soon_threadsafe(_settle, future, result, address)
    except RuntimeError:
        pass  # that loop is closed: no one waits there any more


def _add(address, expected, pin, loop, future):
    with _state.lock:
        if not _state.checked:
            if not _futex_waitv_exists():
                raise OSError(_errno.ENOSYS, "async waits need futex_waitv (Linux 5.16 or later)")
            _state.checked = True
        key = (address, expected)
        entry = _state.entries.get(key)
        if entry is None:
            thread = next((t for t in _state.threads if not t.full), None)
            if thread is None:
                thread = _Thread()
                _state.threads.append(thread)
            entry = _Entry(key, address, expected, pin, thread)
            _state.entries[key] = entry
            thread.entries.append(entry)
            thread.changed()
        waiter = (loop, future)
        entry.waiters.add(waiter)
        return entry, waiter


def _remove(entry, waiter):
    with _state.lock:
        entry.waiters.discard(waiter)
        if not entry.waiters:
            _drop(entry)


def wake_range(start, end):
    """Tells every wait of this process on a word in [start, end) "ok" now: the object there is being
    closed, and its waiters, once woken, find it closed (a wait of another handle at those addresses
    wakes for nothing and waits again). Without this a close() left them asleep until the word changed."""
    with _state.lock:
        fired = [entry for entry in _state.entries.values() if start <= entry.address < end]
        told = [list(entry.waiters) for entry in fired]
        for entry in fired:
            _drop(entry)
    for waiters in told:
        for loop, future in waiters:
            _tell(loop, future, "ok")


def pending_entries():
    """How many words this process waits on asynchronously now (for tests)."""
    with _state.lock:
        return len(_state.entries)


def wait_threads():
    """How many futex_waitv threads this process has started (for tests)."""
    with _state.lock:
        return sum(1 for t in _state.threads if t.thread is not None)


async def wait_at(address, expected, timeout=None, pin=None):
    """Waits without blocking the event loop while the int32 at ``address`` holds ``expected``, at most
    ``timeout`` seconds (None: no limit): "ok" when woken (or the word changed), "not-equal" when it did
    not hold ``expected`` at the start, "timed-out". ``pin`` keeps the word's memory mapped meanwhile.
    Cancelling the awaiting task cancels the wait."""
    expected = ctypes.c_int32(expected).value
    if _load(address) != expected:
        return "not-equal"
    if timeout is not None and timeout <= 0:
        return "timed-out"
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    entry, waiter = _add(address, expected, pin, loop, future)
    timer = None if timeout is None else loop.call_later(timeout, _settle, future, "timed-out")
    try:
        return await future
    except asyncio.CancelledError:
        # cancelled after the wake-up came but before this task ran on: that wake-up goes on
        if future.done() and not future.cancelled() and future.result() == "ok":
            _pass_on(address)
        raise
    finally:
        if timer is not None:
            timer.cancel()
        _remove(entry, waiter)
