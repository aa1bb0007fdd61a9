/* lib/postings.c — postings lists: the writer's per-term encoder and the
 * reader's cursor (usj_postings_*), plus the deep check of one list.
 *
 * A term's postings (in the POSTINGS section, at usj_term_info.off/len):
 *   if the list has more than one block (df > 128): a skip table of
 *   nblocks entries, 24 bytes each, little-endian:
 *     0  u32 last_doc  last doc id of the block
 *     4  u32 doc_off   offset of the block's bytes after the skip table
 *     8  u32 pos_off   offset of the block's positions in the term's positions
 *    12  u32 max_tf    largest tf in the block
 *    16  u32 min_len   shortest document (tokens) in the block
 *    20  f32 impact    largest BM25 term impact of the block's docs,
 *                      max tf*(k1+1)/(tf + k1*(1-b+b*len/avgdl)) computed in
 *                      double with avgdl = total_length / ndocs, stored as
 *                      IEEE-754 binary32 bits rounded up (lib/rank.h); the
 *                      reader takes NaN, < 0 or > USJ_IMPACT_MAX as corrupt
 *                      and usj_index_check recomputes every one exactly
 *   then the blocks, each: codec(n doc gaps) codec(n tf-1), where a gap is
 *   doc - (previous doc + 1), starting from 0; n = 128 except in the last
 *   block. A single-block list has no skip table (its numbers are the term's).
 * Positions (POSITIONS section, at pos_off/pos_len): per block one codec
 * run of sum(tf) values: for each doc in order, its first position, then
 * the differences to the previous position.
 *
 * The cursor decodes a block's doc ids when it enters the block, its tfs
 * on the first freq/positions request, and of its positions run only the
 * 128-value codec groups holding the docs whose positions are asked for
 * (groups before them are stepped over by their headers); nothing is
 * decoded twice. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "grow.h"
#include "index_build.h"
#include "limits.h"
#include "rank.h"
#include "usj/error.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* How many docs ahead a cursor that scores prefetches doc lengths: a
 * length read is a cache miss on a large corpus (2.7M docs: 10.8 MB). */
#define USJ_PREFETCH_AHEAD 8u

static void st_f32(uint8_t *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    usj_st32(p, u);
}

static float ld_f32(const uint8_t *p)
{
    uint32_t u = usj_ld32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ------------------------------------------------------------ encoder */

void usj_penc_init(usj_penc *e, const uint32_t *doclens, double avgdl,
                   usj_spool *posout)
{
    memset(e, 0, sizeof *e);
    e->doclens = doclens;
    e->avgdl = avgdl;
    e->posout = posout;
}

void usj_penc_begin(usj_penc *e)
{
    e->n = 0;
    e->npos = 0;
    e->base = 0;
    usj_buf_clear(&e->data);
    usj_buf_clear(&e->skips);
    e->pos_bytes = 0;
    e->df = e->max_tf = 0;
    e->min_len = UINT32_MAX;
    e->blk_max_tf = 0;
    e->blk_min_len = UINT32_MAX;
    e->blk_impact = 0;
    e->cf = 0;
}

static int scratch(usj_penc *e, size_t n)
{
    return usj_grow(&e->scratch, &e->scratch_cap, n, 1, 4096,
                    "postings encoder");
}

static int flush_block(usj_penc *e)
{
    if (e->n == 0)
        return 0;
    if (e->data.len > UINT32_MAX || e->pos_bytes > UINT32_MAX)
        return usj_error_set(USJ_ELIMIT, "a postings list exceeds 4 GB");
    uint8_t sk[USJ_SKIP_ENTRY];
    usj_st32(sk, e->docs[e->n - 1]);
    usj_st32(sk + 4, (uint32_t)e->data.len);
    usj_st32(sk + 8, (uint32_t)e->pos_bytes);
    usj_st32(sk + 12, e->blk_max_tf);
    usj_st32(sk + 16, e->blk_min_len);
    st_f32(sk + 20, usj_rank_impact_f32(e->blk_impact));
    int rc = usj_buf_put(&e->skips, sk, sizeof sk);
    if (rc)
        return rc;
    uint32_t gaps[USJ_BLOCK_DOCS_MAX];
    for (uint32_t i = 0; i < e->n; i++) {
        gaps[i] = e->docs[i] - e->base;
        e->base = e->docs[i] + 1;
        e->tfs[i] -= 1;
    }
    size_t need = usj_codec_bound(e->n) * 2;
    if (usj_codec_bound(e->npos) > need)
        need = usj_codec_bound(e->npos);
    if ((rc = scratch(e, need)))
        return rc;
    size_t k = usj_codec_encode(gaps, e->n, e->scratch);
    k += usj_codec_encode(e->tfs, e->n, e->scratch + k);
    if ((rc = usj_buf_put(&e->data, e->scratch, k)))
        return rc;
    k = usj_codec_encode(e->pos, e->npos, e->scratch);
    if ((rc = usj_spool_write(e->posout, e->scratch, k)))
        return rc;
    e->pos_bytes += k;
    e->n = 0;
    e->npos = 0;
    e->blk_max_tf = 0;
    e->blk_min_len = UINT32_MAX;
    e->blk_impact = 0;
    return 0;
}

int usj_penc_add(usj_penc *e, uint32_t doc, uint32_t tf, const uint32_t *gaps)
{
    if (tf == 0)
        return usj_error_set(USJ_EINVAL, "posting with tf 0");
    int rc = usj_grow(&e->pos, &e->pos_cap, e->npos + tf, sizeof *e->pos,
                      1024, "positions");
    if (rc)
        return rc;
    memcpy(e->pos + e->npos, gaps, tf * sizeof *gaps);
    e->npos += tf;
    uint32_t len = e->doclens[doc];
    e->docs[e->n] = doc;
    e->tfs[e->n] = tf;
    e->n++;
    e->df++;
    e->cf += tf;
    if (tf > e->blk_max_tf)
        e->blk_max_tf = tf;
    if (len < e->blk_min_len)
        e->blk_min_len = len;
    double imp = usj_rank_impact(tf, len, e->avgdl);
    if (imp > e->blk_impact)
        e->blk_impact = imp;
    if (tf > e->max_tf)
        e->max_tf = tf;
    if (len < e->min_len)
        e->min_len = len;
    return e->n == USJ_BLOCK_DOCS ? flush_block(e) : 0;
}

int usj_penc_finish(usj_penc *e, usj_spool *out, usj_term_info *ti)
{
    int rc = flush_block(e);
    if (rc)
        return rc;
    size_t nblocks = e->skips.len / USJ_SKIP_ENTRY;
    if (nblocks > 1 && (rc = usj_spool_write(out, e->skips.data, e->skips.len)))
        return rc;
    if ((rc = usj_spool_write(out, e->data.data, e->data.len)))
        return rc;
    ti->df = e->df;
    ti->cf = e->cf;
    ti->max_tf = e->max_tf;
    ti->min_len = e->min_len;
    ti->len = e->data.len + (nblocks > 1 ? e->skips.len : 0);
    ti->pos_len = e->pos_bytes;
    return 0;
}

size_t usj_penc_memory(const usj_penc *e)
{
    return e->data.cap + e->skips.cap + e->scratch_cap + e->pos_cap * 4;
}

void usj_penc_free(usj_penc *e)
{
    usj_buf_free(&e->data);
    usj_buf_free(&e->skips);
    free(e->scratch);
    free(e->pos);
    memset(e, 0, sizeof *e);
}

/* ------------------------------------------------------------- cursor */

struct usj_postings {
    const usj_index *idx;
    const uint8_t *data, *end;      /* blocks of the term */
    const uint8_t *skips;           /* NULL for a single block */
    const uint8_t *pbase, *pend;    /* positions of the term */
    uint32_t df, nblocks, max_tf, min_len;
    float    impact1;               /* single block: its impact (< 0: not yet) */
    float    max_impact;            /* of the list (< 0: not yet) */
    uint32_t blk, sblk;             /* decoded block, described block */
    uint32_t n, i;
    int      started, ended;
    int      err;                   /* USJ_ECORRUPT when a block failed */
    int      prefetch;              /* advance prefetches doc lengths */
    /* the block's tfs are decoded on the first request (freq, positions):
     * a cursor skipping through an AND or a phrase reads most blocks' doc
     * ids only. tfs[] holds tf - 1 (the stored value) once tfs_ok. */
    int      tfs_ok;
    const uint8_t *tf_at;           /* the block's tf run */
    const uint8_t *blk_end;         /* first byte after it (once tfs_ok) */
    /* positions of the decoded block: one codec run of pstart[n] values,
     * decoded a 128-value group at a time (the groups that hold a
     * requested doc's positions; the ones before are stepped over reading
     * their headers). Group g is decoded into pos[128 g ..] when
     * grp[g].done == pos_blk; grp[0..gknown].at are known group starts. */
    uint32_t pos_blk;               /* block + 1 whose pstart is valid */
    uint32_t ngroups, gknown;
    uint32_t *pos;                  /* room for 128 * ngroups values */
    size_t   pos_cap;
    struct pgroup { const uint8_t *at; uint32_t done; } *grp;  /* ngroups + 1 */
    size_t   grp_cap;
    /* the arrays (not zeroed at open: each is written before it is read,
     * and conv starts at 0, which is no block's pos_blk) */
    uint32_t docs[USJ_BLOCK_DOCS_MAX + 7];  /* UINT32_MAX past n */
    uint32_t tfs[USJ_BLOCK_DOCS_MAX];
    uint32_t pstart[USJ_BLOCK_DOCS_MAX + 1];
    uint32_t conv[USJ_BLOCK_DOCS_MAX];  /* == pos_blk: doc's gaps summed */
    int      heap;                  /* malloc'd (not the caller's memory) */
};

_Static_assert(sizeof(struct usj_postings) <= USJ_POSTINGS_BYTES,
               "USJ_POSTINGS_BYTES (lib/format.h) is too small for a cursor");

static uint32_t skip32(const usj_postings *p, uint32_t b, unsigned field)
{
    return usj_ld32(p->skips + (size_t)b * USJ_SKIP_ENTRY + field * 4);
}

static int corrupt(const usj_postings *p, const char *what, uint32_t b)
{
    (void)p;
    return usj_error_set(USJ_ECORRUPT, "postings section: %s (block %u)", what, b);
}

/* d[i] = base + sum(d[0..i]) + i (doc ids from gaps) in place; returns
 * the last one computed without wrapping (the sum cannot overflow 64 bits):
 * the caller checks it against the doc count. With SSE2, 4 sums at a time
 * (two shifted adds and the carry) where no 32-bit sum can wrap: every gap
 * < 2^24 and base < 2^31 (128 gaps + 128 ones add < 2^31, checked by
 * OR-ing the gaps in the same pass; on a wider one the gaps are recovered
 * from the 32-bit sums and summed again in 64 bits); the scalar loop was a
 * chain of one dependent add per doc. */
static uint64_t prefix_docs(uint32_t *d, uint32_t n, uint32_t base)
{
#ifdef __SSE2__
    if (n % 4 == 0 && base < UINT32_C(1) << 31) {
        const __m128i one = _mm_set1_epi32(1);
        /* the running doc id before this group: base - 1 (mod 2^32) */
        __m128i carry = _mm_set1_epi32((int)(base - 1));
        __m128i any = _mm_setzero_si128();
        for (uint32_t i = 0; i < n; i += 4) {
            __m128i g = _mm_loadu_si128((const __m128i *)(d + i));
            any = _mm_or_si128(any, g);
            __m128i v = _mm_add_epi32(g, one);
            v = _mm_add_epi32(v, _mm_slli_si128(v, 4));
            v = _mm_add_epi32(v, _mm_slli_si128(v, 8));
            v = _mm_add_epi32(v, carry);
            _mm_storeu_si128((__m128i *)(d + i), v);
            carry = _mm_shuffle_epi32(v, 0xff);
        }
        any = _mm_or_si128(any, _mm_srli_si128(any, 8));
        any = _mm_or_si128(any, _mm_srli_si128(any, 4));
        if ((uint32_t)_mm_cvtsi128_si32(any) < UINT32_C(1) << 24)
            return d[n - 1];
        /* a wide gap: the sums may have wrapped; the gaps come back
         * exactly mod 2^32 (last doc first) for the 64-bit loop */
        for (uint32_t i = n - 1; i > 0; i--)
            d[i] -= d[i - 1] + 1;
        d[0] -= base;
    }
#endif
    uint64_t acc = base;
#pragma GCC unroll 8
    for (uint32_t i = 0; i < n; i++) {
        acc += d[i];
        d[i] = (uint32_t)acc;
        acc++;
    }
    return acc - 1;
}

/* Decode block b's doc ids into docs[] (its first n entries); *tf_at gets
 * the start of its tf run. Returns n, or 0 with *rc set (USJ_ECORRUPT). */
static uint32_t decode_docs(const usj_postings *p, uint32_t b, uint32_t *docs,
                            const uint8_t **tf_at, int *rc)
{
    const uint8_t *s = p->data, *e = p->end;
    uint32_t base = 0;
    *rc = 0;
    if (p->skips) {
        uint32_t off = skip32(p, b, 1);
        if (off > (size_t)(p->end - p->data))
            return *rc = corrupt(p, "skip entry points outside the list", b), 0;
        s = p->data + off;
        if (b + 1 < p->nblocks) {
            uint32_t next = skip32(p, b + 1, 1);
            if (next < off || next > (size_t)(p->end - p->data))
                return *rc = corrupt(p, "skip entries out of order", b), 0;
            e = p->data + next;
        }
        if (b > 0)
            base = skip32(p, b - 1, 0) + 1;
        if (b > 0 && base == 0)
            return *rc = corrupt(p, "skip entry doc id overflows", b), 0;
    }
    uint32_t n = b + 1 < p->nblocks ? USJ_BLOCK_DOCS : p->df - b * USJ_BLOCK_DOCS;
    if (usj_codec_decode_group(s, e, docs, n, tf_at))
        return *rc = corrupt(p, "truncated or malformed block", b), 0;
    /* doc = previous + 1 + gap: strictly increasing, so checking the last
     * bounds them all */
    if (prefix_docs(docs, n, base) >= p->idx->ndocs)
        return *rc = corrupt(p, "doc id out of range", b), 0;
    /* tf <= the doc's length is checked by the deep check only: reading
     * the length here would cost a cache miss per posting */
    if (p->skips && docs[n - 1] != skip32(p, b, 0))
        return *rc = corrupt(p, "block's last doc differs from its skip entry", b), 0;
    return n;
}

/* Decode block b's doc ids (its tfs wait for load_tfs). */
static int load_block(usj_postings *p, uint32_t b)
{
    const uint8_t *q;
    int rc;
    uint32_t n = decode_docs(p, b, p->docs, &q, &rc);
    if (!n)
        return rc;
    for (uint32_t i = n; i < USJ_BLOCK_DOCS_MAX + 7; i++)
        p->docs[i] = UINT32_MAX;            /* stops advance's windows */
    if (p->prefetch)
        for (uint32_t i = 0; i < n && i < USJ_PREFETCH_AHEAD; i++)
            __builtin_prefetch(p->idx->doclens + p->docs[i]);
    p->blk = b;
    p->sblk = b;
    p->n = n;
    p->i = 0;
    p->tfs_ok = 0;
    p->tf_at = q;
    p->blk_end = NULL;
    return 0;
}

/* Decode block b's tf run (n values at q, which decode_docs found) into
 * tfs[]; *after = the byte past it. 0 or USJ_ECORRUPT. */
static int decode_tfs(usj_postings *p, uint32_t b, const uint8_t *q,
                      uint32_t *tfs, uint32_t n, const uint8_t **after)
{
    const uint8_t *e = p->end;
    if (p->skips && b + 1 < p->nblocks)
        e = p->data + skip32(p, b + 1, 1);      /* checked by decode_docs */
    if (usj_codec_decode_group(q, e, tfs, n, after))
        return corrupt(p, "truncated or malformed block", b);
    return 0;
}

/* Decode the current block's tfs; on malformed bytes the cursor ends with
 * USJ_ECORRUPT (as a block failing to load does). */
static int load_tfs(usj_postings *p)
{
    if (p->tfs_ok)
        return 0;
    int rc = decode_tfs(p, p->blk, p->tf_at, p->tfs, p->n, &p->blk_end);
    if (rc) {
        if (!p->err)
            p->err = rc;
        p->ended = 1;
        p->started = 1;
        return rc;
    }
    p->tfs_ok = 1;
    return 0;
}

int usj_postings_open_in(usj_postings **out, usj_postings_mem *m,
                         const usj_index *idx, const usj_term_info *ti)
{
    *out = NULL;
    const usj_section *ps = &idx->sec[USJ_SECTION_POSTINGS];
    const usj_section *qs = &idx->sec[USJ_SECTION_POSITIONS];
    if (ti->df == 0 || ti->df > idx->ndocs || ti->off > ps->len ||
        ti->len > ps->len - ti->off || ti->pos_off > qs->len ||
        ti->pos_len > qs->len - ti->pos_off)
        return usj_error_set(USJ_ECORRUPT,
                             "dictionary section: postings location out of bounds");
    usj_postings *p = m ? (usj_postings *)m->bytes : malloc(sizeof *p);
    if (!p)
        return usj_error_set(USJ_ENOMEM, "out of memory (postings cursor)");
    memset(p, 0, offsetof(usj_postings, docs));   /* fields, not docs.. */
    memset(p->conv, 0, sizeof p->conv);
    p->heap = m == NULL;
    p->idx = idx;
    p->df = ti->df;
    p->max_tf = ti->max_tf;
    p->min_len = ti->min_len;
    p->impact1 = -1;
    p->max_impact = -1;
    p->nblocks = (ti->df + USJ_BLOCK_DOCS - 1) / USJ_BLOCK_DOCS;
    p->data = ps->p + ti->off;
    p->end = p->data + ti->len;
    p->pbase = qs->p + ti->pos_off;
    p->pend = p->pbase + ti->pos_len;
    int rc = 0;
    if (p->nblocks > 1) {
        size_t sk = (size_t)p->nblocks * USJ_SKIP_ENTRY;
        if (sk > ti->len)
            rc = usj_error_set(USJ_ECORRUPT,
                               "postings section: skip table longer than the list");
        p->skips = p->data;
        p->data += sk;
    }
    if (rc || (rc = load_block(p, 0))) {
        usj_postings_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int usj_postings_open(usj_postings **out, const usj_index *idx,
                      const usj_term_info *ti)
{
    return usj_postings_open_in(out, NULL, idx, ti);
}

void usj_postings_free(usj_postings *p)
{
    if (!p)
        return;
    free(p->pos);
    free(p->grp);
    if (p->heap)
        free(p);
}

static uint32_t end_list(usj_postings *p)
{
    p->ended = 1;
    p->started = 1;
    return USJ_DOC_END;
}

uint32_t usj_postings_next(usj_postings *p)
{
    if (p->ended)
        return USJ_DOC_END;
    if (!p->started) {
        p->started = 1;
        p->i = 0;
        return p->docs[0];
    }
    if (++p->i < p->n) {
        if (p->prefetch && p->i + USJ_PREFETCH_AHEAD < p->n)
            __builtin_prefetch(p->idx->doclens + p->docs[p->i + USJ_PREFETCH_AHEAD]);
        return p->docs[p->i];
    }
    if (p->blk + 1 >= p->nblocks)
        return end_list(p);
    int rc = load_block(p, p->blk + 1);
    if (rc) {
        p->err = rc;
        return end_list(p);
    }
    return p->docs[0];
}

/* First block >= from whose last doc >= target, or nblocks: gallops from
 * `from` (the target is usually in one of the next blocks), then bisects. */
static uint32_t find_block(const usj_postings *p, uint32_t from, uint32_t target)
{
    uint32_t lo = from, hi = p->nblocks;
    for (uint64_t step = 1;; step *= 2) {
        uint64_t probe = lo + step - 1;
        if (probe >= hi)
            break;
        if (skip32(p, (uint32_t)probe, 0) >= target) {
            hi = (uint32_t)probe;       /* the answer is in [lo, probe] */
            break;
        }
        lo = (uint32_t)probe + 1;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (skip32(p, mid, 0) < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t usj_postings_advance(usj_postings *p, uint32_t target)
{
    if (p->ended)
        return USJ_DOC_END;
    if (p->started && p->docs[p->i] >= target)
        return p->docs[p->i];
    if (!p->started) {
        p->started = 1;
        p->i = 0;
    }
    if (p->docs[p->n - 1] < target) {
        if (!p->skips)
            return end_list(p);
        uint32_t b = find_block(p, p->blk + 1, target);
        if (b >= p->nblocks)
            return end_list(p);
        int rc = load_block(p, b);
        if (rc) {                   /* never clears an earlier error */
            p->err = rc;
            return end_list(p);
        }
    }
    /* the target is in this block: 8 docs at a time, then the count of
     * the window's first 7 docs below the target, without branches (an
     * exit branch there was mispredicted on most calls). The block's last
     * doc >= target and the padding past a short block (UINT32_MAX) stop
     * the windows inside docs[]. */
    const uint32_t *d = p->docs;
    uint32_t i = p->i;
    while (d[i + 7] < target)
        i += 8;
    i += (d[i] < target) + (d[i + 1] < target) + (d[i + 2] < target) +
         (d[i + 3] < target) + (d[i + 4] < target) + (d[i + 5] < target) +
         (d[i + 6] < target);
    p->i = i;
    if (p->prefetch && i + USJ_PREFETCH_AHEAD < p->n)
        __builtin_prefetch(p->idx->doclens + d[i + USJ_PREFETCH_AHEAD]);
    return d[i];
}

uint32_t usj_postings_window(const usj_postings *p, const uint32_t **docs)
{
    if (p->ended || !p->started) {
        *docs = p->docs + p->n;             /* the padding: UINT32_MAX */
        return 0;
    }
    *docs = p->docs + p->i;
    return p->n - p->i;
}

void usj_postings_forward(usj_postings *p, uint32_t k)
{
    if (p->started && !p->ended && k < p->n - p->i)
        p->i += k;
}

uint32_t usj_postings_doc(const usj_postings *p)
{
    if (!p->started)
        return 0;
    return p->ended ? USJ_DOC_END : p->docs[p->i];
}

uint32_t usj_postings_freq(const usj_postings *p)
{
    if (p->ended || !p->started)
        return 0;
    if (!p->tfs_ok) {
        /* the tfs are a cache filled on demand: the cursor is never a
         * const object (usj_postings_open allocates it), only this
         * accessor's view of it is */
        usj_postings *m = (usj_postings *)p;
        if (load_tfs(m))
            return 0;
    }
    return p->tfs[p->i] + 1;
}

/* ps[i] = sum of tf[0..i) + i (where each doc's positions start in the
 * block's run, from the stored tf - 1 values), *total = the sum of all;
 * returns -1 when a tf is larger than max_tf. With SSE2, 4 docs at a time
 * when 0 < max_tf < 2^24 (128 docs then sum below 2^31, no 32-bit wrap);
 * the tf check there compares biased (signed) values. */
static int pstarts(uint32_t *ps, const uint32_t *tf, uint32_t n,
                   uint32_t max_tf, uint64_t *total)
{
#ifdef __SSE2__
    if (n % 4 == 0 && max_tf > 0 && max_tf < UINT32_C(1) << 24) {
        const __m128i one = _mm_set1_epi32(1);
        const __m128i bias = _mm_set1_epi32(INT32_MIN);
        /* tf - 1 >= max_tf  <=>  tf - 1 > max_tf - 1 (max_tf >= 1) */
        const __m128i lim = _mm_set1_epi32((int)((max_tf - 1) ^ UINT32_C(0x80000000)));
        __m128i bad = _mm_setzero_si128(), carry = _mm_setzero_si128();
        for (uint32_t i = 0; i < n; i += 4) {
            __m128i t = _mm_loadu_si128((const __m128i *)(tf + i));
            bad = _mm_or_si128(bad, _mm_cmpgt_epi32(_mm_xor_si128(t, bias), lim));
            __m128i v = _mm_add_epi32(t, one);
            __m128i s = _mm_add_epi32(v, _mm_slli_si128(v, 4));
            s = _mm_add_epi32(s, _mm_slli_si128(s, 8));
            s = _mm_add_epi32(s, carry);            /* inclusive sums */
            _mm_storeu_si128((__m128i *)(ps + i), _mm_sub_epi32(s, v));
            carry = _mm_shuffle_epi32(s, 0xff);
        }
        if (_mm_movemask_epi8(bad))
            return -1;
        *total = n ? (uint32_t)_mm_cvtsi128_si32(carry) : 0;
        return 0;
    }
#endif
    uint64_t sum = 0;
    uint32_t big = 0;
#pragma GCC unroll 8
    for (uint32_t i = 0; i < n; i++) {
        ps[i] = (uint32_t)sum;
        sum += (uint64_t)tf[i] + 1;
        big = tf[i] > big ? tf[i] : big;
    }
    *total = sum;
    return big >= max_tf ? -1 : 0;     /* tf - 1 >= max_tf */
}

/* Set up the positions of the current block: doc starts (pstart) from the
 * tfs, the group table, room for the decoded groups. */
static int positions_block(usj_postings *p)
{
    int rc = load_tfs(p);
    if (rc)
        return rc;
    uint64_t total;
    /* bounds the positions a corrupt block can ask for (without reading
     * 128 doc lengths: the requested doc's is read later) */
    if (pstarts(p->pstart, p->tfs, p->n, p->max_tf, &total))
        return corrupt(p, "tf larger than the term's largest", p->blk);
    if (total > UINT32_MAX)
        return corrupt(p, "too many positions", p->blk);
    p->pstart[p->n] = (uint32_t)total;
    const uint8_t *s = p->pbase, *e = p->pend;
    if (p->skips) {
        uint32_t off = skip32(p, p->blk, 2);
        if (off > (size_t)(p->pend - p->pbase))
            return usj_error_set(USJ_ECORRUPT,
                                 "positions section: offset out of bounds (block %u)",
                                 p->blk);
        s = p->pbase + off;
    }
    /* a byte holds at most 128 values (a width-0 group): bound the
     * allocations before trusting the tfs */
    if (total > (uint64_t)(e - s) * USJ_CODEC_BLOCK + USJ_CODEC_MINPACK)
        return usj_error_set(USJ_ECORRUPT,
                             "positions section: list shorter than its tfs");
    uint32_t ng = (uint32_t)((total + USJ_CODEC_BLOCK - 1) / USJ_CODEC_BLOCK);
    if ((rc = usj_grow(&p->pos, &p->pos_cap, (size_t)ng * USJ_CODEC_BLOCK,
                       sizeof *p->pos, 256, "positions")))
        return rc;
    size_t old = p->grp_cap;
    if ((rc = usj_grow(&p->grp, &p->grp_cap, (size_t)ng + 1, sizeof *p->grp, 8,
                       "positions")))
        return rc;
    if (p->grp_cap > old)       /* new entries: no group done */
        memset(p->grp + old, 0, (p->grp_cap - old) * sizeof *p->grp);
    p->ngroups = ng;
    p->grp[0].at = s;
    p->gknown = 0;
    p->pos_blk = p->blk + 1;
    return 0;
}

/* Values in codec group g of a run of total values. */
static inline uint32_t group_len(uint32_t total, uint32_t g)
{
    uint32_t k = total - g * USJ_CODEC_BLOCK;
    return k < USJ_CODEC_BLOCK ? k : USJ_CODEC_BLOCK;
}

/* Decode the groups that hold positions [from, to) of the block, stepping
 * over the ones before that are not decoded yet. */
static __attribute__((noinline)) int positions_groups(usj_postings *p,
                                                    uint32_t from, uint32_t to)
{
    uint32_t g0 = from / USJ_CODEC_BLOCK, g1 = (to - 1) / USJ_CODEC_BLOCK;
    uint32_t total = p->pstart[p->n];
    while (p->gknown < g0) {
        uint32_t g = p->gknown;
        if (usj_codec_skip_group(p->grp[g].at, p->pend, group_len(total, g),
                                 &p->grp[g + 1].at))
            goto bad;
        p->gknown = g + 1;
    }
    for (uint32_t g = g0; g <= g1; g++) {
        if (p->grp[g].done == p->pos_blk)
            continue;
        if (usj_codec_decode_group(p->grp[g].at, p->pend,
                                   p->pos + (size_t)g * USJ_CODEC_BLOCK,
                                   group_len(total, g), &p->grp[g + 1].at))
            goto bad;
        p->grp[g].done = p->pos_blk;
        if (p->gknown < g + 1)
            p->gknown = g + 1;
    }
    return 0;
bad:
    return usj_error_set(USJ_ECORRUPT,
                         "positions section: truncated or malformed (block %u)",
                         p->blk);
}

/* What usj_postings_positions does before a doc of a new block (or off
 * a doc), out of its line. */
static __attribute__((noinline)) int positions_start(usj_postings *p)
{
    if (p->ended || !p->started)
        return usj_error_set(USJ_EINVAL, "postings cursor is not on a doc");
    return positions_block(p);
}

int usj_postings_positions(usj_postings *p, const uint32_t **pos, uint32_t *n)
{
    *pos = NULL;
    *n = 0;
    int rc;
    /* the common case, a doc of a block set up whose group is decoded,
     * reads a few fields and sums the doc's gaps; the rest is called */
    if ((p->ended || !p->started || p->pos_blk != p->blk + 1) &&
        (rc = positions_start(p)))
        return rc;
    uint32_t i = p->i, from = p->pstart[i], to = p->pstart[i + 1];
    uint32_t *q = p->pos + from, tf = to - from;
    if (p->conv[i] != p->pos_blk) {
        /* tf <= the doc's length is left to the deep check: reading the
         * length here was a cache miss per doc (a fifth of a phrase query's
         * time on a 2.7M-doc index), and memory is bounded without it (the
         * block's tfs by the term's max_tf, the run by its bytes) */
        uint32_t g = from / USJ_CODEC_BLOCK;
        if ((g != (to - 1) / USJ_CODEC_BLOCK || p->grp[g].done != p->pos_blk) &&
            (rc = positions_groups(p, from, to)))
            return rc;
        uint64_t acc = 0;
        for (uint32_t k = 0; k < tf; k++) {
            acc += q[k];
            q[k] = (uint32_t)acc;
        }
        if (acc > UINT32_MAX)
            return usj_error_set(USJ_ECORRUPT, "positions section: position overflows");
        p->conv[i] = p->pos_blk;
    }
    *pos = q;
    *n = tf;
    return 0;
}

void usj_postings_block(const usj_postings *p, uint32_t *last_doc,
                        uint32_t *max_tf, uint32_t *min_len)
{
    if (p->ended) {
        *last_doc = USJ_DOC_END;
        *max_tf = 0;
        *min_len = UINT32_MAX;
    } else if (!p->skips) {
        *last_doc = p->docs[p->n - 1];
        *max_tf = p->max_tf;
        *min_len = p->min_len;
    } else {
        *last_doc = skip32(p, p->sblk, 0);
        *max_tf = skip32(p, p->sblk, 3);
        *min_len = skip32(p, p->sblk, 4);
    }
}

uint32_t usj_postings_shallow(usj_postings *p, uint32_t target)
{
    if (p->ended)
        return USJ_DOC_END;
    if (!p->skips)
        return p->docs[p->n - 1] >= target ? p->docs[p->n - 1] : USJ_DOC_END;
    uint32_t b = find_block(p, p->sblk, target);
    if (b >= p->nblocks)
        return USJ_DOC_END;
    p->sblk = b;
    return skip32(p, b, 0);
}

static int impact_ok(float v)
{
    return v >= 0.0f && v <= USJ_IMPACT_MAX;    /* false for NaN */
}

/* Stored impact of block b; a damaged one gives the loosest bound and
 * marks the cursor corrupt. */
static float skip_impact(usj_postings *p, uint32_t b)
{
    float v = ld_f32(p->skips + (size_t)b * USJ_SKIP_ENTRY + 20);
    if (impact_ok(v))
        return v;
    if (!p->err)
        p->err = corrupt(p, "skip entry impact is not a number in [0, k1+1]", b);
    return USJ_IMPACT_MAX;
}

/* A single-block list has no skip table: its impact comes from its docs
 * (decoded at open), computed exactly as the writer would store it. */
static float block0_impact(usj_postings *p)
{
    if (p->impact1 < 0) {
        if (load_tfs(p))
            return USJ_IMPACT_MAX;      /* the loosest bound; p->err is set */
        double m = 0, avgdl = p->idx->avglen;
        for (uint32_t i = 0; i < p->n; i++) {
            double v = usj_rank_impact(p->tfs[i] + 1, p->idx->doclens[p->docs[i]],
                                       avgdl);
            if (v > m)
                m = v;
        }
        p->impact1 = usj_rank_impact_f32(m);
    }
    return p->impact1;
}

float usj_postings_block_impact(usj_postings *p)
{
    if (p->ended)
        return 0.0f;
    return p->skips ? skip_impact(p, p->sblk) : block0_impact(p);
}

float usj_postings_max_impact(usj_postings *p)
{
    if (p->max_impact < 0) {
        if (!p->skips) {
            p->max_impact = block0_impact(p);
        } else {
            float m = 0;
            for (uint32_t b = 0; b < p->nblocks; b++) {
                float v = skip_impact(p, b);
                if (v > m)
                    m = v;
            }
            p->max_impact = m;
        }
    }
    return p->max_impact;
}

uint32_t usj_postings_nblocks(const usj_postings *p)
{
    return p->nblocks;
}

float usj_postings_impact_at(usj_postings *p, uint32_t b)
{
    if (b >= p->nblocks)
        return 0.0f;
    return p->skips ? skip_impact(p, b) : block0_impact(p);
}

void usj_postings_bounds_at(const usj_postings *p, uint32_t b, uint32_t *first,
                            uint32_t *max_tf, uint32_t *min_len)
{
    if (!p->skips || b >= p->nblocks) {
        *first = 0;
        *max_tf = p->max_tf;
        *min_len = p->min_len;
        return;
    }
    *first = b ? skip32(p, b - 1, 0) + 1 : 0;
    *max_tf = skip32(p, b, 3);
    *min_len = skip32(p, b, 4);
}

uint32_t usj_postings_read_block(usj_postings *p, uint32_t b, uint32_t *docs,
                                 uint32_t *tfs)
{
    if (p->err || b >= p->nblocks)
        return 0;
    int rc;
    if (b == p->blk) {          /* decoded already (block 0 from the open) */
        if (load_tfs(p))
            return 0;
        memcpy(docs, p->docs, p->n * sizeof *docs);
        memcpy(tfs, p->tfs, p->n * sizeof *tfs);
        return p->n;
    }
    const uint8_t *q, *qe;
    uint32_t n = decode_docs(p, b, docs, &q, &rc);
    if (n && !(rc = decode_tfs(p, b, q, tfs, n, &qe)))
        return n;
    p->err = rc;
    return 0;
}

void usj_postings_prefetch_lengths(usj_postings *p, int on)
{
    p->prefetch = on;
}

int usj_postings_error(const usj_postings *p)
{
    return p->err;
}

/* -------------------------------------------------------------- check */

/* Is block b's stored impact exactly what the writer stores for these docs
 * (bit for bit: same double expression, same rounding up)? */
static int check_impact(const usj_postings *p, uint32_t b, double impact)
{
    float want = usj_rank_impact_f32(impact);
    float got = ld_f32(p->skips + (size_t)b * USJ_SKIP_ENTRY + 20);
    return impact_ok(got) && memcmp(&want, &got, sizeof got) == 0;
}

int usj_postings_check(const usj_index *idx, const char *term, size_t len,
                       const usj_term_info *ti)
{
    usj_postings *p;
    int rc = usj_postings_open(&p, idx, ti);
    if (rc)
        return rc;
    uint64_t df = 0, cf = 0;
    uint32_t max_tf = 0, min_len = UINT32_MAX, prev = 0;
    uint32_t bmax = 0, bmin = UINT32_MAX, blk = 0;
    double bimp = 0, avgdl = idx->avglen;
    const uint8_t *pend_expect = p->pbase;
    for (uint32_t d = usj_postings_next(p); d != USJ_DOC_END; d = usj_postings_next(p)) {
        if (p->blk != blk) {
            if (p->skips && (skip32(p, blk, 3) != bmax || skip32(p, blk, 4) != bmin)) {
                rc = corrupt(p, "skip entry max tf / min length wrong", blk);
                goto done;
            }
            if (p->skips && !check_impact(p, blk, bimp)) {
                rc = corrupt(p, "skip entry impact wrong", blk);
                goto done;
            }
            blk = p->blk;
            bmax = 0;
            bmin = UINT32_MAX;
            bimp = 0;
        }
        if (df && d <= prev) {
            rc = corrupt(p, "doc ids not increasing", p->blk);
            goto done;
        }
        prev = d;
        df++;
        uint32_t tf = usj_postings_freq(p), np;
        if (p->err) {           /* the block's tfs failed to decode */
            rc = p->err;
            goto done;
        }
        const uint32_t *pos;
        if ((rc = usj_postings_positions(p, &pos, &np)))
            goto done;
        for (uint32_t k = 1; k < np; k++)
            if (pos[k] < pos[k - 1]) {
                rc = usj_error_set(USJ_ECORRUPT, "positions section: not ascending");
                goto done;
            }
        if (p->i + 1 == p->n) {
            if (p->skips && p->blk + 1 < p->nblocks &&
                p->blk_end != p->data + skip32(p, p->blk + 1, 1)) {
                rc = corrupt(p, "block length differs from skip data", p->blk);
                goto done;
            }
            /* every doc's positions are decoded: so is every group */
            pend_expect = p->grp[p->ngroups].at;
            if (p->skips && p->blk + 1 < p->nblocks &&
                pend_expect != p->pbase + skip32(p, p->blk + 1, 2)) {
                rc = usj_error_set(USJ_ECORRUPT, "positions section: block length differs from skip data");
                goto done;
            }
            if (p->blk + 1 == p->nblocks && p->blk_end != p->end) {
                rc = corrupt(p, "list length differs from the dictionary", p->blk);
                goto done;
            }
        }
        cf += tf;
        uint32_t dl = idx->doclens[d];
        if (tf > dl) {
            rc = corrupt(p, "tf larger than the document", p->blk);
            goto done;
        }
        if (tf > max_tf) max_tf = tf;
        if (dl < min_len) min_len = dl;
        if (tf > bmax) bmax = tf;
        if (dl < bmin) bmin = dl;
        double imp = usj_rank_impact(tf, dl, avgdl);
        if (imp > bimp) bimp = imp;
    }
    if (p->skips && (skip32(p, blk, 3) != bmax || skip32(p, blk, 4) != bmin)) {
        rc = corrupt(p, "skip entry max tf / min length wrong", blk);
        goto done;
    }
    if (p->skips && !p->err && !check_impact(p, blk, bimp)) {
        rc = corrupt(p, "skip entry impact wrong", blk);
        goto done;
    }
    if (p->err) {
        rc = p->err;          /* the cursor stopped on corrupt bytes */
        goto done;
    }
    if (df != ti->df || cf != ti->cf || max_tf != ti->max_tf || min_len != ti->min_len) {
        rc = usj_error_set(USJ_ECORRUPT,
                           "dictionary section: statistics of term '%.*s' differ from its postings",
                           (int)(len > 64 ? 64 : len), term);
        goto done;
    }
    if (pend_expect != p->pend) {
        rc = usj_error_set(USJ_ECORRUPT,
                           "positions section: length of term '%.*s' differs from the dictionary",
                           (int)(len > 64 ? 64 : len), term);
        goto done;
    }
done:
    usj_postings_free(p);
    return rc;
}
