/* daemon/stats.c — per-worker counters and the latency histogram from which
 * STATS computes p50 / p99 (log-linear buckets: <= 1/16 relative error,
 * constant memory however many queries are served). */
#include <time.h>

#include "daemon.h"

void stats_add(_Atomic uint64_t *c, uint64_t n)
{
    /* single writer: a relaxed load + store is enough and costs no lock */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

uint64_t stats_get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* bucket of a value: values < 16 map to themselves; others to
 * (exponent - 3) * 16 + the next 4 bits below the top bit */
static unsigned bucket_of(uint64_t v)
{
    if (v < STATS_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);       /* >= 4 */
    unsigned sub = (unsigned)(v >> (e - 4)) & (STATS_SUB - 1);
    return (e - 3) * STATS_SUB + sub;
}

static uint64_t bucket_upper(unsigned b)
{
    if (b < STATS_SUB)
        return b;
    unsigned e = b / STATS_SUB + 3, sub = b % STATS_SUB;
    uint64_t lo = ((uint64_t)(STATS_SUB + sub)) << (e - 4);
    return lo + (((uint64_t)1 << (e - 4)) - 1);
}

void stats_latency(wstats *s, uint64_t us)
{
    unsigned b = bucket_of(us);
    if (b >= STATS_BUCKETS)
        b = STATS_BUCKETS - 1;
    stats_add(&s->lat[b], 1);
}

uint64_t stats_percentile(wstats *const *all, unsigned n, double q)
{
    uint64_t total = 0;
    for (unsigned w = 0; w < n; w++)
        for (unsigned b = 0; b < STATS_BUCKETS; b++)
            total += stats_get(&all[w]->lat[b]);
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)total + 0.5);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < STATS_BUCKETS; b++) {
        for (unsigned w = 0; w < n; w++)
            seen += stats_get(&all[w]->lat[b]);
        if (seen >= rank)
            return bucket_upper(b);
    }
    return bucket_upper(STATS_BUCKETS - 1);
}

uint64_t stats_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
