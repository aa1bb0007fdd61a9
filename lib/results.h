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

/* Copy path, title and text into the hit (malloc'd, text NUL-terminated).
 * Returns 0 or USJ_ENOMEM (what was copied stays owned by the hit). */
int usj_hit_set_strings(usj_hit *h, const char *path, const char *title,
                        const char *text, size_t len);

#endif
