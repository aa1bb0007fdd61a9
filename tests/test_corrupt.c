/* tests/test_corrupt.c — damaged index files: a flipped byte in each
 * section, truncation at every section boundary and at random points, bad
 * magic, a newer version, garbage. Opening (with the CRC pass) or the deep
 * check must report USJ_ECORRUPT / USJ_EVERSION; reading a damaged file
 * opened without the CRC pass must never crash, hang or read out of bounds
 * (this suite also runs under ASan+UBSan). */
#include "ixt_fixture.h"
#include "format.h"

static char *g_tmp;
static char g_idx[4200], g_bad[4200];
static unsigned char *g_bytes;
static size_t g_len;

static void setup(void)
{
    g_tmp = ixt_mkdtemp();
    snprintf(g_idx, sizeof g_idx, "%s/good.idx", g_tmp);
    snprintf(g_bad, sizeof g_bad, "%s/bad.idx", g_tmp);
    char **paths = ixt_gen_corpus(g_tmp, 12, 9000, 5, 0);
    cr_assert_eq(ixt_build(g_idx, paths, 0, NULL), 0, "%s", usj_error_last());
    ixt_free_paths(paths);
    g_bytes = (unsigned char *)ixt_slurp(g_idx, &g_len);
}

static void teardown(void)
{
    free(g_bytes);
    ixt_rmrf(g_tmp);
}

static uint64_t sec_off(int i) { return usj_ld64(g_bytes + USJ_HEADER_FIXED + USJ_SECTION_ENTRY * i); }
static uint64_t sec_len(int i) { return usj_ld64(g_bytes + USJ_HEADER_FIXED + USJ_SECTION_ENTRY * i + 8); }

static int count_cb(void *ctx, const char *t, size_t l, const usj_term_info *ti)
{
    (void)t; (void)l;
    const usj_index *idx = ctx;
    usj_postings *p;
    if (usj_postings_open(&p, idx, ti) != 0)
        return 0;
    uint32_t n = 0, prev = 0;
    for (uint32_t d = usj_postings_next(p); d != USJ_DOC_END && n <= ti->df;
         d = usj_postings_next(p), n++) {
        cr_assert(n == 0 || d > prev, "cursor went backwards");
        prev = d;
        const uint32_t *pos;
        uint32_t np;
        usj_postings_positions(p, &pos, &np);
        uint32_t a, b, c;
        usj_postings_block(p, &a, &b, &c);
    }
    cr_assert_leq(n, ti->df, "cursor returned more docs than df");
    cr_assert(usj_postings_error(p) == 0 || usj_postings_error(p) == USJ_ECORRUPT);
    if (n < ti->df)
        cr_assert_eq(usj_postings_error(p), USJ_ECORRUPT, "short list without an error");
    usj_postings_free(p);
    if (usj_postings_open(&p, idx, ti) == 0) {
        usj_postings_shallow(p, 50);
        usj_postings_advance(p, 100);
        usj_postings_advance(p, 10000);
        usj_postings_free(p);
    }
    return 0;
}

/* Read everything an index offers; results may be wrong, but no crash. */
static void read_everything(usj_index *idx)
{
    usj_index_prefix(idx, "", 0, count_cb, idx);
    usj_term_info ti;
    usj_index_term(idx, "ka", 2, &ti);
    usj_textcache c = USJ_TEXTCACHE_INIT;
    for (uint32_t d = 0; d < usj_index_ndocs(idx); d++) {
        usj_doc_info di;
        if (usj_index_doc(idx, d, &di) == 0) {
            cr_assert_not_null(di.path);
            cr_assert_not_null(di.title);
            uint32_t x;
            usj_index_find_line(idx, di.path, di.line, &x);
        }
        const char *t;
        size_t tl;
        usj_index_text(idx, d, &c, &t, &tl);
    }
    usj_textcache_free(&c);
    for (int t = 0; t < USJ_NUM_NTYPES; t++) {
        uint32_t *docs;
        size_t n;
        if (usj_index_numrange(idx, (usj_numtype)t, INT64_MIN, INT64_MAX, &docs, &n) == 0)
            free(docs);
    }
    usj_index_stats st;
    usj_index_stats_get(idx, &st);
    usj_index_check(idx);
}

/* Write the damaged bytes and require an error from open or check. */
static void expect_damage_detected(const unsigned char *b, size_t n, const char *what)
{
    ixt_write(g_bad, b, n);
    usj_index *idx;
    int rc = usj_index_open(&idx, g_bad, 0);
    if (rc == 0) {
        rc = usj_index_check(idx);
        usj_index_unref(idx);
    }
    cr_assert(rc == USJ_ECORRUPT || rc == USJ_EVERSION, "%s: not detected (rc %d)", what, rc);
    cr_assert_neq(usj_error_last()[0], '\0', "%s: no message", what);
    /* without the CRC pass: whatever opens must be safe to read */
    if (usj_index_open(&idx, g_bad, USJ_OPEN_NOVERIFY) == 0) {
        read_everything(idx);
        usj_index_unref(idx);
    }
}

TestSuite(corrupt, .init = setup, .fini = teardown, .timeout = 600);

Test(corrupt, good_file_is_accepted)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0, "%s", usj_error_last());
    cr_assert_eq(usj_index_check(idx), 0, "%s", usj_error_last());
    read_everything(idx);
    usj_index_unref(idx);
}

Test(corrupt, flipped_byte_in_each_section)
{
    unsigned char *b = malloc(g_len);
    uint64_t seed = 99;
    for (int s = 0; s < USJ_NSECTIONS; s++) {
        uint64_t off = sec_off(s), len = sec_len(s);
        cr_assert_gt(len, 0, "section %d empty", s);
        uint64_t picks[8] = {0, len / 2, len - 1};
        for (int k = 3; k < 8; k++)
            picks[k] = ixt_rand(&seed) % len;
        for (int k = 0; k < 8; k++) {
            memcpy(b, g_bytes, g_len);
            b[off + picks[k]] ^= (unsigned char)(1u << (ixt_rand(&seed) % 8));
            char what[64];
            snprintf(what, sizeof what, "section %d byte %llu", s, (unsigned long long)picks[k]);
            expect_damage_detected(b, g_len, what);
            cr_assert(strstr(usj_error_last(), "") != NULL);
        }
    }
    free(b);
}

Test(corrupt, error_names_the_section)
{
    unsigned char *b = malloc(g_len);
    static const char *names[] = {"meta", "dict", "postings", "positions", "docs",
                                  "files", "text", "numbers"};
    for (int s = 0; s < USJ_NSECTIONS; s++) {
        memcpy(b, g_bytes, g_len);
        b[sec_off(s) + sec_len(s) / 2] ^= 0x10;
        ixt_write(g_bad, b, g_len);
        usj_index *idx;
        cr_assert_eq(usj_index_open(&idx, g_bad, 0), USJ_ECORRUPT);
        cr_assert(strstr(usj_error_last(), names[s]) != NULL, "'%s' lacks '%s'",
                  usj_error_last(), names[s]);
    }
    free(b);
}

Test(corrupt, random_bytes_without_crc_never_crash)
{
    /* many single and multi-byte flips, read with the CRC pass skipped */
    unsigned char *b = malloc(g_len);
    uint64_t seed = 2024;
    for (int iter = 0; iter < 400; iter++) {
        memcpy(b, g_bytes, g_len);
        int nflip = 1 + (int)(ixt_rand(&seed) % 4);
        for (int k = 0; k < nflip; k++) {
            size_t at = USJ_HEADER_BYTES + ixt_rand(&seed) % (g_len - USJ_HEADER_BYTES);
            b[at] ^= (unsigned char)(1 + ixt_rand(&seed) % 255);
        }
        ixt_write(g_bad, b, g_len);
        usj_index *idx;
        if (usj_index_open(&idx, g_bad, USJ_OPEN_NOVERIFY) == 0) {
            read_everything(idx);
            usj_index_unref(idx);
        }
        cr_assert_neq(usj_index_open(&idx, g_bad, 0), 0, "iteration %d: damage not detected", iter);
    }
    free(b);
}

/* A column group entry pointing out of its data (huge width, offset or
 * width): a full open rejects it; opened without the checks (the client's
 * USJ_OPEN_NOVERIFY skips the per-group pass over the docs section), every
 * paragraph still reads without going out of bounds (ASan) and the deep
 * check reports the damage. */
Test(corrupt, column_group_entries_without_checks)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    uint32_t ndocs = usj_index_ndocs(idx);
    cr_assert_gt(ndocs, 2 * USJ_DOCS_GROUP);
    uint64_t at[USJ_DOCS_NCOLS];
    for (unsigned c = 0; c < USJ_DOCS_NCOLS; c++)
        at[c] = (uint64_t)(idx->col_table[c] - idx->map);
    usj_index_unref(idx);
    unsigned char *b = malloc(g_len);
    for (unsigned c = 0; c < USJ_DOCS_NCOLS; c++)
        for (int how = 0; how < 3; how++) {
            memcpy(b, g_bytes, g_len);
            unsigned char *e = b + at[c] + USJ_DOCS_GENTRY;   /* group 1 */
            if (how == 0)
                e[12] = 0xFF;                            /* width */
            else if (how == 1)
                usj_st32(e + 8, 0xFFFFFFF0u);            /* data offset */
            else
                e[12] = (unsigned char)USJ_COL_MAX_WIDTH; /* past the data */
            ixt_write(g_bad, b, g_len);
            cr_assert_eq(usj_index_open(&idx, g_bad, 0), USJ_ECORRUPT);
            cr_assert_eq(usj_index_open(&idx, g_bad, USJ_OPEN_NOVERIFY), 0,
                         "column %u, damage %d: %s", c, how, usj_error_last());
            for (uint32_t d = 0; d < ndocs; d++) {
                usj_doc_info di;
                usj_index_doc(idx, d, &di);
            }
            read_everything(idx);
            cr_assert_eq(usj_index_check(idx), USJ_ECORRUPT);
            usj_index_unref(idx);
        }
    free(b);
}

/* The stored-text block table and the numbers' block index, damaged: a
 * full open rejects them; without the checks (USJ_OPEN_NOVERIFY skips the
 * per-block passes) every read stays in bounds (ASan) and the deep check
 * reports the damage. */
Test(corrupt, block_tables_without_checks)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    cr_assert_gt(idx->text_nblocks, 2);
    uint64_t text = (uint64_t)(idx->text_entries - idx->map);
    int t = -1;
    for (int k = 0; k < USJ_NUM_NTYPES; k++)
        if (idx->num_nblocks[k] >= 2 && t < 0)
            t = k;
    cr_assert_geq(t, 0, "no numbers table of two blocks");
    uint64_t num = (uint64_t)(idx->num_index[t] - idx->map);
    usj_index_unref(idx);
    unsigned char *b = malloc(g_len);
    for (int how = 0; how < 5; how++) {
        memcpy(b, g_bytes, g_len);
        unsigned char *e = b + text + USJ_TEXT_ENTRY;    /* block 1 */
        if (how == 0)
            usj_st32(e, 0xFFFFFFF0u);                    /* offset */
        else if (how == 1)
            usj_st32(e + 12, 0xFFFFFFF0u);               /* inflated size */
        else if (how == 2)
            usj_st32(e + 8, 0);                          /* first doc */
        else if (how == 3)
            usj_st32(b + num + 16 + 8, 0);               /* out of order */
        else {                  /* block 0 past the section, ending further */
            usj_st32(b + num + 8, 0xFFFFFF00u);
            usj_st32(b + num + 16 + 8, 0xFFFFFFF0u);
        }
        ixt_write(g_bad, b, g_len);
        cr_assert_eq(usj_index_open(&idx, g_bad, 0), USJ_ECORRUPT);
        cr_assert_eq(usj_index_open(&idx, g_bad, USJ_OPEN_NOVERIFY), 0,
                     "damage %d: %s", how, usj_error_last());
        read_everything(idx);
        cr_assert_eq(usj_index_check(idx), USJ_ECORRUPT);
        usj_index_unref(idx);
    }
    free(b);
}

Test(corrupt, truncation_at_boundaries_and_random_points)
{
    uint64_t seed = 3;
    for (int s = 0; s < USJ_NSECTIONS; s++) {
        uint64_t cuts[3] = {sec_off(s), sec_off(s) + sec_len(s) / 2, sec_off(s) + sec_len(s)};
        for (int k = 0; k < 3; k++)
            if (cuts[k] < g_len)
                expect_damage_detected(g_bytes, cuts[k], "truncated");
    }
    size_t fixed[] = {0, 1, 7, 8, 39, 40, 255, 256, 257, g_len - 1};
    for (size_t k = 0; k < sizeof fixed / sizeof *fixed; k++)
        expect_damage_detected(g_bytes, fixed[k], "truncated");
    for (int k = 0; k < 20; k++)
        expect_damage_detected(g_bytes, ixt_rand(&seed) % g_len, "truncated");
    /* and extended */
    unsigned char *b = malloc(g_len + 100);
    memcpy(b, g_bytes, g_len);
    memset(b + g_len, 0, 100);
    expect_damage_detected(b, g_len + 100, "extended");
    free(b);
}

Test(corrupt, header_fields)
{
    unsigned char *b = malloc(g_len);
    usj_index *idx;
    /* bad magic */
    memcpy(b, g_bytes, g_len);
    b[0] = 'X';
    ixt_write(g_bad, b, g_len);
    cr_assert_eq(usj_index_open(&idx, g_bad, 0), USJ_ECORRUPT);
    cr_assert(strstr(usj_error_last(), "magic") != NULL);
    /* a newer version */
    memcpy(b, g_bytes, g_len);
    usj_st32(b + 8, USJ_FORMAT_VERSION + 1);
    ixt_write(g_bad, b, g_len);
    cr_assert_eq(usj_index_open(&idx, g_bad, 0), USJ_EVERSION);
    cr_assert(strstr(usj_error_last(), "newer") != NULL, "%s", usj_error_last());
    /* every header byte */
    for (size_t at = 8; at < USJ_HEADER_FIXED + USJ_SECTION_ENTRY * USJ_NSECTIONS; at++) {
        if (at >= 16 && at < 24)
            continue;   /* created time: covered by the header CRC below */
        memcpy(b, g_bytes, g_len);
        b[at] ^= 0x41;
        char what[32];
        snprintf(what, sizeof what, "header byte %zu", at);
        expect_damage_detected(b, g_len, what);
    }
    memcpy(b, g_bytes, g_len);
    b[20] ^= 1;
    expect_damage_detected(b, g_len, "created time");
    /* garbage and empty files; a folder; a missing file */
    for (size_t i = 0; i < g_len; i++)
        b[i] = (unsigned char)(i * 7919 >> 3);
    expect_damage_detected(b, g_len, "garbage");
    ixt_write(g_bad, "", 0);
    cr_assert_eq(usj_index_open(&idx, g_bad, 0), USJ_ECORRUPT);
    cr_assert_eq(usj_index_open(&idx, g_tmp, 0), USJ_EIO);
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/none.idx", g_tmp);
    cr_assert_eq(usj_index_open(&idx, missing, 0), USJ_EIO);
    cr_assert(strstr(usj_error_last(), "none.idx") != NULL);
    free(b);
}

Test(corrupt, usjindex_check_reports_damage)
{
    char *prog = ixt_prog("usjindex");
    if (!prog)
        cr_skip_test("USJ_TEST_BIN has no usjindex");
    unsigned char *b = malloc(g_len);
    memcpy(b, g_bytes, g_len);
    b[sec_off(USJ_SECTION_POSTINGS) + 3] ^= 0x20;
    ixt_write(g_bad, b, g_len);
    char err[4300];
    snprintf(err, sizeof err, "%s/err", g_tmp);
    char *ok[] = {prog, "--check", g_idx, NULL};
    cr_assert_eq(ixt_run(ok, err), 0);
    char *bad[] = {prog, "--check", g_bad, NULL};
    cr_assert_eq(ixt_run(bad, err), 2);
    size_t n;
    char *msg = ixt_slurp(err, &n);
    cr_assert(strstr(msg, "postings") != NULL, "%s", msg);
    free(msg);
    free(b);
    free(prog);
}
