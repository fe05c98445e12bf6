/*
 * The C baseline: the same work as the TypeScript benchmarks, straight on libc, as the physical limit.
 * Compiled by bench/main.ts at bench time:  cc -O3 -pthread -o bench/build/baseline bench/baseline.c -lrt
 *
 *   baseline <lifecycle|memory|handoff|ffi|sync|channel> key=value...     one JSON line per result on stdout
 *
 * The key=value arguments come from bench/config.ts. Sampling copies mitata's: one warm-up call (and
 * two more while a call takes under 0.5 ms), batches of `batch` calls while one call takes under 65 us,
 * samples until both `min_samples` and `min_time_ms` are reached, the 2 fastest and 2 slowest dropped
 * above 12 samples. Every segment is named shmbench_c_<pid>_... and unlinked before exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- configuration (bench/config.ts) ---- */

static struct {
    long quick, min_time_ms, min_samples, batch, segment_bytes, rw_bytes, rw_samples, touch_bytes;
    long handoff_samples, handoff_time_ms, handoff_cap_ms, startup_samples, list_items;
    char sizes[512];
} cfg;

static const struct { const char *key; long *value; } KEYS[] = {
    {"quick", &cfg.quick}, {"min_time_ms", &cfg.min_time_ms}, {"min_samples", &cfg.min_samples},
    {"batch", &cfg.batch}, {"segment_bytes", &cfg.segment_bytes}, {"rw_bytes", &cfg.rw_bytes},
    {"rw_samples", &cfg.rw_samples}, {"touch_bytes", &cfg.touch_bytes},
    {"handoff_samples", &cfg.handoff_samples}, {"handoff_time_ms", &cfg.handoff_time_ms},
    {"handoff_cap_ms", &cfg.handoff_cap_ms},
    {"startup_samples", &cfg.startup_samples}, {"list_items", &cfg.list_items},
};

static void parse_args(int argc, char **argv) {
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) { fprintf(stderr, "bad argument %s\n", argv[i]); exit(2); }
        *eq = 0;
        if (strcmp(argv[i], "sizes") == 0) { snprintf(cfg.sizes, sizeof cfg.sizes, "%s", eq + 1); continue; }
        int found = 0;
        for (size_t k = 0; k < sizeof KEYS / sizeof KEYS[0]; k++)
            if (strcmp(argv[i], KEYS[k].key) == 0) { *KEYS[k].value = atol(eq + 1); found = 1; }
        if (!found) { fprintf(stderr, "unknown argument %s\n", argv[i]); exit(2); }
    }
}

static void die(const char *what) { perror(what); exit(1); }

/* ---- timing ---- */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct { double p50, p25, p75, min, max; int samples; } stats_t;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* mitata's statistics: sorted, 2 dropped at each end above 12 samples, quantile (q * (n - 1)) | 0. */
static stats_t stats_of(double *s, int n, double per) {
    for (int i = 0; i < n; i++) s[i] /= per;
    qsort(s, n, sizeof *s, cmp_double);
    if (n > 12) { s += 2; n -= 4; }
    stats_t st = {s[(int)(0.5 * (n - 1))], s[(int)(0.25 * (n - 1))], s[(int)(0.75 * (n - 1))], s[0], s[n - 1], n};
    return st;
}

#define MAX_SAMPLES (1 << 20)
static double samples[MAX_SAMPLES];

typedef void (*fn_t)(void *);

/* Times fn(ctx) as mitata's measure() does; statistics per call, divided by `per`. */
static stats_t measure(fn_t fn, void *ctx, long min_samples, long min_time_ms, long batch_size, double per) {
    int batch = 0;
    double t0 = now_ns();
    fn(ctx);
    double t1 = now_ns();
    if (t1 - t0 <= 500000) {
        for (int i = 0; i < 2; i++) {
            t0 = now_ns(); fn(ctx); t1 = now_ns();
            if ((batch = (t1 - t0 <= 65536))) break;
        }
    }
    int n = 0;
    double total = 0;
    for (; n < MAX_SAMPLES; n++) {
        if (n >= min_samples && total >= min_time_ms * 1e6) break;
        t0 = now_ns();
        if (batch) for (long b = 0; b < batch_size; b++) fn(ctx);
        else fn(ctx);
        t1 = now_ns();
        samples[n] = (t1 - t0) / (batch ? batch_size : 1);
        total += t1 - t0;
    }
    return stats_of(samples, n, per);
}

/* The last median and size of each handoff method, to foresee the next size's cost. */
static struct { char op[16]; double median; double size; } previous[8];

/*
 * A handoff at one size: a warm-up unless the previous size's median, scaled to this size, foresees a
 * round trip over cap_ms; then samples until handoff_samples and handoff_time_ms, or until the samples
 * took cap_ms in all (at least one). The same rule as bench/handoff.ts.
 */
static stats_t sample_handoff(const char *op, double size, fn_t fn, void *ctx) {
    double cap = cfg.handoff_cap_ms * 1e6;
    int slot = 0;
    while (slot < 7 && previous[slot].op[0] && strcmp(previous[slot].op, op) != 0) slot++;
    if (!previous[slot].op[0] || previous[slot].median * size / previous[slot].size <= cap) fn(ctx);
    int n = 0;
    double total = 0;
    while (n < MAX_SAMPLES && !(n >= cfg.handoff_samples && total >= cfg.handoff_time_ms * 1e6) &&
           !(n >= 1 && total >= cap)) {
        double t0 = now_ns();
        fn(ctx);
        double t1 = now_ns();
        samples[n++] = t1 - t0;
        total += t1 - t0;
    }
    stats_t st = stats_of(samples, n, 1);
    snprintf(previous[slot].op, sizeof previous[slot].op, "%s", op);
    previous[slot].median = st.p50;
    previous[slot].size = size;
    return st;
}

/* Without key=value arguments (`baseline sync` run by hand) the full table of bench/config.ts, as suite.ts
 * defaults to it: zero samples and zero time would stop before the first sample. */
static stats_t micro(fn_t fn, void *ctx) {
    return measure(fn, ctx, cfg.min_samples ? cfg.min_samples : 12, cfg.min_time_ms ? cfg.min_time_ms : 642,
                   cfg.batch ? cfg.batch : 1024, 1);
}

static void emit_variant(const char *bench, const char *op, const char *variant, long size, const char *unit,
                         long bytes, stats_t st) {
    printf("{\"bench\":\"%s\",\"op\":\"%s\",\"impl\":\"c\",", bench, op);
    if (variant) printf("\"variant\":\"%s\",", variant);
    if (size) printf("\"size\":%ld,", size);
    if (bytes) printf("\"bytes\":%ld,", bytes);
    printf("\"unit\":\"%s\",\"p50\":%.3f,\"p25\":%.3f,\"p75\":%.3f,\"min\":%.3f,\"max\":%.3f,\"samples\":%d}\n",
           unit, st.p50, st.p25, st.p75, st.min, st.max, st.samples);
    fflush(stdout);
}

static void emit(const char *bench, const char *op, long size, const char *unit, long bytes, stats_t st) {
    emit_variant(bench, op, NULL, size, unit, bytes, st);
}

static void progress(const char *what) { fprintf(stderr, "  [c] %s\n", what); }

/* ---- segments ---- */

static unsigned long counter;

static void bench_name(char *out, size_t len, const char *tag) {
    snprintf(out, len, "/shmbench_c_%d_%s_%lu", (int)getpid(), tag, counter++);
}

/* Names created and not yet unlinked, so a failure (exit) still unlinks them. */
#define MAX_LIVE 16
static char live[MAX_LIVE][96];

static void remember(const char *name) {
    for (int i = 0; i < MAX_LIVE; i++) if (!live[i][0]) { snprintf(live[i], sizeof live[i], "%s", name); return; }
}

static void forget(const char *name) {
    for (int i = 0; i < MAX_LIVE; i++) if (strcmp(live[i], name) == 0) live[i][0] = 0;
}

/* The process that made the segments in `live`: a forked child inherits the table, atexit and the signal
 * handlers, and must not unlink the parent's segments when it exits or is killed. */
static pid_t owner;

static void unlink_live(void) {
    if (getpid() != owner) return;
    for (int i = 0; i < MAX_LIVE; i++) if (live[i][0]) shm_unlink(live[i]);
}

/* Creates, sizes and maps a segment the benchmark keeps for a while (remembered until released). */
static unsigned char *create_segment(char *name, size_t name_len, const char *tag, size_t size) {
    bench_name(name, name_len, tag);
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) die("shm_open");
    remember(name);
    if (ftruncate(fd, (off_t)size) < 0) die("ftruncate");
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    close(fd);
    return p;
}

static void release_segment(const char *name, void *p, size_t size) {
    munmap(p, size);
    shm_unlink(name);
    forget(name);
}

/* ---- 1. lifecycle ---- */

/* The library's syscalls in its order: shm_open, ftruncate, mmap, close; touch; munmap; shm_unlink. */
static void create_touch_close_unlink(void *ctx) {
    (void)ctx;
    char name[96];
    bench_name(name, sizeof name, "create");
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) die("shm_open");
    if (ftruncate(fd, cfg.segment_bytes) < 0) { shm_unlink(name); die("ftruncate"); }
    volatile unsigned char *p = mmap(NULL, cfg.segment_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { shm_unlink(name); die("mmap"); }
    close(fd);
    p[0] = 1;
    munmap((void *)p, cfg.segment_bytes);
    if (shm_unlink(name) < 0) die("shm_unlink");
}

/* Attach as the library does: shm_open, fstat for the size, mmap, close; then munmap. */
static void attach_close(void *ctx) {
    const char *name = ctx;
    int fd = shm_open(name, O_RDWR, 0600);
    if (fd < 0) die("shm_open");
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat");
    void *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap");
    close(fd);
    munmap(p, st.st_size);
}

static volatile int spinning;

static void *spin(void *arg) {
    (void)arg;
    while (spinning) {}
    return NULL;
}

static void bench_lifecycle(void) {
    progress("create + touch + close + unlink");
    emit("lifecycle", "create", 0, "op", 0, micro(create_touch_close_unlink, NULL));
    /*
     * The same with a second thread of this process running on the other core, as the runtimes' own
     * threads (JIT, GC) do: munmap of a touched page must then interrupt that core to flush its TLB.
     */
    progress("create + touch + close + unlink, another thread running");
    pthread_t thread;
    spinning = 1;
    if (pthread_create(&thread, NULL, spin, NULL) != 0) die("pthread_create");
    usleep(1000);
    stats_t threaded = micro(create_touch_close_unlink, NULL);
    spinning = 0;
    pthread_join(thread, NULL);
    emit_variant("lifecycle", "create", "another thread running", 0, "op", 0, threaded);
    progress("attach + close");
    char name[96];
    unsigned char *owner = create_segment(name, sizeof name, "attach", cfg.segment_bytes);
    owner[0] = 7;
    emit("lifecycle", "attach", 0, "op", 0, micro(attach_close, name));
    release_segment(name, owner, cfg.segment_bytes);
}

/* ---- 2. memory ---- */

typedef struct { unsigned char *p; size_t n; unsigned v; } region_t;

static volatile int64_t sink;

static void fill(void *ctx) {
    region_t *r = ctx;
    memset(r->p, (int)(++r->v & 255), r->n);
}

static void write_loop(void *ctx) {
    region_t *r = ctx;
    int32_t *a = (int32_t *)r->p;
    size_t n = r->n / 4;
    int32_t base = (int32_t)++r->v;
    for (size_t i = 0; i < n; i++) a[i] = (int32_t)i + base;
}

static void read_loop(void *ctx) {
    region_t *r = ctx;
    const int32_t *a = (const int32_t *)r->p;
    size_t n = r->n / 4;
    int32_t s = 0;
    for (size_t i = 0; i < n; i++) s += a[i];
    sink = s;
}

static const struct { const char *op; fn_t fn; } RW_OPS[] = {
    {"fill", fill}, {"write", write_loop}, {"read", read_loop},
};

/* First touch of every page of fresh memory: a new segment (shm) or new anonymous memory (private). */
static stats_t first_touch(int shared) {
    long page = sysconf(_SC_PAGESIZE);
    size_t size = cfg.touch_bytes;
    double *raw = malloc(sizeof(double) * 4096);
    int n = 0;
    double total = 0;
    for (int i = -1; n < 4096 && (n < cfg.min_samples || total < cfg.min_time_ms * 1e6); i++) {
        char name[96];
        unsigned char *p;
        if (shared) p = create_segment(name, sizeof name, "touch", size);
        else {
            p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) die("mmap");
        }
        volatile unsigned char *v = p;
        double t0 = now_ns();
        for (size_t o = 0; o < size; o += page) v[o] = 1;
        double t1 = now_ns();
        if (shared) release_segment(name, p, size);
        else munmap(p, size);
        if (i < 0) continue;
        raw[n++] = t1 - t0;
        total += t1 - t0;
    }
    stats_t st = stats_of(raw, n, (double)(size / page));
    free(raw);
    return st;
}

static void bench_memory(void) {
    size_t n = cfg.rw_bytes;
    char name[96];
    region_t shm = {create_segment(name, sizeof name, "rw", n), n, 0};
    region_t priv = {mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), n, 0};
    if (priv.p == MAP_FAILED) die("mmap");
    memset(shm.p, 0, n); /* both backings start with every page present */
    memset(priv.p, 0, n);
    char op[64];
    for (size_t k = 0; k < sizeof RW_OPS / sizeof RW_OPS[0]; k++) {
        for (int s = 0; s < 2; s++) {
            region_t *r = s ? &priv : &shm;
            snprintf(op, sizeof op, "%s/%s", RW_OPS[k].op, s ? "private" : "shm");
            progress(op);
            emit("memory", op, 0, "op", (long)n, measure(RW_OPS[k].fn, r, cfg.rw_samples, 0, 1, 1));
        }
    }
    release_segment(name, shm.p, n);
    munmap(priv.p, n);
    progress("first touch");
    emit("memory", "touch/shm", 0, "page", 0, first_touch(1));
    emit("memory", "touch/private", 0, "page", 0, first_touch(0));
}

/* ---- 3. handoff ---- */

/* A command to the long-lived child: what to do and with which segment (or how many bytes follow). */
typedef struct { char op[16]; long size; char name[96]; } command_t;

static void read_full(int fd, void *buf, size_t n) {
    unsigned char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) die("read");
        p += r; n -= (size_t)r;
    }
}

static void write_full(int fd, const void *buf, size_t n) {
    const unsigned char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        p += w; n -= (size_t)w;
    }
}

/*
 * The work the child does: +1 on the first and last byte ("ends"), or on every 8th byte ("every8").
 * Through a volatile pointer, so the compiler emits a load and a store as the JITs and numpy do, and
 * not one read-modify-write instruction: on a page not yet mapped that takes a write fault per page,
 * where a load first is served by fault-around (16 pages per fault) and a cheaper write-protect fault,
 * nearly twice as fast on this machine.
 */
static void work(volatile unsigned char *a, size_t n, int every8) {
    if (every8) for (size_t i = 0; i < n; i += 8) a[i]++;
    else { a[0]++; a[n - 1]++; }
}

/* Attaches as the library does: shm_open, fstat for the size, mmap, close. */
static unsigned char *attach(const char *name, size_t *size) {
    int fd = shm_open(name, O_RDWR, 0600);
    if (fd < 0) die("child shm_open");
    struct stat st;
    if (fstat(fd, &st) < 0) die("child fstat");
    unsigned char *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("child mmap");
    close(fd);
    *size = st.st_size;
    return p;
}

static void child_loop(int in, int out) {
    unsigned char *buf = NULL, *kept = NULL;
    size_t cap = 0, kept_size = 0;
    command_t c;
    for (;;) {
        read_full(in, &c, sizeof c);
        if (strcmp(c.op, "quit") == 0) _exit(0);
        if (strcmp(c.op, "release") == 0) {
            if (kept) munmap(kept, kept_size);
            kept = NULL;
            write_full(out, "k", 1);
        } else if (strncmp(c.op, "kept-", 5) == 0) {
            if (!kept) kept = attach(c.name, &kept_size);
            work(kept, kept_size, 1);
            write_full(out, "k", 1);
        } else if (strncmp(c.op, "shm-", 4) == 0) {
            size_t size;
            unsigned char *p = attach(c.name, &size);
            work(p, size, strcmp(c.op, "shm-every8") == 0);
            munmap(p, size);
            write_full(out, "k", 1);
        } else {
            if ((size_t)c.size > cap) { free(buf); buf = malloc(cap = c.size); }
            read_full(in, buf, c.size);
            work(buf, c.size, 1);
            write_full(out, buf, c.size);
        }
    }
}

typedef struct { int to, from; command_t c; unsigned char *data, *back; long count; } handoff_t;

static void handoff_once(void *ctx) {
    handoff_t *h = ctx;
    h->count++;
    write_full(h->to, &h->c, sizeof h->c);
    if (strncmp(h->c.op, "pipe-", 5) != 0) {
        char k;
        read_full(h->from, &k, 1);
    } else {
        write_full(h->to, h->data, h->c.size);
        read_full(h->from, h->back, h->c.size);
    }
}

/* Process start-up: spawn this program with `ready`, wait for its byte, reap it. */
static void startup_once(void *ctx) {
    const char *self = ctx;
    int p[2];
    if (pipe(p) < 0) die("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    char *args[] = {(char *)self, "ready", NULL};
    pid_t pid;
    if (posix_spawn(&pid, self, &fa, NULL, args, environ) != 0) die("posix_spawn");
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    char k;
    read_full(p[0], &k, 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
}

static const char *HANDOFF_OPS[] = {"shm-ends", "shm-every8", "kept-every8", "pipe-every8"};

static void bench_handoff(const char *self) {
    progress("process start-up");
    emit("startup", "process", 0, "op", 0, measure(startup_once, (void *)self, cfg.startup_samples, 0, 1, 1));

    int down[2], up[2];
    if (pipe(down) < 0 || pipe(up) < 0) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        memset(live, 0, sizeof live); /* the parent's segments are the parent's to unlink */
        owner = getpid();              /* and its own are its own */
        close(down[1]); close(up[0]);
        child_loop(down[0], up[1]);
    }
    close(down[0]); close(up[1]);

    char sizes[512];
    snprintf(sizes, sizeof sizes, "%s", cfg.sizes);
    for (char *tok = strtok(sizes, ","); tok; tok = strtok(NULL, ",")) {
        size_t n = strtoul(tok, NULL, 10);
        char name[96];
        unsigned char *segment = create_segment(name, sizeof name, "handoff", n); /* one per size, as in handoff.ts */
        memset(segment, 0, n);
        unsigned char *data = calloc(n, 1), *back = calloc(n, 1);
        if (!data || !back) die("calloc");
        for (size_t k = 0; k < sizeof HANDOFF_OPS / sizeof HANDOFF_OPS[0]; k++) {
            handoff_t h = {down[1], up[0], {{0}, (long)n, {0}}, NULL, NULL, 0};
            snprintf(h.c.op, sizeof h.c.op, "%s", HANDOFF_OPS[k]);
            int shm = strncmp(h.c.op, "pipe-", 5) != 0;
            if (shm) {
                h.data = segment;
                snprintf(h.c.name, sizeof h.c.name, "%s", name);
            } else {
                h.data = data;
                h.back = back;
            }
            unsigned char before = h.data[0];
            char label[96];
            snprintf(label, sizeof label, "%s %zu B", h.c.op, n);
            progress(label);
            stats_t st = sample_handoff(h.c.op, (double)n, handoff_once, &h);
            unsigned char expected = shm ? (unsigned char)(before + h.count) : (unsigned char)(data[0] + 1);
            if ((shm ? h.data[0] : h.back[0]) != expected) {
                fprintf(stderr, "handoff %s: the child's changes are missing\n", h.c.op);
                exit(1);
            }
            emit("handoff", h.c.op, (long)n, "op", 0, st);
            if (strncmp(h.c.op, "kept-", 5) == 0) {
                command_t release = {"release", 0, {0}};
                handoff_t r = {down[1], up[0], release, NULL, NULL, 0};
                handoff_once(&r);
            }
        }
        release_segment(name, segment, n);
        free(data);
        free(back);
    }
    command_t quit = {"quit", 0, {0}};
    write_full(down[1], &quit, sizeof quit);
    waitpid(pid, NULL, 0);
}

/* ---- 5. the cost of a call ---- */

static pid_t (*volatile getpid_ptr)(void) = getpid;
static int (*volatile abs_ptr)(int) = abs;

static void call_getpid(void *ctx) { (void)ctx; sink = getpid_ptr(); }
static void call_abs(void *ctx) { (void)ctx; sink = abs_ptr(-7); }

static void bench_ffi(void) {
    progress("getpid");
    emit("ffi", "getpid", 0, "call", 0, micro(call_getpid, NULL));
    progress("abs");
    emit("ffi", "abs", 0, "call", 0, micro(call_abs, NULL));
}

/* ---- 6. processes that wait for each other (bench/sync.ts) ---- */

/* An uncontended lock + unlock of a process-shared, robust, error-checking pthread mutex in a segment:
 * the same mutex the library's Mutex is. */
static void lock_unlock(void *ctx) {
    pthread_mutex_lock(ctx);
    pthread_mutex_unlock(ctx);
}

static long futex_op(volatile int *word, int op, int value) {
    return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

/* How a side waits for its turn, as bench/sync_child.ts's modes: `sync` sleeps with no time limit, `timed`
 * with a 10 s limit (the clock read once and a relative timespec, as futex.wait(word, 0, turn, 10_000) does),
 * `spin` spins 2000 PAUSEs first. */
enum { SYNC, SPIN, TIMED, MODES };
static const char *MODE_NAMES[] = {NULL, "spin", "timed"};

/* One spin step: the CPU's hint that this is a spin-wait loop (PAUSE, YIELD), nothing elsewhere. */
static inline void cpu_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Waits until *word leaves `turn`. */
static void wait_leaves(volatile int *word, int turn, int mode) {
    for (int i = 0; mode == SPIN && i < 2000; i++) {
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != turn) return;
        cpu_pause();
    }
    while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == turn) {
        if (mode == TIMED) {
            struct timespec start, limit = {10, 0};
            clock_gettime(CLOCK_MONOTONIC, &start);
            syscall(SYS_futex, word, FUTEX_WAIT, turn, &limit, NULL, 0);
        } else {
            futex_op(word, FUTEX_WAIT, turn);
        }
    }
}

/* Plays one side for `rounds` round trips; ping (mine 0) returns the durations of each batch. */
static void play(volatile int *word, int mine, long samples_n, long batch, int mode, double *out) {
    long end = 2 * batch * (samples_n + 1);
    double t0 = now_ns();
    for (;;) {
        int turn = __atomic_load_n(word, __ATOMIC_SEQ_CST);
        while (turn < end && (turn & 1) != mine) {
            wait_leaves(word, turn, mode);
            turn = __atomic_load_n(word, __ATOMIC_SEQ_CST);
        }
        if (turn >= end) break;
        if (mine == 0 && turn % (2 * batch) == 0) {
            double t = now_ns();
            if (turn > 0) out[turn / (2 * batch) - 1] = t - t0;
            t0 = t;
        }
        __atomic_store_n(word, turn + 1, __ATOMIC_SEQ_CST);
        futex_op(word, FUTEX_WAKE, 1);
    }
    if (mine == 0) out[samples_n] = now_ns() - t0;
}

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) die("sched_setaffinity");
}

static void bench_sync(void) {
    char name[96];
    /* SHM_BENCH_ROWS=pingpong-one-cpu: that row alone (bench/main.ts's rounds in turn, as bench/sync.ts) */
    const char *rows = getenv("SHM_BENCH_ROWS");
    int one_row = rows != NULL && strcmp(rows, "pingpong-one-cpu") == 0;
    if (!one_row) {
    progress("lock + unlock");
    pthread_mutex_t *m = (pthread_mutex_t *)create_segment(name, sizeof name, "lock", 4096);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(m, &attr);
    emit("sync", "lock", 0, "op", 0, micro(lock_unlock, m));
    release_segment(name, m, 4096);
    }

    static const struct { const char *op; int ping, pong; } PLACES[] = {
        {"pingpong/one-cpu", 0, 0}, {"pingpong/two-cpus", 0, 1}, {"pingpong/free", -1, -1}};
    long samples_n = cfg.quick ? 3 : 15, batch = cfg.quick ? 200 : 2000;
    for (int p = 0; p < 3; p++) {
        for (int mode = 0; mode < MODES; mode++) {
            if (one_row && (p != 0 || mode != 0)) continue;
            progress(PLACES[p].op);
            volatile int *word = (volatile int *)create_segment(name, sizeof name, "pingpong", 4096);
            pid_t child = fork();
            if (child < 0) die("fork");
            if (child == 0) {
                pin(PLACES[p].pong);
                play(word, 1, samples_n, batch, mode, samples);
                _exit(0);
            }
            long cpus = 0;
            cpu_set_t set;
            if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
            pin(PLACES[p].ping);
            play(word, 0, samples_n, batch, mode, samples);
            waitpid(child, NULL, 0);
            if (PLACES[p].ping >= 0 && cpus > 0) {
                cpu_set_t all;
                CPU_ZERO(&all);
                for (int c = 0; c < 64; c++) CPU_SET(c, &all);
                sched_setaffinity(0, sizeof all, &all);
            }
            emit_variant("sync", PLACES[p].op, MODE_NAMES[mode], 0, "round trip", 0,
                         stats_of(samples, (int)samples_n, (double)batch));
            release_segment(name, (void *)word, 4096);
        }
    }
}

/* ---- 7. channels between processes (bench/channel.ts) ---- */

/*
 * The library's ring in C: one sender and one receiver, records of an 8-byte header (length, kind) and
 * a payload padded to 8 bytes, a WRAP record where one does not fit before the ring's end, the tail
 * and the head on cache lines of their own, each side caching the other's index. The same waiting
 * protocol as src/channel/channel.ts: a side that must wait spins a little (only while the other side
 * runs on another CPU: each side publishes sched_getcpu() + 1 in its CPU word, at 72 for the sender and
 * 136 for the receiver, when it starts, every 64 waits and after a sleep, as the library does), then
 * raises its waiting count, looks again and sleeps on the word with the futex; the other side stores
 * its index first and reads the count after, and wakes it when raised. That handshake needs each
 * side's write to be seen before its read: the sleeper's fetch_add is a full barrier; the waker's,
 * where membarrier(2) allows it, is lent by the sleeper (see cring_barrier_setup), so the waker's store
 * is a release store (a plain mov on x86) and not a sequentially consistent one (an xchg, which waits
 * for the cache line the other side polls, on every message). Each side is a forked process; the
 * parent receives and times. The one-way rows pin the receiver (the parent) to CPU 0 and the sender
 * to CPU 1, as bench/channel.ts does.
 */
#define CH_RING_OFFSET 1024
#define CH_WRAP 0x57524150u

typedef struct {
    volatile uint32_t *tail, *receivers_waiting, *head, *senders_waiting;
    volatile uint32_t *own_cpu, *peer_cpu; /* this side's CPU word and the other side's */
    unsigned char *ring;
    uint32_t capacity, mask, head_seen, tail_seen, next;
    uint32_t cpu; /* the CPU this side last published, plus one */
    int until_check;
    /* this side's ordered word and the other side's, at 76 and 140 (see cring_order_next) */
    volatile uint32_t *own_ordered, *peer_ordered;
    int ordered_left; /* publishes that may find no sleeper before own_ordered is cleared */
} cring_t;

enum { SENDER, RECEIVER };

static size_t cring_bytes(uint32_t capacity) { return CH_RING_OFFSET + capacity; }

/*
 * The waker's barrier, lent by the sleeper. A waker stores its index, then loads the other side's
 * waiting count; a sleeper raises that count, then loads the index. Without a full barrier between
 * the waker's store and its load (x86 lets the load pass the store still in its store buffer), each
 * could miss the other's write and the sleeper sleep through the message. A process that may wake
 * (either side: the sender publishes the tail, the receiver the head) registers with
 * MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED; a sleeper, after raising its count and before looking
 * again, calls MEMBARRIER_CMD_GLOBAL_EXPEDITED, which runs a full barrier on every CPU running a
 * registered process (a CPU switching tasks runs one anyway). Wherever that barrier falls in the
 * waker's store-then-load, either its store is visible when the call returns, or its load comes after
 * the barrier and sees the raised count. The rare sleep pays the barrier (0.3 us here, 2.3 us with
 * an IPI to a CPU running the other side) instead of every message. Without membarrier (an older
 * kernel, a seccomp filter) the waker keeps the sequentially consistent store.
 */
static pid_t cring_barrier_pid;  /* the process the two flags below were found for (a fork asks again) */
static int cring_barrier_calls;  /* MEMBARRIER_CMD_GLOBAL_EXPEDITED works: a sleeper calls it */
static int cring_barrier_lent;   /* this process is registered: its wakes publish with a release store */

static void cring_barrier_setup(void) {
    if (cring_barrier_pid == getpid()) return;
    cring_barrier_pid = getpid();
    long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    cring_barrier_calls = commands > 0 && (commands & MEMBARRIER_CMD_GLOBAL_EXPEDITED);
    /* Registered or not, a sleeper that can call it does: the other process may be registered. */
    cring_barrier_lent = cring_barrier_calls &&
                         syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

/*
 * PAUSEs between two loads of a word that has not changed, in a spin (0: one, as before). A reader
 * polling the line as fast as it can takes it back from the writer after each store, and the writer
 * then waits for it again at its next one; a gap lets the writer's stores land in a row. Off by
 * default: a PAUSE takes 40-46 ns on this VM's EPYC, so a gap of 64 (-DCRING_POLL_GAP=64) is 2.6 us
 * between polls, which took the 64-byte one-way row from 97-103 ns to 57-59 ns but the round trip
 * over two CPUs from 341-353 ns to 1.9-6.0 us (16: 71-84 ns and 615-667 ns; 4: as 0).
 */
#ifndef CRING_POLL_GAP
#define CRING_POLL_GAP 0
#endif
/* A spin's length in PAUSEs, whatever the gap: the same time before a sleep either way. */
#define CRING_SPIN_PAUSES 20000


/* Publishes the CPU this process runs on (sched_getcpu: the vDSO, no system call) in its side's word. */
static void cring_publish(cring_t *r) {
    r->until_check = 64;
    r->cpu = (uint32_t)(sched_getcpu() + 1);
    if (__atomic_load_n(r->own_cpu, __ATOMIC_RELAXED) != r->cpu) __atomic_store_n(r->own_cpu, r->cpu, __ATOMIC_SEQ_CST);
}

/* One side of the ring at `base`, as this process (placed already) sees it. */
static cring_t cring_at(unsigned char *base, uint32_t capacity, int role) {
    volatile uint32_t *sender_cpu = (volatile uint32_t *)(base + 72), *receiver_cpu = (volatile uint32_t *)(base + 136);
    volatile uint32_t *sender_ordered = (volatile uint32_t *)(base + 76),
                      *receiver_ordered = (volatile uint32_t *)(base + 140);
    cring_t r = {(volatile uint32_t *)(base + 64), (volatile uint32_t *)(base + 68),
                 (volatile uint32_t *)(base + 128), (volatile uint32_t *)(base + 132),
                 role == SENDER ? sender_cpu : receiver_cpu, role == SENDER ? receiver_cpu : sender_cpu,
                 base + CH_RING_OFFSET, capacity, capacity - 1, 0, 0, 0, 0, 0,
                 role == SENDER ? sender_ordered : receiver_ordered, role == SENDER ? receiver_ordered : sender_ordered,
                 0};
    cring_barrier_setup();
    cring_publish(&r);
    return r;
}

static uint32_t record_bytes(uint32_t length) { return 8 + ((length + 7) & ~7u); }

/* Spins (while the other side runs on another CPU), then sleeps, while *word holds `seen` and `still()`
 * says the wait is needed. */
static void cring_wait(cring_t *r, volatile uint32_t *word, volatile uint32_t *waiting, uint32_t seen,
                       int (*still)(cring_t *)) {
    if (--r->until_check < 0) cring_publish(r);
    uint32_t peer = __atomic_load_n(r->peer_cpu, __ATOMIC_RELAXED);
    const int gap = CRING_POLL_GAP > 0 ? CRING_POLL_GAP : 1;
    for (int i = 0; peer != 0 && peer != r->cpu && i < CRING_SPIN_PAUSES; i += gap) {
        if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != seen) return;
        for (int j = 0; j < gap; j++) cpu_pause();
    }
    r->until_check = 0; /* a sleep may come: after it, this process may run elsewhere */
    __atomic_fetch_add(waiting, 1, __ATOMIC_SEQ_CST);
    /* The waker's barrier (see cring_barrier_setup): after the raised count, before the look again;
     * not while the waker says it publishes sequentially consistent (cring_order_next). */
    if (cring_barrier_calls && __atomic_load_n(r->peer_ordered, __ATOMIC_SEQ_CST) == 0 &&
        syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0)
        die("membarrier");
    if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == seen && still(r))
        futex_op((volatile int *)word, FUTEX_WAIT, (int)seen);
    __atomic_fetch_sub(waiting, 1, __ATOMIC_SEQ_CST);
}

static int cring_full(cring_t *r) { return __atomic_load_n(r->head, __ATOMIC_SEQ_CST) == r->head_seen; }
static int cring_empty(cring_t *r) {
    return __atomic_load_n(r->tail, __ATOMIC_SEQ_CST) == __atomic_load_n(r->head, __ATOMIC_RELAXED);
}

/* Room for a record of `length` payload bytes (waiting while full): where its payload goes. */
static unsigned char *cring_reserve(cring_t *r, uint32_t length, uint32_t *start) {
    uint32_t tail = __atomic_load_n(r->tail, __ATOMIC_RELAXED), size = record_bytes(length);
    uint32_t at = tail & r->mask, to_end = r->capacity - at, needed = size <= to_end ? size : to_end + size;
    while (r->capacity - (tail - r->head_seen) < needed) {
        uint32_t before = r->head_seen;
        r->head_seen = __atomic_load_n(r->head, __ATOMIC_ACQUIRE);
        if (r->head_seen == before) cring_wait(r, r->head, r->senders_waiting, before, cring_full);
    }
    *start = tail;
    if (size > to_end) {
        uint32_t *wrap = (uint32_t *)(r->ring + at);
        wrap[0] = 0;
        wrap[1] = CH_WRAP;
        *start = tail + to_end;
        at = 0;
    }
    return r->ring + at + 8;
}

/*
 * After a publish that woke a sleeper, this side publishes sequentially consistent (and says so in its
 * ordered word, so the other side's sleepers skip their membarrier) until 16 in a row found none: on
 * one CPU, where both sides of a request and its reply sleep in turn, that is two membarriers less a
 * round trip. Set after the release store it follows, cleared by a SEQ_CST store before the release
 * stores it lets through (the library's channel.ts #orderNext, src/sync/fence.ts).
 */
static void cring_order_next(cring_t *r, int woke) {
    if (!cring_barrier_lent) return;
    int ordered = __atomic_load_n(r->own_ordered, __ATOMIC_RELAXED) != 0;
    if (woke) {
        r->ordered_left = 16;
        if (!ordered) __atomic_store_n(r->own_ordered, 1, __ATOMIC_SEQ_CST);
    } else if (ordered && --r->ordered_left <= 0) {
        __atomic_store_n(r->own_ordered, 0, __ATOMIC_SEQ_CST);
    }
}

/* Publishes `value` in the tail or the head and wakes a sleeper of the other side if its count is raised. */
static void cring_advance(cring_t *r, volatile uint32_t *word, uint32_t value, volatile uint32_t *waiting) {
    uint32_t sleepers;
    if (cring_barrier_lent && __atomic_load_n(r->own_ordered, __ATOMIC_RELAXED) == 0) {
        /* Release: the record's bytes (or, for the head, the reads of them) before the index. The
         * sleeper's membarrier stands in for the full barrier between the store and the load; the
         * compiler barrier keeps the load after the store in the code that barrier applies to. */
        __atomic_store_n(word, value, __ATOMIC_RELEASE);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        sleepers = __atomic_load_n(waiting, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
        sleepers = __atomic_load_n(waiting, __ATOMIC_SEQ_CST);
    }
    if (sleepers) futex_op((volatile int *)word, FUTEX_WAKE, 1);
    cring_order_next(r, sleepers != 0);
}

static void cring_commit(cring_t *r, uint32_t start, uint32_t length) {
    uint32_t *header = (uint32_t *)(r->ring + (start & r->mask));
    header[0] = length;
    header[1] = 1;
    cring_advance(r, r->tail, start + record_bytes(length), r->receivers_waiting);
}

static void cring_send(cring_t *r, const void *source, uint32_t length) {
    uint32_t start;
    memcpy(cring_reserve(r, length, &start), source, length);
    cring_commit(r, start, length);
}

/* The record at the head (waiting while empty): its payload, its length in *length. */
static unsigned char *cring_peek(cring_t *r, uint32_t *length) {
    uint32_t head = __atomic_load_n(r->head, __ATOMIC_RELAXED);
    while (r->tail_seen == head) {
        r->tail_seen = __atomic_load_n(r->tail, __ATOMIC_ACQUIRE);
        if (r->tail_seen == head) cring_wait(r, r->tail, r->receivers_waiting, head, cring_empty);
    }
    uint32_t at = head & r->mask, *header = (uint32_t *)(r->ring + at);
    if (header[1] == CH_WRAP) {
        head += r->capacity - at;
        header = (uint32_t *)r->ring;
    }
    if (header[1] != 1 || header[0] > r->capacity / 2) { fprintf(stderr, "bad record\n"); exit(1); }
    *length = header[0];
    r->next = head + record_bytes(header[0]);
    return (unsigned char *)(header + 2);
}

static void cring_release(cring_t *r) { cring_advance(r, r->head, r->next, r->senders_waiting); }

static void cring_receive(cring_t *r, void *target) {
    uint32_t length;
    unsigned char *payload = cring_peek(r, &length);
    memcpy(target, payload, length);
    cring_release(r);
}

/* Receives batches x batch messages with `receive_one`, timing each batch (as timeBatches in channel.ts). */
static stats_t time_batches(long batches, long batch, void (*receive_one)(cring_t *, void *), cring_t *r,
                            void *ctx) {
    receive_one(r, ctx);
    for (long b = 0; b < batches; b++) {
        long n = b == 0 ? batch - 1 : batch;
        double t0 = now_ns();
        for (long i = 0; i < n; i++) receive_one(r, ctx);
        samples[b] = (now_ns() - t0) / (double)n;
    }
    return stats_of(samples, (int)batches, 1);
}

/* The forked side of the row running: a failed check stops it too, rather than leave it blocked on a ring. */
static pid_t channel_child;

static void channel_fail(const char *what, long which) {
    fprintf(stderr, "channel: %s %ld\n", what, which);
    if (channel_child > 0) kill(channel_child, SIGKILL);
    exit(1);
}

/* What a one-way receiver checks as it goes: the messages arrive whole, each once and in order. */
typedef struct { unsigned char target[64]; long received; } arrivals_t;

/* The sender numbers each message in its first byte and fills the rest with 7. */
static void receive64(cring_t *r, void *ctx) {
    arrivals_t *a = ctx;
    cring_receive(r, a->target);
    if (a->target[0] != (unsigned char)a->received++ || a->target[63] != 7)
        channel_fail("bad 64-byte message", a->received - 1);
}

static void receive1M(cring_t *r, void *ctx) {
    arrivals_t *a = ctx;
    uint32_t length;
    unsigned char *view = cring_peek(r, &length);
    if (length != 1u << 20 || view[0] != (unsigned char)a->received++ || view[12345] != 7)
        channel_fail("bad 1 MiB message", a->received - 1);
    cring_release(r);
}

/* A forked side that stopped on a check (or was killed) fails the row rather than leave it timed. */
static void reap(pid_t child) {
    int status;
    if (waitpid(child, &status, 0) < 0) die("waitpid");
    channel_child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) channel_fail("child failed, status", status);
}

/* One way from a forked sender on `send_cpu` to this process on `receive_cpu` (-1: placed by the kernel). */
static void one_way(const char *op, const char *variant, uint32_t capacity, uint32_t length, long batches, long batch,
                    int receive_cpu, int send_cpu) {
    char name[96];
    progress(variant ? variant : op);
    unsigned char *base = create_segment(name, sizeof name, "chan", cring_bytes(capacity));
    long count = batches * batch;
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin(send_cpu);
        cring_t w = cring_at(base, capacity, SENDER);
        unsigned char *source = malloc(length);
        memset(source, 7, length);
        for (long i = 0; i < count; i++) {
            source[0] = (unsigned char)i;
            cring_send(&w, source, length);
        }
        _exit(0);
    }
    channel_child = child;
    cpu_set_t before;
    sched_getaffinity(0, sizeof before, &before);
    pin(receive_cpu);
    cring_t r = cring_at(base, capacity, RECEIVER);
    arrivals_t arrivals = {{0}, 0};
    stats_t st = time_batches(batches, batch, length == 64 ? receive64 : receive1M, &r, &arrivals);
    reap(child);
    /* every message sent arrived, and nothing more is in the ring */
    if (arrivals.received != count || *r.head != *r.tail) channel_fail("messages lost, sent", count);
    sched_setaffinity(0, sizeof before, &before);
    emit_variant("channel", op, variant, 0, "message", length, st);
    release_segment(name, base, cring_bytes(capacity));
}

static void round_trips(const char *op, int ping_cpu, int pong_cpu, long batches, long batch) {
    char request_name[96], reply_name[96];
    progress(op);
    unsigned char *a = create_segment(request_name, sizeof request_name, "chanreq", cring_bytes(4096));
    unsigned char *b = create_segment(reply_name, sizeof reply_name, "chanrep", cring_bytes(4096));
    long count = batches * batch;
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        pin(pong_cpu);
        cring_t request = cring_at(a, 4096, RECEIVER), reply = cring_at(b, 4096, SENDER);
        unsigned char buffer[64];
        for (long i = 0; i < count; i++) {
            cring_receive(&request, buffer);
            long number;
            memcpy(&number, buffer, sizeof number);
            if (number != i) { fprintf(stderr, "%s: request %ld came as %ld\n", op, i, number); _exit(1); }
            cring_send(&reply, buffer, 64);
        }
        _exit(0);
    }
    channel_child = child;
    cpu_set_t before;
    sched_getaffinity(0, sizeof before, &before);
    pin(ping_cpu);
    cring_t request = cring_at(a, 4096, SENDER), reply = cring_at(b, 4096, RECEIVER);
    /* Each request carries its number in its first 8 bytes; the reply must bring the same one back. */
    unsigned char buffer[64] = {0};
    long sent = 0, back = 0;
    cring_send(&request, buffer, 64);
    cring_receive(&reply, buffer);
    memcpy(&back, buffer, sizeof back);
    int wrong = back != sent++;
    for (long s = 0; s < batches; s++) {
        long n = s == 0 ? batch - 1 : batch;
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            memcpy(buffer, &sent, sizeof sent);
            cring_send(&request, buffer, 64);
            cring_receive(&reply, buffer);
            memcpy(&back, buffer, sizeof back);
            wrong |= back != sent++;
        }
        samples[s] = (now_ns() - t0) / (double)n;
    }
    reap(child);
    if (wrong || sent != count || *request.head != *request.tail || *reply.head != *reply.tail)
        channel_fail("a reply lost or wrong, round trips", count);
    sched_setaffinity(0, sizeof before, &before);
    emit("channel", op, 0, "round trip", 0, stats_of(samples, (int)batches, 1));
    release_segment(request_name, a, cring_bytes(4096));
    release_segment(reply_name, b, cring_bytes(4096));
}

static void bench_channel(void) {
    long batches = cfg.quick ? 3 : 15;
    long batch64 = cfg.quick ? 200000 >> 6 : 200000;
    one_way("oneway64", NULL, 1 << 16, 64, batches, batch64, 0, 1);
    /* SHM_BENCH_ROWS=oneway64-reused: that row alone (bench/main.ts's rounds in turn, as bench/channel.ts) */
    const char *rows = getenv("SHM_BENCH_ROWS");
    if (rows != NULL && strcmp(rows, "oneway64-reused") == 0) return;
    one_way("oneway64", "free", 1 << 16, 64, batches, batch64, -1, -1);
    one_way("oneway64", "one-cpu", 1 << 16, 64, batches, batch64, 0, 0);
    one_way("oneway1M", NULL, 4 << 20, 1 << 20, cfg.quick ? 3 : 10, cfg.quick ? 2 : 200, 0, 1);
    static const struct { const char *op; int ping, pong; } PLACES[] = {
        {"roundtrip/one-cpu", 0, 0}, {"roundtrip/two-cpus", 0, 1}, {"roundtrip/free", -1, -1}};
    for (int p = 0; p < 3; p++) round_trips(PLACES[p].op, PLACES[p].ping, PLACES[p].pong, batches, cfg.quick ? 200 : 2000);
}

/* ---- main ---- */

static void on_signal(int sig) {
    unlink_live();
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "ready") == 0) return write(1, "k", 1) == 1 ? 0 : 1;
    if (argc < 2) { fprintf(stderr, "usage: baseline <lifecycle|memory|handoff|ffi> key=value...\n"); return 2; }
    parse_args(argc, argv);
    owner = getpid();
    atexit(unlink_live);
    /* SIGPIPE: stdout read by a reader that stopped (`| head`, a killed orchestrator) killed this process
     * at its next result line with its segments still named (seen); SIGHUP: its terminal went away. */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, on_signal);
    signal(SIGHUP, on_signal);
    if (strcmp(argv[1], "lifecycle") == 0) bench_lifecycle();
    else if (strcmp(argv[1], "memory") == 0) bench_memory();
    else if (strcmp(argv[1], "handoff") == 0) bench_handoff("/proc/self/exe");
    else if (strcmp(argv[1], "ffi") == 0) bench_ffi();
    else if (strcmp(argv[1], "sync") == 0) bench_sync();
    else if (strcmp(argv[1], "channel") == 0) bench_channel();
    else { fprintf(stderr, "unknown benchmark %s\n", argv[1]); return 2; }
    return 0;
}
