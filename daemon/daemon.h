/* daemon/daemon.h — private declarations shared by the usjsearchd sources:
 * settings (main.c), logging (log.c), counters (stats.c), the server with
 * its workers and the shared index (server.c), connections (conn.c) and the
 * command table (commands.c). Not installed; nothing outside daemon/ uses it. */
#ifndef USJ_DAEMON_H
#define USJ_DAEMON_H

#include <linux/limits.h>   /* PATH_MAX (<limits.h> is lib/limits.h here) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/un.h>

#include "usj/usj.h"
#include "usj/proto.h"

struct event_base;
struct event;
struct evconnlistener;

/* ------------------------------------------------------------ settings */

typedef struct settings {
    char     index_path[PATH_MAX];   /* absolute */
    char     socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int      no_unix;                /* --socket none */
    char     listen[256];            /* "" = no TCP */
    char     pidfile[PATH_MAX];      /* absolute, "" = none */
    unsigned threads;
    unsigned max_conns;
    unsigned idle_timeout_s;         /* 0 = never */
    unsigned query_timeout_ms;
    unsigned cache_entries;          /* answer cache slots per worker */
    int      foreground;
} settings;

/* ------------------------------------------------------------ log.c */

enum { DLOG_ERROR = 0, DLOG_WARN = 1, DLOG_INFO = 2, DLOG_DEBUG = 3 };
void dlog_set_level(int level);
int  dlog_level(void);
int  dlog_parse_level(const char *name);     /* -1 when unknown */
void dlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ stats.c */

/* Latency histogram: 64 power-of-two ranges of microseconds, 16 linear
 * sub-buckets each (relative error <= 1/16). */
#define STATS_SUB     16
#define STATS_BUCKETS (64 * STATS_SUB)

/* One per worker; written only by its worker (relaxed atomics so STATS can
 * read them from another thread without a data race). */
typedef struct wstats {
    _Atomic uint64_t requests;
    _Atomic uint64_t queries;     /* SEARCH, COUNT, GET */
    _Atomic uint64_t errors;      /* ERR answers */
    _Atomic uint64_t cache_hits;  /* queries answered from the cache */
    _Atomic uint64_t lat[STATS_BUCKETS];
} wstats;

void     stats_add(_Atomic uint64_t *c, uint64_t n);
uint64_t stats_get(const _Atomic uint64_t *c);
void     stats_latency(wstats *s, uint64_t us);
/* Percentile q in (0,1] over n workers' histograms, in microseconds (upper
 * bound of the bucket), 0 when empty. */
uint64_t stats_percentile(wstats *const *all, unsigned n, double q);
uint64_t stats_now_us(void);       /* CLOCK_MONOTONIC */

/* ------------------------------------------------------------ cache.c */

typedef struct acache_entry acache_entry;
typedef struct acache {
    acache_entry *slots;
    unsigned      nslots;     /* power of two; 0 = disabled */
    size_t        bytes;      /* keys + values held */
} acache;

int  acache_init(acache *c, unsigned nslots);    /* 0 or -1 (ENOMEM) */
void acache_free(acache *c);
/* The cached answer for this request line under index generation gen. */
const char *acache_get(acache *c, uint64_t gen, const char *key, size_t klen,
                       size_t *vlen);
void acache_put(acache *c, uint64_t gen, const char *key, size_t klen,
                const char *val, size_t vlen);

/* ------------------------------------------------------------ server.c */

typedef struct conn conn;
typedef struct server server;

typedef struct worker {
    unsigned           id;
    server            *srv;
    pthread_t          thread;
    usj_analyzer      *an;
    usj_textcache      tc;
    usj_buf            out;          /* where the commands append: the
                                        output of the connection being
                                        answered, lent by conn.c per line */
    usj_index         *idx;          /* this worker's reference */
    uint64_t           idx_gen;
    acache             cache;
    wstats             st;
} worker;

struct server {
    settings               set;
    struct event_base     *base;     /* main thread: listeners, signals,
                                        the timeout sweep */
    struct evconnlistener *lis_unix, *lis_tcp;
    struct event          *sweep_ev;
    char                   tcp_name[300];
    int                    unix_bound;
    int                    ep;       /* the epoll set every worker waits on */
    int                    wake_fd;  /* eventfd in it: the workers' end */
    worker                *workers;
    unsigned               nworkers;
    pthread_mutex_t        conns_lock; /* guards conns (the list only) */
    conn                  *conns;    /* live connections */
    _Atomic int            stopping; /* drain: answer what came, close */
    _Atomic int            exiting;  /* workers return */
    pthread_mutex_t        idx_lock; /* guards idx, serializes reloads */
    usj_index             *idx;
    _Atomic uint64_t       idx_gen;
    uint64_t               start_us;
    time_t                 start_time;
    _Atomic uint64_t       conns_current, conns_total, conns_rejected;
    _Atomic uint64_t       reloads;
};

/* Open the index, bind listeners, start workers. Returns 0 or -1 (logged). */
int  server_init(server *s, const settings *set);
/* Announce readiness (ready_fd >= 0: also write one byte to it), run until
 * SIGTERM/SIGINT, then shut down. Returns the exit status. */
int  server_run(server *s, int ready_fd);
void server_free(server *s);
/* Reopen the index file; 0 or a USJ_E* code with the message set. */
int  server_reload(server *s);
/* The worker's current index (switches to a reloaded one here). */
usj_index *worker_index(worker *w);

/* ------------------------------------------------------------ conn.c */

/* A connection passes from one worker to another through the epoll set:
 * epoll_ctl and epoll_wait on one epoll fd are ordered by its lock, but
 * gcc's ThreadSanitizer does not know, and would take every hand-over for
 * a data race. Release before each epoll_ctl of a connection, acquire
 * after each epoll_wait. */
#ifdef __SANITIZE_THREAD__
#include <sanitizer/tsan_interface.h>
#define HANDOVER_RELEASE(p) __tsan_release(p)
#define HANDOVER_ACQUIRE(p) __tsan_acquire(p)
#else
#define HANDOVER_RELEASE(p) ((void)(p))
#define HANDOVER_ACQUIRE(p) ((void)(p))
#endif

conn *conn_new(server *s, int fd);    /* NULL on ENOMEM */
/* Into the server's list and epoll set (reading); -1: freed, logged. */
int  conn_register(conn *c);
/* A worker's turn with a connection epoll_wait returned to it (events:
 * EPOLL*): ends by re-arming it or freeing it. */
void conn_event(worker *w, conn *c, uint32_t events);
void conn_free(conn *c);              /* by its owner, or with no workers */
/* Main thread: shut down the sockets of connections past their deadline
 * (idle, not reading, lingering); their workers free them. */
void conn_sweep(server *s);
int  conn_any(server *s);             /* any connection left */
/* Server stopping (s->stopping set): wake every connection to drain. */
void conn_drain_all(server *s);
/* Free every connection at once (the workers have ended). */
void conn_free_all(server *s);
uint64_t conn_now_ms(void);           /* CLOCK_MONOTONIC_COARSE */

/* ------------------------------------------------------------ commands.c */

enum { CMD_CONTINUE = 0, CMD_CLOSE = 1 };

/* Execute one request line (no line end); append the answer to w->out,
 * which may already hold earlier answers not yet sent (never clear it).
 * Returns CMD_CONTINUE or CMD_CLOSE (close after the answer is sent). */
int commands_execute(worker *w, const char *line, size_t len);

#endif
