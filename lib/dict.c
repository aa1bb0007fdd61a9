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
    idx->dict_index = s->p + USJ_DICT_HEADER;
    idx->dict_data = idx->dict_index + (size_t)idx->dict_nblocks * USJ_DICT_ENTRY;
    idx->dict_end = s->p + s->len;
    return 0;
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

static int dcur_block(dcur *c, uint32_t b)
{
    const usj_index *idx = c->idx;
    const uint8_t *e = idx->dict_index + (size_t)b * USJ_DICT_ENTRY;
    uint64_t size = (uint64_t)(idx->dict_end - idx->dict_data);
    uint64_t off = usj_ld64(e);
    uint64_t next = b + 1 < idx->dict_nblocks ? usj_ld64(e + USJ_DICT_ENTRY) : size;
    if (off > next || next > size)
        return dict_corrupt("block offset out of bounds", b);
    c->blk = b;
    c->k = 0;
    c->nk = b + 1 < idx->dict_nblocks ? USJ_DICT_BLOCK_TERMS
                                      : (uint32_t)(idx->nterms - (uint64_t)b * USJ_DICT_BLOCK_TERMS);
    c->p = idx->dict_data + off;
    c->end = idx->dict_data + next;
    c->off = usj_ld64(e + 8);
    c->pos_off = usj_ld64(e + 16);
    c->len = 0;
    return 0;
}

/* Read the next term of the block: 1 = read, 0 = block done, <0 error. */
static int dcur_next(dcur *c)
{
    if (c->k == c->nk)
        return 0;
    uint64_t pre = 0, suf, v[6];
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
    for (int i = 0; i < 6; i++)
        if (usj_varint_get(&c->p, c->end, &v[i]))
            return dict_corrupt("truncated entry", c->blk);
    if (v[0] == 0 || v[0] > UINT32_MAX || v[1] > UINT64_MAX - v[0] ||
        v[2] > UINT32_MAX || v[3] > UINT32_MAX)
        return dict_corrupt("bad term statistics", c->blk);
    c->ti.df = (uint32_t)v[0];
    c->ti.cf = v[0] + v[1];
    c->ti.max_tf = (uint32_t)v[2];
    c->ti.min_len = (uint32_t)v[3];
    c->ti.off = c->off;
    c->ti.len = v[4];
    c->ti.pos_off = c->pos_off;
    c->ti.pos_len = v[5];
    if (v[4] > UINT64_MAX - c->off || v[5] > UINT64_MAX - c->pos_off)
        return dict_corrupt("postings offsets overflow", c->blk);
    c->off += v[4];
    c->pos_off += v[5];
    c->k++;
    return 1;
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0;
    if (r)
        return r;
    return alen < blen ? -1 : alen > blen;
}

/* Compare the first term of block b with key; *err set on corruption. */
static int cmp_first(const usj_index *idx, uint32_t b, const char *key,
                     size_t klen, int *err)
{
    const uint8_t *e = idx->dict_index + (size_t)b * USJ_DICT_ENTRY;
    uint64_t size = (uint64_t)(idx->dict_end - idx->dict_data);
    uint64_t off = usj_ld64(e), len;
    if (off > size) {
        *err = dict_corrupt("block offset out of bounds", b);
        return 0;
    }
    const uint8_t *p = idx->dict_data + off;
    if (usj_varint_get(&p, idx->dict_end, &len) || len > (uint64_t)(idx->dict_end - p)) {
        *err = dict_corrupt("truncated first term", b);
        return 0;
    }
    return cmp_bytes((const char *)p, (size_t)len, key, klen);
}

/* Last block whose first term is < key (strict) or <= key; 0 if none. */
static int find_block(const usj_index *idx, const char *key, size_t klen,
                      int strict, uint32_t *out)
{
    uint32_t lo = 0, hi = idx->dict_nblocks;   /* answer in [lo, hi) */
    int err = 0;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = cmp_first(idx, mid, key, klen, &err);
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
    dcur c = {.idx = idx};
    if ((rc = dcur_block(&c, b)))
        return rc;
    /* No term is copied or fully decoded on the way: m is the length of
     * the common prefix of the key and the last term read, which sorts
     * before the key. By front coding, a term sharing more than m bytes
     * with it sorts before the key too, one sharing fewer after it (not
     * found); only a term sharing exactly m has its suffix compared. The
     * skipped terms' statistics are only stepped over (their list lengths
     * summed); the term found is decoded and checked by dcur_next. */
    const uint8_t *key = (const uint8_t *)term;
    size_t m = 0;
    while (c.k < c.nk) {
        const uint8_t *start = c.p;
        uint64_t pre = 0, suf, v;
        if (c.k > 0 && usj_varint_get(&c.p, c.end, &pre))
            return dict_corrupt("truncated entry", c.blk);
        if (usj_varint_get(&c.p, c.end, &suf))
            return dict_corrupt("truncated entry", c.blk);
        if (pre > c.len || suf > USJ_MAX_TERM_BYTES - pre || pre + suf == 0 ||
            suf > (uint64_t)(c.end - c.p))
            return dict_corrupt("bad term length", c.blk);
        int r;
        if (c.k > 0 && pre > m) {
            r = -1;
        } else if (c.k > 0 && pre < m) {
            r = 1;
        } else {                    /* pre == m <= len */
            size_t i = 0, kl = len - (size_t)pre;
            while (i < suf && i < kl && c.p[i] == key[pre + i])
                i++;
            m = (size_t)pre + i;
            if (i < suf && i < kl)
                r = c.p[i] < key[pre + i] ? -1 : 1;
            else
                r = suf < kl ? -1 : suf > kl;
        }
        if (r > 0)
            break;
        if (r == 0) {
            c.p = start;
            if ((rc = dcur_next(&c)) < 0)
                return rc;
            *out = c.ti;
            return 0;
        }
        c.p += suf;
        c.len = (size_t)(pre + suf);
        uint64_t lens[2];
        for (int i = 0; i < 6; i++) {
            if (usj_varint_get(&c.p, c.end, &v))
                return dict_corrupt("truncated entry", c.blk);
            if (i >= 4)
                lens[i - 4] = v;
        }
        if (lens[0] > UINT64_MAX - c.off || lens[1] > UINT64_MAX - c.pos_off)
            return dict_corrupt("postings offsets overflow", c.blk);
        c.off += lens[0];
        c.pos_off += lens[1];
        c.k++;
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
