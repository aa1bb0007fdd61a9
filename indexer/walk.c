/* indexer/walk.c — collecting the input files of usjindex: files named on
 * the command line, and folders searched recursively with a glob. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "indexer.h"

static int add(ix_list *l, const char *path, uint64_t size)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        ix_file *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    ix_file *f = &l->v[l->n];
    if (!(f->path = strdup(path)))
        return -1;
    f->size = size;
    l->n++;
    l->total += size;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(ix_list *l, const char *dir, const char *glob, int depth)
{
    if (depth > 256) {
        fprintf(stderr, "usjindex: warning: %s: folders nested too deep (skipped)\n", dir);
        l->warnings++;
        return 0;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "usjindex: warning: cannot read folder %s: %s (skipped)\n", dir,
                strerror(errno));
        l->warnings++;
        return 0;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;            /* ".", "..", hidden files and folders */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **v = realloc(names, cap * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            names = v;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = dl + 1 + strlen(names[i]) + 1;
        char *path = malloc(len);
        if (!path) {
            rc = -1;
            break;
        }
        snprintf(path, len, "%s%s%s", dir, slash ? "" : "/", names[i]);
        struct stat sb;
        if (lstat(path, &sb) != 0) {
            fprintf(stderr, "usjindex: warning: cannot read %s: %s (skipped)\n", path,
                    strerror(errno));
            l->warnings++;
        } else if (S_ISDIR(sb.st_mode)) {
            rc = walk_dir(l, path, glob, depth + 1);
        } else if (fnmatch(glob, names[i], 0) == 0) {
            if (S_ISLNK(sb.st_mode) && stat(path, &sb) != 0) {
                fprintf(stderr, "usjindex: warning: cannot read %s: %s (skipped)\n", path,
                        strerror(errno));
                l->warnings++;
            } else if (S_ISREG(sb.st_mode)) {
                rc = add(l, path, (uint64_t)sb.st_size);
            }
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int ix_walk(ix_list *l, const char *arg, const char *glob)
{
    struct stat sb;
    if (stat(arg, &sb) != 0) {
        fprintf(stderr, "usjindex: warning: cannot read %s: %s (skipped)\n", arg,
                strerror(errno));
        l->warnings++;
        return 0;
    }
    if (S_ISDIR(sb.st_mode))
        return walk_dir(l, arg, glob, 0);
    return add(l, arg, (uint64_t)sb.st_size);
}

void ix_list_free(ix_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof *l);
}
