/* lib/docstore.c — stored paragraph text: the writer's block builder (a
 * preset dictionary chosen from the start of the corpus, raw DEFLATE blocks,
 * compression threads) and the reader's random access by doc id through a
 * caller-owned cache (usj_index_text, usj_textcache), plus the deep check.
 *
 * TEXT section (written while the corpus is read, so the dictionary and the
 * table come after the blocks):
 *   data: nblocks blocks; each is one raw DEFLATE stream (RFC 1951: no zlib
 *     header, no checksum; the section CRC covers it) compressed with the
 *     preset dictionary below. Uncompressed, a block holds for each of its
 *     docs a varint text length, then the texts concatenated. A block holds
 *     whole paragraphs of consecutive docs and is closed once its texts reach
 *     USJ_TEXT_BLOCK_BYTES (8 KB); its uncompressed size is at most
 *     USJ_MAX_TEXT_BLOCK.
 *   dictionary: dict_len bytes (0 ..USJ_TEXT_DICT_BYTES), given to
 *     inflateSetDictionary before each block (none if dict_len is 0).
 *   table: (nblocks + 1) entries {off u64 (from the section start),
 *     first_doc u32, ulen u32 (uncompressed bytes)}; offsets non-decreasing,
 *     first docs strictly increasing from 0; the last entry is a sentinel
 *     with off = data length (where the dictionary starts), first_doc =
 *     ndocs, ulen = 0.
 *   trailer: nblocks u32, dict_len u32.
 *
 * The dictionary (a COVER-style selection, as zstd's dictionary builder
 * does): the writer holds back the first USJ_TEXT_DICT_SAMPLE bytes of text;
 * it counts every 6-byte string of that sample (hashed), cuts the sample into
 * dict_len / 32 equal epochs and takes from each the 32-byte window whose
 * strings are the most frequent (a string's count is zeroed once taken, so
 * the segments do not repeat each other); the segments are concatenated by
 * increasing score (the most useful end up nearest to the block, at the
 * smallest distances). dict_len = min(USJ_TEXT_DICT_BYTES, sample / 16),
 * rounded down to 32; 0 under USJ_TEXT_DICT_MIN bytes of text.
 *
 * Reading one paragraph inflates its block only up to the end of that
 * paragraph's text (the lengths first, then the texts before it and its
 * own); the cache keeps that prefix, and a later doc of the same block past
 * it inflates the whole block. usj_docstore_check inflates every block
 * whole and requires the stream to end exactly at the block's last byte. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "index_build.h"
#include "limits.h"
#include "usj/error.h"

/* ------------------------------------------------------------- writer */

/* Blocks are compressed by worker threads while the writer goes on (DEFLATE
 * costs about as much as the rest of the build); a ring of jobs keeps the
 * order, and the writer thread appends the results in block order. Without
 * threads (pthread_create failed) blocks are compressed inline.
 *
 * deflateSetDictionary hashes the whole dictionary, which for 8 KB blocks
 * costs more than the block; instead a stream is primed once with the
 * dictionary and each block starts from a deflateCopy of it. */

#define DICT_DMER   6u        /* bytes of the counted strings */
#define DICT_SEG    32u       /* bytes of one dictionary segment */
#define DICT_HBITS  18u       /* counters: 1 MB (cache-resident; 4 MB chose as
                                 well on the kernel docs, 2.5x slower) */

static uint32_t dmer_hash(const uint8_t *p)
{
    uint64_t v = usj_ld32(p) | (uint64_t)(p[4] | (uint32_t)p[5] << 8) << 32;
    return (uint32_t)((v * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - DICT_HBITS));
}

typedef struct { size_t at; uint64_t score; } dict_seg;

static int seg_cmp(const void *a, const void *b)
{
    const dict_seg *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Choose the preset dictionary from the sample s[0, n) (see the top). */
static int build_dict(const uint8_t *s, size_t n, usj_buf *dict)
{
    usj_buf_clear(dict);
    size_t want = n / 16 > USJ_TEXT_DICT_BYTES ? USJ_TEXT_DICT_BYTES : n / 16;
    size_t nseg = want / DICT_SEG;
    if (n < USJ_TEXT_DICT_MIN || nseg == 0)
        return 0;
    const size_t w = DICT_SEG - DICT_DMER + 1;    /* strings in a segment */
    size_t ep = n / nseg, ns = 0;                  /* ep >= 16 * DICT_SEG */
    uint32_t *f = calloc((size_t)1 << DICT_HBITS, sizeof *f);
    uint32_t *cnt = malloc(ep * sizeof *cnt);      /* counts of an epoch's strings */
    dict_seg *sg = malloc(nseg * sizeof *sg);
    if (!f || !cnt || !sg) {
        free(f);
        free(cnt);
        free(sg);
        return usj_error_set(USJ_ENOMEM, "out of memory (text dictionary)");
    }
    for (size_t i = 0; i + DICT_DMER <= n; i++) {
        uint32_t *c = &f[dmer_hash(s + i)];
        *c += *c < UINT32_MAX;
    }
    for (size_t e = 0; e < nseg; e++) {
        size_t a = e * ep, m = ep - DICT_DMER + 1;  /* strings starting in [a, a + m) */
        for (size_t i = 0; i < m; i++)
            cnt[i] = f[dmer_hash(s + a + i)];
        uint64_t sum = 0, best;                    /* windows [a + i, a + i + DICT_SEG) */
        size_t at = 0;
        for (size_t i = 0; i < w; i++)
            sum += cnt[i];
        best = sum;
        for (size_t i = 1; i + w <= m; i++) {
            sum += cnt[i + w - 1];
            sum -= cnt[i - 1];
            if (sum > best) {
                best = sum;
                at = i;
            }
        }
        for (size_t i = 0; i < w; i++)
            f[dmer_hash(s + a + at + i)] = 0;
        sg[ns++] = (dict_seg){a + at, best};
    }
    free(cnt);
    free(f);
    qsort(sg, ns, sizeof *sg, seg_cmp);
    int rc = usj_buf_reserve(dict, ns * DICT_SEG);
    for (size_t i = 0; i < ns && !rc; i++)
        rc = usj_buf_put(dict, s + sg[i].at, DICT_SEG);
    free(sg);
    return rc;
}

/* zlib's allocations of one compressing thread. Each block's deflateCopy
 * allocates ~256 KB and the previous copy frees as much: with plain malloc,
 * glibc may give that memory back to the system and fault it in again for
 * every block (measured: 85 us per copy instead of 3), so freed buffers are
 * kept here for the next copy. A buffer carries its size in front. */
#define ZPOOL_SLOTS 8u
#define ZPOOL_HDR   16u
typedef struct zpool {
    void    *p[ZPOOL_SLOTS];
    unsigned k;
} zpool;

static voidpf zpool_alloc(voidpf op, uInt items, uInt size)
{
    zpool *z = op;
    size_t n = (size_t)items * size;
    if (size && n / size != items)
        return Z_NULL;
    for (unsigned i = 0; i < z->k; i++) {
        size_t have;
        memcpy(&have, z->p[i], sizeof have);
        if (have == n) {
            char *p = z->p[i];
            z->p[i] = z->p[--z->k];
            return p + ZPOOL_HDR;
        }
    }
    if (n > SIZE_MAX - ZPOOL_HDR)
        return Z_NULL;
    char *p = malloc(n + ZPOOL_HDR);
    if (!p)
        return Z_NULL;
    memcpy(p, &n, sizeof n);
    return p + ZPOOL_HDR;
}

static void zpool_free(voidpf op, voidpf ptr)
{
    zpool *z = op;
    if (!ptr)
        return;
    char *p = (char *)ptr - ZPOOL_HDR;
    if (z->k < ZPOOL_SLOTS)
        z->p[z->k++] = p;
    else
        free(p);
}

static void zpool_drain(zpool *z)
{
    while (z && z->k)
        free(z->p[--z->k]);
}

/* A deflate stream primed with the dictionary (raw DEFLATE, 32 KB window);
 * its copies allocate from pool. */
static int prime(z_stream *zp, int *init, const usj_buf *dict, zpool *pool)
{
    memset(zp, 0, sizeof *zp);
    zp->zalloc = zpool_alloc;
    zp->zfree = zpool_free;
    zp->opaque = pool;
    if (deflateInit2(zp, USJ_TEXT_ZLEVEL, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return usj_error_set(USJ_ENOMEM, "zlib: cannot initialise deflate");
    *init = 1;
    if (dict->len && deflateSetDictionary(zp, (const Bytef *)dict->data,
                                         (uInt)dict->len) != Z_OK)
        return usj_error_set(USJ_EIO, "zlib: deflateSetDictionary failed");
    return 0;
}

/* Compress one block into out: z becomes a copy of the primed zp. */
static int compress_block(z_stream *z, int *zinit, z_stream *zp, const usj_buf *lens,
                          const usj_buf *text, usj_buf *out)
{
    size_t total = lens->len + text->len;
    if (*zinit) {
        deflateEnd(z);
        *zinit = 0;
    }
    if (deflateCopy(z, zp) != Z_OK)
        return usj_error_set(USJ_ENOMEM, "zlib: deflateCopy failed");
    *zinit = 1;
    size_t bound = deflateBound(z, (uLong)total) + 64;
    usj_buf_clear(out);
    if (usj_buf_reserve(out, bound))
        return USJ_ENOMEM;
    z->next_out = (Bytef *)out->data;
    z->avail_out = (uInt)bound;
    z->next_in = (Bytef *)(lens->data ? lens->data : "");
    z->avail_in = (uInt)lens->len;
    if (deflate(z, Z_NO_FLUSH) != Z_OK)
        return usj_error_set(USJ_EIO, "zlib: deflate failed");
    z->next_in = (Bytef *)(text->data ? text->data : "");
    z->avail_in = (uInt)text->len;
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
        return usj_error_set(USJ_EIO, "zlib: deflate did not finish");
    out->len = bound - z->avail_out;
    return 0;
}

enum { JOB_FREE = 0, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

static void *worker(void *arg)
{
    usj_textw *t = arg;
    z_stream z, zp;
    int zinit = 0, zpinit = 0, primed = 0;
    zpool pool = {{NULL}, 0};
    pthread_mutex_lock(&t->mu);
    while (!t->quit) {
        usj_tjob *j = NULL;
        for (uint64_t q = t->head; q < t->tail && !j; q++)
            if (t->jobs[q % USJ_TEXTW_JOBS].state == JOB_QUEUED)
                j = &t->jobs[q % USJ_TEXTW_JOBS];
        if (!j) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&t->mu);
        /* jobs are queued only once the dictionary is final */
        int rc = 0;
        if (!primed) {
            if (zpinit)                 /* a failed earlier attempt */
                deflateEnd(&zp);
            zpinit = 0;
            rc = prime(&zp, &zpinit, &t->dict, &pool);
            primed = rc == 0;
        }
        if (!rc)
            rc = compress_block(&z, &zinit, &zp, &j->lens, &j->text, &j->out);
        const char *msg = rc ? usj_error_last() : "";
        pthread_mutex_lock(&t->mu);
        j->rc = rc;
        snprintf(j->msg, sizeof j->msg, "%s", msg);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    if (zinit)
        deflateEnd(&z);
    if (zpinit)
        deflateEnd(&zp);
    zpool_drain(&pool);
    return NULL;
}

int usj_textw_init(usj_textw *t, usj_spool *data, unsigned nthreads)
{
    memset(t, 0, sizeof *t);
    t->data = data;
    if (pthread_mutex_init(&t->mu, NULL) != 0)
        return 0;
    if (pthread_cond_init(&t->cv, NULL) != 0) {
        pthread_mutex_destroy(&t->mu);
        return 0;
    }
    t->sync = 1;
    unsigned want = nthreads > USJ_TEXTW_THREADS ? USJ_TEXTW_THREADS : nthreads;
    for (unsigned i = 0; i < want; i++)
        if (pthread_create(&t->th[t->nthreads], NULL, worker, t) == 0)
            t->nthreads++;
    return 0;
}

/* Append a compressed block to the spool and the table. */
static int append_block(usj_textw *t, const usj_buf *z, uint32_t first_doc, size_t ulen)
{
    uint8_t e[USJ_TEXT_ENTRY];
    usj_st64(e, t->comp_bytes);
    usj_st32(e + 8, first_doc);
    usj_st32(e + 12, (uint32_t)ulen);
    int rc;
    if ((rc = usj_buf_put(&t->entries, e, sizeof e)) ||
        (rc = usj_spool_write(t->data, z->data, z->len)))
        return rc;
    t->comp_bytes += z->len;
    t->nblocks++;
    return 0;
}

/* Wait for the oldest job and append its block. */
static int drain_one(usj_textw *t)
{
    usj_tjob *j = &t->jobs[t->head % USJ_TEXTW_JOBS];
    pthread_mutex_lock(&t->mu);
    while (j->state != JOB_DONE)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    int rc = j->rc ? usj_error_set(j->rc, "%s", j->msg)
                   : append_block(t, &j->out, j->first, j->lens.len + j->text.len);
    pthread_mutex_lock(&t->mu);      /* workers scan [head, tail) */
    j->state = JOB_FREE;
    t->head++;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* Add one paragraph to the open block (the dictionary is final). */
static int block_add(usj_textw *t, uint32_t doc, const char *text, size_t len)
{
    uint8_t tmp[10];
    int rc;
    if (t->n == 0)
        t->first_doc = doc;
    if ((rc = usj_buf_put(&t->lens, tmp, usj_varint_put(tmp, len))) ||
        (rc = usj_buf_put(&t->text, text, len)))
        return rc;
    t->n++;
    return t->text.len >= USJ_TEXT_BLOCK_BYTES ? usj_textw_flush(t) : 0;
}

/* Build the dictionary from the held-back paragraphs, then block them. */
static int release_sample(usj_textw *t)
{
    int rc;
    if ((rc = build_dict((const uint8_t *)t->sample.data, t->sample.len, &t->dict)))
        return rc;
    if (t->sync)
        pthread_mutex_lock(&t->mu);    /* before any job is queued */
    t->dict_ready = 1;
    if (t->sync)
        pthread_mutex_unlock(&t->mu);
    const size_t *lens = (const size_t *)(void *)t->sample_lens.data;
    size_t off = 0;
    for (uint32_t i = 0; i < t->sample_n; i++) {
        if ((rc = block_add(t, t->sample_first + i, t->sample.data + off, lens[i])))
            return rc;
        off += lens[i];
    }
    usj_buf_free(&t->sample);
    usj_buf_free(&t->sample_lens);
    t->sample_n = 0;
    return 0;
}

int usj_textw_add(usj_textw *t, uint32_t doc, const char *text, size_t len)
{
    if (t->dict_ready)
        return block_add(t, doc, text, len);
    int rc;
    if (t->sample_n == 0)
        t->sample_first = doc;
    if ((rc = usj_buf_put(&t->sample_lens, &len, sizeof len)) ||
        (rc = usj_buf_put(&t->sample, text, len)))
        return rc;
    t->sample_n++;
    return t->sample.len >= USJ_TEXT_DICT_SAMPLE ? release_sample(t) : 0;
}

int usj_textw_flush(usj_textw *t)
{
    if (t->n == 0)
        return 0;
    size_t total = t->lens.len + t->text.len;
    if (total > USJ_MAX_TEXT_BLOCK)
        return usj_error_set(USJ_ELIMIT, "text block of %zu bytes", total);
    int rc;
    if (t->nthreads == 0) {
        if (!t->zprimed) {
            if (t->zpinit)
                deflateEnd(&t->zp);
            t->zpinit = 0;
            if (!t->zpool && !(t->zpool = calloc(1, sizeof(zpool))))
                return usj_error_set(USJ_ENOMEM, "out of memory (zlib pool)");
            if ((rc = prime(&t->zp, &t->zpinit, &t->dict, t->zpool)))
                return rc;
            t->zprimed = 1;
        }
        if ((rc = compress_block(&t->z, &t->zinit, &t->zp, &t->lens, &t->text, &t->zout)) ||
            (rc = append_block(t, &t->zout, t->first_doc, total)))
            return rc;
    } else {
        if (t->tail - t->head == USJ_TEXTW_JOBS && (rc = drain_one(t)))
            return rc;
        usj_tjob *j = &t->jobs[t->tail % USJ_TEXTW_JOBS];
        usj_buf x = j->lens;           /* hand the block over, keep its buffers */
        j->lens = t->lens;
        t->lens = x;
        x = j->text;
        j->text = t->text;
        t->text = x;
        j->first = t->first_doc;
        pthread_mutex_lock(&t->mu);
        j->state = JOB_QUEUED;
        t->tail++;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
    t->n = 0;
    usj_buf_clear(&t->lens);
    usj_buf_clear(&t->text);
    return 0;
}

int usj_textw_finish(usj_textw *t, uint32_t ndocs)
{
    int rc = t->dict_ready ? 0 : release_sample(t);
    if (!rc)
        rc = usj_textw_flush(t);
    while (!rc && t->head < t->tail)
        rc = drain_one(t);
    if (rc)
        return rc;
    uint8_t tr[USJ_TEXT_TRAILER], e[USJ_TEXT_ENTRY];
    usj_st32(tr, t->nblocks);
    usj_st32(tr + 4, (uint32_t)t->dict.len);
    usj_st64(e, t->comp_bytes);
    usj_st32(e + 8, ndocs);
    usj_st32(e + 12, 0);
    if ((rc = usj_spool_write(t->data, t->dict.data ? t->dict.data : "", t->dict.len)) ||
        (rc = usj_spool_write(t->data, t->entries.data, t->entries.len)) ||
        (rc = usj_spool_write(t->data, e, sizeof e)) ||
        (rc = usj_spool_write(t->data, tr, sizeof tr)))
        return rc;
    return 0;
}

void usj_textw_free(usj_textw *t)
{
    if (t->sync) {
        pthread_mutex_lock(&t->mu);
        t->quit = 1;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        for (unsigned i = 0; i < t->nthreads; i++)
            pthread_join(t->th[i], NULL);
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
    }
    if (t->zinit)
        deflateEnd(&t->z);
    if (t->zpinit)
        deflateEnd(&t->zp);
    zpool_drain(t->zpool);
    free(t->zpool);
    usj_buf_free(&t->lens);
    usj_buf_free(&t->text);
    usj_buf_free(&t->zout);
    usj_buf_free(&t->dict);
    usj_buf_free(&t->sample);
    usj_buf_free(&t->sample_lens);
    for (unsigned i = 0; i < USJ_TEXTW_JOBS; i++) {
        usj_buf_free(&t->jobs[i].lens);
        usj_buf_free(&t->jobs[i].text);
        usj_buf_free(&t->jobs[i].out);
    }
    usj_buf_free(&t->entries);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------- reader */

static const uint8_t *entry(const usj_index *idx, uint32_t b)
{
    return idx->text_entries + (size_t)b * USJ_TEXT_ENTRY;
}

int usj_docstore_open(usj_index *idx, unsigned flags)
{
    const usj_section *s = &idx->sec[USJ_SECTION_TEXT];
    if (s->len < USJ_TEXT_TRAILER)
        return usj_error_set(USJ_ECORRUPT, "text section: too short");
    uint32_t n = usj_ld32(s->p + s->len - 8), dl = usj_ld32(s->p + s->len - 4);
    uint64_t tab = ((uint64_t)n + 1) * USJ_TEXT_ENTRY;
    if (dl > USJ_TEXT_DICT_BYTES)
        return usj_error_set(USJ_ECORRUPT, "text section: dictionary of %u bytes", dl);
    if (tab + dl > s->len - USJ_TEXT_TRAILER)
        return usj_error_set(USJ_ECORRUPT, "text section: block table out of bounds");
    idx->text_nblocks = n;
    idx->text_data = s->p;
    idx->text_len = s->len - USJ_TEXT_TRAILER - tab - dl;
    idx->text_dict = s->p + idx->text_len;
    idx->text_dict_len = dl;
    idx->text_entries = idx->text_dict + dl;
    if (flags & USJ_OPEN_NOVERIFY)
        return 0;        /* load() checks the entries of the block it reads */
    uint64_t prev_off = 0;
    uint32_t prev_doc = 0, prev_ulen = 0;
    for (uint32_t b = 0; b <= n; b++) {
        const uint8_t *e = entry(idx, b);
        uint64_t off = usj_ld64(e);
        uint32_t fd = usj_ld32(e + 8), ulen = usj_ld32(e + 12);
        /* a block holds at least one doc, each at least a length byte */
        if (off < prev_off || off > idx->text_len || ulen > USJ_MAX_TEXT_BLOCK ||
            (b == 0 && fd != 0) || (b > 0 && (fd <= prev_doc || fd - prev_doc > prev_ulen)) ||
            (b < n && ulen == 0) || (b == n && ulen != 0))
            return usj_error_set(USJ_ECORRUPT, "text section: bad block table entry %u", b);
        prev_off = off;
        prev_doc = fd;
        prev_ulen = ulen;
    }
    if (prev_off != idx->text_len || prev_doc != idx->ndocs)
        return usj_error_set(USJ_ECORRUPT, "text section: block table does not cover the docs");
    return 0;
}

void usj_textcache_free(usj_textcache *c)
{
    if (!c)
        return;
    free(c->data);
    c->data = NULL;
    c->block = 0;
    c->len = c->cap = 0;
}

/* The cache's buffer starts with the serial number of the index that filled
 * it (8 bytes), so a cache used with another index (a daemon that reloaded)
 * never serves a stale block; the block's text follows (c->len bytes: the
 * whole block or a prefix of it), NUL-terminated. */
#define CACHE_TAG 8u

/* Inflate more of a stream into its buffer, up to `upto` bytes in all. */
static int inflate_upto(z_stream *z, uint8_t *out, size_t upto, int flush)
{
    size_t have = (size_t)z->total_out;
    if (upto <= have)
        return Z_OK;
    z->next_out = out + have;
    z->avail_out = (uInt)(upto - have);
    int r = inflate(z, flush);
    return (size_t)z->total_out == upto && (r == Z_OK || r == Z_STREAM_END) ? r : Z_DATA_ERROR;
}

/* Where doc's text lies in block b, from the lengths at the start of the
 * cached bytes: 0, 1 if the cache holds too short a prefix of the block to
 * tell or to hold the text, or USJ_ECORRUPT. */
static int find_in_block(const usj_index *idx, uint32_t b, uint32_t doc,
                         const usj_textcache *c, size_t *start, size_t *len)
{
    uint32_t fd = usj_ld32(entry(idx, b) + 8), ulen = usj_ld32(entry(idx, b) + 12);
    uint32_t n = usj_ld32(entry(idx, b + 1) + 8) - fd;
    const uint8_t *p = (const uint8_t *)c->data + CACHE_TAG, *end = p + c->len;
    uint64_t before = 0, mine = 0, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l;
        if (usj_varint_get(&p, end, &l) || l > ulen) {
            if (c->len < ulen && end - p < 10) {
                *start = SIZE_MAX;      /* the lengths are not all there */
                return 1;
            }
            return usj_error_set(USJ_ECORRUPT, "text section: bad lengths in block %u", b);
        }
        if (fd + i < doc)
            before += l;
        else if (fd + i == doc)
            mine = l;
        total += l;
    }
    size_t hdr = (size_t)(p - (const uint8_t *)c->data) - CACHE_TAG;
    if (total != ulen - hdr)
        return usj_error_set(USJ_ECORRUPT, "text section: lengths of block %u do not add up", b);
    *start = hdr + (size_t)before;     /* total == ulen - hdr: these fit */
    *len = (size_t)mine;
    return *start + *len > c->len;
}

/* Inflate block b into the cache: whole, or (full = 0) its lengths and the
 * texts up to the end of doc's. */
static int load(const usj_index *idx, uint32_t b, uint32_t doc, int full, usj_textcache *c)
{
    const uint8_t *e = entry(idx, b);
    uint64_t off = usj_ld64(e), next = usj_ld64(e + USJ_TEXT_ENTRY);
    uint32_t ulen = usj_ld32(e + 12);
    uint32_t n = usj_ld32(e + USJ_TEXT_ENTRY + 8) - usj_ld32(e + 8);
    /* what usj_docstore_open checks of every entry unless NOVERIFY */
    if (off > next || next > idx->text_len || ulen > USJ_MAX_TEXT_BLOCK)
        return usj_error_set(USJ_ECORRUPT, "text section: bad block table entry %u", b);
    if (next - off > UINT32_MAX)
        return usj_error_set(USJ_ECORRUPT, "text section: block %u too large", b);
    size_t need = CACHE_TAG + (size_t)ulen + 1;
    if (need > c->cap) {
        char *p = realloc(c->data, need);
        if (!p)
            return usj_error_set(USJ_ENOMEM, "out of memory (text block)");
        c->data = p;
        c->cap = need;
    }
    c->block = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK)
        return usj_error_set(USJ_ENOMEM, "zlib: cannot initialise inflate");
    uint8_t *out = (uint8_t *)c->data + CACHE_TAG;
    int r = Z_OK;
    if (idx->text_dict_len &&
        inflateSetDictionary(&z, idx->text_dict, idx->text_dict_len) != Z_OK)
        r = Z_DATA_ERROR;
    z.next_in = (Bytef *)(uintptr_t)(idx->text_data + off);
    z.avail_in = (uInt)(next - off);
    size_t got = ulen;
    if (r == Z_OK && full) {
        r = inflate_upto(&z, out, ulen, Z_FINISH);
        if (r != Z_STREAM_END || z.avail_in != 0)
            r = Z_DATA_ERROR;
    } else if (r == Z_OK) {
        /* the lengths (at most 5 bytes per doc), then up to doc's end */
        got = (uint64_t)n * 5 < ulen ? (size_t)n * 5 : ulen;
        r = inflate_upto(&z, out, got, Z_NO_FLUSH);
        if (r != Z_DATA_ERROR) {
            size_t start, len;
            c->len = got;
            int f = find_in_block(idx, b, doc, c, &start, &len);
            if (f < 0) {
                inflateEnd(&z);
                return f;
            } else if (f == 1 && start == SIZE_MAX)
                r = Z_DATA_ERROR;       /* lengths longer than 5 bytes each */
            else if (f == 1) {
                got = start + len;
                r = inflate_upto(&z, out, got, Z_NO_FLUSH);
            }
        }
    }
    inflateEnd(&z);
    if (r == Z_DATA_ERROR)
        return usj_error_set(USJ_ECORRUPT, "text section: block %u does not decompress", b);
    memcpy(c->data, &idx->serial, CACHE_TAG);
    out[got] = '\0';
    c->len = got;
    c->block = b + 1;
    return 0;
}

int usj_index_text(const usj_index *idx, uint32_t doc, usj_textcache *cache,
                   const char **text, size_t *len)
{
    if (doc >= idx->ndocs)
        return usj_error_set(USJ_EINVAL, "doc %u out of range (%u docs)", doc, idx->ndocs);
    uint32_t lo = 0, hi = idx->text_nblocks;   /* last block with first_doc <= doc */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (usj_ld32(entry(idx, mid) + 8) <= doc)
            lo = mid;
        else
            hi = mid;
    }
    int rc = 0;
    size_t start, l;
    if (!(cache->block == lo + 1 && cache->data &&
          memcmp(cache->data, &idx->serial, CACHE_TAG) == 0))
        rc = load(idx, lo, doc, 0, cache);
    if (!rc && (rc = find_in_block(idx, lo, doc, cache, &start, &l)) == 1) {
        /* a later doc of a partly inflated block: inflate all of it */
        if (!(rc = load(idx, lo, doc, 1, cache)) &&
            (rc = find_in_block(idx, lo, doc, cache, &start, &l)) == 1)
            rc = usj_error_set(USJ_ECORRUPT, "text section: bad lengths in block %u", lo);
    }
    if (rc)
        return rc;
    *text = cache->data + CACHE_TAG + start;
    *len = l;
    return 0;
}

int usj_docstore_check(const usj_index *idx)
{
    usj_textcache c = USJ_TEXTCACHE_INIT;
    int rc = 0;
    for (uint32_t b = 0; b < idx->text_nblocks && !rc; b++) {
        size_t s, l;
        uint32_t fd = usj_ld32(entry(idx, b) + 8);
        if (!(rc = load(idx, b, fd, 1, &c)) &&
            (rc = find_in_block(idx, b, fd, &c, &s, &l)) == 1)
            rc = usj_error_set(USJ_ECORRUPT, "text section: bad lengths in block %u", b);
    }
    usj_textcache_free(&c);
    return rc;
}
