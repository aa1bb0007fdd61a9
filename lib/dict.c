/* lib/dict.c — the term dictionary: the writer's front-coded block builder
 * and the reader's exact lookup, prefix enumeration and deep check.
 *
 * DICT section:
 *   nterms u64, nblocks u32, block_terms u32 (16)
 *   nblocks x {block_off u64 (from the start of the blocks), postings_off u64,
 *              positions_off u64 (of the block's first term)}
 *   blocks: terms in strictly increasing byte order, block_terms per block;
 *     the first term of a block: varint len, bytes; the others: varint
 *     shared-prefix length, varint suffix length, suffix bytes; after each
 *     term: varint df, cf - df, max_tf, min_len, postings len, positions len.
 *   A term's postings/positions offset is its block's base plus the lengths
 *   of the block's earlier terms (lists are stored in dictionary order). */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "index_build.h"
#include "limits.h"
#include "usj/error.h"

/* ------------------------------------------------------------- writer */

void usj_dictw_init(usj_dictw *d, usj_spool *data)
{
    memset(d, 0, sizeof *d);
    d->data = data;
}

int usj_dictw_add(usj_dictw *d, const char *term, size_t len,
                  const usj_term_info *ti)
{
    if (len == 0 || len > USJ_MAX_TERM_BYTES)
        return usj_error_set(USJ_ELIMIT, "term of %zu bytes (limit %u)", len,
                             USJ_MAX_TERM_BYTES);
    int rc;
    uint8_t tmp[80];
    size_t k = 0;
    if (d->nterms % USJ_DICT_BLOCK_TERMS == 0) {
        uint8_t e[USJ_DICT_ENTRY];
        usj_st64(e, usj_spool_tell(d->data));
        usj_st64(e + 8, ti->off);
        usj_st64(e + 16, ti->pos_off);
        if ((rc = usj_buf_put(&d->index, e, sizeof e)))
            return rc;
        d->nblocks++;
        k += usj_varint_put(tmp + k, len);
        if ((rc = usj_spool_write(d->data, tmp, k)) ||
            (rc = usj_spool_write(d->data, term, len)))
            return rc;
    } else {
        size_t pre = 0;
        while (pre < len && pre < d->prev_len && term[pre] == d->prev[pre])
            pre++;
        k += usj_varint_put(tmp + k, pre);
        k += usj_varint_put(tmp + k, len - pre);
        if ((rc = usj_spool_write(d->data, tmp, k)) ||
            (rc = usj_spool_write(d->data, term + pre, len - pre)))
            return rc;
    }
    k = 0;
    k += usj_varint_put(tmp + k, ti->df);
    k += usj_varint_put(tmp + k, ti->cf - ti->df);
    k += usj_varint_put(tmp + k, ti->max_tf);
    k += usj_varint_put(tmp + k, ti->min_len);
    k += usj_varint_put(tmp + k, ti->len);
    k += usj_varint_put(tmp + k, ti->pos_len);
    if ((rc = usj_spool_write(d->data, tmp, k)))
        return rc;
    memcpy(d->prev, term, len);
    d->prev_len = len;
    d->nterms++;
    return 0;
}

int usj_dictw_finish(usj_dictw *d, usj_spool *out)
{
    uint8_t h[USJ_DICT_HEADER];
    usj_st64(h, d->nterms);
    usj_st32(h + 8, d->nblocks);
    usj_st32(h + 12, USJ_DICT_BLOCK_TERMS);
    int rc;
    if ((rc = usj_spool_write(out, h, sizeof h)) ||
        (rc = usj_spool_write(out, d->index.data, d->index.len)) ||
        (rc = usj_spool_append(out, d->data)))
        return rc;
    return 0;
}

void usj_dictw_free(usj_dictw *d)
{
    usj_buf_free(&d->index);
}

/* ------------------------------------------------------------- reader */

int usj_dict_open(usj_index *idx)
{
    const usj_section *s = &idx->sec[USJ_SECTION_DICT];
    if (s->len < USJ_DICT_HEADER)
        return usj_error_set(USJ_ECORRUPT, "dictionary section: too short");
    idx->nterms = usj_ld64(s->p);
    idx->dict_nblocks = usj_ld32(s->p + 8);
    uint32_t bt = usj_ld32(s->p + 12);
    if (bt != USJ_DICT_BLOCK_TERMS)
        return usj_error_set(USJ_ECORRUPT, "dictionary section: bad block size %u", bt);
    uint64_t want = (idx->nterms + USJ_DICT_BLOCK_TERMS - 1) / USJ_DICT_BLOCK_TERMS;
    if (want != idx->dict_nblocks ||
        (uint64_t)idx->dict_nblocks * USJ_DICT_ENTRY > s->len - USJ_DICT_HEADER)
        return usj_error_set(USJ_ECORRUPT,
                             "dictionary section: block count does not match the terms");
    atomic_init(&idx->dict_keys, NULL);
    atomic_init(&idx->dict_lookups, 0);
    idx->dict_index = s->p + USJ_DICT_HEADER;
    idx->dict_data = idx->dict_index + (size_t)idx->dict_nblocks * USJ_DICT_ENTRY;
    idx->dict_end = s->p + s->len;
    return 0;
}

void usj_dict_close(usj_index *idx)
{
    free(atomic_load(&idx->dict_keys));
    atomic_store(&idx->dict_keys, NULL);
}

typedef struct dcur {
    const usj_index *idx;
    uint32_t blk, k, nk;       /* block, terms read in it, terms in it */
    const uint8_t *p, *end;
    char     term[USJ_MAX_TERM_BYTES];
    size_t   len;
    uint64_t off, pos_off;
    usj_term_info ti;
} dcur;

static int dict_corrupt(const char *what, uint32_t blk)
{
    return usj_error_set(USJ_ECORRUPT, "dictionary section: %s (block %u)", what, blk);
}

/* Block b's bytes, term count and its first term's list offsets. */
typedef struct dblk {
    const uint8_t *p, *end;
    uint32_t nk;
    uint64_t off, pos_off;
} dblk;

static int dblk_get(const usj_index *idx, uint32_t b, dblk *k)
{
    const uint8_t *e = idx->dict_index + (size_t)b * USJ_DICT_ENTRY;
    uint64_t size = (uint64_t)(idx->dict_end - idx->dict_data);
    uint64_t off = usj_ld64(e);
    uint64_t next = b + 1 < idx->dict_nblocks ? usj_ld64(e + USJ_DICT_ENTRY) : size;
    if (off > next || next > size)
        return dict_corrupt("block offset out of bounds", b);
    k->nk = b + 1 < idx->dict_nblocks ? USJ_DICT_BLOCK_TERMS
                                      : (uint32_t)(idx->nterms - (uint64_t)b * USJ_DICT_BLOCK_TERMS);
    k->p = idx->dict_data + off;
    k->end = idx->dict_data + next;
    k->off = usj_ld64(e + 8);
    k->pos_off = usj_ld64(e + 16);
    return 0;
}

static int dcur_block(dcur *c, uint32_t b)
{
    dblk k;
    int rc = dblk_get(c->idx, b, &k);
    if (rc)
        return rc;
    c->blk = b;
    c->k = 0;
    c->nk = k.nk;
    c->p = k.p;
    c->end = k.end;
    c->off = k.off;
    c->pos_off = k.pos_off;
    c->len = 0;
    return 0;
}

/* A term's statistics after its bytes (the six varints of the format),
 * checked; off/pos_off: where its lists start. */
static int stats_get(const uint8_t **p, const uint8_t *end, uint32_t blk,
                     uint64_t off, uint64_t pos_off, usj_term_info *ti)
{
    uint64_t v[6];
    for (int i = 0; i < 6; i++)
        if (usj_varint_get(p, end, &v[i]))
            return dict_corrupt("truncated entry", blk);
    if (v[0] == 0 || v[0] > UINT32_MAX || v[1] > UINT64_MAX - v[0] ||
        v[2] > UINT32_MAX || v[3] > UINT32_MAX)
        return dict_corrupt("bad term statistics", blk);
    if (v[4] > UINT64_MAX - off || v[5] > UINT64_MAX - pos_off)
        return dict_corrupt("postings offsets overflow", blk);
    ti->df = (uint32_t)v[0];
    ti->cf = v[0] + v[1];
    ti->max_tf = (uint32_t)v[2];
    ti->min_len = (uint32_t)v[3];
    ti->off = off;
    ti->len = v[4];
    ti->pos_off = pos_off;
    ti->pos_len = v[5];
    return 0;
}

/* Read the next term of the block: 1 = read, 0 = block done, <0 error. */
static int dcur_next(dcur *c)
{
    if (c->k == c->nk)
        return 0;
    uint64_t pre = 0, suf;
    if (c->k > 0 && usj_varint_get(&c->p, c->end, &pre))
        return dict_corrupt("truncated entry", c->blk);
    if (usj_varint_get(&c->p, c->end, &suf))
        return dict_corrupt("truncated entry", c->blk);
    if (pre > c->len || suf > USJ_MAX_TERM_BYTES - pre || pre + suf == 0 ||
        suf > (uint64_t)(c->end - c->p))
        return dict_corrupt("bad term length", c->blk);
    memcpy(c->term + pre, c->p, suf);
    c->p += suf;
    c->len = pre + suf;
    int rc = stats_get(&c->p, c->end, c->blk, c->off, c->pos_off, &c->ti);
    if (rc)
        return rc;
    c->off += c->ti.len;
    c->pos_off += c->ti.pos_len;
    c->k++;
    return 1;
}

/* Steps over the four varints df, cf - df, max_tf, min_len of a skipped
 * term: with 8 bytes left, one load finds the fourth last byte (high bit
 * clear); else (or when they span more) one varint at a time. */
static inline int skip_counts(const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    if (end - p >= 8) {
        uint64_t m = ~usj_ld64(p) & UINT64_C(0x8080808080808080);
        m &= m - 1;
        m &= m - 1;
        m &= m - 1;
        if (m) {
            *pp = p + ((unsigned)__builtin_ctzll(m) >> 3) + 1;
            return 0;
        }
    }
    uint64_t v;
    for (int i = 0; i < 4; i++)
        if (usj_varint_get(pp, end, &v))
            return -1;
    return 0;
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return alen < blen ? -1 : alen > blen;
}

/* The first 8 bytes of a string, big-endian, zero past len. Two of these
 * compare as the strings' first 8 bytes do, and unequal ones order the
 * strings as their bytes do (the shorter one's zeros only tie with zero
 * bytes, and ties go to the full compare). */
static inline uint64_t head8(const uint8_t *p, size_t len)
{
    uint8_t b[8] = {0};
    memcpy(b, p, len < 8 ? len : 8);
    return ((uint64_t)b[0] << 56) | ((uint64_t)b[1] << 48) |
           ((uint64_t)b[2] << 40) | ((uint64_t)b[3] << 32) |
           ((uint64_t)b[4] << 24) | ((uint64_t)b[5] << 16) |
           ((uint64_t)b[6] << 8) | (uint64_t)b[7];
}

/* The first term of block b (size: the dictionary data's): its bytes and
 * *len, or NULL with *why saying what is wrong. */
static inline const uint8_t *first_term(const usj_index *idx, uint64_t size,
                                        uint32_t b, uint64_t *len,
                                        const char **why)
{
    uint64_t off = usj_ld64(idx->dict_index + (size_t)b * USJ_DICT_ENTRY);
    if (off > size) {
        *why = "block offset out of bounds";
        return NULL;
    }
    const uint8_t *p = idx->dict_data + off;
    if (usj_varint_get(&p, idx->dict_end, len) || *len > (uint64_t)(idx->dict_end - p)) {
        *why = "truncated first term";
        return NULL;
    }
    return p;
}

/* Compare the first term of block b with key; *err set on corruption.
 * Bytes compared inline: the keys are short, a memcmp call costs more. */
static inline int cmp_first(const usj_index *idx, uint64_t size, uint32_t b,
                            const uint8_t *key, size_t klen, int *err)
{
    uint64_t len;
    const char *why;
    const uint8_t *p = first_term(idx, size, b, &len, &why);
    if (!p) {
        *err = dict_corrupt(why, b);
        return 0;
    }
    size_t n = len < klen ? (size_t)len : klen;
    for (size_t i = 0; i < n; i++)
        if (p[i] != key[i])
            return p[i] < key[i] ? -1 : 1;
    return len < klen ? -1 : len > klen;
}

/* Lookups of an index made before its block heads are: a process that
 * looks up a few words (usjsearch, once) never pays the pass over the
 * whole dictionary (~0.15 ms on kdocs, its pages faulted in); a server or
 * a benchmark makes them during its first queries. */
#define USJ_DICT_KEYS_AFTER 64u

/* The blocks' first-term heads (idx->dict_keys): one pass over the block
 * table, once USJ_DICT_KEYS_AFTER lookups were made (counted without a
 * lock: a count lost to a race only delays them). Threads racing here each
 * make them; the first stored wins. NULL before, when memory is short or
 * when a first term is unreadable (the lookup then reads the blocks, and
 * reports that). */
typedef uint64_t *_Atomic dict_keys_slot;

static const uint64_t *dict_keys(const usj_index *idx)
{
    dict_keys_slot *slot = (dict_keys_slot *)&idx->dict_keys;
    uint64_t *k = atomic_load_explicit(slot, memory_order_acquire);
    if (k)
        return k;
    atomic_uint *cnt = (atomic_uint *)&idx->dict_lookups;
    unsigned n = atomic_load_explicit(cnt, memory_order_relaxed);
    if (n < USJ_DICT_KEYS_AFTER) {
        atomic_store_explicit(cnt, n + 1, memory_order_relaxed);
        return NULL;
    }
    if (!(k = malloc((size_t)idx->dict_nblocks * sizeof *k)))
        return NULL;
    uint64_t size = (uint64_t)(idx->dict_end - idx->dict_data);
    for (uint32_t b = 0; b < idx->dict_nblocks; b++) {
        uint64_t len;
        const char *why;
        const uint8_t *p = first_term(idx, size, b, &len, &why);
        if (!p) {
            free(k);
            return NULL;
        }
        k[b] = head8(p, (size_t)len);
    }
    uint64_t *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(slot, &none, k,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(k);
        k = none;
    }
    return k;
}

/* Last block whose first term is < key (strict) or <= key; 0 if none.
 * Bisects the blocks' 8-byte heads (one compact array) and reads a
 * block's first term only when its head ties with the key's. */
static int find_block(const usj_index *idx, const char *key, size_t klen,
                      int strict, uint32_t *out)
{
    uint32_t lo = 0, hi = idx->dict_nblocks;   /* answer in [lo, hi) */
    uint64_t size = (uint64_t)(idx->dict_end - idx->dict_data);
    const uint64_t *keys = dict_keys(idx);
    uint64_t k8 = head8((const uint8_t *)key, klen);
    int err = 0;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c;
        if (keys && keys[mid] != k8)
            c = keys[mid] < k8 ? -1 : 1;
        else
            c = cmp_first(idx, size, mid, (const uint8_t *)key, klen, &err);
        if (err)
            return err;
        if (c < 0 || (!strict && c == 0))
            lo = mid;
        else
            hi = mid;
    }
    *out = lo;
    return 0;
}

int usj_index_term(const usj_index *idx, const char *term, size_t len,
                   usj_term_info *out)
{
    if (idx->nterms == 0 || len == 0 || len > USJ_MAX_TERM_BYTES)
        return usj_error_set(USJ_ENOTFOUND, "term not found");
    uint32_t b;
    int rc = find_block(idx, term, len, 0, &b);
    if (rc)
        return rc;
    dblk c;
    if ((rc = dblk_get(idx, b, &c)))
        return rc;
    /* No term is copied or fully decoded on the way: m is the length of
     * the common prefix of the key and the last term read, which sorts
     * before the key. By front coding, a term sharing more than m bytes
     * with it sorts before the key too, one sharing fewer after it (not
     * found); only a term sharing exactly m has its suffix compared. The
     * skipped terms' statistics are only stepped over (their list lengths
     * summed); the term found has them read and checked (stats_get). */
    const uint8_t *key = (const uint8_t *)term;
    const uint8_t *p = c.p, *end = c.end;
    uint64_t off = c.off, pos_off = c.pos_off;
    size_t m = 0, plen = 0;
    for (uint32_t k = 0; k < c.nk; k++) {
        uint64_t pre = 0, suf;
        if (k > 0 && usj_varint_get(&p, end, &pre))
            return dict_corrupt("truncated entry", b);
        if (usj_varint_get(&p, end, &suf))
            return dict_corrupt("truncated entry", b);
        if (pre > plen || suf > USJ_MAX_TERM_BYTES - pre || pre + suf == 0 ||
            suf > (uint64_t)(end - p))
            return dict_corrupt("bad term length", b);
        int r;
        if (k > 0 && pre > m) {
            r = -1;
        } else if (k > 0 && pre < m) {
            r = 1;
        } else {                    /* pre == m <= len */
            size_t i = 0, kl = len - (size_t)pre;
            while (i < suf && i < kl && p[i] == key[pre + i])
                i++;
            m = (size_t)pre + i;
            if (i < suf && i < kl)
                r = p[i] < key[pre + i] ? -1 : 1;
            else
                r = suf < kl ? -1 : suf > kl;
        }
        if (r > 0)
            break;
        p += suf;
        if (r == 0)
            return stats_get(&p, end, b, off, pos_off, out);
        plen = (size_t)(pre + suf);
        uint64_t l0, l1;
        if (skip_counts(&p, end) || usj_varint_get(&p, end, &l0) ||
            usj_varint_get(&p, end, &l1))
            return dict_corrupt("truncated entry", b);
        if (l0 > UINT64_MAX - off || l1 > UINT64_MAX - pos_off)
            return dict_corrupt("postings offsets overflow", b);
        off += l0;
        pos_off += l1;
    }
    return usj_error_set(USJ_ENOTFOUND, "term not found");
}

int usj_index_prefix(const usj_index *idx, const char *prefix, size_t len,
                     usj_term_cb cb, void *ctx)
{
    if (idx->nterms == 0 || len > USJ_MAX_TERM_BYTES)
        return 0;
    uint32_t b = 0;
    int rc = len ? find_block(idx, prefix, len, 1, &b) : 0;
    if (rc)
        return rc;
    dcur c = {.idx = idx};
    for (; b < idx->dict_nblocks; b++) {
        if ((rc = dcur_block(&c, b)))
            return rc;
        while ((rc = dcur_next(&c)) == 1) {
            if (c.len >= len && memcmp(c.term, prefix, len) == 0) {
                int r = cb(ctx, c.term, c.len, &c.ti);
                if (r)
                    return r;
            } else if (cmp_bytes(c.term, c.len, prefix, len) > 0) {
                return 0;
            }
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int usj_dict_check(const usj_index *idx)
{
    dcur c = {.idx = idx};
    char prev[USJ_MAX_TERM_BYTES];
    size_t prev_len = 0;
    uint64_t n = 0, off = 0, pos_off = 0, postings = 0, positions = 0;
    int rc;
    for (uint32_t b = 0; b < idx->dict_nblocks; b++) {
        if ((rc = dcur_block(&c, b)))
            return rc;
        if (c.off != off || c.pos_off != pos_off)
            return dict_corrupt("block's postings offsets are not contiguous", b);
        while ((rc = dcur_next(&c)) == 1) {
            if (n > 0 && cmp_bytes(prev, prev_len, c.term, c.len) >= 0)
                return dict_corrupt("terms out of order", b);
            memcpy(prev, c.term, c.len);
            prev_len = c.len;
            if ((rc = usj_postings_check(idx, c.term, c.len, &c.ti)))
                return rc;
            n++;
            postings += c.ti.df;
            positions += c.ti.cf;
        }
        if (rc < 0)
            return rc;
        if (c.p != c.end)
            return dict_corrupt("bytes left over at the end of a block", b);
        off = c.off;
        pos_off = c.pos_off;
    }
    if (n != idx->nterms)
        return usj_error_set(USJ_ECORRUPT, "dictionary section: term count differs");
    if (off != idx->sec[USJ_SECTION_POSTINGS].len)
        return usj_error_set(USJ_ECORRUPT, "postings section: length differs from the dictionary");
    if (pos_off != idx->sec[USJ_SECTION_POSITIONS].len)
        return usj_error_set(USJ_ECORRUPT, "positions section: length differs from the dictionary");
    if (postings != idx->meta[USJ_META_POSTINGS] || positions != idx->meta[USJ_META_POSITIONS])
        return usj_error_set(USJ_ECORRUPT, "meta section: postings/positions counts differ from the dictionary");
    return 0;
}
