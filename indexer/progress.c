/* indexer/progress.c — the progress bar of usjindex on stderr: files, MB,
 * MB/s and ETA (from the pre-scanned input size), redrawn at most ten times
 * a second, only when stderr is a terminal. */
#include <stdio.h>
#include <time.h>

#include "indexer.h"

double ix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void ix_progress_cb(void *ctx, const usj_build_progress *p)
{
    ix_progress *pr = ctx;
    if (!pr->bar)
        return;
    double now = ix_now();
    if (now - pr->last < 0.1)
        return;
    pr->last = now;
    double el = now - pr->start;
    double mb = p->bytes_done / 1e6, tot = pr->total_bytes / 1e6;
    double rate = el > 0 ? mb / el : 0;
    double frac = pr->total_bytes ? (double)p->bytes_done / pr->total_bytes : 0;
    if (frac > 1)
        frac = 1;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    double eta = rate > 0 ? (tot - mb) / rate : 0;
    if (eta < 0)
        eta = 0;
    fprintf(stderr, "\r\033[K[%s] %llu/%llu files  %.1f/%.1f MB  %.1f MB/s  ETA %d:%02d  %s",
            bar, (unsigned long long)p->files_done, (unsigned long long)pr->total_files,
            mb, tot, rate, (int)eta / 60, (int)eta % 60, p->phase);
    pr->drawn = 1;
}

void ix_progress_clear(ix_progress *pr)
{
    if (pr->drawn) {
        fprintf(stderr, "\r\033[K");
        pr->drawn = 0;
    }
}
