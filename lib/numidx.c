/* lib/numidx.c — the numeric index: sorting of (type, value, doc) records
 * for the writer, and the reader's range lookup (usj_index_numrange) and
 * deep check.
 *
 * NUMBERS section:
 *   per type (money, percent, year, count): count u64, off u64 (from the
 *   start of the section)
 *   per type: count records {value i64, doc u32} (12 bytes, unaligned),
 *   sorted by (value, doc); value = round(number * USJ_NUM_SCALE). */
#include <stdlib.h>
#include <string.h>

#include "index_build.h"
#include "usj/error.h"

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

int usj_numidx_open(usj_index *idx)
{
    const usj_section *s = &idx->sec[USJ_SECTION_NUMBERS];
    if (s->len < USJ_NUM_HEADER)
        return usj_error_set(USJ_ECORRUPT, "numbers section: too short");
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        uint64_t n = usj_ld64(s->p + 16 * t), off = usj_ld64(s->p + 16 * t + 8);
        if (off < USJ_NUM_HEADER || off > s->len ||
            n > (s->len - off) / USJ_NUM_RECORD)
            return usj_error_set(USJ_ECORRUPT, "numbers section: table %d out of bounds", t);
        if (n != idx->meta[USJ_META_NUM0 + t])
            return usj_error_set(USJ_ECORRUPT, "numbers section: count of table %d differs from meta", t);
        idx->num_count[t] = n;
        idx->num_rec[t] = s->p + off;
    }
    return 0;
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
    if (lo > hi)
        return 0;
    const uint8_t *r = idx->num_rec[t];
    uint64_t a = 0, b = idx->num_count[t];
    while (a < b) {                       /* first value >= lo */
        uint64_t m = a + (b - a) / 2;
        if ((int64_t)usj_ld64(r + m * USJ_NUM_RECORD) < lo)
            a = m + 1;
        else
            b = m;
    }
    uint64_t end = a;
    while (end < idx->num_count[t] && (int64_t)usj_ld64(r + end * USJ_NUM_RECORD) <= hi)
        end++;
    if (end == a)
        return 0;
    uint32_t *v = malloc((size_t)(end - a) * sizeof *v);
    if (!v)
        return usj_error_set(USJ_ENOMEM, "out of memory (number range)");
    size_t n = 0;
    for (uint64_t i = a; i < end; i++) {
        uint32_t d = usj_ld32(r + i * USJ_NUM_RECORD + 8);
        if (d < idx->ndocs)       /* out-of-range ids are left to the check */
            v[n++] = d;
    }
    qsort(v, n, sizeof *v, cmp_u32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[k - 1] != v[i])
            v[k++] = v[i];
    if (k == 0) {
        free(v);
        return 0;
    }
    *docs = v;
    *ndocs = k;
    return 0;
}

int usj_numidx_check(const usj_index *idx)
{
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        const uint8_t *r = idx->num_rec[t];
        for (uint64_t i = 0; i < idx->num_count[t]; i++) {
            int64_t v = (int64_t)usj_ld64(r + i * USJ_NUM_RECORD);
            uint32_t d = usj_ld32(r + i * USJ_NUM_RECORD + 8);
            if (d >= idx->ndocs)
                return usj_error_set(USJ_ECORRUPT, "numbers section: doc id out of range");
            if (i > 0) {
                int64_t pv = (int64_t)usj_ld64(r + (i - 1) * USJ_NUM_RECORD);
                uint32_t pd = usj_ld32(r + (i - 1) * USJ_NUM_RECORD + 8);
                if (pv > v || (pv == v && pd > d))
                    return usj_error_set(USJ_ECORRUPT, "numbers section: table %d not sorted", t);
            }
        }
    }
    return 0;
}
