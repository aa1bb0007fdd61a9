/* lib/format.c — output formats of hits and summaries (usj_fmt_hit,
 * usj_fmt_summary), shared by the client in embedded and daemon mode:
 *  - plain:   ripgrep-like "path:line: text", matches bold red, path magenta,
 *             line green, the article title dimmed on a heading line; long
 *             paragraphs as a snippet with "…", newlines shown as spaces;
 *  - vimgrep: exactly ripgrep's "path:line:column:text" (the source line of
 *             the first match, 1-based byte column);
 *  - JSON Lines: {"type":"hit","v":1,...} per hit, then
 *             {"type":"summary","v":1,"total":..,"total_exact":true|false,
 *             "hits":..,"took_us":..} (total_exact false: total is a lower
 *             bound, usj_search_opts.total_upto); every string
 *             escaped (control characters as \uXXXX, invalid UTF-8 bytes as
 *             \ufffd, so "matches" offsets index the text as stored). */
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "usj/error.h"
#include "usj/query.h"

#define C_RESET  "\x1b[0m"
#define C_PATH   "\x1b[35m"
#define C_LINE   "\x1b[32m"
#define C_MATCH  "\x1b[1;31m"
#define C_DIM    "\x1b[2m"
/* Longest title shown on a plain-format heading line (bytes). */
#define FMT_TITLE_BYTES 100u

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; cp = c & 0x07; }
    else return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int json_str(usj_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    int rc = usj_buf_putc(b, '"');
    while (p < end && !rc) {
        const unsigned char *q = p;
        while (q < end && *q >= 0x20 && *q < 0x7f && *q != '"' && *q != '\\')
            q++;
        if (q > p) {
            rc = usj_buf_put(b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        unsigned c = *p;
        switch (c) {
        case '"':  rc = usj_buf_puts(b, "\\\""); p++; continue;
        case '\\': rc = usj_buf_puts(b, "\\\\"); p++; continue;
        case '\n': rc = usj_buf_puts(b, "\\n"); p++; continue;
        case '\r': rc = usj_buf_puts(b, "\\r"); p++; continue;
        case '\t': rc = usj_buf_puts(b, "\\t"); p++; continue;
        case '\b': rc = usj_buf_puts(b, "\\b"); p++; continue;
        case '\f': rc = usj_buf_puts(b, "\\f"); p++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            rc = usj_buf_printf(b, "\\u%04x", c);
            p++;
            continue;
        }
        size_t n = utf8_seq(p, end);
        if (n == 0) {
            rc = usj_buf_puts(b, "\\ufffd");
            p++;
        } else {
            rc = usj_buf_put(b, p, n);
            p += n;
        }
    }
    return rc ? rc : usj_buf_putc(b, '"');
}

/* Path as shown: absolute, as stored, or relative to cwd (see query.h). */
static int put_path(usj_buf *b, const usj_fmt_opts *o, const char *path)
{
    if (!path)
        path = "";
    if (path[0] == '/' || !o->root || !o->root[0])
        return usj_buf_puts(b, path);
    const char *rel = path;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    if (o->absolute) {
        size_t rl = strlen(o->root);
        int rc = usj_buf_put(b, o->root, rl);
        if (rl == 0 || o->root[rl - 1] != '/')
            rc |= usj_buf_putc(b, '/');
        return rc | usj_buf_puts(b, rel);
    }
    if (!o->cwd || strcmp(o->cwd, o->root) == 0)
        return usj_buf_puts(b, path);
    /* the file is root/rel; walk from cwd to it by components */
    const char *r = o->root, *c = o->cwd;
    size_t common_r = 0, common_c = 0, i = 0;
    while (r[i] && c[i] && r[i] == c[i]) {
        i++;
        if ((r[i] == '/' || r[i] == 0) && (c[i] == '/' || c[i] == 0)) {
            common_r = common_c = i;
        }
    }
    if (strcmp(o->cwd, "/") == 0)
        common_r = common_c = 0;
    int rc = 0;
    for (const char *q = c + common_c; *q; q++)
        if (*q == '/' && q[1] && q[1] != '/')
            rc |= usj_buf_puts(b, "../");
    const char *rest = r + common_r;
    while (*rest == '/')
        rest++;
    if (*rest) {
        rc |= usj_buf_puts(b, rest);
        if (rest[strlen(rest) - 1] != '/')
            rc |= usj_buf_putc(b, '/');
    }
    return rc | usj_buf_puts(b, rel);
}

/* Text for a terminal: newlines and other controls as spaces, matches in
 * color (or plain). */
static int put_text(usj_buf *b, const char *t, size_t len,
                    const usj_span *sp, size_t ns, int color)
{
    int rc = 0;
    size_t k = 0;
    for (size_t i = 0; i < len && !rc; i++) {
        if (color && k < ns && sp[k].start == i)
            rc |= usj_buf_puts(b, C_MATCH);
        unsigned char c = (unsigned char)t[i];
        rc |= usj_buf_putc(b, (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : (char)c);
        if (k < ns && sp[k].end == i + 1) {
            if (color)
                rc |= usj_buf_puts(b, C_RESET);
            k++;
            while (k < ns && sp[k].end <= i + 1)
                k++;
        }
    }
    return rc;
}

static int fmt_plain(usj_buf *b, const usj_fmt_opts *o, const usj_hit *h)
{
    int rc = 0, color = o->color;
    if (o->heading && h->title && h->title[0]) {
        size_t tl = strlen(h->title), cut = tl;
        if (cut > FMT_TITLE_BYTES) {      /* long first lines: cut, "…" */
            cut = FMT_TITLE_BYTES;
            while (cut > 0 && ((unsigned char)h->title[cut] & 0xC0) == 0x80)
                cut--;
        }
        rc |= usj_buf_puts(b, color ? C_DIM "# " : "# ");
        rc |= put_text(b, h->title, cut, NULL, 0, 0);
        if (cut < tl)
            rc |= usj_buf_puts(b, "\xe2\x80\xa6");
        rc |= usj_buf_puts(b, color ? C_RESET "\n" : "\n");
    }
    if (color) rc |= usj_buf_puts(b, C_PATH);
    rc |= put_path(b, o, h->path);
    if (color) rc |= usj_buf_puts(b, C_RESET ":" C_LINE);
    else rc |= usj_buf_putc(b, ':');
    rc |= usj_buf_printf(b, "%u", h->line);
    rc |= usj_buf_puts(b, color ? C_RESET ": " : ": ");
    uint32_t max = o->snippet_bytes ? o->snippet_bytes : USJ_DEFAULT_SNIPPET_BYTES;
    if (h->text_len > max) {
        char *s;
        size_t sl, ns;
        usj_span *sp;
        int e = usj_snippet(h->text, h->text_len, h->spans, h->nspans, max,
                            &s, &sl, &sp, &ns);
        if (e)
            return e;
        rc |= put_text(b, s, sl, sp, ns, color);
        free(s);
        free(sp);
    } else {
        rc |= put_text(b, h->text, h->text_len, h->spans, h->nspans, color);
    }
    rc |= usj_buf_putc(b, '\n');
    if (o->explain && h->explain) {
        const char *p = h->explain;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            rc |= usj_buf_puts(b, color ? C_DIM "    " : "    ");
            rc |= usj_buf_put(b, p, n);
            rc |= usj_buf_puts(b, color ? C_RESET "\n" : "\n");
            p += n + (nl ? 1 : 0);
        }
    }
    return rc;
}

static int fmt_vimgrep(usj_buf *b, const usj_fmt_opts *o, const usj_hit *h)
{
    int rc = put_path(b, o, h->path);
    rc |= usj_buf_printf(b, ":%u:%u:", h->line, h->column);
    /* the source line holding the first match */
    const char *t = h->text ? h->text : "", *end = t + h->text_len;
    for (uint32_t l = h->para_line; l < h->line && t < end; l++) {
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        if (!nl)
            break;
        t = nl + 1;
    }
    const char *nl = memchr(t, '\n', (size_t)(end - t));
    rc |= usj_buf_put(b, t, (size_t)((nl ? nl : end) - t));
    return rc | usj_buf_putc(b, '\n');
}

static int fmt_json(usj_buf *b, const usj_fmt_opts *o, const usj_hit *h)
{
    int rc = usj_buf_printf(b, "{\"type\":\"hit\",\"v\":%d,\"path\":",
                            USJ_JSON_VERSION);
    usj_buf p = USJ_BUF_INIT;
    rc |= put_path(&p, o, h->path);
    rc |= json_str(b, p.data ? p.data : "", p.len);
    usj_buf_free(&p);
    rc |= usj_buf_printf(b, ",\"line\":%u,\"column\":%u,\"score\":%.9g,"
                            "\"text\":", h->line, h->column, h->score);
    rc |= json_str(b, h->text ? h->text : "", h->text_len);
    rc |= usj_buf_puts(b, ",\"title\":");
    rc |= json_str(b, h->title ? h->title : "", h->title ? strlen(h->title) : 0);
    rc |= usj_buf_puts(b, ",\"matches\":[");
    for (size_t i = 0; i < h->nspans; i++)
        rc |= usj_buf_printf(b, "%s[%u,%u]", i ? "," : "", h->spans[i].start,
                             h->spans[i].end);
    rc |= usj_buf_putc(b, ']');
    if (o->explain && h->explain) {
        rc |= usj_buf_puts(b, ",\"explain\":");
        rc |= json_str(b, h->explain, strlen(h->explain));
    }
    return rc | usj_buf_puts(b, "}\n");
}

int usj_fmt_hit(usj_buf *out, const usj_fmt_opts *o, const usj_hit *h)
{
    int rc;
    switch (o->format) {
    case USJ_FMT_PLAIN:   rc = fmt_plain(out, o, h); break;
    case USJ_FMT_VIMGREP: rc = fmt_vimgrep(out, o, h); break;
    case USJ_FMT_JSON:    rc = fmt_json(out, o, h); break;
    default: return usj_error_set(USJ_EINVAL, "unknown output format %d",
                                  (int)o->format);
    }
    if (rc == USJ_ENOMEM || rc < 0)
        return usj_error_set(USJ_ENOMEM, "out of memory");
    return 0;
}

int usj_fmt_summary(usj_buf *out, const usj_fmt_opts *o, const usj_results *r)
{
    if (o->format != USJ_FMT_JSON)
        return 0;
    int rc = usj_buf_printf(out, "{\"type\":\"summary\",\"v\":%d,\"total\":%llu,"
                                 "\"total_exact\":%s,\"hits\":%zu,\"took_us\":%llu}\n",
                            USJ_JSON_VERSION, (unsigned long long)r->total,
                            r->total_relation == USJ_TOTAL_EXACT ? "true" : "false",
                            r->nhits, (unsigned long long)r->took_us);
    return rc ? usj_error_set(USJ_ENOMEM, "out of memory") : 0;
}
