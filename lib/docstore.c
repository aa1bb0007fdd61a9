/* lib/docstore.c — stored paragraph text: the writer's block builder (a
 * preset dictionary chosen from the start of the corpus, raw DEFLATE blocks,
 * compression threads) and the reader's random access by doc id through a
 * caller-owned cache (usj_index_text, usj_textcache), plus the deep check.
 *
 * TEXT section (written while the corpus is read, so the dictionary and the
 * table come after the blocks):
 *   data: nblocks blocks; each is one Zstandard frame (RFC 8878) without
 *     content size, checksum or dictionary id (the section CRC covers it),
 *     compressed with the dictionary below. Uncompressed, a block holds for each of its
 *     docs a varint text length, then the texts concatenated. A block holds
 *     whole paragraphs of consecutive docs and is closed once its texts reach
 *     USJ_TEXT_BLOCK_BYTES (8 KB); its uncompressed size is at most
 *     USJ_MAX_TEXT_BLOCK.
 *   dictionary: dict_len bytes (0 ..USJ_TEXT_DICT_BYTES): a Zstandard
 *     dictionary (RFC 8878 section 5: magic 0xEC30A437, id, entropy tables,
 *     content) that every block is compressed with; none if dict_len is 0.
 *   table: (nblocks + 1) entries {off u64 (from the section start),
 *     first_doc u32, ulen u32 (uncompressed bytes)}; offsets non-decreasing,
 *     first docs strictly increasing from 0; the last entry is a sentinel
 *     with off = data length (where the dictionary starts), first_doc =
 *     ndocs, ulen = 0.
 *   trailer: nblocks u32, dict_len u32.
 *
 * The dictionary's content (a COVER-style selection, as zstd's dictionary
 * builder does): the writer holds back the first USJ_TEXT_DICT_SAMPLE bytes of text;
 * it counts every 6-byte string of that sample (hashed), cuts the sample into
 * dict_len / 32 equal epochs and takes from each the 32-byte window whose
 * strings are the most frequent (a string's count is zeroed once taken, so
 * the segments do not repeat each other); the segments are concatenated by
 * increasing score (the most useful end up nearest to the block, at the
 * smallest distances); its length is min(USJ_TEXT_DICT_BYTES - 1 KB,
 * sample / 16), rounded down to 32. libzstd's ZDICT_finalizeDictionary then
 * adds the entropy tables, from statistics of the sample's paragraphs (the
 * first USJ_TEXT_DICT_STATS bytes of them), so 8 KB blocks need not carry
 * their own; it keeps the end of the content if the whole would pass
 * USJ_TEXT_DICT_BYTES. No dictionary under USJ_TEXT_DICT_MIN bytes of text
 * (or if libzstd refuses to make one).
 *
 * Reading one paragraph decompresses its whole block (a single-pass decode,
 * ~15 us for 8 KB with the dictionary; zlib's partial inflate took ~30 us for
 * the whole block) into the caller's cache; the frame must end exactly at
 * the block's last byte and give exactly ulen bytes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zdict.h>

#include "codec.h"
#include "index_build.h"
#include "limits.h"
#include "usj/error.h"

/* ------------------------------------------------------------- writer */

/* Blocks are compressed by worker threads while the writer goes on; a ring
 * of jobs keeps the order, and the writer thread appends the results in
 * block order. Without threads (none asked for, or pthread_create failed)
 * blocks are compressed inline.
 *
 * Each compressing thread has one context with the dictionary loaded once
 * (libzstd digests it on the first block and reuses it). Parameters, chosen
 * on the kernel docs' blocks (bench data, 8 KB blocks, 32 KB dictionary;
 * zlib level 5 with the same dictionary: 0.328 x, 0.65 s): lazy matching,
 * 4 candidates (searchLog 2), matches of 4 bytes or more: 0.326 x in 0.27 s
 * (~2.4x faster); greedy (0.336 x) or 1 candidate (0.333 x) would cost the
 * kernel docs index its 0.75 x bound. */
#define ZS_WINDOW_LOG 17       /* the dictionary and the largest 8 KB block fit */
#define ZS_STRATEGY   ZSTD_lazy
#define ZS_SEARCH_LOG 2
#define ZS_HASH_LOG   16
#define ZS_CHAIN_LOG  16
#define ZS_MIN_MATCH  4
#define ZS_DICT_LEVEL 5        /* level whose statistics the entropy tables take */
#define ZS_DICT_ROOM  1024u    /* dictionary bytes left for the entropy tables */
#define USJ_TEXT_DICT_MAGIC 0xEC30A437u

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
static int build_content(const uint8_t *s, size_t n, usj_buf *dict)
{
    usj_buf_clear(dict);
    const size_t most = USJ_TEXT_DICT_BYTES - ZS_DICT_ROOM;
    size_t want = n / 16 > most ? most : n / 16;
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

/* The dictionary from the sample s[0, n) of nsamples paragraphs of the given
 * lengths (see the top): its content, then the entropy tables. A corpus too
 * small for one, or a sample libzstd cannot make tables from, gets none. */
static int build_dict(const uint8_t *s, size_t n, const size_t *lens, uint32_t nsamples,
                      usj_buf *dict)
{
    usj_buf content = USJ_BUF_INIT;
    int rc = build_content(s, n, &content);
    usj_buf_clear(dict);
    if (rc || content.len == 0) {
        usj_buf_free(&content);
        return rc;
    }
    /* the statistics come from the first paragraphs, grouped as blocks are
     * (libzstd resets its tables for each sample: paragraph by paragraph
     * this took longer than compressing the whole corpus's blocks) */
    size_t *grp = malloc(((size_t)nsamples + 1) * sizeof *grp);
    if (!grp || (rc = usj_buf_reserve(dict, USJ_TEXT_DICT_BYTES))) {
        free(grp);
        usj_buf_free(&content);
        return rc ? rc : usj_error_set(USJ_ENOMEM, "out of memory (text dictionary)");
    }
    unsigned ng = 0;
    size_t sn = 0, cur = 0;
    for (uint32_t i = 0; i < nsamples && sn + lens[i] <= USJ_TEXT_DICT_STATS; i++) {
        sn += lens[i];
        cur += lens[i];
        if (cur >= USJ_TEXT_BLOCK_BYTES) {
            grp[ng++] = cur;
            cur = 0;
        }
    }
    if (cur)
        grp[ng++] = cur;
    ZDICT_params_t zp = {ZS_DICT_LEVEL, 0, 0};
    size_t r = ng ? ZDICT_finalizeDictionary(dict->data, USJ_TEXT_DICT_BYTES, content.data,
                                             content.len, s, grp, ng, zp)
                  : 0;
    dict->len = ng && !ZDICT_isError(r) ? r : 0;
    free(grp);
    usj_buf_free(&content);
    return 0;
}

/* A compression context with the parameters above and the dictionary. */
static int cctx_new(ZSTD_CCtx **out, const usj_buf *dict)
{
    *out = NULL;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (!c)
        return usj_error_set(USJ_ENOMEM, "zstd: cannot create a compression context");
    static const struct { ZSTD_cParameter p; int v; } par[] = {
        {ZSTD_c_contentSizeFlag, 0}, {ZSTD_c_checksumFlag, 0}, {ZSTD_c_dictIDFlag, 0},
        {ZSTD_c_windowLog, ZS_WINDOW_LOG}, {ZSTD_c_strategy, ZS_STRATEGY},
        {ZSTD_c_searchLog, ZS_SEARCH_LOG}, {ZSTD_c_hashLog, ZS_HASH_LOG},
        {ZSTD_c_chainLog, ZS_CHAIN_LOG}, {ZSTD_c_minMatch, ZS_MIN_MATCH},
    };
    size_t r = 0;
    for (size_t i = 0; i < sizeof par / sizeof *par && !ZSTD_isError(r); i++)
        r = ZSTD_CCtx_setParameter(c, par[i].p, par[i].v);
    if (!ZSTD_isError(r) && dict->len)
        r = ZSTD_CCtx_loadDictionary(c, dict->data, dict->len);
    if (ZSTD_isError(r)) {
        ZSTD_freeCCtx(c);
        return usj_error_set(USJ_ENOMEM, "zstd: cannot set up compression: %s",
                             ZSTD_getErrorName(r));
    }
    *out = c;
    return 0;
}

/* Compress one block (lens then text, joined in cat) into out. */
static int compress_block(ZSTD_CCtx *c, const usj_buf *lens, const usj_buf *text,
                          usj_buf *cat, usj_buf *out)
{
    int rc;
    usj_buf_clear(cat);
    if ((rc = usj_buf_put(cat, lens->data ? lens->data : "", lens->len)) ||
        (rc = usj_buf_put(cat, text->data ? text->data : "", text->len)))
        return rc;
    size_t bound = ZSTD_compressBound(cat->len);
    usj_buf_clear(out);
    if (usj_buf_reserve(out, bound))
        return USJ_ENOMEM;
    size_t r = ZSTD_compress2(c, out->data, bound, cat->data, cat->len);
    if (ZSTD_isError(r))
        return usj_error_set(USJ_EIO, "zstd: compression failed: %s", ZSTD_getErrorName(r));
    out->len = r;
    return 0;
}

enum { JOB_FREE = 0, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

static void *worker(void *arg)
{
    usj_textw *t = arg;
    ZSTD_CCtx *z = NULL;
    usj_buf cat = USJ_BUF_INIT;
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
        int rc = z ? 0 : cctx_new(&z, &t->dict);
        if (!rc)
            rc = compress_block(z, &j->lens, &j->text, &cat, &j->out);
        const char *msg = rc ? usj_error_last() : "";
        pthread_mutex_lock(&t->mu);
        j->rc = rc;
        snprintf(j->msg, sizeof j->msg, "%s", msg);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    ZSTD_freeCCtx(z);
    usj_buf_free(&cat);
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
    const size_t *lens = (const size_t *)(void *)t->sample_lens.data;
    if ((rc = build_dict((const uint8_t *)t->sample.data, t->sample.len, lens, t->sample_n,
                         &t->dict)))
        return rc;
    if (t->sync)
        pthread_mutex_lock(&t->mu);    /* before any job is queued */
    t->dict_ready = 1;
    if (t->sync)
        pthread_mutex_unlock(&t->mu);
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
        if ((!t->z && (rc = cctx_new(&t->z, &t->dict))) ||
            (rc = compress_block(t->z, &t->lens, &t->text, &t->zcat, &t->zout)) ||
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
    ZSTD_freeCCtx(t->z);
    usj_buf_free(&t->zcat);
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

int usj_docstore_open(usj_index *idx)
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
    /* a dictionary is a Zstandard one (raw content would also decode) */
    if (dl && (dl < 8 || usj_ld32(s->p + s->len - USJ_TEXT_TRAILER - tab - dl) != USJ_TEXT_DICT_MAGIC))
        return usj_error_set(USJ_ECORRUPT, "text section: the dictionary is not a Zstandard dictionary");
    idx->text_nblocks = n;
    idx->text_data = s->p;
    idx->text_len = s->len - USJ_TEXT_TRAILER - tab - dl;
    idx->text_dict = s->p + idx->text_len;
    idx->text_dict_len = dl;
    idx->text_entries = idx->text_dict + dl;
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
 * never serves a stale block; the block's bytes follow (c->len, the whole
 * block), NUL-terminated. */
#define CACHE_TAG 8u

/* Each thread decompresses with one context of its own and keeps the
 * digested dictionary of the last index it read (by serial number: a
 * daemon's reload gets a new one), made on first use and freed when the
 * thread ends (a thread-specific key). Digesting the dictionary costs about
 * as much as decoding a block. */
typedef struct dstate {
    ZSTD_DCtx  *d;
    ZSTD_DDict *dict;
    uint64_t    serial;          /* index whose dictionary dict is */
} dstate;

static pthread_key_t  dstate_key;
static pthread_once_t dstate_once = PTHREAD_ONCE_INIT;
static int            dstate_keyed;

static void dstate_free(void *p)
{
    dstate *s = p;
    if (!s)
        return;
    ZSTD_freeDCtx(s->d);
    ZSTD_freeDDict(s->dict);
    free(s);
}

static void dstate_key_init(void)
{
    dstate_keyed = pthread_key_create(&dstate_key, dstate_free) == 0;
}

/* This thread's state, ready for idx; *own is set when the caller must
 * free it (no key). NULL when out of memory. */
static dstate *dstate_get(const usj_index *idx, int *own)
{
    pthread_once(&dstate_once, dstate_key_init);
    *own = 0;
    dstate *s = dstate_keyed ? pthread_getspecific(dstate_key) : NULL;
    if (!s) {
        if (!(s = calloc(1, sizeof *s)) || !(s->d = ZSTD_createDCtx())) {
            free(s);
            return NULL;
        }
        if (!dstate_keyed || pthread_setspecific(dstate_key, s) != 0)
            *own = 1;
    }
    if (idx->text_dict_len && (!s->dict || s->serial != idx->serial)) {
        ZSTD_freeDDict(s->dict);
        s->dict = ZSTD_createDDict(idx->text_dict, idx->text_dict_len);
        s->serial = idx->serial;
        if (!s->dict) {         /* a damaged dictionary: decoding will say so */
            if (*own)
                dstate_free(s);
            return NULL;
        }
    }
    return s;
}

/* Where doc's text lies in block b (whole in the cache), from the lengths at
 * its start: 0 or USJ_ECORRUPT. */
static int find_in_block(const usj_index *idx, uint32_t b, uint32_t doc,
                         const usj_textcache *c, size_t *start, size_t *len)
{
    uint32_t fd = usj_ld32(entry(idx, b) + 8), ulen = usj_ld32(entry(idx, b) + 12);
    uint32_t n = usj_ld32(entry(idx, b + 1) + 8) - fd;
    const uint8_t *p = (const uint8_t *)c->data + CACHE_TAG, *end = p + c->len;
    uint64_t before = 0, mine = 0, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l;
        if (usj_varint_get(&p, end, &l) || l > ulen)
            return usj_error_set(USJ_ECORRUPT, "text section: bad lengths in block %u", b);
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
    return 0;
}

/* Decompress block b into the cache. */
static int load(const usj_index *idx, uint32_t b, usj_textcache *c)
{
    const uint8_t *e = entry(idx, b);
    uint64_t off = usj_ld64(e), next = usj_ld64(e + USJ_TEXT_ENTRY);
    uint32_t ulen = usj_ld32(e + 12);
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
    int own;
    dstate *ds = dstate_get(idx, &own);
    if (!ds)
        return usj_error_set(idx->text_dict_len ? USJ_ECORRUPT : USJ_ENOMEM,
                             idx->text_dict_len ? "text section: bad dictionary (or out of memory)"
                                                : "zstd: cannot create a decompression context");
    uint8_t *out = (uint8_t *)c->data + CACHE_TAG;
    const uint8_t *src = idx->text_data + off;
    size_t n = (size_t)(next - off);
    /* exactly one frame, exactly ulen bytes */
    size_t r = ZSTD_findFrameCompressedSize(src, n);
    if (!ZSTD_isError(r) && r == n)
        r = idx->text_dict_len ? ZSTD_decompress_usingDDict(ds->d, out, ulen, src, n, ds->dict)
                               : ZSTD_decompressDCtx(ds->d, out, ulen, src, n);
    else
        r = ZSTD_CONTENTSIZE_ERROR;
    if (own)
        dstate_free(ds);
    if (ZSTD_isError(r) || r != ulen)
        return usj_error_set(USJ_ECORRUPT, "text section: block %u does not decompress", b);
    memcpy(c->data, &idx->serial, CACHE_TAG);
    out[ulen] = '\0';
    c->len = ulen;
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
        rc = load(idx, lo, cache);
    if (!rc)
        rc = find_in_block(idx, lo, doc, cache, &start, &l);
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
        if (!(rc = load(idx, b, &c)))
            rc = find_in_block(idx, b, fd, &c, &s, &l);
    }
    usj_textcache_free(&c);
    return rc;
}
