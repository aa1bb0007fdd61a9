/* lib/apool.c — the writer's parallel paragraph analysis (lib/apool.h).
 *
 * Two windows alternate: the writer fills one while the workers analyze the
 * other. A window is cut into chunks of paragraphs; workers (and the writer
 * thread, while it waits) claim chunks one at a time and store the tokens
 * and numbers in the chunk's own arrays, so results do not depend on which
 * thread analyzed what. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apool.h"
#include "usj/buf.h"
#include "usj/error.h"

#define CHUNK_PARAS 64u

typedef struct chunk {
    size_t      first, count;     /* paragraphs */
    usj_buf     terms;            /* term bytes */
    usj_token  *tok;
    size_t      ntok, ctok;
    usj_number *num;
    size_t      nnum, cnum;
    int         rc;
    char        msg[256];
} chunk;

typedef struct window {
    usj_buf    text;
    usj_apara *p;
    size_t     n, cap;
    chunk     *ch;
    size_t     nch, cch;
    size_t     claimed, done;     /* under the pool mutex */
} window;

struct usj_apool {
    pthread_mutex_t mu;
    pthread_cond_t  work, finished;
    pthread_t      *th;
    usj_analyzer  **an;
    unsigned        nthreads, started;
    int             quit;
    size_t          window_bytes;
    window          win[2];
    int             fill;         /* window being filled */
    int             busy;         /* window in analysis, or -1 */
    int             consumed;     /* window returned to the caller, or -1 */
};

static int analyze_chunk(window *w, chunk *c, usj_analyzer *an)
{
    c->ntok = c->nnum = 0;
    usj_buf_clear(&c->terms);
    c->rc = 0;
    for (size_t i = c->first; i < c->first + c->count; i++) {
        usj_apara *p = &w->p[i];
        const usj_analysis *a;
        int rc = usj_analyze(an, p->text, p->len, &a);
        if (!rc && c->ntok + a->ntokens > c->ctok) {
            size_t cap = c->ctok ? c->ctok : 1024;
            while (cap < c->ntok + a->ntokens)
                cap *= 2;
            usj_token *t = realloc(c->tok, cap * sizeof *t);
            if (t) {
                c->tok = t;
                c->ctok = cap;
            } else {
                rc = usj_error_set(USJ_ENOMEM, "out of memory (analysis)");
            }
        }
        if (!rc && c->nnum + a->nnumbers > c->cnum) {
            size_t cap = c->cnum ? c->cnum : 64;
            while (cap < c->nnum + a->nnumbers)
                cap *= 2;
            usj_number *t = realloc(c->num, cap * sizeof *t);
            if (t) {
                c->num = t;
                c->cnum = cap;
            } else {
                rc = usj_error_set(USJ_ENOMEM, "out of memory (analysis)");
            }
        }
        if (rc) {
            c->rc = rc;
            snprintf(c->msg, sizeof c->msg, "%s", usj_error_last());
            return rc;
        }
        /* remember where this paragraph's results start (as offsets) */
        p->a.tokens = (const usj_token *)(uintptr_t)c->ntok;
        p->a.ntokens = a->ntokens;
        p->a.numbers = (const usj_number *)(uintptr_t)c->nnum;
        p->a.nnumbers = a->nnumbers;
        p->a.ninvalid = a->ninvalid;
        for (size_t k = 0; k < a->ntokens; k++) {
            usj_token t = a->tokens[k];
            size_t off = c->terms.len;
            if (usj_buf_put(&c->terms, t.term, t.term_len) || usj_buf_putc(&c->terms, 0)) {
                c->rc = USJ_ENOMEM;
                snprintf(c->msg, sizeof c->msg, "out of memory (analysis)");
                return c->rc;
            }
            t.term = (const char *)(uintptr_t)off;
            t.norm = NULL;
            t.norm_len = 0;
            c->tok[c->ntok++] = t;
        }
        if (a->nnumbers)
            memcpy(c->num + c->nnum, a->numbers, a->nnumbers * sizeof *a->numbers);
        c->nnum += a->nnumbers;
    }
    /* the arrays are final: turn offsets into pointers */
    for (size_t k = 0; k < c->ntok; k++)
        c->tok[k].term = c->terms.data + (uintptr_t)c->tok[k].term;
    for (size_t i = c->first; i < c->first + c->count; i++) {
        usj_apara *p = &w->p[i];
        p->a.tokens = c->tok ? c->tok + (uintptr_t)p->a.tokens : NULL;
        p->a.numbers = c->num ? c->num + (uintptr_t)p->a.numbers : NULL;
    }
    return 0;
}

/* Claim and analyze chunks of the busy window until none is left
 * (called with the mutex held; returns with it held). */
static void work_on(usj_apool *p, usj_analyzer *an)
{
    while (p->busy >= 0) {
        window *w = &p->win[p->busy];
        if (w->claimed >= w->nch)
            return;
        chunk *c = &w->ch[w->claimed++];
        pthread_mutex_unlock(&p->mu);
        analyze_chunk(w, c, an);
        pthread_mutex_lock(&p->mu);
        if (++w->done == w->nch)
            pthread_cond_broadcast(&p->finished);
    }
}

typedef struct warg {
    usj_apool *p;
    unsigned   i;
} warg;

static void *worker(void *arg)
{
    usj_apool *p = ((warg *)arg)->p;
    unsigned i = ((warg *)arg)->i;
    free(arg);
    pthread_mutex_lock(&p->mu);
    while (!p->quit) {
        if (p->busy >= 0 && p->win[p->busy].claimed < p->win[p->busy].nch)
            work_on(p, p->an[i]);
        else
            pthread_cond_wait(&p->work, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int usj_apool_new(usj_apool **out, unsigned nthreads, size_t window_bytes)
{
    *out = NULL;
    usj_apool *p = calloc(1, sizeof *p);
    if (!p)
        return usj_error_set(USJ_ENOMEM, "out of memory (analysis pool)");
    p->busy = p->consumed = -1;
    p->window_bytes = window_bytes;
    p->th = calloc(nthreads, sizeof *p->th);
    p->an = calloc(nthreads, sizeof *p->an);
    if (!p->th || !p->an || pthread_mutex_init(&p->mu, NULL)) {
        free(p->th);
        free(p->an);
        free(p);
        return usj_error_set(USJ_ENOMEM, "out of memory (analysis pool)");
    }
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->finished, NULL);
    int rc = 0;
    for (unsigned i = 0; i < nthreads && !rc; i++) {
        if ((rc = usj_analyzer_new(&p->an[i], 0)))
            break;
        warg *a = malloc(sizeof *a);
        if (a) {
            a->p = p;
            a->i = i;
        }
        if (!a || pthread_create(&p->th[i], NULL, worker, a)) {
            free(a);
            usj_analyzer_free(p->an[i]);
            p->an[i] = NULL;
            rc = usj_error_set(USJ_ENOMEM, "cannot start analysis threads");
            break;
        }
        p->started++;
        p->nthreads++;
    }
    if (rc && p->started == 0) {
        usj_apool_free(p);
        return rc;
    }
    *out = p;      /* fewer threads than asked is fine */
    return 0;
}

void usj_apool_free(usj_apool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++)
        pthread_join(p->th[i], NULL);
    for (unsigned i = 0; i < p->nthreads; i++)
        usj_analyzer_free(p->an[i]);
    for (int k = 0; k < 2; k++) {
        window *w = &p->win[k];
        usj_buf_free(&w->text);
        free(w->p);
        for (size_t c = 0; c < w->cch; c++) {
            usj_buf_free(&w->ch[c].terms);
            free(w->ch[c].tok);
            free(w->ch[c].num);
        }
        free(w->ch);
    }
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->finished);
    pthread_mutex_destroy(&p->mu);
    free(p->th);
    free(p->an);
    free(p);
}

/* The window last returned to the caller is free again: make it the fill
 * window if the fill window is the other one and is empty. */
static void recycle(usj_apool *p)
{
    if (p->consumed < 0)
        return;
    window *w = &p->win[p->consumed];
    usj_buf_clear(&w->text);
    w->n = 0;
    w->nch = w->claimed = w->done = 0;
    p->consumed = -1;
}

int usj_apool_add(usj_apool *p, const char *text, size_t len, uint32_t file,
                  uint32_t line, uint32_t nlines, uint64_t offset)
{
    recycle(p);
    window *w = &p->win[p->fill];
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        usj_apara *np = realloc(w->p, cap * sizeof *np);
        if (!np)
            return usj_error_set(USJ_ENOMEM, "out of memory (analysis window)");
        w->p = np;
        w->cap = cap;
    }
    usj_apara *a = &w->p[w->n];
    memset(a, 0, sizeof *a);
    a->text = (const char *)(uintptr_t)w->text.len;   /* an offset until handed over */
    a->len = len;
    a->file = file;
    a->line = line;
    a->nlines = nlines;
    a->offset = offset;
    int rc = usj_buf_put(&w->text, text, len);
    if (rc)
        return rc;
    w->n++;
    return 0;
}

int usj_apool_full(const usj_apool *p)
{
    return p->win[p->fill].text.len >= p->window_bytes;
}

int usj_apool_idle(const usj_apool *p)
{
    return p->busy < 0 && p->win[p->fill].n == 0;
}

/* Cut the fill window into chunks and hand it to the workers. */
static int submit(usj_apool *p)
{
    window *w = &p->win[p->fill];
    if (w->n == 0)
        return 0;
    for (size_t i = 0; i < w->n; i++)
        w->p[i].text = (w->text.data ? w->text.data : "") + (uintptr_t)w->p[i].text;
    size_t nch = (w->n + CHUNK_PARAS - 1) / CHUNK_PARAS;
    if (nch > w->cch) {
        chunk *c = realloc(w->ch, nch * sizeof *c);
        if (!c)
            return usj_error_set(USJ_ENOMEM, "out of memory (analysis window)");
        memset(c + w->cch, 0, (nch - w->cch) * sizeof *c);
        w->ch = c;
        w->cch = nch;
    }
    for (size_t k = 0; k < nch; k++) {
        w->ch[k].first = k * CHUNK_PARAS;
        w->ch[k].count = w->n - k * CHUNK_PARAS < CHUNK_PARAS ? w->n - k * CHUNK_PARAS : CHUNK_PARAS;
    }
    pthread_mutex_lock(&p->mu);
    w->nch = nch;
    w->claimed = w->done = 0;
    p->busy = p->fill;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    p->fill = 1 - p->fill;
    return 0;
}

int usj_apool_cycle(usj_apool *p, usj_analyzer *helper, const usj_apara **out,
                    size_t *n)
{
    *out = NULL;
    *n = 0;
    recycle(p);
    int done_idx = -1;
    if (p->busy >= 0) {
        pthread_mutex_lock(&p->mu);
        work_on(p, helper);                     /* help, then wait */
        window *w = &p->win[p->busy];
        while (w->done < w->nch)
            pthread_cond_wait(&p->finished, &p->mu);
        done_idx = p->busy;
        p->busy = -1;
        pthread_mutex_unlock(&p->mu);
    }
    int rc = submit(p);                         /* the workers start on it */
    if (done_idx < 0)
        return rc;
    window *w = &p->win[done_idx];
    p->consumed = done_idx;
    for (size_t k = 0; k < w->nch; k++)
        if (w->ch[k].rc)
            return usj_error_set(w->ch[k].rc, "%s", w->ch[k].msg);
    if (rc)
        return rc;
    *out = w->p;
    *n = w->n;
    return 0;
}
