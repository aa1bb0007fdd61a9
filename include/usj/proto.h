/* usj/proto.h — the pieces of the usjsearchd line protocol (docs/PROTOCOL.md)
 * shared by the daemon and the client: escaping of text fields, request
 * tokenizing, SEARCH options, and the formatting and parsing of status and
 * hit lines. Pure functions over bytes: no I/O, no global state.
 *
 * Every parser takes (p, end), never reads past end, and accepts any bytes
 * (NUL included) without crashing. Formatters append to a usj_buf. */
#ifndef USJ_PROTO_H
#define USJ_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "query.h"

#ifdef __cplusplus
extern "C" {
#endif

#define USJ_PROTO_VERSION 1

/* ---- escaping: \\ \t \n \r (every other byte is sent as is) ---- */

/* Append p[0..len) escaped. Returns 0 or USJ_ENOMEM. */
int usj_proto_escape(usj_buf *out, const char *p, size_t len);

/* Unescape [p, end) into a malloc'd NUL-terminated string (*out, *out_len;
 * out_len may be NULL). An unknown escape or a trailing lone backslash gives
 * USJ_EINVAL. Returns 0, USJ_EINVAL, USJ_ENOMEM. */
int usj_proto_unescape(char **out, size_t *out_len, const char *p,
                       const char *end);

/* ---- requests ---- */

/* Skip spaces and tabs from *p; if a token follows, set *tok and *tok_len to
 * it, advance *p past it and return 1; else return 0 (*p at end). */
int usj_proto_token(const char **p, const char *end, const char **tok,
                    size_t *tok_len);

/* Case-insensitive comparison of a token with an upper-case word. */
int usj_proto_word_is(const char *tok, size_t len, const char *word);

/* The options and query of a SEARCH request (the part after the command).
 * Options, in any order, case-insensitive: LIMIT n, OFFSET n, EXPLAIN,
 * NOTEXT, TIMEOUT ms, TOTALUPTO n; `--` ends the options explicitly. The query is the rest of
 * the line after the options and one run of blanks; it points into the
 * request. */
typedef struct usj_proto_search {
    uint32_t    limit;       /* default 10 */
    uint32_t    offset;      /* default 0 */
    uint32_t    timeout_ms;  /* 0 = the daemon's default */
    int         explain;
    unsigned    flags;       /* USJ_SEARCH_* (NOTEXT) */
    uint64_t    total_upto;  /* usj_search_opts.total_upto; 0 = exact total */
    const char *query;
    size_t      query_len;
} usj_proto_search;

#define USJ_PROTO_DEFAULT_LIMIT 10u

/* Returns 0, or USJ_EINVAL (bad option value; message and 1-based column
 * relative to p set). */
int usj_proto_parse_search(usj_proto_search *out, const char *p,
                           const char *end);

/* Append the request line "SEARCH LIMIT n OFFSET n [EXPLAIN] [NOTEXT]
 * [TIMEOUT ms] [TOTALUPTO n] -- query\n". CR and LF in the query are sent as spaces (same columns).
 * Returns 0 or USJ_ENOMEM. */
int usj_proto_format_search(usj_buf *out, const char *query, size_t len,
                            const usj_search_opts *opts);

/* ---- answers ---- */

/* "OK <returned> <total>[+] <took_us> <root escaped>\n"; the "+" marks a
 * total that is a lower bound (USJ_TOTAL_AT_LEAST, after TOTALUPTO). */
int usj_proto_format_results_head(usj_buf *out, const usj_results *r);
/* Parse that line (without its line end). Fills nhits, total,
 * total_relation, took_us and a malloc'd root into r (other fields
 * untouched). Returns 0, USJ_EINVAL,
 * USJ_ENOMEM. */
int usj_proto_parse_results_head(usj_results *r, const char *p,
                                 const char *end);

/* One hit line, ending in "\n": path, line, column, score, text, spans,
 * para_line, title, explain, doc — TAB-separated, strings escaped; spans
 * as "s-e:k,s-e:k" (k = usj_span_kind), explain empty when NULL.
 * Returns 0 or USJ_ENOMEM. */
int usj_proto_format_hit(usj_buf *out, const usj_hit *h);

/* Parse a hit line (without its line end) into *h, every string malloc'd
 * (free with usj_proto_hit_clear). `explain` says whether the request asked
 * for explanations (an empty explain field then is ""; otherwise NULL).
 * Returns 0, USJ_EINVAL (malformed: message says which field), USJ_ENOMEM;
 * on error *h is left cleared. */
int usj_proto_parse_hit(usj_hit *h, const char *p, const char *end,
                        int explain);
void usj_proto_hit_clear(usj_hit *h);

/* "ERR <NAME> [<column>] <message>\n": NAME from usj_error_name(code), or
 * `name` when non-NULL (UNKNOWN, TOOLONG, BUSY, ARGS ...); the column is
 * written for SYNTAX and LIMIT (0 when unknown). The message is escaped. */
int usj_proto_format_error(usj_buf *out, int code, const char *name,
                           int column, const char *msg);

/* Turn an "ERR ..." line (without its line end) into a USJ_E* code with
 * the message (and column for SYNTAX / LIMIT) set on this thread via
 * usj_error_set_at. Codes that are no usj_err (UNKNOWN, BUSY, ...) give
 * USJ_EIO. A line that is not "ERR ..." gives USJ_EIO too. */
int usj_proto_parse_error(const char *p, const char *end);

#ifdef __cplusplus
}
#endif
#endif
