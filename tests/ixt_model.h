/* tests/ixt_model.h — the brute-force model of an index for the index
 * tests: the same files split and analyzed directly with the analyzer, and
 * a full comparison of an opened index against it (every term's postings
 * and positions, docs, stored text, numbers, statistics, line lookups). */
#ifndef IXT_MODEL_H
#define IXT_MODEL_H

#include <math.h>

#include "ixt_fixture.h"

typedef struct ixt_occ { char *term; uint32_t doc, pos; } ixt_occ;
typedef struct ixt_doc {
    const char *path;
    char *title, *text;
    size_t tlen;
    uint32_t line, nlines, len;
    uint64_t off;
} ixt_doc;
typedef struct ixt_num { int type; int64_t v; uint32_t doc; } ixt_num;

typedef struct ixt_model {
    ixt_occ *o;   size_t no, co;
    ixt_doc *d;   size_t nd, cd;
    ixt_num *n;   size_t nn, cn;
    uint64_t total;
    usj_analyzer *an;
    const char *path;
    char *title;
} ixt_model;

#define IXT_PUSH(arr, n, cap) \
    do { if ((n) == (cap)) { (cap) = (cap) ? (cap) * 2 : 256; \
         (arr) = realloc((arr), (cap) * sizeof *(arr)); } } while (0)

static inline int ixt_model_para(void *ctx, const usj_para *p)
{
    ixt_model *m = ctx;
    const usj_analysis *a;
    cr_assert_eq(usj_analyze(m->an, p->text, p->len, &a), 0);
    uint32_t doc = (uint32_t)m->nd;
    IXT_PUSH(m->d, m->nd, m->cd);
    ixt_doc *d = &m->d[m->nd++];
    d->path = m->path;
    d->title = m->title;
    d->text = malloc(p->len + 1);
    memcpy(d->text, p->text, p->len);
    d->tlen = p->len;
    d->line = p->line;
    d->nlines = p->nlines;
    d->off = p->offset;
    d->len = (uint32_t)a->ntokens;
    m->total += a->ntokens;
    for (size_t i = 0; i < a->ntokens; i++) {
        IXT_PUSH(m->o, m->no, m->co);
        m->o[m->no++] = (ixt_occ){strndup(a->tokens[i].term, a->tokens[i].term_len),
                                  doc, a->tokens[i].pos};
    }
    for (size_t i = 0; i < a->nnumbers; i++) {
        IXT_PUSH(m->n, m->nn, m->cn);
        m->n[m->nn++] = (ixt_num){(int)a->numbers[i].type,
                                  llround(a->numbers[i].value * USJ_NUM_SCALE), doc};
    }
    return 0;
}

static inline int ixt_cmp_occ(const void *a, const void *b)
{
    const ixt_occ *x = a, *y = b;
    int r = strcmp(x->term, y->term);
    if (r)
        return r;
    if (x->doc != y->doc)
        return x->doc < y->doc ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static inline void ixt_model_build(ixt_model *m, char **paths)
{
    memset(m, 0, sizeof *m);
    cr_assert_eq(usj_analyzer_new(&m->an, 0), 0);
    for (size_t i = 0; paths[i]; i++) {
        size_t n, sl, ninv;
        char *data = ixt_slurp(paths[i], &n), *s = NULL;
        cr_assert_eq(usj_utf8_sanitize(data, n, &s, &sl, &ninv), 0);
        const char *t;
        size_t tl;
        int mid = usj_para_title(s, sl, &t, &tl);
        m->path = paths[i];
        m->title = malloc(tl + sizeof USJ_TITLE_CUT);
        cr_assert_not_null(m->title);
        memcpy(m->title, t, tl);
        strcpy(m->title + tl, mid ? USJ_TITLE_CUT : "");
        usj_para_split(s, sl, USJ_SPLIT_AUTO, ixt_model_para, m);
        free(s);
        free(data);
    }
    qsort(m->o, m->no, sizeof *m->o, ixt_cmp_occ);
}

static inline void ixt_model_free(ixt_model *m)
{
    for (size_t i = 0; i < m->no; i++)
        free(m->o[i].term);
    const char *prev = NULL;
    for (size_t i = 0; i < m->nd; i++) {
        free(m->d[i].text);
        if (m->d[i].title != prev)
            free(m->d[i].title);
        prev = m->d[i].title;
    }
    free(m->o);
    free(m->d);
    free(m->n);
    usj_analyzer_free(m->an);
}

static inline int ixt_count_cb(void *ctx, const char *t, size_t l, const usj_term_info *ti)
{
    (void)t; (void)l; (void)ti;
    (*(size_t *)ctx)++;
    return 0;
}

static inline int ixt_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Docs of numbers of type t within [lo, hi], by brute force. */
static inline size_t ixt_model_range(const ixt_model *m, int t, int64_t lo, int64_t hi,
                                     uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < m->nn; i++)
        if (m->n[i].type == t && m->n[i].v >= lo && m->n[i].v <= hi)
            out[k++] = m->n[i].doc;
    qsort(out, k, sizeof *out, ixt_cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || out[u - 1] != out[i])
            out[u++] = out[i];
    return u;
}

static inline void ixt_model_check(const ixt_model *m, const usj_index *idx)
{
    usj_index_stats st;
    usj_index_stats_get(idx, &st);
    cr_assert_eq(usj_index_ndocs(idx), m->nd);
    cr_assert_eq(st.docs, m->nd);
    cr_assert_eq(st.total_length, m->total);
    cr_assert_eq(st.positions, m->no);
    cr_assert_float_eq(usj_index_avglen(idx), (double)m->total / m->nd, 1e-9);
    const uint32_t *lens = usj_index_doclens(idx);
    /* docs, text, line lookups */
    usj_textcache tc = USJ_TEXTCACHE_INIT;
    for (uint32_t d = 0; d < m->nd; d++) {
        const ixt_doc *e = &m->d[d];
        usj_doc_info di;
        cr_assert_eq(usj_index_doc(idx, d, &di), 0);
        cr_assert_str_eq(di.path, e->path);
        cr_assert_str_eq(di.title, e->title);
        cr_assert_eq(di.line, e->line, "doc %u line %u != %u", d, di.line, e->line);
        cr_assert_eq(di.nlines, e->nlines);
        cr_assert_eq(di.offset, e->off);
        cr_assert_eq(di.length, e->len);
        cr_assert_eq(lens[d], e->len);
        const char *t;
        size_t tl;
        cr_assert_eq(usj_index_text(idx, d, &tc, &t, &tl), 0);
        cr_assert_eq(tl, e->tlen, "doc %u text length", d);
        cr_assert(memcmp(t, e->text, tl) == 0, "doc %u text differs", d);
        uint32_t found;
        for (uint32_t k = 0; k < e->nlines; k++) {
            cr_assert_eq(usj_index_find_line(idx, e->path, e->line + k, &found), 0);
            cr_assert_eq(found, d);
        }
    }
    /* random access order for the text cache */
    for (uint32_t k = 0; k < 50 && m->nd; k++) {
        uint32_t d = (uint32_t)((k * 2654435761u) % m->nd);
        const char *t;
        size_t tl;
        cr_assert_eq(usj_index_text(idx, d, &tc, &t, &tl), 0);
        cr_assert_eq(tl, m->d[d].tlen);
        cr_assert(memcmp(t, m->d[d].text, tl) == 0);
    }
    usj_textcache_free(&tc);
    /* every term */
    size_t nterms = 0, npostings = 0;
    for (size_t i = 0; i < m->no;) {
        size_t j = i;
        while (j < m->no && strcmp(m->o[j].term, m->o[i].term) == 0)
            j++;
        const char *term = m->o[i].term;
        usj_term_info ti;
        cr_assert_eq(usj_index_term(idx, term, strlen(term), &ti), 0, "term '%s' missing", term);
        usj_postings *p;
        cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
        uint32_t df = 0, max_tf = 0, min_len = UINT32_MAX;
        for (size_t k = i; k < j;) {
            size_t e = k;
            while (e < j && m->o[e].doc == m->o[k].doc)
                e++;
            uint32_t doc = m->o[k].doc, tf = (uint32_t)(e - k);
            cr_assert_eq(usj_postings_next(p), doc, "term '%s': doc", term);
            cr_assert_eq(usj_postings_doc(p), doc);
            cr_assert_eq(usj_postings_freq(p), tf, "term '%s' doc %u: tf", term, doc);
            const uint32_t *pos;
            uint32_t np;
            cr_assert_eq(usj_postings_positions(p, &pos, &np), 0);
            cr_assert_eq(np, tf);
            for (uint32_t q = 0; q < np; q++)
                cr_assert_eq(pos[q], m->o[k + q].pos, "term '%s' doc %u: position", term, doc);
            uint32_t last, btf, blen;
            usj_postings_block(p, &last, &btf, &blen);
            cr_assert_geq(last, doc);
            cr_assert_geq(btf, tf);
            cr_assert_leq(blen, m->d[doc].len);
            df++;
            if (tf > max_tf) max_tf = tf;
            if (m->d[doc].len < min_len) min_len = m->d[doc].len;
            k = e;
        }
        cr_assert_eq(usj_postings_next(p), USJ_DOC_END);
        usj_postings_free(p);
        cr_assert_eq(ti.df, df);
        cr_assert_eq(ti.cf, j - i);
        cr_assert_eq(ti.max_tf, max_tf);
        cr_assert_eq(ti.min_len, min_len);
        nterms++;
        npostings += df;
        i = j;
    }
    cr_assert_eq(st.terms, nterms);
    cr_assert_eq(st.postings, npostings);
    size_t counted = 0;
    cr_assert_eq(usj_index_prefix(idx, "", 0, ixt_count_cb, &counted), 0);
    cr_assert_eq(counted, nterms);
    /* numbers: whole tables and random ranges */
    uint32_t *want = malloc((m->nn + 1) * sizeof *want);
    uint64_t seed = 7;
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        uint64_t cnt = 0;
        for (size_t i = 0; i < m->nn; i++)
            cnt += m->n[i].type == t;
        cr_assert_eq(st.numbers[t], cnt, "numbers of type %d", t);
        for (int r = 0; r < 40; r++) {
            int64_t lo, hi;
            if (r == 0) {
                lo = INT64_MIN;
                hi = INT64_MAX;
            } else if (m->nn && r < 20) {
                lo = m->n[ixt_rand(&seed) % m->nn].v;
                hi = m->n[ixt_rand(&seed) % m->nn].v;
            } else {
                lo = (int64_t)(ixt_rand(&seed) % 3000000) - 1000;
                hi = lo + (int64_t)(ixt_rand(&seed) % 1000000000);
            }
            uint32_t *got;
            size_t ng;
            cr_assert_eq(usj_index_numrange(idx, (usj_numtype)t, lo, hi, &got, &ng), 0);
            size_t nw = lo <= hi ? ixt_model_range(m, t, lo, hi, want) : 0;
            cr_assert_eq(ng, nw, "type %d range [%lld, %lld]: %zu docs, want %zu", t,
                         (long long)lo, (long long)hi, ng, nw);
            for (size_t k = 0; k < ng; k++)
                cr_assert_eq(got[k], want[k]);
            free(got);
        }
    }
    free(want);
    cr_assert_eq(usj_index_check(idx), 0, "check: %s", usj_error_last());
}

#endif
