/* lib/results.c — ownership of usj_results / usj_hit: freeing, packing
 * usj_search's results into one allocation, and the small helpers the
 * evaluator and the remote client use to build them (span sorting and
 * merging, line/column of the first match).
 *
 * usj_search's results (usj_results.packed = 1) are one malloc'd block:
 *   usj_results | usj_hit[nhits] | root NUL | per distinct (path, title)
 *   of the hits: path NUL title NUL
 * the hits' path/title/root pointing into it; a hit's text, spans and
 * explain (text mode) stay malloc'd on their own. The remote client's
 * (packed = 0) have every part malloc'd apart. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "usj/error.h"

/* What a hit owns apart from the block: text, spans, explain. */
void usj_hit_free_owned(usj_hit *h)
{
    free(h->text);
    free(h->spans);
    free(h->explain);
}

void usj_results_free(usj_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nhits; i++) {
        usj_hit_free_owned(&r->hits[i]);
        if (!r->packed) {
            free(r->hits[i].path);
            free(r->hits[i].title);
        }
    }
    if (!r->packed) {
        free(r->hits);
        free(r->root);
    }
    free(r);
}

/* Hits whose strings are looked back at for a shared (path, title): the
 * hits of one file share them, and a page of hits is small. */
#define PACK_LOOKBACK 8

#define HITS_AT (((sizeof(usj_results) + alignof(usj_hit) - 1) / \
                  alignof(usj_hit)) * alignof(usj_hit))

int usj_results_pack(usj_results **out, const usj_results *head,
                     const usj_hit *hits, size_t n, const char *root)
{
    size_t need = HITS_AT + n * sizeof *hits;
    size_t rlen = root ? strlen(root) + 1 : 0;
    need += rlen;
    /* per hit: the earlier hit whose strings it shares (same < i, found
     * among the PACK_LOOKBACK before it) or i itself, and then the
     * lengths of the strings it copies */
    struct {
        size_t same, plen, tlen;
    } buf[64], *e = buf;
    if (n > 64 && !(e = malloc(n * sizeof *e)))
        return usj_error_set(USJ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t j = i, lo = i > PACK_LOOKBACK ? i - PACK_LOOKBACK : 0;
        for (size_t k = i; k-- > lo;)
            if (hits[k].path == hits[i].path && hits[k].title == hits[i].title) {
                j = e[k].same;
                break;
            }
        e[i].same = j;
        if (j == i) {
            e[i].plen = strlen(hits[i].path) + 1;
            e[i].tlen = strlen(hits[i].title) + 1;
            need += e[i].plen + e[i].tlen;
        }
    }
    usj_results *r = malloc(need);
    if (!r) {
        if (e != buf)
            free(e);
        return usj_error_set(USJ_ENOMEM, "out of memory");
    }
    *r = *head;
    r->packed = 1;
    r->nhits = n;
    r->hits = n ? (usj_hit *)((char *)r + HITS_AT) : NULL;
    if (n)
        memcpy(r->hits, hits, n * sizeof *hits);
    char *s = (char *)r + HITS_AT + n * sizeof *hits;
    r->root = NULL;
    if (root) {
        memcpy(s, root, rlen);
        r->root = s;
        s += rlen;
    }
    for (size_t i = 0; i < n; i++) {
        usj_hit *h = &r->hits[i];
        if (e[i].same != i) {
            h->path = r->hits[e[i].same].path;
            h->title = r->hits[e[i].same].title;
            continue;
        }
        memcpy(s, hits[i].path, e[i].plen);
        h->path = s;
        s += e[i].plen;
        memcpy(s, hits[i].title, e[i].tlen);
        h->title = s;
        s += e[i].tlen;
    }
    if (e != buf)
        free(e);
    *out = r;
    return 0;
}

static int span_cmp(const void *a, const void *b)
{
    const usj_span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;    /* longer first */
    return 0;
}

size_t usj_spans_normalize(usj_span *s, size_t n)
{
    if (n == 0)
        return 0;
    qsort(s, n, sizeof *s, span_cmp);
    size_t o = 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i].start < s[o].end) {          /* overlap: merge */
            if (s[i].end > s[o].end)
                s[o].end = s[i].end;
            if (s[i].kind > s[o].kind)        /* phrase/number beat term */
                s[o].kind = s[i].kind;
        } else {
            s[++o] = s[i];
        }
    }
    return o + 1;
}

void usj_hit_locate(const char *text, size_t len, uint32_t para_line,
                    uint32_t first, uint32_t *line, uint32_t *column)
{
    uint32_t l = para_line, col_start = 0;
    if (first > len)
        first = (uint32_t)len;
    const char *p = text, *end = text + first, *nl;
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        l++;
        col_start = (uint32_t)(nl - text) + 1;
        p = nl + 1;
    }
    *line = l;
    *column = first - col_start + 1;
}

int usj_hit_set_strings(usj_hit *h, const char *path, const char *title,
                        const char *text, size_t len)
{
    h->path = (char *)(path ? path : "");      /* borrowed until packed */
    h->title = (char *)(title ? title : "");
    if (!(h->text = malloc(len + 1)))
        return usj_error_set(USJ_ENOMEM, "out of memory");
    memcpy(h->text, text, len);
    h->text[len] = 0;
    h->text_len = len;
    return 0;
}
