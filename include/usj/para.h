/* usj/para.h — splitting a file into paragraphs, and finding its title.
 *
 * A paragraph is either one non-blank line, or a blank-line-separated block
 * of hard-wrapped lines. USJ_SPLIT_AUTO decides per block: a block of two or
 * more lines is one paragraph when it looks hard-wrapped (every line but the
 * last between USJ_WRAP_MIN and USJ_WRAP_MAX bytes, the last at most
 * USJ_WRAP_MAX, no table rows: lines with two or more '|'); otherwise
 * each non-blank line is its own paragraph (headlines, table rows and
 * unwrapped prose lines, as in the seeds). */
#ifndef USJ_PARA_H
#define USJ_PARA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum usj_split_mode {
    USJ_SPLIT_AUTO  = 0,
    USJ_SPLIT_LINE  = 1,  /* every non-blank line is a paragraph */
    USJ_SPLIT_BLOCK = 2   /* every blank-line-separated block is a paragraph */
} usj_split_mode;

typedef struct usj_para {
    const char *text;    /* points into the buffer: first byte of the first
                            line to the last byte of the last line (without
                            its line terminator); inner '\n' kept */
    size_t      len;
    uint32_t    line;    /* 1-based number of the first line */
    uint32_t    nlines;  /* lines in the paragraph */
    uint64_t    offset;  /* byte offset of text in the buffer */
} usj_para;

/* Called once per paragraph in file order; a non-zero return stops the split
 * and is returned by usj_para_split. */
typedef int (*usj_para_cb)(void *ctx, const usj_para *p);

/* Split buf[0..len) (LF or CRLF line ends; a trailing CR is not part of the
 * paragraph). Whitespace-only lines count as blank. Returns 0, or the
 * callback's non-zero value. */
int usj_para_split(const char *buf, size_t len, usj_split_mode mode,
                   usj_para_cb cb, void *ctx);

/* The title: the first non-blank line that has a letter or digit (a line of
 * bare punctuation is skipped; if every line is such, the first non-blank
 * one), trimmed of surrounding white space. A line longer than
 * USJ_TITLE_MAX (lib/limits.h: 160) bytes is cut at the end of its first
 * sentence when that comes within the bound, else after the last whole word
 * (UTF-8 character, for a line without blanks) that fits. Sets *title and
 * *tlen to point into buf ("" / 0 when the file is blank). Returns 1 when
 * the line was cut inside a sentence (a caller that stores the title adds
 * an ellipsis), else 0. */
#define USJ_TITLE_CUT "\xe2\x80\xa6"   /* "…", ending a title cut mid-sentence */
int usj_para_title(const char *buf, size_t len, const char **title,
                   size_t *tlen);

/* "auto", "line", "block" <-> mode; parse returns -1 when unknown. */
const char *usj_split_name(usj_split_mode m);
int         usj_split_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif
