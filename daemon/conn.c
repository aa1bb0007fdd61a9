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
 * Writing: answers are written to the socket at the end of the wake-up
 * that produced them (one writev for all the answers of that wake-up,
 * conn_flush), not on a later write event: no epoll registration and no
 * extra loop iteration per request, and an answer leaves as soon as it is
 * made instead of after every other ready connection's search. Only what
 * the socket does not take at once waits for EV_WRITE (enabled then, and
 * disabled again once the output is empty). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "daemon.h"
#include "limits.h"

enum { ST_NEW, ST_READ, ST_CLOSING, ST_LINGER };

struct conn {
    int                 fd;
    int                 state;
    int                 eof;          /* client half-closed its side */
    int                 blocked;      /* reading paused: too much unsent */
    int                 linger_after; /* CLOSING ends in LINGER, not free */
    worker             *w;
    struct bufferevent *bev;
    struct event       *resume;       /* continue after the request budget */
    conn               *prev, *next;  /* worker's list */
    conn               *qnext;        /* hand-over queue */
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
    if (c->bev)
        bufferevent_free(c->bev);     /* BEV_OPT_CLOSE_ON_FREE closes fd */
    else
        close(c->fd);
    free(c);
    atomic_fetch_sub(&w->srv->conns_current, 1);
    if (atomic_load(&w->stopping) && w->nconns == 0)
        event_base_loopbreak(w->base);
}

/* Write what the output holds now; what the socket does not take is left
 * to the bufferevent's write event (enabled only then). Errors are left to
 * the bufferevent too: the write event reports them. */
static void conn_flush(conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) == 0)
        return;
    /* a socket bufferevent keeps its output's front frozen so that only
     * its write callback drains it; do what that callback does */
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, c->fd);
    evbuffer_freeze(out, 1);
    if (evbuffer_get_length(out) > 0 || n < 0)
        bufferevent_enable(c->bev, EV_WRITE);
}

/* Stop taking requests; close once the output has been sent. */
static void conn_close_after_output(conn *c, int linger)
{
    c->state = ST_CLOSING;
    c->linger_after = linger;
    c->blocked = 0;
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    conn_flush(c);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        /* nothing left to write: the write callback will not run */
        if (!linger) {
            conn_free(c);
            return;
        }
        c->state = ST_LINGER;
        shutdown(c->fd, SHUT_WR);
        struct timeval tv = { USJ_LINGER_MS / 1000,
                              (USJ_LINGER_MS % 1000) * 1000 };
        bufferevent_set_timeouts(c->bev, &tv, NULL);
        bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
        bufferevent_enable(c->bev, EV_READ);
    }
}

static void send_error(conn *c, const char *name, const char *msg)
{
    worker *w = c->w;
    usj_buf_clear(&w->out);
    if (usj_proto_format_error(&w->out, USJ_EINVAL, name, 0, msg) == 0)
        evbuffer_add(bufferevent_get_output(c->bev), w->out.data, w->out.len);
    stats_add(&w->st.errors, 1);
}

/* Answer one line; returns CMD_CONTINUE or CMD_CLOSE. */
static int handle_line(conn *c, const char *line, size_t len)
{
    worker *w = c->w;
    if (len && line[len - 1] == '\r')
        len--;
    usj_buf_clear(&w->out);
    int r = commands_execute(w, line, len);
    if (w->out.len)
        evbuffer_add(bufferevent_get_output(c->bev), w->out.data, w->out.len);
    return r;
}

/* Answer the complete lines buffered, within the limits. Returns 1 when
 * the connection is still there to flush, 0 when it may have been freed
 * inside (closing): nothing touches c then. */
static int conn_process(conn *c, int no_budget)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    unsigned budget = USJ_REQS_PER_EVENT;
    while (c->state == ST_READ) {
        if (evbuffer_get_length(out) >= USJ_MAX_PENDING_OUTPUT) {
            /* the client does not read its answers: stop reading until
             * the write callback sees the output drained to half */
            c->blocked = 1;
            bufferevent_disable(c->bev, EV_READ);
            bufferevent_setwatermark(c->bev, EV_WRITE,
                                     USJ_MAX_PENDING_OUTPUT / 2, 0);
            bufferevent_enable(c->bev, EV_WRITE);
            return 1;
        }
        if (!no_budget && budget-- == 0) {
            event_active(c->resume, EV_TIMEOUT, 0);
            return 1;
        }
        size_t eol_len = 0;
        struct evbuffer_ptr eol =
            evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
        size_t avail = evbuffer_get_length(in);
        if (eol.pos < 0 && avail <= USJ_MAX_LINE_BYTES && !c->eof)
            return 1;                                 /* need more bytes */
        size_t len = eol.pos < 0 ? avail : (size_t)eol.pos;
        if (len > USJ_MAX_LINE_BYTES) {
            send_error(c, "TOOLONG", "request line longer than "
                       "USJ_MAX_LINE_BYTES (16384 bytes)");
            dlog(DLOG_INFO, "fd %d: request line too long, closing", c->fd);
            evbuffer_drain(in, avail);
            conn_close_after_output(c, 1);
            return 0;
        }
        if (eol.pos < 0 && avail == 0) {
            conn_close_after_output(c, 0);            /* EOF, all answered */
            return 0;
        }
        /* a complete line, or the last unterminated one after EOF */
        size_t take = eol.pos < 0 ? avail : len + eol_len;
        const char *line = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
        int r = CMD_CONTINUE;
        if (line)
            r = handle_line(c, line, len);
        evbuffer_drain(in, take);
        if (r == CMD_CLOSE) {
            evbuffer_drain(in, evbuffer_get_length(in));
            conn_close_after_output(c, 1);
            return 0;
        }
    }
    return 1;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    if (c->state == ST_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (c->state == ST_READ && !c->blocked && conn_process(c, 0))
        conn_flush(c);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    conn *c = arg;
    if (c->state == ST_READ && !c->blocked && conn_process(c, 0))
        conn_flush(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    size_t left = evbuffer_get_length(bufferevent_get_output(bev));
    if (c->state == ST_CLOSING && left == 0) {
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
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        bufferevent_enable(c->bev, EV_READ);
        if (!conn_process(c, 0))
            return;
        left = evbuffer_get_length(bufferevent_get_output(bev));
    }
    if (c->state == ST_READ && !c->blocked && left == 0)
        bufferevent_disable(c->bev, EV_WRITE);   /* until a write falls short */
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    conn *c = arg;
    if (what & BEV_EVENT_ERROR) {
        dlog(DLOG_DEBUG, "fd %d: %s", c->fd, strerror(errno));
        conn_free(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->state == ST_READ)
            dlog(DLOG_DEBUG, "fd %d: idle timeout, closing", c->fd);
        conn_free(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        if (c->state != ST_READ) {
            conn_free(c);      /* lingering or closing: the peer is gone */
            return;
        }
        /* half-closed: answer what was received, then close */
        c->eof = 1;
        c->blocked = 0;
        if (conn_process(c, 1))
            conn_flush(c);
    }
}

void conn_start(worker *w, conn *c)
{
    c->w = w;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    c->bev = bufferevent_socket_new(w->base, c->fd, BEV_OPT_CLOSE_ON_FREE);
    c->resume = event_new(w->base, -1, 0, resume_cb, c);
    if (!c->bev || !c->resume) {
        dlog(DLOG_ERROR, "fd %d: out of memory for the connection", c->fd);
        conn_free(c);
        return;
    }
    c->state = ST_READ;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    /* bound the input buffered per client: a line, plus room to pipeline */
    bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * USJ_MAX_LINE_BYTES);
    if (w->srv->set.idle_timeout_s) {
        struct timeval tv = { (time_t)w->srv->set.idle_timeout_s, 0 };
        bufferevent_set_timeouts(c->bev, &tv, &tv);
    }
    /* EV_WRITE (on by default) only when a write falls short: conn_flush */
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);
}

void conn_shutdown_all(worker *w)
{
    conn *c = w->conns;
    while (c) {
        conn *next = c->next;
        if (c->state == ST_READ) {
            /* answer the complete requests already received, then close */
            bufferevent_disable(c->bev, EV_READ);
            c->blocked = 0;
            c->eof = 0;
            conn *save = c;
            /* process without a budget; a partial last line is dropped */
            struct evbuffer *in = bufferevent_get_input(c->bev);
            for (;;) {
                size_t eol_len = 0;
                struct evbuffer_ptr eol =
                    evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
                if (eol.pos < 0 || (size_t)eol.pos > USJ_MAX_LINE_BYTES)
                    break;
                size_t take = (size_t)eol.pos + eol_len;
                const char *line =
                    (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
                int r = line ? handle_line(c, line, (size_t)eol.pos)
                             : CMD_CLOSE;
                evbuffer_drain(in, take);
                if (r == CMD_CLOSE)
                    break;
            }
            conn_close_after_output(save, 0);
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
