/* daemon/conn.c — one client connection: its state machine, line framing and
 * per-connection limits (line length, unsent output, requests per wake-up,
 * idle timeout, lingering close). Runs only in its worker's thread.
 *
 * States:
 *   READ     reading requests, answering them into the output buffer
 *   CLOSING  no more requests; close once the output is sent
 *   LINGER   output sent and our side shut down; discard input until EOF or
 *            USJ_LINGER_MS, so the last answer is not lost to a reset
 * Any socket error frees the connection at once.
 *
 * I/O: plain libevent events on the socket and the connection's own two
 * buffers (no bufferevent): a readable event is one read() into the input
 * buffer (at most 4 x USJ_MAX_LINE_BYTES held: a line plus room to
 * pipeline), lines are found with memchr and answered in place, and each
 * answer is formatted straight into the output buffer (out_begin). A
 * bufferevent cost an
 * ioctl(FIONREAD) before every read and an allocation per answer (its
 * evbuffer chains); here a request costs one read and one send.
 *
 * Writing: answers are written to the socket at the end of the wake-up
 * that produced them (one send for all the answers of that wake-up,
 * conn_flush), not on a later write event: no epoll registration and no
 * extra loop iteration per request, and an answer leaves as soon as it is
 * made instead of after every other ready connection's search. Only what
 * the socket does not take at once waits for the write event (added then,
 * and removed again once the output is empty). A failed send is reported
 * by activating the write event, whose callback frees the connection, so
 * nothing frees a connection inside conn_flush. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "limits.h"

enum { ST_NEW, ST_READ, ST_CLOSING, ST_LINGER };

#define IN_MAX   (4u * USJ_MAX_LINE_BYTES)  /* input held per connection */
#define IN_FIRST 2048u                      /* first input buffer */
#define OUT_KEEP (64u * 1024u)  /* an empty output buffer larger than this
                                   is released (memory stays flat) */

struct conn {
    int           fd;
    int           state;
    int           eof;          /* client half-closed its side */
    int           blocked;      /* reading paused: too much unsent */
    int           linger_after; /* CLOSING ends in LINGER, not free */
    int           reading;      /* rev added */
    int           writing;      /* wev added */
    int           werr;         /* a send failed: wev frees the connection */
    worker       *w;
    struct event *rev, *wev;
    struct event *resume;       /* continue after the request budget */
    char         *in;           /* input: in[ipos..ilen) not yet answered */
    size_t        ipos, ilen, icap;
    usj_buf       out;          /* output: out.data[opos..out.len) unsent */
    size_t        opos;
    conn         *prev, *next;  /* worker's list */
    conn         *qnext;        /* hand-over queue */
};

conn *conn_new(int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (c)
        c->fd = fd;
    return c;
}

void conn_discard(conn *c)
{
    close(c->fd);
    free(c);
}

conn *conn_queue_next(conn *c) { return c->qnext; }
void  conn_queue_set_next(conn *c, conn *next) { c->qnext = next; }

static void conn_free(conn *c)
{
    worker *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    if (c->resume)
        event_free(c->resume);
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    close(c->fd);
    free(c->in);
    usj_buf_free(&c->out);
    free(c);
    atomic_fetch_sub(&w->srv->conns_current, 1);
    if (atomic_load(&w->stopping) && w->nconns == 0)
        event_base_loopbreak(w->base);
}

static size_t unsent(const conn *c) { return c->out.len - c->opos; }

/* The idle timeout (NULL: none) for the read and write events. */
static const struct timeval *idle_tv(const conn *c, struct timeval *tv)
{
    unsigned s = c->w->srv->set.idle_timeout_s;
    if (!s)
        return NULL;
    tv->tv_sec = (time_t)s;
    tv->tv_usec = 0;
    return tv;
}

static void read_on(conn *c, const struct timeval *tv)
{
    event_add(c->rev, tv);
    c->reading = 1;
}

static void read_off(conn *c)
{
    if (c->reading)
        event_del(c->rev);
    c->reading = 0;
}

static void write_on(conn *c)
{
    if (c->writing)
        return;
    struct timeval tv;
    event_add(c->wev, idle_tv(c, &tv));
    c->writing = 1;
}

static void write_off(conn *c)
{
    if (c->writing)
        event_del(c->wev);
    c->writing = 0;
}

/* Send what the output holds now; what the socket does not take waits for
 * the write event (added only then). Never frees c: a failed send marks it
 * and activates the write event, whose callback frees it. */
static void conn_flush(conn *c)
{
    while (c->opos < c->out.len && !c->werr) {
        ssize_t n = send(c->fd, c->out.data + c->opos, c->out.len - c->opos,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->opos += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            write_on(c);
            return;
        } else {
            dlog(DLOG_DEBUG, "fd %d: %s", c->fd, n < 0 ? strerror(errno) : "send");
            c->werr = 1;
            event_active(c->wev, EV_WRITE, 0);
            return;
        }
    }
    if (c->opos == c->out.len) {
        c->opos = 0;
        if (c->out.cap > OUT_KEEP)
            usj_buf_free(&c->out);
        else
            usj_buf_clear(&c->out);
    }
}

/* While a line is answered, the worker's answer buffer (w->out, where the
 * commands append) is the connection's output itself, so an answer is
 * formatted (or copied from the answer cache) straight into it: no copy
 * per answer. out_begin moves what is still unsent to the front first when
 * that is cheap. */
static void out_begin(conn *c)
{
    worker *w = c->w;
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

static void out_end(conn *c)
{
    worker *w = c->w;
    usj_buf mine = w->out;
    w->out = c->out;
    c->out = mine;
}

/* Stop taking requests; close once the output has been sent. */
static void conn_close_after_output(conn *c, int linger)
{
    c->state = ST_CLOSING;
    c->linger_after = linger;
    c->blocked = 0;
    read_off(c);
    conn_flush(c);
    if (unsent(c) == 0 && !c->werr) {
        /* nothing left to write: the write callback will not run */
        if (!linger) {
            conn_free(c);
            return;
        }
        c->state = ST_LINGER;
        shutdown(c->fd, SHUT_WR);
        write_off(c);
        struct timeval tv = { USJ_LINGER_MS / 1000,
                              (USJ_LINGER_MS % 1000) * 1000 };
        read_on(c, &tv);
    }
}

static void send_error(conn *c, const char *name, const char *msg)
{
    worker *w = c->w;
    out_begin(c);
    usj_proto_format_error(&w->out, USJ_EINVAL, name, 0, msg);
    out_end(c);
    stats_add(&w->st.errors, 1);
}

/* Answer one line; returns CMD_CONTINUE or CMD_CLOSE. */
static int handle_line(conn *c, const char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        len--;
    out_begin(c);
    int r = commands_execute(c->w, line, len);
    out_end(c);
    return r;
}

/* Answer the complete lines buffered, within the limits. Returns 1 when
 * the connection is still there to flush, 0 when it may have been freed
 * inside (closing): nothing touches c then. */
static int conn_process(conn *c, int no_budget)
{
    unsigned budget = USJ_REQS_PER_EVENT;
    while (c->state == ST_READ && !c->werr) {
        if (unsent(c) >= USJ_MAX_PENDING_OUTPUT) {
            /* the client does not read its answers: stop reading until
             * the write callback sees the output drained to half */
            c->blocked = 1;
            read_off(c);
            write_on(c);
            return 1;
        }
        if (!no_budget && budget-- == 0) {
            event_active(c->resume, EV_TIMEOUT, 0);
            return 1;
        }
        const char *p = c->in + c->ipos;
        size_t avail = c->ilen - c->ipos;
        const char *eol = avail ? memchr(p, '\n', avail) : NULL;
        if (!eol && avail <= USJ_MAX_LINE_BYTES && !c->eof)
            return 1;                                 /* need more bytes */
        size_t len = eol ? (size_t)(eol - p) : avail;
        if (len > USJ_MAX_LINE_BYTES) {
            send_error(c, "TOOLONG", "request line longer than "
                       "USJ_MAX_LINE_BYTES (16384 bytes)");
            dlog(DLOG_INFO, "fd %d: request line too long, closing", c->fd);
            c->ipos = c->ilen;
            conn_close_after_output(c, 1);
            return 0;
        }
        if (!eol && avail == 0) {
            conn_close_after_output(c, 0);            /* EOF, all answered */
            return 0;
        }
        /* a complete line, or the last unterminated one after EOF */
        size_t take = eol ? len + 1 : avail;
        int r = handle_line(c, p, len);
        c->ipos += take;
        if (r == CMD_CLOSE) {
            c->ipos = c->ilen;
            conn_close_after_output(c, 1);
            return 0;
        }
    }
    return 1;
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

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    conn *c = arg;
    if (what & EV_TIMEOUT) {
        if (c->state == ST_READ)
            dlog(DLOG_DEBUG, "fd %d: idle timeout, closing", c->fd);
        conn_free(c);
        return;
    }
    if (c->state == ST_LINGER) {
        /* discard a bounded amount per event: a flooding peer does not
         * hold the worker */
        char buf[4096];
        ssize_t n = 0;
        for (int i = 0; i < 16 && (n = read(c->fd, buf, sizeof buf)) > 0; i++)
            ;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR))
            conn_free(c);       /* the peer is gone (or failed) */
        return;
    }
    if (c->state != ST_READ || c->blocked)
        return;
    int r = conn_read(c);
    if (r < 0) {
        dlog(DLOG_DEBUG, "fd %d: %s", c->fd, strerror(errno));
        conn_free(c);
        return;
    }
    if (r == 0) {
        /* half-closed: answer what was received, then close */
        c->eof = 1;
        read_off(c);
        if (conn_process(c, 1))
            conn_flush(c);
        return;
    }
    if (conn_process(c, 0))
        conn_flush(c);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    conn *c = arg;
    if (c->state == ST_READ && !c->blocked && conn_process(c, 0))
        conn_flush(c);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    conn *c = arg;
    if (c->werr || (what & EV_TIMEOUT)) {
        if (what & EV_TIMEOUT)
            dlog(DLOG_DEBUG, "fd %d: write timeout, closing", c->fd);
        conn_free(c);
        return;
    }
    conn_flush(c);
    if (c->werr)
        return;                 /* the write event runs again and frees it */
    size_t left = unsent(c);
    if (c->state == ST_CLOSING && left == 0) {
        write_off(c);
        if (!c->linger_after) {
            conn_free(c);
            return;
        }
        conn_close_after_output(c, 1);    /* -> LINGER */
        return;
    }
    if (c->state == ST_READ && c->blocked &&
        left <= USJ_MAX_PENDING_OUTPUT / 2) {
        c->blocked = 0;
        if (!c->eof) {
            struct timeval tv;
            read_on(c, idle_tv(c, &tv));
        }
        if (!conn_process(c, c->eof))
            return;
        conn_flush(c);
        if (c->werr)
            return;
        left = unsent(c);
    }
    if (c->state == ST_READ && !c->blocked && left == 0)
        write_off(c);           /* until a send falls short */
}

void conn_start(worker *w, conn *c)
{
    c->w = w;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    c->rev = event_new(w->base, c->fd, EV_READ | EV_PERSIST, read_cb, c);
    c->wev = event_new(w->base, c->fd, EV_WRITE | EV_PERSIST, write_cb, c);
    c->resume = event_new(w->base, -1, 0, resume_cb, c);
    if (!c->rev || !c->wev || !c->resume) {
        dlog(DLOG_ERROR, "fd %d: out of memory for the connection", c->fd);
        conn_free(c);
        return;
    }
    c->state = ST_READ;
    struct timeval tv;
    read_on(c, idle_tv(c, &tv));
}

void conn_shutdown_all(worker *w)
{
    conn *c = w->conns;
    while (c) {
        conn *next = c->next;
        if (c->state == ST_READ) {
            /* answer the complete requests already received, then close;
             * a partial last line is dropped */
            read_off(c);
            c->blocked = 0;
            c->eof = 0;
            while (!c->werr) {
                const char *p = c->in + c->ipos;
                size_t avail = c->ilen - c->ipos;
                const char *eol = avail ? memchr(p, '\n', avail) : NULL;
                if (!eol || (size_t)(eol - p) > USJ_MAX_LINE_BYTES)
                    break;
                int r = handle_line(c, p, (size_t)(eol - p));
                c->ipos += (size_t)(eol - p) + 1;
                if (r == CMD_CLOSE)
                    break;
            }
            c->ipos = c->ilen = 0;
            if (c->werr)
                conn_free(c);
            else
                conn_close_after_output(c, 0);
        } else if (c->state == ST_LINGER) {
            conn_free(c);
        }
        c = next;
    }
}

void conn_free_all(worker *w)
{
    atomic_store(&w->stopping, 0);      /* no loopbreak: the loop is over */
    while (w->conns)
        conn_free(w->conns);
}
