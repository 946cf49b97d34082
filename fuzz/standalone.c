/* standalone.c - runs a libFuzzer target without libFuzzer: for `make test`, whose build is
 * gcc's (ASan, UBSan) and has no -fsanitize=fuzzer. Link it with any fuzz/ target.
 *
 *   <target> [-seed N] [-time S] [-max_len N] [-timeout S] [-inprocess] [path...]
 *
 * Runs every file named, and every file in a folder named (in name order), then random
 * inputs from a PRNG for -time seconds (default 10; -seed replays a run: it is printed).
 * Inputs run in a forked child, so that a failure (a sanitizer's report, an abort, a
 * SIGALRM after -timeout seconds) counts as one, its input is kept as crash-<hash> in the
 * current folder (replay it with either binary) and the run stops: the first failure is
 * the one to read. Prints "N passed, N failed"; exits 1 after a failure.
 * -inprocess runs everything in this process (for a debugger).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct inputs {
    char **files; /* owned */
    size_t n_files;
    uint64_t seed;  /* of the random inputs */
    size_t max_len; /* of a random input */
};

/* What the child tells its parent, in memory they share. */
struct shared {
    uint64_t passed;  /* inputs run to their end */
    uint64_t current; /* the input running: files first, then random ones */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void add_file(struct inputs *in, const char *path)
{
    char **f = realloc(in->files, (in->n_files + 1) * sizeof(*f));
    if (!f || !(f[in->n_files] = strdup(path))) {
        perror("standalone");
        exit(2);
    }
    in->files = f;
    in->n_files++;
}

static void add_path(struct inputs *in, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "standalone: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_file(in, path);
        return;
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode))
            add_file(in, full);
        free(names[i]);
    }
    free(names);
}

/* Input number i into *buf (grown as needed): a file's bytes, or random ones. */
static size_t load(const struct inputs *in, uint64_t i, uint8_t **buf, size_t *cap)
{
    size_t len = 0;
    if (i < in->n_files) {
        FILE *f = fopen(in->files[i], "rb");
        if (!f) {
            fprintf(stderr, "standalone: %s: %s\n", in->files[i], strerror(errno));
            exit(2);
        }
        for (size_t n = 1; n > 0; len += n) {
            if (*cap - len < 4096) {
                *cap = *cap * 2 + 4096;
                if (!(*buf = realloc(*buf, *cap)))
                    exit(2);
            }
            n = fread(*buf + len, 1, *cap - len, f);
        }
        fclose(f);
        return len;
    }
    /* Mostly short inputs, now and then one up to max_len: as libFuzzer starts. */
    uint64_t s = in->seed ^ (i - in->n_files) * 0xd1342543de82ef95u;
    uint64_t x = splitmix(&s);
    size_t top = x % 4 == 0 ? 64 : x % 4 == 1 ? 256 : x % 4 == 2 ? 1024 : in->max_len;
    if (top > in->max_len)
        top = in->max_len;
    len = (size_t)(splitmix(&s) % (top + 1));
    if (*cap < len + 8) {
        *cap = len + 8;
        if (!(*buf = realloc(*buf, *cap)))
            exit(2);
    }
    for (size_t k = 0; k < len; k += 8) {
        uint64_t r = splitmix(&s);
        memcpy(*buf + k, &r, 8);
    }
    return len;
}

/* Runs inputs from number `from` on until the files are done and time is up. */
static void run_inputs(const struct inputs *in, struct shared *sh, uint64_t from, double until,
                       unsigned timeout_s)
{
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (uint64_t i = from; i < in->n_files || now_s() < until; i++) {
        sh->current = i;
        size_t len = load(in, i, &buf, &cap);
        alarm(timeout_s);
        LLVMFuzzerTestOneInput(buf, len);
        alarm(0);
        sh->passed++;
    }
    free(buf);
}

static void keep_crash(const struct inputs *in, uint64_t i)
{
    uint8_t *buf = NULL;
    size_t cap = 0, len = load(in, i, &buf, &cap);
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t k = 0; k < len; k++)
        h = (h ^ buf[k]) * 0x100000001b3u;
    char name[64];
    snprintf(name, sizeof(name), "crash-%016" PRIx64, h);
    FILE *f = fopen(name, "wb");
    if (f && fwrite(buf, 1, len, f) == len && fclose(f) == 0)
        fprintf(stderr, "standalone: input kept as %s (%zu bytes); replay: <target> %s\n", name,
                len, name);
    else
        fprintf(stderr, "standalone: could not keep the input as %s\n", name);
    free(buf);
}

static void describe(const struct inputs *in, uint64_t i, char *out, size_t cap)
{
    if (i < in->n_files)
        snprintf(out, cap, "file %s", in->files[i]);
    else
        snprintf(out, cap, "random input %" PRIu64, i - in->n_files);
}

static void usage(void)
{
    fputs("usage: <target> [-seed N] [-time S] [-max_len N] [-timeout S] [-inprocess] "
          "[path...]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    struct inputs in = {.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32, .max_len = 4096};
    double time_s = 10;
    unsigned timeout_s = 60;
    bool inprocess = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-inprocess") == 0)
            inprocess = true;
        else if (a[0] == '-' && i + 1 == argc)
            usage();
        else if (strcmp(a, "-seed") == 0)
            in.seed = strtoull(argv[++i], NULL, 0);
        else if (strcmp(a, "-time") == 0)
            time_s = strtod(argv[++i], NULL);
        else if (strcmp(a, "-max_len") == 0)
            in.max_len = (size_t)strtoull(argv[++i], NULL, 0);
        else if (strcmp(a, "-timeout") == 0)
            timeout_s = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (a[0] == '-')
            usage();
        else
            add_path(&in, a);
    }
    printf("standalone: %zu files, then random inputs for %.0f s; -seed %" PRIu64 "\n", in.n_files,
           time_s, in.seed);
    fflush(stdout);

    double start = now_s(), until = start + time_s;
    struct shared *sh =
        mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("standalone: mmap");
        return 2;
    }
    *sh = (struct shared){0};
    uint64_t failed = 0;
    if (inprocess) {
        run_inputs(&in, sh, 0, until, timeout_s);
    } else {
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            perror("standalone: fork");
            return 2;
        }
        if (pid == 0) {
            run_inputs(&in, sh, 0, until, timeout_s);
            exit(0); /* exit, not _exit: LeakSanitizer reports at exit */
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char what[4200];
            if (sh->passed == sh->current + 1) /* every input ran: a leak report at exit */
                snprintf(what, sizeof(what), "exit, after the last input");
            else
                describe(&in, sh->current, what, sizeof(what));
            failed = 1;
            fprintf(stderr, "standalone: FAILED on %s after %.1f s (%" PRIu64 " passed): %s %d\n",
                    what, now_s() - start, sh->passed,
                    WIFSIGNALED(status) ? "signal" : "exit status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            if (sh->passed != sh->current + 1)
                keep_crash(&in, sh->current);
        }
    }
    uint64_t random = sh->passed + failed > in.n_files ? sh->passed + failed - in.n_files : 0;
    printf("standalone: %zu files and %" PRIu64 " random inputs in %.1f s (-seed %" PRIu64 ")\n",
           in.n_files, random, now_s() - start, in.seed);
    /* Alone on its line: scripts/test-summary counts the inputs as the test's cases. */
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", sh->passed, failed);
    for (size_t i = 0; i < in.n_files; i++)
        free(in.files[i]);
    free(in.files);
    munmap(sh, sizeof(*sh));
    return failed ? 1 : 0;
}
