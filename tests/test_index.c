/* tests/test_index.c — writer/reader round trips checked against a brute
 * force model (seeds and a generated corpus), cursor advance/shallow against
 * plain lists, lookups of missing things, exact lookups of every term and
 * its prefixes, extensions and neighbours, index location, and the build
 * errors that must leave an old index untouched. */
#include "ixt_model.h"
#include "limits.h"

static char **seed_paths(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/seeds", ixt_root());
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "no seeds folder at %s", dir);
    char **paths = calloc(64, sizeof *paths);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 63) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0) {
            paths[n] = malloc(strlen(dir) + l + 2);
            sprintf(paths[n++], "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)         /* byte order, like usjindex */
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(paths[i], paths[j]) > 0) {
                char *t = paths[i];
                paths[i] = paths[j];
                paths[j] = t;
            }
    return paths;
}

Test(index, seeds_round_trip)
{
    char *tmp = ixt_mkdtemp();
    char idxp[4200];
    snprintf(idxp, sizeof idxp, "%s/seeds.idx", tmp);
    char **paths = seed_paths();
    usj_build_stats bs;
    cr_assert_eq(ixt_build(idxp, paths, 0, &bs), 0, "%s", usj_error_last());
    cr_assert_eq(bs.files, 5);
    cr_assert_eq(bs.paragraphs, 176);     /* the seeds' non-blank lines */
    cr_assert_eq(bs.runs_spilled, 0);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0, "%s", usj_error_last());
    ixt_model m;
    ixt_model_build(&m, paths);
    cr_assert_eq(m.nd, 176);
    ixt_model_check(&m, idx);
    /* a few exact facts of the seeds */
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "japan", 5, &ti), 0);
    cr_assert_gt(ti.df, 50);
    uint32_t *docs;
    size_t nd;
    cr_assert_eq(usj_index_numrange(idx, USJ_NUM_MONEY, 550000000000LL * USJ_NUM_SCALE,
                                     550000000000LL * USJ_NUM_SCALE, &docs, &nd), 0);
    cr_assert_gt(nd, 0, "$550 billion is in the seeds");
    for (size_t i = 0; i < nd; i++) {
        usj_textcache c = USJ_TEXTCACHE_INIT;
        const char *t;
        size_t tl;
        cr_assert_eq(usj_index_text(idx, docs[i], &c, &t, &tl), 0);
        cr_assert(memmem(t, tl, "550", 3) != NULL);
        usj_textcache_free(&c);
    }
    free(docs);
    usj_index_stats st;
    usj_index_stats_get(idx, &st);
    cr_assert_eq(st.files, 5);
    cr_assert_eq(st.version, 1);
    cr_assert_eq(st.nsections, 8);
    cr_assert_eq(st.input_bytes, bs.input_bytes);
    cr_assert_eq(st.file_bytes, bs.index_bytes);
    cr_assert_eq(st.root[0], '/');
    const char *p, *title;
    cr_assert_eq(usj_index_file(idx, 0, &p, &title), 0);
    cr_assert_str_eq(p, paths[0]);
    cr_assert_str_eq(title, "US-Japan Alliance Enters New Era: Landmark Trade Deal and "
                            "Enhanced Security Cooperation Shape 2025");
    /* long first lines: cut after the first sentence (001), or after a
     * word with "…" (004, no sentence end within USJ_TITLE_MAX) */
    cr_assert_eq(usj_index_file(idx, 1, &p, &title), 0);
    cr_assert_str_eq(title, "The diplomatic landscape of the Indo-Pacific has "
                            "long been shaped by the enduring alliance between "
                            "Japan and the United States.");
    cr_assert_eq(usj_index_file(idx, 4, &p, &title), 0);
    cr_assert_str_eq(title, "Japan and the United States have completed a "
                            "comprehensive trade agreement designed to "
                            "strengthen collaboration in key sectors such as "
                            "energy infrastructure\xe2\x80\xa6");
    ixt_model_free(&m);
    usj_index_unref(idx);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

Test(index, generated_round_trip)
{
    char *tmp = ixt_mkdtemp();
    char **paths = ixt_gen_corpus(tmp, 40, 12000, 42, 1);
    char idxp[4200];
    snprintf(idxp, sizeof idxp, "%s/gen.idx", tmp);
    usj_build_stats bs;
    cr_assert_eq(ixt_build(idxp, paths, 0, &bs), 0, "%s", usj_error_last());
    cr_assert_gt(bs.invalid_utf8, 0);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0, "%s", usj_error_last());
    ixt_model m;
    ixt_model_build(&m, paths);
    ixt_model_check(&m, idx);
    ixt_model_free(&m);
    usj_index_unref(idx);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

typedef struct big_ctx { char term[300]; size_t len; uint32_t df; } big_ctx;

static int biggest(void *ctx, const char *t, size_t l, const usj_term_info *ti)
{
    big_ctx *b = ctx;
    if (ti->df > b->df) {
        b->df = ti->df;
        memcpy(b->term, t, l);
        b->len = l;
    }
    return 0;
}

Test(index, advance_and_shallow_match_plain_lists)
{
    char *tmp = ixt_mkdtemp();
    char **paths = ixt_gen_corpus(tmp, 60, 15000, 9, 0);
    char idxp[4200];
    snprintf(idxp, sizeof idxp, "%s/g.idx", tmp);
    cr_assert_eq(ixt_build(idxp, paths, 0, NULL), 0, "%s", usj_error_last());
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0);
    big_ctx b = {{0}, 0, 0};
    usj_index_prefix(idx, "", 0, biggest, &b);
    cr_assert_gt(b.df, 3 * USJ_BLOCK_DOCS, "need a multi-block list (df %u)", b.df);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, b.term, b.len, &ti), 0);
    /* the plain list */
    uint32_t *all = malloc(ti.df * sizeof *all), *tfs = malloc(ti.df * sizeof *tfs);
    usj_postings *p;
    cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
    for (uint32_t i = 0; i < ti.df; i++) {
        all[i] = usj_postings_next(p);
        tfs[i] = usj_postings_freq(p);
    }
    cr_assert_eq(usj_postings_next(p), USJ_DOC_END);
    cr_assert_eq(usj_postings_next(p), USJ_DOC_END);
    cr_assert_eq(usj_postings_error(p), 0);
    usj_postings_free(p);
    uint32_t ndocs = usj_index_ndocs(idx);
    uint64_t seed = 1;
    for (int round = 0; round < 50; round++) {
        cr_assert_eq(usj_postings_open(&p, idx, &ti), 0);
        uint32_t target = 0, i = 0;
        for (;;) {
            target += (uint32_t)(ixt_rand(&seed) % (round % 5 == 0 ? 3 : 400));
            if (ixt_rand(&seed) % 4 == 0) {
                uint32_t last = usj_postings_shallow(p, target);
                uint32_t lt, mt, ml;
                usj_postings_block(p, &lt, &mt, &ml);
                /* the block that may hold target: its last doc >= target */
                while (i < ti.df && all[i] < target)
                    i++;
                if (i == ti.df) {
                    cr_assert_eq(last, USJ_DOC_END);
                } else {
                    cr_assert_geq(last, all[i]);
                    cr_assert_eq(lt, last);
                    cr_assert_geq(mt, tfs[i]);
                }
            }
            uint32_t got = usj_postings_advance(p, target);
            while (i < ti.df && all[i] < target)
                i++;
            if (i == ti.df) {
                cr_assert_eq(got, USJ_DOC_END);
                break;
            }
            cr_assert_eq(got, all[i], "round %d target %u", round, target);
            cr_assert_eq(usj_postings_freq(p), tfs[i]);
            /* advancing to an earlier target never moves backwards */
            cr_assert_eq(usj_postings_advance(p, target > 5 ? target - 5 : 0), all[i]);
            const uint32_t *pos;
            uint32_t np;
            cr_assert_eq(usj_postings_positions(p, &pos, &np), 0);
            cr_assert_eq(np, tfs[i]);
            if (ixt_rand(&seed) % 3 == 0) {
                uint32_t nx = usj_postings_next(p);
                i++;
                cr_assert_eq(nx, i < ti.df ? all[i] : USJ_DOC_END);
                if (nx == USJ_DOC_END)
                    break;
                target = nx;
            }
            if (target >= ndocs + 10)
                break;
        }
        usj_postings_free(p);
    }
    free(all);
    free(tfs);
    usj_index_unref(idx);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

static int stop_at_two(void *ctx, const char *t, size_t l, const usj_term_info *ti)
{
    (void)t; (void)l; (void)ti;
    return ++*(int *)ctx == 2 ? 77 : 0;
}

typedef struct pre_ctx { const char *prefix; size_t n; char last[300]; } pre_ctx;

static int prefix_cb(void *ctx, const char *t, size_t l, const usj_term_info *ti)
{
    pre_ctx *c = ctx;
    (void)ti;
    cr_assert(l >= strlen(c->prefix) && memcmp(t, c->prefix, strlen(c->prefix)) == 0);
    char cur[300];
    memcpy(cur, t, l);
    cur[l] = 0;
    if (c->n)
        cr_assert_lt(strcmp(c->last, cur), 0, "prefix terms out of order");
    strcpy(c->last, cur);
    c->n++;
    return 0;
}

Test(index, lookups_of_missing_things)
{
    char *tmp = ixt_mkdtemp();
    char idxp[4200];
    snprintf(idxp, sizeof idxp, "%s/s.idx", tmp);
    char **paths = seed_paths();
    cr_assert_eq(ixt_build(idxp, paths, 0, NULL), 0);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, USJ_OPEN_NOVERIFY), 0);
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "zzzzqqq", 7, &ti), USJ_ENOTFOUND);
    cr_assert_eq(usj_index_term(idx, "", 0, &ti), USJ_ENOTFOUND);
    cr_assert_eq(usj_index_term(idx, "0", 1, &ti) == 0 || usj_index_term(idx, "0", 1, &ti) == USJ_ENOTFOUND, 1);
    usj_doc_info di;
    cr_assert_eq(usj_index_doc(idx, 176, &di), USJ_EINVAL);
    cr_assert_eq(usj_index_doc(idx, UINT32_MAX, &di), USJ_EINVAL);
    usj_textcache c = USJ_TEXTCACHE_INIT;
    const char *t;
    size_t tl;
    cr_assert_eq(usj_index_text(idx, 176, &c, &t, &tl), USJ_EINVAL);
    usj_textcache_free(&c);
    uint32_t d;
    cr_assert_eq(usj_index_find_line(idx, "no/such.txt", 1, &d), USJ_ENOTFOUND);
    cr_assert_eq(usj_index_find_line(idx, paths[0], 100000, &d), USJ_ENOTFOUND);
    cr_assert_eq(usj_index_find_line(idx, paths[2], 2, &d), USJ_ENOTFOUND, "blank line");
    cr_assert_eq(usj_index_file(idx, 5, NULL, NULL), USJ_EINVAL);
    uint32_t *docs;
    size_t nd;
    cr_assert_eq(usj_index_numrange(idx, USJ_NUM_YEAR, 5, 4, &docs, &nd), 0);
    cr_assert_eq(nd, 0);
    cr_assert_null(docs);
    cr_assert_eq(usj_index_numrange(idx, (usj_numtype)9, 0, 1, &docs, &nd), USJ_EINVAL);
    int calls = 0;
    cr_assert_eq(usj_index_prefix(idx, "", 0, stop_at_two, &calls), 77);
    pre_ctx pc = {"secur", 0, ""};
    cr_assert_eq(usj_index_prefix(idx, "secur", 5, prefix_cb, &pc), 0);
    cr_assert_gt(pc.n, 0);
    pre_ctx none = {"zzzz", 0, ""};
    cr_assert_eq(usj_index_prefix(idx, "zzzz", 4, prefix_cb, &none), 0);
    cr_assert_eq(none.n, 0);
    usj_index_ref(idx);
    usj_index_unref(idx);
    usj_index_unref(idx);
    usj_index_unref(NULL);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

Test(index, locate)
{
    char *tmp = ixt_mkdtemp();
    char sub[4200], out[4200], want[4300], old[4200];
    cr_assert_not_null(getcwd(old, sizeof old));
    snprintf(sub, sizeof sub, "%s/a/b", tmp);
    snprintf(out, sizeof out, "%s/a", tmp);
    mkdir(out, 0755);
    mkdir(sub, 0755);
    char *real = realpath(tmp, NULL);
    unsetenv("USJ_INDEX");
    cr_assert_eq(chdir(sub), 0);
    cr_assert_eq(usj_index_locate(out, sizeof out, NULL), 0);
    cr_assert_str_eq(out, USJ_INDEX_DEFAULT_NAME);
    snprintf(want, sizeof want, "%s/a/" USJ_INDEX_DEFAULT_NAME, real);
    ixt_write(want, "x", 1);
    cr_assert_eq(usj_index_locate(out, sizeof out, NULL), 0);
    cr_assert_str_eq(out, want);
    setenv("USJ_INDEX", "/some/where.idx", 1);
    cr_assert_eq(usj_index_locate(out, sizeof out, NULL), 0);
    cr_assert_str_eq(out, "/some/where.idx");
    cr_assert_eq(usj_index_locate(out, sizeof out, "given.idx"), 0);
    cr_assert_str_eq(out, "given.idx");
    cr_assert_eq(usj_index_locate(out, 4, "given.idx"), USJ_ELIMIT);
    unsetenv("USJ_INDEX");
    cr_assert_eq(chdir(old), 0);
    free(real);
    ixt_rmrf(tmp);
}

Test(index, build_errors_leave_the_old_index)
{
    char *tmp = ixt_mkdtemp();
    char idxp[4200], missing[4200];
    snprintf(idxp, sizeof idxp, "%s/s.idx", tmp);
    snprintf(missing, sizeof missing, "%s/nope/s.idx", tmp);
    char **paths = seed_paths();
    cr_assert_eq(ixt_build(idxp, paths, 0, NULL), 0);
    size_t n0, n1;
    char *before = ixt_slurp(idxp, &n0);
    /* empty corpus: blank files only */
    char blank[4200];
    snprintf(blank, sizeof blank, "%s/blank.txt", tmp);
    ixt_write(blank, "\n  \n\t\n", 6);
    char *bl[] = {blank, NULL};
    cr_assert_eq(ixt_build(idxp, bl, 0, NULL), USJ_EEMPTY);
    usj_writer *w;
    cr_assert_eq(usj_writer_open(&w, idxp, NULL), 0);
    cr_assert_eq(usj_writer_commit(w, NULL), USJ_EEMPTY);
    usj_writer_free(w);
    /* missing output folder */
    cr_assert_eq(usj_writer_open(&w, missing, NULL), USJ_EIO);
    cr_assert(strstr(usj_error_last(), "does not exist") != NULL, "%s", usj_error_last());
    /* budget below the minimum */
    usj_writer_opts o;
    memset(&o, 0, sizeof o);
    o.memory_budget = 1000;
    cr_assert_eq(usj_writer_open(&w, idxp, &o), USJ_EINVAL);
    /* abandoned build */
    cr_assert_eq(usj_writer_open(&w, idxp, NULL), 0);
    cr_assert_eq(usj_writer_add_file(w, "x.txt", "hello world\n", 12, NULL), 0);
    usj_writer_free(w);
    char *after = ixt_slurp(idxp, &n1);
    cr_assert_eq(n0, n1);
    cr_assert(memcmp(before, after, n0) == 0, "old index changed");
    /* nothing else left in the folder */
    DIR *d = opendir(tmp);
    struct dirent *e;
    int others = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && strcmp(e->d_name, "s.idx") && strcmp(e->d_name, "blank.txt"))
            others++;
    closedir(d);
    cr_assert_eq(others, 0, "temporary files left behind");
    free(before);
    free(after);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

Test(index, usjindex_program_on_seeds)
{
    char *prog = ixt_prog("usjindex");
    if (!prog)
        cr_skip_test("USJ_TEST_BIN has no usjindex");
    char *tmp = ixt_mkdtemp();
    char idxp[4200], err[4200], seeds[4200];
    snprintf(idxp, sizeof idxp, "%s/s.idx", tmp);
    snprintf(err, sizeof err, "%s/err", tmp);
    snprintf(seeds, sizeof seeds, "%s/seeds", ixt_root());
    char *a1[] = {prog, "-o", idxp, seeds, NULL};
    cr_assert_eq(ixt_run(a1, err), 0);
    size_t n;
    char *msg = ixt_slurp(err, &n);
    cr_assert(strstr(msg, "5 files, 176 paragraphs") != NULL, "summary: %s", msg);
    free(msg);
    char *a2[] = {prog, "--check", idxp, NULL};
    cr_assert_eq(ixt_run(a2, err), 0);
    char *a3[] = {prog, "--stats", idxp, NULL};
    cr_assert_eq(ixt_run(a3, err), 0);
    msg = ixt_slurp(err, &n);
    cr_assert(strstr(msg, "paragraphs:   176") != NULL, "stats: %s", msg);
    free(msg);
    /* unreadable input: warning, skipped, exit 1, index still written */
    char *a4[] = {prog, "-o", idxp, seeds, "/nonexistent/file.txt", NULL};
    cr_assert_eq(ixt_run(a4, err), 1);
    msg = ixt_slurp(err, &n);
    cr_assert(strstr(msg, "/nonexistent/file.txt") != NULL, "%s", msg);
    free(msg);
    /* errors: exit 2 */
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/no/dir/x.idx", tmp);
    char *a5[] = {prog, "-o", missing, seeds, NULL};
    cr_assert_eq(ixt_run(a5, err), 2);
    char *a6[] = {prog, "--memory", "12q", seeds, NULL};
    cr_assert_eq(ixt_run(a6, err), 2);
    char *a7[] = {prog, "--check", missing, NULL};
    cr_assert_eq(ixt_run(a7, err), 2);
    /* not UTF-8: a warning with the count */
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/bad.txt", tmp);
    static const char badtext[] = "caf\xe9 and \xff\xfe more\n";
    ixt_write(bad, badtext, sizeof badtext - 1);
    char *a8[] = {prog, "-o", idxp, bad, NULL};
    cr_assert_eq(ixt_run(a8, err), 0);
    msg = ixt_slurp(err, &n);
    cr_assert(strstr(msg, "not valid UTF-8: 3 sequences") != NULL, "%s", msg);
    cr_assert(strstr(msg, "usjindex: 1 file, 1 paragraph, ") != NULL, "singular: %s", msg);
    free(msg);
    char *a9[] = {prog, "--check", idxp, NULL};
    cr_assert_eq(ixt_run(a9, err), 0);
    msg = ixt_slurp(err, &n);
    cr_assert(strstr(msg, ": ok (1 file, 1 paragraph, ") != NULL, "check: %s", msg);
    free(msg);
    free(prog);
    ixt_rmrf(tmp);
}

Test(index, text_cache_shared_by_two_indexes)
{
    char *tmp = ixt_mkdtemp();
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/a.idx", tmp);
    snprintf(b, sizeof b, "%s/b.idx", tmp);
    char **pa = ixt_gen_corpus(tmp, 3, 3000, 1, 0);
    cr_assert_eq(ixt_build(a, pa, 0, NULL), 0);
    char **pb = seed_paths();
    cr_assert_eq(ixt_build(b, pb, 0, NULL), 0);
    usj_index *ia, *ib;
    cr_assert_eq(usj_index_open(&ia, a, 0), 0);
    cr_assert_eq(usj_index_open(&ib, b, 0), 0);
    usj_textcache c = USJ_TEXTCACHE_INIT, ca = USJ_TEXTCACHE_INIT, cb = USJ_TEXTCACHE_INIT;
    for (int round = 0; round < 3; round++)
        for (uint32_t d = 0; d < 3; d++) {
            const char *t1, *t2;
            size_t l1, l2;
            cr_assert_eq(usj_index_text(ia, d, &c, &t1, &l1), 0);
            cr_assert_eq(usj_index_text(ia, d, &ca, &t2, &l2), 0);
            cr_assert(l1 == l2 && memcmp(t1, t2, l1) == 0, "stale block from another index");
            cr_assert_eq(usj_index_text(ib, d, &c, &t1, &l1), 0);
            cr_assert_eq(usj_index_text(ib, d, &cb, &t2, &l2), 0);
            cr_assert(l1 == l2 && memcmp(t1, t2, l1) == 0, "stale block from another index");
        }
    usj_textcache_free(&c);
    usj_textcache_free(&ca);
    usj_textcache_free(&cb);
    usj_index_unref(ia);
    usj_index_unref(ib);
    ixt_free_paths(pa);
    ixt_free_paths(pb);
    ixt_rmrf(tmp);
}

/* ---- exact dictionary lookups against the enumeration ---- */

typedef struct tlist {
    char         **t;
    usj_term_info *ti;
    size_t         n, cap;
} tlist;

static int collect_cb(void *ctx, const char *term, size_t len,
                      const usj_term_info *info)
{
    tlist *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->t = realloc(l->t, l->cap * sizeof *l->t);
        l->ti = realloc(l->ti, l->cap * sizeof *l->ti);
        cr_assert(l->t && l->ti);
    }
    l->t[l->n] = strndup(term, len);
    l->ti[l->n++] = *info;
    return 0;
}

static int in_list(const tlist *l, const char *s)
{
    size_t lo = 0, hi = l->n;            /* the enumeration is in byte order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->t[mid], s);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static void expect_lookup(usj_index *idx, const tlist *l, const char *s)
{
    usj_term_info ti;
    int rc = usj_index_term(idx, s, strlen(s), &ti);
    cr_assert_eq(rc == 0, in_list(l, s), "lookup of [%s]: %d", s, rc);
    if (rc)
        cr_assert_eq(rc, USJ_ENOTFOUND, "[%s]", s);
}

/* Every term is found with the statistics the enumeration gives; its
 * prefixes, extensions and neighbours (one byte changed) are found exactly
 * when they are terms too (the lookup steps over front-coded terms without
 * decoding them). */
static void check_lookups(usj_index *idx, size_t min_terms)
{
    tlist l = {0};
    cr_assert_eq(usj_index_prefix(idx, "", 0, collect_cb, &l), 0);
    cr_assert_gt(l.n, min_terms, "%zu terms: several dictionary blocks", l.n);
    unsigned found_other = 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *t = l.t[i];
        size_t len = strlen(t);
        usj_term_info ti;
        cr_assert_eq(usj_index_term(idx, t, len, &ti), 0, "[%s]", t);
        cr_assert_eq(ti.df, l.ti[i].df, "[%s]", t);
        cr_assert_eq(ti.cf, l.ti[i].cf);
        cr_assert_eq(ti.max_tf, l.ti[i].max_tf);
        cr_assert_eq(ti.min_len, l.ti[i].min_len);
        cr_assert_eq(ti.off, l.ti[i].off, "[%s]", t);
        cr_assert_eq(ti.len, l.ti[i].len);
        cr_assert_eq(ti.pos_off, l.ti[i].pos_off);
        cr_assert_eq(ti.pos_len, l.ti[i].pos_len);
        char buf[600];
        for (size_t k = 1; k < len; k++) {           /* prefixes */
            memcpy(buf, t, k);
            buf[k] = 0;
            expect_lookup(idx, &l, buf);
            found_other += in_list(&l, buf);
        }
        static const char ext[] = {'\x01', '0', 'a', 'm', 'z', '\x7f'};
        for (size_t k = 0; k < sizeof ext; k++) {    /* extensions */
            snprintf(buf, sizeof buf, "%s%c", t, ext[k]);
            expect_lookup(idx, &l, buf);
        }
        for (size_t k = 0; k < len; k++)             /* neighbours */
            for (int dlt = -1; dlt <= 1; dlt += 2) {
                memcpy(buf, t, len + 1);
                unsigned char c = (unsigned char)buf[k] + (unsigned char)dlt;
                if (c == 0)
                    continue;
                buf[k] = (char)c;
                expect_lookup(idx, &l, buf);
            }
    }
    cr_assert_gt(found_other, 0, "some prefix of a term is a term");
    for (size_t i = 0; i < l.n; i++)
        free(l.t[i]);
    free(l.t);
    free(l.ti);
}

Test(index, term_lookup_agrees_with_enumeration)
{
    char *tmp = ixt_mkdtemp();
    char idxp[4200];
    snprintf(idxp, sizeof idxp, "%s/s.idx", tmp);
    char **paths = seed_paths();
    cr_assert_eq(ixt_build(idxp, paths, 0, NULL), 0);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0, "%s", usj_error_last());
    check_lookups(idx, 16 * 20);
    usj_index_unref(idx);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}

/* The same with statistics whose varints are long: a word 20000 times in
 * one paragraph only (cf - df, max_tf and min_len of 3 bytes each, 10 bytes
 * with df: more than one 8-byte load, so the lookup steps over them one
 * varint at a time) among terms whose counts fit one 8-byte load (min_len
 * of 3 bytes, the others of 1), in several blocks. */
Test(index, term_lookup_steps_over_long_statistics)
{
    char *tmp = ixt_mkdtemp();
    char idxp[4200];
    snprintf(idxp, sizeof idxp, "%s/l.idx", tmp);
    usj_buf text = USJ_BUF_INIT;
    for (int i = 0; i < 20000; i++)
        usj_buf_puts(&text, "wz ");
    for (int i = 0; i < 26 * 26; i++)
        usj_buf_printf(&text, "w%c%c ", 'a' + i / 26, 'a' + i % 26);
    usj_buf_puts(&text, "\n\nwaa wab wzz\n");
    usj_writer *w = NULL;
    usj_writer_opts wo = {0};
    cr_assert_eq(usj_writer_open(&w, idxp, &wo), 0, "%s", usj_error_last());
    cr_assert_eq(usj_writer_add_file(w, "l.txt", text.data, text.len, NULL), 0,
                 "%s", usj_error_last());
    cr_assert_eq(usj_writer_commit(w, NULL), 0, "%s", usj_error_last());
    usj_writer_free(w);
    usj_buf_free(&text);
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0, "%s", usj_error_last());
    usj_term_info ti;
    cr_assert_eq(usj_index_term(idx, "wz", 2, &ti), 0);
    cr_assert_geq(ti.max_tf, 16384, "%u", ti.max_tf);
    cr_assert_geq(ti.cf - ti.df, 16384);
    check_lookups(idx, 16 * 20);
    usj_index_unref(idx);
    ixt_rmrf(tmp);
}

/* Files added out of byte order (the library takes them as given): every
 * line is still found (find_line bisects a byte-ordered table and looks
 * entry by entry when the path is not where the bisection puts it). */
Test(index, files_out_of_byte_order_round_trip)
{
    char *tmp = ixt_mkdtemp();
    char idxp[4200];
    snprintf(idxp, sizeof idxp, "%s/rev.idx", tmp);
    char **paths = seed_paths();
    size_t n = 0;
    while (paths[n])
        n++;
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n / 2; i++) {
        char *t = paths[i];
        paths[i] = paths[n - 1 - i];
        paths[n - 1 - i] = t;
    }
    cr_assert_eq(ixt_build(idxp, paths, 0, NULL), 0, "%s", usj_error_last());
    usj_index *idx;
    cr_assert_eq(usj_index_open(&idx, idxp, 0), 0, "%s", usj_error_last());
    const char *p0, *p4;
    cr_assert_eq(usj_index_file(idx, 0, &p0, NULL), 0);
    cr_assert_eq(usj_index_file(idx, 4, &p4, NULL), 0);
    cr_assert_gt(strcmp(p0, p4), 0, "the table is not in byte order");
    ixt_model m;
    ixt_model_build(&m, paths);
    ixt_model_check(&m, idx);           /* find_line of every line */
    ixt_model_free(&m);
    uint32_t d;
    cr_assert_eq(usj_index_find_line(idx, "no/such.txt", 1, &d), USJ_ENOTFOUND);
    usj_index_unref(idx);
    ixt_free_paths(paths);
    ixt_rmrf(tmp);
}
