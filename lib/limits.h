/* lib/limits.h — every hard limit and default of libusj in one place.
 * Each has a comment saying why it has its value and what happens past it.
 * Modules add their own limits here, in their section. */
#ifndef USJ_LIMITS_H
#define USJ_LIMITS_H

/* ---- analyzer ---- */
/* Longest paragraph analyzed: positions and spans are uint32; past this the
 * writer splits the paragraph at a line boundary, a query gets USJ_ELIMIT. */
#define USJ_MAX_PARA_BYTES      (16u * 1024u * 1024u)
/* Longest token kept; longer runs (base64, hashes) are cut to this many
 * bytes so the dictionary stays sane. */
#define USJ_MAX_TOKEN_BYTES     64u
/* Stem cache entries per analyzer (power of two); misses call libstemmer. */
#define USJ_STEM_CACHE_SLOTS    (1u << 16)

/* ---- paragraphs ---- */
/* A block of 2+ lines is hard-wrapped (one paragraph) in auto mode when every
 * line but the last is between these byte lengths. */
#define USJ_WRAP_MIN            30u
#define USJ_WRAP_MAX            100u

/* ---- writer ---- */
/* Default in-memory budget for postings before a sorted run is spilled. */
#define USJ_DEFAULT_MEMORY      (256u * 1024u * 1024u)
/* Smallest budget accepted (--memory); below it runs would be tiny. */
#define USJ_MIN_MEMORY          (256u * 1024u)
/* Documents per postings block (skip data granularity). */
#define USJ_BLOCK_DOCS          128u
/* Uncompressed bytes per stored-text block before DEFLATE. */
#define USJ_TEXT_BLOCK_BYTES    (16u * 1024u)

/* ---- query ---- */
/* Longest query text accepted (bytes); longer gives USJ_ELIMIT at the
 * column where the limit is crossed. */
#define USJ_MAX_QUERY_BYTES     4096u
/* Deepest nesting of parentheses / NOT. */
#define USJ_MAX_QUERY_DEPTH     32u
/* Most clauses (words, phrases, ranges) in one query. */
#define USJ_MAX_QUERY_CLAUSES   256u
/* Most terms a prefix (word*) expands to; the most frequent are kept, and
 * the hit summary says the expansion was truncated. */
#define USJ_MAX_PREFIX_TERMS    128u
/* Largest LIMIT + OFFSET served. */
#define USJ_MAX_RESULTS         10000u
/* Default per-query deadline. */
#define USJ_DEFAULT_QUERY_TIMEOUT_MS 5000u
/* Default snippet width for long paragraphs (bytes of text shown). */
#define USJ_DEFAULT_SNIPPET_BYTES 240u

/* ---- daemon / protocol ---- */
/* Longest request line; past it: ERR TOOLONG and the connection closes. */
#define USJ_MAX_LINE_BYTES      (16u * 1024u)

#endif
