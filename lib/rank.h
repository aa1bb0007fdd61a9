/* lib/rank.h — BM25 scoring shared by the evaluator, hit explanations and
 * the differential tests (lib/rank.c documents the formula). */
#ifndef USJ_RANK_H
#define USJ_RANK_H

#include <stdint.h>

#define USJ_BM25_K1 1.2
#define USJ_BM25_B  0.75

/* idf = ln(1 + (N - df + 0.5) / (df + 0.5)); always > 0. */
double usj_rank_idf(uint64_t ndocs, uint64_t df);

/* Precomputed per-query-clause weight: w = idf * (k1 + 1). */
static inline double usj_rank_weight(double idf)
{
    return idf * (USJ_BM25_K1 + 1.0);
}

/* Length normalization K(dl) = k1 * (1 - b + b * dl / avgdl). */
static inline double usj_rank_norm(uint32_t dl, double avgdl)
{
    return USJ_BM25_K1 * ((1.0 - USJ_BM25_B) +
                          USJ_BM25_B * (double)dl / (avgdl > 0 ? avgdl : 1.0));
}

/* BM25 contribution: w * tf / (tf + K(dl)). */
static inline double usj_rank_bm25(double w, uint32_t tf, uint32_t dl,
                                   double avgdl)
{
    if (tf == 0)
        return 0.0;
    return w * (double)tf / ((double)tf + usj_rank_norm(dl, avgdl));
}

#endif
