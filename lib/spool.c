/* lib/spool.c — the writer's buffered temporary and output files, and the
 * buffered reader over them (lib/spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "codec.h"
#include "spool.h"
#include "usj/error.h"

#define SPOOL_BUF (256u * 1024u)
#define RDR_BUF   (256u * 1024u)

int usj_spool_tmp(usj_spool *s, const char *dir, const char *what)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->what = what;
    s->buf = malloc(SPOOL_BUF);
    if (!s->buf)
        return usj_error_set(USJ_ENOMEM, "out of memory (%s buffer)", what);
    s->cap = SPOOL_BUF;
#ifdef O_TMPFILE
    s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
    if (s->fd < 0) {
        size_t n = strlen(dir) + 32;
        char *name = malloc(n);
        if (!name) {
            free(s->buf);
            s->buf = NULL;
            return usj_error_set(USJ_ENOMEM, "out of memory");
        }
        snprintf(name, n, "%s/.usjindex-tmp-XXXXXX", dir);
        s->fd = mkostemp(name, O_CLOEXEC);
        if (s->fd >= 0)
            unlink(name);
        free(name);
    }
    if (s->fd < 0) {
        int e = errno;
        free(s->buf);
        s->buf = NULL;
        return usj_error_set(USJ_EIO, "cannot create a temporary file in %s: %s",
                             dir, strerror(e));
    }
    return 0;
}

int usj_spool_flush(usj_spool *s)
{
    size_t done = 0;
    while (done < s->len) {
        ssize_t k = write(s->fd, s->buf + done, s->len - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return usj_error_set(USJ_EIO, "writing %s: %s", s->what,
                                 strerror(errno));
        }
        done += (size_t)k;
    }
    s->flushed += s->len;
    s->len = 0;
    return 0;
}

int usj_spool_write(usj_spool *s, const void *p, size_t n)
{
    if (s->crc_on && n)
        s->crc = (uint32_t)crc32_z(s->crc, p, n);
    const uint8_t *q = p;
    while (n) {
        if (s->len == s->cap) {
            int rc = usj_spool_flush(s);
            if (rc)
                return rc;
        }
        size_t k = s->cap - s->len < n ? s->cap - s->len : n;
        memcpy(s->buf + s->len, q, k);
        s->len += k;
        q += k;
        n -= k;
    }
    return 0;
}

int usj_spool_varint(usj_spool *s, uint64_t v)
{
    uint8_t tmp[10];
    return usj_spool_write(s, tmp, usj_varint_put(tmp, v));
}

int usj_spool_pad(usj_spool *s, unsigned align)
{
    static const uint8_t zeros[64];
    uint64_t r = usj_spool_tell(s) % align;
    return r ? usj_spool_write(s, zeros, align - r) : 0;
}

int usj_spool_append(usj_spool *dst, usj_spool *src)
{
    int rc = usj_spool_flush(src);
    if (rc)
        return rc;
    uint64_t off = 0;
    while (off < src->flushed) {
        if (dst->len == dst->cap && (rc = usj_spool_flush(dst)))
            return rc;
        size_t want = dst->cap - dst->len;
        if (want > src->flushed - off)
            want = (size_t)(src->flushed - off);
        ssize_t k = pread(src->fd, dst->buf + dst->len, want, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return usj_error_set(USJ_EIO, "reading %s: %s", src->what,
                                 k < 0 ? strerror(errno) : "unexpected end");
        if (dst->crc_on)
            dst->crc = (uint32_t)crc32_z(dst->crc, dst->buf + dst->len, (size_t)k);
        dst->len += (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

int usj_spool_finish(usj_spool *s)
{
    int rc = usj_spool_flush(s);
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
    return rc;
}

void usj_spool_close(usj_spool *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->name) {
        unlink(s->name);
        free(s->name);
    }
    free(s->buf);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

/* ---- reader ---- */

int usj_rdr_file(usj_rdr *r, usj_spool *s, size_t bufsize)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    int rc = s->buf ? usj_spool_flush(s) : 0;
    if (rc)
        return rc;
    r->cap = bufsize ? (bufsize < 64 ? 64 : bufsize) : RDR_BUF;
    r->buf = malloc(r->cap);
    if (!r->buf)
        return usj_error_set(USJ_ENOMEM, "out of memory (reader buffer)");
    r->fd = s->fd;
    r->what = s->what;
    r->size = s->flushed;
    r->p = r->end = r->buf;
    return 0;
}

void usj_rdr_mem(usj_rdr *r, const void *p, size_t n, const char *what)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->what = what;
    r->p = r->base = p;
    r->end = r->p + n;
}

/* Keep the unread bytes and read more; returns bytes now available. */
static int refill(usj_rdr *r)
{
    if (r->fd < 0 || r->off >= r->size)
        return 0;
    size_t keep = (size_t)(r->end - r->p);
    memmove(r->buf, r->p, keep);
    size_t want = r->cap - keep;
    if (want > r->size - r->off)
        want = (size_t)(r->size - r->off);
    ssize_t k;
    do
        k = pread(r->fd, r->buf + keep, want, (off_t)r->off);
    while (k < 0 && errno == EINTR);
    if (k <= 0)
        return usj_error_set(USJ_EIO, "reading %s: %s", r->what,
                             k < 0 ? strerror(errno) : "unexpected end");
    r->off += (uint64_t)k;
    r->p = r->buf;
    r->end = r->buf + keep + (size_t)k;
    return 0;
}

int usj_rdr_varint_more(usj_rdr *r, uint64_t *v)
{
    if (r->end - r->p < 10) {
        int rc = refill(r);
        if (rc)
            return rc;
    }
    if (usj_varint_get(&r->p, r->end, v))
        return usj_error_set(USJ_EIO, "%s: malformed data", r->what);
    return 0;
}

int usj_rdr_read(usj_rdr *r, void *out, size_t n)
{
    uint8_t *o = out;
    while (n) {
        if (r->p == r->end) {
            int rc = refill(r);
            if (rc)
                return rc;
            if (r->p == r->end)
                return usj_error_set(USJ_EIO, "%s: unexpected end", r->what);
        }
        size_t k = (size_t)(r->end - r->p) < n ? (size_t)(r->end - r->p) : n;
        memcpy(o, r->p, k);
        r->p += k;
        o += k;
        n -= k;
    }
    return 0;
}

int usj_rdr_eof(usj_rdr *r)
{
    return r->p == r->end && (r->fd < 0 || r->off >= r->size);
}

void usj_rdr_free(usj_rdr *r)
{
    if (r->fd >= 0)
        free(r->buf);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}
