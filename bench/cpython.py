"""The CPython side of the benchmarks: the same work with multiprocessing.shared_memory and numpy.

    python3 bench/cpython.py <lifecycle|memory|handoff|list|ffi|sync|channel> key=value...

The key=value arguments come from bench/config.ts; one JSON line per result goes to stdout. Sampling
copies mitata's (see baseline.c). Every segment it names starts with shmbench_cpython_ and is unlinked
before exit; automatic names (psm_...) are unlinked in a finally block.
"""
import ctypes
import ctypes.util
import functools
import json
import os
import signal
import subprocess
import sys
import time
from multiprocessing import Pipe, Process, resource_tracker
from multiprocessing.shared_memory import SharedMemory, ShareableList

import numpy as np

now = time.perf_counter_ns

CONFIG = {}
PAGE = 4096


def parse_args(args):
    for arg in args:
        key, _, value = arg.partition("=")
        CONFIG[key] = value if key == "sizes" else float(value)


def progress(message):
    print(f"  [cpython] {message}", file=sys.stderr, flush=True)


def stats_of(samples, per=1):
    """mitata's statistics: sorted, 2 dropped at each end above 12 samples, quantile int(q * (n - 1))."""
    s = sorted(x / per for x in samples)
    if len(s) > 12:
        s = s[2:-2]
    at = lambda q: s[int(q * (len(s) - 1))]
    return {"p50": at(0.5), "p25": at(0.25), "p75": at(0.75), "min": s[0], "max": s[-1], "samples": len(s)}


def measure(fn, min_samples=None, min_time_ms=None, batch=None, per=1):
    """Times fn() as mitata's measure() does: warm-up, batches while a call takes under 65 us."""
    min_samples = int(CONFIG["min_samples"] if min_samples is None else min_samples)
    min_time = (CONFIG["min_time_ms"] if min_time_ms is None else min_time_ms) * 1e6
    batch_size = int(CONFIG["batch"] if batch is None else batch)
    batched = False
    t0 = now(); fn(); t1 = now()
    if t1 - t0 <= 500_000:
        for _ in range(2):
            t0 = now(); fn(); t1 = now()
            batched = t1 - t0 <= 65_536
            if batched:
                break
    samples, total = [], 0
    while not (len(samples) >= min_samples and total >= min_time):
        if batched:
            t0 = now()
            for _ in range(batch_size):
                fn()
            t1 = now()
            samples.append((t1 - t0) / batch_size)
        else:
            t0 = now(); fn(); t1 = now()
            samples.append(t1 - t0)
        total += t1 - t0
    return stats_of(samples, per)


def sample(setup, body, teardown, min_samples, min_time_ms=0, per=1):
    """One untimed warm-up, then timed body(state) between untimed setup() and teardown(state)."""
    samples, total = [], 0
    for i in range(-1, 1 << 30):
        if i >= 0 and len(samples) >= min_samples and total >= min_time_ms * 1e6:
            break
        state = setup()
        try:
            t0 = now(); body(state); t1 = now()
        finally:
            teardown(state)
        if i >= 0:
            samples.append(t1 - t0)
            total += t1 - t0
    return stats_of(samples, per)


_previous = {}


def sample_handoff(op, size, body):
    """A handoff at one size, by the rule of bench/handoff.ts: a warm-up unless the previous size's
    median, scaled, foresees more than handoff_cap_ms; then samples until handoff_samples and
    handoff_time_ms, or until they took handoff_cap_ms in all (at least one)."""
    cap = CONFIG["handoff_cap_ms"] * 1e6
    prior = _previous.get(op)
    if prior is None or prior[0] * size / prior[1] <= cap:
        body()
    samples, total = [], 0
    while not (len(samples) >= CONFIG["handoff_samples"] and total >= CONFIG["handoff_time_ms"] * 1e6) \
            and not (len(samples) >= 1 and total >= cap):
        t0 = now(); body(); t1 = now()
        samples.append(t1 - t0)
        total += t1 - t0
    stats = stats_of(samples)
    _previous[op] = (stats["p50"], size)
    return stats


def emit(bench, op, stats, unit="op", size=None, nbytes=None):
    record = {"bench": bench, "op": op, "impl": "cpython", "unit": unit}
    if size is not None:
        record["size"] = size
    if nbytes is not None:
        record["bytes"] = nbytes
    record.update(stats)
    print(json.dumps(record), flush=True)


_counter = 0


def bench_name(tag):
    global _counter
    _counter += 1
    return f"shmbench_cpython_{os.getpid()}_{tag}_{_counter}"


def check(condition, message):
    if not condition:
        raise RuntimeError(f"benchmark check failed: {message}")


# ---- 1. lifecycle ----

def bench_lifecycle():
    size = int(CONFIG["segment_bytes"])
    progress("create + touch + close + unlink")

    def create():
        shm = SharedMemory(create=True, size=size)
        try:
            shm.buf[0] = 1
            shm.close()
        finally:
            shm.unlink()

    emit("lifecycle", "create", measure(create))

    progress("attach + close")
    owner = SharedMemory(name=bench_name("attach"), create=True, size=size)
    try:
        owner.buf[0] = 7
        name = owner.name

        def attach():
            SharedMemory(name=name).close()

        emit("lifecycle", "attach", measure(attach))
        probe = SharedMemory(name=name)
        check(probe.buf[0] == 7, "an attached handle sees the owner's byte")
        probe.close()
    finally:
        owner.close()
        owner.unlink()  # also drops the attaches' registrations with the resource tracker


# ---- 2. memory ----

def bench_memory():
    n = int(CONFIG["rw_bytes"])
    samples = int(CONFIG["rw_samples"])
    shm = SharedMemory(name=bench_name("rw"), create=True, size=n)
    try:
        backings = {"shm": np.ndarray((n,), np.uint8, buffer=shm.buf), "private": np.zeros(n, np.uint8)}
        for a in backings.values():
            a.fill(0)
        counter = [0]

        def fill(a):
            counter[0] += 1
            a.fill(counter[0] & 255)

        def read(a):
            return a.view(np.int32).sum(dtype=np.int32)

        for op, fn in (("fill", fill), ("read", read)):
            for backing, a in backings.items():
                progress(f"{op} {n} B ({backing})")
                emit("memory", f"{op}/{backing}", measure(functools.partial(fn, a), samples, 0, 1), nbytes=n)
        del a, backings
    finally:
        shm.close()
        shm.unlink()

    size = int(CONFIG["touch_bytes"])
    pages = size // PAGE
    progress(f"new segment + first touch of {pages} pages")
    fresh = []

    def touch_shm(_):
        segment = SharedMemory(name=bench_name("touch"), create=True, size=size)
        fresh.append(segment)
        np.ndarray((size,), np.uint8, buffer=segment.buf)[::PAGE] = 1

    def release(_):
        while fresh:
            segment = fresh.pop()
            segment.close()
            segment.unlink()

    try:
        emit("memory", "touch/shm", sample(lambda: None, touch_shm, release, samples, per=pages), unit="page")
    finally:
        release(None)

    progress(f"new numpy array + first touch of {pages} pages")

    def touch_private(_):
        np.zeros(size, np.uint8)[::PAGE] = 1

    emit("memory", "touch/private", sample(lambda: None, touch_private, lambda _: None, samples, per=pages),
         unit="page")


# ---- 3. handoff: the seed example, with a long-lived child ----

def work(a, kind):
    if kind == "ends":
        a[:1] += 1  # slices, not scalars: uint8 wraps at 255 without a warning
        a[-1:] += 1
    else:
        a[::8] += 1


def read_fully(stream, into):
    view = memoryview(into)
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])
        if not n:
            raise EOFError("the pipe closed")
        got += n


def write_fully(stream, data):
    view = memoryview(data).cast("B")
    put = 0
    while put < len(view):
        put += stream.write(view[put:])


def child_main(conn, down, up, parents_ends):
    """The seed example's child: attach by name, wrap in numpy, change in place, close.

    Copies come down the pipe `down` and go back up `up` (raw file objects: readinto, no extra copy).
    The parent's ends, inherited through fork, are closed so that the child sees the parent go away.
    """
    for fd in parents_ends:
        os.close(fd)
    down = os.fdopen(down, "rb", buffering=0)
    up = os.fdopen(up, "wb", buffering=0)
    kept = {}
    payload = bytearray()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        verb = message[0]
        if verb == "quit":
            return
        if verb == "shm":
            _, kind, name = message
            shm = SharedMemory(name=name)
            a = np.ndarray((shm.size,), np.uint8, buffer=shm.buf)
            work(a, kind)
            del a
            shm.close()
            conn.send_bytes(b"k")
        elif verb == "kept":
            _, kind, name = message
            if name not in kept:
                shm = SharedMemory(name=name)
                kept[name] = (shm, np.ndarray((shm.size,), np.uint8, buffer=shm.buf))
            work(kept[name][1], kind)
            conn.send_bytes(b"k")
        elif verb == "release":
            shm, a = kept.pop(message[1])
            del a
            shm.close()
            conn.send_bytes(b"k")
        elif verb == "pipe":
            _, kind, size = message
            if len(payload) != size:
                payload = bytearray(size)
            read_fully(down, payload)
            work(np.frombuffer(payload, np.uint8), kind)
            write_fully(up, payload)


def bench_handoff():
    progress("child process start-up (python3 importing numpy and shared_memory)")
    here = os.path.abspath(__file__)

    def start(_):
        child = subprocess.Popen([sys.executable, here, "ready"], stdout=subprocess.PIPE)
        check(child.stdout.read(1) == b"k", "the child says k")
        child.wait()

    emit("startup", "process", sample(lambda: None, start, lambda _: None, int(CONFIG["startup_samples"])))

    parent, child_end = Pipe()
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    # As in the seed example, where the parent creates a segment before it starts the child: the two
    # share one resource tracker (a child forked before it starts would get its own, and at its exit
    # that one would warn about and unlink every segment the child ever attached: python/cpython#82300).
    resource_tracker.ensure_running()
    child = Process(target=child_main, args=(child_end, down_r, up_w, [parent.fileno(), down_w, up_r]), daemon=True)
    child.start()
    os.close(down_r)
    os.close(up_w)
    down = os.fdopen(down_w, "wb", buffering=0)
    up = os.fdopen(up_r, "rb", buffering=0)
    try:
        for size in [int(s) for s in CONFIG["sizes"].split(",")]:
            shm = SharedMemory(name=bench_name("handoff"), create=True, size=size)
            try:
                a = np.ndarray((size,), np.uint8, buffer=shm.buf)
                a.fill(0)
                for op, verb, kind in (("shm-ends", "shm", "ends"), ("shm-every8", "shm", "every8"),
                                       ("kept-every8", "kept", "every8")):
                    progress(f"{op} {size} B")
                    before = int(a[0])
                    count = [0]

                    def handoff(message=(verb, kind, shm.name)):
                        parent.send(message)
                        parent.recv_bytes()
                        count[0] += 1

                    stats = sample_handoff(op, size, handoff)
                    check(int(a[0]) == (before + count[0]) % 256, f"{op}: every change of the child is visible")
                    emit("handoff", op, stats, size=size)
                parent.send(("release", shm.name))
                parent.recv_bytes()
                del a
            finally:
                shm.close()
                shm.unlink()

            progress(f"pipe-every8 {size} B")
            data = np.zeros(size, np.uint8)
            back = bytearray(size)

            def through_pipe():
                parent.send(("pipe", "every8", size))
                write_fully(down, data)
                read_fully(up, back)

            stats = sample_handoff("pipe-every8", size, through_pipe)
            check(back[0] == 1, "pipe: the changed bytes come back")
            emit("handoff", "pipe-every8", stats, size=size)
            del data, back
    finally:
        parent.send(("quit",))
        down.close()
        up.close()
        child.join(10)
        if child.is_alive():
            child.kill()


# ---- 4. ShareableList ----

def bench_list():
    n = int(CONFIG["list_items"])
    cases = {
        "int": (list(range(n)), lambda i: i + 1),
        "str": ([f"s{i}" for i in range(n)], lambda i: f"x{i % 100}"),
    }
    for kind, (values, new_value) in cases.items():
        sl = ShareableList(values)
        try:
            replacements = [new_value(i) for i in range(n)]

            def get_all():
                for i in range(n):
                    sl[i]

            def set_all():
                for i in range(n):
                    sl[i] = replacements[i]

            for op, fn in (("get", get_all), ("set", set_all)):
                progress(f"{op} {kind} x {n}")
                emit("list", f"{op}/{kind}", measure(fn, per=n), unit="item")
            check(sl[n - 1] == replacements[n - 1], "the list holds what was set")
        finally:
            sl.shm.close()
            sl.shm.unlink()


# ---- 5. the cost of a call ----

def bench_ffi():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    getpid = libc.getpid
    getpid.restype = ctypes.c_int
    c_abs = libc.abs
    c_abs.argtypes = [ctypes.c_int]
    c_abs.restype = ctypes.c_int
    progress("getpid")
    emit("ffi", "getpid", measure(getpid), unit="call")
    progress("abs")
    emit("ffi", "abs", measure(functools.partial(c_abs, -7)), unit="call")


# ---- 6. processes that wait for each other (bench/sync.ts) ----

PLACEMENTS = {"one-cpu": (0, 0), "two-cpus": (0, 1), "free": (None, None)}


def emit_variant(bench, op, variant, stats, unit):
    record = {"bench": bench, "op": op, "impl": "cpython", "unit": unit}
    if variant:
        record["variant"] = variant
    record.update(stats)
    print(json.dumps(record), flush=True)


def pin(cpu):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def pipe_side(conn, mine, rounds, durations=None, batch=1):
    """One side of a Pipe ping-pong; ping (mine 0) times batches of round trips."""
    message = b"x"
    t0 = now()
    for i in range(rounds):
        if mine == 0:
            if i % batch == 0:
                t = now()
                if i and durations is not None:
                    durations.append(t - t0)
                t0 = t
            conn.send_bytes(message)
            conn.recv_bytes()
        else:
            conn.recv_bytes()
            conn.send_bytes(message)
    if durations is not None:
        durations.append(now() - t0)


def event_side(mine_event, other_event, mine, rounds, durations=None, batch=1):
    """One side of a ping-pong over two multiprocessing.Events: set the other's, wait for and clear one's own."""
    t0 = now()
    for i in range(rounds):
        if mine == 0:
            if i % batch == 0:
                t = now()
                if i and durations is not None:
                    durations.append(t - t0)
                t0 = t
            other_event.set()
            mine_event.wait()
            mine_event.clear()
        else:
            mine_event.wait()
            mine_event.clear()
            other_event.set()
    if durations is not None:
        durations.append(now() - t0)


def futex_side(shm, mine, rounds, durations=None, batch=1):
    """bench/sync_child.ts in Python, through shm_interop.sync's futex calls (the child uses the segment
    it inherited by fork)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
    from shm_interop import sync
    address = sync._address(shm.buf)
    word = ctypes.c_int32.from_address(address)
    end = 2 * rounds
    t0 = now()
    while True:
        turn = word.value
        while turn < end and turn % 2 != mine:
            sync._futex_wait_at(address, turn, 10)
            turn = word.value
        if turn >= end:
            break
        if mine == 0 and turn % (2 * batch) == 0:
            t = now()
            if turn and durations is not None:
                durations.append(t - t0)
            t0 = t
        word.value = turn + 1
        sync._futex_wake_at(address)
    if durations is not None:
        durations.append(now() - t0)
    del word


def play_pair(ping_cpu, pong_cpu, side, args, rounds, batch):
    """Runs `side` in a child (pong, pinned) and here (ping, pinned): the per-round-trip statistics."""
    def pong():
        pin(pong_cpu)
        side(*args(1), rounds)
    child = Process(target=pong)
    child.start()
    before = os.sched_getaffinity(0)
    pin(ping_cpu)
    durations = []
    try:
        side(*args(0), rounds, durations, batch)
    finally:
        os.sched_setaffinity(0, before)
        child.join()
    return stats_of(durations[1:], batch)


def bench_sync():
    import multiprocessing
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
    from shm_interop import sync
    samples = 3 if CONFIG["quick"] else 15
    batch = 200 if CONFIG["quick"] else 2000
    rounds = batch * (samples + 1)

    def pipe_row(op, ping_cpu, pong_cpu):
        """The multiprocessing.Pipe ping-pong, the rows without a variant the JS rows are divided by."""
        a, b = Pipe()
        emit_variant("sync", op, None, play_pair(ping_cpu, pong_cpu, pipe_side, lambda m: ((a, b)[m], m), rounds,
                                                   batch), "round trip")

    if os.environ.get("SHM_BENCH_ROWS") == "pingpong-one-cpu":
        # the one-CPU Pipe row alone: bench/main.ts's rounds in turn (IN_TURN_ROWS)
        pipe_row("pingpong/one-cpu", *PLACEMENTS["one-cpu"])
        return
    progress("multiprocessing.Lock acquire + release")
    lock = multiprocessing.Lock()
    emit("sync", "lock", measure(lambda: (lock.acquire(), lock.release())), unit="op")
    progress("shm_interop Mutex acquire + release")
    mutex = sync.Mutex.create()
    try:
        emit_variant("sync", "lock", "shm_interop", measure(lambda: (mutex.acquire(), mutex.release())), "op")
    finally:
        segment = mutex.shm
        mutex.close()
        segment.unlink()
    for placement, (ping_cpu, pong_cpu) in PLACEMENTS.items():
        op = f"pingpong/{placement}"
        progress(f"{op} multiprocessing.Pipe")
        pipe_row(op, ping_cpu, pong_cpu)
        progress(f"{op} multiprocessing.Event")
        events = (multiprocessing.Event(), multiprocessing.Event())
        emit_variant("sync", op, "multiprocessing.Event", play_pair(
            ping_cpu, pong_cpu, event_side, lambda m: (events[m], events[1 - m], m), rounds, batch), "round trip")
        progress(f"{op} shm_interop futex")
        shm = SharedMemory(name=bench_name("pingpong"), create=True, size=64)
        try:
            emit_variant("sync", op, "shm_interop futex", play_pair(
                ping_cpu, pong_cpu, futex_side, lambda m: (shm, m), rounds, batch), "round trip")
        finally:
            shm.close()
            shm.unlink()


# ---- 7. channels between processes (bench/channel.ts) ----
# What Python users reach for: multiprocessing.Queue (the rows without a variant, which the JS rows
# are divided by) and multiprocessing.Pipe (variant "Pipe"), between two processes.

def _json_value(i):
    return {"id": i, "name": "frame", "tags": ["a", "b"], "values": [i, i + 1, i + 2, 0.5], "ok": True}


def queue_sender(queue, count, json_values):
    message = bytes(64)
    for i in range(count):
        queue.put(_json_value(i) if json_values else message)
    queue.put(None)


def pipe_sender(conn, count, json_values):
    message = bytes(64)
    for i in range(count):
        if json_values:
            conn.send(_json_value(i))
        else:
            conn.send_bytes(message)
    conn.send(None)


def time_receives(batches, batch, receive_one):
    """As timeBatches in channel.ts: the first message, then batches of receives, per message."""
    receive_one()
    durations = []
    for b in range(batches):
        n = batch - 1 if b == 0 else batch
        t0 = now()
        for _ in range(n):
            receive_one()
        durations.append((now() - t0) / n)
    return durations


def echo_side(inbox, outbox, count, cpu):
    pin(cpu)
    for _ in range(count):
        outbox.put(inbox.get())


def pipe_echo_side(conn, count, cpu):
    pin(cpu)
    for _ in range(count):
        conn.send_bytes(conn.recv_bytes())


def bench_channel():
    import multiprocessing
    batches = 3 if CONFIG["quick"] else 15
    for op, json_values, batch in (("oneway64", False, 20000), ("json", True, 10000)):
        batch = batch >> 6 if CONFIG["quick"] else batch
        nbytes = None if json_values else 64
        progress(f"{op} multiprocessing.Queue")
        queue = multiprocessing.Queue(maxsize=1000)
        child = Process(target=queue_sender, args=(queue, batches * batch, json_values))
        child.start()
        durations = time_receives(batches, batch, queue.get)
        check(queue.get() is None, "the queue ended")
        child.join()
        record = {"bench": "channel", "op": op, "impl": "cpython", "unit": "message"}
        if nbytes:
            record["bytes"] = nbytes
        print(json.dumps({**record, **stats_of(durations)}), flush=True)
        progress(f"{op} multiprocessing.Pipe")
        receiver, sender = Pipe(duplex=False)
        child = Process(target=pipe_sender, args=(sender, batches * batch, json_values))
        child.start()
        durations = time_receives(batches, batch, receiver.recv if json_values else receiver.recv_bytes)
        check(receiver.recv() is None, "the pipe ended")
        child.join()
        print(json.dumps({**record, "variant": "Pipe", **stats_of(durations)}), flush=True)
    batch = 1000 if not CONFIG["quick"] else 50
    message = bytes(64)
    for placement, (ping_cpu, pong_cpu) in PLACEMENTS.items():
        op = f"roundtrip/{placement}"
        progress(f"{op} multiprocessing.Queue")
        there, back = multiprocessing.Queue(), multiprocessing.Queue()
        child = Process(target=echo_side, args=(there, back, batches * batch, pong_cpu))
        child.start()
        before = os.sched_getaffinity(0)
        pin(ping_cpu)
        try:
            durations = time_receives(batches, batch, lambda: (there.put(message), back.get()))
        finally:
            os.sched_setaffinity(0, before)
        child.join()
        emit_variant("channel", op, None, stats_of(durations), "round trip")
        progress(f"{op} multiprocessing.Pipe")
        mine, theirs = Pipe()
        child = Process(target=pipe_echo_side, args=(theirs, batches * batch, pong_cpu))
        child.start()
        pin(ping_cpu)
        try:
            durations = time_receives(batches, batch, lambda: (mine.send_bytes(message), mine.recv_bytes()))
        finally:
            os.sched_setaffinity(0, before)
        child.join()
        emit_variant("channel", op, "Pipe", stats_of(durations), "round trip")


BENCHMARKS = {"lifecycle": bench_lifecycle, "memory": bench_memory, "handoff": bench_handoff,
              "list": bench_list, "ffi": bench_ffi, "sync": bench_sync, "channel": bench_channel}

if __name__ == "__main__":
    if sys.argv[1:2] == ["ready"]:
        sys.stdout.buffer.write(b"k")
        sys.exit(0)
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHMARKS:
        sys.exit(f"usage: cpython.py <{'|'.join(BENCHMARKS)}> key=value...")
    parse_args(sys.argv[2:])
    # SIGTERM (the orchestrator's timeout) unwinds through the finally blocks that unlink segments.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    BENCHMARKS[sys.argv[1]]()
