/* lib/query_eval_int.h — what the evaluator (query_eval.c) and hit building
 * (query_hits.c) share: the per-search context and prefix expansions. */
#ifndef USJ_QUERY_EVAL_INT_H
#define USJ_QUERY_EVAL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "query_int.h"
#include "usj/index.h"

typedef struct it it;           /* an iterator (query_eval.c) */
typedef struct sctx sctx;

/* A prefix's expansion, kept for spans and explanations. */
typedef struct pexp {
    const qnode *q;
    char       **terms;
    usj_term_info *infos;
    uint32_t     n;
    uint64_t     found;   /* dictionary terms with the prefix */
} pexp;

struct sctx {
    const usj_index *idx;
    uint32_t         ndocs, nfiles;
    double           avgdl;
    const uint32_t  *doclens;
    uint64_t         deadline_ns;
    uint32_t         work;
    int              timed_out;
    int              err;
    int              no_prune;  /* USJ_SEARCH_NOPRUNE: no bound is used */
    uint64_t         total_upto;/* usj_search_opts.total_upto (0: exact) */
    int              skipped;   /* docs that may match were skipped: the
                                   total is a lower bound */
    usj_analyzer    *an;      /* hit texts (per thread, see need_an) */
    usj_analyzer    *tan;     /* titles */
    it             **all;     /* every iterator, to free */
    size_t           nall, capall;
    it             **all_buf; /* all's first capall slots (no malloc) */
    it              *pool;    /* iterators handed out before calloc */
    size_t           npool, cappool;
    union usj_postings_mem *cmem; /* term cursors' memory before malloc */
    size_t           ncmem, capcmem;
    it             **abuf;    /* iterators' kid lists before calloc */
    size_t           nabuf, capabuf;
    pexp            *px;
    size_t           npx;
    uint32_t        *posbuf;  /* phrase scratch */
    uint32_t         poscap;
};

/* What a hit without text needs of doc's row (lib/reader.c): its file's
 * path and title and its first line, without decoding the other columns
 * of usj_index_doc. Returns 0 or USJ_EINVAL. */
int usj_index_doc_line(const usj_index *idx, uint32_t doc, const char **path,
                       const char **title, uint32_t *line);

/* Does the file title have the TITLE node's words (consecutively)?
 * Returns 1, 0, or a negative error. */
int usj_qhit_title_match(sctx *cx, const qnode *q, const char *title);

/* The two below fill a zeroed hit whose path and title they leave
 * borrowed from the index (usj_results_pack copies them).
 * Fill one hit: stored text, spans of every matched term/phrase/number
 * (re-analyzed with the same analyzer), line, column, explanation. */
int usj_qhit_build(sctx *cx, const usj_query *q, usj_textcache *tc,
                   uint32_t doc, double score, int explain, usj_hit *h);
/* Fill one hit without text (USJ_SEARCH_NOTEXT): doc, score, path, title,
 * para_line. */
int usj_qhit_build_notext(sctx *cx, uint32_t doc, double score, usj_hit *h);

#endif
