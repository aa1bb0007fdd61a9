/* indexer/indexer.h — pieces of the usjindex program: the input walk
 * (walk.c) and the terminal progress bar (progress.c). */
#ifndef USJ_INDEXER_H
#define USJ_INDEXER_H

#include <stddef.h>
#include <stdint.h>

#include "usj/index.h"

typedef struct ix_file {
    char    *path;
    uint64_t size;
} ix_file;

typedef struct ix_list {
    ix_file *v;
    size_t   n, cap;
    uint64_t total;      /* bytes, for the ETA */
    int      warnings;   /* unreadable arguments or folders */
} ix_list;

/* Add `arg`: a file (always taken) or a folder searched recursively for
 * names matching glob (hidden entries skipped, symlinked folders not
 * followed, entries in byte order). Problems are printed as warnings and
 * counted. Returns 0, or -1 when out of memory. */
int  ix_walk(ix_list *l, const char *arg, const char *glob);
void ix_list_free(ix_list *l);

typedef struct ix_progress {
    int      bar;          /* draw the bar (stderr is a terminal) */
    int      verbose;
    double   start, last;
    uint64_t total_bytes, total_files;
    int      drawn;
} ix_progress;

double ix_now(void);
void   ix_progress_cb(void *ctx, const usj_build_progress *p);
void   ix_progress_clear(ix_progress *pr);

#endif
