/* lib/apool.h — parallel analysis of paragraphs for the writer: paragraphs
 * are queued into a window; a full window is analyzed by worker threads
 * (each with its own analyzer) while the writer consumes the previous one,
 * in order, so the index is the same as with sequential analysis. Internal. */
#ifndef USJ_APOOL_H
#define USJ_APOOL_H

#include <stddef.h>
#include <stdint.h>

#include "usj/analyze.h"

typedef struct usj_apara {
    const char  *text;        /* a copy, valid until the next call */
    size_t       len;
    uint32_t     file, line, nlines;
    uint64_t     offset;
    usj_analysis a;           /* tokens (norm unset) and numbers */
} usj_apara;

typedef struct usj_apool usj_apool;

/* nthreads workers (>= 1); a window holds about window_bytes of text.
 * Returns 0, USJ_ENOMEM. */
int  usj_apool_new(usj_apool **out, unsigned nthreads, size_t window_bytes);
void usj_apool_free(usj_apool *p);    /* stops the workers; accepts NULL */

/* Queue a paragraph (its text is copied). Returns 0 or USJ_ENOMEM. */
int  usj_apool_add(usj_apool *p, const char *text, size_t len, uint32_t file,
                   uint32_t line, uint32_t nlines, uint64_t offset);
/* 1 when the queued text reached the window size. */
int  usj_apool_full(const usj_apool *p);
/* Hand the queued paragraphs to the workers and return the paragraphs of
 * the window handed over before (analyzed; the calling thread helps with
 * `helper`), in order; *n = 0 when there was none. The result is valid
 * until the next call. With flush != 0 and nothing queued, it just
 * returns the window in flight. Returns 0 or the first analysis error. */
int  usj_apool_cycle(usj_apool *p, usj_analyzer *helper, const usj_apara **out,
                     size_t *n);
/* 1 when nothing is queued or in flight. */
int  usj_apool_idle(const usj_apool *p);

#endif
