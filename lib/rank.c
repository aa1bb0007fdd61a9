/* lib/rank.c — BM25 (Robertson/Sparck Jones) over paragraphs.
 *
 *   score(D, Q) = sum over positive clauses q of Q that match D:
 *                 idf(q) * tf(q,D) * (k1 + 1)
 *                 / (tf(q,D) + k1 * (1 - b + b * |D| / avgdl))
 *   idf(q)      = ln(1 + (N - df(q) + 0.5) / (df(q) + 0.5))
 *
 * with k1 = 1.2, b = 0.75, N the number of paragraphs, |D| the paragraph
 * length in tokens and avgdl the mean length. This idf (the Lucene variant)
 * is always positive, so a match never lowers a score. A phrase counts its
 * occurrences as tf and uses the sum of its terms' idf; a prefix scores each
 * dictionary term it expands to; ranges, file: and title: filter without
 * scoring; excluded clauses never score. The per-term upper bound used for
 * pruning is idf times the largest term impact tf*(k1+1)/(tf + K(|D|)) of
 * the block or list, stored per block in the skip entries (float32 rounded
 * up) and widened by a relative 1e-9 for rounding (usj_rank_impact_bound);
 * the looser bound at (max_tf, min_len) is kept for phrases. */
#include <math.h>

#include "rank.h"

float usj_rank_impact_f32(double impact)
{
    float f = (float)impact;
    if ((double)f < impact)
        f = nextafterf(f, INFINITY);
    return f;
}

double usj_rank_idf(uint64_t ndocs, uint64_t df)
{
    double n = (double)ndocs, d = (double)df;
    if (d > n)
        d = n;
    return log(1.0 + (n - d + 0.5) / (d + 0.5));
}
