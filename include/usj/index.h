/* usj/index.h — building (usj_writer) and reading (usj_index) the index file.
 *
 * The file layout is documented byte by byte at the top of lib/writer.c and
 * in docs/FORMAT.md. A writer accumulates postings in memory up to a budget,
 * spills sorted runs to temporary files, merges them and publishes the index
 * atomically (temp file in the target folder, fsync, rename, fsync folder).
 * A reader mmaps the file read-only and validates it on open; once open it is
 * immutable, so any number of threads may share it. Reference counting lets a
 * daemon swap to a rebuilt index while queries finish on the old one. */
#ifndef USJ_INDEX_H
#define USJ_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "para.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default index file name, looked up in the current folder and then in
 * each parent folder (like .git) when no --index / USJ_INDEX is given. */
#define USJ_INDEX_DEFAULT_NAME ".usjsearch.idx"

/* ------------------------------------------------------------------ writer */

typedef struct usj_build_progress {
    uint64_t files_done;
    uint64_t bytes_done;      /* input bytes analyzed so far */
    uint64_t paragraphs;
    const char *phase;        /* "indexing", "merging", "writing" */
} usj_build_progress;

typedef struct usj_writer_opts {
    size_t         memory_budget;  /* bytes for in-memory postings; 0 = default
                                      (USJ_DEFAULT_MEMORY) */
    usj_split_mode split;
    const char    *tmpdir;         /* spill folder; NULL = the output's folder */
    void         (*progress)(void *ctx, const usj_build_progress *p);
    void          *progress_ctx;   /* progress is called at most every ~64 KB
                                      of input and at each phase change */
} usj_writer_opts;

typedef struct usj_build_stats {
    uint64_t files, paragraphs, terms, postings, positions;
    uint64_t numbers[USJ_NUM_NTYPES];
    uint64_t input_bytes, index_bytes, text_bytes_compressed;
    uint64_t invalid_utf8;        /* replaced sequences, all files */
    uint32_t runs_spilled;
    uint64_t peak_memory;         /* bytes accounted by the writer */
} usj_build_stats;

typedef struct usj_writer usj_writer;

/* Start a build that will publish to `path`. Nothing is written to `path`
 * until usj_writer_commit. Returns 0, USJ_EIO (folder missing/unwritable),
 * USJ_EINVAL, USJ_ENOMEM. */
int usj_writer_open(usj_writer **out, const char *path,
                    const usj_writer_opts *opts);

/* Add one file's contents. `path` is stored as given (it is how hits name
 * the file). Invalid UTF-8 is replaced by U+FFFD; *ninvalid (if non-NULL)
 * receives the number of replacements in this file. Returns 0, USJ_ENOMEM,
 * USJ_EIO (spill failed), USJ_ELIMIT. */
int usj_writer_add_file(usj_writer *w, const char *path, const char *data,
                        size_t len, size_t *ninvalid);

/* Merge, write, fsync, rename over `path`. On any error the previous file at
 * `path` is untouched and temporaries are removed. An empty corpus (no
 * paragraph) gives USJ_EEMPTY. `stats` may be NULL. */
int usj_writer_commit(usj_writer *w, usj_build_stats *stats);

/* Free; an uncommitted build is abandoned and its temporaries removed. */
void usj_writer_free(usj_writer *w);

/* ------------------------------------------------------------------ reader */

typedef struct usj_index usj_index;

#define USJ_OPEN_NOVERIFY 1u  /* skip the passes proportional to the index:
                                 the CRCs of the large sections, the docs
                                 section's per-group entries and length sum
                                 (header, tables and bounds still checked;
                                 reads stay in bounds; usj_index_check finds
                                 the damage). For one-shot clients. */

/* Open and validate. Returns 0, USJ_EIO, USJ_ECORRUPT (with what and where),
 * USJ_EVERSION, USJ_ENOMEM. The new index has one reference. */
int  usj_index_open(usj_index **out, const char *path, unsigned flags);
void usj_index_ref(usj_index *idx);
void usj_index_unref(usj_index *idx);   /* unmaps at zero; accepts NULL */

/* Deep check: every CRC, every postings list, dictionary order, stored text
 * blocks, numeric index order. Returns 0 or USJ_ECORRUPT. */
int usj_index_check(const usj_index *idx);

typedef struct usj_index_stats {
    uint32_t version;
    uint64_t file_bytes;
    uint64_t input_bytes;
    uint64_t created;             /* unix time */
    uint32_t files;
    uint32_t docs;                /* paragraphs */
    uint64_t terms;
    uint64_t postings;            /* (term, doc) pairs */
    uint64_t positions;
    uint64_t total_length;        /* sum of paragraph lengths in tokens */
    double   avg_length;
    uint64_t numbers[USJ_NUM_NTYPES];
    uint64_t section_bytes[8];    /* by section, in USJ_SECTION_* order */
    const char *section_names[8];
    uint32_t nsections;
    const char *root;             /* folder the indexer ran in (absolute) */
    const char *path;             /* the index file as opened */
} usj_index_stats;

void usj_index_stats_get(const usj_index *idx, usj_index_stats *out);

/* ---- terms ---- */

typedef struct usj_term_info {
    uint32_t df;          /* documents containing the term */
    uint64_t cf;          /* occurrences in the collection */
    uint32_t max_tf;      /* largest tf in the list */
    uint32_t min_len;     /* shortest document length in the list */
    uint64_t off;         /* private: location of the postings */
    uint64_t len;
    uint64_t pos_off;
    uint64_t pos_len;
} usj_term_info;

/* Exact lookup. Returns 0 or USJ_ENOTFOUND. */
int usj_index_term(const usj_index *idx, const char *term, size_t len,
                   usj_term_info *out);

/* Every term starting with prefix, in byte order; the callback returns
 * non-zero to stop (that value is returned). */
typedef int (*usj_term_cb)(void *ctx, const char *term, size_t len,
                           const usj_term_info *info);
int usj_index_prefix(const usj_index *idx, const char *prefix, size_t len,
                     usj_term_cb cb, void *ctx);

/* ---- postings cursor ---- */

#define USJ_DOC_END UINT32_MAX

typedef struct usj_postings usj_postings;

/* A cursor over one term's postings, positioned before the first doc.
 * Returns 0 or USJ_ENOMEM / USJ_ECORRUPT. */
int  usj_postings_open(usj_postings **out, const usj_index *idx,
                       const usj_term_info *ti);
void usj_postings_free(usj_postings *p);

/* Next doc id, or USJ_DOC_END. */
uint32_t usj_postings_next(usj_postings *p);
/* First doc id >= target (skips whole blocks using their last doc id), or
 * USJ_DOC_END. Never moves backwards. */
uint32_t usj_postings_advance(usj_postings *p, uint32_t target);
uint32_t usj_postings_doc(const usj_postings *p);
/* The decoded block from the current doc on: *docs gets the current doc
 * id and the block's later ones, ascending, followed by 7 or more
 * UINT32_MAX (so 8 may be read from any of the first count); returns the
 * count, 0 before the first doc or past the end. Valid until the cursor
 * moves to another block. */
uint32_t usj_postings_window(const usj_postings *p, const uint32_t **docs);
/* Moves the cursor k docs forward inside its block (k < the window's
 * count; otherwise it stays). */
void usj_postings_forward(usj_postings *p, uint32_t k);
uint32_t usj_postings_freq(const usj_postings *p);
/* Positions of the current doc, ascending, decoded on first request.
 * Valid until the cursor moves. Returns 0 or USJ_ECORRUPT. */
int usj_postings_positions(usj_postings *p, const uint32_t **pos, uint32_t *n);
/* Skip data of the block holding the current doc (for block-max pruning):
 * its last doc id, its largest tf, its shortest document length. */
void usj_postings_block(const usj_postings *p, uint32_t *last_doc,
                        uint32_t *max_tf, uint32_t *min_len);
/* Move to the block that may contain `target` without decoding it, so that
 * usj_postings_block() describes it; the next advance decodes. Returns the
 * last doc of that block, or USJ_DOC_END when past the end. */
uint32_t usj_postings_shallow(usj_postings *p, uint32_t target);
/* Largest BM25 term impact tf*(k1+1)/(tf + k1*(1-b+b*len/avgdl)) over the
 * docs of the block usj_postings_block() describes (0 past the end), and
 * over the whole list; rounded up, so idf * impact bounds every score of
 * the block (lib/rank.h: usj_rank_impact_bound). A damaged stored value
 * (NaN, negative, above k1+1) gives k1+1, the loosest bound, and makes
 * usj_postings_error() report USJ_ECORRUPT. */
float usj_postings_block_impact(usj_postings *p);
float usj_postings_max_impact(usj_postings *p);
/* Block-level access, in any order and without moving the cursor (for
 * top-k evaluation that visits the blocks with the largest impacts first):
 * the list's number of blocks (of up to 128 docs); block b's impact as
 * usj_postings_block_impact gives it (0 for b >= nblocks); block b's doc ids
 * into docs[] and its tfs less one into tfs[] (room for 128 each),
 * returning its doc count, or 0 when b >= nblocks or the block is damaged
 * (then usj_postings_error() reports USJ_ECORRUPT). */
uint32_t usj_postings_nblocks(const usj_postings *p);
float usj_postings_impact_at(usj_postings *p, uint32_t b);
/* Block b's stored bounds: every doc id in it is >= *first (the previous
 * block's last doc + 1; 0 for the first block), every tf <= *max_tf and
 * every length >= *min_len (b < nblocks; a one-block list gives the
 * list's figures). */
void usj_postings_bounds_at(const usj_postings *p, uint32_t b, uint32_t *first,
                            uint32_t *max_tf, uint32_t *min_len);
uint32_t usj_postings_read_block(usj_postings *p, uint32_t b, uint32_t *docs,
                                 uint32_t *tfs);
/* Hint: the caller reads usj_index_doclens()[doc] of the docs next and
 * advance return (to score them); the cursor then prefetches the lengths of
 * the docs a few places ahead in its block. */
void usj_postings_prefetch_lengths(usj_postings *p, int on);
/* 0, or USJ_ECORRUPT when the cursor ended early because a block failed to
 * decode (the message says where). next/advance then return USJ_DOC_END,
 * so callers that must not return short results check this at the end. */
int usj_postings_error(const usj_postings *p);

/* ---- documents (paragraphs) ---- */

typedef struct usj_doc_info {
    uint32_t    file;       /* file number */
    const char *path;       /* as given to the indexer (NUL-terminated) */
    const char *title;      /* the article's title (NUL-terminated) */
    uint32_t    line;       /* 1-based first line */
    uint32_t    nlines;
    uint64_t    offset;     /* byte offset in the (sanitized) file */
    uint32_t    length;     /* tokens, for BM25 */
} usj_doc_info;

uint32_t usj_index_ndocs(const usj_index *idx);
/* Returns 0, or USJ_EINVAL for a doc id out of range. */
int usj_index_doc(const usj_index *idx, uint32_t doc, usj_doc_info *out);
/* Document lengths in tokens, indexed by doc id (ndocs entries). */
const uint32_t *usj_index_doclens(const usj_index *idx);
double usj_index_avglen(const usj_index *idx);

/* The paragraph containing `line` of file `path` (path compared as stored).
 * Returns 0 or USJ_ENOTFOUND. */
int usj_index_find_line(const usj_index *idx, const char *path,
                        uint32_t line, uint32_t *doc);

uint32_t usj_index_nfiles(const usj_index *idx);
/* Path and title of file number i (NUL-terminated, owned by the index). */
int usj_index_file(const usj_index *idx, uint32_t i, const char **path,
                   const char **title);

/* ---- stored text ---- */

/* Caller-owned decompression cache (one per thread): holds the last block. */
typedef struct usj_textcache {
    uint32_t block;        /* block number held + 1; 0 = empty */
    char    *data;
    size_t   len, cap;
} usj_textcache;
#define USJ_TEXTCACHE_INIT {0, NULL, 0, 0}
void usj_textcache_free(usj_textcache *c);

/* The paragraph's text (UTF-8, '\n' between lines of a block paragraph);
 * points into the cache, valid until the cache is used again.
 * Returns 0, USJ_EINVAL, USJ_ECORRUPT, USJ_ENOMEM. */
int usj_index_text(const usj_index *idx, uint32_t doc, usj_textcache *cache,
                   const char **text, size_t *len);

/* ---- numeric index ---- */

/* Sorted, de-duplicated doc ids of paragraphs with a number of type t whose
 * stored value v (value * USJ_NUM_SCALE) has lo <= v <= hi. *docs is
 * malloc'd (free with free()); O(log n + k). Returns 0, USJ_ENOMEM. */
int usj_index_numrange(const usj_index *idx, usj_numtype t, int64_t lo,
                       int64_t hi, uint32_t **docs, size_t *ndocs);

/* ---- helpers ---- */

/* Resolve the index path the programs use: explicit (if non-NULL), else
 * $USJ_INDEX, else USJ_INDEX_DEFAULT_NAME searched from the current folder
 * upwards, else USJ_INDEX_DEFAULT_NAME in the current folder. Writes into
 * out (size n). Returns 0 or USJ_ELIMIT (path too long). */
int usj_index_locate(char *out, size_t n, const char *explicit_path);

#ifdef __cplusplus
}
#endif
#endif
