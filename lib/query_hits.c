/* lib/query_hits.c — building the hits of a search: the paragraph's stored
 * text re-analyzed with the same analyzer as the index to find the byte
 * spans of every matched term, phrase (one span) and number (the whole
 * amount), the line and column of the first match, and the --explain
 * breakdown (per clause: tf, df, idf, contribution). Also title: matching
 * and the per-thread analyzers it needs.
 *
 * Per thread, two small caches keep a server's repeated work out of the
 * hit path, both tagged with the serial number of the index that filled
 * them (an index reopened or reloaded never sees another's entries):
 *  - the paragraph cache: text and analysis (tokens, numbers) of recently
 *    shown paragraphs, direct-mapped by doc id, USJ_HIT_CACHE_SLOTS entries
 *    within USJ_HIT_CACHE_BYTES, so a paragraph shown again is neither
 *    inflated nor re-analyzed;
 *  - the term memo: dictionary statistics of the terms whose scores a hit's
 *    explanation/score walk needs (one lookup per term, not per hit). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "limits.h"
#include "query_eval_int.h"
#include "rank.h"
#include "results.h"
#include "usj/error.h"

static int nomem(void) { return usj_error_set(USJ_ENOMEM, "out of memory"); }

/* Per-thread state, made on first use and kept, released when the thread
 * exits (one key for all of it): two analyzers (creating one costs tens of
 * microseconds: its stem cache) and the hit caches below. A search uses the
 * analyzers only between its own calls, never across a return. */
typedef struct hcache hcache;
static void hc_free(hcache *c);

static _Thread_local struct tstate {
    usj_analyzer *an[2];
    hcache       *hc;
    int           registered;   /* with ts_key, for release at exit */
} tl;
static pthread_key_t ts_key;
static pthread_once_t ts_once = PTHREAD_ONCE_INIT;
static int ts_key_ok;

static void ts_destroy(void *p)
{
    struct tstate *t = p;
    usj_analyzer_free(t->an[0]);
    usj_analyzer_free(t->an[1]);
    hc_free(t->hc);
    memset(t, 0, sizeof *t);
}
static void ts_key_make(void) { ts_key_ok = pthread_key_create(&ts_key, ts_destroy) == 0; }

/* Registers this thread's state for release at exit; 0 when it cannot. */
static int ts_register(void)
{
    if (!tl.registered) {
        pthread_once(&ts_once, ts_key_make);
        tl.registered = ts_key_ok && pthread_setspecific(ts_key, &tl) == 0;
    }
    return tl.registered;
}


/* which: 0 for hit texts, 1 for titles (a title is analyzed while a hit's
 * analysis is still in use, so it needs its own analyzer). */
static int need_an(sctx *cx, int which)
{
    usj_analyzer **slot = which ? &cx->tan : &cx->an;
    if (*slot)
        return 0;
    if (!tl.an[which]) {
        int rc = usj_analyzer_new(&tl.an[which], 0);
        if (rc)
            return rc;
        ts_register();  /* if it cannot, the analyzer still serves */
    }
    *slot = tl.an[which];
    return 0;
}

int usj_qhit_title_match(sctx *cx, const qnode *q, const char *title)
{
    const usj_analysis *an;
    if (!title)
        return 0;
    int rc = need_an(cx, 1);
    if (rc)
        return rc;
    rc = usj_analyze(cx->tan, title, strlen(title), &an);
    if (rc)
        return rc;
    for (size_t i = 0; i < an->ntokens; i++) {
        uint32_t k;
        for (k = 0; k < q->nterms; k++) {
            size_t j = i + q->relpos[k];
            if (j >= an->ntokens ||
                an->tokens[j].pos != an->tokens[i].pos + q->relpos[k] ||
                strcmp(an->tokens[j].term, q->terms[k]) != 0)
                break;
        }
        if (k == q->nterms)
            return 1;
    }
    return 0;
}


/* ------------------------------------------------------------ caches */

typedef struct pentry {
    uint64_t    serial;     /* index that filled it; 0 = empty */
    uint32_t    doc;
    size_t      bytes;      /* of mem */
    char       *mem;        /* one allocation: tokens, numbers, strings */
    const char *text;
    size_t      text_len;
    usj_analysis an;
} pentry;

typedef struct tmemo {
    uint64_t      serial;   /* 0 = empty */
    int           found;
    char          term[USJ_MAX_TOKEN_BYTES + 1];
    usj_term_info ti;
} tmemo;

#define TERM_MEMO_SLOTS 64u

struct hcache {
    pentry p[USJ_HIT_CACHE_SLOTS];
    size_t bytes;
    tmemo  t[TERM_MEMO_SLOTS];
};

static void hc_free(hcache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < USJ_HIT_CACHE_SLOTS; i++)
        free(c->p[i].mem);
    free(c);
}

/* This thread's caches, made on first use; NULL when out of memory or when
 * the thread could not register their release (the caller then does
 * without). */
static hcache *hc_get(void)
{
    if (tl.hc)
        return tl.hc;
    if (!ts_register())
        return NULL;
    return tl.hc = calloc(1, sizeof *tl.hc);
}

static unsigned slot_of(uint32_t doc)
{
    /* neighbours land apart; a multiplicative hash spreads strided ids */
    return (unsigned)((doc * 2654435761u) >> 16) % USJ_HIT_CACHE_SLOTS;
}

static const pentry *pcache_get(hcache *c, const usj_index *idx, uint32_t doc)
{
    if (!c)
        return NULL;
    const pentry *e = &c->p[slot_of(doc)];
    return e->serial == idx->serial && e->doc == doc ? e : NULL;
}

/* Keep a copy of the text and its analysis (nothing happens when it does
 * not fit the budget or memory is short: the cache is an optimisation). */
static void pcache_put(hcache *c, const usj_index *idx, uint32_t doc,
                       const char *text, size_t len, const usj_analysis *an)
{
    if (!c || len > USJ_HIT_CACHE_MAX_TEXT)
        return;
    size_t strs = 0;
    for (size_t i = 0; i < an->ntokens; i++)
        strs += (size_t)an->tokens[i].term_len + an->tokens[i].norm_len + 2;
    size_t bytes = an->ntokens * sizeof(usj_token) +
                   an->nnumbers * sizeof(usj_number) + len + 1 + strs;
    pentry *e = &c->p[slot_of(doc)];
    if (c->bytes - e->bytes + bytes > USJ_HIT_CACHE_BYTES)
        return;
    char *mem = malloc(bytes ? bytes : 1);
    if (!mem)
        return;
    usj_token *tk = (usj_token *)mem;
    usj_number *nm = (usj_number *)(tk + an->ntokens);
    char *sp = (char *)(nm + an->nnumbers);
    if (an->ntokens)
        memcpy(tk, an->tokens, an->ntokens * sizeof *tk);
    if (an->nnumbers)
        memcpy(nm, an->numbers, an->nnumbers * sizeof *nm);
    memcpy(sp, text, len);
    sp[len] = '\0';
    const char *t = sp;
    sp += len + 1;
    for (size_t i = 0; i < an->ntokens; i++) {
        memcpy(sp, an->tokens[i].term, tk[i].term_len + 1);
        tk[i].term = sp;
        sp += tk[i].term_len + 1;
        memcpy(sp, an->tokens[i].norm, tk[i].norm_len + 1);
        tk[i].norm = sp;
        sp += tk[i].norm_len + 1;
    }
    free(e->mem);
    c->bytes = c->bytes - e->bytes + bytes;
    e->serial = idx->serial;
    e->doc = doc;
    e->bytes = bytes;
    e->mem = mem;
    e->text = t;
    e->text_len = len;
    e->an = (usj_analysis){ tk, an->ntokens, nm, an->nnumbers, an->ninvalid };
}

/* usj_index_term through the memo: 0 found, USJ_ENOTFOUND, or an error. */
static int term_lookup(const usj_index *idx, const char *term,
                       usj_term_info *ti)
{
    size_t len = strlen(term);
    hcache *c = len <= USJ_MAX_TOKEN_BYTES ? hc_get() : NULL;
    if (!c)
        return usj_index_term(idx, term, len, ti);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)term[i]) * 16777619u;
    tmemo *m = &c->t[h % TERM_MEMO_SLOTS];
    if (m->serial == idx->serial && strcmp(m->term, term) == 0) {
        *ti = m->ti;
        return m->found ? 0 : USJ_ENOTFOUND;
    }
    int rc = usj_index_term(idx, term, len, ti);
    if (rc != 0 && rc != USJ_ENOTFOUND)
        return rc;
    m->serial = idx->serial;
    m->found = rc == 0;
    memcpy(m->term, term, len + 1);
    if (rc == 0)
        m->ti = *ti;
    return rc;
}

typedef struct spanv {
    usj_span *s;
    size_t    n, cap;
} spanv;

static int span_add(spanv *v, uint32_t a, uint32_t b, uint32_t kind)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        usj_span *ns = realloc(v->s, nc * sizeof *ns);
        if (!ns)
            return nomem();
        v->s = ns;
        v->cap = nc;
    }
    v->s[v->n++] = (usj_span){a, b, kind};
    return 0;
}

static const pexp *find_pexp(const sctx *cx, const qnode *q)
{
    for (size_t i = 0; i < cx->npx; i++)
        if (cx->px[i].q == q)
            return &cx->px[i];
    return NULL;
}

/* Occurrences of a phrase in an analysis; adds spans when v is non-NULL. */
static uint32_t phrase_occ(const usj_analysis *an, const qnode *q, spanv *v,
                           int *err)
{
    uint32_t n = 0;
    size_t len0 = strlen(q->terms[0]);
    for (size_t i = 0; i < an->ntokens; i++) {
        if (an->tokens[i].term_len != len0 ||
            memcmp(an->tokens[i].term, q->terms[0], len0) != 0)
            continue;
        uint32_t k;
        size_t last = i;
        for (k = 1; k < q->nterms; k++) {
            /* tokens are in position order, one per position */
            size_t j = i + q->relpos[k];
            if (j >= an->ntokens ||
                an->tokens[j].pos != an->tokens[i].pos + q->relpos[k] ||
                strcmp(an->tokens[j].term, q->terms[k]) != 0)
                break;
            last = j;
        }
        if (k < q->nterms)
            continue;
        n++;
        if (v && span_add(v, an->tokens[i].start, an->tokens[last].end,
                          USJ_SPAN_PHRASE))
            *err = USJ_ENOMEM;
    }
    return n;
}

static uint32_t term_tf(const usj_analysis *an, const char *term, spanv *v,
                        int *err)
{
    uint32_t n = 0;
    size_t len = strlen(term);
    for (size_t i = 0; i < an->ntokens; i++)
        if (an->tokens[i].term_len == len && an->tokens[i].term[0] == term[0] &&
            memcmp(an->tokens[i].term, term, len) == 0) {
            n++;
            if (v && span_add(v, an->tokens[i].start, an->tokens[i].end,
                              USJ_SPAN_TERM))
                *err = USJ_ENOMEM;
        }
    return n;
}

static int ex_line(usj_buf *e, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ex_line(usj_buf *e, int depth, const char *fmt, ...)
{
    if (!e)
        return 0;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return usj_buf_printf(e, "%*s%s\n", 2 * depth, "", tmp);
}

static double ex_term(sctx *cx, const usj_analysis *an, const char *term,
                      const usj_term_info *known, uint32_t dl, spanv *v,
                      usj_buf *e, int depth, int *err)
{
    uint32_t tf = term_tf(an, term, v, err);
    usj_term_info ti;
    if (known)
        ti = *known;
    else if (term_lookup(cx->idx, term, &ti) != 0)
        ti.df = 0;
    if (ti.df == 0) {
        ex_line(e, depth, "term \"%s\": not in the index", term);
        return 0;
    }
    double idf = usj_rank_idf(cx->ndocs, ti.df);
    double s = usj_rank_bm25(usj_rank_weight(idf), tf, dl, cx->avgdl);
    if (e && (tf > 0 || !known))
        ex_line(e, depth, "term \"%s\": tf %u, df %u, idf %.4f -> %.4f", term,
                tf, ti.df, idf, s);
    return s;
}

/* Walks the positive part of the tree for one hit: spans, explanation and
 * score of the parts that match (*m), like the iterators score them: an OR
 * counts only its matching kids, whose spans and lines are kept. */
static double walk_hit(sctx *cx, const qnode *q, const usj_analysis *an,
                       const usj_doc_info *di, spanv *v, usj_buf *e,
                       int depth, int *err, int *m)
{
    double s = 0;
    uint32_t dl = di->length;
    *m = 0;
    switch (q->kind) {
    case QN_TERM:
        s = ex_term(cx, an, q->terms[0], NULL, dl, v, e, depth, err);
        *m = s > 0;
        return s;
    case QN_PHRASE: {
        uint32_t f = phrase_occ(an, q, v, err);
        *m = f > 0;
        double idf = 0;
        int missing = 0;
        for (uint32_t i = 0; i < q->nterms; i++) {
            usj_term_info ti;
            if (term_lookup(cx->idx, q->terms[i], &ti))
                missing = 1;
            else
                idf += usj_rank_idf(cx->ndocs, ti.df);
        }
        if (missing)
            return 0;
        s = usj_rank_bm25(usj_rank_weight(idf), f, dl, cx->avgdl);
        if (e) {
            usj_buf t = USJ_BUF_INIT;
            for (uint32_t i = 0; i < q->nterms; i++)
                usj_buf_printf(&t, "%s%s", i ? " " : "", q->terms[i]);
            ex_line(e, depth, "phrase \"%s\": freq %u, idf %.4f (sum of its "
                    "terms) -> %.4f", t.data ? t.data : "", f, idf, s);
            usj_buf_free(&t);
        }
        return s;
    }
    case QN_PREFIX: {
        const pexp *px = find_pexp(cx, q);
        if (!px)
            return 0;
        if (e) {
            if (px->found > px->n)
                ex_line(e, depth, "prefix %s*: %llu dictionary terms, only "
                        "the %u most frequent searched (USJ_MAX_PREFIX_TERMS)",
                        q->text,
                        (unsigned long long)px->found, px->n);
            else
                ex_line(e, depth, "prefix %s*: expands to %u term%s", q->text,
                        px->n, px->n == 1 ? "" : "s");
        }
        for (uint32_t i = 0; i < px->n; i++)
            s += ex_term(cx, an, px->terms[i], &px->infos[i], dl, v, e,
                         depth + 1, err);
        *m = s > 0;
        return s;
    }
    case QN_RANGE: {
        int hit = 0;
        for (size_t i = 0; i < an->nnumbers; i++) {
            const usj_number *nm = &an->numbers[i];
            if (qn_range_match(q, nm->type, usj_query_scale(nm->value))) {
                hit = *m = 1;
                if (v && span_add(v, nm->start, nm->end, USJ_SPAN_NUMBER))
                    *err = USJ_ENOMEM;
            }
        }
        if (e) {
            usj_query tmp = {(qnode *)q, 1};
            usj_buf t = USJ_BUF_INIT;
            usj_query_dump(&tmp, &t);
            ex_line(e, depth, "range %s: %s, no score", t.data ? t.data : "",
                    hit ? "matches" : "no match");
            usj_buf_free(&t);
        }
        return 0;
    }
    case QN_FILE:
        *m = usj_query_glob_match(q->text, di->path);
        ex_line(e, depth, "file:%s: %s, no score", q->text,
                *m ? "matches" : "no match");
        return 0;
    case QN_TITLE: {
        int r = usj_qhit_title_match(cx, q, di->title);
        if (r < 0)
            *err = r;
        *m = r > 0;
        ex_line(e, depth, "title:%s%s: %s, no score", q->terms[0],
                q->nterms > 1 ? " ..." : "", *m ? "matches" : "no match");
        return 0;
    }
    case QN_AND:
    case QN_OR: {
        int and = q->kind == QN_AND;
        ex_line(e, depth, "%s", and ? "all of:" : "any of:");
        *m = and;
        for (uint32_t i = 0; i < q->nkids; i++) {
            if (q->kids[i]->kind == QN_NOT)
                continue;
            size_t vn = v ? v->n : 0, el = e ? e->len : 0;
            int km = 0;
            double ks = walk_hit(cx, q->kids[i], an, di, v, e, depth + 1, err,
                                 &km);
            if (and) {
                s += ks;
                *m &= km;
            } else if (km) {
                s += ks;
                *m = 1;
            } else {                 /* a kid that does not match: drop it */
                if (v)
                    v->n = vn;
                if (e && e->data) {
                    e->len = el;
                    e->data[el] = 0;
                }
            }
        }
        return s;
    }
    default:
        return 0;
    }
}

int usj_qhit_build(sctx *cx, const usj_query *q, usj_textcache *tc,
                   uint32_t doc, double score, int explain, usj_hit *h)
{
    /* what a hit needs of the doc: path, title, line and length (not its
     * line count and offset, two more column reads) */
    usj_doc_info di;
    memset(&di, 0, sizeof di);
    const char *text;
    size_t len;
    int rc = usj_index_doc_line(cx->idx, doc, &di.path, &di.title, &di.line);
    if (rc)
        return rc;
    di.length = cx->doclens[doc];
    h->doc = doc;
    h->score = score;
    h->para_line = di.line;
    hcache *hc = hc_get();
    const pentry *pe = pcache_get(hc, cx->idx, doc);
    const usj_analysis *an;
    if (pe) {
        if ((rc = usj_hit_set_strings(h, di.path, di.title, pe->text,
                                      pe->text_len)))
            return rc;
        an = &pe->an;
    } else {
        if ((rc = usj_index_text(cx->idx, doc, tc, &text, &len)) ||
            (rc = usj_hit_set_strings(h, di.path, di.title, text, len)))
            return rc;
        if ((rc = need_an(cx, 0)) ||
            (rc = usj_analyze(cx->an, h->text, h->text_len, &an)))
            return rc;
        pcache_put(hc, cx->idx, doc, h->text, h->text_len, an);
    }
    spanv v = {0};
    usj_buf e = USJ_BUF_INIT;
    int err = 0;
    if (explain)
        usj_buf_printf(&e, "score %.6f (BM25 k1=%.1f b=%.2f; N %u, doc length "
                       "%u, avg %.2f)\n", score, USJ_BM25_K1, USJ_BM25_B,
                       cx->ndocs, di.length, cx->avgdl);
    int matched;
    walk_hit(cx, q->root, an, &di, &v, explain ? &e : NULL, 1, &err, &matched);
    if (err) {                   /* ENOMEM, or a title analysis error */
        free(v.s);
        usj_buf_free(&e);
        return err == USJ_ENOMEM ? nomem() : err;
    }
    h->nspans = usj_spans_normalize(v.s, v.n);
    h->spans = v.s;
    if (h->nspans && h->spans[0].start <= h->text_len)
        usj_hit_locate(h->text, h->text_len, di.line, h->spans[0].start,
                       &h->line, &h->column);
    else {
        h->line = di.line;
        h->column = 1;
    }
    if (explain) {
        if (!e.data)
            return nomem();
        e.len = e.len && e.data[e.len - 1] == '\n' ? e.len - 1 : e.len;
        e.data[e.len] = 0;
        h->explain = usj_buf_detach(&e, NULL);
    }
    return 0;
}

int usj_qhit_build_notext(sctx *cx, uint32_t doc, double score, usj_hit *h)
{
    const char *path, *title;
    uint32_t line;
    int rc = usj_index_doc_line(cx->idx, doc, &path, &title, &line);
    if (rc)
        return rc;
    h->doc = doc;
    h->score = score;
    h->para_line = h->line = line;
    h->column = 0;
    h->path = (char *)path;       /* borrowed: usj_results_pack copies them */
    h->title = (char *)title;
    return 0;
}
