/* lib/query_eval.c — usj_search: evaluation of a parsed query (query_int.h)
 * over an open index, BM25 top-k with exact totals, and hit building.
 *
 * Plan: one iterator per tree node, all with advance(target) -> first
 * matching doc >= target. AND orders its positive kids by cost (df; ranges
 * by size; file:/title: filters last) and leapfrogs them with
 * usj_postings_advance (block skip data; its two first when terms, like a
 * phrase's two rarest, a block pair at a time), then checks its
 * exclusions. OR
 * takes the minimum of its kids. A phrase intersects its terms first (its
 * two rarest: the rest of their decoded blocks at once, window_meet) and
 * decodes positions only for docs holding all of them. A prefix is an OR of
 * its (at most USJ_MAX_PREFIX_TERMS most frequent) dictionary terms. Ranges
 * read the numeric index (usj_index_numrange); file:/title: test each doc's
 * file (cached per file).
 *
 * Top-k: a bounded heap of (score, doc), worst at the root; a doc enters only
 * when it beats the root (ties go to the smaller doc id, i.e. corpus order).
 * By default every match is counted, so `total` is exact; with
 * opts.total_upto = N, once N matches are counted and the heap is full, AND
 * (where many matches seem left: prune_pays) and phrase nodes get a
 * minimum competitive score (set_mc) and skip what
 * cannot beat it (leapfrog_bm: block-max runs, then the lead word's exact
 * bound per candidate), and an OR of terms whose longest list has N docs
 * reports that length: `total` becomes a lower bound (total_relation).
 * The hits are the same either way. Pruning: a single-term query
 * has total = df and decodes its blocks best first by upper bound (idf
 * times the block's largest term impact, stored in its skip entry), until
 * the best block left cannot beat the heap; an OR of terms (also a prefix)
 * runs MaxScore on per-list bounds (idf times the list's largest impact),
 * its threshold seeded before the walk from the docs of each list's best
 * block, and skips whole blocks, then docs, of the last essential list on
 * their bounds; other trees (AND, phrases) count every match but score one
 * only when the bound from its words' current blocks beats the heap (no
 * doc length read otherwise). Cursors whose docs are all scored
 * prefetch doc lengths ahead. USJ_SEARCH_NOPRUNE turns every such skip off
 * (the tests compare both ways).
 *
 * Work is bounded by a deadline checked every USJ_QUERY_CHECK_EVERY steps
 * (USJ_ETIMEOUT). Hits are built in lib/query_hits.c. */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "limits.h"
#include "query_eval_int.h"
#include "rank.h"
#include "results.h"
#include "usj/error.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef uint32_t (*adv_fn)(it *, uint32_t);

enum { IT_EMPTY, IT_TERM, IT_PHRASE, IT_AND, IT_OR, IT_LIST, IT_FILTER };

struct it {
    adv_fn        adv;
    int           kind;
    int           started;
    uint32_t      doc;
    double        ub;      /* upper bound of score() */
    double        mc;      /* with prune: a doc scoring <= mc here cannot
                              enter the heap, so this node may skip it */
    int           prune;   /* mc is set (total_upto reached, heap full) */
    uint64_t      cost;    /* docs it may produce (to order AND kids) */
    sctx         *cx;
    const qnode  *q;
    /* TERM */
    usj_postings *p;
    usj_term_info ti;
    double        w;       /* idf * (k1 + 1); phrases: summed idf */
    double        idf;
    /* PHRASE */
    uint32_t      pfreq;
    /* AND / OR / PHRASE (order: a phrase's kids by cost, for leapfrog) */
    it          **kids;
    it          **order;
    uint32_t      nkids;
    it          **neg;
    uint32_t      nneg;
    /* LIST (ranges) */
    uint32_t     *docs;
    size_t        ndocs, at;
    /* FILTER: per file: 0 unknown, 1 match, 2 no match */
    uint8_t      *fmatch;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Counts n steps of work; returns 1 (and marks the context) once the
 * deadline passed. The clock is read only when the count passes a multiple
 * of USJ_QUERY_CHECK_EVERY (a power of two: the bits above it change). */
_Static_assert((USJ_QUERY_CHECK_EVERY & (USJ_QUERY_CHECK_EVERY - 1)) == 0,
               "USJ_QUERY_CHECK_EVERY must be a power of two");
static inline int tick_n(sctx *cx, uint32_t n)
{
    uint32_t was = cx->work;
    cx->work += n;
    if ((was ^ cx->work) >= USJ_QUERY_CHECK_EVERY && now_ns() > cx->deadline_ns)
        cx->timed_out = 1;
    return cx->timed_out;
}

static inline int tick(sctx *cx)
{
    return tick_n(cx, 1);
}

static int nomem(void) { return usj_error_set(USJ_ENOMEM, "out of memory"); }

/* Small trees (nearly every query) take their iterators, the list of them
 * and their kid lists from usj_search's stack (cx->pool, cx->all_buf,
 * cx->abuf), and their first CUR_INLINE term cursors too (cx->cmem, 2.5 KB
 * each): no malloc. */
#define IT_INLINE 8
#define CUR_INLINE 4

static it *it_new(sctx *cx, int kind, const qnode *q)
{
    if (cx->nall == cx->capall) {
        size_t nc = cx->capall ? cx->capall * 2 : 16;
        it **na = cx->all == cx->all_buf ? malloc(nc * sizeof *na)
                                         : realloc(cx->all, nc * sizeof *na);
        if (!na)
            return NULL;
        if (cx->all == cx->all_buf && cx->nall)
            memcpy(na, cx->all_buf, cx->nall * sizeof *na);
        cx->all = na;
        cx->capall = nc;
    }
    it *t;
    if (cx->npool < cx->cappool) {
        t = &cx->pool[cx->npool++];
        memset(t, 0, sizeof *t);
    } else if (!(t = calloc(1, sizeof *t))) {
        return NULL;
    }
    t->kind = kind;
    t->cx = cx;
    t->q = q;
    cx->all[cx->nall++] = t;
    return t;
}

/* n zeroed iterator pointers (a node's kids, exclusions, order): from
 * usj_search's stack while it lasts (cx->abuf), else calloc'd. */
static it **it_list(sctx *cx, size_t n)
{
    if (n && n <= cx->capabuf - cx->nabuf) {
        it **a = cx->abuf + cx->nabuf;
        cx->nabuf += n;
        memset(a, 0, n * sizeof *a);
        return a;
    }
    return calloc(n ? n : 1, sizeof(it *));
}

static void it_list_free(sctx *cx, it **a)
{
    if (!(a >= cx->abuf && a < cx->abuf + cx->capabuf))
        free(a);
}

static void it_free(sctx *cx, it *t)
{
    usj_postings_free(t->p);
    it_list_free(cx, t->kids);
    it_list_free(cx, t->neg);
    it_list_free(cx, t->order);
    free(t->docs);
    free(t->fmatch);
    if (!(cx->pool && t >= cx->pool && t < cx->pool + cx->cappool))
        free(t);
}

/* ------------------------------------------------------------ advance */

static uint32_t adv_empty(it *t, uint32_t target)
{
    (void)target;
    t->started = 1;
    return t->doc = USJ_DOC_END;
}

/* A doc id past the end means a damaged index (opened without the CRC
 * pass): stop the list and report it rather than read out of bounds. */
static uint32_t bad_doc(sctx *cx, uint32_t d)
{
    if (!cx->err)
        cx->err = usj_error_set(USJ_ECORRUPT, "postings name doc %u of %u",
                                d, cx->ndocs);
    return USJ_DOC_END;
}

static inline uint32_t adv_term(it *t, uint32_t target)
{
    if (t->started && t->doc >= target)
        return t->doc;
    t->started = 1;
    uint32_t d = usj_postings_advance(t->p, target);
    if (d != USJ_DOC_END && d >= t->cx->ndocs)
        d = bad_doc(t->cx, d);
    return t->doc = d;
}

static uint32_t adv_list(it *t, uint32_t target)
{
    if (t->started && t->doc >= target)
        return t->doc;
    t->started = 1;
    size_t lo = t->at, hi = t->ndocs;
    /* gallop, then binary search */
    size_t step = 1;
    while (lo + step < hi && t->docs[lo + step] < target)
        step *= 2;
    if (lo + step < hi)
        hi = lo + step + 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->docs[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    t->at = lo;
    uint32_t d = lo < t->ndocs ? t->docs[lo] : USJ_DOC_END;
    if (d != USJ_DOC_END && d >= t->cx->ndocs)
        d = bad_doc(t->cx, d);
    return t->doc = d;
}


static int filter_file(it *t, uint32_t file, const char *path,
                       const char *title)
{
    uint8_t *m = &t->fmatch[file];
    if (*m == 0) {
        int ok = t->q->kind == QN_FILE ? usj_query_glob_match(t->q->text, path)
                                       : usj_qhit_title_match(t->cx, t->q, title);
        if (ok < 0) {
            t->cx->err = ok;
            ok = 0;
        }
        *m = ok ? 1 : 2;
    }
    return *m == 1;
}

/* The docs of a file are contiguous (docs/FORMAT.md), so a file that does
 * not match is skipped whole: binary search for its last doc. */
static uint32_t adv_filter(it *t, uint32_t target)
{
    if (t->started && t->doc >= target)
        return t->doc;
    t->started = 1;
    sctx *cx = t->cx;
    uint32_t d = target;
    while (d < cx->ndocs && !tick(cx)) {
        usj_doc_info di;
        if (usj_index_doc(cx->idx, d, &di) || di.file >= cx->nfiles)
            break;
        if (filter_file(t, di.file, di.path, di.title))
            return t->doc = d;
        uint32_t lo = d + 1, hi = cx->ndocs, f = di.file;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (usj_index_doc(cx->idx, mid, &di) == 0 && di.file == f)
                lo = mid + 1;
            else
                hi = mid;
        }
        d = lo;
    }
    return t->doc = USJ_DOC_END;
}

/* A kid's advance; plain terms (most kids) without the indirect call. */
static inline uint32_t kid_adv(it *k, uint32_t target)
{
    return k->kind == IT_TERM ? adv_term(k, target) : k->adv(k, target);
}

/* Moves kids[1..n) to d: returns d when all of them are on it, else the
 * first doc past d that one of them reached (USJ_DOC_END included). */
static inline uint32_t align_rest(it **kids, uint32_t n, uint32_t d)
{
    for (uint32_t i = 1; i < n; i++) {
        uint32_t e = kid_adv(kids[i], d);
        if (e != d)
            return e;
    }
    return d;
}

/* Leapfrog positive kids to a common doc >= target; USJ_DOC_END if none. */
static uint32_t leapfrog(it **kids, uint32_t n, uint32_t target, sctx *cx)
{
    uint32_t d = target;
    for (;;) {
        d = kid_adv(kids[0], d);
        if (d == USJ_DOC_END)
            return d;
        /* a match is bounded and scored from its length: fetched while
         * the other kids move there */
        __builtin_prefetch(cx->doclens + d);
        uint32_t e = align_rest(kids, n, d);
        if (e == d)
            return d;
        d = e;
        if (d == USJ_DOC_END || tick(cx))
            return USJ_DOC_END;
    }
}

/* First k >= j with w[k] >= u, where w ascends and is padded with
 * UINT32_MAX (usj_postings_window) and u < UINT32_MAX: steps of 8, then
 * the count of the 7 below u without branches (as usj_postings_advance). */
static inline uint32_t window_seek(const uint32_t *w, uint32_t j, uint32_t u)
{
    while (w[j + 7] < u)
        j += 8;
    return j + (w[j] < u) + (w[j + 1] < u) + (w[j + 2] < u) + (w[j + 3] < u) +
           (w[j + 4] < u) + (w[j + 5] < u) + (w[j + 6] < u);
}

/* The first doc in both wa[0..na) and wb[0..nb) (ascending, padded with
 * UINT32_MAX as usj_postings_window gives them): returns 1 with *pi, *pj
 * its places, or 0 with *pi >= na or *pj >= nb, the places where the
 * walk left each (every doc before them is below the other window's
 * docs from there on). Where one window is much denser, each doc of the
 * sparser one is sought in it (a's docs: the caller passes the sparser as
 * a); else both are walked 4 docs at a time: the 16 pairs of two fours
 * compared at once, and the four whose last doc is smaller (both when
 * equal) dropped without a branch (a step branch was mispredicted on a
 * large share of docs, whichever list it moved). */
static int window_meet(const uint32_t *wa, uint32_t na, const uint32_t *wb,
                       uint32_t nb, uint32_t *pi, uint32_t *pj)
{
    uint32_t i = 0, j = 0;
#ifdef __SSE2__
    if (nb <= 16 * na) {
        const __m128i pad = _mm_set1_epi32(-1);
        while (i < na && j < nb) {
            __m128i x = _mm_loadu_si128((const __m128i *)(wa + i));
            __m128i y = _mm_loadu_si128((const __m128i *)(wb + j));
            __m128i e = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi32(x, y),
                             _mm_cmpeq_epi32(x, _mm_shuffle_epi32(y, 0x39))),
                _mm_or_si128(_mm_cmpeq_epi32(x, _mm_shuffle_epi32(y, 0x4e)),
                             _mm_cmpeq_epi32(x, _mm_shuffle_epi32(y, 0x93))));
            /* the padding of both is no doc */
            e = _mm_andnot_si128(_mm_cmpeq_epi32(x, pad), e);
            int m = _mm_movemask_ps(_mm_castsi128_ps(e));
            if (m) {
                i += (uint32_t)__builtin_ctz((unsigned)m);
                uint32_t u = wa[i];
                *pi = i;
                *pj = j + (wb[j] < u) + (wb[j + 1] < u) + (wb[j + 2] < u);
                return 1;
            }
            /* each four's last doc (a short last four: its last real
             * one, so that a window ends only once all its docs are
             * below the other's) */
            uint32_t xl = wa[i + 3 < na ? i + 3 : na - 1];
            uint32_t yl = wb[j + 3 < nb ? j + 3 : nb - 1];
            i += (uint32_t)(xl <= yl) << 2;
            j += (uint32_t)(yl <= xl) << 2;
        }
        *pi = i;
        *pj = j;
        return 0;
    }
#endif
    for (; i < na; i++) {
        j = window_seek(wb, j, wa[i]);
        if (j >= nb || wb[j] == wa[i])
            break;
    }
    *pi = i;
    *pj = j;
    return i < na && j < nb;
}

/* leapfrog() of two terms (a the rarer): once both are in a block, the
 * rest of the two decoded blocks is intersected in place (window_meet),
 * without a call or a cursor move per doc; the cursors are moved (inside
 * their blocks) only to a match or where one block ends, and advance
 * loads the next blocks. */
static inline __attribute__((always_inline)) uint32_t
leapfrog2(it *a, it *b, uint32_t target, sctx *cx)
{
    uint32_t d = target;
    for (;;) {
        uint32_t x = adv_term(a, d);
        if (x == USJ_DOC_END)
            return x;
        __builtin_prefetch(cx->doclens + x);
        uint32_t y = adv_term(b, x);
        if (y == x || y == USJ_DOC_END)
            return y;
        const uint32_t *wa, *wb;
        uint32_t na = usj_postings_window(a->p, &wa);
        uint32_t nb = usj_postings_window(b->p, &wb);
        uint32_t i, j;
        int met = window_meet(wa, na, wb, nb, &i, &j);
        if (tick_n(cx, (i + j) / 4 + 1))
            return USJ_DOC_END;
        if (met) {
            usj_postings_forward(a->p, i);
            usj_postings_forward(b->p, j);
            a->doc = b->doc = wa[i];
            __builtin_prefetch(cx->doclens + wa[i]);
            return wa[i];
        }
        /* one block (or both) ended: the next target is past it */
        d = 0;
        if (i < na) {
            usj_postings_forward(a->p, i);
            a->doc = wa[i];
        } else {
            d = wa[na - 1] + 1;
        }
        if (j < nb) {
            usj_postings_forward(b->p, j);
            b->doc = wb[j];
        } else if (wb[nb - 1] + 1 > d) {
            d = wb[nb - 1] + 1;
        }
    }
}

/* leapfrog() where kids[0] and kids[1] are terms: those two by leapfrog2,
 * then the others moved to each doc they share. */
static uint32_t leapfrog_terms(it **kids, uint32_t n, uint32_t target, sctx *cx)
{
    uint32_t d = target;
    for (;;) {
        d = leapfrog2(kids[0], kids[1], d, cx);
        if (d == USJ_DOC_END)
            return d;
        uint32_t e = align_rest(kids + 1, n - 1, d);    /* kids[2..n) */
        if (e == d)
            return d;
        d = e;
        if (d == USJ_DOC_END || tick(cx))
            return USJ_DOC_END;
    }
}

static double shallow_ub(it *t, uint32_t target, uint32_t *upto);

/* Leapfrog with block-max skips (t->prune, t an AND or a phrase): before
 * the kids decode the blocks holding d, the bound of t over the docs up to
 * the nearest block end (skip data only) is compared with t->mc, and a run
 * that cannot beat it is skipped whole. Then each doc of the lead kid
 * (kids[0], decoded) is bounded before the other kids move: an AND adds a
 * lead term's exact score on d to the others' block bounds; a phrase
 * occurs at most tf(lead) times in d. The others' blocks stay undecoded
 * where no candidate survives. */
static uint32_t leapfrog_bm(it *t, it **kids, uint32_t n, uint32_t target)
{
    sctx *cx = t->cx;
    uint32_t d = target, upto = 0;
    double b = 0, rest = 0;        /* t's bound on [d, upto]; without kids[0] */
    int have = 0;
    int lead_term = kids[0]->kind == IT_TERM;
    /* the lead's weight (a phrase: its own) widened for rounding */
    double lw = (t->kind == IT_AND ? kids[0]->w : t->w) * (1.0 + 1e-9);
    usj_rank_normc nc = usj_rank_norm_coeffs(cx->avgdl);
    if (lead_term)      /* its docs' lengths are read below: fetch ahead */
        usj_postings_prefetch_lengths(kids[0]->p, 1);
    for (;;) {
        if (tick(cx))
            return USJ_DOC_END;
        if (!have || d > upto) {
            have = 1;
            upto = USJ_DOC_END;
            if (t->kind == IT_AND) {
                b = rest = 0;
                for (uint32_t i = 0; i < n; i++) {
                    uint32_t u;
                    double x = shallow_ub(kids[i], d, &u);
                    if (x < 0)
                        return USJ_DOC_END;
                    b += x;
                    if (i > 0)
                        rest += x;
                    if (u < upto)
                        upto = u;
                }
            } else {
                b = shallow_ub(t, d, &upto);
                if (b < 0)
                    return USJ_DOC_END;
            }
        }
        if (b <= t->mc) {
            cx->skipped = 1;
            if (upto == USJ_DOC_END)
                return USJ_DOC_END;
            d = upto + 1;
            have = 0;
            continue;
        }
        d = kid_adv(kids[0], d);
        if (d == USJ_DOC_END)
            return d;
        if (d > upto)
            continue;               /* new blocks: bound them first */
        if (lead_term) {
            /* w*tf/(tf + K(dl)) (widened by 1e-9) <= lim */
            double tf = usj_postings_freq(kids[0]->p);
            double lim = t->kind == IT_AND ? t->mc - rest : t->mc;
            if (usj_rank_bm25_at_most(lw, tf, cx->doclens[d], lim, nc)) {
                cx->skipped = 1;
                d++;
                continue;
            }
        }
        uint32_t e = align_rest(kids, n, d);
        if (e == d || e == USJ_DOC_END)
            return e;
        d = e;
    }
}

static uint32_t adv_and(it *t, uint32_t target)
{
    if (t->started && t->doc >= target)
        return t->doc;
    t->started = 1;
    uint32_t d = target;
    for (;;) {
        d = t->prune ? leapfrog_bm(t, t->kids, t->nkids, d)
            : t->nkids >= 2 && t->kids[0]->kind == IT_TERM &&
                    t->kids[1]->kind == IT_TERM
                ? leapfrog_terms(t->kids, t->nkids, d, t->cx)
                : leapfrog(t->kids, t->nkids, d, t->cx);
        if (d == USJ_DOC_END)
            break;
        uint32_t i;
        for (i = 0; i < t->nneg; i++)
            if (t->neg[i]->adv(t->neg[i], d) == d)
                break;
        if (i == t->nneg)
            break;
        d++;
        if (tick(t->cx)) {
            d = USJ_DOC_END;
            break;
        }
    }
    return t->doc = d;
}

static uint32_t adv_or(it *t, uint32_t target)
{
    if (t->started && t->doc >= target)
        return t->doc;
    t->started = 1;
    uint32_t m = USJ_DOC_END;
    for (uint32_t i = 0; i < t->nkids; i++) {
        uint32_t d = t->kids[i]->adv(t->kids[i], target);
        if (d < m)
            m = d;
    }
    return t->doc = m;
}

/* Words a phrase's leapfrog intersects: both of two, else the two rarest
 * (t->order[0..2)); the others are moved to a candidate by phrase_freq
 * only where the rarer ones' positions still leave a start, so a frequent
 * word's blocks are decoded for far fewer docs. */
static inline uint32_t phrase_lead(const it *t)
{
    return t->nkids < 3 ? t->nkids : 2;
}

/* Is v one of l[0..n)? Compares 4 at a time (SSE2) and the rest one by
 * one, none of them a branch on the data. */
static inline int pos_in(const uint32_t *l, uint32_t n, uint32_t v)
{
    uint32_t k = 0;
    int hit = 0;
#ifdef __SSE2__
    const __m128i x = _mm_set1_epi32((int)v);
    __m128i e = _mm_setzero_si128();
    for (; k + 4 <= n; k += 4)
        e = _mm_or_si128(e, _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(l + k)), x));
    hit = _mm_movemask_epi8(e) != 0;
#endif
    for (; k < n; k++)
        hit |= l[k] == v;
    return hit;
}

/* A word's positions in one paragraph are a few: a phrase's lists are
 * matched by looking each position of one up in the other (pos_in) while
 * that is at most this many compares; longer ones are merged. The merge's
 * steps depend on the data and were mispredicted on most candidates. */
#define USJ_POS_LOOKUP_MAX 64u

/* Occurrences of a phrase in doc d, on which t->order[0..phrase_lead) are;
 * the other words are moved to d here, rarer first, while a start is left.
 * *freq = 0 when it does not occur; then *next is the first doc that may
 * still hold it (d + 1, or past d where a word's list went). */
static int phrase_freq(it *t, uint32_t d, uint32_t *freq, uint32_t *next)
{
    int rc;
    *next = d + 1;
    if (t->nkids == 2) {          /* the common case: one merge, no copy */
        const uint32_t *p0, *p1;
        uint32_t n0;
        if ((rc = usj_postings_positions(t->kids[0]->p, &p0, &n0)))
            return rc;
        uint32_t n1, f = 0, rel = t->q->relpos[1];
        if ((rc = usj_postings_positions(t->kids[1]->p, &p1, &n1)))
            return rc;
        /* positions ascend without repeats: each of the shorter list
         * meets at most one of the other, as in the merge */
        if (n1 <= n0 && (uint64_t)n1 * n0 <= USJ_POS_LOOKUP_MAX) {
            for (uint32_t j = 0; j < n1; j++)
                f += p1[j] >= rel && pos_in(p0, n0, p1[j] - rel);
            *freq = f;
            return 0;
        }
        if (n0 < n1 && (uint64_t)n1 * n0 <= USJ_POS_LOOKUP_MAX) {
            for (uint32_t i = 0; i < n0; i++)
                f += p0[i] <= UINT32_MAX - rel && pos_in(p1, n1, p0[i] + rel);
            *freq = f;
            return 0;
        }
        for (uint32_t i = 0, j = 0; i < n0 && j < n1;) {
            uint64_t want = (uint64_t)p0[i] + rel;
            if (p1[j] < want)
                j++;
            else if (p1[j] > want)
                i++;
            else {
                f++;
                i++;
                j++;
            }
        }
        *freq = f;
        return 0;
    }
    /* start positions from the rarest word (t->order: by df), then
     * filtered by the others, rarer first: the positions of a common word
     * are decoded, and its list moved to d, only where the rarer ones
     * still leave a start */
    *freq = 0;
    uint32_t *cand = t->cx->posbuf;
    size_t nc = 0;
    const uint32_t *ps;
    uint32_t ns;
    it *seed = t->order[0];
    uint32_t ks = 0;
    for (uint32_t k = 0; k < t->nkids; k++)
        if (t->kids[k] == seed)
            ks = k;
    if ((rc = usj_postings_positions(seed->p, &ps, &ns)))
        return rc;
    /* posbuf grows to the largest seed list seen */
    if (ns > t->cx->poscap) {
        uint32_t *nb = realloc(cand, ns * sizeof *nb);
        if (!nb)
            return nomem();
        t->cx->posbuf = cand = nb;
        t->cx->poscap = ns;
    }
    uint32_t srel = t->q->relpos[ks];
    for (uint32_t i = 0; i < ns; i++)
        if (ps[i] >= srel)
            cand[nc++] = ps[i] - srel;      /* where the phrase would start */
    uint32_t lead = phrase_lead(t);
    for (uint32_t x = 1; x < t->nkids && nc > 0; x++) {
        it *kid = t->order[x];
        if (x >= lead) {
            uint32_t e = kid_adv(kid, d);
            if (e != d) {               /* the word is not in d */
                *next = e;
                return 0;
            }
        }
        uint32_t k = 0;
        while (t->kids[k] != kid)
            k++;
        const uint32_t *pk;
        uint32_t nk;
        if ((rc = usj_postings_positions(kid->p, &pk, &nk)))
            return rc;
        uint32_t rel = t->q->relpos[k];
        size_t o = 0, j = 0;
        if ((uint64_t)nc * nk <= USJ_POS_LOOKUP_MAX) {
            for (size_t i = 0; i < nc; i++) {
                cand[o] = cand[i];
                o += cand[i] <= UINT32_MAX - rel && pos_in(pk, nk, cand[i] + rel);
            }
            nc = o;
            continue;
        }
        for (size_t i = 0; i < nc; i++) {
            uint64_t want = (uint64_t)cand[i] + rel;
            while (j < nk && pk[j] < want)
                j++;
            if (j < nk && pk[j] == want)
                cand[o++] = cand[i];
        }
        nc = o;
    }
    *freq = (uint32_t)nc;
    return 0;
}

static uint32_t adv_phrase(it *t, uint32_t target)
{
    if (t->started && t->doc >= target)
        return t->doc;
    t->started = 1;
    uint32_t d = target, lead = phrase_lead(t);
    sctx *cx = t->cx;
    for (;;) {
        d = t->prune ? leapfrog_bm(t, t->order, lead, d)
            : lead == 2 ? leapfrog2(t->order[0], t->order[1], d, cx)
                        : leapfrog(t->order, lead, d, cx);
        if (d == USJ_DOC_END)
            break;
        if (t->prune) {
            /* the phrase occurs at most min(tf) times (of the words on d):
             * no position is decoded for a doc that could not enter with
             * that many */
            uint32_t m = UINT32_MAX;
            for (uint32_t i = 0; i < lead; i++) {
                uint32_t f = usj_postings_freq(t->order[i]->p);
                if (f < m)
                    m = f;
            }
            if (usj_rank_bm25(t->w, m, cx->doclens[d], cx->avgdl) *
                    (1.0 + 1e-9) <= t->mc) {
                cx->skipped = 1;
                d++;
                if (tick(cx)) {
                    d = USJ_DOC_END;
                    break;
                }
                continue;
            }
        }
        /* a match is scored (or bounded) from its length: fetched while
         * the positions are decoded and merged */
        __builtin_prefetch(cx->doclens + d);
        uint32_t f = 0, next;
        int rc = phrase_freq(t, d, &f, &next);
        if (rc) {
            t->cx->err = rc;
            d = USJ_DOC_END;
            break;
        }
        if (f > 0) {
            t->pfreq = f;
            break;
        }
        d = next;
        if (d == USJ_DOC_END || tick(t->cx)) {
            d = USJ_DOC_END;
            break;
        }
    }
    return t->doc = d;
}

/* ------------------------------------------------------------ score */

static double score(const it *t)
{
    const sctx *cx = t->cx;
    switch (t->kind) {
    case IT_TERM:
        return usj_rank_bm25(t->w, usj_postings_freq(t->p),
                             cx->doclens[t->doc], cx->avgdl);
    case IT_PHRASE:
        return usj_rank_bm25(t->w, t->pfreq, cx->doclens[t->doc], cx->avgdl);
    case IT_AND: {
        double s = 0;
        for (uint32_t i = 0; i < t->nkids; i++)
            s += score(t->kids[i]);
        return s;
    }
    case IT_OR: {
        double s = 0;
        for (uint32_t i = 0; i < t->nkids; i++)
            if (t->kids[i]->doc == t->doc)
                s += score(t->kids[i]);
        return s;
    }
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ build */

static double term_ub(const sctx *cx, double w, uint32_t max_tf,
                      uint32_t min_len)
{
    return usj_rank_bm25(w, max_tf ? max_tf : 1, min_len, cx->avgdl);
}

static int build_term(sctx *cx, const qnode *q, const char *term,
                      const usj_term_info *known, it **out)
{
    usj_term_info ti;
    if (known) {
        ti = *known;
    } else if (usj_index_term(cx->idx, term, strlen(term), &ti) != 0) {
        it *e = it_new(cx, IT_EMPTY, q);
        if (!e)
            return nomem();
        e->adv = adv_empty;
        *out = e;
        return 0;
    }
    it *t = it_new(cx, IT_TERM, q);
    if (!t)
        return nomem();
    int rc = usj_postings_open_in(&t->p, cx->ncmem < cx->capcmem
                                             ? &cx->cmem[cx->ncmem++] : NULL,
                                  cx->idx, &ti);
    if (rc)
        return rc;
    t->adv = adv_term;
    t->ti = ti;
    t->idf = usj_rank_idf(cx->ndocs, ti.df);
    t->w = usj_rank_weight(t->idf);
    t->ub = term_ub(cx, t->w, ti.max_tf, ti.min_len);
    t->cost = ti.df;
    *out = t;
    return 0;
}

typedef struct pcoll {
    char         **terms;
    usj_term_info *infos;
    size_t         n, cap;
    int            err;
} pcoll;

static int prefix_cb(void *ctx, const char *term, size_t len,
                     const usj_term_info *info)
{
    pcoll *c = ctx;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        char **nt = realloc(c->terms, nc * sizeof *nt);
        if (!nt) {
            c->err = USJ_ENOMEM;
            return 1;
        }
        c->terms = nt;
        usj_term_info *ni = realloc(c->infos, nc * sizeof *ni);
        if (!ni) {
            c->err = USJ_ENOMEM;
            return 1;
        }
        c->infos = ni;
        c->cap = nc;
    }
    if (!(c->terms[c->n] = strndup(term, len))) {
        c->err = USJ_ENOMEM;
        return 1;
    }
    c->infos[c->n++] = *info;
    return 0;
}

static int pcoll_cmp_df(const void *a, const void *b, void *arg)
{
    const pcoll *c = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (c->infos[x].df != c->infos[y].df)
        return c->infos[x].df > c->infos[y].df ? -1 : 1;
    return strcmp(c->terms[x], c->terms[y]);
}

static int build(sctx *cx, const qnode *q, it **out);

static int build_prefix(sctx *cx, const qnode *q, it **out)
{
    pcoll c = {0};
    const char *p1 = q->text, *p2 = q->text2;
    /* the stem is usually a prefix of the word: then it covers both */
    if (p2 && strncmp(p1, p2, strlen(p2)) == 0) {
        p1 = p2;
        p2 = NULL;
    }
    int rc = usj_index_prefix(cx->idx, p1, strlen(p1), prefix_cb, &c);
    if (!c.err && p2 && rc >= 0)
        rc = usj_index_prefix(cx->idx, p2, strlen(p2), prefix_cb, &c);
    if (c.err)
        rc = nomem();
    else if (rc > 0)
        rc = 0;
    size_t *ord = NULL;
    if (!rc && c.n > 0 && !(ord = malloc(c.n * sizeof *ord)))
        rc = nomem();
    pexp *npx = rc ? NULL : realloc(cx->px, (cx->npx + 1) * sizeof *npx);
    if (!rc && !npx)
        rc = nomem();
    if (rc) {
        for (size_t i = 0; i < c.n; i++)
            free(c.terms[i]);
        free(c.terms);
        free(c.infos);
        free(ord);
        return rc;
    }
    cx->px = npx;
    /* most frequent first; drop duplicates (both prefixes matched) */
    for (size_t i = 0; i < c.n; i++)
        ord[i] = i;
    if (c.n > 1)
        qsort_r(ord, c.n, sizeof *ord, pcoll_cmp_df, &c);
    size_t keep = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (keep > 0 && strcmp(c.terms[ord[keep - 1]], c.terms[ord[i]]) == 0)
            continue;
        ord[keep++] = ord[i];
    }
    pexp *px = &cx->px[cx->npx++];
    memset(px, 0, sizeof *px);
    px->q = q;
    px->found = keep;
    uint32_t n = keep > USJ_MAX_PREFIX_TERMS ? USJ_MAX_PREFIX_TERMS
                                             : (uint32_t)keep;
    px->terms = calloc(n ? n : 1, sizeof *px->terms);
    px->infos = calloc(n ? n : 1, sizeof *px->infos);
    if (!px->terms || !px->infos)
        rc = nomem();
    for (uint32_t i = 0; i < n && !rc; i++) {
        px->terms[i] = c.terms[ord[i]];
        c.terms[ord[i]] = NULL;
        px->infos[i] = c.infos[ord[i]];
        px->n++;
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.terms[i]);
    free(c.terms);
    free(c.infos);
    free(ord);
    if (rc)
        return rc;
    if (px->n == 1)
        return build_term(cx, q, px->terms[0], &px->infos[0], out);
    it *t = it_new(cx, px->n ? IT_OR : IT_EMPTY, q);
    if (!t)
        return nomem();
    *out = t;
    if (px->n == 0) {
        t->adv = adv_empty;
        return 0;
    }
    t->adv = adv_or;
    if (!(t->kids = it_list(cx, px->n)))
        return nomem();
    for (uint32_t i = 0; i < px->n; i++) {
        if ((rc = build_term(cx, q, px->terms[i], &px->infos[i],
                             &t->kids[t->nkids])))
            return rc;
        t->ub += t->kids[t->nkids]->ub;
        t->cost += t->kids[t->nkids]->cost;
        t->nkids++;
    }
    return 0;
}

static int u32cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int build_range(sctx *cx, const qnode *q, it **out)
{
    it *t = it_new(cx, IT_LIST, q);
    if (!t)
        return nomem();
    t->adv = adv_list;
    *out = t;
    for (int ty = 0; ty < USJ_NUM_NTYPES; ty++) {
        if (!(q->typemask & (1u << ty)))
            continue;
        uint32_t *d = NULL;
        size_t n = 0;
        int rc = usj_index_numrange(cx->idx, (usj_numtype)ty, q->lo, q->hi,
                                    &d, &n);
        if (rc)
            return rc;
        if (n == 0) {
            free(d);
            continue;
        }
        if (!t->docs) {
            t->docs = d;
            t->ndocs = n;
            continue;
        }
        uint32_t *m = realloc(t->docs, (t->ndocs + n) * sizeof *m);
        if (!m) {
            free(d);
            return nomem();
        }
        memcpy(m + t->ndocs, d, n * sizeof *m);
        free(d);
        t->docs = m;
        t->ndocs += n;
        qsort(m, t->ndocs, sizeof *m, u32cmp);
        size_t o = 0;
        for (size_t i = 0; i < t->ndocs; i++)
            if (o == 0 || m[o - 1] != m[i])
                m[o++] = m[i];
        t->ndocs = o;
    }
    t->cost = t->ndocs;
    return 0;
}

static int cost_cmp(const void *a, const void *b)
{
    const it *x = *(it *const *)a, *y = *(it *const *)b;
    return x->cost < y->cost ? -1 : x->cost > y->cost;
}

static int build_kids(sctx *cx, const qnode *q, it *t, int and)
{
    int rc;
    t->kids = it_list(cx, q->nkids);
    t->neg = it_list(cx, q->nkids);
    if (!t->kids || !t->neg)
        return nomem();
    for (uint32_t i = 0; i < q->nkids; i++) {
        const qnode *k = q->kids[i];
        it *c = NULL;
        if (k->kind == QN_NOT) {
            if ((rc = build(cx, k->kids[0], &c)))
                return rc;
            if (c->kind != IT_EMPTY)
                t->neg[t->nneg++] = c;
            continue;
        }
        if ((rc = build(cx, k, &c)))
            return rc;
        if (c->kind == IT_EMPTY) {
            if (and) {             /* nothing can match */
                t->kind = IT_EMPTY;
                t->adv = adv_empty;
                t->nkids = t->nneg = 0;
                return 0;
            }
            continue;
        }
        t->kids[t->nkids++] = c;
        t->ub += c->ub;
        if (and)
            t->cost = t->nkids == 1 || c->cost < t->cost ? c->cost : t->cost;
        else
            t->cost += c->cost;
    }
    if (t->nkids == 0) {
        t->kind = IT_EMPTY;
        t->adv = adv_empty;
        t->nneg = 0;
    } else if (and) {
        qsort(t->kids, t->nkids, sizeof *t->kids, cost_cmp);
    }
    return 0;
}

static int build(sctx *cx, const qnode *q, it **out)
{
    int rc;
    *out = NULL;
    switch (q->kind) {
    case QN_TERM:
        return build_term(cx, q, q->terms[0], NULL, out);
    case QN_PHRASE: {
        it *t = it_new(cx, IT_PHRASE, q);
        if (!t || !(t->kids = it_list(cx, q->nterms)))
            return nomem();
        *out = t;
        t->adv = adv_phrase;
        double idf = 0;
        uint32_t maxtf = UINT32_MAX, minlen = 0;
        for (uint32_t i = 0; i < q->nterms; i++) {
            it *k = NULL;
            if ((rc = build_term(cx, q, q->terms[i], NULL, &k)))
                return rc;
            if (k->kind == IT_EMPTY) {
                t->kind = IT_EMPTY;
                t->adv = adv_empty;
                t->nkids = 0;
                return 0;
            }
            t->kids[t->nkids++] = k;
            idf += k->idf;
            if (k->ti.max_tf < maxtf)
                maxtf = k->ti.max_tf;
            if (k->ti.min_len > minlen)
                minlen = k->ti.min_len;
            t->cost = i == 0 || k->cost < t->cost ? k->cost : t->cost;
        }
        /* positions are checked in query order (kids), the intersection
         * is driven by the rarest term (order) */
        if (!(t->order = it_list(cx, t->nkids)))
            return nomem();
        memcpy(t->order, t->kids, t->nkids * sizeof *t->order);
        qsort(t->order, t->nkids, sizeof *t->order, cost_cmp);
        t->idf = idf;
        t->w = usj_rank_weight(idf);
        t->ub = term_ub(cx, t->w, maxtf, minlen);
        return 0;
    }
    case QN_PREFIX:
        return build_prefix(cx, q, out);
    case QN_RANGE:
        return build_range(cx, q, out);
    case QN_FILE:
    case QN_TITLE: {
        it *t = it_new(cx, IT_FILTER, q);
        if (!t || !(t->fmatch = calloc(cx->nfiles ? cx->nfiles : 1, 1)))
            return nomem();
        t->adv = adv_filter;
        t->cost = cx->ndocs;
        *out = t;
        return 0;
    }
    case QN_AND:
    case QN_OR: {
        it *t = it_new(cx, q->kind == QN_AND ? IT_AND : IT_OR, q);
        if (!t)
            return nomem();
        t->adv = q->kind == QN_AND ? adv_and : adv_or;
        *out = t;
        return build_kids(cx, q, t, q->kind == QN_AND);
    }
    default:
        return usj_error_set(USJ_EINVAL, "unexpected query node %d", q->kind);
    }
}

/* ------------------------------------------------------------ heap */

typedef struct ent {
    double   s;
    uint32_t d;
} ent;

static inline int worse(const ent *a, const ent *b)
{
    return a->s < b->s || (a->s == b->s && a->d > b->d);
}

typedef struct heap {
    ent   *e;
    size_t n, k;
} heap;

static void sift_down(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && worse(&h->e[l], &h->e[m]))
            m = l;
        if (r < h->n && worse(&h->e[r], &h->e[m]))
            m = r;
        if (m == i)
            return;
        ent t = h->e[i];
        h->e[i] = h->e[m];
        h->e[m] = t;
        i = m;
    }
}

/* Returns 1 when (s, d) entered the heap. */
static int heap_offer(heap *h, double s, uint32_t d)
{
    ent x = {s, d};
    if (h->n < h->k) {
        size_t i = h->n++;
        h->e[i] = x;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(&h->e[i], &h->e[p]))
                break;
            ent t = h->e[i];
            h->e[i] = h->e[p];
            h->e[p] = t;
            i = p;
        }
        return 1;
    }
    if (worse(&h->e[0], &x)) {
        h->e[0] = x;
        sift_down(h, 0);
        return 1;
    }
    return 0;
}

static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (worse(x, y))
        return 1;
    if (worse(y, x))
        return -1;
    return 0;
}

/* Best first (ent_cmp); a page of hits by insertion sort. */
static void ent_sort(ent *e, size_t n)
{
    if (n > 16) {
        qsort(e, n, sizeof *e, ent_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        ent x = e[i];
        size_t j = i;
        for (; j > 0 && worse(&e[j - 1], &x); j--)
            e[j] = e[j - 1];
        e[j] = x;
    }
}

/* ------------------------------------------------------------ run */

/* A block of a list and its stored impact, in a max-heap by impact (ties:
 * the earlier block first). */
typedef struct bent {
    float    imp;
    uint32_t b;
} bent;

static inline int bent_below(const bent *x, const bent *y)
{
    return x->imp < y->imp || (x->imp == y->imp && x->b > y->b);
}

static void bent_down(bent *a, uint32_t n, uint32_t i)
{
    bent x = a[i];
    for (;;) {
        uint32_t l = 2 * i + 1, m = l;
        if (l >= n)
            break;
        if (l + 1 < n && bent_below(&a[l], &a[l + 1]))
            m = l + 1;
        if (!bent_below(&x, &a[m]))
            break;
        a[i] = a[m];
        i = m;
    }
    a[i] = x;
}

/* Offers the n docs of one decoded block of term t (tfs less one). A full
 * heap takes a doc only if w*tf/(tf + K(dl)) beats its worst: checked
 * first without dividing (w widened by 1e-9, so it never drops a doc that
 * would enter, ties included: heap_offer then orders them by doc). docs[]
 * has room for 8 more entries (the prefetch reads ahead). */
static void term_block(const sctx *cx, const it *t, heap *h, uint32_t *docs,
                       const uint32_t *tfs, uint32_t n)
{
    const uint32_t *dls = cx->doclens;
    double ww = t->w * (1.0 + 1e-9);
    usj_rank_normc nc = usj_rank_norm_coeffs(cx->avgdl);
    double lim = h->n == h->k && !cx->no_prune ? h->e[0].s : -INFINITY;
    for (uint32_t i = n; i < n + 8; i++)
        docs[i] = docs[n - 1];
    for (uint32_t i = 0; i < 8 && i < n; i++)
        __builtin_prefetch(dls + docs[i]);
    for (uint32_t i = 0; i < n; i++) {
        __builtin_prefetch(dls + docs[i + 8]);
        uint32_t tf = tfs[i] + 1, dl = dls[docs[i]];
        if (usj_rank_bm25_at_most(ww, tf, dl, lim, nc))
            continue;
        if (heap_offer(h, usj_rank_bm25(t->w, tf, dl, cx->avgdl), docs[i]) &&
            h->n == h->k && !cx->no_prune)
            lim = h->e[0].s;
    }
}

/* Single term: total = df. The blocks are visited best first, from a
 * max-heap of their stored impacts (built in O(blocks) from the skip
 * entries, no block decoded): the first ones fill the heap with high
 * scores, and once the best block left has a bound below the heap's worst
 * score no block left can enter: stop. A bound equal to the worst is still
 * visited (a doc scoring exactly the worst enters when it comes earlier in
 * corpus order), unless the block's exact bound (its largest tf, its
 * shortest doc) is below the worst, or equal with every doc of the block
 * after the worst's: many docs of a frequent word share the top score.
 * Without pruning, or when the block heap cannot be allocated, the blocks
 * are walked in doc order (the threshold still skips, and is only less
 * tight). */
static void run_term(sctx *cx, it *t, heap *h, uint64_t *total)
{
    *total = t->ti.df;
    if (h->k == 0)
        return;
    usj_postings *p = t->p;
    uint32_t nb = usj_postings_nblocks(p);
    uint32_t docs[USJ_BLOCK_DOCS_MAX + 8], tfs[USJ_BLOCK_DOCS_MAX];
    bent sbuf[64], *bh = NULL;
    if (!cx->no_prune && nb > 1)
        bh = nb <= sizeof sbuf / sizeof *sbuf ? sbuf : malloc(nb * sizeof *bh);
    if (bh) {
        for (uint32_t b = 0; b < nb; b++)
            bh[b] = (bent){usj_postings_impact_at(p, b), b};
        for (uint32_t i = nb / 2; i-- > 0;)
            bent_down(bh, nb, i);
    }
    for (uint32_t i = 0, m = nb; i < nb; i++) {
        uint32_t b = i;
        float imp;
        if (bh) {
            b = bh[0].b;
            imp = bh[0].imp;
            bh[0] = bh[--m];
            bent_down(bh, m, 0);
        } else {
            imp = usj_postings_impact_at(p, b);
        }
        if (h->n == h->k && !cx->no_prune) {
            if (usj_rank_impact_bound(t->idf, imp) < h->e[0].s) {
                if (bh)
                    break;
                continue;
            }
            /* the exact bound, from the block's largest tf and shortest
             * doc scored as a doc is: a block that can at most tie the
             * worst, with every doc after the worst's, has no doc to
             * enter (the stored impact, rounded up, cannot tell a tie) */
            uint32_t first, mtf, mlen;
            usj_postings_bounds_at(p, b, &first, &mtf, &mlen);
            double ub = usj_rank_bm25(t->w, mtf, mlen, cx->avgdl);
            if (ub < h->e[0].s || (ub == h->e[0].s && first > h->e[0].d))
                continue;
        }
        uint32_t n = usj_postings_read_block(p, b, docs, tfs);
        if (n == 0)
            break;                  /* damaged: usj_search reports it */
        term_block(cx, t, h, docs, tfs, n);
        if (tick_n(cx, n))
            break;
    }
    if (bh != sbuf)
        free(bh);
}

/* Bound of score(t) on the doc the tree is on, from the impacts of the
 * postings blocks under it (no doc length read): a term's block bound; an
 * AND sums its kids'; a phrase's frequency is at most each word's tf in the
 * same doc, so summed idf times the smallest of its words' block impacts.
 * Anything else: its static bound. */
static double cur_ub(it *t)
{
    switch (t->kind) {
    case IT_TERM:
        return usj_rank_impact_bound(t->idf, usj_postings_block_impact(t->p));
    case IT_PHRASE: {
        float m = USJ_IMPACT_MAX;
        for (uint32_t i = 0; i < t->nkids; i++) {
            float v = usj_postings_block_impact(t->kids[i]->p);
            if (v < m)
                m = v;
        }
        return usj_rank_impact_bound(t->idf, m);
    }
    case IT_AND: {
        double s = 0;
        for (uint32_t i = 0; i < t->nkids; i++)
            s += cur_ub(t->kids[i]);
        return s;
    }
    default:
        return t->ub;
    }
}

/* Bound of score(t) over the docs in [target, *upto], from the skip data
 * of the blocks that hold target (nothing decoded; the cursors' described
 * blocks move forward): a term's block bound; an AND sums its kids' (an
 * exhausted kid ends it), an OR its live kids'; a phrase as in cur_ub.
 * Anything else: its static bound up to USJ_DOC_END. Negative when t has
 * no doc >= target. */
static double shallow_ub(it *t, uint32_t target, uint32_t *upto)
{
    *upto = USJ_DOC_END;
    switch (t->kind) {
    case IT_EMPTY:
        return -1;
    case IT_TERM: {
        uint32_t last = usj_postings_shallow(t->p, target);
        if (last == USJ_DOC_END)
            return -1;
        *upto = last;
        return usj_rank_impact_bound(t->idf, usj_postings_block_impact(t->p));
    }
    case IT_PHRASE: {
        float m = USJ_IMPACT_MAX;
        for (uint32_t i = 0; i < t->nkids; i++) {
            uint32_t last = usj_postings_shallow(t->kids[i]->p, target);
            if (last == USJ_DOC_END)
                return -1;
            if (last < *upto)
                *upto = last;
            float v = usj_postings_block_impact(t->kids[i]->p);
            if (v < m)
                m = v;
        }
        return usj_rank_impact_bound(t->idf, m);
    }
    case IT_AND:
    case IT_OR: {
        double s = 0;
        int live = 0;
        for (uint32_t i = 0; i < t->nkids; i++) {
            uint32_t u;
            double b = shallow_ub(t->kids[i], target, &u);
            if (b < 0) {
                if (t->kind == IT_AND)
                    return -1;
                continue;
            }
            live = 1;
            s += b;
            if (u < *upto)
                *upto = u;
        }
        return live ? s : -1;
    }
    case IT_LIST:
        if (t->started && t->doc == USJ_DOC_END)
            return -1;
        return t->ub;
    default:
        return t->ub;
    }
}

/* Lets t skip the docs that score at most mc under it: the root gets the
 * heap's worst score; a kid of an AND or OR gets mc less the static bounds
 * of its siblings (less a margin for the rounding of the sums). An AND's
 * exclusions and filters never skip. */
static void set_mc(it *t, double mc)
{
    t->prune = 1;
    t->mc = mc;
    if (t->kind != IT_AND && t->kind != IT_OR)
        return;
    for (uint32_t i = 0; i < t->nkids; i++) {
        it *k = t->kids[i];
        if (k->kind != IT_AND && k->kind != IT_OR && k->kind != IT_PHRASE)
            continue;
        double others = t->ub - k->ub;
        if (others < 0)
            others = 0;
        set_mc(k, mc - others - 1e-9 * (fabs(mc) + t->ub));
    }
}

/* Does pruning an AND pay, n matches counted and the walk at doc d? Its
 * walk (leapfrog_bm: one lead doc at a time, each bounded) is slower per
 * doc than the unpruned one (leapfrog2's block windows), so it pays only
 * where it can skip many matches: an AND starts pruning once the matches
 * left, if they go on at the rate seen so far, are at least
 * USJ_PRUNE_AND_LEFT times total_upto (checked again at every match while
 * it does not). Phrases always prune (each candidate skipped saves its
 * positions). Synth, AND-3 TOP-10 (2 rounds of 3 reps, min per query):
 * p99 1027-1066 -> 766 us, sum -7%; AND-2 sum -13%, p99 1196-1228 ->
 * 1188-1223 us; "required properties" (2615 counted, 43884 matches) still
 * prunes. */
#define USJ_PRUNE_AND_LEFT 8.0
static int prune_pays(const sctx *cx, const it *root, uint64_t n, uint32_t d)
{
    if (root->kind != IT_AND)
        return 1;
    double left = (double)n * (double)(cx->ndocs - 1 - d) / ((double)d + 1);
    return left >= USJ_PRUNE_AND_LEFT * (double)cx->total_upto;
}

/* Any tree: count every match; score only while the tree's bound can still
 * beat the heap (docs come in increasing order, so ties lose): the static
 * bound, and once pruning has begun also the bound from the current blocks
 * (before that, reading the kids' block bounds for every match cost more
 * than the scores it saved: kdocs AND-2 -11%, AND-3 -6% without it). With
 * total_upto, once that many matches are counted and the heap is full
 * (an AND: and prune_pays), the tree skips (set_mc) whatever cannot beat
 * the heap's worst score: the total counts the matches still seen and
 * becomes a lower bound. */
static void run_generic(sctx *cx, it *root, heap *h, uint64_t *total)
{
    uint64_t n = 0;
    int pruning = 0;
    uint32_t d = root->adv(root, 0);
    while (d != USJ_DOC_END) {
        n++;
        if (h->k && (h->n < h->k || cx->no_prune ||
                     (root->ub > h->e[0].s &&
                      (!pruning || cur_ub(root) > h->e[0].s)))) {
            if (heap_offer(h, score(root), d) && pruning)
                set_mc(root, h->e[0].s);
        }
        if (!pruning && cx->total_upto && n >= cx->total_upto && h->k &&
            h->n == h->k && !cx->no_prune && prune_pays(cx, root, n, d)) {
            pruning = 1;
            set_mc(root, h->e[0].s);
        }
        if (tick(cx))
            break;
        d = root->adv(root, d + 1);
    }
    *total = n;
}

/* An OR whose kids are all plain terms (also a prefix expansion). */
static int or_of_terms(const it *t)
{
    if (t->kind != IT_OR)
        return 0;
    for (uint32_t i = 0; i < t->nkids; i++)
        if (t->kids[i]->kind != IT_TERM)
            return 0;
    return 1;
}

/* Docs in both of m <= 2 lists (fresh cursors, leapfrog on skip data). */
static int count_inter(sctx *cx, const usj_term_info *const *ti, uint32_t m,
                       uint64_t *out)
{
    usj_postings *p[2] = {NULL, NULL};
    int rc = 0;
    assert(m >= 1 && m <= 2);
    uint64_t n = 0;
    for (uint32_t i = 0; i < m && !rc; i++)
        rc = usj_postings_open(&p[i], cx->idx, ti[i]);
    uint32_t d = 0;
    while (!rc && !tick(cx)) {
        d = usj_postings_advance(p[0], d);
        uint32_t i;
        for (i = 1; i < m && d != USJ_DOC_END; i++) {
            uint32_t e = usj_postings_advance(p[i], d);
            if (e != d) {
                d = e;
                break;
            }
        }
        if (d == USJ_DOC_END)
            break;
        if (i == m) {
            n++;
            d++;
        }
    }
    for (uint32_t i = 0; i < m; i++)
        usj_postings_free(p[i]);
    *out = n;
    return rc;
}

/* Two lists: |A u B| = |A| + |B| - |A n B|, the intersection led by the
 * rarer list, so a common list is only skipped through where the other
 * has docs. */
static int count_union_ie(sctx *cx, const it *t, uint64_t *total)
{
    const usj_term_info *a = &t->kids[0]->ti, *b = &t->kids[1]->ti;
    const usj_term_info *v[2] = {a->df <= b->df ? a : b, a->df <= b->df ? b : a};
    uint64_t ab = 0;
    int rc = count_inter(cx, v, 2, &ab);
    if (!rc)
        *total = (uint64_t)a->df + b->df - ab;
    return rc;
}

/* Exact size of the union of the kids' lists: every posting is decoded
 * once with fresh cursors and marked in a bitmap of the docs. */
static int count_union(sctx *cx, const it *t, uint64_t *total)
{
    if (t->nkids == 1) {
        *total = t->kids[0]->ti.df;
        return 0;
    }
    if (t->nkids == 2)     /* measured: for three lists the bitmap wins */
        return count_union_ie(cx, t, total);
    size_t words = ((size_t)cx->ndocs + 63) / 64;
    uint64_t *bm = calloc(words ? words : 1, sizeof *bm);
    if (!bm)
        return nomem();
    uint64_t n = 0;
    int rc = 0;
    for (uint32_t i = 0; i < t->nkids && !rc && !cx->timed_out; i++) {
        usj_postings *p = NULL;
        if ((rc = usj_postings_open(&p, cx->idx, &t->kids[i]->ti)))
            break;
        uint32_t d;
        while ((d = usj_postings_next(p)) != USJ_DOC_END) {
            if (d >= cx->ndocs) {
                rc = usj_error_set(USJ_ECORRUPT, "doc id %u out of range", d);
                break;
            }
            uint64_t bit = 1ull << (d & 63), *w = &bm[d >> 6];
            n += !(*w & bit);
            *w |= bit;
            if (tick(cx))
                break;
        }
        usj_postings_free(p);
    }
    free(bm);
    *total = n;
    return rc;
}

static int ub_cmp(const void *a, const void *b)
{
    const it *x = *(it *const *)a, *y = *(it *const *)b;
    return x->ub < y->ub ? -1 : x->ub > y->ub;
}

/* OR of terms, top-k by MaxScore: kids sorted by upper bound; the longest
 * prefix whose bounds sum to at most the threshold (the heap's worst score,
 * or before the heap is full the seed's bound, or_seed) cannot make a doc
 * enter on its own ("non-essential"), so candidates come only from the
 * other lists, and a non-essential list is looked at (advance) only while
 * the candidate could still beat the threshold. The total is counted
 * apart. */
/* Min-heap of cursors by current doc (the essential lists of MaxScore). */
static void ch_down(it **a, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && a[l]->doc < a[m]->doc)
            m = l;
        if (r < n && a[r]->doc < a[m]->doc)
            m = r;
        if (m == i)
            return;
        it *x = a[i];
        a[i] = a[m];
        a[m] = x;
        i = m;
    }
}

static void ch_build(it **a, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;)
        ch_down(a, n, i);
}

/* A score no doc at or below which can reach the top kk of an OR of terms,
 * from the best block of lists k[0..n) (bb[i]: its number): the docs of those
 * blocks scored on the lists read (a doc in two of them gets both terms),
 * which is at most their full score, the kk-th largest over distinct docs,
 * less a margin for the order of the sums. -INFINITY when the blocks hold
 * fewer than kk docs, kk is large or a block is damaged (its cursor then
 * reports it). */
static double or_seed(const sctx *cx, it **k, uint32_t n, const uint32_t *bb,
                      size_t kk)
{
    ent sd[32];
    uint32_t docs[USJ_BLOCK_DOCS_MAX], tfs[USJ_BLOCK_DOCS_MAX];
    size_t m = 0, lo = 0;          /* sd[lo]: the lowest of sd[0..m) */
    if (kk > sizeof sd / sizeof *sd)
        return -INFINITY;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t nd = usj_postings_read_block(k[i]->p, bb[i], docs, tfs);
        for (uint32_t j = 0; j < nd; j++) {
            double sc = usj_rank_bm25(k[i]->w, tfs[j] + 1, cx->doclens[docs[j]],
                                      cx->avgdl);
            if (m == kk && sc <= sd[lo].s)
                continue;       /* not adding it, even to a doc held, only
                                   leaves a lower bound */
            size_t x = 0;
            while (x < m && sd[x].d != docs[j])
                x++;
            if (x < m)
                sd[x].s += sc;
            else if (m < kk)
                sd[m++] = (ent){sc, docs[j]};
            else
                sd[lo] = (ent){sc, docs[j]};
            for (size_t y = lo = 0; y < m; y++)
                if (sd[y].s < sd[lo].s)
                    lo = y;
        }
    }
    if (m < kk)
        return -INFINITY;
    return sd[lo].s - 1e-9 * fabs(sd[lo].s);
}

/* A term cursor on a doc moves to its next one (cheaper than advance). */
static inline uint32_t next_term(it *t)
{
    uint32_t d = usj_postings_next(t->p);
    if (d != USJ_DOC_END && d >= t->cx->ndocs)
        d = bad_doc(t->cx, d);
    return t->doc = d;
}

static int run_or_terms(sctx *cx, it *t, heap *h, uint64_t *total)
{
    uint32_t maxdf = 0;
    for (uint32_t i = 0; i < t->nkids; i++)
        if (t->kids[i]->ti.df > maxdf)
            maxdf = t->kids[i]->ti.df;
    int rc = 0;
    if (h->k && cx->total_upto && maxdf >= cx->total_upto && !cx->no_prune) {
        *total = maxdf;          /* the longest list: a lower bound */
        cx->skipped = 1;
    } else {
        rc = count_union(cx, t, total);
    }
    if (rc || h->k == 0 || cx->timed_out)
        return rc;
    uint32_t n = t->nkids;
    it **k = t->kids;              /* reordered in place: scoring is a sum */
    double *cum = malloc(n * sizeof *cum);
    it **hp = malloc(n * sizeof *hp);
    uint32_t *bb = malloc(n * sizeof *bb);
    if (!cum || !hp || !bb) {
        free(cum);
        free(hp);
        free(bb);
        return nomem();
    }
    for (uint32_t i = 0; i < n; i++) {
        usj_postings_prefetch_lengths(k[i]->p, 1);   /* candidates are scored */
        /* the list's largest impact is tighter than (max_tf, min_len);
         * its block is where the seed looks */
        uint32_t nb = usj_postings_nblocks(k[i]->p), best = 0;
        float mi = 0;
        for (uint32_t b = 0; b < nb; b++) {
            float v = usj_postings_impact_at(k[i]->p, b);
            if (v > mi) {
                mi = v;
                best = b;
            }
        }
        double ub = usj_rank_impact_bound(k[i]->idf, mi);
        if (ub < k[i]->ub)
            k[i]->ub = ub;
        bb[i] = best;
    }
    /* by bound, keeping each list's best block beside it */
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && ub_cmp(&k[j], &k[j - 1]) < 0; j--) {
            it *x = k[j];
            k[j] = k[j - 1];
            k[j - 1] = x;
            uint32_t y = bb[j];
            bb[j] = bb[j - 1];
            bb[j - 1] = y;
        }
    double acc = 0;
    for (uint32_t i = 0; i < n; i++)
        cum[i] = acc += k[i]->ub;
    /* docs scoring <= thr cannot enter the top k: the seed's bound, then
     * the full heap's worst (later docs lose ties to the heap's) */
    uint32_t ns = n < 4 ? n : 4;   /* seeds from the 4 best lists (a
                                       prefix may have 128) */
    double thr = cx->no_prune ? -INFINITY
                              : or_seed(cx, k + n - ns, ns, bb + n - ns, h->k);
    free(bb);
    uint32_t ess = 0;              /* k[ess..n) are essential */
    while (ess < n && cum[ess] <= thr)
        ess++;
    uint32_t hn = 0;
    for (uint32_t i = ess; i < n; i++)
        if (adv_term(k[i], 0) != USJ_DOC_END)
            hp[hn++] = k[i];
    ch_build(hp, hn);
    usj_rank_normc nc = usj_rank_norm_coeffs(cx->avgdl);
    it *bc = NULL;                 /* the lone essential list's block */
    uint32_t blast = 0;
    while (hn > 0 && !tick(cx)) {
        uint32_t d = hp[0]->doc;
        if (hn == 1 && ess > 0) {
            /* one essential list left: skip its blocks whose bound plus
             * every other list's bound cannot beat the heap (measured: the
             * same look over every list's block at each candidate costs
             * more than it saves, blocks of 128 docs nearly always hold a
             * doc near the list's largest impact), its docs not in the
             * other list when it cannot beat the heap alone, then its docs
             * whose score plus those bounds cannot (no division) */
            it *c = hp[0];
            if (c != bc || d > blast) {
                bc = c;
                blast = usj_postings_shallow(c->p, d);
                if (blast != USJ_DOC_END &&
                    usj_rank_impact_bound(c->idf, usj_postings_block_impact(c->p)) +
                    cum[ess - 1] <= thr) {
                    if (adv_term(c, blast + 1) == USJ_DOC_END)
                        hn = 0;
                    continue;
                }
            }
            if (ess == 1 && c->ub <= thr) {
                /* it cannot beat the heap alone: only its docs in the
                 * other list can, so the two leapfrog (measured: with two
                 * or more other lists, advancing each to every candidate
                 * costs what it saves) */
                uint32_t m = adv_term(k[0], d);
                if (m == USJ_DOC_END)
                    break;          /* no doc left can enter */
                if (m > d) {
                    if (adv_term(c, m) == USJ_DOC_END)
                        hn = 0;
                    continue;
                }
            }
            double rest = cum[ess - 1];
            if (usj_rank_bm25_at_most(c->w * (1.0 + 1e-9), usj_postings_freq(c->p),
                                      cx->doclens[d],
                                      thr - rest - 1e-9 * (fabs(thr) + rest), nc)) {
                if (next_term(c) == USJ_DOC_END)
                    hn = 0;
                continue;
            }
        }
        double s = 0;
        /* every essential list on d: score it and move it past d */
        while (hn > 0 && hp[0]->doc == d) {
            it *c = hp[0];
            s += usj_rank_bm25(c->w, usj_postings_freq(c->p), cx->doclens[d], cx->avgdl);
            if (next_term(c) == USJ_DOC_END)
                hp[0] = hp[--hn];
            ch_down(hp, hn, 0);
        }
        uint32_t i = ess;
        while (i > 0) {
            i--;
            if (s + cum[i] <= thr)
                break;          /* s <= thr: not offered below */
            if (adv_term(k[i], d) == d)
                s += usj_rank_bm25(k[i]->w, usj_postings_freq(k[i]->p),
                                   cx->doclens[d], cx->avgdl);
        }
        if (s > thr && heap_offer(h, s, d) && h->n == h->k && !cx->no_prune &&
            h->e[0].s > thr) {
            thr = h->e[0].s;
            uint32_t was = ess;
            while (ess < n && cum[ess] <= thr)
                ess++;
            if (ess != was) {       /* lists became non-essential: rebuild */
                hn = 0;
                for (uint32_t j = ess; j < n; j++)
                    if (k[j]->doc != USJ_DOC_END)
                        hp[hn++] = k[j];
                ch_build(hp, hn);
            }
        }
    }
    free(cum);
    free(hp);
    return 0;
}

/* ------------------------------------------------------------ search */

static int byorder_cmp(const void *a, const void *b, void *arg)
{
    const ent *base = arg;
    uint32_t x = base[*(const uint32_t *)a].d;
    uint32_t y = base[*(const uint32_t *)b].d;
    return x < y ? -1 : x > y;
}

static void cx_free(sctx *cx)
{
    for (size_t i = 0; i < cx->nall; i++)
        it_free(cx, cx->all[i]);
    if (cx->all != cx->all_buf)
        free(cx->all);
    for (size_t i = 0; i < cx->npx; i++) {
        for (uint32_t k = 0; k < cx->px[i].n; k++)
            free(cx->px[i].terms[k]);
        free(cx->px[i].terms);
        free(cx->px[i].infos);
    }
    free(cx->px);
    free(cx->posbuf);
}

/* Stored-text blocks inflated by this thread's searches, kept across
 * searches: a direct-mapped set of USJ_TEXT_CACHE_SLOTS caches chosen by doc
 * id (neighbouring paragraphs share a block). A daemon worker that answers
 * the same articles again finds their blocks inflated; each cache is tagged
 * with the index that filled it, so a reload never serves stale text.
 * Freed when the thread exits. */
static _Thread_local usj_textcache tl_tc[USJ_TEXT_CACHE_SLOTS];
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static int tc_key_ok;

static void tc_destroy(void *p)
{
    usj_textcache *c = p;
    for (unsigned i = 0; i < USJ_TEXT_CACHE_SLOTS; i++)
        usj_textcache_free(&c[i]);
}
static void tc_key_make(void) { tc_key_ok = pthread_key_create(&tc_key, tc_destroy) == 0; }

static usj_textcache *text_cache_for(uint32_t doc)
{
    static _Thread_local int registered;
    if (!registered) {
        pthread_once(&tc_once, tc_key_make);
        if (tc_key_ok)
            pthread_setspecific(tc_key, tl_tc);
        registered = 1;
    }
    return &tl_tc[(doc >> USJ_TEXT_CACHE_SHIFT) % USJ_TEXT_CACHE_SLOTS];
}

int usj_search(usj_results **out, const usj_index *idx, const usj_query *q,
               const usj_search_opts *opts)
{
    uint64_t t0 = now_ns();
    *out = NULL;
    if (!idx || !q || !q->root)
        return usj_error_set(USJ_EINVAL, "usj_search: NULL argument");
    usj_search_opts o = {10, 0, 0, 0, 0, 0};
    if (opts)
        o = *opts;
    if ((uint64_t)o.limit + o.offset > USJ_MAX_RESULTS)
        return usj_error_set(USJ_ELIMIT, "limit + offset is %llu; at most %u "
                             "results are served",
                             (unsigned long long)o.limit + o.offset,
                             USJ_MAX_RESULTS);
    uint32_t timeout = o.timeout_ms ? o.timeout_ms
                                    : USJ_DEFAULT_QUERY_TIMEOUT_MS;
    sctx cx = {0};
    it pool[IT_INLINE];
    it *all_buf[2 * IT_INLINE];
    usj_postings_mem cmem[CUR_INLINE];
    it *abuf[4 * IT_INLINE];
    ent hbuf[32];
    uint32_t obuf[32];
    /* the hits are built here, their paths and titles borrowed from the
     * index, then packed into the results' one block (usj_results_pack) */
    usj_hit hitbuf[16], *hits = NULL;
    size_t n = 0;
    cx.pool = pool;
    cx.cappool = IT_INLINE;
    cx.cmem = cmem;
    cx.capcmem = CUR_INLINE;
    cx.abuf = abuf;
    cx.capabuf = 4 * IT_INLINE;
    cx.all = cx.all_buf = all_buf;
    cx.capall = 2 * IT_INLINE;
    cx.idx = idx;
    cx.ndocs = usj_index_ndocs(idx);
    cx.nfiles = usj_index_nfiles(idx);
    cx.avgdl = usj_index_avglen(idx);
    cx.doclens = usj_index_doclens(idx);
    cx.deadline_ns = t0 + (uint64_t)timeout * 1000000ull;
    usj_results r = {0};
    heap h = {0};
    it *root = NULL;
    int rc;
    if ((rc = build(&cx, q->root, &root)))
        goto done;
    cx.no_prune = (o.flags & USJ_SEARCH_NOPRUNE) != 0;
    cx.total_upto = o.limit ? o.total_upto : 0;
    h.k = o.limit ? (size_t)o.limit + o.offset : 0;
    if (h.k && h.k <= sizeof hbuf / sizeof *hbuf)
        h.e = hbuf;
    else if (h.k && !(h.e = malloc(h.k * sizeof *h.e))) {
        rc = nomem();
        goto done;
    }
    if (root->kind == IT_TERM)
        run_term(&cx, root, &h, &r.total);
    else if (or_of_terms(root))
        rc = run_or_terms(&cx, root, &h, &r.total);
    else
        run_generic(&cx, root, &h, &r.total);
    if (rc)
        goto done;
    r.total_relation = cx.skipped ? USJ_TOTAL_AT_LEAST : USJ_TOTAL_EXACT;
    for (size_t i = 0; i < cx.nall && !cx.err; i++)
        if (cx.all[i]->p)               /* a cursor that stopped on bad bytes */
            cx.err = usj_postings_error(cx.all[i]->p);
    if (cx.err) {
        rc = cx.err;
        goto done;
    }
    if (cx.timed_out) {
        rc = usj_error_set(USJ_ETIMEOUT, "query timed out after %u ms",
                           timeout);
        goto done;
    }
    if (h.n > 1)
        ent_sort(h.e, h.n);
    if (h.n > o.offset) {
        n = h.n - o.offset;
        hits = n <= sizeof hitbuf / sizeof *hitbuf ? hitbuf
                                                   : malloc(n * sizeof *hits);
        if (!hits) {
            n = 0;
            rc = nomem();
            goto done;
        }
        memset(hits, 0, n * sizeof *hits);
        /* fetch stored text in doc order: neighbours share a compressed
         * block, so each block is inflated once */
        uint32_t *ord = n <= sizeof obuf / sizeof *obuf ? obuf
                                                        : malloc(n * sizeof *ord);
        if (!ord) {
            rc = nomem();
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            ord[i] = (uint32_t)i;
        if (n > 16) {
            qsort_r(ord, n, sizeof *ord, byorder_cmp, h.e + o.offset);
        } else {                    /* a page: insertion sort, no malloc */
            const ent *base = h.e + o.offset;
            for (size_t i = 1; i < n; i++) {
                uint32_t x = ord[i];
                size_t j = i;
                for (; j > 0 && base[ord[j - 1]].d > base[x].d; j--)
                    ord[j] = ord[j - 1];
                ord[j] = x;
            }
        }
        for (size_t i = 0; i < n && !rc; i++) {
            uint32_t d = h.e[o.offset + ord[i]].d;
            double sc = h.e[o.offset + ord[i]].s;
            rc = (o.flags & USJ_SEARCH_NOTEXT)
                     ? usj_qhit_build_notext(&cx, d, sc, &hits[ord[i]])
                     : usj_qhit_build(&cx, q, text_cache_for(d), d, sc,
                                      o.explain, &hits[ord[i]]);
        }
        if (ord != obuf)
            free(ord);
        if (rc)
            goto done;
    }
    r.took_us = (now_ns() - t0) / 1000;
    rc = usj_results_pack(out, &r, hits, n, idx->root);
done:
    if (rc)
        for (size_t i = 0; i < n; i++)
            usj_hit_free_owned(&hits[i]);
    if (hits != hitbuf)
        free(hits);
    if (h.e != hbuf)
        free(h.e);
    cx_free(&cx);
    return rc;
}
