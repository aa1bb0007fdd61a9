/* lib/docstore.c — stored paragraph text: the writer's DEFLATE block builder
 * and the reader's random access by doc id through a caller-owned cache
 * (usj_index_text, usj_textcache), plus the deep check.
 *
 * TEXT section (written while the corpus is read, so the table comes last):
 *   data: each block is one zlib stream; uncompressed it holds, for each of
 *   its docs, a varint text length, then the texts concatenated. A block
 *   holds whole paragraphs and is closed once it reaches USJ_TEXT_BLOCK_BYTES.
 *   (nblocks + 1) entries {off u64 (from the section start), first_doc u32,
 *   ulen u32 (uncompressed bytes)}; the last entry is a sentinel with
 *   off = data length, first_doc = ndocs, ulen = 0
 *   trailer: nblocks u32, 0 u32. */
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
 * threads (pthread_create failed) blocks are compressed inline. */

static int compress_block(z_stream *z, const usj_buf *lens, const usj_buf *text,
                          usj_buf *out)
{
    size_t total = lens->len + text->len;
    if (deflateReset(z) != Z_OK)
        return usj_error_set(USJ_EIO, "zlib: deflateReset failed");
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
    z_stream z;
    memset(&z, 0, sizeof z);
    int zok = deflateInit(&z, USJ_TEXT_ZLEVEL) == Z_OK;
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
        int rc = zok ? compress_block(&z, &j->lens, &j->text, &j->out)
                     : usj_error_set(USJ_ENOMEM, "zlib: cannot initialise deflate");
        const char *msg = rc ? usj_error_last() : "";
        pthread_mutex_lock(&t->mu);
        j->rc = rc;
        snprintf(j->msg, sizeof j->msg, "%s", msg);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    if (zok)
        deflateEnd(&z);
    return NULL;
}

int usj_textw_init(usj_textw *t, usj_spool *data, unsigned nthreads)
{
    memset(t, 0, sizeof *t);
    t->data = data;
    if (deflateInit(&t->z, USJ_TEXT_ZLEVEL) != Z_OK)
        return usj_error_set(USJ_ENOMEM, "zlib: cannot initialise deflate");
    t->zinit = 1;
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

int usj_textw_add(usj_textw *t, uint32_t doc, const char *text, size_t len)
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

int usj_textw_flush(usj_textw *t)
{
    if (t->n == 0)
        return 0;
    size_t total = t->lens.len + t->text.len;
    if (total > USJ_MAX_TEXT_BLOCK)
        return usj_error_set(USJ_ELIMIT, "text block of %zu bytes", total);
    int rc;
    if (t->nthreads == 0) {
        if ((rc = compress_block(&t->z, &t->lens, &t->text, &t->zout)) ||
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
    int rc = usj_textw_flush(t);
    while (!rc && t->head < t->tail)
        rc = drain_one(t);
    if (rc)
        return rc;
    uint8_t tr[8] = {0}, e[USJ_TEXT_ENTRY];
    usj_st32(tr, t->nblocks);
    usj_st64(e, t->comp_bytes);
    usj_st32(e + 8, ndocs);
    usj_st32(e + 12, 0);
    if ((rc = usj_spool_write(t->data, t->entries.data, t->entries.len)) ||
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
    usj_buf_free(&t->lens);
    usj_buf_free(&t->text);
    usj_buf_free(&t->zout);
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

int usj_docstore_open(usj_index *idx)
{
    const usj_section *s = &idx->sec[USJ_SECTION_TEXT];
    if (s->len < 8)
        return usj_error_set(USJ_ECORRUPT, "text section: too short");
    uint32_t n = usj_ld32(s->p + s->len - 8);
    uint64_t tab = ((uint64_t)n + 1) * USJ_TEXT_ENTRY;
    if (tab > s->len - 8 || usj_ld32(s->p + s->len - 4) != 0)
        return usj_error_set(USJ_ECORRUPT, "text section: block table out of bounds");
    idx->text_nblocks = n;
    idx->text_data = s->p;
    idx->text_len = s->len - 8 - tab;
    idx->text_entries = s->p + idx->text_len;
    uint64_t prev_off = 0;
    uint32_t prev_doc = 0;
    for (uint32_t b = 0; b <= n; b++) {
        const uint8_t *e = entry(idx, b);
        uint64_t off = usj_ld64(e);
        uint32_t fd = usj_ld32(e + 8), ulen = usj_ld32(e + 12);
        if (off < prev_off || off > idx->text_len || ulen > USJ_MAX_TEXT_BLOCK ||
            (b == 0 && fd != 0) || (b > 0 && fd <= prev_doc))
            return usj_error_set(USJ_ECORRUPT, "text section: bad block table entry %u", b);
        prev_off = off;
        prev_doc = fd;
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
 * never serves a stale block; the block's text follows, NUL-terminated. */
#define CACHE_TAG 8u

static int load(const usj_index *idx, uint32_t b, usj_textcache *c)
{
    if (c->block == b + 1 && c->data && memcmp(c->data, &idx->serial, CACHE_TAG) == 0)
        return 0;
    const uint8_t *e = entry(idx, b);
    uint64_t off = usj_ld64(e), next = usj_ld64(e + USJ_TEXT_ENTRY);
    uint32_t ulen = usj_ld32(e + 12);
    size_t need = CACHE_TAG + (size_t)ulen + 1;
    if (need > c->cap) {
        char *p = realloc(c->data, need);
        if (!p)
            return usj_error_set(USJ_ENOMEM, "out of memory (text block)");
        c->data = p;
        c->cap = need;
    }
    c->block = 0;
    uLongf dl = ulen;
    int z = uncompress((Bytef *)c->data + CACHE_TAG, &dl, idx->text_data + off,
                       (uLong)(next - off));
    if (z != Z_OK || dl != ulen)
        return usj_error_set(USJ_ECORRUPT, "text section: block %u does not decompress", b);
    memcpy(c->data, &idx->serial, CACHE_TAG);
    c->data[CACHE_TAG + ulen] = '\0';
    c->len = ulen;
    c->block = b + 1;
    return 0;
}

/* Locate doc's text inside block b (loaded in c). */
static int find_in_block(const usj_index *idx, uint32_t b, uint32_t doc,
                         const usj_textcache *c, size_t *start, size_t *len)
{
    uint32_t fd = usj_ld32(entry(idx, b) + 8);
    uint32_t n = usj_ld32(entry(idx, b + 1) + 8) - fd;
    const uint8_t *p = (const uint8_t *)c->data + CACHE_TAG, *end = p + c->len;
    uint64_t before = 0, mine = 0, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l;
        if (usj_varint_get(&p, end, &l) || l > c->len)
            return usj_error_set(USJ_ECORRUPT, "text section: bad lengths in block %u", b);
        if (fd + i < doc)
            before += l;
        else if (fd + i == doc)
            mine = l;
        total += l;
    }
    size_t hdr = (size_t)(p - (const uint8_t *)c->data) - CACHE_TAG;
    if (total != c->len - hdr)
        return usj_error_set(USJ_ECORRUPT, "text section: lengths of block %u do not add up", b);
    *start = hdr + (size_t)before;
    *len = (size_t)mine;
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
    int rc = load(idx, lo, cache);
    if (rc)
        return rc;
    size_t start, l;
    if ((rc = find_in_block(idx, lo, doc, cache, &start, &l)))
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
        if (!(rc = load(idx, b, &c)))
            rc = find_in_block(idx, b, usj_ld32(entry(idx, b) + 8), &c, &s, &l);
    }
    usj_textcache_free(&c);
    return rc;
}
