/* lib/para.c — splitting a file into paragraphs (usj/para.h): one per line,
 * one per blank-line-separated block, or the automatic choice per block; the
 * file's title; split mode names.
 *
 * Lines end at LF; a CR before the LF is not part of the line (CRLF files
 * work); a lone CR is an ordinary byte. A line is blank when it holds only
 * white space: ASCII space, tab, CR, VT, FF, and the Unicode spaces U+00A0,
 * U+2000..U+200B, U+202F, U+205F, U+3000 and U+FEFF (a byte order mark).
 * Titles are trimmed of the same white space.
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

#include "limits.h"
#include "usj/para.h"

static inline int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Length of the Unicode space starting at p (< e): U+00A0, U+2000..U+200B,
 * U+202F, U+205F, U+3000, U+FEFF; 0 if none. */
static size_t uni_space_len(const unsigned char *p, const unsigned char *e)
{
    size_t n = (size_t)(e - p);
    if (n >= 2 && p[0] == 0xC2 && p[1] == 0xA0)
        return 2;
    if (n < 3)
        return 0;
    if (p[0] == 0xE2 && ((p[1] == 0x80 && (p[2] <= 0x8B || p[2] == 0xAF)) ||
                         (p[1] == 0x81 && p[2] == 0x9F)))
        return 3;
    if ((p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) ||
        (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF))
        return 3;
    return 0;
}

/* Length of the white space (ASCII or Unicode) starting at buf[i], i < e. */
static size_t ws_at(const char *buf, size_t i, size_t e)
{
    const unsigned char *p = (const unsigned char *)buf + i;
    if (*p < 0x80)
        return is_ws(*p);
    return uni_space_len(p, (const unsigned char *)buf + e);
}

/* Length of the white space ending at buf[e - 1] (b < e), or 0. */
static size_t ws_before(const char *buf, size_t b, size_t e)
{
    const unsigned char *p = (const unsigned char *)buf;
    if (p[e - 1] < 0x80)
        return is_ws(p[e - 1]);
    if (e - b >= 2 && uni_space_len(p + e - 2, p + e) == 2)
        return 2;
    if (e - b >= 3 && uni_space_len(p + e - 3, p + e) == 3)
        return 3;
    return 0;
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
    size_t i = l->start;
    while (i < l->end) {
        size_t n = ws_at(buf, i, l->end);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

/* Length without trailing white space. */
static size_t trimmed_len(const char *buf, const line *l)
{
    size_t e = l->end, n;
    while (e > l->start && (n = ws_before(buf, l->start, e)) != 0)
        e -= n;
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

static int is_sp(char c) { return c == ' ' || c == '\t'; }

/* The length of a title line t[0..n) cut to USJ_TITLE_MAX bytes: after the
 * first sentence that ends within the bound (a '.', '!' or '?' then a blank,
 * the '.' not after a capital: "U.S. President" goes on), else after the
 * last whole word that fits, trailing ",;:-" dropped (*mid = 1), else at a
 * UTF-8 character boundary (*mid = 1). */
static size_t title_cut(const char *t, size_t n, int *mid)
{
    *mid = 0;
    if (n <= USJ_TITLE_MAX)
        return n;
    for (size_t i = USJ_TITLE_MIN_SENTENCE; i < USJ_TITLE_MAX; i++) {
        unsigned char p = (unsigned char)t[i - 1];
        if (is_sp(t[i + 1]) &&
            (t[i] == '!' || t[i] == '?' ||
             (t[i] == '.' && !(p >= 'A' && p <= 'Z') && p != '.')))
            return i + 1;
    }
    *mid = 1;
    size_t e = USJ_TITLE_MAX;
    while (e > 0 && !is_sp(t[e]))
        e--;
    while (e > 0 && (is_sp(t[e - 1]) || t[e - 1] == ',' ||
                     t[e - 1] == ';' || t[e - 1] == ':' || t[e - 1] == '-'))
        e--;
    if (e > 0)
        return e;
    e = USJ_TITLE_MAX;      /* one long word */
    while (e > 0 && ((unsigned char)t[e] & 0xC0) == 0x80)
        e--;
    return e;
}

int usj_para_title(const char *buf, size_t len, const char **title,
                   size_t *tlen)
{
    /* The first non-blank line that has a letter or digit: a line of bare
     * punctuation (seeds/003 opens with ", , , , , ,") is page debris, not
     * a headline. Failing that, the first non-blank line. */
    size_t s = 0;
    line l;
    const char *first = NULL;
    size_t first_len = 0;
    while (s < len) {
        get_line(buf, len, s, &l);
        size_t a = l.start, e = l.end, n;
        while (a < e && (n = ws_at(buf, a, e)) != 0)
            a += n;
        while (e > a && (n = ws_before(buf, a, e)) != 0)
            e -= n;
        if (e > a) {
            for (size_t i = a; i < e; i++) {
                unsigned char c = (unsigned char)buf[i];
                if (c >= 0x80 || (c >= '0' && c <= '9') ||
                    ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) {
                    int mid;
                    *title = buf + a;
                    *tlen = title_cut(buf + a, e - a, &mid);
                    return mid;
                }
            }
            if (!first) {
                first = buf + a;
                first_len = e - a;
            }
        }
        s = l.next;
    }
    int mid = 0;
    *title = first ? first : "";
    *tlen = first ? title_cut(first, first_len, &mid) : 0;
    return mid;
}

static const char *const split_names[] = {"auto", "line", "block"};

const char *usj_split_name(usj_split_mode m)
{
    if ((unsigned)m > USJ_SPLIT_BLOCK)
        return "unknown";
    return split_names[m];
}

/* ASCII case-insensitive equality (no locale). */
static int ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        unsigned x = (unsigned char)*a, y = (unsigned char)*b;
        if (x - 'A' < 26u) x += 32;
        if (y - 'A' < 26u) y += 32;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

int usj_split_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i <= USJ_SPLIT_BLOCK; i++)
        if (ascii_ieq(name, split_names[i]))
            return i;
    return -1;
}
