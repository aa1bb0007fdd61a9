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

/* K(dl) as k0 + k1 * dl, for loops that bound many docs' scores without a
 * division per doc (the products round differently from usj_rank_norm:
 * callers widen their side of a comparison, never use it for a score). */
typedef struct usj_rank_normc {
    double k0, k1;
} usj_rank_normc;

static inline usj_rank_normc usj_rank_norm_coeffs(double avgdl)
{
    return (usj_rank_normc){ USJ_BM25_K1 * (1.0 - USJ_BM25_B),
                             USJ_BM25_K1 * USJ_BM25_B / (avgdl > 0 ? avgdl : 1.0) };
}

/* w * tf / (tf + K(dl)) <= lim, decided without dividing (w widened by the
 * caller when the answer must never drop a doc that could enter). */
static inline int usj_rank_bm25_at_most(double w, double tf, uint32_t dl,
                                        double lim, usj_rank_normc c)
{
    return w * tf <= lim * (tf + c.k0 + c.k1 * (double)dl);
}

/* BM25 contribution: w * tf / (tf + K(dl)). */
static inline double usj_rank_bm25(double w, uint32_t tf, uint32_t dl,
                                   double avgdl)
{
    if (tf == 0)
        return 0.0;
    return w * (double)tf / ((double)tf + usj_rank_norm(dl, avgdl));
}

/* Term impact: the BM25 of one term without its idf,
 * tf * (k1 + 1) / (tf + K(dl)), in [0, k1 + 1). */
static inline double usj_rank_impact(uint32_t tf, uint32_t dl, double avgdl)
{
    if (tf == 0)
        return 0.0;
    return (USJ_BM25_K1 + 1.0) * (double)tf / ((double)tf + usj_rank_norm(dl, avgdl));
}

/* The impact as stored in a skip entry: a float32 rounded up (never below
 * the double value). */
float usj_rank_impact_f32(double impact);

/* Largest valid stored impact: k1 + 1 as a float32 rounded up. A stored
 * value outside [0, USJ_IMPACT_MAX] (or NaN) is corruption. */
#define USJ_IMPACT_MAX 2.2000003f

/* Upper bound of a clause's score from its idf (a phrase: summed idf) and
 * an impact bound: the relative margin covers the rounding of the scoring
 * expression (w * tf / (tf + K) with w = idf * (k1 + 1), a few ulps) and of
 * sums of scores, so pruning on it can never drop a doc that would enter. */
static inline double usj_rank_impact_bound(double idf, float impact)
{
    return idf * (double)impact * (1.0 + 1e-9);
}

#endif
