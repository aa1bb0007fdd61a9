/* tests/test_daemon.c — integration tests of usjsearchd: each test builds an
 * index over the seeds in a mkdtemp folder with $USJ_TEST_BIN/usjindex,
 * starts the real $USJ_TEST_BIN/usjsearchd on a socket in that folder and a
 * free TCP port, talks the line protocol to it (docs/PROTOCOL.md) and stops
 * it with SIGTERM, asserting exit status 0 (under ASan that includes no
 * leak). Every wait is bounded. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "usj/remote.h"
#include "usj/error.h"
#include "usj/query.h"

#define SEED4 "seeds/004_34c4a962b3f42fed.txt"

/* Criterion's parallel runner (--jobs 2) itself leaks a few bytes now and
 * then (libcriterion.so, seen with 2.4.1); LeakSanitizer reads this hook, so
 * only leaks inside that library are ignored — never ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

/* ------------------------------------------------------------ helpers */

typedef struct daemon_proc {
    char  dir[256];
    char  idx[300];
    char  sock[300];
    char  log[300];
    char  pidfile[300];
    pid_t pid;
    int   port;
} daemon_proc;

static const char *env_or_fail(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set (run through scripts/run-tests.sh)", name);
    return v;
}

static void prog(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", env_or_fail("USJ_TEST_BIN"), name);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void msleep(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Wait for pid with a deadline; returns the raw status, -1 on timeout. */
static int wait_pid(pid_t pid, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    int st;
    while (now_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        msleep(10);
    }
    return -1;
}

/* Run argv in the repo root, output to the folder's log; exit status. */
static int run_prog(const char *dir, char *const argv[])
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char logp[400];
        snprintf(logp, sizeof logp, "%s/run.log", dir);
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (chdir(env_or_fail("USJ_TEST_ROOT")) != 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = wait_pid(pid, 120000);
    if (st == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void build_index_at(daemon_proc *d, const char *out)
{
    char bin[300];
    prog(bin, sizeof bin, "usjindex");
    char *argv[] = { bin, "-o", (char *)out, "seeds", NULL };
    cr_assert_eq(run_prog(d->dir, argv), 0, "usjindex failed");
}

static void cleanup_dir(daemon_proc *d);

/* The test's daemon and folder, so that a failed assertion still stops it
 * and removes the folder (Criterion runs .fini after a failing test too).
 * Copies, not pointers: the test's frame is gone when .fini runs. */
static pid_t cur_pid;
static char  cur_dir[256];

static void teardown(void)
{
    if (cur_pid > 0) {
        kill(cur_pid, SIGKILL);
        waitpid(cur_pid, NULL, 0);
        cur_pid = 0;
    }
    if (cur_dir[0]) {
        daemon_proc tmp;
        memset(&tmp, 0, sizeof tmp);
        memcpy(tmp.dir, cur_dir, sizeof cur_dir);
        cleanup_dir(&tmp);
    }
}

static void setup_dir(daemon_proc *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/usjd-test-XXXXXX");
    cr_assert_not_null(mkdtemp(d->dir));
    memcpy(cur_dir, d->dir, sizeof cur_dir);
    snprintf(d->idx, sizeof d->idx, "%s/seeds.idx", d->dir);
    snprintf(d->sock, sizeof d->sock, "%s/d.sock", d->dir);
    snprintf(d->log, sizeof d->log, "%s/daemon.log", d->dir);
    snprintf(d->pidfile, sizeof d->pidfile, "%s/d.pid", d->dir);
    build_index_at(d, d->idx);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t k;
    while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n - 1 == 0)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

/* Start the daemon with extra arguments (NULL-terminated list). Returns
 * the child's pid after the ready line, or fails the test. If expect_fail,
 * waits for the exit instead and returns its status. */
static int start_daemon_args(daemon_proc *d, int expect_fail, const char **extra)
{
    char bin[300];
    prog(bin, sizeof bin, "usjsearchd");
    const char *argv[32] = { bin, "--index", d->idx, "--socket", d->sock,
                             "--listen", "127.0.0.1:0", "--foreground",
                             "--threads", "2", "--pidfile", d->pidfile };
    int n = 12;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    unlink(d->log);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        /* the daemon dies with the test, even when an assertion fails */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(fd, 2);
        close(null);
        close(fd);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    if (expect_fail) {
        int st = wait_pid(pid, 20000);
        if (st == -1) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("daemon did not exit");
        }
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    }
    uint64_t end = now_ms() + 20000;
    while (now_ms() < end) {
        char *log = slurp(d->log, NULL);
        char *r = log ? strstr(log, "ready, listening on") : NULL;
        if (r) {
            char *t = strstr(r, "tcp:127.0.0.1:");
            cr_assert_not_null(t, "no tcp in: %s", r);
            d->port = atoi(t + strlen("tcp:127.0.0.1:"));
            free(log);
            d->pid = pid;
            cur_pid = pid;
            return 0;
        }
        free(log);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            char *l = slurp(d->log, NULL);
            cr_assert_fail("daemon exited early: %s", l ? l : "");
        }
        msleep(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert_fail("daemon not ready in 20 s");
    return -1;
}

static void start_daemon(daemon_proc *d, const char **extra)
{
    start_daemon_args(d, 0, extra);
}

/* SIGTERM, expect a clean exit 0 (ASan: no leak), socket and pidfile gone. */
static void stop_daemon(daemon_proc *d)
{
    cr_assert_eq(kill(d->pid, SIGTERM), 0);
    int st = wait_pid(d->pid, 20000);
    if (st == -1) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, &st, 0);
        cur_pid = 0;
        cr_assert_fail("daemon did not stop within 20 s of SIGTERM");
    }
    cur_pid = 0;
    char *log = slurp(d->log, NULL);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "daemon exit status %d; log:\n%s", st, log ? log : "");
    free(log);
    cr_assert_neq(access(d->sock, F_OK), 0, "socket not removed");
    cr_assert_neq(access(d->pidfile, F_OK), 0, "pidfile not removed");
    d->pid = 0;
}

static void cleanup_dir(daemon_proc *d)
{
    DIR *dir = opendir(d->dir);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.')
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", d->dir, e->d_name);
            unlink(p);
        }
        closedir(dir);
    }
    rmdir(d->dir);
    if (strcmp(cur_dir, d->dir) == 0)
        cur_dir[0] = '\0';
}

static void set_timeouts(int fd, unsigned ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int connect_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0,
                 "connect %s: %s", path, strerror(errno));
    set_timeouts(fd, 10000);
    return fd;
}

static int connect_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0,
                 "connect tcp %d: %s", port, strerror(errno));
    set_timeouts(fd, 10000);
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        cr_assert(k > 0, "send: %s", strerror(errno));
        s += k;
        n -= (size_t)k;
    }
}

static void send_str(int fd, const char *s) { send_all(fd, s, strlen(s)); }

/* A reader of answer lines. */
typedef struct lines {
    int    fd;
    char  *buf;
    size_t off, len, cap;
    char  *line;     /* last line, NUL-terminated (malloc'd) */
} lines;

static void lines_init(lines *l, int fd)
{
    memset(l, 0, sizeof *l);
    l->fd = fd;
}

static void lines_free(lines *l)
{
    free(l->buf);
    free(l->line);
}

/* Next line without LF; NULL at EOF or timeout. */
static const char *next_line(lines *l)
{
    for (;;) {
        char *nl = l->len > l->off ? memchr(l->buf + l->off, '\n',
                                           l->len - l->off) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (l->buf + l->off));
            free(l->line);
            l->line = malloc(n + 1);
            memcpy(l->line, l->buf + l->off, n);
            l->line[n] = '\0';
            l->off += n + 1;
            return l->line;
        }
        if (l->cap - l->len < 65536) {
            l->cap = l->cap ? l->cap * 2 : 131072;
            l->buf = realloc(l->buf, l->cap);
        }
        ssize_t k = recv(l->fd, l->buf + l->len, l->cap - l->len, 0);
        if (k <= 0)
            return NULL;
        l->len += (size_t)k;
    }
}

/* Read until EOF; returns 1 if EOF came (no more bytes), 0 on timeout. */
static int expect_eof(lines *l)
{
    if (l->len > l->off)
        return 0;
    char b[256];
    for (;;) {
        ssize_t k = recv(l->fd, b, sizeof b, 0);
        if (k == 0)
            return 1;
        if (k < 0)
            return errno == ECONNRESET;
    }
}

/* Read "OK ..." + lines until ".": returns number of body lines. */
static int read_block(lines *l, char *status, size_t n, char ***body)
{
    const char *s = next_line(l);
    cr_assert_not_null(s, "no answer");
    snprintf(status, n, "%s", s);
    int cnt = 0;
    if (body)
        *body = NULL;
    if (strncmp(s, "OK", 2) != 0)
        return -1;
    for (;;) {
        s = next_line(l);
        cr_assert_not_null(s, "answer cut short after %d lines", cnt);
        if (strcmp(s, ".") == 0)
            break;
        if (body) {
            *body = realloc(*body, sizeof **body * (size_t)(cnt + 1));
            (*body)[cnt] = strdup(s);
        }
        cnt++;
    }
    return cnt;
}

static void free_body(char **b, int n)
{
    for (int i = 0; i < n; i++)
        free(b[i]);
    free(b);
}

static const char *stat_value(char **body, int n, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < n; i++)
        if (strncmp(body[i], key, kl) == 0 && body[i][kl] == ' ')
            return body[i] + kl + 1;
    return NULL;
}

static int count_fds(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(p);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Column of the parse error the library itself gives for q (0 if none). */
static int local_column(const char *q)
{
    usj_analyzer *a;
    cr_assert_eq(usj_analyzer_new(&a, 0), 0);
    usj_query *qq = NULL;
    int rc = usj_query_parse(&qq, q, strlen(q), a);
    int col = rc ? usj_error_column() : 0;
    usj_query_free(qq);
    usj_analyzer_free(a);
    return col;
}

/* ------------------------------------------------------------ commands */

Test(daemon, every_command, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    struct stat st;
    cr_assert_eq(stat(d.sock, &st), 0);
    cr_assert(S_ISSOCK(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0600, "socket mode %o", st.st_mode & 0777);

    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    char status[4096];
    char **body;

    send_str(fd, "PING\r\nping\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    cr_assert_str_eq(next_line(&l), "OK PONG");

    send_str(fd, "HELP\n");
    int n = read_block(&l, status, sizeof status, &body);
    cr_assert_str_eq(status, "OK");
    const char *names[] = { "SEARCH", "COUNT", "GET", "STATS", "PING",
                            "RELOAD", "HELP", "QUIT" };
    cr_assert_eq(n, 8);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(strncmp(body[i], names[i], strlen(names[i])), 0, "%s", body[i]);
    free_body(body, n);

    send_str(fd, "SEARCH \"Section 232\"\n");
    n = read_block(&l, status, sizeof status, &body);
    cr_assert_eq(strncmp(status, "OK 4 4 ", 7), 0, "%s", status);
    cr_assert_not_null(strstr(status, env_or_fail("USJ_TEST_ROOT")),
                       "root missing: %s", status);
    cr_assert_eq(n, 4);
    int seen[30] = { 0 };
    for (int i = 0; i < n; i++) {
        cr_assert_eq(strncmp(body[i], SEED4 "\t", strlen(SEED4) + 1), 0, "%s", body[i]);
        int line = atoi(body[i] + strlen(SEED4) + 1);
        cr_assert(line == 2 || line == 5 || line == 24 || line == 29, "line %d", line);
        seen[line] = 1;
        int tabs = 0;
        for (const char *c = body[i]; *c; c++)
            tabs += *c == '\t';
        cr_assert_eq(tabs, 9, "%s", body[i]);
    }
    cr_assert(seen[2] && seen[5] && seen[24] && seen[29]);
    free_body(body, n);

    /* a repeated query is answered from the cache: the same bytes */
    send_str(fd, "SEARCH LIMIT 3 tariff\nSEARCH LIMIT 3 tariff\n");
    char **b1, **b2, s1[4096], s2[4096];
    int n1 = read_block(&l, s1, sizeof s1, &b1);
    int n2 = read_block(&l, s2, sizeof s2, &b2);
    cr_assert_eq(n1, 3);
    cr_assert_eq(n2, 3);
    cr_assert_str_eq(s1, s2);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(b1[i], b2[i]);
    free_body(b1, n1);
    free_body(b2, n2);

    send_str(fd, "search limit 1 offset 1 explain \"Section 232\"\n");
    n = read_block(&l, status, sizeof status, &body);
    cr_assert_eq(strncmp(status, "OK 1 4 ", 7), 0, "%s", status);
    cr_assert_eq(n, 1);
    cr_assert_neq(body[0][strlen(body[0]) - 1], '\t');   /* doc follows */
    free_body(body, n);

    send_str(fd, "COUNT \"Section 232\"\nCOUNT zzzzqqqq\n");
    cr_assert_str_eq(next_line(&l), "OK 4");
    cr_assert_str_eq(next_line(&l), "OK 0");

    send_str(fd, "GET " SEED4 ":24\n");
    n = read_block(&l, status, sizeof status, &body);
    cr_assert_str_eq(status, "OK");
    cr_assert_eq(n, 1);
    cr_assert_eq(strncmp(body[0], SEED4 "\t24\t", strlen(SEED4) + 4), 0, "%s", body[0]);
    cr_assert_not_null(strstr(body[0], "standout feature"));
    free_body(body, n);

    send_str(fd, "GET nosuch.txt:1\nGET " SEED4 ":99999\nGET nocolon\n");
    cr_assert_eq(strncmp(next_line(&l), "ERR NOTFOUND ", 13), 0, "%s", l.line);
    cr_assert_eq(strncmp(next_line(&l), "ERR NOTFOUND ", 13), 0, "%s", l.line);
    cr_assert_eq(strncmp(next_line(&l), "ERR ARGS ", 9), 0, "%s", l.line);

    send_str(fd, "SEARCH safety \"clause\n");
    const char *e = next_line(&l);
    cr_assert_eq(strncmp(e, "ERR SYNTAX ", 11), 0, "%s", e);
    cr_assert_gt(local_column("safety \"clause"), 0);
    cr_assert_eq(atoi(e + 11), local_column("safety \"clause"), "column in %s", e);

    send_str(fd, "FROB x\nPING extra\nPING\n");
    cr_assert_eq(strncmp(next_line(&l), "ERR UNKNOWN ", 12), 0, "%s", l.line);
    cr_assert_eq(strncmp(next_line(&l), "ERR ARGS ", 9), 0, "%s", l.line);
    cr_assert_str_eq(next_line(&l), "OK PONG");

    send_str(fd, "RELOAD\n");
    cr_assert_eq(strncmp(next_line(&l), "OK", 2), 0, "%s", l.line);

    send_str(fd, "STATS\n");
    n = read_block(&l, status, sizeof status, &body);
    cr_assert_str_eq(status, "OK");
    const char *keys[] = { "paragraphs", "terms", "files", "index_bytes",
                           "index_path", "root", "uptime_s",
                           "connections_current", "connections_total",
                           "queries", "errors", "latency_p50_us",
                           "latency_p99_us", "version", "reloads" };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        cr_assert_not_null(stat_value(body, n, keys[i]), "no %s", keys[i]);
    cr_assert_str_eq(stat_value(body, n, "files"), "5");
    cr_assert_str_eq(stat_value(body, n, "paragraphs"), "176");
    cr_assert_str_eq(stat_value(body, n, "index_path"), d.idx);
    cr_assert_str_eq(stat_value(body, n, "reloads"), "1");
    cr_assert_str_eq(stat_value(body, n, "connections_current"), "1");
    cr_assert_geq(atoi(stat_value(body, n, "queries")), 8);
    cr_assert_geq(atoi(stat_value(body, n, "errors")), 6);
    cr_assert_geq(atoi(stat_value(body, n, "cache_hits")), 1);
    free_body(body, n);

    send_str(fd, "QUIT\nPING\n");
    cr_assert_str_eq(next_line(&l), "OK BYE");
    cr_assert(expect_eof(&l), "not closed after QUIT");
    lines_free(&l);
    close(fd);

    /* the same over TCP */
    fd = connect_tcp(d.port);
    lines_init(&l, fd);
    send_str(fd, "COUNT semiconductors\nCOUNT semiconductor\n");
    const char *a = next_line(&l);
    cr_assert_eq(strncmp(a, "OK ", 3), 0);
    char first[64];
    snprintf(first, sizeof first, "%s", a);
    cr_assert_str_eq(next_line(&l), first);
    cr_assert_neq(strcmp(first, "OK 0"), 0);
    lines_free(&l);
    close(fd);

    stop_daemon(&d);
    cleanup_dir(&d);
}

static void pipelined(const char **extra)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, extra);
    int fd = connect_tcp(d.port);
    size_t cap = 1000 * 40, n = 0;
    char *req = malloc(cap);
    for (int i = 0; i < 1000; i++) {
        const char *r = i % 3 == 0 ? "PING\n" : i % 3 == 1
                        ? "COUNT \"Section 232\"\n" : "SEARCH LIMIT 1 tariff\n";
        memcpy(req + n, r, strlen(r));
        n += strlen(r);
    }
    send_all(fd, req, n);
    free(req);
    lines l;
    lines_init(&l, fd);
    char status[4096];
    for (int i = 0; i < 1000; i++) {
        if (i % 3 == 0) {
            cr_assert_str_eq(next_line(&l), "OK PONG", "answer %d", i);
        } else if (i % 3 == 1) {
            cr_assert_str_eq(next_line(&l), "OK 4", "answer %d", i);
        } else {
            int k = read_block(&l, status, sizeof status, NULL);
            cr_assert_eq(k, 1, "answer %d: %s", i, status);
        }
    }
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, pipelined_thousand_in_one_write, .timeout = 120, .fini = teardown)
{
    pipelined(NULL);
}

Test(daemon, pipelined_thousand_without_cache, .timeout = 120, .fini = teardown)
{
    pipelined((const char *[]){ "--cache", "0", NULL });
}

/* A connection goes back to the shared epoll set after every 32 requests
 * (USJ_REQS_PER_EVENT) and the next turn may be any worker's: with four
 * of them the thousand answers must still come in order. */
Test(daemon, pipelined_thousand_across_four_workers, .timeout = 120, .fini = teardown)
{
    pipelined((const char *[]){ "--threads", "4", "--cache", "0", NULL });
}

/* A client that writes its whole batch before it reads an answer: 200000
 * pipelined PINGs (1 MB, far more than the socket buffers hold; 1.6 MB of
 * answers, under USJ_MAX_PENDING_OUTPUT) in one blocking send over the
 * Unix socket, with a small send buffer of its own. The daemon must go on
 * reading while the answers pile up unsent. When a turn (32 requests,
 * USJ_REQS_PER_EVENT) waited for the socket to take output before the
 * next one, it stopped reading once the client's receive side was full,
 * and the client's send never finished (it fails on the 10 s send
 * timeout). */
Test(daemon, pipelined_batch_written_before_reading, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    int fd = connect_unix(d.sock);
    int small = 8192;
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    enum { N = 200000 };
    char *req = malloc((size_t)N * 5);
    for (size_t i = 0; i < N; i++)
        memcpy(req + i * 5, "PING\n", 5);
    send_all(fd, req, (size_t)N * 5);
    free(req);
    lines l;
    lines_init(&l, fd);
    for (int i = 0; i < N; i++) {
        const char *s = next_line(&l);
        if (!s || strcmp(s, "OK PONG") != 0)
            cr_assert_fail("answer %d: %s", i, s ? s : "(none)");
    }
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

/* Requests cut at every kind of place and sent in pieces (a byte, a few, a
 * few KB) with pauses, so that the daemon reads them piecemeal: a line
 * split across reads, several lines in one read with a partial one after,
 * lines nearly USJ_MAX_LINE_BYTES long arriving after short ones (the
 * input buffer grows and moves its unanswered part down), CRLF endings. */
Test(daemon, requests_split_across_reads, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    int fd = connect_tcp(d.port);
    size_t cap = 200000, n = 0;
    char *req = malloc(cap);
    int kinds[60];
    for (int i = 0; i < 60; i++) {
        kinds[i] = i % 4;
        if (kinds[i] == 0) {                 /* a long padded PING */
            size_t pad = 1000 + (size_t)i * 250;
            memcpy(req + n, "PING", 4);
            memset(req + n + 4, ' ', pad);
            n += 4 + pad;
            req[n++] = '\n';
        } else {
            const char *r = kinds[i] == 1 ? "COUNT \"Section 232\"\r\n"
                          : kinds[i] == 2 ? "PING\n" : "SEARCH LIMIT 1 tariff\n";
            memcpy(req + n, r, strlen(r));
            n += strlen(r);
        }
    }
    cr_assert_lt(n, cap);
    static const size_t pieces[] = { 1, 7, 3, 100, 4093, 1, 12000, 2, 333 };
    size_t off = 0;
    for (unsigned k = 0; off < n; k++) {
        size_t m = pieces[k % (sizeof pieces / sizeof pieces[0])];
        if (m > n - off)
            m = n - off;
        send_all(fd, req + off, m);
        off += m;
        if (k % 3 == 0)
            msleep(2);
    }
    free(req);
    lines l;
    lines_init(&l, fd);
    char status[4096];
    for (int i = 0; i < 60; i++) {
        if (kinds[i] == 0 || kinds[i] == 2) {
            cr_assert_str_eq(next_line(&l), "OK PONG", "answer %d", i);
        } else if (kinds[i] == 1) {
            cr_assert_str_eq(next_line(&l), "OK 4", "answer %d", i);
        } else {
            int k = read_block(&l, status, sizeof status, NULL);
            cr_assert_eq(k, 1, "answer %d: %s", i, status);
        }
    }
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

/* ------------------------------------------------------------ concurrency */

typedef struct client_arg {
    daemon_proc *d;
    int          id, rounds, failures;
    volatile int *stop;
} client_arg;

static void *client_thread(void *p)
{
    client_arg *a = p;
    int fd = a->id % 2 ? connect_unix(a->d->sock) : connect_tcp(a->d->port);
    lines l;
    lines_init(&l, fd);
    char status[4096];
    for (int i = 0; (a->rounds == 0 || i < a->rounds) && !(a->stop && *a->stop); i++) {
        send_str(fd, "SEARCH \"Section 232\"\n");
        const char *s = next_line(&l);
        if (!s || strncmp(s, "OK 4 4 ", 7) != 0) {
            a->failures++;
            break;
        }
        int k = 0;
        while ((s = next_line(&l)) && strcmp(s, ".") != 0)
            k++;
        if (k != 4)
            a->failures++;
        snprintf(status, sizeof status, "COUNT tariff\n");
        send_str(fd, status);
        s = next_line(&l);
        if (!s || strncmp(s, "OK ", 3) != 0 || atoi(s + 3) <= 0)
            a->failures++;
    }
    lines_free(&l);
    close(fd);
    return NULL;
}

Test(daemon, many_concurrent_clients, .timeout = 180, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    enum { NT = 24 };
    pthread_t th[NT];
    client_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (client_arg){ &d, i, 100, 0, NULL };
        pthread_create(&th[i], NULL, client_thread, &args[i]);
    }
    int fails = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        fails += args[i].failures;
    }
    cr_assert_eq(fails, 0);
    stop_daemon(&d);
    cleanup_dir(&d);
}

/* ------------------------------------------------------------ hostile */

Test(daemon, garbage_nul_bytes_invalid_utf8, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    /* NUL inside a command word, NUL inside a query, invalid UTF-8 */
    static const char g1[] = "PI\0NG\nSEARCH tar\0iff\nSEARCH \xff\xfe\xc3(\n"
                             "\x01\x02\x03\x7f\n\xc0\xaf\n";
    send_all(fd, g1, sizeof g1 - 1);
    for (int i = 0; i < 5; i++) {
        const char *s = next_line(&l);
        cr_assert_not_null(s, "no answer %d", i);
        if (strncmp(s, "OK ", 3) == 0) {
            while ((s = next_line(&l)) && strcmp(s, ".") != 0)
                ;
            continue;
        }
        cr_assert_eq(strncmp(s, "ERR ", 4), 0, "answer %d: %s", i, s);
    }
    /* random binary garbage with newlines: every line answered, then PING */
    srand(42);
    char buf[8192];
    int nl = 0;
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (char)(rand() & 255);
        if (buf[i] == '\n')
            nl++;
    }
    buf[sizeof buf - 1] = '\n';
    send_all(fd, buf, sizeof buf);
    send_str(fd, "PING\n");
    int pong = 0;
    for (int i = 0; i < 20000 && !pong; i++) {
        const char *s = next_line(&l);
        cr_assert_not_null(s, "connection lost in garbage");
        pong = strcmp(s, "OK PONG") == 0;
    }
    cr_assert(pong);
    lines_free(&l);
    close(fd);
    /* another client still served */
    fd = connect_tcp(d.port);
    lines_init(&l, fd);
    send_str(fd, "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, overlong_line_closes, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    int fd = connect_tcp(d.port);
    lines l;
    lines_init(&l, fd);
    send_str(fd, "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    size_t n = 100000;
    char *big = malloc(n);
    memset(big, 'a', n);
    memcpy(big, "SEARCH ", 7);
    /* the daemon may close before it has read everything */
    size_t off = 0;
    while (off < n) {
        ssize_t k = send(fd, big + off, n - off, MSG_NOSIGNAL);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    free(big);
    const char *s = next_line(&l);
    cr_assert_not_null(s);
    cr_assert_eq(strncmp(s, "ERR TOOLONG ", 12), 0, "%s", s);
    cr_assert(expect_eof(&l));
    lines_free(&l);
    close(fd);

    /* exactly at the limit is fine; one byte over is not (no newline yet) */
    fd = connect_tcp(d.port);
    lines_init(&l, fd);
    char *line = malloc(16384 + 2);
    memset(line, ' ', 16384);
    memcpy(line, "PING", 4);
    line[16384] = '\n';
    send_all(fd, line, 16385);
    cr_assert_str_eq(next_line(&l), "OK PONG");
    send_all(fd, line, 16384);
    send_str(fd, " ");
    s = next_line(&l);
    cr_assert_not_null(s);
    cr_assert_eq(strncmp(s, "ERR TOOLONG ", 12), 0, "%s", s);
    free(line);
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

/* The lingering close after QUIT (or TOOLONG) ends USJ_LINGER_MS (1 s)
 * after it began, even if the client goes on sending: a byte every 100 ms
 * after OK BYE and the daemon's half-close, until a send fails because the
 * daemon has closed (Unix socket, then TCP). Fails when every byte
 * discarded restarts the linger. */
Test(daemon, linger_ends_while_client_keeps_sending, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    for (int pass = 0; pass < 2; pass++) {
        int fd = pass ? connect_tcp(d.port) : connect_unix(d.sock);
        lines l;
        lines_init(&l, fd);
        send_str(fd, "PING\nQUIT\n");
        cr_assert_str_eq(next_line(&l), "OK PONG");
        cr_assert_str_eq(next_line(&l), "OK BYE");
        cr_assert(expect_eof(&l), "no half-close after OK BYE");
        int closed = 0, sent = 0;
        uint64_t end = now_ms() + 15000;
        while (!closed && now_ms() < end) {
            msleep(100);
            ssize_t n = send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0)
                closed = errno == EPIPE || errno == ECONNRESET;
            sent += n == 1;
        }
        cr_assert(closed, "pass %d: still lingering after %d bytes", pass, sent);
        lines_free(&l);
        close(fd);
    }
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, half_closed_answers_then_closes, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    for (int pass = 0; pass < 2; pass++) {
        int fd = pass ? connect_tcp(d.port) : connect_unix(d.sock);
        lines l;
        lines_init(&l, fd);
        /* the last request has no newline: answered anyway */
        send_str(fd, "PING\nCOUNT \"Section 232\"\nSEARCH LIMIT 2 tariff\nCOUNT \"safety clause\"");
        shutdown(fd, SHUT_WR);
        cr_assert_str_eq(next_line(&l), "OK PONG");
        cr_assert_str_eq(next_line(&l), "OK 4");
        char status[4096];
        cr_assert_eq(read_block(&l, status, sizeof status, NULL), 2);
        cr_assert_str_eq(next_line(&l), "OK 2");
        cr_assert(expect_eof(&l));
        lines_free(&l);
        close(fd);
    }
    /* a client vanishing mid-answer: big answers, close without reading */
    for (int i = 0; i < 20; i++) {
        int fd = connect_tcp(d.port);
        for (int k = 0; k < 50; k++)
            send_str(fd, "SEARCH LIMIT 100 the\n");
        close(fd);
    }
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    send_str(fd, "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, slow_reader_does_not_block_others, .timeout = 180, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, (const char *[]){ "--threads", "1", NULL });
    int slow = connect_tcp(d.port);
    /* pipeline far more answer bytes than the output cap without reading */
    const char *req = "SEARCH LIMIT 100 the\n";
    int nreq = 400;
    int flags = fcntl(slow, F_GETFL);
    fcntl(slow, F_SETFL, flags | O_NONBLOCK);
    int sent = 0;
    size_t part = 0, rl = strlen(req);
    uint64_t end = now_ms() + 5000;
    while (sent < nreq && now_ms() < end) {
        ssize_t k = send(slow, req + part, rl - part, MSG_NOSIGNAL);
        if (k > 0) {
            part += (size_t)k;
            if (part == rl) {
                part = 0;
                sent++;
            }
        } else {
            msleep(5);
        }
    }
    /* the single worker still serves someone else */
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    for (int i = 0; i < 20; i++) {
        send_str(fd, "PING\n");
        cr_assert_str_eq(next_line(&l), "OK PONG");
    }
    lines_free(&l);
    close(fd);
    /* now read everything the slow client asked for, in order */
    fcntl(slow, F_SETFL, flags);
    if (part)
        send_all(slow, req + part, rl - part), sent++;
    lines_init(&l, slow);
    char status[64];
    for (int i = 0; i < sent; i++) {
        int k = read_block(&l, status, sizeof status, NULL);
        cr_assert_gt(k, 0, "answer %d: %s", i, status);
    }
    lines_free(&l);
    close(slow);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, connection_limit, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, (const char *[]){ "--max-conns", "3", NULL });
    int fds[3];
    lines l;
    for (int i = 0; i < 3; i++) {
        fds[i] = connect_unix(d.sock);
        lines_init(&l, fds[i]);
        send_str(fds[i], "PING\n");
        cr_assert_str_eq(next_line(&l), "OK PONG");
        lines_free(&l);
    }
    int extra = connect_tcp(d.port);
    lines_init(&l, extra);
    const char *s = next_line(&l);
    cr_assert_not_null(s);
    cr_assert_eq(strncmp(s, "ERR BUSY ", 9), 0, "%s", s);
    cr_assert(expect_eof(&l));
    lines_free(&l);
    close(extra);
    /* the others still work; after one leaves, a newcomer is accepted */
    lines_init(&l, fds[1]);
    send_str(fds[1], "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    lines_free(&l);
    close(fds[0]);
    int ok = 0;
    for (int tries = 0; tries < 100 && !ok; tries++) {
        msleep(20);
        int fd = connect_tcp(d.port);
        lines_init(&l, fd);
        send_str(fd, "PING\n");
        s = next_line(&l);
        ok = s && strcmp(s, "OK PONG") == 0;
        lines_free(&l);
        close(fd);
    }
    cr_assert(ok, "no connection accepted after one closed");
    close(fds[1]);
    close(fds[2]);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, idle_timeout, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, (const char *[]){ "--idle-timeout", "1", NULL });
    int idle = connect_unix(d.sock);
    int busy = connect_tcp(d.port);
    lines li, lb;
    lines_init(&li, idle);
    lines_init(&lb, busy);
    send_str(idle, "PING\n");
    cr_assert_str_eq(next_line(&li), "OK PONG");
    uint64_t t0 = now_ms();
    for (int i = 0; i < 10; i++) {      /* 2.5 s, a request every 250 ms */
        send_str(busy, "PING\n");
        cr_assert_str_eq(next_line(&lb), "OK PONG");
        msleep(250);
    }
    cr_assert(expect_eof(&li), "idle connection not closed");
    cr_assert_lt(now_ms() - t0, 8000);
    send_str(busy, "PING\n");
    cr_assert_str_eq(next_line(&lb), "OK PONG");
    lines_free(&li);
    lines_free(&lb);
    close(idle);
    close(busy);
    stop_daemon(&d);
    cleanup_dir(&d);
}

/* A client that reads none of its answers is closed after --idle-timeout
 * (docs/PROTOCOL.md, Limits) even while it keeps sending requests: the
 * timeout counts from the last time the socket took any of its answers,
 * not from its last request. Over the Unix socket, whose buffers do not
 * grow: about 1 MB of answers left unread (more than the socket holds,
 * less than USJ_MAX_PENDING_OUTPUT, so the daemon goes on reading), then
 * a PING every 100 ms. Fails when each request restarts the timeout. */
Test(daemon, idle_timeout_closes_client_not_reading, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, (const char *[]){ "--idle-timeout", "1", NULL });
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    const char *req = "SEARCH LIMIT 100 the\n";
    send_str(fd, req);
    char status[4096];
    cr_assert_gt(read_block(&l, status, sizeof status, NULL), 0, "%s", status);
    size_t answer = l.off;              /* bytes of one answer */
    size_t k = 1000000 / answer + 1;
    cr_assert_lt(k * answer, 3000000);
    for (size_t i = 0; i < k; i++)
        send_str(fd, req);
    int closed = 0, sent = 0;
    uint64_t end = now_ms() + 15000;
    while (!closed && now_ms() < end) {
        msleep(100);
        ssize_t n = send(fd, "PING\n", 5, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            closed = errno == EPIPE || errno == ECONNRESET;
        sent += n == 5;
    }
    cr_assert(closed, "a client reading none of its answers was not closed "
              "(%d requests sent meanwhile)", sent);
    lines_free(&l);
    close(fd);
    /* the daemon is fine */
    fd = connect_unix(d.sock);
    lines_init(&l, fd);
    send_str(fd, "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, thousands_of_connections_no_fd_leak, .timeout = 300, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    int fd = connect_unix(d.sock);   /* let both workers settle */
    close(fd);
    msleep(200);
    int before = count_fds(d.pid);
    for (int i = 0; i < 10000; i++) {
        fd = i % 5 ? connect_unix(d.sock) : connect_tcp(d.port);   /* few TIME_WAITs */
        if (i % 10 <= 1) {      /* both kinds also send requests; the
                                 * daemon may have said ERR BUSY and closed */
            ssize_t k = send(fd, "PING\nCOUNT tariff\n", 18, MSG_NOSIGNAL);
            (void)k;
        }
        if (i % 100 == 0) {     /* reset instead of a clean close */
            struct linger lg = { 1, 0 };
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(fd);
    }
    /* the kernel completes connections before the daemon accepts them (and
     * a TCP one that overflowed the backlog may never reach it): wait until
     * accepting has stopped and only the asking connection is open */
    int ok = 0;
    long long last_total = -1;
    char status[64], **body;
    for (int tries = 0; tries < 300 && !ok; tries++) {
        fd = connect_tcp(d.port);
        lines l;
        lines_init(&l, fd);
        send_str(fd, "STATS\n");
        int n = read_block(&l, status, sizeof status, &body);
        /* ERR BUSY while the backlog is drained is fine: try again */
        const char *cur = n > 0 ? stat_value(body, n, "connections_current") : NULL;
        const char *tot = n > 0 ? stat_value(body, n, "connections_total") : NULL;
        long long total = tot ? atoll(tot) : -1;
        ok = cur && strcmp(cur, "1") == 0 && total == last_total + 1 &&
             total > 1000;
        last_total = total;
        free_body(body, n);
        lines_free(&l);
        close(fd);
        if (!ok)
            msleep(100);
    }
    cr_assert(ok, "connections not all accepted and closed");
    int after = -1;
    for (int tries = 0; tries < 200; tries++) {
        after = count_fds(d.pid);
        if (after == before)
            break;
        msleep(50);
    }
    cr_assert_eq(after, before, "fds before %d, after %d", before, after);
    stop_daemon(&d);
    cleanup_dir(&d);
}

/* ------------------------------------------------------------ operations */

Test(daemon, reload_while_clients_query, .timeout = 300, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    volatile int stop = 0;
    enum { NT = 6 };
    pthread_t th[NT];
    client_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (client_arg){ &d, i, 0, 0, &stop };
        pthread_create(&th[i], NULL, client_thread, &args[i]);
    }
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    for (int round = 0; round < 3; round++) {
        /* rebuild over the same path (the indexer renames atomically) */
        build_index_at(&d, d.idx);
        if (round == 1) {
            cr_assert_eq(kill(d.pid, SIGHUP), 0);
            msleep(300);
        } else {
            send_str(fd, "RELOAD\n");
            const char *s = next_line(&l);
            cr_assert_not_null(s);
            cr_assert_eq(strncmp(s, "OK", 2), 0, "%s", s);
        }
    }
    /* an unreadable new index is refused; the old one keeps serving */
    char junk[400];
    snprintf(junk, sizeof junk, "%s/junk", d.dir);
    FILE *f = fopen(junk, "w");
    fputs("this is not an index\n", f);
    fclose(f);
    cr_assert_eq(rename(junk, d.idx), 0);
    send_str(fd, "RELOAD\n");
    const char *s = next_line(&l);
    cr_assert_not_null(s);
    cr_assert_eq(strncmp(s, "ERR ", 4), 0, "%s", s);
    send_str(fd, "COUNT \"Section 232\"\n");
    cr_assert_str_eq(next_line(&l), "OK 4");
    msleep(300);
    stop = 1;
    int fails = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        fails += args[i].failures;
    }
    cr_assert_eq(fails, 0, "%d failed queries during reloads", fails);
    send_str(fd, "STATS\n");
    char status[64], **body;
    int n = read_block(&l, status, sizeof status, &body);
    cr_assert_eq(atoi(stat_value(body, n, "reloads")), 3);
    free_body(body, n);
    char *log = slurp(d.log, NULL);
    cr_assert_not_null(strstr(log, "refused"), "refusal not logged");
    free(log);
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

/* One connection of reloads_at_once: RELOAD then COUNT, rounds times. */
typedef struct reload_arg {
    daemon_proc *d;
    int          id, rounds, failures;
    char         bad[128];       /* the first wrong answer */
} reload_arg;

static void *reload_thread(void *p)
{
    reload_arg *a = p;
    int fd = a->id % 2 ? connect_unix(a->d->sock) : connect_tcp(a->d->port);
    lines l;
    lines_init(&l, fd);
    for (int i = 0; i < a->rounds && a->failures == 0; i++) {
        send_str(fd, "RELOAD\nCOUNT \"Section 232\"\n");
        const char *s = next_line(&l);
        int ok = s && strncmp(s, "OK RELOADED ", 12) == 0;
        if (ok) {
            s = next_line(&l);
            ok = s && strcmp(s, "OK 4") == 0;
        }
        if (!ok) {
            a->failures++;
            snprintf(a->bad, sizeof a->bad, "%s", s ? s : "(connection closed)");
        }
    }
    lines_free(&l);
    close(fd);
    return NULL;
}

/* Reloads at the same time from four connections (RELOAD runs in the
 * worker that answers it, so several run at once) and SIGHUP in the main
 * thread, each followed by queries. Each reload must finish with the index
 * it published still referenced: server_reload read the new index's
 * numbers for its log line after dropping the lock, when a reload right
 * behind it could have replaced and freed that index (use after free: a
 * ThreadSanitizer build of usjsearchd reports it on every run of this
 * test; under ASan it shows only when the threads interleave just so).
 * Then: every answer right, all the reloads counted, exit 0. */
Test(daemon, reloads_at_once, .timeout = 300, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, (const char *[]){ "--threads", "4", NULL });
    enum { NT = 4, ROUNDS = 150 };
    pthread_t th[NT];
    reload_arg args[NT];
    for (int i = 0; i < NT; i++) {
        args[i] = (reload_arg){ &d, i, ROUNDS, 0, "" };
        pthread_create(&th[i], NULL, reload_thread, &args[i]);
    }
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(kill(d.pid, SIGHUP), 0);
        msleep(5);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NT; i++) {
        if (args[i].failures) {
            char *log = slurp(d.log, NULL);   /* a sanitizer's report, say */
            const char *e = log ? strstr(log, "ERROR") : NULL;
            cr_assert_fail("connection %d: %s; daemon log: %.1500s", i,
                           args[i].bad, e ? e : "");
        }
    }
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    send_str(fd, "STATS\n");
    char status[64], **body;
    int n = read_block(&l, status, sizeof status, &body);
    const char *r = n > 0 ? stat_value(body, n, "reloads") : NULL;
    cr_assert_not_null(r);
    cr_assert_geq(atoi(r), NT * ROUNDS + 1, "reloads %s", r);
    free_body(body, n);
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, sigterm_with_clients_connected, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    int fds[8];
    for (int i = 0; i < 8; i++) {
        fds[i] = i % 2 ? connect_unix(d.sock) : connect_tcp(d.port);
        if (i % 3 == 0)
            send_str(fds[i], "SEARCH LIMIT 50 the\nPING\n");
        if (i == 7)
            send_str(fds[i], "PING");           /* a partial request */
    }
    /* wait until the daemon has taken those 6 requests (plus our STATS) */
    int polls = 0, seen = 0;
    for (; polls < 100 && !seen; polls++) {
        int fd = connect_unix(d.sock);
        lines l;
        lines_init(&l, fd);
        send_str(fd, "STATS\n");
        char status[64], **body;
        int n = read_block(&l, status, sizeof status, &body);
        const char *r = n > 0 ? stat_value(body, n, "requests") : NULL;
        seen = r && atoi(r) >= 6 + polls + 1;
        free_body(body, n);
        lines_free(&l);
        close(fd);
        if (!seen)
            msleep(50);
    }
    cr_assert(seen, "requests not received");
    stop_daemon(&d);     /* exit 0, socket and pidfile removed */
    for (int i = 0; i < 8; i++) {
        lines l;
        lines_init(&l, fds[i]);
        if (i % 3 == 0) {           /* what was received got answered */
            char status[64];
            cr_assert_gt(read_block(&l, status, sizeof status, NULL), 0);
            cr_assert_str_eq(next_line(&l), "OK PONG");
        }
        cr_assert(expect_eof(&l));
        lines_free(&l);
        close(fds[i]);
    }
    cleanup_dir(&d);
}

/* As much of buf as the socket takes now (never blocks). */
static size_t send_some(int fd, const char *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = send(fd, buf + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    return off;
}

/* n copies of the request r in one malloc'd buffer (*len: its size). */
static char *repeat(const char *r, size_t n, size_t *len)
{
    size_t rl = strlen(r);
    char *b = malloc(rl * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(b + i * rl, r, rl);
    *len = rl * n;
    return b;
}

/* Reads to EOF or a reset: the bytes (into *out when out, malloc'd), or -1
 * when the receive timeout came first. */
static long read_to_eof(int fd, char **out)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (cap - n < 65536)
            b = realloc(b, cap *= 2);
        ssize_t k = recv(fd, b + n, cap - n, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            break;
        if (k < 0) {
            free(b);
            return -1;
        }
        n += (size_t)k;
    }
    if (out)
        *out = b;
    else
        free(b);
    return (long)n;
}

/* SIGTERM with connections in every state at once: idle; a partial
 * request behind an answered one; a pipelining client that reads nothing
 * (turns waiting for room); one past USJ_MAX_PENDING_OUTPUT (reading
 * paused); a QUIT behind unread answers (closing); a QUIT answered and
 * lingering; a half-closed one behind unread answers. The daemon exits 0
 * (ASan: no leak, no use after free), the socket and pidfile gone, and
 * every client then reads to EOF: nothing for the idle, partial and
 * lingering ones, for the pipeliner only its answers in order (cut where
 * the grace period ended). */
Test(daemon, sigterm_with_connections_in_every_state, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, (const char *[]){ "--threads", "3", NULL });
    enum { IDLE, PARTIAL, TURNS, BLOCKED, CLOSING, LINGER, HALF, NCONN };
    int fd[NCONN];
    lines l;
    size_t n;
    char *b;
    fd[IDLE] = connect_tcp(d.port);
    lines_init(&l, fd[IDLE]);
    send_str(fd[IDLE], "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    lines_free(&l);
    fd[PARTIAL] = connect_unix(d.sock);
    lines_init(&l, fd[PARTIAL]);
    send_str(fd[PARTIAL], "PING\nSEARCH tar");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    lines_free(&l);
    fd[TURNS] = connect_unix(d.sock);
    b = repeat("PING\n", 200000, &n);
    cr_assert_gt(send_some(fd[TURNS], b, n), 0);
    free(b);
    fd[BLOCKED] = connect_tcp(d.port);
    b = repeat("SEARCH LIMIT 100 the\n", 2000, &n);
    cr_assert_gt(send_some(fd[BLOCKED], b, n), 0);
    free(b);
    fd[CLOSING] = connect_unix(d.sock);
    b = repeat("SEARCH LIMIT 100 the\n", 40, &n);
    send_all(fd[CLOSING], b, n);
    send_str(fd[CLOSING], "QUIT\nPING\n");
    free(b);
    fd[LINGER] = connect_tcp(d.port);
    lines_init(&l, fd[LINGER]);
    send_str(fd[LINGER], "QUIT\n");
    cr_assert_str_eq(next_line(&l), "OK BYE");
    cr_assert(expect_eof(&l));
    lines_free(&l);
    fd[HALF] = connect_unix(d.sock);
    b = repeat("SEARCH LIMIT 100 the\n", 40, &n);
    send_all(fd[HALF], b, n);
    shutdown(fd[HALF], SHUT_WR);
    free(b);
    msleep(300);            /* let the daemon take what it can */
    stop_daemon(&d);        /* exit 0, socket and pidfile removed */
    for (int i = 0; i < NCONN; i++) {
        char *got = NULL;
        long k = read_to_eof(fd[i], &got);
        cr_assert_geq(k, 0, "connection %d: no EOF", i);
        if (i == IDLE || i == PARTIAL || i == LINGER)
            cr_assert_eq(k, 0, "connection %d: %ld bytes after SIGTERM", i, k);
        if (i == TURNS)
            for (long j = 0; j < k; j++)
                cr_assert_eq(got[j], "OK PONG\n"[j % 8], "byte %ld", j);
        free(got);
        close(fd[i]);
    }
    cleanup_dir(&d);
}

Test(daemon, stale_socket_replaced_live_one_kept, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    /* a stale socket file: bound, never listening, its owner gone */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, d.sock, strlen(d.sock) + 1);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    close(s);
    start_daemon(&d, NULL);
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    send_str(fd, "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");

    /* a second daemon on the same socket must not steal it */
    daemon_proc d2 = d;
    snprintf(d2.log, sizeof d2.log, "%s/second.log", d.dir);
    snprintf(d2.pidfile, sizeof d2.pidfile, "%s/second.pid", d.dir);
    int rc = start_daemon_args(&d2, 1, NULL);
    cr_assert_eq(rc, 2);
    char *log = slurp(d2.log, NULL);
    cr_assert_not_null(strstr(log, "another usjsearchd"), "%s", log);
    free(log);
    send_str(fd, "PING\n");
    cr_assert_str_eq(next_line(&l), "OK PONG");
    lines_free(&l);
    close(fd);
    fd = connect_unix(d.sock);            /* still reachable by path */
    close(fd);

    /* a path that is not a socket is never removed */
    stop_daemon(&d);
    FILE *f = fopen(d.sock, "w");
    fputs("precious", f);
    fclose(f);
    rc = start_daemon_args(&d2, 1, NULL);
    cr_assert_eq(rc, 2);
    char *kept = slurp(d.sock, NULL);
    cr_assert_str_eq(kept, "precious");
    free(kept);
    unlink(d.sock);
    cleanup_dir(&d);
}

/* ------------------------------------------------------------ the client */

/* Run usjsearch with args; capture stdout and exit status. */
static char *run_client(daemon_proc *d, const char *const *args, int *status)
{
    char bin[300], out[400], err[400];
    prog(bin, sizeof bin, "usjsearch");
    snprintf(out, sizeof out, "%s/client.out", d->dir);
    snprintf(err, sizeof err, "%s/client.err", d->dir);
    const char *argv[24] = { bin };
    int n = 1;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        close(fd);
        int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(efd, 2);
        close(efd);
        if (chdir(env_or_fail("USJ_TEST_ROOT")) != 0)
            _exit(127);
        unsetenv("USJ_SERVER");
        setenv("NO_COLOR", "1", 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st = wait_pid(pid, 60000);
    cr_assert_neq(st, -1, "client hung");
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    /* stdout, then stderr (error messages must match too) */
    size_t lo, le;
    char *o = slurp(out, &lo), *e = slurp(err, &le);
    cr_assert(o && e);
    o = realloc(o, lo + le + 16);
    memcpy(o + lo, "\n--stderr--\n", 12);
    memcpy(o + lo + 12, e, le + 1);
    free(e);
    return o;
}

/* JSON summaries carry the elapsed time: blank out digits after "took
 * or "elapsed keys so that both modes compare equal. */
static void mask_elapsed(char *s)
{
    const char *keys[] = { "\"took", "\"elapsed", "\"time" };
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        for (char *p = strstr(s, keys[k]); p; p = strstr(p + 1, keys[k])) {
            char *c = strchr(p + 1, ':');
            if (!c)
                break;
            char *e = ++c;
            while (*e == ' ' || (*e >= '0' && *e <= '9') || *e == '.')
                e++;
            memmove(c, e, strlen(e) + 1);
        }
    }
}

Test(daemon, client_output_identical_in_both_modes, .timeout = 180, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    char bin[300];
    prog(bin, sizeof bin, "usjsearch");
    if (access(bin, X_OK) != 0)
        cr_skip_test("usjsearch not built");
    start_daemon(&d, NULL);
    char server[400];
    snprintf(server, sizeof server, "unix:%s", d.sock);
    char tcp[64];
    snprintf(tcp, sizeof tcp, "127.0.0.1:%d", d.port);
    /* a 100 KB query: longer than a request line, refused identically */
    static char huge[100001];
    for (size_t i = 0; i < sizeof huge - 1; i++)
        huge[i] = "tariff "[i % 7];
    const char *queries[] = { "\"Section 232\"", "safety clause", "$1t..",
                              "semiconductor OR pharmaceuticals", "tariff*",
                              "zzzzqqqq", "\"unterminated", "japan -tariff",
                              huge };
    const char *modes[][3] = { { NULL }, { "--vimgrep" }, { "--json" },
                               { "--count" }, { "-n", "3" }, { "--explain" } };
    int compared = 0;
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
            for (int via = 0; via < 2; via++) {
                const char *a[16], *b[16];
                int na = 0, nb = 0;
                a[na++] = "--index"; a[na++] = d.idx; a[na++] = "--no-server";
                b[nb++] = "--index"; b[nb++] = d.idx; b[nb++] = "--server";
                b[nb++] = via ? tcp : server;
                for (int k = 0; k < 3 && modes[m][k]; k++) {
                    a[na++] = modes[m][k];
                    b[nb++] = modes[m][k];
                }
                a[na++] = queries[q]; a[na] = NULL;
                b[nb++] = queries[q]; b[nb] = NULL;
                int sa, sb;
                char *oa = run_client(&d, a, &sa);
                char *ob = run_client(&d, b, &sb);
                mask_elapsed(oa);
                mask_elapsed(ob);
                cr_assert_eq(sa, sb, "exit %d vs %d for %s %.60s", sa, sb,
                             modes[m][0] ? modes[m][0] : "plain", queries[q]);
                cr_assert_str_eq(oa, ob, "output differs for %s %.60s",
                                 modes[m][0] ? modes[m][0] : "plain", queries[q]);
                free(oa);
                free(ob);
                compared++;
            }
        }
    }
    cr_assert_eq(compared, 108);
    /* the client did go through the daemon */
    int fd = connect_unix(d.sock);
    lines l;
    lines_init(&l, fd);
    send_str(fd, "STATS\n");
    char status[64], **body;
    int n = read_block(&l, status, sizeof status, &body);
    cr_assert_geq(atoi(stat_value(body, n, "queries")), 48);
    free_body(body, n);
    lines_free(&l);
    close(fd);
    stop_daemon(&d);
    cleanup_dir(&d);
}

Test(daemon, remote_api_directly, .timeout = 120, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, NULL);
    usj_remote *r;
    char addr[400];
    snprintf(addr, sizeof addr, "unix:%s", d.sock);
    cr_assert_eq(usj_remote_connect(&r, addr, NULL, 2000), 0, "%s", usj_error_last());
    usj_search_opts o = { .limit = 10 };
    usj_results *res;
    cr_assert_eq(usj_remote_search(r, "\"Section 232\"", 13, &o, &res), 0,
                 "%s", usj_error_last());
    cr_assert_eq(res->nhits, 4);
    cr_assert_eq(res->total, 4);
    cr_assert_str_eq(res->root, env_or_fail("USJ_TEST_ROOT"));
    for (size_t i = 0; i < res->nhits; i++) {
        usj_hit *h = &res->hits[i];
        cr_assert_str_eq(h->path, SEED4);
        cr_assert_gt(h->nspans, 0);
        cr_assert_eq(memcmp(h->text + h->spans[0].start, "Section", 7), 0);
        cr_assert_null(h->explain);
        cr_assert_gt(strlen(h->title), 0);
    }
    usj_results_free(res);
    /* a parse error comes back with its column; the connection goes on */
    cr_assert_eq(usj_remote_search(r, "safety \"clause", 14, &o, &res), USJ_EPARSE);
    int col = usj_error_column();
    cr_assert_null(res);
    cr_assert_eq(col, local_column("safety \"clause"));
    cr_assert_eq(usj_remote_search(r, "tariff", 6, &o, &res), 0);
    cr_assert_gt(res->nhits, 0);
    /* NOTEXT: the same ranking, no text (as usj_search gives it) */
    usj_search_opts on = o;
    on.flags = USJ_SEARCH_NOTEXT;
    usj_results *rn;
    cr_assert_eq(usj_remote_search(r, "tariff", 6, &on, &rn), 0);
    cr_assert_eq(rn->nhits, res->nhits);
    cr_assert_eq(rn->total, res->total);
    for (size_t i = 0; i < rn->nhits; i++) {
        cr_assert_null(rn->hits[i].text);
        cr_assert_str_eq(rn->hits[i].path, res->hits[i].path);
        cr_assert(rn->hits[i].score == res->hits[i].score);
        cr_assert_eq(rn->hits[i].doc, res->hits[i].doc);
    }
    usj_results_free(rn);
    usj_results_free(res);
    usj_remote_close(r);
    /* nobody there: ENOTFOUND (the client then opens the index itself) */
    char none[400];
    snprintf(none, sizeof none, "%s/nobody.sock", d.dir);
    cr_assert_eq(usj_remote_connect(&r, none, NULL, 500), USJ_ENOTFOUND);
    cr_assert_eq(usj_remote_connect(&r, "127.0.0.1:1", NULL, 500), USJ_ENOTFOUND);
    cr_assert_eq(usj_remote_connect(&r, "no-port", NULL, 500), USJ_EINVAL);
    stop_daemon(&d);
    /* after the daemon is gone its socket path answers ENOTFOUND too */
    cr_assert_eq(usj_remote_connect(&r, addr, NULL, 500), USJ_ENOTFOUND);
    cleanup_dir(&d);
}

/* ------------------------------------------------------------ chaos */

/* One chaos client's connection (no Criterion asserts in the children: a
 * failed connect or send just ends that round). */
static int chaos_connect(const daemon_proc *d, int tcp)
{
    int fd;
    if (tcp) {
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)d->port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(fd);
            return -1;
        }
    } else {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        size_t pl = strlen(d->sock);
        if (pl >= sizeof sa.sun_path)
            return -1;
        memcpy(sa.sun_path, d->sock, pl + 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(fd);
            return -1;
        }
    }
    if (fd >= 0)
        set_timeouts(fd, 3000);
    return fd;
}

/* Reads until EOF, an error or the receive timeout; at most max bytes. */
static void chaos_drain(int fd, size_t max)
{
    char b[8192];
    ssize_t k;
    while (max && (k = recv(fd, b, sizeof b, 0)) > 0)
        max = (size_t)k >= max ? 0 : max - (size_t)k;
}

static void chaos_client(const daemon_proc *d, unsigned seed, uint64_t until)
{
    static const char *valid[] = {
        "PING\n", "COUNT tariff\n", "SEARCH LIMIT 3 \"Section 232\"\n",
        "SEARCH japan OR steel\n", "GET seeds/004_34c4a962b3f42fed.txt:5\n",
        "STATS\n", "HELP\n", "SEARCH $1t..\n", "COUNT (unclosed\n", "BOGUS\n",
    };
    const size_t nvalid = sizeof valid / sizeof valid[0];
    srand(seed);
    char buf[24 * 1024];
    while (now_ms() < until) {
        int action = rand() % 8;
        int fd = chaos_connect(d, rand() % 3 == 0);
        if (fd < 0) {
            msleep(5);
            continue;
        }
        size_t n = 0;
        switch (action) {
        case 0:     /* binary garbage, NULs, invalid UTF-8, stray newlines */
            n = 1 + (size_t)rand() % 4096;
            for (size_t i = 0; i < n; i++)
                buf[i] = rand() % 7 == 0 ? '\n' : (char)(rand() & 0xff);
            break;
        case 1:     /* a pipelined burst */
        case 2:
            for (int i = 0; i < 200 && n < sizeof buf - 128; i++) {
                const char *r = valid[(size_t)rand() % nvalid];
                memcpy(buf + n, r, strlen(r));
                n += strlen(r);
            }
            break;
        case 3:     /* a partial line, then half-close */
            memcpy(buf, "SEARCH tari", 11);
            n = 11;
            break;
        case 4:     /* an overlong line */
            n = sizeof buf;
            memset(buf, 'x', n);
            break;
        case 5:
            memcpy(buf, "PING\nQUIT\nPING\n", 15);
            n = 15;
            break;
        default:    /* a few requests, answers never read */
            for (int i = 0; i < 20; i++) {
                const char *r = valid[(size_t)rand() % 4];
                memcpy(buf + n, r, strlen(r));
                n += strlen(r);
            }
            break;
        }
        size_t off = 0;
        while (off < n) {
            ssize_t k = send(fd, buf + off, n - off, MSG_NOSIGNAL);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        switch (action) {
        case 1:
            chaos_drain(fd, (size_t)rand() % 20000);    /* part of the answers */
            break;
        case 3:
            shutdown(fd, SHUT_WR);
            chaos_drain(fd, SIZE_MAX);
            break;
        case 4:
        case 5:
            chaos_drain(fd, SIZE_MAX);                  /* closed by the daemon */
            break;
        default:
            if (rand() % 2) {                           /* reset, not a close */
                struct linger lg = { 1, 0 };
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            }
            break;
        }
        close(fd);
    }
}

/* Six processes of hostile and careless clients for four seconds against
 * four workers (connections change hands between them), with the
 * connection limit and the idle timeout in play; a witness connection is
 * answered right all along; afterwards no connection or descriptor is
 * left, and the daemon stops cleanly (under ASan: no leak, no error). */
Test(daemon, chaos_clients_against_four_workers, .timeout = 300, .fini = teardown)
{
    daemon_proc d;
    setup_dir(&d);
    start_daemon(&d, (const char *[]){ "--threads", "4", "--max-conns", "48",
                                       "--idle-timeout", "2", NULL });
    int w = connect_unix(d.sock);
    lines lw;
    lines_init(&lw, w);
    send_str(w, "PING\n");
    cr_assert_str_eq(next_line(&lw), "OK PONG");
    int before = count_fds(d.pid);
    uint64_t until = now_ms() + 4000;
    pid_t kids[6];
    for (int i = 0; i < 6; i++) {
        kids[i] = fork();
        cr_assert(kids[i] >= 0);
        if (kids[i] == 0) {
            chaos_client(&d, 1000u + (unsigned)i, until);
            _exit(0);
        }
    }
    int checks = 0;
    while (now_ms() < until) {
        send_str(w, "COUNT \"Section 232\"\n");
        cr_assert_str_eq(next_line(&lw), "OK 4", "witness answer %d", checks);
        checks++;
        msleep(50);
    }
    for (int i = 0; i < 6; i++) {
        int st;
        cr_assert_eq(waitpid(kids[i], &st, 0), kids[i]);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chaos client %d: %d", i, st);
    }
    cr_assert_gt(checks, 20);
    /* lingering closes end within USJ_LINGER_MS; then only the witness */
    int ok = 0, after = -1;
    char status[64], **body;
    for (int tries = 0; tries < 100 && !ok; tries++) {
        send_str(w, "STATS\n");
        int n = read_block(&lw, status, sizeof status, &body);
        const char *cur = n > 0 ? stat_value(body, n, "connections_current") : NULL;
        after = count_fds(d.pid);
        ok = cur && strcmp(cur, "1") == 0 && after == before;
        free_body(body, n);
        if (!ok)
            msleep(100);
    }
    cr_assert(ok, "connections or descriptors left: fds before %d, after %d", before,
              after);
    lines_free(&lw);
    close(w);
    stop_daemon(&d);
    cleanup_dir(&d);
}
