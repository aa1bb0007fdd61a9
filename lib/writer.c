/* lib/writer.c — building the index (usj_writer_*, usj/index.h): analysis of
 * each file into paragraphs, the in-memory postings accumulator with its
 * memory budget, sorted spill runs, the k-way merge and the output sections
 * (the output file and its atomic publish: lib/outfile.c; parallel analysis:
 * lib/apool.c).
 *
 * ======================= INDEX FILE FORMAT, version 1 =======================
 * (also docs/FORMAT.md; constants in lib/format.h). Little-endian fixed-width
 * integers everywhere; "varint" is unsigned LEB128. Sections start at 8-byte
 * aligned offsets, in any order; the section table says where.
 *
 * Header (offset 0, 256 bytes):
 *   0   magic "USJIDX\r\n"
 *   8   u32 format version (1)          12  u32 flags (0)
 *   16  u64 created (unix time)         24  u64 file size
 *   32  u32 nsections (8)               36  u32 CRC32 of bytes [0, 40 + 24n)
 *                                           computed with this field zero
 *   40  nsections x {u64 off, u64 len, u32 CRC32 of the section, u32 id}
 *   rest zero up to 256.
 * Section ids: 0 meta, 1 dict, 2 postings, 3 positions, 4 docs, 5 files,
 * 6 text, 7 numbers.
 *
 * meta:      u64 ndocs, nfiles, nterms, postings, positions, total_length,
 *            input_bytes, numbers[4]; u32 root length, root bytes, NUL.
 * dict:      see lib/dict.c (front-coded blocks of 16 terms + block index).
 * postings:  see lib/postings.c (128-doc blocks, skip table, codec.h).
 * positions: see lib/postings.c.
 * docs:      three columns (first line, number of lines, byte offset of each
 *            paragraph), each: data, then (8-aligned) a group table of
 *            ceil(ndocs/64) entries {u64 value of the group's first doc,
 *            u32 data offset, u8 width w, 3 zero}; the data of a group is
 *            the zigzag differences of its docs 1..63 to their predecessor,
 *            w bits each, LSB-first; 8 zero bytes end the data. Then
 *            doclens: u32 x ndocs, 4-byte aligned (tokens per paragraph, for
 *            BM25). The section ends with a 64-byte trailer: u32 ndocs,
 *            u32 0, per column u64 data offset and u64 table offset, u64
 *            doclens offset (offsets from the section start).
 * files:     u32 nfiles, u32 0, u32 first_doc x (nfiles + 1) (the last is
 *            ndocs; docs of a file are contiguous), pad to 8, u64 string
 *            offset x nfiles, then per file "path\0title\0".
 * text:      see lib/docstore.c (raw DEFLATE blocks of ~8 KB with a preset
 *            dictionary, then the dictionary, block table and trailer).
 * numbers:   see lib/numidx.c (per type sorted {i64 value, u32 doc}).
 * ============================================================================
 *
 * Build: each paragraph's tokens are grouped by term and appended to the
 * term's byte stream (varint doc delta, varint tf, tf varint position gaps);
 * terms live in one open-addressing hash over an arena. When the accounted
 * memory passes the budget, the terms are sorted and written as a run
 * (varint nterms, {varint len, bytes, varint stream length, stream}, varint
 * nnumbers, {u8 type, i64 value, u32 doc}) to an unlinked temporary file.
 * Doc ids increase across runs, so the merge concatenates a term's streams
 * run by run. Stored text, the doc table and file strings stream to
 * temporary files as they are produced. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "apool.h"
#include "codec.h"
#include "grow.h"
#include "index_build.h"
#include "limits.h"
#include "usj/error.h"

#define DOC_REC 24u   /* docs spool record: file, line, nlines, len (u32), offset u64 */

typedef struct wterm {
    size_t   str;       /* arena offset */
    uint32_t len, hash;
    uint32_t last_doc;  /* last doc appended in this run */
    uint32_t mark;      /* doc + 1 being counted */
    uint32_t tf, cur;   /* per-doc count and scatter cursor */
    uint8_t *post;
    size_t   plen, pcap;
} wterm;

struct usj_writer {
    char          *path, *dir;
    const char    *tmpdir;
    usj_writer_opts opts;
    size_t         budget;
    usj_analyzer  *an;
    usj_apool     *pool;         /* parallel analysis, or NULL */
    int            failed;
    /* accumulator */
    wterm         *terms;
    uint32_t       nterms, terms_cap;
    uint64_t      *slots;
    uint32_t       slot_mask;
    char          *arena;
    size_t         arena_len, arena_cap;
    size_t         post_bytes;
    uint32_t      *tids, *uniq, *poss, *srt;
    size_t         scr_cap;
    usj_wnum      *nums;
    size_t         nnums, nums_cap;
    /* runs */
    usj_spool     *runs;
    uint32_t       nruns, runs_cap;
    /* streamed tables */
    usj_spool      docs_sp, files_sp;
    usj_outfile    out;          /* the new index; the text section goes first */
    uint64_t       text_start;
    usj_textw      tw;
    uint32_t      *file_first;
    uint64_t      *file_str;
    uint32_t       nfiles, files_cap;
    uint64_t       strings_len;
    uint32_t       ndocs;
    uint32_t       nqueued;      /* paragraphs queued (>= ndocs with the pool) */
    uint64_t       total_len;
    usj_build_stats st;
    uint64_t       file_base, last_progress;
    uint64_t       file_mem;     /* the file being added and its sanitized copy */
    uint32_t       cur_file;
};

/* ------------------------------------------------------------ memory */

static uint64_t acc_memory(const usj_writer *w)
{
    return (uint64_t)w->terms_cap * sizeof(wterm) +
           (w->slots ? ((uint64_t)w->slot_mask + 1) * 8 : 0) + w->arena_cap +
           w->post_bytes + w->nums_cap * sizeof(usj_wnum) + w->scr_cap * 16 +
           (uint64_t)w->files_cap * 12 + w->file_mem;
}

static void note_memory(usj_writer *w, uint64_t extra)
{
    uint64_t m = acc_memory(w) + extra;
    if (m > w->st.peak_memory)
        w->st.peak_memory = m;
}

static void progress(usj_writer *w, const char *phase)
{
    if (!w->opts.progress)
        return;
    usj_build_progress p = {w->st.files, w->st.input_bytes, w->st.paragraphs, phase};
    w->opts.progress(w->opts.progress_ctx, &p);
}

/* ------------------------------------------------------------ open */

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return strdup(".");
    if (s == path)
        return strdup("/");
    return strndup(path, (size_t)(s - path));
}

int usj_writer_open(usj_writer **out, const char *path,
                    const usj_writer_opts *opts)
{
    *out = NULL;
    if (!path || !*path)
        return usj_error_set(USJ_EINVAL, "no index path");
    usj_writer *w = calloc(1, sizeof *w);
    if (!w)
        return usj_error_set(USJ_ENOMEM, "out of memory (writer)");
    w->docs_sp.fd = w->files_sp.fd = w->out.s.fd = -1;
    if (opts)
        w->opts = *opts;
    w->budget = w->opts.memory_budget ? w->opts.memory_budget : USJ_DEFAULT_MEMORY;
    int rc = 0;
    if (w->budget < USJ_MIN_MEMORY) {
        rc = usj_error_set(USJ_EINVAL, "memory budget %zu below the minimum %u",
                           w->budget, USJ_MIN_MEMORY);
        goto fail;
    }
    w->path = strdup(path);
    w->dir = dir_of(path);
    if (!w->path || !w->dir) {
        rc = usj_error_set(USJ_ENOMEM, "out of memory");
        goto fail;
    }
    w->tmpdir = w->opts.tmpdir ? w->opts.tmpdir : w->dir;
    struct stat sb;
    if (stat(w->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        rc = usj_error_set(USJ_EIO, "output folder %s does not exist", w->dir);
        goto fail;
    }
    if (access(w->dir, W_OK) != 0) {
        rc = usj_error_set(USJ_EIO, "output folder %s is not writable: %s", w->dir,
                           strerror(errno));
        goto fail;
    }
    usj_out_cleanup(w->dir, w->path);
    if ((rc = usj_analyzer_new(&w->an, 0)) ||
        (rc = usj_spool_tmp(&w->docs_sp, w->tmpdir, "doc table spool")) ||
        (rc = usj_spool_tmp(&w->files_sp, w->tmpdir, "file table spool")) ||
        (rc = usj_out_open(&w->out, w->dir, w->path)))
        goto fail;
    /* the stored text streams straight into the new file, after a header
     * placeholder: it is the first section */
    /* helper threads: analysis on the other cores, text compression on one
     * or two more; $USJ_INDEX_THREADS sets the analysis threads (0: no
     * helper thread at all, everything on the caller's thread) */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long helpers = ncpu > 1 ? ncpu - 1 : 0;
    const char *env = getenv("USJ_INDEX_THREADS");
    if (env && *env)
        helpers = strtol(env, NULL, 10);
    if (helpers < 0)
        helpers = 0;
    unsigned zthreads = helpers == 0 ? 0 : ncpu > 2 ? USJ_TEXTW_THREADS : 1;
    static const uint8_t zero_hdr[USJ_HEADER_BYTES];
    if ((rc = usj_spool_write(&w->out.s, zero_hdr, sizeof zero_hdr)) ||
        (rc = usj_out_begin(&w->out)) ||
        (rc = usj_textw_init(&w->tw, &w->out.s, zthreads)))
        goto fail;
    w->text_start = usj_spool_tell(&w->out.s);
    if (helpers > 0) {
        size_t win = w->budget / 8;
        win = win < 65536 ? 65536 : win > USJ_ANALYSIS_WINDOW ? USJ_ANALYSIS_WINDOW : win;
        unsigned n = helpers > (long)USJ_MAX_ANALYSIS_THREADS ? USJ_MAX_ANALYSIS_THREADS
                                                            : (unsigned)helpers;
        if (usj_apool_new(&w->pool, n, win) != 0)
            w->pool = NULL;    /* analysis stays inline */
    }
    *out = w;
    return 0;
fail:
    usj_writer_free(w);
    return rc;
}

static void reset_terms(usj_writer *w)
{
    for (uint32_t i = 0; i < w->nterms; i++)
        free(w->terms[i].post);
    w->nterms = 0;
    w->arena_len = 0;
    w->post_bytes = 0;
    if (w->slots)
        memset(w->slots, 0, ((size_t)w->slot_mask + 1) * sizeof *w->slots);
    w->nnums = 0;
}

/* Empty the accumulator and give its tables back (a run starts small). */
static void release_terms(usj_writer *w)
{
    reset_terms(w);
    free(w->terms);
    free(w->slots);
    free(w->arena);
    free(w->nums);
    w->terms = NULL;
    w->slots = NULL;
    w->arena = NULL;
    w->nums = NULL;
    w->terms_cap = 0;
    w->slot_mask = 0;
    w->arena_cap = 0;
    w->nums_cap = 0;
}

void usj_writer_free(usj_writer *w)
{
    if (!w)
        return;
    usj_apool_free(w->pool);
    reset_terms(w);
    free(w->terms);
    free(w->slots);
    free(w->arena);
    free(w->tids);
    free(w->uniq);
    free(w->poss);
    free(w->srt);
    free(w->nums);
    for (uint32_t i = 0; i < w->nruns; i++)
        usj_spool_close(&w->runs[i]);
    free(w->runs);
    usj_textw_free(&w->tw);
    usj_spool_close(&w->docs_sp);
    usj_spool_close(&w->files_sp);
    if (w->out.s.buf)
        usj_spool_close(&w->out.s);   /* discards an unpublished file */
    free(w->file_first);
    free(w->file_str);
    usj_analyzer_free(w->an);
    free(w->path);
    free(w->dir);
    free(w);
}

/* ------------------------------------------------------------ terms */

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, s, 8);
        h = (h ^ x) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t x = 0;
    memcpy(&x, s, n);
    h = (h ^ x) * 0x94D049BB133111EBull;
    h ^= h >> 32;
    return (uint32_t)h;
}

/* Slots hold (hash << 32) | (term id + 1); 0 is empty. */
static int grow_slots(usj_writer *w)
{
    size_t n = w->slots ? ((size_t)w->slot_mask + 1) * 2 : 1024;
    uint64_t *s = calloc(n, sizeof *s);
    if (!s)
        return usj_error_set(USJ_ENOMEM, "out of memory (term hash)");
    for (uint32_t i = 0; i < w->nterms; i++) {
        size_t j = w->terms[i].hash & (n - 1);
        while (s[j])
            j = (j + 1) & (n - 1);
        s[j] = (uint64_t)w->terms[i].hash << 32 | (i + 1);
    }
    free(w->slots);
    w->slots = s;
    w->slot_mask = (uint32_t)(n - 1);
    return 0;
}

/* a[0..n) == b[0..n)? Terms are short (most under 16 bytes): two
 * overlapping loads from each end, no byte loop and no memcmp call. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        if (n > 16)
            return memcmp(a, b, n) == 0;
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8);
        memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n == 0)
        return 1;
    return ((a[0] ^ b[0]) | (a[n / 2] ^ b[n / 2]) | (a[n - 1] ^ b[n - 1])) == 0;
}

/* Term id of term[0..len) with hash h, added if new; or a negative error. */
static int64_t intern(usj_writer *w, const char *term, uint32_t len, uint32_t h)
{
    if (!w->slots || w->nterms >= (w->slot_mask + 1) / 2) {
        int rc = grow_slots(w);
        if (rc)
            return rc;
    }
    size_t j = h & w->slot_mask;
    for (;;) {
        uint64_t s = w->slots[j];
        if (!s)
            break;
        if ((uint32_t)(s >> 32) == h) {
            uint32_t id = (uint32_t)s - 1;
            const wterm *t = &w->terms[id];
            if (t->len == len && same_bytes(w->arena + t->str, term, len))
                return id;
        }
        j = (j + 1) & w->slot_mask;
    }
    if (w->nterms == w->terms_cap) {
        uint32_t cap = w->terms_cap ? w->terms_cap * 2 : 512;
        wterm *t = realloc(w->terms, (size_t)cap * sizeof *t);
        if (!t)
            return usj_error_set(USJ_ENOMEM, "out of memory (terms)");
        w->terms = t;
        w->terms_cap = cap;
    }
    if (w->arena_len + len > w->arena_cap) {
        size_t cap = w->arena_cap ? w->arena_cap * 2 : 4096;
        while (cap < w->arena_len + len)
            cap *= 2;
        char *a = realloc(w->arena, cap);
        if (!a)
            return usj_error_set(USJ_ENOMEM, "out of memory (term arena)");
        w->arena = a;
        w->arena_cap = cap;
    }
    memcpy(w->arena + w->arena_len, term, len);
    wterm *t = &w->terms[w->nterms];
    memset(t, 0, sizeof *t);
    t->str = w->arena_len;
    t->len = len;
    t->hash = h;
    w->arena_len += len;
    w->slots[j] = (uint64_t)h << 32 | (w->nterms + 1);
    return w->nterms++;
}

static int post_reserve(usj_writer *w, wterm *t, size_t extra)
{
    if (t->plen + extra <= t->pcap)
        return 0;
    /* double small lists; grow big ones by half, so one growth step of the
     * most frequent term cannot overshoot the budget by much */
    size_t cap = t->pcap ? t->pcap : 16;
    while (cap < t->plen + extra)
        cap += cap < (1u << 20) ? cap : cap / 2;
    uint8_t *p = realloc(t->post, cap);
    if (!p)
        return usj_error_set(USJ_ENOMEM, "out of memory (postings)");
    w->post_bytes += cap - t->pcap;
    t->post = p;
    t->pcap = cap;
    return 0;
}

static int scratch_reserve(usj_writer *w, size_t n)
{
    if (n <= w->scr_cap)
        return 0;
    size_t cap = w->scr_cap ? w->scr_cap : 1024;
    while (cap < n)
        cap *= 2;
    uint32_t *a = realloc(w->tids, cap * 4);
    if (a)
        w->tids = a;
    uint32_t *b = realloc(w->uniq, cap * 4);
    if (b)
        w->uniq = b;
    uint32_t *c = realloc(w->poss, cap * 4);
    if (c)
        w->poss = c;
    uint32_t *d = realloc(w->srt, cap * 4);
    if (d)
        w->srt = d;
    if (!a || !b || !c || !d)
        return usj_error_set(USJ_ENOMEM, "out of memory (token scratch)");
    w->scr_cap = cap;
    return 0;
}

/* Group doc's tokens by term and append them to the terms' streams. */
static int accumulate(usj_writer *w, uint32_t doc, const usj_analysis *a)
{
    int rc = scratch_reserve(w, a->ntokens);
    if (rc)
        return rc;
    size_t nu = 0, nt = 0;
    /* hash every token first and prefetch its slot: the table lookups then
     * overlap their cache misses */
    for (size_t i = 0; i < a->ntokens; i++) {
        const usj_token *tok = &a->tokens[i];
        uint32_t len = tok->term_len > USJ_MAX_TERM_BYTES ? USJ_MAX_TERM_BYTES : tok->term_len;
        uint32_t h = hash_bytes(tok->term, len);
        w->srt[i] = h;
        if (w->slots)
            __builtin_prefetch(&w->slots[h & w->slot_mask]);
    }
    for (size_t i = 0; i < a->ntokens; i++) {
        const usj_token *tok = &a->tokens[i];
        uint32_t len = tok->term_len;
        if (len == 0)
            continue;
        if (len > USJ_MAX_TERM_BYTES)
            len = USJ_MAX_TERM_BYTES;
        int64_t id = intern(w, tok->term, len, w->srt[i]);
        if (id < 0)
            return (int)id;
        wterm *t = &w->terms[id];
        if (t->mark != doc + 1) {
            t->mark = doc + 1;
            t->tf = 0;
            w->uniq[nu++] = (uint32_t)id;
        }
        t->tf++;
        w->tids[nt] = (uint32_t)id;
        w->poss[nt] = tok->pos;
        nt++;
    }
    /* counting sort of positions by term: cursors, then scatter */
    uint32_t off = 0;
    for (size_t u = 0; u < nu; u++) {
        wterm *t = &w->terms[w->uniq[u]];
        t->cur = off;
        off += t->tf;
    }
    uint32_t *dest = w->srt;
    for (size_t i = 0; i < nt; i++)
        dest[w->terms[w->tids[i]].cur++] = w->poss[i];
    off = 0;
    for (size_t u = 0; u < nu; u++) {
        wterm *t = &w->terms[w->uniq[u]];
        uint32_t tf = t->tf;
        if ((rc = post_reserve(w, t, 20 + (size_t)tf * 5)))
            return rc;
        uint8_t *q = t->post + t->plen;
        q += usj_varint_put(q, doc - t->last_doc);
        q += usj_varint_put(q, tf);
        uint32_t prev = 0;
        for (uint32_t k = 0; k < tf; k++) {
            uint32_t p = dest[off + k];
            q += usj_varint_put(q, p - prev);
            prev = p;
        }
        off += tf;
        t->plen = (size_t)(q - t->post);
        t->last_doc = doc;
    }
    return 0;
}

/* ------------------------------------------------------------ runs */

static int cmp_terms(const void *a, const void *b, void *ctx)
{
    const usj_writer *w = ctx;
    const wterm *x = &w->terms[*(const uint32_t *)a], *y = &w->terms[*(const uint32_t *)b];
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(w->arena + x->str, w->arena + y->str, n);
    if (r)
        return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Term ids in byte order (malloc'd). */
static int sorted_terms(usj_writer *w, uint32_t **out)
{
    uint32_t *ids = malloc(((size_t)w->nterms + 1) * sizeof *ids);
    if (!ids)
        return usj_error_set(USJ_ENOMEM, "out of memory (term order)");
    for (uint32_t i = 0; i < w->nterms; i++)
        ids[i] = i;
    qsort_r(ids, w->nterms, sizeof *ids, cmp_terms, w);
    *out = ids;
    return 0;
}

static int write_num(usj_spool *s, const usj_wnum *n)
{
    uint8_t r[13];
    r[0] = (uint8_t)n->type;
    usj_st64(r + 1, (uint64_t)n->value);
    usj_st32(r + 9, n->doc);
    return usj_spool_write(s, r, sizeof r);
}

static int spill(usj_writer *w)
{
    if (w->nruns == w->runs_cap) {
        uint32_t cap = w->runs_cap ? w->runs_cap * 2 : 8;
        usj_spool *r = realloc(w->runs, cap * sizeof *r);
        if (!r)
            return usj_error_set(USJ_ENOMEM, "out of memory (runs)");
        w->runs = r;
        w->runs_cap = cap;
    }
    usj_spool *s = &w->runs[w->nruns];
    int rc = usj_spool_tmp(s, w->tmpdir, "spill run");
    if (rc)
        return rc;
    w->nruns++;
    uint32_t *ids;
    if ((rc = sorted_terms(w, &ids)))
        return rc;
    note_memory(w, (uint64_t)w->nterms * 4);
    rc = usj_spool_varint(s, w->nterms);
    for (uint32_t i = 0; i < w->nterms && !rc; i++) {
        wterm *t = &w->terms[ids[i]];
        if (!(rc = usj_spool_varint(s, t->len)) &&
            !(rc = usj_spool_write(s, w->arena + t->str, t->len)) &&
            !(rc = usj_spool_varint(s, t->plen)))
            rc = usj_spool_write(s, t->post, t->plen);
    }
    free(ids);
    usj_wnum_sort(w->nums, w->nnums);
    if (!rc)
        rc = usj_spool_varint(s, w->nnums);
    for (size_t i = 0; i < w->nnums && !rc; i++)
        rc = write_num(s, &w->nums[i]);
    if (!rc)
        rc = usj_spool_finish(s);    /* keep the file, drop the buffer */
    if (rc)
        return rc;
    w->st.runs_spilled++;
    release_terms(w);
    return 0;
}

/* ------------------------------------------------------------ docs */

static int add_number(usj_writer *w, uint32_t doc, const usj_number *n)
{
    if ((int)n->type < 0 || n->type >= USJ_NUM_NTYPES)
        return 0;
    int rc = usj_grow(&w->nums, &w->nums_cap, w->nnums + 1, sizeof *w->nums,
                      256, "numbers");
    if (rc)
        return rc;
    double v = n->value * USJ_NUM_SCALE;
    int64_t iv;
    if (isnan(v))
        return 0;
    if (v >= 9.2e18)
        iv = INT64_MAX;
    else if (v <= -9.2e18)
        iv = INT64_MIN;
    else
        iv = llround(v);
    w->nums[w->nnums++] = (usj_wnum){iv, doc, (uint32_t)n->type};
    w->st.numbers[n->type]++;
    return 0;
}

/* Record one analyzed paragraph: postings, numbers, text, doc table. */
static int add_doc(usj_writer *w, const char *text, size_t len, uint32_t file,
                   uint32_t line, uint32_t nlines, uint64_t offset,
                   const usj_analysis *a)
{
    if (w->ndocs >= UINT32_MAX - 1)
        return usj_error_set(USJ_ELIMIT, "more than %u paragraphs", UINT32_MAX - 1);
    int rc;
    uint32_t doc = w->ndocs;
    if ((rc = accumulate(w, doc, a)))
        return rc;
    for (size_t i = 0; i < a->nnumbers; i++)
        if ((rc = add_number(w, doc, &a->numbers[i])))
            return rc;
    if ((rc = usj_textw_add(&w->tw, doc, text, len)))
        return rc;
    uint32_t ntok = a->ntokens > UINT32_MAX ? UINT32_MAX : (uint32_t)a->ntokens;
    uint8_t r[DOC_REC];
    usj_st32(r, file);
    usj_st32(r + 4, line);
    usj_st32(r + 8, nlines);
    usj_st32(r + 12, ntok);
    usj_st64(r + 16, offset);
    if ((rc = usj_spool_write(&w->docs_sp, r, sizeof r)))
        return rc;
    w->ndocs++;
    w->total_len += ntok;
    w->st.paragraphs++;
    note_memory(w, 0);
    /* spill when the accumulator outgrows what the budget leaves beside the
     * current file (but let it have a quarter of the budget at least, so a
     * file larger than the budget does not spill at every paragraph) */
    uint64_t acc = acc_memory(w) - w->file_mem;
    uint64_t room = w->budget > w->file_mem ? w->budget - w->file_mem : 0;
    if (room < w->budget / 4)
        room = w->budget / 4;
    if (acc > room && (w->nterms || w->nnums))
        return spill(w);
    return 0;
}

/* Consume the paragraphs the analysis pool has finished. */
static int pump(usj_writer *w)
{
    const usj_apara *v;
    size_t n;
    int rc = usj_apool_cycle(w->pool, w->an, &v, &n);
    for (size_t i = 0; i < n && !rc; i++)
        rc = add_doc(w, v[i].text, v[i].len, v[i].file, v[i].line, v[i].nlines,
                     v[i].offset, &v[i].a);
    return rc;
}

/* Analyze a paragraph now, or queue it for the pool. */
static int queue_doc(usj_writer *w, const char *text, size_t len, uint32_t line,
                     uint32_t nlines, uint64_t offset)
{
    if (w->nqueued >= UINT32_MAX - 1)
        return usj_error_set(USJ_ELIMIT, "more than %u paragraphs", UINT32_MAX - 1);
    w->nqueued++;
    if (w->pool) {
        int rc = usj_apool_add(w->pool, text, len, w->cur_file, line, nlines, offset);
        if (!rc && usj_apool_full(w->pool))
            rc = pump(w);
        return rc;
    }
    const usj_analysis *a;
    int rc = usj_analyze(w->an, text, len, &a);
    return rc ? rc : add_doc(w, text, len, w->cur_file, line, nlines, offset, a);
}

static uint32_t count_nl(const char *p, size_t n)
{
    uint32_t c = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        c++;
    return c;
}

/* Add a paragraph, cutting it into pieces of at most USJ_MAX_PARA_BYTES at
 * line ends (else at a space, else at a UTF-8 boundary). */
static int add_para(usj_writer *w, const char *text, size_t len, uint32_t line,
                    uint32_t nlines, uint64_t offset)
{
    while (len > USJ_MAX_PARA_BYTES) {
        size_t cut = USJ_MAX_PARA_BYTES, skip = 0;
        const char *nl = memrchr(text, '\n', cut);
        if (nl && nl > text) {
            cut = (size_t)(nl - text);
            skip = 1;
        } else {
            const char *sp = memrchr(text, ' ', cut);
            if (sp && sp > text)
                cut = (size_t)(sp - text);
            else
                while (cut > 1 && ((uint8_t)text[cut] & 0xC0) == 0x80)
                    cut--;
        }
        uint32_t inner = count_nl(text, cut);
        int rc = queue_doc(w, text, cut, line, inner + 1, offset);
        if (rc)
            return rc;
        line += inner + (uint32_t)skip;
        nlines -= inner + (uint32_t)skip;
        text += cut + skip;
        len -= cut + skip;
        offset += cut + skip;
    }
    return queue_doc(w, text, len, line, nlines ? nlines : 1, offset);
}

typedef struct para_ctx {
    usj_writer *w;
    int rc;
} para_ctx;

static int para_cb(void *ctx, const usj_para *p)
{
    para_ctx *c = ctx;
    usj_writer *w = c->w;
    c->rc = add_para(w, p->text, p->len, p->line, p->nlines, p->offset);
    if (c->rc)
        return 1;
    uint64_t done = w->file_base + p->offset + p->len;
    if (done - w->last_progress >= 65536) {
        w->last_progress = done;
        uint64_t save = w->st.input_bytes;
        w->st.input_bytes = done;
        progress(w, "indexing");
        w->st.input_bytes = save;
    }
    return 0;
}

int usj_writer_add_file(usj_writer *w, const char *path, const char *data,
                        size_t len, size_t *ninvalid)
{
    if (ninvalid)
        *ninvalid = 0;
    if (w->failed)
        return usj_error_set(USJ_EINVAL, "the build already failed");
    if (w->nfiles >= USJ_MAX_FILES)
        return usj_error_set(USJ_ELIMIT, "more than %u files", USJ_MAX_FILES);
    char *buf = NULL;
    size_t blen = 0, ninv = 0;
    int rc = usj_utf8_sanitize(data, len, &buf, &blen, &ninv);
    if (rc)
        return rc;

    if (ninvalid)
        *ninvalid = ninv;
    const char *title;
    size_t tlen;
    int title_mid = usj_para_title(buf, blen, &title, &tlen);
    if (w->nfiles == w->files_cap) {
        uint32_t cap = w->files_cap ? w->files_cap * 2 : 256;
        uint32_t *f = realloc(w->file_first, (size_t)cap * sizeof *f);
        if (f)
            w->file_first = f;
        uint64_t *s = realloc(w->file_str, (size_t)cap * sizeof *s);
        if (s)
            w->file_str = s;
        if (!f || !s) {
            free(buf);
            return usj_error_set(USJ_ENOMEM, "out of memory (file table)");
        }
        w->files_cap = cap;
    }
    w->cur_file = w->nfiles;
    w->file_first[w->nfiles] = w->nqueued;
    w->file_str[w->nfiles] = w->strings_len;
    size_t plen = strlen(path);
    if ((rc = usj_spool_write(&w->files_sp, path, plen + 1)) ||
        (rc = usj_spool_write(&w->files_sp, title, tlen)) ||
        (title_mid && (rc = usj_spool_write(&w->files_sp, USJ_TITLE_CUT,
                                            sizeof USJ_TITLE_CUT - 1))) ||
        (rc = usj_spool_write(&w->files_sp, "", 1))) {
        free(buf);
        w->failed = rc;
        return rc;
    }
    w->strings_len += plen + 1 + tlen + 1 +
                      (title_mid ? sizeof USJ_TITLE_CUT - 1 : 0);
    w->nfiles++;
    /* the caller's copy and ours count against the budget while we work */
    w->file_mem = (uint64_t)len + blen;
    para_ctx c = {w, 0};
    usj_para_split(buf, blen, w->opts.split, para_cb, &c);
    free(buf);
    w->file_mem = 0;
    if (c.rc) {
        w->failed = c.rc;
        return c.rc;
    }
    w->st.files++;
    w->st.input_bytes += len;
    w->st.invalid_utf8 += ninv;
    w->file_base = w->st.input_bytes;
    if (w->st.input_bytes - w->last_progress >= 65536) {
        w->last_progress = w->st.input_bytes;
        progress(w, "indexing");
    }
    return 0;
}

/* ------------------------------------------------------------ merge */

typedef struct run_src {
    usj_rdr  r;
    uint64_t left;
    char     term[USJ_MAX_TERM_BYTES];
    size_t   len;
    uint64_t slen;
    int      has;
} run_src;

static int run_next_term(run_src *s)
{
    s->has = 0;
    if (s->left == 0)
        return 0;
    uint64_t len;
    int rc = usj_rdr_varint(&s->r, &len);
    if (rc)
        return rc;
    if (len == 0 || len > USJ_MAX_TERM_BYTES)
        return usj_error_set(USJ_EIO, "spill run: bad term length");
    if ((rc = usj_rdr_read(&s->r, s->term, (size_t)len)) ||
        (rc = usj_rdr_varint(&s->r, &s->slen)))
        return rc;
    s->len = (size_t)len;
    s->left--;
    s->has = 1;
    return 0;
}

typedef struct merge {
    usj_writer *w;
    usj_penc    enc;
    usj_dictw   dict;
    usj_spool  *out;
    uint32_t   *gaps;
    size_t      gaps_cap;
    uint32_t    last_doc;
    int         any;
    uint64_t    post_off, pos_off;
} merge;

/* Feed one stream (slen bytes at r) of the current term to the encoder. */
static int feed(merge *m, usj_rdr *r, uint64_t slen)
{
    uint64_t end = usj_rdr_pos(r) + slen;
    uint32_t last = 0;
    int rc;
    while (usj_rdr_pos(r) < end) {
        uint64_t dd, tf;
        if ((rc = usj_rdr_varint(r, &dd)) || (rc = usj_rdr_varint(r, &tf)))
            return rc;
        uint64_t doc = (uint64_t)last + dd;
        if (doc >= m->w->ndocs || tf == 0 || tf > UINT32_MAX ||
            (m->any && doc <= m->last_doc))
            return usj_error_set(USJ_EIO, "%s: inconsistent postings", r->what);
        if ((rc = usj_grow(&m->gaps, &m->gaps_cap, tf, sizeof *m->gaps, 256,
                           "merge")))
            return rc;
        for (uint64_t k = 0; k < tf; k++) {
            uint64_t g;
            if ((rc = usj_rdr_varint(r, &g)))
                return rc;
            m->gaps[k] = (uint32_t)g;
        }
        if ((rc = usj_penc_add(&m->enc, (uint32_t)doc, (uint32_t)tf, m->gaps)))
            return rc;
        last = (uint32_t)doc;
        m->last_doc = (uint32_t)doc;
        m->any = 1;
    }
    if (usj_rdr_pos(r) != end)
        return usj_error_set(USJ_EIO, "%s: postings overrun", r->what);
    return 0;
}

static int term_begin(merge *m)
{
    usj_penc_begin(&m->enc);
    m->any = 0;
    return 0;
}

static int term_end(merge *m, const char *term, size_t len)
{
    usj_term_info ti;
    memset(&ti, 0, sizeof ti);
    int rc = usj_penc_finish(&m->enc, m->out, &ti);
    if (rc)
        return rc;
    ti.off = m->post_off;
    ti.pos_off = m->pos_off;
    m->post_off += ti.len;
    m->pos_off += ti.pos_len;
    m->w->st.postings += ti.df;
    m->w->st.positions += ti.cf;
    note_memory(m->w, usj_penc_memory(&m->enc));
    return usj_dictw_add(&m->dict, term, len, &ti);
}

static int merge_memory(merge *m)
{
    usj_writer *w = m->w;
    uint32_t *ids;
    int rc = sorted_terms(w, &ids);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < w->nterms && !rc; i++) {
        wterm *t = &w->terms[ids[i]];
        usj_rdr r;
        usj_rdr_mem(&r, t->post, t->plen, "postings buffer");
        if (!(rc = term_begin(m)) && !(rc = feed(m, &r, t->plen)))
            rc = term_end(m, w->arena + t->str, t->len);
    }
    free(ids);
    return rc;
}

static int cmp_term(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int r = memcmp(a, b, n);
    return r ? r : (al < bl ? -1 : al > bl);
}

static int merge_runs(merge *m, run_src *src, uint32_t n)
{
    int rc;
    /* read buffers share half the budget, within 4 KB .. 256 KB each */
    size_t bufsize = m->w->budget / 2 / n;
    bufsize = bufsize < 4096 ? 4096 : bufsize > 262144 ? 262144 : bufsize;
    note_memory(m->w, (uint64_t)bufsize * n);
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = usj_rdr_file(&src[i].r, &m->w->runs[i], bufsize)) ||
            (rc = usj_rdr_varint(&src[i].r, &src[i].left)) ||
            (rc = run_next_term(&src[i])))
            return rc;
    }
    char term[USJ_MAX_TERM_BYTES];
    for (;;) {
        int min = -1;
        for (uint32_t i = 0; i < n; i++)
            if (src[i].has && (min < 0 || cmp_term(src[i].term, src[i].len,
                                                   src[min].term, src[min].len) < 0))
                min = (int)i;
        if (min < 0)
            return 0;
        size_t len = src[min].len;
        memcpy(term, src[min].term, len);
        term_begin(m);
        for (uint32_t i = (uint32_t)min; i < n; i++) {
            if (!src[i].has || cmp_term(src[i].term, src[i].len, term, len) != 0)
                continue;
            if ((rc = feed(m, &src[i].r, src[i].slen)) || (rc = run_next_term(&src[i])))
                return rc;
        }
        if ((rc = term_end(m, term, len)))
            return rc;
    }
}

/* ------------------------------------------------------------ sections */

static unsigned bits_of(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

static uint64_t zigzag(uint64_t cur, uint64_t prev)
{
    uint64_t d = cur - prev;               /* two's complement difference */
    return (d << 1) ^ (0 - (d >> 63));     /* sign bit spread, no signed shift */
}

/* One delta-coded column: for each group of USJ_DOCS_GROUP docs, the
 * zigzag differences of docs 1.. to their predecessor, bit-packed at the
 * group's width, then 8 zero bytes; the group table is kept in `table`. */
static int write_column(usj_writer *w, usj_outfile *o, unsigned c, usj_buf *table)
{
    usj_rdr r;
    int rc = usj_rdr_file(&r, &w->docs_sp, 0);
    if (rc)
        return rc;
    uint64_t data_start = usj_spool_tell(&o->s);
    uint64_t vals[USJ_DOCS_GROUP];
    uint8_t rec[DOC_REC], packed[USJ_DOCS_GROUP * 8 + 8];
    for (uint32_t g0 = 0; g0 < w->ndocs && !rc; g0 += USJ_DOCS_GROUP) {
        uint32_t n = w->ndocs - g0 < USJ_DOCS_GROUP ? w->ndocs - g0 : USJ_DOCS_GROUP;
        for (uint32_t i = 0; i < n && !rc; i++) {
            if ((rc = usj_rdr_read(&r, rec, sizeof rec)))
                break;
            vals[i] = c == 0 ? usj_ld32(rec + 4) : c == 1 ? usj_ld32(rec + 8)
                                                          : usj_ld64(rec + 16);
        }
        if (rc)
            break;
        uint64_t all = 0;
        for (uint32_t i = 1; i < n; i++)
            all |= zigzag(vals[i], vals[i - 1]);
        unsigned wd = bits_of(all);
        uint64_t off = usj_spool_tell(&o->s) - data_start;
        if (wd > USJ_COL_MAX_WIDTH || off > UINT32_MAX) {
            rc = usj_error_set(USJ_ELIMIT, "docs section: doc table too large");
            break;
        }
        uint8_t e[USJ_DOCS_GENTRY] = {0};
        usj_st64(e, vals[0]);
        usj_st32(e + 8, (uint32_t)off);
        e[12] = (uint8_t)wd;
        if ((rc = usj_buf_put(table, e, sizeof e)))
            break;
        uint64_t acc = 0;
        unsigned nb = 0;
        size_t k = 0;
        for (uint32_t i = 1; i < n && wd; i++) {
            acc |= zigzag(vals[i], vals[i - 1]) << nb;   /* nb < 8, wd <= 57 */
            nb += wd;
            while (nb >= 8) {
                packed[k++] = (uint8_t)acc;
                acc >>= 8;
                nb -= 8;
            }
        }
        if (nb)
            packed[k++] = (uint8_t)acc;
        rc = usj_spool_write(&o->s, packed, k);
    }
    usj_rdr_free(&r);
    static const uint8_t zeros[8];
    if (!rc)
        rc = usj_spool_write(&o->s, zeros, 8);
    return rc;
}

static int write_docs(usj_writer *w, usj_outfile *o, const uint32_t *doclens)
{
    uint64_t start = usj_spool_tell(&o->s);
    uint8_t h[USJ_DOCS_HEADER] = {0};   /* written last, as a trailer */
    int rc = 0;
    usj_buf table = USJ_BUF_INIT;
    for (unsigned c = 0; c < USJ_DOCS_NCOLS && !rc; c++) {
        usj_buf_clear(&table);
        usj_st64(h + 8 + 16 * c, usj_spool_tell(&o->s) - start);
        if ((rc = write_column(w, o, c, &table)) || (rc = usj_spool_pad(&o->s, 8)))
            break;
        usj_st64(h + 16 + 16 * c, usj_spool_tell(&o->s) - start);
        note_memory(w, table.cap);
        rc = usj_spool_write(&o->s, table.data, table.len);
    }
    usj_buf_free(&table);
    if (!rc)
        rc = usj_spool_pad(&o->s, 8);
    if (rc)
        return rc;
    usj_st32(h, w->ndocs);
    usj_st64(h + 56, usj_spool_tell(&o->s) - start);
    for (uint32_t d = 0; d < w->ndocs && !rc; d++) {
        uint8_t b[4];
        usj_st32(b, doclens[d]);
        rc = usj_spool_write(&o->s, b, 4);
    }
    if (!rc)
        rc = usj_spool_pad(&o->s, 8);
    if (!rc)
        rc = usj_spool_write(&o->s, h, sizeof h);
    return rc;
}

static int write_files(usj_writer *w, usj_outfile *o)
{
    uint8_t b[8] = {0};
    usj_st32(b, w->nfiles);
    int rc = usj_spool_write(&o->s, b, 8);
    for (uint32_t i = 0; i <= w->nfiles && !rc; i++) {
        usj_st32(b, i < w->nfiles ? w->file_first[i] : w->ndocs);
        rc = usj_spool_write(&o->s, b, 4);
    }
    if (!rc)
        rc = usj_spool_pad(&o->s, 8);
    for (uint32_t i = 0; i < w->nfiles && !rc; i++) {
        usj_st64(b, w->file_str[i]);
        rc = usj_spool_write(&o->s, b, 8);
    }
    if (!rc)
        rc = usj_spool_append(&o->s, &w->files_sp);
    return rc;
}

static int read_run_num(run_src *s, usj_wnum *n)
{
    uint8_t rec[13];
    int rc = usj_rdr_read(&s->r, rec, sizeof rec);
    if (!rc)
        *n = (usj_wnum){(int64_t)usj_ld64(rec + 1), usj_ld32(rec + 9), rec[0]};
    return rc;
}

static int write_numbers(usj_writer *w, usj_outfile *o, run_src *src)
{
    usj_numw nw;
    usj_numw_init(&nw, &o->s);
    int rc = 0;
    if (w->nruns == 0) {
        usj_wnum_sort(w->nums, w->nnums);
        for (size_t i = 0; i < w->nnums && !rc; i++)
            rc = usj_numw_add(&nw, &w->nums[i]);
    } else {
        /* each run: varint count, then 13-byte records in order */
        uint64_t *left = calloc(w->nruns, sizeof *left);
        usj_wnum *cur = calloc(w->nruns, sizeof *cur);
        if (!left || !cur)
            rc = usj_error_set(USJ_ENOMEM, "out of memory (number merge)");
        for (uint32_t i = 0; i < w->nruns && !rc; i++)
            if (!(rc = usj_rdr_varint(&src[i].r, &left[i])) && left[i])
                rc = read_run_num(&src[i], &cur[i]);
        while (!rc) {
            int min = -1;
            for (uint32_t i = 0; i < w->nruns; i++)
                if (left[i] && (min < 0 || usj_wnum_cmp(&cur[i], &cur[min]) < 0))
                    min = (int)i;
            if (min < 0)
                break;
            if ((rc = usj_numw_add(&nw, &cur[min])))
                break;
            if (--left[min])
                rc = read_run_num(&src[min], &cur[min]);
        }
        free(left);
        free(cur);
    }
    if (!rc)
        rc = usj_numw_finish(&nw);
    usj_numw_free(&nw);
    return rc;
}

static int write_meta(usj_writer *w, usj_outfile *o, uint64_t nterms)
{
    uint64_t f[USJ_META_NFIELDS] = {0};
    f[USJ_META_NDOCS] = w->ndocs;
    f[USJ_META_NFILES] = w->nfiles;
    f[USJ_META_NTERMS] = nterms;
    f[USJ_META_POSTINGS] = w->st.postings;
    f[USJ_META_POSITIONS] = w->st.positions;
    f[USJ_META_TOTAL_LENGTH] = w->total_len;
    f[USJ_META_INPUT_BYTES] = w->st.input_bytes;
    for (int t = 0; t < USJ_NUM_NTYPES; t++)
        f[USJ_META_NUM0 + t] = w->st.numbers[t];
    uint8_t b[8 * USJ_META_NFIELDS + 4];
    for (int i = 0; i < USJ_META_NFIELDS; i++)
        usj_st64(b + 8 * i, f[i]);
    char *cwd = getcwd(NULL, 0);
    const char *root = cwd ? cwd : "/";
    size_t rl = strlen(root);
    usj_st32(b + 8 * USJ_META_NFIELDS, (uint32_t)rl);
    int rc = usj_spool_write(&o->s, b, sizeof b);
    if (!rc)
        rc = usj_spool_write(&o->s, root, rl + 1);
    free(cwd);
    return rc;
}

/* ------------------------------------------------------------ publish */

static int read_doclens(usj_writer *w, uint32_t *doclens)
{
    usj_rdr r;
    int rc = usj_rdr_file(&r, &w->docs_sp, 0);
    uint8_t rec[DOC_REC];
    for (uint32_t d = 0; d < w->ndocs && !rc; d++)
        if (!(rc = usj_rdr_read(&r, rec, sizeof rec)))
            doclens[d] = usj_ld32(rec + 12);
    usj_rdr_free(&r);
    return rc;
}

int usj_writer_commit(usj_writer *w, usj_build_stats *stats)
{
    if (w->failed)
        return usj_error_set(w->failed, "the build failed earlier; nothing published");
    int rc;
    while (w->pool && !usj_apool_idle(w->pool))
        if ((rc = pump(w))) {
            w->failed = rc;
            return rc;
        }
    if (w->ndocs == 0)
        return usj_error_set(USJ_EEMPTY, "no paragraph to index (empty corpus)");
    if ((rc = usj_textw_finish(&w->tw, w->ndocs))) {
        w->failed = rc;
        return rc;
    }
    usj_outfile *o = &w->out;
    usj_out_end(o, USJ_SECTION_TEXT, w->text_start);
    if (w->nruns && (w->nterms || w->nnums) && (rc = spill(w)))
        return rc;

    uint32_t *doclens = malloc((size_t)w->ndocs * sizeof *doclens);
    run_src *src = calloc(w->nruns ? w->nruns : 1, sizeof *src);
    usj_spool pos_sp, dict_sp;
    pos_sp.fd = dict_sp.fd = -1;
    pos_sp.buf = dict_sp.buf = NULL;
    pos_sp.name = dict_sp.name = NULL;
    merge m;
    memset(&m, 0, sizeof m);
    if (!doclens || !src) {
        rc = usj_error_set(USJ_ENOMEM, "out of memory (doc lengths)");
        goto done;
    }
    note_memory(w, (uint64_t)w->ndocs * 4);
    if ((rc = read_doclens(w, doclens)) ||
        (rc = usj_spool_tmp(&pos_sp, w->tmpdir, "positions spool")) ||
        (rc = usj_spool_tmp(&dict_sp, w->tmpdir, "dictionary spool")))
        goto done;
    progress(w, w->nruns ? "merging" : "writing");
    /* postings (written straight to the output), positions and dictionary */
    m.w = w;
    m.out = &o->s;
    /* same expression as the reader's average length (impacts) */
    usj_penc_init(&m.enc, doclens, (double)w->total_len / w->ndocs, &pos_sp);
    usj_dictw_init(&m.dict, &dict_sp);
    w->st.postings = w->st.positions = 0;
    if ((rc = usj_out_begin(o)))
        goto done;
    uint64_t start = usj_spool_tell(&o->s);
    rc = w->nruns ? merge_runs(&m, src, w->nruns) : merge_memory(&m);
    if (rc)
        goto done;
    usj_out_end(o, USJ_SECTION_POSTINGS, start);
    if (w->nruns)
        progress(w, "writing");
#define SECTION(id, call)                                   \
    do {                                                    \
        if ((rc = usj_out_begin(o)))                           \
            goto done;                                      \
        start = usj_spool_tell(&o->s);                       \
        if ((rc = (call)))                                  \
            goto done;                                      \
        usj_out_end(o, id, start);                             \
    } while (0)
    SECTION(USJ_SECTION_POSITIONS, usj_spool_append(&o->s, &pos_sp));
    SECTION(USJ_SECTION_DICT, usj_dictw_finish(&m.dict, &o->s));
    SECTION(USJ_SECTION_DOCS, write_docs(w, o, doclens));
    SECTION(USJ_SECTION_FILES, write_files(w, o));
    SECTION(USJ_SECTION_NUMBERS, write_numbers(w, o, src));
    SECTION(USJ_SECTION_META, write_meta(w, o, m.dict.nterms));
#undef SECTION
    if ((rc = usj_spool_pad(&o->s, 8)))
        goto done;
    uint64_t size = usj_spool_tell(&o->s);
    if ((rc = usj_out_publish(o, w->dir, w->path, size)))
        goto done;
    w->st.terms = m.dict.nterms;
    w->st.index_bytes = size;
    w->st.text_bytes_compressed = w->tw.comp_bytes;
    if (stats)
        *stats = w->st;
done:
    if (rc)
        w->failed = rc;
    for (uint32_t i = 0; i < w->nruns; i++)
        usj_rdr_free(&src[i].r);
    free(src);
    free(m.gaps);
    usj_penc_free(&m.enc);
    usj_dictw_free(&m.dict);
    if (pos_sp.buf)
        usj_spool_close(&pos_sp);
    if (dict_sp.buf)
        usj_spool_close(&dict_sp);
    usj_spool_close(&o->s);      /* published, or discarded */
    free(doclens);
    return rc;
}
