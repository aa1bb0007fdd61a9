/* bench/loadgen.c — load generator for usjsearchd (and any line protocol):
 * N connections on one epoll thread, each keeping a pipeline of P requests
 * in flight, for a number of requests or a duration; prints throughput and
 * latency percentiles (p50/p99/max, from a log-linear histogram).
 *
 *   loadgen [-s unix:PATH | -s HOST:PORT] [-c CONNS] [-P DEPTH]
 *           [-n REQUESTS | -d SECONDS] [-q QUERY]... [-f QUERYFILE]
 *           [-r RAWLINE] [-t THREADS]
 *
 * -q/-f give queries sent as "SEARCH LIMIT 10 -- <query>" (cycled); -r sends a
 * raw request line instead (e.g. -r PING). Answers are framed by the
 * protocol: "OK" + lines + "." for SEARCH/GET/STATS/HELP, one line for the
 * others and for any ERR. Errors are counted. The last line of output is
 * machine-readable: "RESULT rps=... p50_us=... p99_us=... errors=...". */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SUB 16
#define NBUCKETS (64 * SUB)
#define RBUF (1u << 20)

typedef struct req {
    char  *line;        /* with its newline */
    size_t len;
    int    block;       /* answer is OK + lines + "." */
} req;

typedef struct conn {
    int       fd;
    char     *in;
    size_t    inlen;
    char     *out;
    size_t    outlen, outcap;
    uint64_t *sent_ns;  /* ring of send times of requests in flight */
    int      *sent_blk;
    unsigned  head, inflight;
    int       in_block; /* inside a multi-line answer */
    unsigned  next_req;
} conn;

typedef struct shared {
    const char *server;
    req        *reqs;
    unsigned    nreqs;
    unsigned    conns, depth;
    uint64_t    total;          /* requests to send overall, 0 = duration */
    double      seconds;
    _Atomic uint64_t budget;    /* requests left to send */
    uint64_t    deadline_ns;
} shared;

typedef struct tstate {
    shared   *sh;
    unsigned  nconns;
    unsigned  seed;
    uint64_t  done, errors;
    uint64_t  hist[NBUCKETS];
    uint64_t  max_ns;
} tstate;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static unsigned bucket_of(uint64_t v)
{
    if (v < SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned b = (e - 3) * SUB + ((unsigned)(v >> (e - 4)) & (SUB - 1));
    return b < NBUCKETS ? b : NBUCKETS - 1;
}

static uint64_t bucket_mid(unsigned b)
{
    if (b < SUB)
        return b;
    unsigned e = b / SUB + 3, sub = b % SUB;
    uint64_t lo = ((uint64_t)(SUB + sub)) << (e - 4);
    return lo + (((uint64_t)1 << (e - 4)) >> 1);
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static int dial(const char *server)
{
    const char *path = NULL;
    if (strncmp(server, "unix:", 5) == 0)
        path = server + 5;
    else if (strchr(server, '/'))
        path = server;
    int fd;
    if (path) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(path) >= sizeof sa.sun_path) {
            fprintf(stderr, "loadgen: socket path too long\n");
            exit(2);
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
            die(path);
    } else {
        char host[256];
        const char *colon = strrchr(server, ':');
        if (!colon || (size_t)(colon - server) >= sizeof host) {
            fprintf(stderr, "loadgen: bad server %s\n", server);
            exit(2);
        }
        memcpy(host, server, (size_t)(colon - server));
        host[colon - server] = '\0';
        struct addrinfo hints, *res;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
            fprintf(stderr, "loadgen: cannot resolve %s\n", server);
            exit(2);
        }
        fd = socket(res->ai_family, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0)
            die(server);
        freeaddrinfo(res);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int take_budget(shared *sh)
{
    if (sh->total == 0)
        return now_ns() < sh->deadline_ns;
    uint64_t b = atomic_load(&sh->budget);
    while (b > 0)
        if (atomic_compare_exchange_weak(&sh->budget, &b, b - 1))
            return 1;
    return 0;
}

static void queue_req(tstate *t, conn *c)
{
    shared *sh = t->sh;
    req *r = &sh->reqs[c->next_req++ % sh->nreqs];
    if (c->outlen + r->len > c->outcap) {
        c->outcap = (c->outlen + r->len) * 2;
        c->out = realloc(c->out, c->outcap);
        if (!c->out)
            die("realloc");
    }
    memcpy(c->out + c->outlen, r->line, r->len);
    c->outlen += r->len;
    unsigned slot = (c->head + c->inflight) % sh->depth;
    c->sent_ns[slot] = now_ns();
    c->sent_blk[slot] = r->block;
    c->inflight++;
}

static int flush_out(conn *c)
{
    size_t off = 0;
    while (off < c->outlen) {
        ssize_t k = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
        if (k > 0) {
            off += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return -1;
    }
    memmove(c->out, c->out + off, c->outlen - off);
    c->outlen -= off;
    return 0;
}

/* Consume complete answers in c->in. */
static void parse_answers(tstate *t, conn *c)
{
    size_t off = 0;
    for (;;) {
        char *nl = memchr(c->in + off, '\n', c->inlen - off);
        if (!nl)
            break;
        char *line = c->in + off;
        size_t len = (size_t)(nl - line);
        off += len + 1;
        int complete = 0;
        if (c->in_block) {
            if (len == 1 && line[0] == '.')
                complete = 1, c->in_block = 0;
        } else {
            int is_err = len >= 3 && memcmp(line, "ERR", 3) == 0;
            if (is_err)
                t->errors++;
            if (!c->inflight) {
                fprintf(stderr, "loadgen: answer without a request\n");
                exit(2);
            }
            if (c->sent_blk[c->head] && !is_err)
                c->in_block = 1;
            else
                complete = 1;
        }
        if (complete) {
            uint64_t lat = now_ns() - c->sent_ns[c->head];
            if (lat > t->max_ns)
                t->max_ns = lat;
            t->hist[bucket_of(lat / 100)]++;    /* 100 ns units */
            c->head = (c->head + 1) % t->sh->depth;
            c->inflight--;
            t->done++;
            if (take_budget(t->sh))
                queue_req(t, c);
        }
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
}

static void *run_thread(void *arg)
{
    tstate *t = arg;
    shared *sh = t->sh;
    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    conn *cs = calloc(t->nconns, sizeof *cs);
    if (!cs)
        die("calloc");
    unsigned open_conns = 0;
    for (unsigned i = 0; i < t->nconns; i++) {
        conn *c = &cs[i];
        c->fd = dial(sh->server);
        c->in = malloc(RBUF);
        c->sent_ns = calloc(sh->depth, sizeof *c->sent_ns);
        c->sent_blk = calloc(sh->depth, sizeof *c->sent_blk);
        c->next_req = t->seed + i * 7;
        if (!c->in || !c->sent_ns || !c->sent_blk)
            die("malloc");
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            die("epoll_ctl");
        open_conns++;
    }
    for (unsigned i = 0; i < t->nconns; i++) {
        for (unsigned k = 0; k < sh->depth && take_budget(sh); k++)
            queue_req(t, &cs[i]);
        if (flush_out(&cs[i]) != 0)
            die("send");
    }
    struct epoll_event evs[256];
    for (;;) {
        unsigned busy = 0;
        for (unsigned i = 0; i < t->nconns; i++)
            busy += cs[i].inflight > 0;
        if (!busy)
            break;
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->inlen == RBUF) {
                fprintf(stderr, "loadgen: answer line longer than %u\n", RBUF);
                exit(2);
            }
            ssize_t k = recv(c->fd, c->in + c->inlen, RBUF - c->inlen, 0);
            if (k == 0) {
                fprintf(stderr, "loadgen: server closed a connection\n");
                exit(2);
            }
            if (k < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                die("recv");
            }
            c->inlen += (size_t)k;
            parse_answers(t, c);
            if (c->outlen && flush_out(c) != 0)
                die("send");
        }
        for (unsigned i = 0; i < t->nconns; i++)   /* leftovers of EAGAIN */
            if (cs[i].outlen && flush_out(&cs[i]) != 0)
                die("send");
    }
    for (unsigned i = 0; i < t->nconns; i++) {
        close(cs[i].fd);
        free(cs[i].in);
        free(cs[i].out);
        free(cs[i].sent_ns);
        free(cs[i].sent_blk);
    }
    free(cs);
    close(ep);
    return NULL;
}

static void add_req(shared *sh, const char *line, int raw)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (n == 0)
        return;
    sh->reqs = realloc(sh->reqs, (sh->nreqs + 1) * sizeof *sh->reqs);
    req *r = &sh->reqs[sh->nreqs++];
    const char *pre = raw ? "" : "SEARCH LIMIT 10 -- ";
    r->len = strlen(pre) + n + 1;
    r->line = malloc(r->len + 1);
    memcpy(r->line, pre, strlen(pre));
    memcpy(r->line + strlen(pre), line, n);
    r->line[r->len - 1] = '\n';
    r->line[r->len] = '\0';
    r->block = !strncasecmp(r->line, "SEARCH", 6) || !strncasecmp(r->line, "GET", 3) ||
               !strncasecmp(r->line, "STATS", 5) || !strncasecmp(r->line, "HELP", 4);
}

int main(int argc, char **argv)
{
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.server = NULL;
    sh.conns = 1;
    sh.depth = 1;
    unsigned nthreads = 1;
    int opt;
    while ((opt = getopt(argc, argv, "s:c:P:n:d:q:f:r:t:h")) != -1) {
        switch (opt) {
        case 's': sh.server = optarg; break;
        case 'c': sh.conns = (unsigned)atoi(optarg); break;
        case 'P': sh.depth = (unsigned)atoi(optarg); break;
        case 'n': sh.total = strtoull(optarg, NULL, 10); break;
        case 'd': sh.seconds = atof(optarg); break;
        case 'q': add_req(&sh, optarg, 0); break;
        case 'r': add_req(&sh, optarg, 1); break;
        case 't': nthreads = (unsigned)atoi(optarg); break;
        case 'f': {
            FILE *f = fopen(optarg, "r");
            if (!f)
                die(optarg);
            char line[8192];
            while (fgets(line, sizeof line, f))
                add_req(&sh, line, 0);
            fclose(f);
            break;
        }
        default:
            fprintf(stderr, "usage: loadgen -s unix:PATH|HOST:PORT [-c conns] "
                    "[-P depth] [-n requests | -d seconds] [-q query]... "
                    "[-f queries] [-r rawline] [-t threads]\n");
            return 2;
        }
    }
    if (!sh.server || !sh.nreqs || sh.conns < 1 || sh.depth < 1 ||
        nthreads < 1 || (sh.total == 0 && sh.seconds <= 0)) {
        fprintf(stderr, "loadgen: need -s, a query (-q/-f/-r), -n or -d "
                "(see -h)\n");
        return 2;
    }
    if (nthreads > sh.conns)
        nthreads = sh.conns;
    atomic_store(&sh.budget, sh.total);
    tstate *ts = calloc(nthreads, sizeof *ts);
    pthread_t *th = calloc(nthreads, sizeof *th);
    uint64_t t0 = now_ns();
    sh.deadline_ns = t0 + (uint64_t)(sh.seconds * 1e9);
    for (unsigned i = 0; i < nthreads; i++) {
        ts[i].sh = &sh;
        ts[i].nconns = sh.conns / nthreads + (i < sh.conns % nthreads);
        ts[i].seed = i * 131;
        pthread_create(&th[i], NULL, run_thread, &ts[i]);
    }
    uint64_t done = 0, errors = 0, max_ns = 0;
    static uint64_t hist[NBUCKETS];
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        done += ts[i].done;
        errors += ts[i].errors;
        if (ts[i].max_ns > max_ns)
            max_ns = ts[i].max_ns;
        for (unsigned b = 0; b < NBUCKETS; b++)
            hist[b] += ts[i].hist[b];
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    double pct[2] = { 0.50, 0.99 };
    double val[2] = { 0, 0 };
    for (int k = 0; k < 2; k++) {
        uint64_t rank = (uint64_t)(pct[k] * (double)done + 0.5), seen = 0;
        for (unsigned b = 0; b < NBUCKETS; b++) {
            seen += hist[b];
            if (seen >= rank && rank > 0) {
                val[k] = (double)bucket_mid(b) / 10.0;   /* 100 ns -> us */
                break;
            }
        }
    }
    double rps = secs > 0 ? (double)done / secs : 0;
    printf("%s: %u conns, pipeline %u: %llu requests in %.2f s = %.0f req/s, "
           "p50 %.1f us, p99 %.1f us, max %.1f us, %llu errors\n",
           sh.server, sh.conns, sh.depth, (unsigned long long)done, secs, rps,
           val[0], val[1], (double)max_ns / 1000.0,
           (unsigned long long)errors);
    printf("RESULT rps=%.0f p50_us=%.1f p99_us=%.1f errors=%llu\n", rps,
           val[0], val[1], (unsigned long long)errors);
    for (unsigned i = 0; i < sh.nreqs; i++)
        free(sh.reqs[i].line);
    free(sh.reqs);
    free(ts);
    free(th);
    return errors ? 1 : 0;
}
