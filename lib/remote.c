/* lib/remote.c — client side of the usjsearchd line protocol (usj/remote.h):
 * the default socket name, connecting (Unix or TCP) with a timeout, and
 * SEARCH answers parsed back into the usj_results usj_search would give, so
 * the client prints the same bytes in both modes. Wire format: PROTOCOL.md. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "usj/error.h"
#include "usj/proto.h"
#include "usj/remote.h"

struct usj_remote {
    int      fd;          /* -1 once the connection is known broken */
    unsigned timeout_ms;
    char    *buf;         /* received bytes [off, len) not yet consumed */
    size_t   off, len, cap;
    usj_buf  req;
    char     name[128];   /* for messages */
};

/* ------------------------------------------------------------ addressing */

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

int usj_remote_default_socket(char *out, size_t n, const char *index_path)
{
    char real[4096];
    const char *idx = realpath(index_path, real) ? real : index_path;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int k;
    if (xdg && xdg[0] == '/')
        k = snprintf(out, n, "%s/usjsearchd-%016llx.sock", xdg,
                     (unsigned long long)fnv1a64(idx));
    else
        k = snprintf(out, n, "%s.sock", idx);
    if (k < 0 || (size_t)k >= n ||
        (size_t)k >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return usj_error_set(USJ_ELIMIT, "socket path too long for %s", idx);
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait until fd is ready for `events` or the deadline passes.
 * Returns 0, USJ_ETIMEOUT, USJ_EIO. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline)
            return USJ_ETIMEOUT;
        struct pollfd p = { fd, events, 0 };
        int rc = poll(&p, 1, (int)(deadline - now > 60000 ? 60000
                                                          : deadline - now));
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return USJ_EIO;
    }
}

/* Non-blocking connect within the deadline. Returns the fd, or -errno. */
static int connect_to(const struct sockaddr *sa, socklen_t len, int family,
                      uint64_t deadline)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, sa, len) == 0)
        return fd;
    int err = errno;
    if (err == EINPROGRESS || err == EAGAIN) {
        if (wait_fd(fd, POLLOUT, deadline) != 0) {
            close(fd);
            return -ETIMEDOUT;
        }
        socklen_t el = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
            return fd;
    }
    close(fd);
    return -err;
}

int usj_remote_connect(usj_remote **out, const char *server,
                       const char *index_path, unsigned timeout_ms)
{
    *out = NULL;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (!server || !*server) {
        const char *env = getenv("USJ_SERVER");
        if (env && *env) {
            server = env;
        } else {
            if (!index_path)
                return usj_error_set(USJ_EINVAL, "no server and no index");
            int rc = usj_remote_default_socket(path, sizeof path, index_path);
            if (rc)
                return rc;
            server = path;
        }
    }
    if (timeout_ms == 0)
        timeout_ms = USJ_DEFAULT_REMOTE_TIMEOUT_MS;
    uint64_t deadline = now_ms() + timeout_ms;
    int fd = -1;
    const char *unix_path = NULL;
    if (strncmp(server, "unix:", 5) == 0)
        unix_path = server + 5;
    else if (strchr(server, '/'))
        unix_path = server;
    if (unix_path) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        size_t pl = strlen(unix_path);
        if (pl == 0 || pl >= sizeof sa.sun_path)
            return usj_error_set(USJ_EINVAL, "bad socket path '%s'", unix_path);
        memcpy(sa.sun_path, unix_path, pl + 1);
        fd = connect_to((struct sockaddr *)&sa, sizeof sa, AF_UNIX, deadline);
    } else {
        char host[256];
        const char *colon = strrchr(server, ':');
        if (!colon || colon == server || !colon[1] ||
            (size_t)(colon - server) >= sizeof host)
            return usj_error_set(USJ_EINVAL, "bad server address '%s' (want "
                                 "unix:PATH, a path, or HOST:PORT)", server);
        size_t hl = (size_t)(colon - server);
        const char *h = server;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        memcpy(host, h, hl);
        host[hl] = '\0';
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        int g = getaddrinfo(host, colon + 1, &hints, &res);
        if (g != 0)
            return usj_error_set(USJ_EINVAL, "server address '%s': %s",
                                 server, gai_strerror(g));
        fd = -ENOENT;
        for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next)
            fd = connect_to(a->ai_addr, a->ai_addrlen, a->ai_family, deadline);
        freeaddrinfo(res);
    }
    if (fd < 0) {
        int err = -fd;
        if (err == ENOENT || err == ECONNREFUSED || err == ETIMEDOUT ||
            err == ENOTSOCK || err == EACCES || err == ENOTDIR)
            return usj_error_set(USJ_ENOTFOUND, "no usjsearchd at %s: %s",
                                 server, strerror(err));
        return usj_error_set(USJ_EIO, "connect %s: %s", server, strerror(err));
    }
    usj_remote *r = calloc(1, sizeof *r);
    if (!r) {
        close(fd);
        return usj_error_set(USJ_ENOMEM, "out of memory");
    }
    r->fd = fd;
    r->timeout_ms = timeout_ms;
    snprintf(r->name, sizeof r->name, "%s", server);
    *out = r;
    return 0;
}

void usj_remote_close(usj_remote *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    usj_buf_free(&r->req);
    free(r);
}

/* ------------------------------------------------------------ I/O */

static int broken(usj_remote *r, int code, const char *what)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (code == USJ_ETIMEOUT)
        return usj_error_set(code, "usjsearchd at %s did not answer in time",
                             r->name);
    return usj_error_set(code, "usjsearchd at %s: %s", r->name, what);
}

/* Send the whole request. A daemon that turned the connection away (ERR
 * BUSY, then close) makes the send fail with EPIPE / ECONNRESET; the
 * connection is then kept for its one line to be read (*gone set). */
static int send_all(usj_remote *r, const char *p, size_t n, uint64_t deadline,
                    int *gone)
{
    while (n) {
        ssize_t k = send(r->fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(r->fd, POLLOUT, deadline);
            if (rc)
                return broken(r, rc, "cannot send");
            continue;
        }
        if (k < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            *gone = errno;
            return 0;
        }
        return broken(r, USJ_EIO, strerror(errno));
    }
    return 0;
}

/* Next line of the answer (without its LF); valid until the next call. */
static int read_line(usj_remote *r, uint64_t deadline, const char **line,
                     size_t *len)
{
    size_t scanned = 0;
    for (;;) {
        char *s = r->buf + r->off + scanned;
        char *nl = r->len > r->off + scanned
                       ? memchr(s, '\n', r->len - r->off - scanned) : NULL;
        if (nl) {
            *line = r->buf + r->off;
            *len = (size_t)(nl - *line);
            r->off += *len + 1;
            return 0;
        }
        scanned = r->len - r->off;
        if (scanned > USJ_MAX_REPLY_LINE_BYTES)
            return broken(r, USJ_EIO, "answer line too long");
        if (r->off > 0 && r->off == r->len) {
            r->off = r->len = 0;
        } else if (r->off > r->cap / 2) {
            memmove(r->buf, r->buf + r->off, r->len - r->off);
            r->len -= r->off;
            r->off = 0;
        }
        if (r->cap - r->len < 4096) {
            size_t cap = r->cap ? r->cap * 2 : 16384;
            char *nb = realloc(r->buf, cap);
            if (!nb)
                return broken(r, USJ_ENOMEM, "out of memory");
            r->buf = nb;
            r->cap = cap;
        }
        ssize_t k = recv(r->fd, r->buf + r->len, r->cap - r->len, 0);
        if (k > 0) {
            r->len += (size_t)k;
            continue;
        }
        if (k == 0)
            return broken(r, USJ_EIO, "connection closed mid-answer");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return broken(r, USJ_EIO, strerror(errno));
        int rc = wait_fd(r->fd, POLLIN, deadline);
        if (rc)
            return broken(r, rc, "no answer");
    }
}

int usj_remote_search(usj_remote *r, const char *query, size_t len,
                      const usj_search_opts *opts, usj_results **out)
{
    *out = NULL;
    if (!r || r->fd < 0)
        return usj_error_set(USJ_EIO, "not connected to usjsearchd");
    if (len > USJ_MAX_QUERY_BYTES) {
        /* longer than any query the daemon accepts, and perhaps than a
         * request line: let the parser refuse it here, with the very error
         * the daemon (or usj_search in-process) would give */
        usj_analyzer *an = NULL;
        usj_query *q = NULL;
        int rc = usj_analyzer_new(&an, 0);
        if (!rc)
            rc = usj_query_parse(&q, query, len, an);
        usj_query_free(q);
        usj_analyzer_free(an);
        if (rc)
            return rc;
    }
    unsigned qt = opts->timeout_ms ? opts->timeout_ms
                                   : USJ_DEFAULT_QUERY_TIMEOUT_MS;
    uint64_t deadline = now_ms() + r->timeout_ms + qt;
    usj_buf_clear(&r->req);
    int rc = usj_proto_format_search(&r->req, query, len, opts);
    if (rc)
        return rc;
    int gone = 0;
    rc = send_all(r, r->req.data, r->req.len, deadline, &gone);
    if (rc)
        return rc;
    const char *line;
    size_t ll;
    rc = read_line(r, deadline, &line, &ll);
    if (rc && gone)
        return broken(r, USJ_EIO, strerror(gone));
    if (rc)
        return rc;
    if (ll >= 9 && memcmp(line, "ERR BUSY ", 9) == 0) {
        /* the daemon is at --max-conns and closes: nobody serves us */
        usj_proto_parse_error(line, line + ll);
        char msg[256];
        snprintf(msg, sizeof msg, "%s", usj_error_last());
        broken(r, USJ_EIO, "");
        return usj_error_set(USJ_ENOTFOUND, "usjsearchd at %s is busy: %s",
                             r->name, msg);
    }
    if (gone)
        return broken(r, USJ_EIO, strerror(gone));
    if (ll >= 4 && memcmp(line, "ERR ", 4) == 0)
        return usj_proto_parse_error(line, line + ll);   /* connection ok */
    usj_results *res = calloc(1, sizeof *res);
    if (!res)
        return broken(r, USJ_ENOMEM, "out of memory");
    rc = usj_proto_parse_results_head(res, line, line + ll);
    if (rc) {
        usj_results_free(res);
        return broken(r, USJ_EIO, usj_error_last());
    }
    size_t want = res->nhits;
    res->nhits = 0;
    if (want) {
        res->hits = calloc(want, sizeof *res->hits);
        if (!res->hits) {
            usj_results_free(res);
            return broken(r, USJ_ENOMEM, "out of memory");
        }
    }
    for (size_t i = 0; i < want; i++) {
        rc = read_line(r, deadline, &line, &ll);
        if (!rc)
            rc = usj_proto_parse_hit(&res->hits[i], line, line + ll,
                                     opts->explain);
        if (!rc && (opts->flags & USJ_SEARCH_NOTEXT) &&
            res->hits[i].text_len == 0) {
            free(res->hits[i].text);          /* as usj_search: no text */
            res->hits[i].text = NULL;
        }
        if (rc) {
            usj_results_free(res);
            return r->fd < 0 ? rc : broken(r, USJ_EIO, usj_error_last());
        }
        res->nhits++;
    }
    rc = read_line(r, deadline, &line, &ll);
    if (!rc && (ll != 1 || line[0] != '.'))
        rc = broken(r, USJ_EIO, "answer does not end with '.'");
    if (rc) {
        usj_results_free(res);
        return rc;
    }
    *out = res;
    return 0;
}
