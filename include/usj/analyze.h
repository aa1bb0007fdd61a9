/* usj/analyze.h — the analyzer: the one code path that turns UTF-8 text into
 * index terms and typed numbers, used for paragraphs and for query words.
 *
 * Pipeline: UTF-8 decode (invalid bytes count as U+FFFD) -> compatibility
 * normalization + case folding + accent stripping (utf8proc) -> tokens with
 * word positions and byte spans -> Snowball English stem (libstemmer) ->
 * typed numbers (money, percent, year, count) with byte spans.
 *
 * Token rules (see docs/QUERY.md "How text is analyzed"):
 *  - a token is a run of letters/digits (Unicode L*, N*, with M* inside);
 *  - apostrophes ' U+2018 U+2019 U+02BC inside a word join it ("don't" ->
 *    "dont"); a possessive 's is dropped ("Japan's" -> "japan"), also in the
 *    broken spacing "Japan ‘s"; quotes are separators;
 *  - single letters joined by dots form one acronym token ("U.S." -> "us",
 *    "U.S.A." -> "usa");
 *  - hyphens and dashes (- U+2010..U+2015 U+2212) split a compound into
 *    tokens at consecutive positions ("F-150" -> "f" "150");
 *  - decimals stay whole ("14.1"), thousands separators fold ("1,000" ->
 *    "1000"); numeral tokens are not stemmed;
 *  - every other character separates tokens.
 *
 * Number rules: "$550 billion", "US$3m", "$8bn", "$1 Trillion" are money in
 * USD; "75%", "8.2 percent" are percent; an integer 1000..2999 written without
 * separators and not money/percent is a year ("2025-2030" gives two); any
 * other number is a count, scaled by a following magnitude word ("1.5 million
 * new jobs" -> 1500000). Values are doubles here; the index stores them as
 * int64 thousandths (USJ_NUM_SCALE), exact for 3 decimal places. */
#ifndef USJ_ANALYZE_H
#define USJ_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct usj_token {
    const char *term;     /* stemmed, folded term, NUL-terminated */
    const char *norm;     /* folded but unstemmed form, NUL-terminated */
    uint32_t    term_len;
    uint32_t    norm_len;
    uint32_t    pos;      /* word position, 0-based, consecutive */
    uint32_t    start;    /* byte span [start, end) in the analyzed text */
    uint32_t    end;
    uint32_t    flags;    /* USJ_TOK_* */
} usj_token;

#define USJ_TOK_NUMERAL  1u  /* token is a number ("232", "14.1", "1000") */
#define USJ_TOK_ACRONYM  2u  /* built from dotted letters ("U.S.") */

typedef enum usj_numtype {
    USJ_NUM_MONEY   = 0,  /* US dollars */
    USJ_NUM_PERCENT = 1,  /* percent points: 75% -> 75 */
    USJ_NUM_YEAR    = 2,
    USJ_NUM_COUNT   = 3,
    USJ_NUM_NTYPES  = 4
} usj_numtype;

/* Stored values are round(value * USJ_NUM_SCALE) as int64. */
#define USJ_NUM_SCALE 1000

typedef struct usj_number {
    usj_numtype type;
    double      value;    /* $550 billion -> 550e9, 75% -> 75, 2028 -> 2028 */
    uint32_t    start;    /* byte span of the whole amount: "$550 billion" */
    uint32_t    end;
    uint32_t    pos;      /* position of the first numeral token */
} usj_number;

/* Result of one usj_analyze call; owned by the analyzer, valid until the
 * next call on the same analyzer or until it is freed. */
typedef struct usj_analysis {
    const usj_token  *tokens;
    size_t            ntokens;
    const usj_number *numbers;
    size_t            nnumbers;
    size_t            ninvalid;  /* invalid UTF-8 sequences seen (as U+FFFD) */
} usj_analysis;

typedef struct usj_analyzer usj_analyzer;

#define USJ_ANALYZE_NOSTEM    1u  /* term = norm (no stemming) */
#define USJ_ANALYZE_NONUMBERS 2u  /* skip number extraction */

/* Create an analyzer (owns a libstemmer instance and scratch buffers).
 * Not thread-safe: use one per thread. Returns 0, USJ_ENOMEM. */
int  usj_analyzer_new(usj_analyzer **out, unsigned flags);
void usj_analyzer_free(usj_analyzer *a);   /* accepts NULL */

/* Analyze `len` bytes of text (need not be NUL-terminated, may contain
 * invalid UTF-8 and NUL bytes). Returns 0 or USJ_ENOMEM / USJ_ELIMIT
 * (text longer than USJ_MAX_PARA_BYTES). */
int usj_analyze(usj_analyzer *a, const char *text, size_t len,
                const usj_analysis **out);

/* Stem one already-folded word with the analyzer's stemmer (cached). The
 * result is valid until the next call on the analyzer. */
const char *usj_analyzer_stem(usj_analyzer *a, const char *word, size_t len,
                              size_t *out_len);

/* Lower-case name of a number type ("money", "percent", "year", "count"),
 * and the reverse (returns -1 for an unknown name). */
const char *usj_numtype_name(usj_numtype t);
int         usj_numtype_parse(const char *name, size_t len);

/* ---- UTF-8 helpers ---- */

/* Returns 1 if p[0..len) is valid UTF-8 (no overlongs, no surrogates),
 * else 0 and *bad_off = offset of the first invalid byte (if non-NULL). */
int usj_utf8_valid(const char *p, size_t len, size_t *bad_off);

/* Copy p[0..len) into *out with every invalid sequence replaced by U+FFFD
 * and CR LF folded to LF; *ninvalid receives the number of replacements.
 * out must be initialised by the caller; on return *out holds a malloc'd
 * NUL-terminated copy (free with free()). Returns 0 or USJ_ENOMEM. */
int usj_utf8_sanitize(const char *p, size_t len, char **out, size_t *out_len,
                      size_t *ninvalid);

#ifdef __cplusplus
}
#endif
#endif
