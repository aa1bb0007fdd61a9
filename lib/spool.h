/* lib/spool.h — buffered sequential files for the writer: anonymous temporary
 * files (spill runs, positions, dictionary, stored text, doc table), the
 * output file with per-section CRC32, and a buffered reader over a spool or
 * a memory range. Internal to libusj; every function returns 0 or USJ_EIO /
 * USJ_ENOMEM with the message set. */
#ifndef USJ_SPOOL_H
#define USJ_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct usj_spool {
    int      fd;
    char    *name;        /* linked name (output fallback), or NULL */
    const char *what;     /* for messages: "positions spool", "output" ... */
    uint8_t *buf;
    size_t   len, cap;
    uint64_t flushed;     /* bytes already written to fd */
    uint32_t crc;         /* running CRC32 of the current section */
    int      crc_on;
} usj_spool;

/* An unnamed temporary file in dir (O_TMPFILE, else mkstemp + unlink), so a
 * killed build leaves nothing behind. */
int  usj_spool_tmp(usj_spool *s, const char *dir, const char *what);
int  usj_spool_write(usj_spool *s, const void *p, size_t n);
int  usj_spool_varint(usj_spool *s, uint64_t v);
int  usj_spool_flush(usj_spool *s);
static inline uint64_t usj_spool_tell(const usj_spool *s) { return s->flushed + s->len; }
/* Zero bytes up to a multiple of align. */
int  usj_spool_pad(usj_spool *s, unsigned align);
/* Flush and release the buffer (the file stays open for reading). */
int  usj_spool_finish(usj_spool *s);
/* Append all of src (flushed first) to dst. */
int  usj_spool_append(usj_spool *dst, usj_spool *src);
void usj_spool_close(usj_spool *s);

/* Buffered reader over a spool's file (fd >= 0) or over memory (fd < 0). */
typedef struct usj_rdr {
    int            fd;
    const char    *what;
    uint8_t       *buf;       /* owned when fd >= 0 */
    const uint8_t *base;      /* memory readers: start of the range */
    const uint8_t *p, *end;   /* unread bytes */
    uint64_t       off;       /* file offset of the next refill */
    uint64_t       size;      /* file size */
    size_t         cap;       /* buffer size */
} usj_rdr;

/* Flushes s and reads it from the start through a buffer of bufsize bytes
 * (0 = the default 256 KB). */
int  usj_rdr_file(usj_rdr *r, usj_spool *s, size_t bufsize);
void usj_rdr_mem(usj_rdr *r, const void *p, size_t n, const char *what);
int  usj_rdr_varint_more(usj_rdr *r, uint64_t *v);
/* One varint; a single-byte one (most doc gaps, tfs and position gaps of
 * the merge) without a call. */
static inline int usj_rdr_varint(usj_rdr *r, uint64_t *v)
{
    if (r->p < r->end && *r->p < 0x80) {
        *v = *r->p++;
        return 0;
    }
    return usj_rdr_varint_more(r, v);
}
int  usj_rdr_read(usj_rdr *r, void *out, size_t n);
int  usj_rdr_eof(usj_rdr *r);      /* 1 at end of data */
/* Bytes consumed so far. */
static inline uint64_t usj_rdr_pos(const usj_rdr *r)
{
    return r->fd >= 0 ? r->off - (uint64_t)(r->end - r->p)
                      : (uint64_t)(r->p - r->base);
}
void usj_rdr_free(usj_rdr *r);

#endif
