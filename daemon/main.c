/* daemon/main.c — usjsearchd: options and settings, paths made absolute,
 * daemonizing (double fork, setsid, chdir /; the parent exits only once the
 * server is ready, with its status), the pidfile, then server_run. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "limits.h"
#include "usj/proto.h"

static void usage(FILE *f)
{
    fprintf(f,
"usage: usjsearchd [--index PATH] [--socket PATH|none] [--listen ADDR]\n"
"                  [--threads N] [--max-conns N] [--idle-timeout S]\n"
"                  [--query-timeout MS] [--cache N] [--pidfile F]\n"
"                  [--log-level L] [--foreground] [--help] [--version]\n"
"\n"
"Serves an index built by usjindex over the line protocol of\n"
"docs/PROTOCOL.md (try: echo HELP | nc -U SOCKET).\n"
"\n"
"  --index PATH        index file (default: --index, $USJ_INDEX, else\n"
"                      %s searched from here upwards)\n"
"  --socket PATH       Unix socket (mode 0600; default\n"
"                      $XDG_RUNTIME_DIR/usjsearchd-<hash>.sock, or\n"
"                      <index>.sock); 'none' for TCP only\n"
"  --listen ADDR       also listen on TCP: HOST:PORT, [V6]:PORT, or PORT\n"
"                      (loopback); port 0 picks a free one\n"
"  --threads N         worker threads (default: number of cores)\n"
"  --max-conns N       connections at once (default %u; the next one gets\n"
"                      ERR BUSY)\n"
"  --idle-timeout S    close connections idle this long (default %u, 0 =\n"
"                      never)\n"
"  --query-timeout MS  per-query deadline (default %u)\n"
"  --cache N           answers cached per worker thread (default %u, 0 = no\n"
"                      cache): a repeated SEARCH/COUNT under the same index\n"
"                      is answered from memory (bounded to %u MB per thread)\n"
"  --pidfile F         write the daemon's pid there (removed at exit)\n"
"  --log-level L       error, warn, info (default) or debug; logs go to\n"
"                      stderr\n"
"  --foreground        do not daemonize\n"
"\n"
"Signals: SIGHUP reloads the index; SIGTERM/SIGINT stop it (in-flight\n"
"requests are answered, the socket and pidfile removed, exit 0).\n"
"Exit status: 0 clean stop, 2 error (bad option, index unreadable, socket\n"
"in use).\n",
            USJ_INDEX_DEFAULT_NAME, USJ_DEFAULT_MAX_CONNS,
            USJ_DEFAULT_IDLE_TIMEOUT_S, USJ_DEFAULT_QUERY_TIMEOUT_MS,
            USJ_DEFAULT_CACHE_ENTRIES, USJ_ANSWER_CACHE_BYTES >> 20);
}

static int parse_uint(const char *opt, const char *s, unsigned lo,
                      unsigned hi, unsigned *out)
{
    char *e;
    errno = 0;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || *e || e == s || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "usjsearchd: %s needs a number in %u..%u, not '%s'\n",
                opt, lo, hi, s);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* out = path made absolute against the current folder (no symlink
 * resolution: the file may not exist yet). */
static int absolutize(char *out, size_t n, const char *path)
{
    if (path[0] == '/') {
        if (strlen(path) >= n)
            return -1;
        strcpy(out, path);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    int k = snprintf(out, n, "%s/%s", cwd, path);
    return (k < 0 || (size_t)k >= n) ? -1 : 0;
}

/* Double fork; the original process waits for the ready byte and exits 0,
 * or 2 if the daemon dies first. Returns the write end in the daemon. */
static int daemonize(void)
{
    int pfd[2];
    if (pipe(pfd) != 0) {
        perror("usjsearchd: pipe");
        exit(2);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("usjsearchd: fork");
        exit(2);
    }
    if (pid > 0) {
        close(pfd[1]);
        char c;
        ssize_t n;
        do
            n = read(pfd[0], &c, 1);
        while (n < 0 && errno == EINTR);
        waitpid(pid, NULL, 0);
        _exit(n == 1 ? 0 : 2);
    }
    close(pfd[0]);
    if (setsid() < 0)
        _exit(2);
    pid = fork();
    if (pid < 0)
        _exit(2);
    if (pid > 0)
        _exit(0);
    if (chdir("/") != 0)
        _exit(2);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    return pfd[1];
}

int main(int argc, char **argv)
{
    enum { O_INDEX = 256, O_SOCKET, O_LISTEN, O_THREADS, O_MAXCONNS, O_IDLE,
           O_QTIMEOUT, O_CACHE, O_PIDFILE, O_LOGLEVEL, O_FOREGROUND, O_HELP,
           O_VERSION };
    static const struct option opts[] = {
        { "index", required_argument, NULL, O_INDEX },
        { "socket", required_argument, NULL, O_SOCKET },
        { "listen", required_argument, NULL, O_LISTEN },
        { "threads", required_argument, NULL, O_THREADS },
        { "max-conns", required_argument, NULL, O_MAXCONNS },
        { "idle-timeout", required_argument, NULL, O_IDLE },
        { "query-timeout", required_argument, NULL, O_QTIMEOUT },
        { "cache", required_argument, NULL, O_CACHE },
        { "pidfile", required_argument, NULL, O_PIDFILE },
        { "log-level", required_argument, NULL, O_LOGLEVEL },
        { "foreground", no_argument, NULL, O_FOREGROUND },
        { "help", no_argument, NULL, O_HELP },
        { "version", no_argument, NULL, O_VERSION },
        { NULL, 0, NULL, 0 }
    };
    settings set;
    memset(&set, 0, sizeof set);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    set.threads = ncpu < 1 ? 1 : ncpu > (long)USJ_MAX_THREADS
                                     ? USJ_MAX_THREADS : (unsigned)ncpu;
    set.max_conns = USJ_DEFAULT_MAX_CONNS;
    set.idle_timeout_s = USJ_DEFAULT_IDLE_TIMEOUT_S;
    set.query_timeout_ms = USJ_DEFAULT_QUERY_TIMEOUT_MS;
    set.cache_entries = USJ_DEFAULT_CACHE_ENTRIES;
    const char *index_opt = NULL, *socket_opt = NULL, *pid_opt = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_INDEX: index_opt = optarg; break;
        case O_SOCKET: socket_opt = optarg; break;
        case O_LISTEN:
            if (strlen(optarg) >= sizeof set.listen || !optarg[0]) {
                fprintf(stderr, "usjsearchd: bad --listen address\n");
                return 2;
            }
            strcpy(set.listen, optarg);
            break;
        case O_THREADS:
            if (parse_uint("--threads", optarg, 1, USJ_MAX_THREADS,
                           &set.threads))
                return 2;
            break;
        case O_MAXCONNS:
            if (parse_uint("--max-conns", optarg, 1, 1000000, &set.max_conns))
                return 2;
            break;
        case O_IDLE:
            if (parse_uint("--idle-timeout", optarg, 0, 86400 * 365,
                           &set.idle_timeout_s))
                return 2;
            break;
        case O_QTIMEOUT:
            if (parse_uint("--query-timeout", optarg, 1, 3600000,
                           &set.query_timeout_ms))
                return 2;
            break;
        case O_CACHE:
            if (parse_uint("--cache", optarg, 0, 1u << 24, &set.cache_entries))
                return 2;
            break;
        case O_PIDFILE: pid_opt = optarg; break;
        case O_LOGLEVEL: {
            int l = dlog_parse_level(optarg);
            if (l < 0) {
                fprintf(stderr, "usjsearchd: unknown --log-level '%s' "
                        "(error, warn, info, debug)\n", optarg);
                return 2;
            }
            dlog_set_level(l);
            break;
        }
        case O_FOREGROUND: set.foreground = 1; break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        case O_VERSION:
            printf("usjsearchd %s (protocol %d)\n", USJ_VERSION_STRING,
                   USJ_PROTO_VERSION);
            return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "usjsearchd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    /* every path absolute before the daemon leaves the current folder */
    char located[PATH_MAX];
    if (usj_index_locate(located, sizeof located, index_opt) != 0) {
        fprintf(stderr, "usjsearchd: %s\n", usj_error_last());
        return 2;
    }
    if (!realpath(located, set.index_path)) {
        fprintf(stderr, "usjsearchd: index %s: %s\n", located, strerror(errno));
        return 2;
    }
    if (socket_opt && strcmp(socket_opt, "none") == 0) {
        set.no_unix = 1;
        if (!set.listen[0]) {
            fprintf(stderr, "usjsearchd: --socket none needs --listen\n");
            return 2;
        }
    } else if (socket_opt) {
        if (absolutize(set.socket_path, sizeof set.socket_path, socket_opt)) {
            fprintf(stderr, "usjsearchd: socket path too long (max %zu "
                    "bytes)\n", sizeof set.socket_path - 1);
            return 2;
        }
    } else if (usj_remote_default_socket(set.socket_path,
                                         sizeof set.socket_path,
                                         set.index_path) != 0) {
        fprintf(stderr, "usjsearchd: %s; use --socket\n", usj_error_last());
        return 2;
    }
    if (pid_opt && absolutize(set.pidfile, sizeof set.pidfile, pid_opt)) {
        fprintf(stderr, "usjsearchd: pidfile path too long\n");
        return 2;
    }

    int ready_fd = set.foreground ? -1 : daemonize();
    server s;
    int status = 2;
    if (server_init(&s, &set) == 0) {
        int pid_ok = 1;
        if (set.pidfile[0]) {
            FILE *f = fopen(set.pidfile, "w");
            pid_ok = f && fprintf(f, "%ld\n", (long)getpid()) > 0;
            if (f && fclose(f) != 0)
                pid_ok = 0;
            if (!pid_ok)
                dlog(DLOG_ERROR, "cannot write pidfile %s: %s", set.pidfile,
                     strerror(errno));
        }
        if (pid_ok)
            status = server_run(&s, ready_fd);
        if (set.pidfile[0] && pid_ok)
            unlink(set.pidfile);
    }
    server_free(&s);
    return status;
}
