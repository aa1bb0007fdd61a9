/* tests/test_differential.c — usj_search against a brute force: every
 * paragraph's stored text is re-analyzed with the same analyzer and each
 * random query tree (lib/query_int.h) is evaluated directly on it, scoring
 * with BM25 from first principles. Hundreds of random queries (words, AND /
 * OR / NOT, phrases, prefixes, ranges, file:, title:) over the seeds and
 * over a generated corpus (deterministic PRNG, ~3000 paragraphs): the result
 * set, the total, every score, and the pruned top 10 must agree. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "query_fixture.h"
#include "query_int.h"
#include "rank.h"
#include "usj/usj.h"

/* ------------------------------------------------------------ corpus */

typedef struct bnum {
    usj_numtype t;
    int64_t     v;
} bnum;

typedef struct bdoc {
    uint32_t  ntok, nnum, file;
    uint32_t *tid, *pos;
    char    **norm;      /* folded unstemmed forms (query material) */
    bnum     *num;
    char     *path;
} bdoc;

typedef struct bfile {
    char     *path;
    char     *src;       /* the file as indexed (to check line/column) */
    size_t    srclen;
    uint32_t  ntok;
    uint32_t *tid, *pos;
    char    **norm;
} bfile;

typedef struct corpus {
    char       dir[512];
    char      *srcdir;    /* where the indexed paths are, or NULL */
    usj_index *idx;
    uint32_t   ndocs, nfiles;
    bdoc      *docs;
    bfile     *files;
    char     **terms;     /* vocabulary by id */
    uint32_t  *df;
    uint32_t   nterms, cap;
    uint32_t  *hash;      /* open addressing: id + 1, 0 = empty */
    uint32_t   hcap;
    const uint32_t *doclens;
    double     avgdl;
} corpus;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static int64_t vocab_find(const corpus *C, const char *t)
{
    if (C->hcap == 0)
        return -1;
    for (uint64_t h = fnv(t) & (C->hcap - 1);; h = (h + 1) & (C->hcap - 1)) {
        uint32_t e = C->hash[h];
        if (e == 0)
            return -1;
        if (strcmp(C->terms[e - 1], t) == 0)
            return e - 1;
    }
}

static uint32_t vocab_add(corpus *C, const char *t)
{
    int64_t f = vocab_find(C, t);
    if (f >= 0)
        return (uint32_t)f;
    if (C->nterms * 2 >= C->hcap) {
        uint32_t nc = C->hcap ? C->hcap * 2 : 1024;
        uint32_t *nh = calloc(nc, sizeof *nh);
        cr_assert_not_null(nh);
        for (uint32_t i = 0; i < C->nterms; i++) {
            uint64_t h = fnv(C->terms[i]) & (nc - 1);
            while (nh[h])
                h = (h + 1) & (nc - 1);
            nh[h] = i + 1;
        }
        free(C->hash);
        C->hash = nh;
        C->hcap = nc;
    }
    if (C->nterms == C->cap) {
        C->cap = C->cap ? C->cap * 2 : 1024;
        C->terms = realloc(C->terms, C->cap * sizeof *C->terms);
        C->df = realloc(C->df, C->cap * sizeof *C->df);
        cr_assert(C->terms && C->df);
    }
    C->terms[C->nterms] = strdup(t);
    C->df[C->nterms] = 0;
    uint64_t h = fnv(t) & (C->hcap - 1);
    while (C->hash[h])
        h = (h + 1) & (C->hcap - 1);
    C->hash[h] = C->nterms + 1;
    return C->nterms++;
}

static void load_tokens(corpus *C, const usj_analysis *a, uint32_t *n,
                        uint32_t **tid, uint32_t **pos, char ***norm)
{
    *n = (uint32_t)a->ntokens;
    *tid = calloc(a->ntokens + 1, sizeof **tid);
    *pos = calloc(a->ntokens + 1, sizeof **pos);
    *norm = calloc(a->ntokens + 1, sizeof **norm);
    for (size_t i = 0; i < a->ntokens; i++) {
        (*tid)[i] = vocab_add(C, a->tokens[i].term);
        (*pos)[i] = a->tokens[i].pos;
        (*norm)[i] = strdup(a->tokens[i].norm);
    }
}

/* Re-analyze every stored paragraph and every title. */
static void corpus_load(corpus *C, const char *idx_path)
{
    cr_assert_eq(usj_index_open(&C->idx, idx_path, 0), 0, "%s", usj_error_last());
    usj_analyzer *an;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    C->ndocs = usj_index_ndocs(C->idx);
    C->nfiles = usj_index_nfiles(C->idx);
    C->doclens = usj_index_doclens(C->idx);
    C->avgdl = usj_index_avglen(C->idx);
    C->docs = calloc(C->ndocs, sizeof *C->docs);
    C->files = calloc(C->nfiles, sizeof *C->files);
    for (uint32_t f = 0; f < C->nfiles; f++) {
        const char *p, *t;
        cr_assert_eq(usj_index_file(C->idx, f, &p, &t), 0);
        C->files[f].path = strdup(p);
        char fp[2048];
        snprintf(fp, sizeof fp, "%s/%s", C->srcdir, p);
        C->files[f].src = fx_slurp(fp, &C->files[f].srclen);
        cr_assert_not_null(C->files[f].src, "%s", fp);
        const usj_analysis *a;
        cr_assert_eq(usj_analyze(an, t, strlen(t), &a), 0);
        load_tokens(C, a, &C->files[f].ntok, &C->files[f].tid,
                    &C->files[f].pos, &C->files[f].norm);
    }
    usj_textcache tc = USJ_TEXTCACHE_INIT;
    uint32_t *seen = calloc(1, sizeof *seen);
    uint32_t seencap = 0;
    for (uint32_t d = 0; d < C->ndocs; d++) {
        usj_doc_info di;
        const char *text;
        size_t len;
        cr_assert_eq(usj_index_doc(C->idx, d, &di), 0);
        cr_assert_eq(usj_index_text(C->idx, d, &tc, &text, &len), 0);
        bdoc *b = &C->docs[d];
        b->file = di.file;
        b->path = strdup(di.path);
        const usj_analysis *a;
        cr_assert_eq(usj_analyze(an, text, len, &a), 0);
        load_tokens(C, a, &b->ntok, &b->tid, &b->pos, &b->norm);
        b->nnum = (uint32_t)a->nnumbers;
        b->num = calloc(a->nnumbers + 1, sizeof *b->num);
        for (size_t i = 0; i < a->nnumbers; i++) {
            b->num[i].t = a->numbers[i].type;
            b->num[i].v = usj_query_scale(a->numbers[i].value);
        }
        /* document frequencies */
        if (seencap < C->nterms) {
            seen = realloc(seen, C->cap * sizeof *seen);
            memset(seen + seencap, 0xff, (C->cap - seencap) * sizeof *seen);
            seencap = C->cap;
        }
        for (uint32_t i = 0; i < b->ntok; i++)
            if (seen[b->tid[i]] != d) {
                seen[b->tid[i]] = d;
                C->df[b->tid[i]]++;
            }
    }
    free(seen);
    usj_textcache_free(&tc);
    usj_analyzer_free(an);
}

static void free_toks(uint32_t *tid, uint32_t *pos, char **norm, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(norm[i]);
    free(norm);
    free(tid);
    free(pos);
}

static void corpus_free(corpus *C)
{
    for (uint32_t d = 0; d < C->ndocs; d++) {
        free_toks(C->docs[d].tid, C->docs[d].pos, C->docs[d].norm,
                  C->docs[d].ntok);
        free(C->docs[d].num);
        free(C->docs[d].path);
    }
    for (uint32_t f = 0; f < C->nfiles; f++) {
        free_toks(C->files[f].tid, C->files[f].pos, C->files[f].norm,
                  C->files[f].ntok);
        free(C->files[f].path);
        free(C->files[f].src);
    }
    free(C->srcdir);
    for (uint32_t i = 0; i < C->nterms; i++)
        free(C->terms[i]);
    free(C->terms);
    free(C->df);
    free(C->hash);
    free(C->docs);
    free(C->files);
    usj_index_unref(C->idx);
    fx_rmdir(C->dir);
}

/* ------------------------------------------------------- brute force */

typedef struct pexpand {
    const qnode *q;
    uint32_t    *ids;
    uint32_t     n;
} pexpand;

typedef struct bq {
    corpus  *C;
    pexpand  px[USJ_MAX_QUERY_CLAUSES];
    uint32_t npx;
    int      too_wide;   /* a prefix past USJ_MAX_PREFIX_TERMS */
} bq;

static int starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static void expand_prefixes(bq *B, const qnode *q)
{
    if (q->kind == QN_PREFIX) {
        pexpand *e = &B->px[B->npx++];
        e->q = q;
        e->ids = calloc(B->C->nterms + 1, sizeof *e->ids);
        for (uint32_t i = 0; i < B->C->nterms; i++)
            if (starts(B->C->terms[i], q->text) ||
                (q->text2 && starts(B->C->terms[i], q->text2)))
                e->ids[e->n++] = i;
        if (e->n > USJ_MAX_PREFIX_TERMS)
            B->too_wide = 1;
    }
    for (uint32_t i = 0; i < q->nkids; i++)
        expand_prefixes(B, q->kids[i]);
}

static double bm25(const corpus *C, double idf, uint32_t tf, uint32_t d)
{
    return usj_rank_bm25(usj_rank_weight(idf), tf, C->doclens[d], C->avgdl);
}

static uint32_t phrase_count(const corpus *C, const uint32_t *tid,
                             const uint32_t *pos, uint32_t n, const qnode *q,
                             int *missing)
{
    int64_t ids[USJ_MAX_QUERY_CLAUSES];
    *missing = 0;
    for (uint32_t k = 0; k < q->nterms; k++)
        if ((ids[k] = vocab_find(C, q->terms[k])) < 0)
            *missing = 1;
    if (*missing)
        return 0;
    uint32_t f = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k;
        for (k = 0; k < q->nterms; k++) {
            /* find the token at pos[i] + relpos[k] */
            uint32_t want = pos[i] + q->relpos[k], j, hit = 0;
            for (j = i; j < n && pos[j] <= want; j++)
                if (pos[j] == want && tid[j] == (uint32_t)ids[k])
                    hit = 1;
            if (!hit)
                break;
        }
        if (k == q->nterms)
            f++;
    }
    return f;
}

static int bmatch(bq *B, const qnode *q, uint32_t d, double *score)
{
    const corpus *C = B->C;
    const bdoc *b = &C->docs[d];
    *score = 0;
    switch (q->kind) {
    case QN_TERM: {
        int64_t id = vocab_find(C, q->terms[0]);
        if (id < 0)
            return 0;
        uint32_t tf = 0;
        for (uint32_t i = 0; i < b->ntok; i++)
            tf += b->tid[i] == (uint32_t)id;
        *score = bm25(C, usj_rank_idf(C->ndocs, C->df[id]), tf, d);
        return tf > 0;
    }
    case QN_PHRASE: {
        int missing;
        uint32_t f = phrase_count(C, b->tid, b->pos, b->ntok, q, &missing);
        if (missing || f == 0)
            return 0;
        double idf = 0;
        for (uint32_t k = 0; k < q->nterms; k++)
            idf += usj_rank_idf(C->ndocs, C->df[vocab_find(C, q->terms[k])]);
        *score = bm25(C, idf, f, d);
        return 1;
    }
    case QN_PREFIX: {
        const pexpand *e = NULL;
        for (uint32_t i = 0; i < B->npx; i++)
            if (B->px[i].q == q)
                e = &B->px[i];
        int m = 0;
        for (uint32_t k = 0; k < e->n; k++) {
            uint32_t tf = 0;
            for (uint32_t i = 0; i < b->ntok; i++)
                tf += b->tid[i] == e->ids[k];
            if (tf) {
                m = 1;
                *score += bm25(C, usj_rank_idf(C->ndocs, C->df[e->ids[k]]),
                               tf, d);
            }
        }
        return m;
    }
    case QN_RANGE:
        for (uint32_t i = 0; i < b->nnum; i++)
            if (qn_range_match(q, b->num[i].t, b->num[i].v))
                return 1;
        return 0;
    case QN_FILE:
        return usj_query_glob_match(q->text, b->path);
    case QN_TITLE: {
        const bfile *f = &C->files[b->file];
        int missing;
        return phrase_count(C, f->tid, f->pos, f->ntok, q, &missing) > 0;
    }
    case QN_AND: {
        for (uint32_t i = 0; i < q->nkids; i++) {
            double s;
            if (q->kids[i]->kind == QN_NOT) {
                if (bmatch(B, q->kids[i]->kids[0], d, &s))
                    return 0;
                continue;
            }
            if (!bmatch(B, q->kids[i], d, &s))
                return 0;
            *score += s;
        }
        return 1;
    }
    case QN_OR: {
        int m = 0;
        for (uint32_t i = 0; i < q->nkids; i++) {
            double s;
            if (bmatch(B, q->kids[i], d, &s)) {
                m = 1;
                *score += s;
            }
        }
        return m;
    }
    default:
        cr_assert_fail("unexpected node %d", q->kind);
        return 0;
    }
}

typedef struct scored {
    double   s;
    uint32_t d;
} scored;

static int scored_cmp(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return x->d < y->d ? -1 : x->d > y->d;
}

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * (1.0 + fabs(a) + fabs(b));
}

/* The hit's line and column point at its first span in the source file. */
static void check_position(const corpus *C, const usj_hit *h, const char *qs)
{
    if (h->nspans == 0) {
        cr_assert_eq(h->line, h->para_line);
        cr_assert_eq(h->column, 1);
        return;
    }
    const bfile *f = &C->files[C->docs[h->doc].file];
    const char *p = f->src, *end = f->src + f->srclen;
    for (uint32_t l = 1; l < h->line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        cr_assert_not_null(nl, "[%s] line %u past the end of %s", qs, h->line,
                           f->path);
        p = nl + 1;
    }
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t linelen = (size_t)((eol ? eol : end) - p);
    cr_assert(h->column >= 1 && h->column <= linelen, "[%s] %s:%u column %u",
              qs, f->path, h->line, h->column);
    size_t n = h->spans[0].end - h->spans[0].start;
    if (n > linelen - (h->column - 1))
        n = linelen - (h->column - 1);
    cr_assert(memcmp(p + h->column - 1, h->text + h->spans[0].start, n) == 0,
              "[%s] %s:%u:%u does not hold the match", qs, f->path, h->line,
              h->column);
}

/* ------------------------------------------------------- query generator */

static uint32_t rnd(uint64_t *s, uint32_t n) { return (uint32_t)(fx_rand(s) % n); }

static const bdoc *rand_doc(const corpus *C, uint64_t *s)
{
    for (int tries = 0; tries < 100; tries++) {
        const bdoc *b = &C->docs[rnd(s, C->ndocs)];
        if (b->ntok > 0)
            return b;
    }
    return &C->docs[0];
}

static int plain_word(const char *w)
{
    if (!w[0])
        return 0;
    for (const char *p = w; *p; p++)
        if (strchr("\"()|*:$%<>- \t", *p))
            return 0;
    return strstr(w, "..") == NULL;
}

static void put_word(usj_buf *b, const char *w, uint64_t *s)
{
    if (rnd(s, 4) == 0) {          /* case must not matter */
        for (const char *p = w; *p; p++)
            usj_buf_putc(b, (char)toupper((unsigned char)*p));
    } else {
        usj_buf_puts(b, w);
    }
}

static void put_amount(usj_buf *b, usj_numtype t, int64_t v)
{
    double x = (double)v / USJ_NUM_SCALE;
    switch (t) {
    case USJ_NUM_MONEY:
        if (x >= 1e9)
            usj_buf_printf(b, "$%.3fb", x / 1e9);
        else
            usj_buf_printf(b, "$%.3f", x);
        break;
    case USJ_NUM_PERCENT:
        usj_buf_printf(b, "%.3f%%", x);
        break;
    default:
        usj_buf_printf(b, "%.3f", x);
        break;
    }
}

static void gen_leaf(const corpus *C, uint64_t *s, usj_buf *b)
{
    uint32_t r = rnd(s, 100);
    const bdoc *d = rand_doc(C, s);
    uint32_t i = rnd(s, d->ntok);
    if (r < 42) {
        if (plain_word(d->norm[i]))
            put_word(b, d->norm[i], s);
        else
            usj_buf_puts(b, "japan");
    } else if (r < 60) {
        uint32_t n = 2 + rnd(s, 2);
        usj_buf_putc(b, '"');
        for (uint32_t k = 0; k < n && i + k < d->ntok; k++) {
            if (k)
                usj_buf_putc(b, ' ');
            put_word(b, plain_word(d->norm[i + k]) ? d->norm[i + k] : "x", s);
        }
        usj_buf_putc(b, '"');
    } else if (r < 70) {
        const char *w = d->norm[i];
        size_t l = strlen(w);
        if (l >= 4 && plain_word(w) && isalpha((unsigned char)w[0])) {
            usj_buf_put(b, w, 3 + rnd(s, (uint32_t)l - 3));
            usj_buf_putc(b, '*');
        } else {
            usj_buf_puts(b, "sec*");
        }
    } else if (r < 84) {
        const bdoc *nd = NULL;
        for (int tries = 0; tries < 50 && !nd; tries++) {
            const bdoc *x = &C->docs[rnd(s, C->ndocs)];
            if (x->nnum)
                nd = x;
        }
        if (!nd) {
            usj_buf_puts(b, "2025..2030");
            return;
        }
        const bnum *n = &nd->num[rnd(s, nd->nnum)];
        int64_t w = n->v / 4 + 1;
        int64_t lo = n->v - (int64_t)rnd(s, 3) * w, hi = n->v + (int64_t)rnd(s, 3) * w;
        uint32_t form = rnd(s, 5);
        if (n->t == USJ_NUM_YEAR || n->t == USJ_NUM_COUNT || form == 4)
            usj_buf_printf(b, "%s:", usj_numtype_name(n->t));
        if (form == 0 || form == 4) {
            put_amount(b, n->t, lo);
            usj_buf_puts(b, "..");
            put_amount(b, n->t, hi);
        } else if (form == 1) {
            put_amount(b, n->t, lo);
            usj_buf_puts(b, "..");
        } else if (form == 2) {
            usj_buf_puts(b, "..");
            put_amount(b, n->t, hi);
        } else {
            if (n->t == USJ_NUM_YEAR || n->t == USJ_NUM_COUNT) {
                put_amount(b, n->t, lo);       /* year:2025 */
            } else {
                usj_buf_puts(b, ">=");
                put_amount(b, n->t, lo);
            }
        }
    } else if (r < 90) {
        const char *p = C->files[rnd(s, C->nfiles)].path;
        const char *base = strrchr(p, '/');
        base = base ? base + 1 : p;
        usj_buf_printf(b, "file:%.5s*", base);
    } else if (r < 95) {
        const bfile *f = &C->files[rnd(s, C->nfiles)];
        if (f->ntok && plain_word(f->norm[0]))
            usj_buf_printf(b, "title:%s", f->norm[rnd(s, f->ntok)]);
        else
            usj_buf_puts(b, "trade");
    } else {
        usj_buf_puts(b, "zzqxnotaword");
    }
}

static void gen_query(const corpus *C, uint64_t *s, usj_buf *b, int depth)
{
    uint32_t r = rnd(s, 100);
    if (r < 30 || depth > 2) {
        gen_leaf(C, s, b);
    } else if (r < 50) {
        gen_leaf(C, s, b);
        usj_buf_putc(b, ' ');
        gen_leaf(C, s, b);
    } else if (r < 65) {
        gen_leaf(C, s, b);
        usj_buf_puts(b, rnd(s, 2) ? " OR " : " | ");
        gen_leaf(C, s, b);
    } else if (r < 75) {
        gen_leaf(C, s, b);
        usj_buf_puts(b, rnd(s, 2) ? " -" : " NOT ");
        gen_leaf(C, s, b);
    } else if (r < 88) {
        usj_buf_putc(b, '(');
        gen_query(C, s, b, depth + 1);
        usj_buf_puts(b, ") OR (");
        gen_query(C, s, b, depth + 1);
        usj_buf_putc(b, ')');
    } else {
        gen_leaf(C, s, b);
        usj_buf_puts(b, " (");
        gen_query(C, s, b, depth + 1);
        usj_buf_puts(b, " OR ");
        gen_leaf(C, s, b);
        usj_buf_puts(b, ") -(");
        gen_leaf(C, s, b);
        usj_buf_puts(b, ")");
    }
}

/* ------------------------------------------------------- the check */

typedef struct stats {
    unsigned queries, parsed, nonempty, topk_checked, skipped;
    unsigned bounded;     /* total_upto searches that reported a lower bound */
} stats;

static void check_query(corpus *C, usj_analyzer *an, const char *qs, stats *st)
{
    st->queries++;
    usj_query *q = NULL;
    if (usj_query_parse(&q, qs, strlen(qs), an) != 0) {
        st->skipped++;
        return;
    }
    st->parsed++;
    bq B = {0};
    B.C = C;
    expand_prefixes(&B, q->root);
    if (B.too_wide) {
        st->skipped++;
        goto out;
    }
    scored *want = calloc(C->ndocs + 1, sizeof *want);
    uint32_t nw = 0;
    for (uint32_t d = 0; d < C->ndocs; d++) {
        double sc;
        if (bmatch(&B, q->root, d, &sc)) {
            want[nw].s = sc;
            want[nw++].d = d;
        }
    }
    qsort(want, nw, sizeof *want, scored_cmp);
    double *by_doc = calloc(C->ndocs + 1, sizeof *by_doc);
    char *in = calloc(C->ndocs + 1, 1);
    for (uint32_t i = 0; i < nw; i++) {
        by_doc[want[i].d] = want[i].s;
        in[want[i].d] = 1;
    }
    /* everything: the exact set and every score */
    usj_search_opts o = {nw ? (nw < USJ_MAX_RESULTS ? nw : USJ_MAX_RESULTS) : 0,
                         0, 60000, 0, 0, 0};
    usj_results *r = NULL;
    cr_assert_eq(usj_search(&r, C->idx, q, &o), 0, "[%s]: %s", qs, usj_error_last());
    cr_assert_eq(r->total, nw, "[%s]: total %llu, brute force %u", qs,
                 (unsigned long long)r->total, nw);
    cr_assert_eq(r->nhits, o.limit);
    for (size_t i = 0; i < r->nhits; i++) {
        const usj_hit *h = &r->hits[i];
        cr_assert(in[h->doc], "[%s]: doc %u is not a match", qs, h->doc);
        check_position(C, h, qs);
        in[h->doc] = 0;   /* no duplicates */
        cr_assert(near(h->score, by_doc[h->doc]), "[%s]: doc %u score %.12g, "
                  "brute force %.12g", qs, h->doc, h->score, by_doc[h->doc]);
        cr_assert(near(h->score, want[i].s), "[%s]: rank %zu: doc %u %.12g, "
                  "brute force doc %u %.12g", qs, i, h->doc, h->score,
                  want[i].d, want[i].s);
    }
    usj_results_free(r);
    /* the pruned top 10 (and a page) */
    for (int pass = 0; pass < 2 && nw > 0; pass++) {
        usj_search_opts t = {pass ? 4 : 10, pass ? 3 : 0, 60000, 0, 0, 0};
        cr_assert_eq(usj_search(&r, C->idx, q, &t), 0, "[%s]", qs);
        cr_assert_eq(r->total, nw);
        size_t expect = nw > t.offset ? nw - t.offset : 0;
        if (expect > t.limit)
            expect = t.limit;
        cr_assert_eq(r->nhits, expect, "[%s] pass %d", qs, pass);
        for (size_t i = 0; i < r->nhits; i++) {
            const scored *w = &want[t.offset + i];
            cr_assert(r->hits[i].doc == w->d || near(r->hits[i].score, w->s),
                      "[%s] top rank %zu: doc %u (%.12g) vs brute force doc %u "
                      "(%.12g)", qs, t.offset + i, r->hits[i].doc,
                      r->hits[i].score, w->d, w->s);
            cr_assert(near(r->hits[i].score, by_doc[r->hits[i].doc]));
        }
        /* the same page with a total-hits threshold: identical hits (doc,
         * score, order); the total exact below the threshold, else at
         * least the threshold and never above the truth */
        static const uint64_t upto[] = {1, 3, 50};
        for (size_t u = 0; u < sizeof upto / sizeof *upto; u++) {
            usj_results *e = NULL;
            usj_search_opts tu = t;
            tu.total_upto = upto[u];
            tu.flags = USJ_SEARCH_NOTEXT;
            cr_assert_eq(usj_search(&e, C->idx, q, &tu), 0, "[%s]", qs);
            cr_assert_eq(e->nhits, r->nhits, "[%s] upto %llu", qs,
                         (unsigned long long)upto[u]);
            for (size_t i = 0; i < e->nhits; i++) {
                cr_assert_eq(e->hits[i].doc, r->hits[i].doc, "[%s] upto %llu rank %zu",
                             qs, (unsigned long long)upto[u], i);
                cr_assert(e->hits[i].score == r->hits[i].score, "[%s] upto %llu rank %zu",
                          qs, (unsigned long long)upto[u], i);
            }
            if (e->total_relation == USJ_TOTAL_EXACT) {
                cr_assert_eq(e->total, nw, "[%s] upto %llu", qs,
                             (unsigned long long)upto[u]);
            } else {
                cr_assert_eq(e->total_relation, USJ_TOTAL_AT_LEAST);
                cr_assert_geq(nw, upto[u], "[%s]: a bound below the threshold", qs);
                cr_assert_geq(e->total, upto[u], "[%s]", qs);
                cr_assert_leq(e->total, nw, "[%s]", qs);
                st->bounded++;
            }
            usj_results_free(e);
        }
        usj_results_free(r);
        st->topk_checked++;
    }
    if (nw)
        st->nonempty++;
    free(want);
    free(by_doc);
    free(in);
out:
    for (uint32_t i = 0; i < B.npx; i++)
        free(B.px[i].ids);
    usj_query_free(q);
}

static void run_random(corpus *C, uint64_t seed, unsigned n, stats *st)
{
    usj_analyzer *an;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    uint64_t s = seed;
    for (unsigned i = 0; i < n; i++) {
        usj_buf b = USJ_BUF_INIT;
        gen_query(C, &s, &b, 0);
        check_query(C, an, b.data, st);
        usj_buf_free(&b);
    }
    usj_analyzer_free(an);
}

static void check_doclens(const corpus *C)
{
    for (uint32_t d = 0; d < C->ndocs; d++)
        cr_assert_eq(C->doclens[d], C->docs[d].ntok,
                     "doc %u: index length %u, analyzer tokens %u", d,
                     C->doclens[d], C->docs[d].ntok);
}

/* ------------------------------------------------------- corpora */

static void seeds_corpus(corpus *C)
{
    memset(C, 0, sizeof *C);
    cr_assert_eq(fx_tmpdir(C->dir, sizeof C->dir), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/seeds.idx", C->dir);
    cr_assert_eq(fx_build_seeds(p), 0, "%s", usj_error_last());
    C->srcdir = strdup(fx_root());
    corpus_load(C, p);
}

static const char *gen_words[] = {
    "trade", "tariff", "tariffs", "steel", "steels", "alliance", "allied",
    "energy", "energies", "security", "secure", "securing", "invest",
    "investment", "investments", "investing", "chip", "chips",
    "semiconductor", "semiconductors", "market", "markets", "marketing",
    "growth", "grow", "growing", "policy", "policies", "nation", "national",
    "nations", "defense", "defence", "export", "exports", "exporting",
    "import", "imports", "agreement", "agreements", "agree", "clause",
    "clauses", "safety", "section", "treaty", "bank", "banks", "banking",
    "yen", "dollar", "dollars", "industry", "industries", "industrial",
    "supply", "supplies", "supplied", "chain", "chains", "deal", "deals",
    "summit", "minister", "ministers", "talk", "talks", "talking",
    "the", "of", "and", "to", "in", "a", "for", "on", "with", "by",
    "japan", "u.s.", "korea", "china", "europe", "pacific", "ocean",
    "ship", "ships", "shipping", "shipbuilding", "port", "ports",
    "critical", "mineral", "minerals", "rare", "earth", "auto", "autos",
    "automobile", "car", "cars", "vehicle", "vehicles", "plant", "plants",
    "job", "jobs", "worker", "workers", "wage", "wages", "price", "prices",
    "rate", "rates", "inflation", "budget", "fiscal", "quarter", "year",
    "don't", "japan's", "most-favored-nation", "f-150", "co-operation",
    "zeta", "zebra", "zenith", "zero", "zone", "zoning", "quasar", "quartz",
};

static void gen_file(uint64_t *s, usj_buf *b, unsigned fileno)
{
    const size_t nw = sizeof gen_words / sizeof *gen_words;
    usj_buf_printf(b, "Report %u on %s and %s\n\n", fileno,
                   gen_words[rnd(s, (uint32_t)nw)], gen_words[rnd(s, (uint32_t)nw)]);
    unsigned paras = 100 + rnd(s, 40);
    for (unsigned p = 0; p < paras; p++) {
        unsigned lines = rnd(s, 6) == 0 ? 3 : 1;   /* some wrapped blocks */
        for (unsigned l = 0; l < lines; l++) {
            size_t start = b->len;
            unsigned words = lines > 1 ? 8 : 6 + rnd(s, 30);
            for (unsigned w = 0; w < words; w++) {
                double u = (double)(fx_rand(s) >> 11) / 9007199254740992.0;
                size_t k = (size_t)((double)nw * pow(u, 2.2));
                if (k >= nw)
                    k = nw - 1;
                if (rnd(s, 25) == 0) {
                    switch (rnd(s, 5)) {
                    case 0: usj_buf_printf(b, "$%u billion ", 1 + rnd(s, 900)); break;
                    case 1: usj_buf_printf(b, "%u.%u%% ", rnd(s, 60), rnd(s, 10)); break;
                    case 2: usj_buf_printf(b, "in %u ", 1990 + rnd(s, 45)); break;
                    case 3: usj_buf_printf(b, "%u,%03u units ", 1 + rnd(s, 90), rnd(s, 1000)); break;
                    default: usj_buf_printf(b, "$%u trillion ", 1 + rnd(s, 5)); break;
                    }
                }
                usj_buf_puts(b, gen_words[k]);
                usj_buf_putc(b, w + 1 < words ? ' ' : '.');
            }
            /* wrapped blocks need lines of USJ_WRAP_MIN..MAX bytes */
            while (lines > 1 && l + 1 < lines && b->len - start < 40)
                usj_buf_puts(b, " trade");
            if (lines > 1 && l + 1 < lines && b->len - start > 95)
                b->len = start + 95, b->data[b->len] = 0;
            usj_buf_putc(b, '\n');
        }
        usj_buf_putc(b, '\n');
    }
}

static void generated_corpus(corpus *C, uint64_t seed, unsigned nfiles)
{
    memset(C, 0, sizeof *C);
    cr_assert_eq(fx_tmpdir(C->dir, sizeof C->dir), 0);
    char p[600];
    snprintf(p, sizeof p, "%s/gen.idx", C->dir);
    usj_writer *w = NULL;
    cr_assert_eq(usj_writer_open(&w, p, NULL), 0, "%s", usj_error_last());
    uint64_t s = seed;
    for (unsigned f = 0; f < nfiles; f++) {
        usj_buf b = USJ_BUF_INIT;
        gen_file(&s, &b, f);
        char name[64];
        snprintf(name, sizeof name, "f%03u.txt", f);
        char fp[700];
        snprintf(fp, sizeof fp, "%s/%s", C->dir, name);
        FILE *out = fopen(fp, "wb");
        cr_assert_not_null(out);
        cr_assert_eq(fwrite(b.data, 1, b.len, out), b.len);
        fclose(out);
        cr_assert_eq(usj_writer_add_file(w, name, b.data, b.len, NULL), 0,
                     "%s", usj_error_last());
        usj_buf_free(&b);
    }
    cr_assert_eq(usj_writer_commit(w, NULL), 0, "%s", usj_error_last());
    usj_writer_free(w);
    C->srcdir = strdup(C->dir);
    corpus_load(C, p);
}

/* ------------------------------------------------------- tests */

TestSuite(differential, .timeout = 600);

Test(differential, seeds_random_queries)
{
    corpus C;
    seeds_corpus(&C);
    check_doclens(&C);
    stats st = {0};
    run_random(&C, 0x5eed5eedull, 400, &st);
    cr_log_info("seeds: %u queries, %u parsed, %u with matches, %u skipped",
                st.queries, st.parsed, st.nonempty, st.skipped);
    cr_assert_geq(st.parsed, st.queries * 9 / 10);
    cr_assert_geq(st.nonempty, st.queries / 3);
    corpus_free(&C);
}

Test(differential, seeds_fixed_queries)
{
    corpus C;
    seeds_corpus(&C);
    usj_analyzer *an;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    static const char *qs[] = {
        "japan", "the", "tariff", "\"Section 232\"", "\"safety clause\"",
        "$1t..", "semiconductors", "semicond*", "japan -tariff",
        "steel OR energy", "japan (trade OR security) -china",
        "title:japan", "file:003* energy", "30%..40%", "2025..2030",
        "year:2025..2030 investment", "count:1m..", "U.S.-Japan",
        "most-favored-nation", "$500b..$600b", "..$20b", "<5%", ">2000",
        "the of and", "the OR of OR and", "\"the united states\"",
    };
    stats st = {0};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        check_query(&C, an, qs[i], &st);
    cr_assert_eq(st.parsed, st.queries);
    cr_assert_eq(st.skipped, 0);
    usj_analyzer_free(an);
    corpus_free(&C);
}

Test(differential, generated_random_queries)
{
    corpus C;
    generated_corpus(&C, 0xC0FFEEull, 24);
    cr_assert_gt(C.ndocs, 2500, "%u paragraphs", C.ndocs);
    check_doclens(&C);
    stats st = {0};
    run_random(&C, 0xABCDEFull, 300, &st);
    /* single common words: many postings blocks, the block-max path */
    usj_analyzer *an;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    static const char *qs[] = {"the", "of", "trade", "tariff", "japan",
                               "the OR trade", "the of", "\"the of\"",
                               "trad*", "the -trade", "$1t..",
                               "zeta OR zebra OR the"};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        check_query(&C, an, qs[i], &st);
    /* a 1 ms deadline on heavy queries: a result or USJ_ETIMEOUT, cleanly */
    static const char *heavy[] = {"the OR of OR and OR to OR in OR a",
                                  "\"the of\" OR \"of the\" OR t*"};
    for (int rep = 0; rep < 20; rep++) {
        usj_query *q = NULL;
        const char *h = heavy[rep % 2];
        cr_assert_eq(usj_query_parse(&q, h, strlen(h), an), 0);
        usj_search_opts o = {10, 0, 1, 0, 0, 0};
        usj_results *r = NULL;
        int rc = usj_search(&r, C.idx, q, &o);
        cr_assert(rc == 0 || rc == USJ_ETIMEOUT, "rc %d", rc);
        if (rc) {
            cr_assert_null(r);
            cr_assert_not_null(strstr(usj_error_last(), "timed out"));
        }
        usj_results_free(r);
        usj_query_free(q);
    }
    usj_analyzer_free(an);
    cr_log_info("generated: %u paragraphs, %u queries, %u parsed, %u with "
                "matches, %u skipped, %u lower-bound totals", C.ndocs,
                st.queries, st.parsed, st.nonempty, st.skipped, st.bounded);
    /* the threshold was crossed and the engine did skip: else the
     * comparison above tests nothing */
    cr_assert_geq(st.bounded, 50, "%u lower-bound totals", st.bounded);
    cr_assert_geq(st.parsed, st.queries * 9 / 10);
    cr_assert_geq(st.nonempty, st.queries / 3);
    corpus_free(&C);
}

/* Phrases of 3 and 4 words: the engine intersects the two rarest words
 * first and moves a more frequent word's list to a doc only where the
 * rarer words' positions leave a start. Phrases cut from the generated
 * text (so they occur), the same with their last word swapped for a
 * frequent one (their first words occur, the whole mostly not), and
 * frequent-word triples: results, totals and scores as the brute force. */
Test(differential, long_phrases_rarest_words_first)
{
    corpus C;
    generated_corpus(&C, 0x5EEDull, 12);
    usj_analyzer *an;
    cr_assert_eq(usj_analyzer_new(&an, 0), 0);
    stats st = {0};
    static const char *swap[] = {"the", "of", "and", "trade"};
    uint64_t s = 0x1234567ull;
    for (unsigned n = 0; n < 120; n++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const bdoc *b = &C.docs[(s >> 33) % C.ndocs];
        unsigned len = 3 + (unsigned)(s >> 20) % 2;
        if (b->ntok < len)
            continue;
        uint32_t at = (uint32_t)((s >> 40) % (b->ntok - len + 1));
        usj_buf q = USJ_BUF_INIT;
        usj_buf_putc(&q, '"');
        for (unsigned k = 0; k < len; k++) {
            if (k)
                usj_buf_putc(&q, ' ');
            usj_buf_puts(&q, n % 2 && k == len - 1 ? swap[(n / 2) % 4]
                                                   : b->norm[at + k]);
        }
        usj_buf_putc(&q, '"');
        usj_buf_putc(&q, '\0');
        check_query(&C, an, q.data, &st);
        usj_buf_free(&q);
    }
    static const char *qs[] = {"\"the of the\"", "\"of the trade\"",
                               "\"the trade of the\"", "\"and the of\"",
                               "\"tariff of the\" OR \"the of and\""};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        check_query(&C, an, qs[i], &st);
    cr_log_info("long phrases: %u queries, %u parsed, %u with matches",
                st.queries, st.parsed, st.nonempty);
    cr_assert_geq(st.nonempty, 60, "%u phrases matched", st.nonempty);
    usj_analyzer_free(an);
    corpus_free(&C);
}
