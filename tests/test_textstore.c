/* tests/test_textstore.c — the stored-text section (lib/docstore.c): round
 * trips of every paragraph in several access orders (partial inflate, then
 * a later doc of the same block), the preset dictionary (present on a corpus
 * past the 4 MB sample, absent on the seeds), paragraphs larger than a
 * block, the same bytes whatever the thread count, and bad section bytes
 * (trailer, dictionary length, table, blocks) refused or read safely. */
#include <zlib.h>

#include "format.h"
#include "ixt_model.h"
#include "limits.h"

/* Offset and length of section id in an index file's bytes. */
static void section(const unsigned char *f, int id, uint64_t *off, uint64_t *len)
{
    const unsigned char *e = f + 40 + 24 * id;
    *off = *len = 0;
    for (int i = 7; i >= 0; i--) {
        *off = *off << 8 | e[i];
        *len = *len << 8 | e[8 + i];
    }
}

static uint32_t ld32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void st32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Every doc's text against the model, in order, reversed, at random, and
 * in pairs (a doc, then the next one: usually the same, partly inflated
 * block). */
static void check_texts(const ixt_model *m, const usj_index *idx)
{
    uint32_t nd = usj_index_ndocs(idx);
    cr_assert_eq(nd, m->nd);
    usj_textcache c = USJ_TEXTCACHE_INIT;
    const char *t;
    size_t tl;
    for (int pass = 0; pass < 4; pass++) {
        uint64_t s = 42 + (uint64_t)pass;
        for (uint32_t i = 0; i < nd; i++) {
            uint32_t d = pass == 0 ? i : pass == 1 ? nd - 1 - i : (uint32_t)(ixt_rand(&s) % nd);
            cr_assert_eq(usj_index_text(idx, d, &c, &t, &tl), 0, "doc %u: %s", d,
                         usj_error_last());
            cr_assert_eq(tl, m->d[d].tlen, "doc %u length", d);
            cr_assert(memcmp(t, m->d[d].text, tl) == 0, "doc %u text", d);
            if (pass == 3 && d + 1 < nd) {
                d++;
                cr_assert_eq(usj_index_text(idx, d, &c, &t, &tl), 0, "%s", usj_error_last());
                cr_assert_eq(tl, m->d[d].tlen, "doc %u length", d);
                cr_assert(memcmp(t, m->d[d].text, tl) == 0, "doc %u text", d);
            }
        }
    }
    cr_assert_eq(usj_index_text(idx, nd, &c, &t, &tl), USJ_EINVAL);
    usj_textcache_free(&c);
}

static char *g_dir;
static char **g_paths;
static char g_idx[4200];

/* ~4.6 MB of generated text (past the dictionary sample) plus a file of
 * paragraphs larger than a block, built single-threaded. */
static void setup(void)
{
    g_dir = ixt_mkdtemp();
    char **gen = ixt_gen_corpus(g_dir, 5, 920 * 1024, 7, 0);
    g_paths = calloc(8, sizeof *g_paths);
    for (int i = 0; i < 5; i++)
        g_paths[i] = gen[i];
    free(gen);
    usj_buf b = USJ_BUF_INIT;
    usj_buf_puts(&b, "Big paragraphs\n\n");
    uint64_t s = 3;
    for (int p = 0; p < 3; p++) {
        size_t want = (size_t)(p + 1) * 3 * USJ_TEXT_BLOCK_BYTES;
        size_t start = b.len;
        while (b.len - start < want) {
            ixt_word(&s, &b, 400);
            usj_buf_putc(&b, ' ');
        }
        usj_buf_puts(&b, "end.\n\nA short one.\n\n");
    }
    g_paths[5] = malloc(strlen(g_dir) + 16);
    sprintf(g_paths[5], "%s/zbig.txt", g_dir);
    ixt_write(g_paths[5], b.data, b.len);
    usj_buf_free(&b);
    snprintf(g_idx, sizeof g_idx, "%s/t.idx", g_dir);
    setenv("USJ_INDEX_THREADS", "0", 1);
    usj_build_stats bs;
    cr_assert_eq(ixt_build(g_idx, g_paths, 0, &bs), 0, "%s", usj_error_last());
}

static void teardown(void)
{
    ixt_free_paths(g_paths);
    ixt_rmrf(g_dir);
}

TestSuite(textstore, .init = setup, .fini = teardown, .timeout = 600);

Test(textstore, round_trip_with_dictionary)
{
    size_t n;
    unsigned char *f = (unsigned char *)ixt_slurp(g_idx, &n);
    uint64_t off, len;
    section(f, 6, &off, &len);
    cr_assert_geq(len, 8);
    uint32_t nblocks = ld32(f + off + len - 8), dl = ld32(f + off + len - 4);
    cr_assert_eq(dl, USJ_TEXT_DICT_BYTES, "a full dictionary from the 4 MB sample");
    cr_assert_gt(nblocks, (uint32_t)(4u * 1024 * 1024 / (2 * USJ_TEXT_BLOCK_BYTES)));
    free(f);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    cr_assert_eq(usj_index_check(idx), 0, "%s", usj_error_last());
    ixt_model m;
    ixt_model_build(&m, g_paths);
    check_texts(&m, idx);
    ixt_model_free(&m);
    usj_index_unref(idx);
}

Test(textstore, same_bytes_with_threads)
{
    char other[4300];
    snprintf(other, sizeof other, "%s/threads.idx", g_dir);
    setenv("USJ_INDEX_THREADS", "2", 1);
    usj_build_stats bs;
    int rc = ixt_build(other, g_paths, 0, &bs);
    setenv("USJ_INDEX_THREADS", "0", 1);
    cr_assert_eq(rc, 0, "%s", usj_error_last());
    size_t na, nb;
    char *a = ixt_slurp(g_idx, &na), *b = ixt_slurp(other, &nb);
    cr_assert_eq(na, nb);
    /* the header differs by the creation time and its CRC only */
    cr_assert(memcmp(a + 40, b + 40, na - 40) == 0, "same sections");
    free(a);
    free(b);
}

Test(textstore, small_corpus_has_no_dictionary)
{
    char idxp[4300], *paths[2];
    char buf[4300];
    snprintf(buf, sizeof buf, "%s/small.txt", g_dir);
    const char *txt = "Title\n\nOne short paragraph.\n\nAnother one, with the word text.\n";
    ixt_write(buf, txt, strlen(txt));
    paths[0] = buf;
    paths[1] = NULL;
    snprintf(idxp, sizeof idxp, "%s/small.idx", g_dir);
    usj_build_stats bs;
    cr_assert_eq(ixt_build(idxp, paths, 0, &bs), 0, "%s", usj_error_last());
    size_t n;
    unsigned char *f = (unsigned char *)ixt_slurp(idxp, &n);
    uint64_t off, len;
    section(f, 6, &off, &len);
    cr_assert_eq(ld32(f + off + len - 8), 1, "one block");
    cr_assert_eq(ld32(f + off + len - 4), 0, "no dictionary under 64 KB of text");
    free(f);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0, "%s", usj_error_last());
    cr_assert_eq(usj_index_check(idx), 0, "%s", usj_error_last());
    const char *t;
    size_t tl;
    usj_textcache c = USJ_TEXTCACHE_INIT;
    cr_assert_eq(usj_index_text(idx, 2, &c, &t, &tl), 0, "%s", usj_error_last());
    cr_assert_eq(tl, strlen("Another one, with the word text."));
    cr_assert(memcmp(t, "Another one, with the word text.", tl) == 0);
    cr_assert_eq(usj_index_text(idx, 0, &c, &t, &tl), 0);
    cr_assert(tl == 5 && memcmp(t, "Title", 5) == 0);
    usj_textcache_free(&c);
    usj_index_unref(idx);
}

/* Write a damaged copy with its CRCs recomputed (so that the text
 * section's own checks are what must find the damage) and open it with
 * every check: the table pass of usj_docstore_open runs only then (a
 * USJ_OPEN_NOVERIFY open leaves the entries to load()). Then opened
 * without the checks, reading every text must stay safe. */
static int open_damaged(const char *path, unsigned char *f, size_t n, usj_index **idx)
{
    for (int i = 0; i < USJ_NSECTIONS; i++) {
        uint64_t off, len;
        section(f, i, &off, &len);
        if (off <= n && len <= n - off)
            st32(f + USJ_HEADER_FIXED + USJ_SECTION_ENTRY * i + 16,
                 (uint32_t)crc32_z(0, f + off, (size_t)len));
    }
    unsigned char hdr[USJ_HEADER_FIXED + USJ_SECTION_ENTRY * USJ_NSECTIONS];
    memcpy(hdr, f, sizeof hdr);
    st32(hdr + 36, 0);
    st32(f + 36, (uint32_t)crc32_z(0, hdr, sizeof hdr));
    ixt_write(path, f, n);
    int rc = usj_index_open(idx, path, 0);
    usj_index *raw;
    if (usj_index_open(&raw, path, USJ_OPEN_NOVERIFY) == 0) {
        usj_textcache c = USJ_TEXTCACHE_INIT;
        for (uint32_t d = 0; d < usj_index_ndocs(raw); d++) {
            const char *t;
            size_t tl;
            usj_index_text(raw, d, &c, &t, &tl);
        }
        usj_textcache_free(&c);
        usj_index_unref(raw);
    }
    return rc;
}

Test(textstore, bad_trailer_and_table_are_corrupt)
{
    size_t n;
    unsigned char *f = (unsigned char *)ixt_slurp(g_idx, &n), *g = malloc(n);
    uint64_t off, len;
    section(f, 6, &off, &len);
    unsigned char *tr = g + off + len - 8;
    uint32_t nblocks = ld32(f + off + len - 8), dl = ld32(f + off + len - 4);
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/bad.idx", g_dir);
    usj_index *idx;
    const uint32_t dls[] = {USJ_TEXT_DICT_BYTES + 1, dl - 1, dl + 16, 0, UINT32_MAX};
    for (size_t i = 0; i < sizeof dls / sizeof *dls; i++) {
        memcpy(g, f, n);
        st32(tr + 4, dls[i]);
        cr_assert_eq(open_damaged(bad, g, n, &idx), USJ_ECORRUPT, "dict_len %u", dls[i]);
        cr_assert_neq(usj_error_last()[0], '\0');
    }
    const uint32_t nbs[] = {nblocks + 1, nblocks - 1, UINT32_MAX, 0};
    for (size_t i = 0; i < sizeof nbs / sizeof *nbs; i++) {
        memcpy(g, f, n);
        st32(tr, nbs[i]);
        cr_assert_eq(open_damaged(bad, g, n, &idx), USJ_ECORRUPT, "nblocks %u", nbs[i]);
    }
    /* table entries: first doc of block 1 back to 0, an uncompressed
     * length of 0, one past USJ_MAX_TEXT_BLOCK, an offset past the data */
    unsigned char *tab = g + off + len - 8 - (uint64_t)(nblocks + 1) * 16;
    for (int k = 0; k < 4; k++) {
        memcpy(g, f, n);
        if (k == 0)
            st32(tab + 16 + 8, 0);
        else if (k == 1)
            st32(tab + 16 + 12, 0);
        else if (k == 2)
            st32(tab + 16 + 12, USJ_MAX_TEXT_BLOCK + 1);
        else
            st32(tab + 16 + 4, 0x10000);   /* high half of block 1's offset */
        cr_assert_eq(open_damaged(bad, g, n, &idx), USJ_ECORRUPT, "table damage %d", k);
    }
    free(f);
    free(g);
}

Test(textstore, damaged_blocks_are_detected_or_read_safely)
{
    size_t n;
    unsigned char *f = (unsigned char *)ixt_slurp(g_idx, &n), *g = malloc(n);
    uint64_t off, len;
    section(f, 6, &off, &len);
    uint32_t nblocks = ld32(f + off + len - 8);
    const unsigned char *tab = f + off + len - 8 - (uint64_t)(nblocks + 1) * 16;
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/bad.idx", g_dir);
    /* block 1 zeroed: check and every read of its docs say ECORRUPT */
    uint64_t b1 = ld32(tab + 16) | (uint64_t)ld32(tab + 20) << 32;
    uint64_t b2 = ld32(tab + 32) | (uint64_t)ld32(tab + 36) << 32;
    uint32_t d1 = ld32(tab + 24), d2 = ld32(tab + 40);
    memcpy(g, f, n);
    memset(g + off + b1, 0, b2 - b1);
    usj_index *idx;
    cr_assert_eq(open_damaged(bad, g, n, &idx), 0, "%s", usj_error_last());
    cr_assert_eq(usj_index_check(idx), USJ_ECORRUPT);
    usj_textcache c = USJ_TEXTCACHE_INIT;
    const char *t;
    size_t tl;
    for (uint32_t d = d1; d < d2; d++)
        cr_assert_eq(usj_index_text(idx, d, &c, &t, &tl), USJ_ECORRUPT, "doc %u", d);
    cr_assert_eq(usj_index_text(idx, d2, &c, &t, &tl), 0, "the next block is fine");
    usj_index_unref(idx);
    /* flipped bytes in blocks and in the dictionary: with the CRC pass the
     * open fails; without it, reads return an error or some bytes, safely */
    uint64_t s = 99;
    for (int k = 0; k < 40; k++) {
        memcpy(g, f, n);
        uint64_t at = off + ixt_rand(&s) % (len - 8 - (uint64_t)(nblocks + 1) * 16);
        g[at] ^= (unsigned char)(1u << (k % 8));
        ixt_write(bad, g, n);
        cr_assert_eq(usj_index_open(&idx, bad, 0), USJ_ECORRUPT, "flip at %llu",
                     (unsigned long long)at);
        cr_assert_eq(usj_index_open(&idx, bad, USJ_OPEN_NOVERIFY), 0);
        for (int r = 0; r < 64; r++) {
            uint32_t d = (uint32_t)(ixt_rand(&s) % usj_index_ndocs(idx));
            int rc = usj_index_text(idx, d, &c, &t, &tl);
            cr_assert(rc == 0 || rc == USJ_ECORRUPT);
            if (rc == 0)
                cr_assert_leq(tl, USJ_MAX_TEXT_BLOCK);
        }
        usj_index_check(idx);
        usj_index_unref(idx);
    }
    usj_textcache_free(&c);
    free(f);
    free(g);
}
