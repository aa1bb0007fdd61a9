/* lib/results.c — ownership of usj_results / usj_hit: freeing, and the small
 * helpers the evaluator and the remote client use to build them (span
 * sorting and merging, line/column of the first match). */
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "usj/error.h"

static void hit_free(usj_hit *h)
{
    free(h->path);
    free(h->title);
    free(h->text);
    free(h->spans);
    free(h->explain);
}

void usj_results_free(usj_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nhits; i++)
        hit_free(&r->hits[i]);
    free(r->hits);
    free(r->root);
    free(r);
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
    h->path = strdup(path ? path : "");
    h->title = strdup(title ? title : "");
    h->text = malloc(len + 1);
    if (!h->path || !h->title || !h->text)
        return usj_error_set(USJ_ENOMEM, "out of memory");
    memcpy(h->text, text, len);
    h->text[len] = 0;
    h->text_len = len;
    return 0;
}
