/* tests/query_fixture.h — helpers for the query tests (test_search.c,
 * test_differential.c): a mkdtemp folder, building an index there from the
 * seeds or from generated files with usj_writer_*, and cleanup. Static
 * functions only, included by each test file (not a tests/support module). */
#ifndef USJ_QUERY_FIXTURE_H
#define USJ_QUERY_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usj/usj.h"

static __attribute__((unused)) const char *fx_root(void)
{
    const char *r = getenv("USJ_TEST_ROOT");
    return r && r[0] ? r : ".";
}

/* A fresh temporary folder (under $TMPDIR or /tmp). */
static __attribute__((unused)) int fx_tmpdir(char *out, size_t n)
{
    const char *t = getenv("TMPDIR");
    snprintf(out, n, "%s/usjq-XXXXXX", t && t[0] ? t : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

static __attribute__((unused)) void fx_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static __attribute__((unused)) char *fx_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = 0;
        *len = (size_t)n;
    }
    return b;
}

static __attribute__((unused)) int fx_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Index every seeds/NAME.txt (sorted by name) as "seeds/NAME" into idx_path. */
static __attribute__((unused)) int fx_build_seeds(const char *idx_path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/seeds", fx_root());
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, fx_name_cmp);
    usj_writer *w = NULL;
    int rc = usj_writer_open(&w, idx_path, NULL);
    for (size_t i = 0; i < n; i++) {
        char p[8192], stored[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if ((size_t)snprintf(stored, sizeof stored, "seeds/%s", names[i]) >=
            sizeof stored)
            rc = -1;
        size_t len = 0;
        char *data = fx_slurp(p, &len);
        if (!rc && !data)
            rc = -1;
        if (!rc)
            rc = usj_writer_add_file(w, stored, data, len, NULL);
        free(data);
        free(names[i]);
    }
    if (!rc)
        rc = usj_writer_commit(w, NULL);
    usj_writer_free(w);
    return rc;
}

/* xorshift64*: deterministic across platforms */
static __attribute__((unused)) uint64_t fx_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

#endif
