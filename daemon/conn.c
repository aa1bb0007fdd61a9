/* daemon/conn.c — one client connection: its state machine, line framing and
 * per-connection limits (line length, unsent output, requests per turn, idle
 * timeout, lingering close), and the server's list of live connections.
 *
 * States:
 *   READ     reading requests, answering them into the output buffer
 *   CLOSING  no more requests; close once the output is sent
 *   LINGER   output sent and our side shut down; discard input until EOF or
 *            USJ_LINGER_MS, so the last answer is not lost to a reset
 * Any socket error frees the connection at once.
 *
 * Who runs it (server.c has the why): every connection sits in the
 * server's one epoll set with EPOLLONESHOT, and the worker whose
 * epoll_wait returns it owns it, alone, until conn_event re-arms it (the
 * last thing conn_event does with it) or frees it. Between two events any
 * worker may take it, so a connection keeps nothing in a worker but the
 * worker's scratch output buffer, lent for one line (out_begin/out_end).
 *
 * I/O: the connection's own two buffers: a readable event is one read()
 * into the input buffer (at most 4 x USJ_MAX_LINE_BYTES held: a line plus
 * room to pipeline), lines are found with memchr and answered in place,
 * each answer formatted straight into the output buffer. The answers of
 * one turn leave in one send at its end (conn_flush); only what the socket
 * does not take waits for EPOLLOUT.
 *
 * Turns: a connection answers at most USJ_REQS_PER_EVENT requests per
 * turn; with more buffered it is re-armed for EPOLLIN and EPOLLOUT, which
 * a socket with room to write or more requests to read reports at once,
 * behind the connections already ready: a pipelining client takes its
 * turn like the others. Not EPOLLOUT alone: a client that writes all its
 * requests before it reads fills the socket's send buffer long before
 * USJ_MAX_PENDING_OUTPUT, and waiting for room then stopped reading it
 * while it waited for its send to finish (both stuck until the idle
 * timeout). With neither (nothing more sent, no answer read) the client
 * is one that does not read: the idle timeout's business.
 *
 * Timeouts (idle, a client that does not read, the linger) are deadlines
 * that the owning worker sets when it re-arms the connection; the main
 * thread's sweep (conn_sweep, from a libevent timer) shuts down the socket
 * of a connection past its deadline, which makes it ready, and the worker
 * that takes it then frees it. Idle: --idle-timeout after the last event,
 * or, while answers wait unsent, after the socket last took a byte of them
 * (out_since): requests that keep coming do not keep alive a client that
 * reads none of its answers. The linger ends USJ_LINGER_MS after it began,
 * whatever the client still sends. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "limits.h"

enum { ST_READ, ST_CLOSING, ST_LINGER };

#define IN_MAX   (4u * USJ_MAX_LINE_BYTES)  /* input held per connection */
#define IN_FIRST 2048u                      /* first input buffer */
#define OUT_KEEP (64u * 1024u)  /* an empty output buffer larger than this
                                   is released (memory stays flat) */

struct conn {
    int              fd;
    int              state;
    int              eof;          /* client half-closed its side */
    int              blocked;      /* reading paused: too much unsent */
    int              linger_after; /* CLOSING ends in LINGER, not free */
    server          *s;
    char            *in;           /* input: in[ipos..ilen) not yet answered */
    size_t           ipos, ilen, icap;
    usj_buf          out;          /* output: out.data[opos..out.len) unsent */
    size_t           opos;
    int              out_waiting;  /* the last flush left output unsent */
    uint64_t         out_since;    /* ... and since then the socket has
                                      taken none of it (conn_now_ms) */
    uint64_t         linger_until; /* LINGER: its end (conn_now_ms) */
    _Atomic uint64_t deadline_ms;  /* 0: none; past it the sweep kicks it */
    _Atomic int      kicked;       /* the sweep shut its socket down */
    conn            *prev, *next;  /* s->conns, under s->conns_lock */
};

uint64_t conn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

conn *conn_new(server *s, int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->s = s;
    c->state = ST_READ;
    return c;
}

static size_t unsent(const conn *c) { return c->out.len - c->opos; }

/* Deadline for the state the connection is re-armed in. */
static uint64_t deadline_for(const conn *c)
{
    if (c->state == ST_LINGER)
        return c->linger_until;
    unsigned s = c->s->set.idle_timeout_s;
    if (!s)
        return 0;
    /* out_since <= now: answers not taken since then bound it */
    uint64_t from = unsent(c) ? c->out_since : conn_now_ms();
    return from + (uint64_t)s * 1000u;
}

int conn_register(conn *c)
{
    server *s = c->s;
    atomic_store_explicit(&c->deadline_ms, deadline_for(c), memory_order_relaxed);
    pthread_mutex_lock(&s->conns_lock);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    pthread_mutex_unlock(&s->conns_lock);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };
    int ep = s->ep, fd = c->fd;
    HANDOVER_RELEASE(&s->ep);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        dlog(DLOG_ERROR, "fd %d: epoll_ctl: %s", c->fd, strerror(errno));
        conn_free(c);
        return -1;
    }
    return 0;
}

/* Only by the connection's owner (or after the workers ended). */
void conn_free(conn *c)
{
    server *s = c->s;
    pthread_mutex_lock(&s->conns_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->conns_lock);
    close(c->fd);               /* also takes it out of the epoll set */
    free(c->in);
    usj_buf_free(&c->out);
    free(c);
    atomic_fetch_sub(&s->conns_current, 1);
}

/* Hand the connection back to the epoll set; the last touch of c. */
static void rearm(conn *c, int want_in, int want_out)
{
    uint32_t e = EPOLLONESHOT;
    if (want_in)
        e |= EPOLLIN;
    if (want_out)
        e |= EPOLLOUT;
    atomic_store_explicit(&c->deadline_ms, deadline_for(c), memory_order_relaxed);
    struct epoll_event ev = { .events = e, .data.ptr = c };
    server *s = c->s;
    int ep = s->ep, fd = c->fd;
    HANDOVER_RELEASE(&s->ep);
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0) {
        dlog(DLOG_ERROR, "fd %d: epoll_ctl: %s", c->fd, strerror(errno));
        conn_free(c);
    }
}

/* Send what the output holds. 0: all sent or the socket is full (the rest
 * waits for EPOLLOUT; out_since says since when the socket has taken
 * none of it); -1: the send failed (the peer is gone). */
static int conn_flush(conn *c)
{
    int took = 0;
    while (c->opos < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->opos, c->out.len - c->opos,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->opos += (size_t)n;
            took = 1;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (took || !c->out_waiting)
                c->out_since = conn_now_ms();
            c->out_waiting = 1;
            return 0;
        } else {
            dlog(DLOG_DEBUG, "fd %d: %s", c->fd, n < 0 ? strerror(errno) : "send");
            return -1;
        }
    }
    c->out_waiting = 0;
    c->opos = 0;
    if (c->out.cap > OUT_KEEP)
        usj_buf_free(&c->out);
    else
        usj_buf_clear(&c->out);
    return 0;
}

/* While a line is answered, the worker's answer buffer (w->out, where the
 * commands append) is the connection's output itself, so an answer is
 * formatted (or copied from the answer cache) straight into it: no copy
 * per answer. out_begin moves what is still unsent to the front first when
 * that is cheap. */
static void out_begin(worker *w, conn *c)
{
    if (c->opos && c->opos == c->out.len) {
        usj_buf_clear(&c->out);
        c->opos = 0;
    } else if (c->opos && unsent(c) <= c->opos) {
        memmove(c->out.data, c->out.data + c->opos, unsent(c));
        c->out.len -= c->opos;
        c->out.data[c->out.len] = '\0';
        c->opos = 0;
    }
    usj_buf scratch = w->out;
    w->out = c->out;
    c->out = scratch;
}

static void out_end(worker *w, conn *c)
{
    usj_buf mine = w->out;
    w->out = c->out;
    c->out = mine;
}

static void send_error(worker *w, conn *c, const char *name, const char *msg)
{
    out_begin(w, c);
    usj_proto_format_error(&w->out, USJ_EINVAL, name, 0, msg);
    out_end(w, c);
    stats_add(&w->st.errors, 1);
}

/* Answer one line; returns CMD_CONTINUE or CMD_CLOSE. */
static int handle_line(worker *w, conn *c, const char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--;
    out_begin(w, c);
    int r = commands_execute(w, line, len);
    out_end(w, c);
    return r;
}

/* What conn_process leaves to do. */
enum { P_INPUT, P_TURN, P_BLOCKED, P_CLOSE, P_CLOSE_LINGER };

/* Answer the complete lines buffered, within the limits (after EOF also a
 * last unterminated line). Never frees c. */
static int conn_process(worker *w, conn *c)
{
    unsigned budget = USJ_REQS_PER_EVENT;
    for (;;) {
        if (unsent(c) >= USJ_MAX_PENDING_OUTPUT) {
            /* the client does not read its answers: stop reading until
             * the output has drained to half */
            c->blocked = 1;
            return P_BLOCKED;
        }
        const char *p = c->in + c->ipos;
        size_t avail = c->ilen - c->ipos;
        const char *eol = avail ? memchr(p, '\n', avail) : NULL;
        if (!eol && avail <= USJ_MAX_LINE_BYTES && !c->eof)
            return P_INPUT;                           /* need more bytes */
        size_t len = eol ? (size_t)(eol - p) : avail;
        if (len > USJ_MAX_LINE_BYTES) {
            send_error(w, c, "TOOLONG", "request line longer than "
                       "USJ_MAX_LINE_BYTES (16384 bytes)");
            dlog(DLOG_INFO, "fd %d: request line too long, closing", c->fd);
            c->ipos = c->ilen;
            return P_CLOSE_LINGER;
        }
        if (!eol && avail == 0)
            return P_CLOSE;                           /* EOF, all answered */
        if (budget-- == 0)
            return P_TURN;
        /* a complete line, or the last unterminated one after EOF */
        size_t take = eol ? len + 1 : avail;
        int r = handle_line(w, c, p, len);
        c->ipos += take;
        if (r == CMD_CLOSE) {
            c->ipos = c->ilen;
            return P_CLOSE_LINGER;
        }
    }
}

/* Server shutting down: answer the complete requests already received (a
 * partial last line is dropped), then close once they are sent. */
static int conn_drain(worker *w, conn *c)
{
    while (unsent(c) < USJ_MAX_PENDING_OUTPUT) {
        const char *p = c->in + c->ipos;
        size_t avail = c->ilen - c->ipos;
        const char *eol = avail ? memchr(p, '\n', avail) : NULL;
        if (!eol || (size_t)(eol - p) > USJ_MAX_LINE_BYTES)
            break;
        int r = handle_line(w, c, p, (size_t)(eol - p));
        c->ipos += (size_t)(eol - p) + 1;
        if (r == CMD_CLOSE)
            break;
    }
    if (unsent(c) >= USJ_MAX_PENDING_OUTPUT && memchr(c->in + c->ipos, '\n',
                                                      c->ilen - c->ipos))
        return P_BLOCKED;        /* more after this output has gone */
    c->ipos = c->ilen = 0;
    return P_CLOSE;
}

/* Read what the socket has (one read, as much as the input may hold).
 * Returns 1 (bytes or nothing yet), 0 at EOF, -1 on an error. */
static int conn_read(conn *c)
{
    if (c->ipos) {                      /* keep the unanswered part only */
        memmove(c->in, c->in + c->ipos, c->ilen - c->ipos);
        c->ilen -= c->ipos;
        c->ipos = 0;
    }
    if (c->ilen == c->icap && c->icap < IN_MAX) {
        size_t cap = c->icap ? c->icap * 2 : IN_FIRST;
        if (cap > IN_MAX)
            cap = IN_MAX;
        char *q = realloc(c->in, cap);
        if (!q)
            return -1;
        c->in = q;
        c->icap = cap;
    }
    if (c->ilen == c->icap)
        return 1;                       /* full: answer first */
    for (;;) {
        ssize_t n = read(c->fd, c->in + c->ilen, c->icap - c->ilen);
        if (n > 0) {
            c->ilen += (size_t)n;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
    }
}

/* LINGER: discard a bounded amount per event (a flooding peer does not
 * hold the worker); free at EOF or an error. */
static void linger_event(conn *c)
{
    char buf[4096];
    ssize_t n = 0;
    for (int i = 0; i < 16 && (n = read(c->fd, buf, sizeof buf)) > 0; i++)
        ;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR))
        conn_free(c);       /* the peer is gone (or failed) */
    else
        rearm(c, 1, 0);
}

/* Output sent, requests over: free, or shut our side and linger. */
static void finish_close(conn *c)
{
    if (!c->linger_after) {
        conn_free(c);
        return;
    }
    c->state = ST_LINGER;
    c->linger_until = conn_now_ms() + USJ_LINGER_MS;
    shutdown(c->fd, SHUT_WR);
    rearm(c, 1, 0);
}

void conn_event(worker *w, conn *c, uint32_t events)
{
    server *s = c->s;
    /* no deadline while it is worked on: a long query is not idleness */
    atomic_store_explicit(&c->deadline_ms, 0, memory_order_relaxed);
    if (atomic_load_explicit(&c->kicked, memory_order_relaxed)) {
        if (c->state == ST_READ)
            dlog(DLOG_DEBUG, "fd %d: idle timeout, closing", c->fd);
        conn_free(c);           /* past its deadline (or the server's end) */
        return;
    }
    if (c->state == ST_LINGER) {
        linger_event(c);
        return;
    }
    if (unsent(c) && conn_flush(c) < 0) {
        conn_free(c);
        return;
    }
    if (c->state == ST_CLOSING) {
        if (unsent(c) == 0)
            finish_close(c);
        else
            rearm(c, 0, 1);
        return;
    }
    if (c->blocked) {
        if (unsent(c) > USJ_MAX_PENDING_OUTPUT / 2) {
            rearm(c, 0, 1);
            return;
        }
        c->blocked = 0;
    }
    int what;
    if (atomic_load_explicit(&s->stopping, memory_order_relaxed)) {
        what = conn_drain(w, c);
    } else {
        if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof) {
            int r = conn_read(c);
            if (r < 0) {
                dlog(DLOG_DEBUG, "fd %d: %s", c->fd, strerror(errno));
                conn_free(c);
                return;
            }
            if (r == 0)
                c->eof = 1;     /* half-closed: answer what came, then close */
        }
        what = conn_process(w, c);
    }
    if (conn_flush(c) < 0) {
        conn_free(c);
        return;
    }
    switch (what) {
    case P_INPUT:
        rearm(c, 1, unsent(c) > 0);
        return;
    case P_TURN:            /* back at once, after the others (top) */
        rearm(c, 1, 1);
        return;
    case P_BLOCKED:
        rearm(c, 0, 1);
        return;
    default:                /* P_CLOSE, P_CLOSE_LINGER */
        c->state = ST_CLOSING;
        c->linger_after = what == P_CLOSE_LINGER;
        if (unsent(c) == 0)
            finish_close(c);
        else
            rearm(c, 0, 1);
        return;
    }
}

void conn_sweep(server *s)
{
    uint64_t now = conn_now_ms();
    pthread_mutex_lock(&s->conns_lock);
    for (conn *c = s->conns; c; c = c->next) {
        uint64_t d = atomic_load_explicit(&c->deadline_ms, memory_order_relaxed);
        if (d && now >= d && !atomic_load_explicit(&c->kicked, memory_order_relaxed)) {
            atomic_store_explicit(&c->kicked, 1, memory_order_relaxed);
            shutdown(c->fd, SHUT_RDWR);     /* ready now: its worker frees it */
        }
    }
    pthread_mutex_unlock(&s->conns_lock);
}

int conn_any(server *s)
{
    pthread_mutex_lock(&s->conns_lock);
    int any = s->conns != NULL;
    pthread_mutex_unlock(&s->conns_lock);
    return any;
}

void conn_drain_all(server *s)
{
    pthread_mutex_lock(&s->conns_lock);
    for (conn *c = s->conns; c; c = c->next)
        shutdown(c->fd, SHUT_RD);           /* readable now: drained there */
    pthread_mutex_unlock(&s->conns_lock);
}

void conn_free_all(server *s)
{
    while (s->conns)
        conn_free(s->conns);
}
