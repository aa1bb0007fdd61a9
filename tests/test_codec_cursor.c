/* tests/test_codec_cursor.c — the postings cursor's partial decoding
 * (lib/postings.c): positions decoded a 128-value group at a time for the
 * docs asked for (a block's run spans many groups, a doc's positions span
 * group boundaries), tfs decoded on the first request, both checked against
 * the brute-force model of the same files (tests/ixt_model.h); a damaged tf
 * run reported as USJ_ECORRUPT when the tfs are first read; the decoded
 * block as a window, and moves inside it. */
#include "ixt_model.h"
#include "codec.h"
#include "format.h"
#include "limits.h"

static char *g_tmp;
static char g_idx[4200];
static char **g_paths;
static ixt_model g_m;

/* Paragraphs of 1..700 words from a vocabulary of 8, the first word half of
 * the time (and "zulu" in one paragraph of ten): the first word's tf reaches the hundreds, so one 128-doc block holds tens of
 * thousands of its positions (hundreds of codec groups). */
static void gen(const char *dir, unsigned nfiles, unsigned paras, uint64_t seed)
{
    static const char *vocab[] = {"alpha", "bravo", "charlie", "delta",
                                  "echo", "foxtrot", "golf", "hotel"};
    g_paths = calloc(nfiles + 1, sizeof *g_paths);
    uint64_t s = seed;
    for (unsigned f = 0; f < nfiles; f++) {
        usj_buf b = USJ_BUF_INIT;
        usj_buf_puts(&b, "Title of the file\n\n");
        for (unsigned p = 0; p < paras; p++) {
            unsigned n = 1 + (unsigned)(ixt_rand(&s) % (p % 10 == 0 ? 700 : 60));
            if (p % 10 == 3)
                usj_buf_puts(&b, "zulu ");     /* a single-block list */
            for (unsigned w = 0; w < n; w++) {
                unsigned r = (unsigned)(ixt_rand(&s) % 16);
                usj_buf_puts(&b, vocab[r < 8 ? 0 : r - 8]);
                usj_buf_putc(&b, w + 1 < n ? ' ' : '.');
            }
            usj_buf_puts(&b, "\n\n");
        }
        g_paths[f] = malloc(strlen(dir) + 32);
        sprintf(g_paths[f], "%s/f%02u.txt", dir, f);
        ixt_write(g_paths[f], b.data, b.len);
        usj_buf_free(&b);
    }
}

static void setup(void)
{
    g_tmp = ixt_mkdtemp();
    snprintf(g_idx, sizeof g_idx, "%s/c.idx", g_tmp);
    gen(g_tmp, 4, 150, 77);
    cr_assert_eq(ixt_build(g_idx, g_paths, 0, NULL), 0, "%s", usj_error_last());
    ixt_model_build(&g_m, g_paths);
}

static void teardown(void)
{
    ixt_model_free(&g_m);
    ixt_free_paths(g_paths);
    ixt_rmrf(g_tmp);
}

TestSuite(codec_cursor, .init = setup, .fini = teardown, .timeout = 300);

/* The model's occurrences of term: [*lo, *hi) in g_m.o. */
static void model_term(const char *term, size_t *lo, size_t *hi)
{
    size_t i = 0;
    while (i < g_m.no && strcmp(g_m.o[i].term, term) != 0)
        i++;
    cr_assert_lt(i, g_m.no, "term %s not in the model", term);
    size_t j = i;
    while (j < g_m.no && strcmp(g_m.o[j].term, term) == 0)
        j++;
    *lo = i;
    *hi = j;
}

/* Walk every term's list once per pattern, asking for positions of some
 * docs only (mode 0: every doc; 1: one in five; 2: the last of each block
 * only; 3: random, some twice), moving by next or by advance. */
static void walk(const usj_index *idx, const char *term, int mode, uint64_t *seed)
{
    size_t lo, hi;
    model_term(term, &lo, &hi);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, term, strlen(term), &ti), 0);
    usj_postings *p;
    cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
    size_t at = lo;
    uint32_t k = 0, d = usj_postings_next(p);
    while (at < hi) {
        uint32_t want = g_m.o[at].doc;
        size_t end = at;
        while (end < hi && g_m.o[end].doc == want)
            end++;
        cr_assert_eq(d, want, "%s: doc %u, model %u", term, d, want);
        int ask;
        switch (mode) {
        case 0: ask = 1; break;
        case 1: ask = ixt_rand(seed) % 5 == 0; break;
        case 2: ask = k % USJ_BLOCK_DOCS == USJ_BLOCK_DOCS - 1 || end == hi; break;
        default: ask = (int)(ixt_rand(seed) % 3); break;
        }
        if (ask && ixt_rand(seed) % 2)
            cr_assert_eq(usj_postings_freq(p), end - at, "%s doc %u: tf", term, d);
        for (int rep = 0; rep < ask; rep++) {
            const uint32_t *pos;
            uint32_t np;
            cr_assert_eq(usj_postings_positions(p, &pos, &np), 0, "%s", usj_error_last());
            cr_assert_eq(np, end - at, "%s doc %u: %u positions, model %zu",
                         term, d, np, end - at);
            for (uint32_t x = 0; x < np; x++)
                cr_assert_eq(pos[x], g_m.o[at + x].pos, "%s doc %u: position %u", term, d, x);
        }
        at = end;
        k++;
        if (at == hi)
            break;
        /* half the moves advance straight to the model's next doc */
        d = ixt_rand(seed) % 2 ? usj_postings_next(p) : usj_postings_advance(p, g_m.o[at].doc);
    }
    cr_assert_eq(usj_postings_next(p), USJ_DOC_END);
    cr_assert_eq(usj_postings_error(p), 0);
    usj_postings_free(p);
}

Test(codec_cursor, positions_of_some_docs_match_the_model)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    /* the frequent word: several blocks, long runs, docs across groups */
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "alpha", 5, &ti), 0);
    cr_assert_gt(ti.df, 3 * USJ_BLOCK_DOCS, "df %u", ti.df);
    cr_assert_gt(ti.cf, 100 * (uint64_t)USJ_CODEC_BLOCK, "cf %llu",
                 (unsigned long long)ti.cf);
    uint64_t seed = 5;
    static const char *terms[] = {"alpha", "bravo", "hotel", "zulu"};
    for (int mode = 0; mode < 4; mode++)
        for (size_t t = 0; t < sizeof terms / sizeof *terms; t++) {
            usj_term_info x;
            if (usj_index_term(idx, terms[t], strlen(terms[t]), &x) == 0)
                walk(idx, terms[t], mode, &seed);
        }
    cr_assert_eq(usj_index_check(idx), 0, "%s", usj_error_last());
    usj_index_unref(idx);
}

/* usj_postings_window / usj_postings_forward (the in-block intersection
 * of lib/query_eval.c): the window is the rest of the decoded block from
 * the current doc, followed by 7 or more UINT32_MAX, empty before the
 * first doc and past the end; forward moves inside the block only, and the
 * doc it lands on has the model's tf and positions. */
Test(codec_cursor, window_and_forward_follow_the_model)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    static const char *terms[] = {"alpha", "bravo", "hotel", "zulu"};
    uint64_t seed = 11;
    for (size_t t = 0; t < sizeof terms / sizeof *terms; t++) {
        size_t lo, hi;
        model_term(terms[t], &lo, &hi);
        /* the model's distinct docs and where each one's occurrences start */
        size_t ndoc = 0, *first = malloc((hi - lo + 1) * sizeof *first);
        for (size_t at = lo; at < hi; at++)
            if (at == lo || g_m.o[at].doc != g_m.o[at - 1].doc)
                first[ndoc++] = at;
        first[ndoc] = hi;
        usj_term_info ti;
        cr_assert_eq(usj_index_term(idx, terms[t], strlen(terms[t]), &ti), 0);
        cr_assert_eq(ti.df, ndoc);
        usj_postings *p;
        cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
        const uint32_t *w;
        cr_assert_eq(usj_postings_window(p, &w), 0, "%s: before the first doc", terms[t]);
        size_t k = 0;                   /* the model's doc the cursor is on */
        cr_assert_eq(usj_postings_next(p), g_m.o[first[0]].doc);
        while (k < ndoc) {
            uint32_t c = usj_postings_window(p, &w);
            size_t in_blk = USJ_BLOCK_DOCS - k % USJ_BLOCK_DOCS;
            if (in_blk > ndoc - k)
                in_blk = ndoc - k;
            cr_assert_eq(c, in_blk, "%s doc #%zu: window of %u, block has %zu left",
                         terms[t], k, c, in_blk);
            for (uint32_t x = 0; x < c; x++)
                cr_assert_eq(w[x], g_m.o[first[k + x]].doc, "%s doc #%zu + %u", terms[t], k, x);
            for (uint32_t x = c; x < c + 7; x++)
                cr_assert_eq(w[x], UINT32_MAX, "%s doc #%zu: padding %u", terms[t], k, x - c);
            usj_postings_forward(p, c);     /* past the block: stays */
            cr_assert_eq(usj_postings_doc(p), w[0]);
            uint32_t step = (uint32_t)(ixt_rand(&seed) % c);
            usj_postings_forward(p, step);
            k += step;
            cr_assert_eq(usj_postings_doc(p), g_m.o[first[k]].doc);
            if (ixt_rand(&seed) % 2) {
                const uint32_t *pos;
                uint32_t np;
                cr_assert_eq(usj_postings_positions(p, &pos, &np), 0, "%s", usj_error_last());
                cr_assert_eq(np, first[k + 1] - first[k], "%s doc #%zu: tf", terms[t], k);
                for (uint32_t x = 0; x < np; x++)
                    cr_assert_eq(pos[x], g_m.o[first[k] + x].pos);
            }
            k++;
            uint32_t d = usj_postings_next(p);
            cr_assert_eq(d, k < ndoc ? g_m.o[first[k]].doc : USJ_DOC_END);
        }
        cr_assert_eq(usj_postings_window(p, &w), 0, "%s: past the end", terms[t]);
        cr_assert_eq(usj_postings_error(p), 0);
        usj_postings_free(p);
        free(first);
    }
    usj_index_unref(idx);
}

/* Skipping within a block: advance far, ask positions, advance again. */
Test(codec_cursor, advance_then_positions)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    size_t lo, hi;
    model_term("alpha", &lo, &hi);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "alpha", 5, &ti), 0);
    for (uint32_t stride = 3; stride < 200; stride += 37) {
        usj_postings *p;
        cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
        for (uint32_t target = stride; ; target += stride) {
            uint32_t d = usj_postings_advance(p, target);
            size_t at = lo;
            while (at < hi && g_m.o[at].doc < target)
                at++;
            if (at == hi) {
                cr_assert_eq(d, USJ_DOC_END);
                break;
            }
            cr_assert_eq(d, g_m.o[at].doc);
            const uint32_t *pos;
            uint32_t np;
            cr_assert_eq(usj_postings_positions(p, &pos, &np), 0);
            for (uint32_t x = 0; x < np; x++)
                cr_assert_eq(pos[x], g_m.o[at + x].pos);
            cr_assert(at + np == hi || g_m.o[at + np].doc != d);
        }
        usj_postings_free(p);
    }
    usj_index_unref(idx);
}

/* A tf run made undecodable (width byte 33) in a single-block list: the
 * doc ids still read; the first tf request reports USJ_ECORRUPT, ends the
 * cursor, and the deep check fails. */
Test(codec_cursor, damaged_tfs_are_reported_when_read)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "zulu", 4, &ti), 0);
    cr_assert(ti.df >= USJ_CODEC_MINPACK && ti.df <= USJ_BLOCK_DOCS, "df %u", ti.df);
    const uint8_t *list = idx->sec[USJ_SECTION_POSTINGS].p + ti.off;
    const uint8_t *tf_run;
    cr_assert_eq(usj_codec_skip_group(list, list + ti.len, ti.df, &tf_run), 0);
    uint64_t off = (uint64_t)(tf_run - idx->map);
    usj_index_unref(idx);

    size_t n;
    char *bytes = ixt_slurp(g_idx, &n);
    cr_assert_lt(off, n);
    bytes[off] = 33;
    char bad[4300];
    snprintf(bad, sizeof bad, "%s.bad", g_idx);
    ixt_write(bad, bytes, n);
    free(bytes);

    cr_assert_eq(usj_index_open(&idx, bad, USJ_OPEN_NOVERIFY), 0);
    usj_postings *p;
    cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
    cr_assert_neq(usj_postings_next(p), USJ_DOC_END);
    cr_assert_eq(usj_postings_error(p), 0, "doc ids are intact");
    cr_assert_eq(usj_postings_freq(p), 0);
    cr_assert_eq(usj_postings_error(p), USJ_ECORRUPT);
    cr_assert_neq(usj_error_last()[0], '\0');
    cr_assert_eq(usj_postings_next(p), USJ_DOC_END);
    const uint32_t *pos;
    uint32_t np;
    cr_assert_neq(usj_postings_positions(p, &pos, &np), 0);
    usj_postings_free(p);
    /* positions first (no freq call): the same error */
    cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
    usj_postings_next(p);
    cr_assert_eq(usj_postings_positions(p, &pos, &np), USJ_ECORRUPT);
    cr_assert_eq(usj_postings_error(p), USJ_ECORRUPT);
    usj_postings_free(p);
    cr_assert_eq(usj_index_check(idx), USJ_ECORRUPT);
    usj_index_unref(idx);
}

/* Every block's tfs are checked against the term's largest tf when its
 * positions are set up (4 at a time on SSE2 builds, biased compares): with
 * the term's max_tf lowered below the largest tf of a full block, asking
 * that block's positions reports USJ_ECORRUPT; at the true max_tf every
 * block reads; max_tf 0 fails at once. */
Test(codec_cursor, tf_above_the_terms_largest_is_corrupt)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "alpha", 5, &ti), 0);
    cr_assert_gt(ti.df, 2 * USJ_BLOCK_DOCS);
    cr_assert_gt(ti.max_tf, 2);
    for (uint32_t mt = 0; mt <= ti.max_tf; mt++) {
        usj_term_info x = ti;
        x.max_tf = mt;
        usj_postings *p;
        cr_assert_eq(usj_postings_open(&p, idx, &x), 0);
        /* the block's largest tf, from the unchanged max_tf cursor's view:
         * the first full block fails iff one of its tfs exceeds mt */
        uint32_t big = 0, d = usj_postings_next(p);
        for (uint32_t k = 0; k < USJ_BLOCK_DOCS && d != USJ_DOC_END; k++) {
            uint32_t f = usj_postings_freq(p);
            if (f > big)
                big = f;
            if (k + 1 < USJ_BLOCK_DOCS)
                d = usj_postings_next(p);
        }
        const uint32_t *pos;
        uint32_t np;
        int rc = usj_postings_positions(p, &pos, &np);
        if (big > mt)
            cr_assert_eq(rc, USJ_ECORRUPT, "max_tf %u, block's largest %u", mt, big);
        else
            cr_assert_eq(rc, 0, "max_tf %u, block's largest %u: %s", mt, big,
                         usj_error_last());
        usj_postings_free(p);
    }
    usj_index_unref(idx);
}

/* The doc ids of a full block are summed from its gaps 4 at a time on SSE2
 * builds when no 32-bit sum can wrap, else one at a time in 64 bits: with
 * the width byte of the second block's gap group rewritten to every width
 * (gaps from garbage bits, up to 2^32 - 1), a cursor walking the list
 * returns increasing doc ids below the doc count or reports USJ_ECORRUPT,
 * never a wrapped id. */
Test(codec_cursor, garbage_gaps_never_wrap)
{
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, g_idx, 0), 0);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "alpha", 5, &ti), 0);
    uint32_t nb = (ti.df + USJ_BLOCK_DOCS - 1) / USJ_BLOCK_DOCS;
    cr_assert_gt(nb, 2);
    const uint8_t *list = idx->sec[USJ_SECTION_POSTINGS].p + ti.off;
    uint32_t doc_off = usj_ld32(list + USJ_SKIP_ENTRY + 4);
    uint64_t off = (uint64_t)(list + (size_t)nb * USJ_SKIP_ENTRY + doc_off - idx->map);
    uint32_t ndocs = idx->ndocs;
    usj_index_unref(idx);

    size_t n;
    char *orig = ixt_slurp(g_idx, &n);
    cr_assert_lt(off, n);
    char bad[4300];
    snprintf(bad, sizeof bad, "%s.gaps", g_idx);
    int corrupt = 0;
    for (unsigned w = 1; w <= 32; w++) {
        char *bytes = malloc(n);
        memcpy(bytes, orig, n);
        bytes[off] = (char)w;
        ixt_write(bad, bytes, n);
        free(bytes);
        cr_assert_eq(usj_index_open(&idx, bad, USJ_OPEN_NOVERIFY), 0);
        usj_postings *p;
        cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
        uint32_t prev = 0, cnt = 0;
        for (uint32_t d = usj_postings_next(p); d != USJ_DOC_END;
             d = usj_postings_next(p), cnt++) {
            cr_assert_lt(d, ndocs, "width %u: doc %u", w, d);
            cr_assert(cnt == 0 || d > prev, "width %u: doc %u after %u", w, d, prev);
            prev = d;
        }
        if (usj_postings_error(p)) {
            cr_assert_eq(usj_postings_error(p), USJ_ECORRUPT);
            corrupt++;
        }
        usj_postings_free(p);
        usj_index_unref(idx);
    }
    free(orig);
    cr_assert_gt(corrupt, 0, "some widths must be reported");
}
