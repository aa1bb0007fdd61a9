/* daemon/server.c — listeners (Unix socket, TCP) and accepting, the worker
 * threads, the shared reference-counted index and its reload, signals
 * (libevent signal events: no work in handlers), the timeout sweep and the
 * orderly shutdown.
 *
 * Threads. The main thread runs the libevent loop: listeners, signals and
 * the sweep timer. Accepted connections go into one epoll set
 * (EPOLLONESHOT) that every worker waits on (the number of cores by
 * default; each has its own analyzer, text and answer caches and index
 * reference); a ready connection goes to whichever worker is free, which
 * owns it until it re-arms it (conn.c). So a slow query, or a worker the
 * kernel has descheduled, holds up only the one connection it is
 * answering. With one event base per worker and connections dealt out
 * among them (memcached's model, this daemon's first design) it held up
 * every connection of that worker: on a 2-core machine with the load
 * generator on it, three busy threads on two cores, a worker waiting up to
 * a scheduler tick stalled half the clients, and the p99 at 50 connections
 * was 2-4 ms; with the shared set it is under 1 ms (bench/DAEMON.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "daemon.h"
#include "limits.h"

/* ------------------------------------------------------------ the index */

usj_index *worker_index(worker *w)
{
    server *s = w->srv;
    if (atomic_load_explicit(&s->idx_gen, memory_order_acquire) != w->idx_gen) {
        pthread_mutex_lock(&s->idx_lock);
        usj_index_unref(w->idx);
        w->idx = s->idx;
        usj_index_ref(w->idx);
        w->idx_gen = atomic_load(&s->idx_gen);
        pthread_mutex_unlock(&s->idx_lock);
    }
    return w->idx;
}

int server_reload(server *s)
{
    usj_index *fresh = NULL;
    /* the lock also serializes concurrent reloads */
    pthread_mutex_lock(&s->idx_lock);
    int rc = usj_index_open(&fresh, s->set.index_path, 0);
    if (rc) {
        pthread_mutex_unlock(&s->idx_lock);
        dlog(DLOG_ERROR, "reload of %s refused, the old index keeps serving: %s",
             s->set.index_path, usj_error_last());
        return rc;
    }
    usj_index *old = s->idx;
    s->idx = fresh;
    atomic_fetch_add_explicit(&s->idx_gen, 1, memory_order_release);
    atomic_fetch_add(&s->reloads, 1);
    /* still under the lock: once it is dropped, a reload right behind
     * this one may replace fresh and free it (no worker need hold it) */
    usj_index_stats is;
    usj_index_stats_get(fresh, &is);
    pthread_mutex_unlock(&s->idx_lock);
    usj_index_unref(old);    /* workers still holding it keep it mapped */
    dlog(DLOG_INFO, "reloaded %s: %u paragraphs, %llu terms",
         s->set.index_path, is.docs, (unsigned long long)is.terms);
    return 0;
}

/* ------------------------------------------------------------ workers */

/* Ready connections handed to a worker per epoll_wait: one, so that a
 * worker holds no connection it is not answering. */
#define EVENTS_PER_WAIT 1

static void *worker_main(void *arg)
{
    worker *w = arg;
    server *s = w->srv;
    struct epoll_event ev[EVENTS_PER_WAIT];
    for (;;) {
        int n = epoll_wait(s->ep, ev, EVENTS_PER_WAIT, -1);
        HANDOVER_ACQUIRE(&s->ep);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            dlog(DLOG_ERROR, "worker %u: epoll_wait: %s", w->id, strerror(errno));
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr)
                conn_event(w, ev[i].data.ptr, ev[i].events);
            else if (atomic_load(&s->exiting))
                return NULL;        /* the wake-up eventfd stays readable */
        }
    }
}

static int worker_init(server *s, worker *w, unsigned id)
{
    w->id = id;
    w->srv = s;
    w->tc = (usj_textcache)USJ_TEXTCACHE_INIT;
    w->out = (usj_buf)USJ_BUF_INIT;
    if (acache_init(&w->cache, s->set.cache_entries) != 0) {
        dlog(DLOG_ERROR, "out of memory for the answer cache");
        return -1;
    }
    if (usj_analyzer_new(&w->an, 0) != 0) {
        dlog(DLOG_ERROR, "analyzer: %s", usj_error_last());
        return -1;
    }
    return 0;
}

static void worker_free(worker *w)
{
    usj_analyzer_free(w->an);
    usj_textcache_free(&w->tc);
    usj_buf_free(&w->out);
    acache_free(&w->cache);
    usj_index_unref(w->idx);
}

/* ------------------------------------------------------------ accepting */

/* Period of the timeout sweep (conn_sweep), while there are connections:
 * how late past its deadline an idle or lingering one may be closed. */
#define SWEEP_MS 100

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    server *s = arg;
    conn_sweep(s);
    if (conn_any(s)) {
        struct timeval tv = { 0, SWEEP_MS * 1000 };
        evtimer_add(s->sweep_ev, &tv);
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *addr, int alen, void *arg)
{
    (void)l; (void)addr; (void)alen;
    server *s = arg;
    uint64_t cur = atomic_fetch_add(&s->conns_current, 1);
    if (cur >= s->set.max_conns) {
        static const char busy[] =
            "ERR BUSY too many connections (--max-conns)\n";
        ssize_t n = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)n;
        shutdown(fd, SHUT_WR);
        close(fd);
        atomic_fetch_sub(&s->conns_current, 1);
        atomic_fetch_add(&s->conns_rejected, 1);
        dlog(DLOG_WARN, "connection refused: --max-conns %u reached",
             s->set.max_conns);
        return;
    }
    atomic_fetch_add(&s->conns_total, 1);
    if (addr && addr->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    conn *c = conn_new(s, fd);
    if (!c) {
        close(fd);
        atomic_fetch_sub(&s->conns_current, 1);
        dlog(DLOG_ERROR, "out of memory accepting a connection");
        return;
    }
    if (conn_register(c) == 0 && !evtimer_pending(s->sweep_ev, NULL)) {
        struct timeval tv = { 0, SWEEP_MS * 1000 };
        evtimer_add(s->sweep_ev, &tv);
    }
}

static void reenable_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    evconnlistener_enable(arg);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    dlog(DLOG_WARN, "accept: %s (pausing accepts for 100 ms)", strerror(err));
    evconnlistener_disable(l);
    struct timeval tv = { 0, 100000 };
    event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT, reenable_cb,
                    l, &tv);
}

static struct evconnlistener *listen_fd(server *s, int fd)
{
    struct evconnlistener *l = evconnlistener_new(
        s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        SOMAXCONN, fd);
    if (!l) {
        close(fd);
        dlog(DLOG_ERROR, "cannot create a listener");
        return NULL;
    }
    evconnlistener_set_error_cb(l, accept_error_cb);
    return l;
}

static int bind_unix(server *s)
{
    const char *path = s->set.socket_path;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        dlog(DLOG_ERROR, "socket: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            dlog(DLOG_ERROR, "%s exists and is not a socket; not replacing it",
                 path);
            close(fd);
            return -1;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 &&
                   connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        int err = errno;
        if (probe >= 0)
            close(probe);
        if (live || (err != ECONNREFUSED && err != ENOENT)) {
            dlog(DLOG_ERROR, "another usjsearchd is listening on %s "
                 "(stop it first, or use --socket)", path);
            close(fd);
            return -1;
        }
        dlog(DLOG_INFO, "replacing stale socket %s", path);
        unlink(path);
    }
    mode_t old = umask(0177);             /* socket file mode 0600 */
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0) {
        dlog(DLOG_ERROR, "bind %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    s->unix_bound = 1;
    if (listen(fd, SOMAXCONN) != 0) {
        dlog(DLOG_ERROR, "listen %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    s->lis_unix = listen_fd(s, fd);
    return s->lis_unix ? 0 : -1;
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" (the last two: loopback). */
static int bind_tcp(server *s)
{
    char host[256], port[256];
    const char *a = s->set.listen, *colon = strrchr(a, ':');
    if (!colon) {
        snprintf(host, sizeof host, "127.0.0.1");
        snprintf(port, sizeof port, "%s", a);
    } else {
        size_t hl = (size_t)(colon - a);
        if (hl >= 2 && a[0] == '[' && a[hl - 1] == ']') {
            a++;
            hl -= 2;
        }
        if (hl >= sizeof host || strlen(colon + 1) >= sizeof port) {
            dlog(DLOG_ERROR, "--listen %s: address too long", s->set.listen);
            return -1;
        }
        memcpy(host, a, hl);
        host[hl] = '\0';
        if (hl == 0)
            snprintf(host, sizeof host, "127.0.0.1");
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0 || !res) {
        dlog(DLOG_ERROR, "--listen %s: %s", s->set.listen, gai_strerror(g));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
                    SOCK_NONBLOCK, res->ai_protocol);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        dlog(DLOG_ERROR, "--listen %s: %s", s->set.listen, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char hbuf[NI_MAXHOST], pbuf[NI_MAXSERV];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof hbuf, pbuf,
                    sizeof pbuf, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(s->tcp_name, sizeof s->tcp_name,
                 ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", hbuf, pbuf);
    else
        snprintf(s->tcp_name, sizeof s->tcp_name, "%s", s->set.listen);
    s->lis_tcp = listen_fd(s, fd);
    return s->lis_tcp ? 0 : -1;
}

/* ------------------------------------------------------------ life cycle */

static void raise_fd_limit(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
}

int server_init(server *s, const settings *set)
{
    memset(s, 0, sizeof *s);
    s->set = *set;
    s->start_us = stats_now_us();
    s->start_time = time(NULL);
    pthread_mutex_init(&s->idx_lock, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(set->max_conns + 64);
    pthread_mutex_init(&s->conns_lock, NULL);
    s->ep = s->wake_fd = -1;
    if (usj_index_open(&s->idx, set->index_path, 0) != 0) {
        dlog(DLOG_ERROR, "cannot open index %s: %s", set->index_path,
             usj_error_last());
        return -1;
    }
    atomic_store(&s->idx_gen, 1);
    s->base = event_base_new();
    if (!s->base)
        return -1;
    s->sweep_ev = evtimer_new(s->base, sweep_cb, s);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!s->sweep_ev || s->ep < 0 || s->wake_fd < 0) {
        dlog(DLOG_ERROR, "cannot set up the event sources: %s", strerror(errno));
        return -1;
    }
    struct epoll_event wev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake_fd, &wev) != 0) {
        dlog(DLOG_ERROR, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    if (!set->no_unix && bind_unix(s) != 0)
        return -1;
    if (set->listen[0] && bind_tcp(s) != 0)
        return -1;
    s->workers = calloc(set->threads, sizeof *s->workers);
    if (!s->workers)
        return -1;
    for (unsigned i = 0; i < set->threads; i++) {
        s->nworkers++;                    /* worker_free undoes a partial init */
        if (worker_init(s, &s->workers[i], i) != 0)
            return -1;
    }
    return 0;
}

/* The workers return (the eventfd stays readable, so every epoll_wait
 * reports it) once they are done with the connection in hand. */
static void stop_workers(server *s)
{
    atomic_store(&s->exiting, 1);
    uint64_t one = 1;
    ssize_t n = write(s->wake_fd, &one, sizeof one);
    (void)n;
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].thread, NULL);
}

/* Stopped accepting: let every connection answer what it has received and
 * close once that is sent, for at most USJ_SHUTDOWN_GRACE_MS. */
static void drain(server *s)
{
    atomic_store(&s->stopping, 1);
    conn_drain_all(s);
    uint64_t until = conn_now_ms() + USJ_SHUTDOWN_GRACE_MS;
    while (conn_any(s) && conn_now_ms() < until) {
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    server *s = arg;
    if (sig == SIGHUP) {
        dlog(DLOG_INFO, "SIGHUP: reloading the index");
        server_reload(s);
        return;
    }
    dlog(DLOG_INFO, "%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(s->base);
}

int server_run(server *s, int ready_fd)
{
    struct event *sigs[3];
    const int signums[3] = { SIGTERM, SIGINT, SIGHUP };
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(s->base, signums[i], signal_cb, s);
        if (!sigs[i] || event_add(sigs[i], NULL) != 0) {
            dlog(DLOG_ERROR, "cannot install signal handlers");
            return 2;
        }
    }
    /* the workers leave the signals to the main thread's loop */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main,
                           &s->workers[i]) != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            dlog(DLOG_ERROR, "cannot start worker threads");
            s->nworkers = i;
            stop_workers(s);
            return 2;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    char where[600];
    int n = 0;
    if (s->lis_unix)
        n = snprintf(where, sizeof where, "unix:%s", s->set.socket_path);
    if (s->lis_tcp)
        snprintf(where + n, sizeof where - (size_t)n, "%stcp:%s",
                 n ? " and " : "", s->tcp_name);
    usj_index_stats is;
    usj_index_stats_get(s->idx, &is);
    int lvl = dlog_level();
    if (lvl < DLOG_INFO)
        dlog_set_level(DLOG_INFO);          /* the ready line always shows */
    dlog(DLOG_INFO, "usjsearchd: ready, listening on %s (%u threads, index "
         "%s, %u paragraphs)", where, s->nworkers, s->set.index_path, is.docs);
    dlog_set_level(lvl);
    if (ready_fd >= 0) {
        char c = 0;
        ssize_t k = write(ready_fd, &c, 1);
        (void)k;
        close(ready_fd);
    }
    event_base_dispatch(s->base);
    /* stop accepting, remove the socket, let the workers finish */
    if (s->lis_unix) {
        evconnlistener_free(s->lis_unix);
        s->lis_unix = NULL;
    }
    if (s->lis_tcp) {
        evconnlistener_free(s->lis_tcp);
        s->lis_tcp = NULL;
    }
    if (s->unix_bound) {
        unlink(s->set.socket_path);
        s->unix_bound = 0;
    }
    drain(s);
    stop_workers(s);
    conn_free_all(s);           /* what the grace period left */
    for (int i = 0; i < 3; i++)
        event_free(sigs[i]);
    dlog(DLOG_INFO, "stopped");
    return 0;
}

void server_free(server *s)
{
    if (s->lis_unix)
        evconnlistener_free(s->lis_unix);
    if (s->lis_tcp)
        evconnlistener_free(s->lis_tcp);
    if (s->unix_bound)
        unlink(s->set.socket_path);
    conn_free_all(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        worker_free(&s->workers[i]);
    free(s->workers);
    if (s->sweep_ev)
        event_free(s->sweep_ev);
    if (s->base)
        event_base_free(s->base);
    if (s->ep >= 0)
        close(s->ep);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    usj_index_unref(s->idx);
    pthread_mutex_destroy(&s->idx_lock);
    pthread_mutex_destroy(&s->conns_lock);
    libevent_global_shutdown();
}
