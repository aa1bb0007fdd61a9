/* usj/query.h — the query language, search, and hits.
 *
 * Syntax (docs/QUERY.md): words (AND), OR / |, -word / NOT, ( ), "phrases",
 * prefix*, number ranges ($500b..$600b, 30%..40%, 2027..2028, year:2025..,
 * >=$100b, <5%), file:GLOB, title:word. Words go through the same analyzer as
 * the text. Ranking: BM25 (k1 = 1.2, b = 0.75) over paragraphs; ties in
 * corpus order. */
#ifndef USJ_QUERY_H
#define USJ_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "buf.h"
#include "index.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct usj_query usj_query;

/* Parse `len` bytes of query text. On a syntax error returns USJ_EPARSE with
 * the message in usj_error_last() and the 1-based byte column in
 * usj_error_column(); USJ_ELIMIT for size/depth limits (also with a column).
 * The analyzer is only used during the call. */
int  usj_query_parse(usj_query **out, const char *text, size_t len,
                     usj_analyzer *a);
void usj_query_free(usj_query *q);                 /* accepts NULL */
/* A canonical, fully parenthesised rendering (for tests and --explain). */
int  usj_query_dump(const usj_query *q, usj_buf *out);

typedef struct usj_search_opts {
    uint32_t limit;        /* hits to return (0 = count only) */
    uint32_t offset;       /* hits to skip after ranking */
    uint32_t timeout_ms;   /* 0 = USJ_DEFAULT_QUERY_TIMEOUT_MS */
    int      explain;      /* fill usj_hit.explain */
    unsigned flags;        /* USJ_SEARCH_* */
    /* Total-hits threshold. 0 (the default): `total` is exact. N > 0: the
     * matches are counted exactly until N are seen (a query with fewer than
     * N matches gets its exact total); past that the engine may skip
     * paragraphs that cannot enter the top limit + offset, and `total` may
     * be a lower bound (>= N; usj_results.total_relation says which). The
     * hits (docs, scores, order) are the same as with 0. Count-only
     * searches (limit 0) always count exactly. */
    uint64_t total_upto;
} usj_search_opts;

/* Rank only: hits carry doc, score, path, title and para_line (line =
 * para_line, column 0) but no text, spans or explain — the stored text is
 * not inflated. What a peer engine's "top 10 doc ids" costs, and what a
 * caller that shows its own text needs. */
#define USJ_SEARCH_NOTEXT 1u
/* Score every match: no upper-bound (block-max / MaxScore) pruning. Same
 * results, slower; for tests that check the pruning. */
#define USJ_SEARCH_NOPRUNE 2u

enum usj_span_kind { USJ_SPAN_TERM = 0, USJ_SPAN_PHRASE = 1, USJ_SPAN_NUMBER = 2 };

typedef struct usj_span {
    uint32_t start, end;   /* byte offsets into usj_hit.text */
    uint32_t kind;         /* enum usj_span_kind */
} usj_span;

typedef struct usj_hit {
    uint32_t  doc;
    double    score;
    char     *path;        /* as stored in the index */
    char     *title;
    uint32_t  line;        /* line of the first match (1-based) */
    uint32_t  column;      /* 1-based byte column of the first match in it */
    uint32_t  para_line;   /* first line of the paragraph */
    char     *text;        /* the whole paragraph, UTF-8 */
    size_t    text_len;
    usj_span *spans;       /* sorted by start, non-overlapping */
    size_t    nspans;
    char     *explain;     /* score breakdown, or NULL */
} usj_hit;

/* usj_results.total_relation */
enum usj_total_relation {
    USJ_TOTAL_EXACT = 0,   /* total is the number of matching paragraphs */
    USJ_TOTAL_AT_LEAST = 1 /* total is a lower bound (usj_search_opts.total_upto) */
};

typedef struct usj_results {
    usj_hit  *hits;
    size_t    nhits;
    uint64_t  total;       /* matching paragraphs (see total_relation) */
    uint64_t  took_us;
    char     *root;        /* index root folder (to resolve relative paths) */
    uint32_t  total_relation;  /* enum usj_total_relation; 0 = exact */
    /* How the memory is held, for usj_results_free only: 0 = the results,
     * the hits array and every string malloc'd on their own (the remote
     * client builds them so); 1 = usj_search's one block holding the
     * results, the hits, their paths and titles and the root, each hit's
     * text, spans and explain still malloc'd on their own. */
    uint32_t  packed;
} usj_results;

/* Run a query. *out and everything it points to belong to it until
 * usj_results_free (the only way to free any of it: the hits' paths and
 * titles share its allocation); nothing in it points into the index, so it
 * outlives usj_index_close. Thread-safe for a shared index (each call uses
 * its own cursors and caches). Returns 0, USJ_ETIMEOUT, USJ_ECORRUPT,
 * USJ_ENOMEM, USJ_ELIMIT. */
int  usj_search(usj_results **out, const usj_index *idx, const usj_query *q,
                const usj_search_opts *opts);
void usj_results_free(usj_results *r);              /* accepts NULL */

/* ---- output formats (shared by the client in both modes) ---- */

typedef enum usj_format {
    USJ_FMT_PLAIN = 0,     /* path:line: text, ripgrep-like */
    USJ_FMT_VIMGREP = 1,   /* path:line:column:text */
    USJ_FMT_JSON = 2       /* JSON Lines */
} usj_format;

#define USJ_JSON_VERSION 1  /* "v" field of every JSON object */

typedef struct usj_fmt_opts {
    usj_format  format;
    int         color;        /* ANSI colors */
    int         absolute;     /* print absolute paths */
    const char *root;         /* index root, from usj_results.root */
    const char *cwd;          /* current folder (for relative paths) */
    uint32_t    snippet_bytes;/* 0 = USJ_DEFAULT_SNIPPET_BYTES */
    int         explain;
    int         heading;      /* plain format: print title lines */
} usj_fmt_opts;

/* Append one hit / the closing summary in the chosen format. */
int usj_fmt_hit(usj_buf *out, const usj_fmt_opts *o, const usj_hit *h);
int usj_fmt_summary(usj_buf *out, const usj_fmt_opts *o,
                    const usj_results *r);

/* Snippet: a window of at most max_bytes around the densest cluster of spans,
 * cut at UTF-8 boundaries with "…" where text was cut; spans are rebased.
 * Returns 0 or USJ_ENOMEM; *snip and *spans are malloc'd. */
int usj_snippet(const char *text, size_t len, const usj_span *spans,
                size_t nspans, uint32_t max_bytes, char **snip,
                size_t *snip_len, usj_span **out_spans, size_t *out_nspans);

#ifdef __cplusplus
}
#endif
#endif
