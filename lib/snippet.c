/* lib/snippet.c — usj_snippet: a window of at most max_bytes of a long
 * paragraph around its densest cluster of match spans, cut at UTF-8 (and
 * when possible word) boundaries, with "…" where text was cut and the spans
 * rebased onto the snippet. Hit spans themselves are computed in
 * lib/query_eval.c (hit building), with the analyzer. */
#include <stdlib.h>
#include <string.h>

#include "usj/error.h"
#include "usj/query.h"
#include "limits.h"

#define ELLIPSIS "\xe2\x80\xa6"   /* U+2026 */
#define ELLIPSIS_LEN 3u
/* How far a cut may move to land on a space instead of inside a word. */
#define SNIPPET_WORD_SLACK 24u

static int is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }
static int is_sp(char c) { return c == ' ' || c == '\n' || c == '\t'; }

/* Move a start cut forward to a character (preferably word) start. */
static size_t cut_start(const char *t, size_t len, size_t s, size_t limit)
{
    if (s == 0)
        return 0;
    for (size_t k = s; k < len && k < s + SNIPPET_WORD_SLACK && k <= limit; k++)
        if (is_sp(t[k - 1]) && !is_sp(t[k]))
            return k;
    while (s < len && is_cont((unsigned char)t[s]))
        s++;
    return s;
}

/* Move an end cut backward to a character (preferably word) end. */
static size_t cut_end(const char *t, size_t len, size_t e, size_t floor)
{
    if (e >= len)
        return len;
    for (size_t k = e; k > floor && k + SNIPPET_WORD_SLACK > e; k--)
        if (is_sp(t[k]) && !is_sp(t[k - 1]))
            return k;
    while (e > floor && is_cont((unsigned char)t[e]))
        e--;
    return e;
}

int usj_snippet(const char *text, size_t len, const usj_span *spans,
                size_t nspans, uint32_t max_bytes, char **snip,
                size_t *snip_len, usj_span **out_spans, size_t *out_nspans)
{
    *snip = NULL;
    *out_spans = NULL;
    *snip_len = 0;
    *out_nspans = 0;
    if (max_bytes == 0)
        max_bytes = USJ_DEFAULT_SNIPPET_BYTES;
    size_t start = 0, end = len;
    if (len > max_bytes) {
        /* densest cluster: most spans inside a max_bytes window */
        size_t best = 0, bestn = 0, j = 0;
        for (size_t i = 0; i < nspans; i++) {
            if (j < i)
                j = i;
            while (j < nspans && spans[j].end <= (size_t)spans[i].start + max_bytes)
                j++;
            if (j - i > bestn) {
                bestn = j - i;
                best = i;
            }
        }
        if (bestn > 0) {
            size_t cs = spans[best].start;
            size_t ce = spans[best + bestn - 1].end;
            size_t room = max_bytes > ce - cs ? max_bytes - (ce - cs) : 0;
            /* a third of the spare room before, the rest after */
            start = cs > room / 3 ? cs - room / 3 : 0;
            if (start + max_bytes > len)
                start = len - max_bytes;
            size_t first = cs;
            start = cut_start(text, len, start, first);
        }
        end = start + max_bytes < len ? start + max_bytes : len;
        end = cut_end(text, len, end, start);
    }
    int pre = start > 0, post = end < len;
    size_t n = end - start + (pre ? ELLIPSIS_LEN : 0) + (post ? ELLIPSIS_LEN : 0);
    char *s = malloc(n + 1);
    usj_span *os = nspans ? malloc(nspans * sizeof *os) : NULL;
    if (!s || (nspans && !os)) {
        free(s);
        free(os);
        return usj_error_set(USJ_ENOMEM, "out of memory");
    }
    size_t o = 0;
    if (pre) {
        memcpy(s, ELLIPSIS, ELLIPSIS_LEN);
        o = ELLIPSIS_LEN;
    }
    memcpy(s + o, text + start, end - start);
    size_t base = o;
    o += end - start;
    if (post) {
        memcpy(s + o, ELLIPSIS, ELLIPSIS_LEN);
        o += ELLIPSIS_LEN;
    }
    s[o] = 0;
    size_t k = 0;
    for (size_t i = 0; i < nspans; i++) {
        size_t a = spans[i].start, b = spans[i].end;
        if (b <= start || a >= end || a >= b)
            continue;
        if (a < start) a = start;
        if (b > end) b = end;
        os[k].start = (uint32_t)(a - start + base);
        os[k].end = (uint32_t)(b - start + base);
        os[k].kind = spans[i].kind;
        k++;
    }
    if (k == 0) {
        free(os);
        os = NULL;
    }
    *snip = s;
    *snip_len = o;
    *out_spans = os;
    *out_nspans = k;
    return 0;
}
