"""The TypeScript Channel from Python: attach by its descriptor, send and receive bytes, str and JSON values,
blocking or in asyncio (``await receive_async()``, ``await send_async(m)``, ``async for m in channel``).

The bytes are described once, in src/channel/layout.ts (drawn there); these are the same offsets. Python has
no atomic instructions, so it only ever does single aligned 4-byte loads and stores of the shared words,
and on a side of many processes it takes that side's Mutex (a process-shared robust pthread_mutex_t,
shm_interop.sync) around each ring operation, as TypeScript does. Sleeping is the futex on the tail (a
receiver) or the head (a sender), in slices of 100 ms, after each of which the other side's processes are
checked to be alive; the async calls sleep the same way through shm_interop's one futex_waitv thread
(sync.py, _wait_thread.py), so the event loop runs meanwhile and cancelling the task cancels the wait.

Memory order, and why this is x86-64 only. A record is published by the plain store of the tail AFTER the
plain stores of its payload, and taken back by the plain store of the head AFTER the payload's loads.
x86-64 (TSO) keeps stores in program order and never moves a load after a later store, so a receiver that
sees the new tail sees the whole payload, and a sender never overwrites bytes still being read. arm64 (and
every weaker machine) may reorder both: a receiver could read a torn or stale message with no error.
ctypes has no fences, so on any machine but x86-64 attaching a Channel raises NotImplementedError rather
than risk that (ORDERED_PLAIN_ACCESSES says which case this is).

The one ordering TSO does not give is a store before a later load, which the wake-up handshake needs (a
waker stores the tail, then loads the count; a sleeper raises the count, then loads the tail): a process
registers with membarrier when it registers a side, and a sleeper runs membarrier's global fence between
its count and its look, as TypeScript's do (src/sync/fence.ts, _futex.fence_wakers). Python always fences: its
raised count is a plain store, which only the fence orders before its look. A TypeScript sender (or receiver) of
a side of one sets that side's "ordered" word while it publishes by Atomics.store, and its sleepers skip the
fence then; Python publishes plainly, so a Python process that takes such a side clears the word first, and
fences, before its first publish (_Side.register).
"""
import ctypes
import json
import os
import queue
import struct
import time

from shm_interop import _wait_thread
from shm_interop import sync as _sync
from shm_interop._descriptor import read_descriptor as _read_descriptor
from shm_interop._futex import MACHINE as _MACHINE
from shm_interop._futex import _libc
from shm_interop._futex import fence_wakers as _fence_wakers
from shm_interop._futex import register_fence as _register_fence

# Whether plain loads and stores are seen in program order (TSO), as the ring needs (see above).
ORDERED_PLAIN_ACCESSES = _MACHINE in ("x86_64", "AMD64", "amd64")

RING_OFFSET = 1024
# 2: the CPU words; 3: wakers may store plainly, so every sleeper fences; 4: the ordered words (src/channel/layout.ts)
VERSION = 4
HEADER = {"capacity": 16, "mode": 20, "max_peers": 24}
WORD = {"tail": 16, "receivers_waiting": 17, "sender_cpu": 18, "sender_ordered": 19, "head": 32,
        "senders_waiting": 33, "receiver_cpu": 34, "receiver_ordered": 35, "sender_pids": 48, "receiver_pids": 80}
MAX_PEERS = 32
SEND_LOCK_OFFSET = 448
RECEIVE_LOCK_OFFSET = 704
MANY_SENDERS = 1
MANY_RECEIVERS = 2
ENDED = 0x80000000
POSITION_MASK = 0x7FFFFFFF
RECORD_HEADER = 8
KINDS = {"bytes": 1, "string": 2, "json": 3}
WRAP = 0x57524150
MIN_CAPACITY = 64
MAX_CAPACITY = 2 ** 29
SLICE = 0.1
LOCK_SLICE = 0.02  # one async wait for a side's lock, at most, before it tries again (see _Side.__enter__)


class MalformedChannelError(Exception):
    """Not a channel this version reads, or a ring whose words are corrupted."""


class ChannelError(Exception):
    """A send that cannot go on: ``code`` is "ended", "no-receivers" or "taken"."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _record_bytes(length):
    return RECORD_HEADER + ((length + 7) & ~7)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] != b"Z"
    except OSError:
        return True


def _current_cpu():
    """The CPU this thread runs on (glibc's sched_getcpu, through the vDSO), or -1."""
    return _libc.sched_getcpu()


class _Side:
    def __init__(self, channel, many, pids_word, waiting_word, lock_offset, cpu_word, ordered_word):
        self.channel = channel
        self.slots = MAX_PEERS if many else 1
        self.pids_word = pids_word
        self.waiting_word = waiting_word
        self.cpu_word = cpu_word
        self.ordered_word = ordered_word
        self.lock = _sync.Mutex(_shm=channel._shm, _offset=channel._offset + lock_offset) if many else None
        self.registered = False

    def __enter__(self):
        # a timed acquire, a slice at a time: a sleeper in pthread_mutex_lock can miss its wake-up when an
        # async TypeScript locker takes the unlock's one wake-up (see lockSync in src/channel/channel.ts)
        if self.lock is not None:
            while not self.lock.acquire(timeout=0.02):
                pass
        return self

    def __exit__(self, *exc):
        if self.lock is not None:
            self.lock.release()

    async def acquire_async(self, deadline):
        """Takes the side (its lock, for a side of many) without blocking the event loop, a slice at a
        time as __enter__ does; TimeoutError past ``deadline``. Release with ``release()``."""
        if self.lock is None:
            return
        while True:
            left = SLICE if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the channel wait timed out")
            if await self.lock.acquire_async(timeout=min(LOCK_SLICE, left)):
                return

    def release(self):
        if self.lock is not None:
            self.lock.release()

    def publish_cpu(self):
        """Writes the CPU this process runs on, plus one, into this side's CPU word (layout.ts): a
        TypeScript peer waiting on this channel spins before it sleeps only while that is not its own CPU.
        Python never spins; it publishes when it registers and before each sleep."""
        cpu = _current_cpu() + 1
        if self.channel._get(self.cpu_word) != cpu:
            self.channel._set(self.cpu_word, cpu)

    def pids(self):
        return [p for p in (self.channel._get(self.pids_word + i) for i in range(self.slots)) if p]

    def all_dead(self):
        pids = self.pids()
        return bool(pids) and not any(_alive(p) for p in pids)

    def register(self, name):
        me = os.getpid()
        _register_fence()  # before this process's first plain store of the tail or the head
        with self:
            free = None
            for i in range(self.slots):
                held = self.channel._get(self.pids_word + i)
                if held == me:  # this process already, or a dead holder's pid reused: clear as TypeScript does
                    self._clear_ordered()
                    self.registered = True
                    self.publish_cpu()
                    return
                if free is None and (held == 0 or not _alive(held)):
                    free = i
            if free is None:
                raise ChannelError("taken", f"this channel's {name} side has no free slot (one of {self.slots})")
            self.channel._set(self.pids_word + free, me)
            self._clear_ordered()
        self.registered = True
        self.publish_cpu()

    def _clear_ordered(self):
        """A TypeScript process that held this side before may have died with its ordered word set (layout.ts),
        and its pid may since have come back as this one's:
        Python publishes plainly, so the word goes back to 0, and the fence makes that seen by every sleeper
        before this process's first publish (a sleeper that read it set has its raised count seen instead)."""
        if self.channel._get(self.ordered_word) != 0:
            self.channel._set(self.ordered_word, 0)
            _fence_wakers()


class Channel:
    """A channel another process made, attached by its descriptor (a dict, its JSON, or a segment name)."""

    def __init__(self, descriptor):
        descriptor = _read_descriptor(descriptor, "channel")
        if not ORDERED_PLAIN_ACCESSES:
            raise NotImplementedError(
                f"shm_interop.channel needs x86-64, not {_MACHINE!r}: its plain loads and stores of the ring "
                "are ordered only by x86-64's memory model, and ctypes has no fences (see channel.py)")
        self._offset = descriptor["offset"]
        self._shm = _sync._attach_segment(descriptor["name"])
        try:
            self._check()
        except Exception:
            self._shm.close()
            raise
        buf = self._shm.buf
        self._words = buf[self._offset:self._offset + RING_OFFSET].cast("i")
        self.capacity = struct.unpack_from("<I", buf, self._offset + HEADER["capacity"])[0]
        self._mask = self.capacity - 1
        self._head_seen = 0  # the head the last failed write saw (_observed)
        self._ring = buf[self._offset + RING_OFFSET:self._offset + RING_OFFSET + self.capacity]
        self._ring_words = self._ring.cast("i")
        mode = struct.unpack_from("<I", buf, self._offset + HEADER["mode"])[0]
        self._send = _Side(self, mode & MANY_SENDERS, WORD["sender_pids"], WORD["senders_waiting"], SEND_LOCK_OFFSET,
                           WORD["sender_cpu"], WORD["sender_ordered"])
        self._receive = _Side(self, mode & MANY_RECEIVERS, WORD["receiver_pids"], WORD["receivers_waiting"],
                              RECEIVE_LOCK_OFFSET, WORD["receiver_cpu"], WORD["receiver_ordered"])
        self.descriptor = {"kind": "channel", "name": self._shm.name, "offset": self._offset}

    attach = classmethod(lambda cls, descriptor: cls(descriptor))

    def _check(self):
        buf, at = self._shm.buf, self._offset
        where = f"segment {self._shm.name!r} at offset {at}"
        if at % 64 or at + RING_OFFSET > self._shm.size:
            raise MalformedChannelError(f"no channel in {where}: bad offset or too small a segment")
        magic, version, kind, state = struct.unpack_from("<IHHI", buf, at)
        if magic != _sync.HEADER["magic"] or kind != _sync.KINDS["channel"]:
            raise MalformedChannelError(f"no channel in {where}")
        if version != VERSION or state != _sync.HEADER["ready"]:
            raise MalformedChannelError(f"the channel in {where} has version {version} / state {state}")
        capacity, mode, peers = struct.unpack_from("<III", buf, at + 16)
        if capacity < MIN_CAPACITY or capacity > MAX_CAPACITY or capacity & (capacity - 1):
            raise MalformedChannelError(f"the channel in {where} has a bad capacity {capacity}")
        if at + RING_OFFSET + capacity > self._shm.size or mode & ~3 or peers != MAX_PEERS:
            raise MalformedChannelError(f"the channel in {where} has a bad header")

    # the shared words: one aligned 4-byte load or store each
    def _get(self, index):
        return self._words[index]

    def _set(self, index, value):
        self._words[index] = value if value < 0x80000000 else value - 0x100000000

    def _tail(self):
        return self._words[WORD["tail"]] & 0xFFFFFFFF

    @property
    def max_message_bytes(self):
        return self.capacity // 2 - RECORD_HEADER

    @property
    def ended(self):
        return bool(self._tail() & ENDED)

    # ---- sending
    def _encode(self, message):
        if isinstance(message, (bytes, bytearray, memoryview)):
            return KINDS["bytes"], bytes(message) if isinstance(message, memoryview) else message
        if isinstance(message, str):
            return KINDS["string"], message.encode("utf-8")
        return KINDS["json"], json.dumps(message, allow_nan=False, separators=(",", ":")).encode("utf-8")

    def _write(self, kind, payload):
        """Writes one record if there is room: True, or False when full. Holds the send side."""
        tail_word = self._tail()
        if tail_word & ENDED:
            raise ChannelError("ended", "the channel has ended: no more messages may be sent")
        tail = tail_word & POSITION_MASK
        size = _record_bytes(len(payload))
        at = tail & self._mask
        to_end = self.capacity - at
        needed = size if size <= to_end else to_end + size
        head = self._get(WORD["head"])
        used = (tail - head) & POSITION_MASK
        if used > self.capacity:
            raise MalformedChannelError(f"channel is corrupted: head {head}, tail {tail}")
        if self.capacity - used < needed:
            self._head_seen = head  # what a sender then sleeps on: see _sleep
            return False
        start = tail
        if size > to_end:
            self._ring_words[at >> 2] = 0
            self._ring_words[(at >> 2) + 1] = WRAP
            start = (tail + to_end) & POSITION_MASK
        at = start & self._mask
        self._ring[at + 8:at + 8 + len(payload)] = payload
        self._ring_words[at >> 2] = len(payload)
        self._ring_words[(at >> 2) + 1] = kind
        self._set(WORD["tail"], (start + size) & POSITION_MASK)  # the one store that publishes it
        if self._get(WORD["receivers_waiting"]):
            _sync._futex_wake_at(_sync._address(self._shm.buf, self._offset + WORD["tail"] * 4))
        return True

    def _prepare_send(self, message):
        kind, payload = self._encode(message)
        if len(payload) > self.max_message_bytes:
            raise ValueError(f"a message of {len(payload)} bytes does not fit (at most {self.max_message_bytes})")
        if not self._send.registered:
            self._send.register("sender")
        return kind, payload

    def try_send(self, message):
        """Sends if there is room now: True, or False when the ring is full."""
        kind, payload = self._prepare_send(message)
        with self._send:
            return self._write(kind, payload)

    def send(self, message, timeout=None):
        """Sends, blocking while the ring is full (TimeoutError after ``timeout`` seconds)."""
        kind, payload = self._prepare_send(message)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._send:
                if self._write(kind, payload):
                    return
            self._sleep(self._send, WORD["head"], deadline)
            if self._receive.all_dead():
                raise ChannelError("no-receivers", "every process that received from this channel has died "
                                   f"({', '.join(map(str, self._receive.pids()))})")

    def end(self):
        """No more messages: receivers drain what is queued, then see the end. On a channel of one sender, call
        it from the sending process (it sets a bit of the tail, which that process stores without a lock)."""
        with self._send:
            self._set(WORD["tail"], self._tail() | ENDED)
        for word in ("tail", "head"):
            _sync._futex_wake_at(_sync._address(self._shm.buf, self._offset + WORD[word] * 4))

    # ---- receiving
    _NOTHING = object()
    _DONE = object()

    def _read(self):
        head = self._get(WORD["head"])
        tail_word = self._tail()
        available = ((tail_word & POSITION_MASK) - head) & POSITION_MASK
        if available == 0:
            return self._DONE if tail_word & ENDED else self._NOTHING
        if available > self.capacity or head & 7:
            raise MalformedChannelError(f"channel is corrupted: head {head}, tail {tail_word & POSITION_MASK}")
        at = head & self._mask
        kind = self._ring_words[(at >> 2) + 1]
        if kind == WRAP:
            skip = self.capacity - at
            if skip >= available:
                raise MalformedChannelError("channel is corrupted: a WRAP record with nothing after it")
            head, available, at = (head + skip) & POSITION_MASK, available - skip, 0
            kind = self._ring_words[1]
        length = self._ring_words[at >> 2]
        size = _record_bytes(length)
        if kind not in (1, 2, 3) or not 0 <= length <= self.capacity - 8 or size > available \
                or at + size > self.capacity:
            raise MalformedChannelError(f"channel is corrupted: a bad record at ring offset {at}")
        payload = bytes(self._ring[at + 8:at + 8 + length])
        self._set(WORD["head"], (head + size) & POSITION_MASK)
        if self._get(WORD["senders_waiting"]):
            _sync._futex_wake_at(_sync._address(self._shm.buf, self._offset + WORD["head"] * 4))
        if kind == 1:
            return payload
        text = payload.decode("utf-8")
        return text if kind == 2 else json.loads(text)

    def _prepare_receive(self):
        if not self._receive.registered:
            self._receive.register("receiver")

    def try_receive(self):
        """The next message if there is one now; ``queue.Empty`` when empty, ``EOFError`` once done (a JSON
        null arrives as None, so None cannot mean "nothing")."""
        self._prepare_receive()
        with self._receive:
            message = self._read()
        if message is self._NOTHING:
            if self._send.all_dead():
                raise EOFError("every sender of this channel has died")
            raise queue.Empty
        if message is self._DONE:
            raise EOFError("the channel has ended")
        return message

    @property
    def done(self):
        used = ((self._tail() & POSITION_MASK) - self._get(WORD["head"])) & POSITION_MASK
        return used == 0 and (self.ended or self._send.all_dead())

    def receive(self, timeout=None):
        """The next message, blocking while empty; ``EOFError`` once the channel has ended and is drained (or
        every sender died), as ``multiprocessing.Connection.recv``. ``TimeoutError`` after ``timeout`` seconds."""
        self._prepare_receive()
        deadline = None if timeout is None else time.monotonic() + timeout
        gone = False
        while True:
            with self._receive:
                message = self._read()
            if message is self._DONE:
                raise EOFError("the channel has ended")
            if message is not self._NOTHING:
                return message
            if gone:
                raise EOFError("every sender of this channel has died")
            self._sleep(self._receive, WORD["tail"], deadline)
            gone = self._send.all_dead()

    def _observed(self, word):
        """The value to sleep on: a receiver, the tail now; a sender, the head its failed write saw, not the
        head now: a receiver that made room since, and saw no sender waiting, woke no one, and a sender that
        compared with a fresh head would sleep through that room (a whole slice)."""
        return self._head_seen if word == WORD["head"] else self._get(word)

    def _sleep(self, side, word, deadline):
        left = SLICE if deadline is None else min(SLICE, deadline - time.monotonic())
        if left <= 0:
            raise TimeoutError("the channel wait timed out")
        side.publish_cpu()
        with side:
            side.channel._set(side.waiting_word, side.channel._get(side.waiting_word) + 1)
            _fence_wakers()  # the count seen by a waker's later load, or its store seen by the loads below
            observed = self._observed(word)
            tail, head = self._tail(), self._get(WORD["head"])
            changed = ((tail & POSITION_MASK) != head or tail != (observed & 0xFFFFFFFF) or tail & ENDED) \
                if word == WORD["tail"] else (head != observed or tail & ENDED)
        try:
            if not changed:
                _sync._futex_wait_at(_sync._address(self._shm.buf, self._offset + word * 4), observed, left)
        finally:
            with side:
                side.channel._set(side.waiting_word, side.channel._get(side.waiting_word) - 1)

    def __iter__(self):
        while True:
            try:
                message = self.receive()
            except EOFError:
                return
            yield message

    # ---- asyncio: the same steps, sleeping through the futex_waitv thread, so the event loop runs on
    async def receive_async(self, timeout=None):
        """``receive`` for asyncio: the next message, waiting without blocking the event loop; ``EOFError``
        once done, ``TimeoutError`` after ``timeout`` seconds. Cancelling the task cancels the wait (no
        message is lost: one is taken only when it is returned)."""
        self._prepare_receive()
        deadline = None if timeout is None else time.monotonic() + timeout
        gone = False
        while True:
            await self._receive.acquire_async(deadline)
            try:
                message = self._read()
            finally:
                self._receive.release()
            if message is self._DONE:
                raise EOFError("the channel has ended")
            if message is not self._NOTHING:
                return message
            if gone:
                raise EOFError("every sender of this channel has died")
            await self._sleep_async(self._receive, WORD["tail"], deadline)
            gone = self._send.all_dead()

    async def send_async(self, message, timeout=None):
        """``send`` for asyncio: waits without blocking the event loop while the ring is full."""
        kind, payload = self._prepare_send(message)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            await self._send.acquire_async(deadline)
            try:
                written = self._write(kind, payload)
            finally:
                self._send.release()
            if written:
                return
            await self._sleep_async(self._send, WORD["head"], deadline)
            if self._receive.all_dead():
                raise ChannelError("no-receivers", "every process that received from this channel has died "
                                   f"({', '.join(map(str, self._receive.pids()))})")

    async def _sleep_async(self, side, word, deadline):
        """``_sleep`` for asyncio. The waiting count goes back down however the wait ends (a cancel too):
        that step takes the side's lock blocking, as it is held only for a few loads and stores, and no
        task of this thread holds it across an await."""
        left = SLICE if deadline is None else min(SLICE, deadline - time.monotonic())
        if left <= 0:
            raise TimeoutError("the channel wait timed out")
        side.publish_cpu()
        await side.acquire_async(deadline)
        try:
            side.channel._set(side.waiting_word, side.channel._get(side.waiting_word) + 1)
            _fence_wakers()  # as in _sleep
            observed = self._observed(word)
            tail, head = self._tail(), self._get(WORD["head"])
            changed = ((tail & POSITION_MASK) != head or tail != (observed & 0xFFFFFFFF) or tail & ENDED) \
                if word == WORD["tail"] else (head != observed or tail & ENDED)
        finally:
            side.release()
        pin = ctypes.c_int32.from_buffer(self._shm.buf, self._offset + word * 4)
        try:
            if not changed:
                await _wait_thread.wait_at(ctypes.addressof(pin), observed, left, pin)
        finally:
            del pin
            if self._shm is not None:
                with side:
                    side.channel._set(side.waiting_word, side.channel._get(side.waiting_word) - 1)
        if self._shm is None:
            raise ValueError("the channel was closed while waiting")

    def __aiter__(self):
        """``async for message in channel``: every message until the channel is done."""
        return self._messages()

    async def _messages(self):
        while True:
            try:
                message = await self.receive_async()
            except EOFError:
                return
            yield message

    def close(self):
        if self._shm is None:
            return
        for side in (self._send, self._receive):
            if side.lock is not None:
                side.lock.close()
        self._words.release()
        self._ring_words.release()
        self._ring.release()
        self._shm.close()
        self._shm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
