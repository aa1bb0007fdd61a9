/* lib/para.c — splitting a file into paragraphs (usj/para.h): one per line,
 * one per blank-line-separated block, or the automatic choice per block; the
 * file's title; split mode names.
 *
 * Lines end at LF; a CR before the LF is not part of the line (CRLF files
 * work); a lone CR is an ordinary byte. A line is blank when it holds only
 * ASCII white space (space, tab, CR, VT, FF).
 *
 * AUTO: a block (maximal run of non-blank lines) of two or more lines is one
 * paragraph when it looks hard-wrapped:
 *   - every line but the last is USJ_WRAP_MIN..USJ_WRAP_MAX bytes long
 *     (trailing white space not counted),
 *   - the last line is at most USJ_WRAP_MAX bytes (a headline followed by a
 *     long unwrapped prose line is not a wrapped block),
 *   - no line is a table row (two or more '|').
 * Otherwise each non-blank line is its own paragraph. */
#include <string.h>
#include <strings.h>

#include "limits.h"
#include "usj/para.h"

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

typedef struct line {
    size_t start;    /* first byte */
    size_t end;      /* end of content: before "\n" / "\r\n" */
    size_t next;     /* start of the next line */
} line;

/* The line starting at s (s < len). */
static void get_line(const char *buf, size_t len, size_t s, line *l)
{
    const char *nl = memchr(buf + s, '\n', len - s);
    size_t e = nl ? (size_t)(nl - buf) : len;
    l->start = s;
    l->next = nl ? e + 1 : len;
    if (e > s && buf[e - 1] == '\r')
        e--;
    l->end = e;
}

static int is_blank(const char *buf, const line *l)
{
    for (size_t i = l->start; i < l->end; i++)
        if (!is_ws((unsigned char)buf[i]))
            return 0;
    return 1;
}

/* Length without trailing white space. */
static size_t trimmed_len(const char *buf, const line *l)
{
    size_t e = l->end;
    while (e > l->start && is_ws((unsigned char)buf[e - 1]))
        e--;
    return e - l->start;
}

static int is_table_row(const char *buf, const line *l)
{
    const char *e = buf + l->end;
    const char *bar = memchr(buf + l->start, '|', l->end - l->start);
    return bar && memchr(bar + 1, '|', (size_t)(e - bar - 1)) != NULL;
}

static int emit(usj_para_cb cb, void *ctx, const char *buf, size_t start,
                size_t end, uint32_t lineno, uint32_t nlines)
{
    usj_para p = {
        .text = buf + start, .len = end - start, .line = lineno,
        .nlines = nlines, .offset = start,
    };
    return cb(ctx, &p);
}

/* Does the block of n lines starting at s look hard-wrapped? */
static int block_wrapped(const char *buf, size_t len, size_t s, uint32_t n)
{
    if (n < 2)
        return 0;
    line l;
    for (uint32_t k = 0; k < n; k++) {
        get_line(buf, len, s, &l);
        size_t tl = trimmed_len(buf, &l);
        if (tl > USJ_WRAP_MAX || (k + 1 < n && tl < USJ_WRAP_MIN) ||
            is_table_row(buf, &l))
            return 0;
        s = l.next;
    }
    return 1;
}

int usj_para_split(const char *buf, size_t len, usj_split_mode mode,
                   usj_para_cb cb, void *ctx)
{
    size_t s = 0;
    uint32_t lineno = 1;
    line l;
    while (s < len) {
        get_line(buf, len, s, &l);
        if (is_blank(buf, &l)) {
            s = l.next;
            lineno++;
            continue;
        }
        if (mode == USJ_SPLIT_LINE) {
            int rc = emit(cb, ctx, buf, l.start, l.end, lineno, 1);
            if (rc)
                return rc;
            s = l.next;
            lineno++;
            continue;
        }
        /* a block: this line and the non-blank lines after it */
        size_t bstart = s, bend = l.end;
        uint32_t n = 1;
        size_t t = l.next;
        while (t < len) {
            line m;
            get_line(buf, len, t, &m);
            if (is_blank(buf, &m))
                break;
            bend = m.end;
            n++;
            t = m.next;
        }
        if (mode == USJ_SPLIT_BLOCK || block_wrapped(buf, len, bstart, n)) {
            int rc = emit(cb, ctx, buf, bstart, bend, lineno, n);
            if (rc)
                return rc;
        } else {
            size_t u = bstart;
            for (uint32_t k = 0; k < n; k++) {
                line m;
                get_line(buf, len, u, &m);
                int rc = emit(cb, ctx, buf, m.start, m.end, lineno + k, 1);
                if (rc)
                    return rc;
                u = m.next;
            }
        }
        s = t;
        lineno += n;
    }
    return 0;
}

void usj_para_title(const char *buf, size_t len, const char **title,
                    size_t *tlen)
{
    size_t s = 0;
    /* a UTF-8 byte order mark is not part of the title */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        s = 3;
    line l;
    while (s < len) {
        get_line(buf, len, s, &l);
        size_t a = l.start, e = l.end;
        while (a < e && is_ws((unsigned char)buf[a]))
            a++;
        while (e > a && is_ws((unsigned char)buf[e - 1]))
            e--;
        if (e > a) {
            *title = buf + a;
            *tlen = e - a;
            return;
        }
        s = l.next;
    }
    *title = "";
    *tlen = 0;
}

static const char *const split_names[] = {"auto", "line", "block"};

const char *usj_split_name(usj_split_mode m)
{
    if ((unsigned)m > USJ_SPLIT_BLOCK)
        return "unknown";
    return split_names[m];
}

int usj_split_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i <= USJ_SPLIT_BLOCK; i++)
        if (strcasecmp(name, split_names[i]) == 0)
            return i;
    return -1;
}
