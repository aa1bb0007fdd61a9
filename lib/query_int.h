/* lib/query_int.h — the parsed query tree shared by the parser
 * (query_parse.c), the evaluator (query_eval.c), hit building and the tests
 * (the differential tests walk this tree to evaluate queries by brute force).
 *
 * Tree shape after parsing (normalized):
 *  - QN_AND: kids are the positive clauses, NOT kids are the exclusions; at
 *    least one positive kid; never a single kid without exclusions.
 *  - QN_OR: two or more kids, none of them QN_NOT.
 *  - QN_NOT: exactly one kid; only directly under QN_AND.
 *  - leaves: QN_TERM, QN_PHRASE, QN_PREFIX, QN_RANGE, QN_FILE, QN_TITLE. */
#ifndef USJ_QUERY_INT_H
#define USJ_QUERY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "usj/analyze.h"
#include "usj/query.h"

enum qn_kind {
    QN_TERM = 0,   /* terms[0]: one stemmed term */
    QN_PHRASE,     /* terms[0..nterms) at relative positions relpos[] */
    QN_PREFIX,     /* text: folded unstemmed prefix; text2: its stem (or NULL) */
    QN_RANGE,      /* typemask over usj_numtype, [lo, hi] in USJ_NUM_SCALE */
    QN_FILE,       /* text: fnmatch glob on the stored path (or basename) */
    QN_TITLE,      /* terms/relpos like a phrase, matched in the file title */
    QN_AND,
    QN_OR,
    QN_NOT
};

typedef struct qnode {
    int       kind;
    uint32_t  column;     /* 1-based byte column in the query text */
    char    **terms;      /* TERM, PHRASE, TITLE */
    uint32_t *relpos;     /* PHRASE, TITLE: position relative to terms[0] */
    uint32_t  nterms;
    char     *text;       /* PREFIX, FILE */
    char     *text2;      /* PREFIX: stem of text when it differs */
    unsigned  typemask;   /* RANGE: bit (1u << usj_numtype) per type */
    int64_t   lo, hi;     /* RANGE: inclusive bounds */
    struct qnode **kids;  /* AND, OR, NOT */
    uint32_t  nkids;
} qnode;

struct usj_query {
    qnode   *root;
    uint32_t nleaves;
};

/* True if a number of type t and scaled value v satisfies a range node. */
static inline int qn_range_match(const qnode *n, usj_numtype t, int64_t v)
{
    return (n->typemask & (1u << t)) && v >= n->lo && v <= n->hi;
}

/* The analyzer's double value as stored in the index (round half away). */
int64_t usj_query_scale(double value);

/* fnmatch of a file: glob against a stored path (and, for a glob without
 * '/', against its basename). Returns 1 on a match. */
int usj_query_glob_match(const char *glob, const char *path);

#endif
