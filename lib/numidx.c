/* lib/numidx.c — the numeric index: the writer's sorting and block encoder
 * of (type, value, doc) records, and the reader's range lookup
 * (usj_index_numrange) and deep check.
 *
 * NUMBERS section (value = round(number * USJ_NUM_SCALE) as i64):
 *   data: per type in order (money, percent, year, count), records sorted by
 *     (value, doc) in blocks of USJ_NUM_BLOCK (64): per record varint
 *     (value - previous value in the block, as u64; 0 for the first) and
 *     varint doc;
 *   per type a block index: nblocks x {first value i64, block offset u64
 *     (from the section start)};
 *   trailer (the last 160 bytes): per type {count u64, nblocks u64,
 *     index offset u64, data offset u64, data length u64}. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "index_build.h"
#include "usj/error.h"

#define NUM_TRAILER (40u * USJ_NUM_NTYPES)

int usj_wnum_cmp(const usj_wnum *a, const usj_wnum *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    if (a->value != b->value)
        return a->value < b->value ? -1 : 1;
    if (a->doc != b->doc)
        return a->doc < b->doc ? -1 : 1;
    return 0;
}

static int cmp_wnum(const void *a, const void *b) { return usj_wnum_cmp(a, b); }

void usj_wnum_sort(usj_wnum *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_wnum);
}

/* ------------------------------------------------------------- writer */

void usj_numw_init(usj_numw *n, usj_spool *out)
{
    memset(n, 0, sizeof *n);
    n->out = out;
    n->start = usj_spool_tell(out);
    n->type = -1;
}

static void close_type(usj_numw *n)
{
    if (n->type >= 0)
        n->data_len[n->type] = usj_spool_tell(n->out) - n->start - n->data_off[n->type];
}

int usj_numw_add(usj_numw *n, const usj_wnum *r)
{
    int rc;
    if ((int)r->type != n->type) {
        if ((int)r->type < n->type || r->type >= USJ_NUM_NTYPES)
            return usj_error_set(USJ_EINVAL, "numbers out of order");
        close_type(n);
        n->type = (int)r->type;
        n->data_off[n->type] = usj_spool_tell(n->out) - n->start;
        n->in_block = USJ_NUM_BLOCK;
    }
    if (n->in_block == USJ_NUM_BLOCK) {
        uint8_t e[16];
        usj_st64(e, (uint64_t)r->value);
        usj_st64(e + 8, usj_spool_tell(n->out) - n->start);
        if ((rc = usj_buf_put(&n->index[n->type], e, sizeof e)))
            return rc;
        n->in_block = 0;
        n->prev = r->value;
    }
    uint8_t tmp[20];
    size_t k = usj_varint_put(tmp, (uint64_t)r->value - (uint64_t)n->prev);
    k += usj_varint_put(tmp + k, r->doc);
    n->prev = r->value;
    n->in_block++;
    n->count[n->type]++;
    return usj_spool_write(n->out, tmp, k);
}

int usj_numw_finish(usj_numw *n)
{
    close_type(n);
    int rc;
    uint64_t ioff[USJ_NUM_NTYPES];
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        ioff[t] = usj_spool_tell(n->out) - n->start;
        if ((rc = usj_spool_write(n->out, n->index[t].data, n->index[t].len)))
            return rc;
    }
    uint8_t tr[NUM_TRAILER];
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        uint8_t *e = tr + 40 * t;
        usj_st64(e, n->count[t]);
        usj_st64(e + 8, n->index[t].len / 16);
        usj_st64(e + 16, ioff[t]);
        usj_st64(e + 24, n->data_off[t]);
        usj_st64(e + 32, n->data_len[t]);
    }
    return usj_spool_write(n->out, tr, sizeof tr);
}

void usj_numw_free(usj_numw *n)
{
    for (int t = 0; t < USJ_NUM_NTYPES; t++)
        usj_buf_free(&n->index[t]);
}

/* ------------------------------------------------------------- reader */

int usj_numidx_open(usj_index *idx, unsigned flags)
{
    const usj_section *s = &idx->sec[USJ_SECTION_NUMBERS];
    if (s->len < NUM_TRAILER)
        return usj_error_set(USJ_ECORRUPT, "numbers section: too short");
    uint64_t body = s->len - NUM_TRAILER;
    const uint8_t *tr = s->p + body;
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        const uint8_t *e = tr + 40 * t;
        uint64_t n = usj_ld64(e), nb = usj_ld64(e + 8), io = usj_ld64(e + 16);
        uint64_t doff = usj_ld64(e + 24), dlen = usj_ld64(e + 32);
        if (n != idx->meta[USJ_META_NUM0 + t])
            return usj_error_set(USJ_ECORRUPT, "numbers section: count of table %d differs from meta", t);
        if (nb != (n + USJ_NUM_BLOCK - 1) / USJ_NUM_BLOCK || io > body || nb > (body - io) / 16 ||
            doff > body || dlen > body - doff || n > dlen / 2 + 1)
            return usj_error_set(USJ_ECORRUPT, "numbers section: table %d out of bounds", t);
        const uint8_t *ix = s->p + io;
        uint64_t prev = doff;
        for (uint64_t b = 0; b < nb && !(flags & USJ_OPEN_NOVERIFY); b++) {
            uint64_t o = usj_ld64(ix + 16 * b + 8);
            if (o < prev || o >= doff + dlen || (b == 0 && o != doff))
                return usj_error_set(USJ_ECORRUPT, "numbers section: block index of table %d out of order", t);
            prev = o;
        }
        idx->num_count[t] = n;
        idx->num_nblocks[t] = nb;
        idx->num_index[t] = ix;
        idx->num_data_end[t] = doff + dlen;
    }
    return 0;
}

typedef struct nblock {
    const uint8_t *p, *end;
    uint64_t left;       /* records left in the block */
    int64_t  value;
} nblock;

static void block_at(const usj_index *idx, int t, uint64_t b, nblock *nb)
{
    const usj_section *s = &idx->sec[USJ_SECTION_NUMBERS];
    const uint8_t *e = idx->num_index[t] + 16 * b;
    uint64_t end = b + 1 < idx->num_nblocks[t] ? usj_ld64(e + 16 + 8) : idx->num_data_end[t];
    uint64_t o = usj_ld64(e + 8);
    if (o > end || end > idx->num_data_end[t])
        o = end = 0;    /* out of order (unchecked under NOVERIFY): no bytes,
                           block_next reports a truncated block */
    nb->p = s->p + o;
    nb->end = s->p + end;
    nb->value = (int64_t)usj_ld64(e);
    nb->left = b + 1 < idx->num_nblocks[t] ? USJ_NUM_BLOCK
                                            : idx->num_count[t] - b * USJ_NUM_BLOCK;
}

/* Next record of the block: 1, 0 at its end, or USJ_ECORRUPT. */
static int block_next(nblock *nb, int64_t *value, uint32_t *doc)
{
    if (nb->left == 0)
        return 0;
    uint64_t d;
    if (usj_varint_get(&nb->p, nb->end, &d) || usj_varint_get32(&nb->p, nb->end, doc))
        return usj_error_set(USJ_ECORRUPT, "numbers section: truncated block");
    nb->value = (int64_t)((uint64_t)nb->value + d);
    *value = nb->value;
    nb->left--;
    return 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int usj_index_numrange(const usj_index *idx, usj_numtype t, int64_t lo,
                       int64_t hi, uint32_t **docs, size_t *ndocs)
{
    *docs = NULL;
    *ndocs = 0;
    if ((int)t < 0 || t >= USJ_NUM_NTYPES)
        return usj_error_set(USJ_EINVAL, "bad number type %d", (int)t);
    uint64_t nbk = idx->num_nblocks[t];
    if (lo > hi || nbk == 0)
        return 0;
    /* last block whose first value < lo (values >= lo may start in it) */
    uint64_t a = 0, b = nbk;
    while (b - a > 1) {
        uint64_t m = a + (b - a) / 2;
        if ((int64_t)usj_ld64(idx->num_index[t] + 16 * m) < lo)
            a = m;
        else
            b = m;
    }
    uint32_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, done = 0;
    for (uint64_t k = a; k < nbk && !done && !rc; k++) {
        nblock nb;
        block_at(idx, t, k, &nb);
        int64_t val;
        uint32_t d;
        int r;
        while ((r = block_next(&nb, &val, &d)) == 1) {
            if (val < lo)
                continue;
            if (val > hi) {
                done = 1;
                break;
            }
            if (d >= idx->ndocs)
                continue;          /* left to the check */
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                uint32_t *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    rc = usj_error_set(USJ_ENOMEM, "out of memory (number range)");
                    break;
                }
                v = nv;
            }
            v[n++] = d;
        }
        if (r < 0)
            rc = r;
    }
    if (rc || n == 0) {
        free(v);
        return rc;
    }
    qsort(v, n, sizeof *v, cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    *docs = v;
    *ndocs = k;
    return 0;
}

int usj_numidx_check(const usj_index *idx)
{
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        uint64_t count = 0;
        int64_t pv = INT64_MIN;
        uint32_t pd = 0;
        for (uint64_t b = 0; b < idx->num_nblocks[t]; b++) {
            nblock nb;
            block_at(idx, t, b, &nb);
            int64_t v;
            uint32_t d;
            int r;
            while ((r = block_next(&nb, &v, &d)) == 1) {
                if (d >= idx->ndocs)
                    return usj_error_set(USJ_ECORRUPT, "numbers section: doc id out of range");
                if (count > 0 && (v < pv || (v == pv && d < pd)))
                    return usj_error_set(USJ_ECORRUPT, "numbers section: table %d not sorted", t);
                if (count == 0 && v != (int64_t)usj_ld64(idx->num_index[t] + 16 * b))
                    return usj_error_set(USJ_ECORRUPT, "numbers section: block index value differs");
                pv = v;
                pd = d;
                count++;
            }
            if (r < 0)
                return r;
            if (nb.p != nb.end)
                return usj_error_set(USJ_ECORRUPT, "numbers section: block length differs");
        }
        if (count != idx->num_count[t])
            return usj_error_set(USJ_ECORRUPT, "numbers section: count of table %d differs", t);
    }
    return 0;
}
