/* tests/ixt_fixture.h — helpers of the index tests (test_index, test_spill,
 * test_corrupt, test_crash): temporary folders, a deterministic corpus
 * generator, building an index with the library, running usjindex. */
#ifndef IXT_FIXTURE_H
#define IXT_FIXTURE_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "usj/usj.h"

static inline char *ixt_mkdtemp(void)
{
    const char *t = getenv("TMPDIR");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/usj-ixt-XXXXXX", t && *t ? t : "/tmp");
    cr_assert_not_null(mkdtemp(p), "mkdtemp");
    return p;
}

static inline int ixt_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb; (void)flag; (void)f;
    return remove(p);
}

static inline void ixt_rmrf(char *dir)
{
    if (dir)
        nftw(dir, ixt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static inline void ixt_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "fopen %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static inline char *ixt_slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    rewind(f);
    char *b = malloc((size_t)l + 1);
    *n = fread(b, 1, (size_t)l, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

/* splitmix64 */
static inline uint64_t ixt_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void ixt_word(uint64_t *s, usj_buf *b, unsigned vocab)
{
    static const char *syl[] = {"ka", "to", "ri", "mu", "sen", "ja", "pa", "lo",
                                "vi", "ne", "dor", "qu", "ex", "ban", "tri", "ol"};
    double u = (double)(ixt_rand(s) >> 11) / 9007199254740992.0;
    unsigned w = (unsigned)(vocab * u * u * u);   /* Zipf-like skew */
    unsigned x = w * 2654435761u;
    unsigned n = 1 + w % 3;
    for (unsigned i = 0; i < n; i++, x >>= 4)
        usj_buf_puts(b, syl[x & 15]);
    if (w % 7 == 0)
        usj_buf_puts(b, "ing");
}

/* One generated article: a title, then paragraphs that are single long
 * lines or blank-separated hard-wrapped blocks, with numbers of every type
 * and, when bad != 0, a few invalid UTF-8 bytes. */
static inline void ixt_gen_file(uint64_t *s, usj_buf *b, size_t bytes, int bad)
{
    usj_buf_puts(b, "Title ");
    ixt_word(s, b, 50);
    usj_buf_puts(b, " and ");
    ixt_word(s, b, 50);
    usj_buf_puts(b, "\n\n");
    while (b->len < bytes) {
        unsigned kind = (unsigned)(ixt_rand(s) % 4);
        unsigned nw = 5 + (unsigned)(ixt_rand(s) % 60);
        size_t line_start = b->len;
        for (unsigned i = 0; i < nw; i++) {
            unsigned r = (unsigned)(ixt_rand(s) % 100);
            if (r < 3)
                usj_buf_printf(b, "$%u billion", (unsigned)(ixt_rand(s) % 900 + 1));
            else if (r < 5)
                usj_buf_printf(b, "%u%%", (unsigned)(ixt_rand(s) % 100));
            else if (r < 7)
                usj_buf_printf(b, "%u", 1990 + (unsigned)(ixt_rand(s) % 50));
            else if (r < 9)
                usj_buf_printf(b, "%u,%03u", (unsigned)(ixt_rand(s) % 90 + 1),
                               (unsigned)(ixt_rand(s) % 1000));
            else if (r < 10)
                usj_buf_puts(b, "Japan\xe2\x80\x99s");
            else
                ixt_word(s, b, 3000);
            if (bad && ixt_rand(s) % 500 == 0)
                usj_buf_puts(b, "\xff");
            if (kind == 0 && b->len - line_start > 60 && i + 1 < nw) {
                usj_buf_putc(b, '\n');      /* hard-wrapped block */
                line_start = b->len;
            } else {
                usj_buf_putc(b, i + 1 < nw ? ' ' : '.');
            }
        }
        usj_buf_puts(b, kind == 1 ? "\n" : "\n\n");
    }
}

/* nfiles generated files of ~bytes each in dir; returns their paths. */
static inline char **ixt_gen_corpus(const char *dir, unsigned nfiles, size_t bytes,
                                    uint64_t seed, int bad)
{
    char **paths = calloc(nfiles + 1, sizeof *paths);
    uint64_t s = seed;
    for (unsigned i = 0; i < nfiles; i++) {
        usj_buf b = USJ_BUF_INIT;
        ixt_gen_file(&s, &b, bytes, bad);
        paths[i] = malloc(strlen(dir) + 32);
        sprintf(paths[i], "%s/doc%04u.txt", dir, i);
        ixt_write(paths[i], b.data, b.len);
        usj_buf_free(&b);
    }
    return paths;
}

static inline void ixt_free_paths(char **p)
{
    for (size_t i = 0; p && p[i]; i++)
        free(p[i]);
    free(p);
}

/* Build idx from the files (NULL-terminated list) with the library. */
static inline int ixt_build(const char *idx, char **paths, size_t budget,
                            usj_build_stats *st)
{
    usj_writer *w;
    usj_writer_opts o;
    memset(&o, 0, sizeof o);
    o.memory_budget = budget;
    int rc = usj_writer_open(&w, idx, &o);
    if (rc)
        return rc;
    for (size_t i = 0; paths[i] && !rc; i++) {
        size_t n;
        char *d = ixt_slurp(paths[i], &n);
        cr_assert_not_null(d, "read %s", paths[i]);
        rc = usj_writer_add_file(w, paths[i], d, n, NULL);
        free(d);
    }
    if (!rc)
        rc = usj_writer_commit(w, st);
    usj_writer_free(w);
    return rc;
}

/* Run a program; its stderr goes to errpath (if non-NULL). Returns the
 * exit status, or 128 + signal. */
static inline int ixt_run(char *const argv[], const char *errpath)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open(errpath ? errpath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Path of a program of the variant under test ($USJ_TEST_BIN), or NULL. */
static inline char *ixt_prog(const char *name)
{
    const char *bin = getenv("USJ_TEST_BIN");
    if (!bin || !*bin)
        return NULL;
    char *p = malloc(strlen(bin) + strlen(name) + 2);
    sprintf(p, "%s/%s", bin, name);
    if (access(p, X_OK) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* Path of the repository root ($USJ_TEST_ROOT, else "."). */
static inline const char *ixt_root(void)
{
    const char *r = getenv("USJ_TEST_ROOT");
    return r && *r ? r : ".";
}

#endif
