/* lib/results.h — helpers to build usj_results / usj_hit (lib/results.c),
 * shared by the evaluator and the remote client. */
#ifndef USJ_RESULTS_H
#define USJ_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "usj/query.h"

/* Sort spans by start and merge overlapping ones in place (a merged span
 * keeps the strongest kind: number > phrase > term). Returns the count. */
size_t usj_spans_normalize(usj_span *s, size_t n);

/* Line (para_line + newlines before `first`) and 1-based byte column of
 * byte offset `first` of a paragraph's text. */
void usj_hit_locate(const char *text, size_t len, uint32_t para_line,
                    uint32_t first, uint32_t *line, uint32_t *column);

/* A hit being built by usj_search: path and title are borrowed (they point
 * into the index, or are ""), copied only by usj_results_pack; text is
 * copied (malloc'd, NUL-terminated). Returns 0 or USJ_ENOMEM (a text
 * copied stays owned by the hit). */
int usj_hit_set_strings(usj_hit *h, const char *path, const char *title,
                        const char *text, size_t len);

/* Free what a hit owns apart from its path and title: text, spans,
 * explain (for hits not yet packed, and by usj_results_free). */
void usj_hit_free_owned(usj_hit *h);

/* usj_search's results as one block (results.c's top comment): *head's
 * counts, then the n hits (their text, spans and explain move in as they
 * are; their borrowed path and title are copied, once per distinct pair
 * among nearby hits), and a copy of root (NULL: none). Returns 0 or
 * USJ_ENOMEM (then the hits still own their text, spans, explain). */
int usj_results_pack(usj_results **out, const usj_results *head,
                     const usj_hit *hits, size_t n, const char *root);

#endif
