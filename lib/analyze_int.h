/* lib/analyze_int.h — internals shared by the analyzer modules (utf8.c,
 * analyze.c, stem.c, numbers.c): the UTF-8 decoder, the stem cache and the
 * number extractor. Not part of the public API. */
#ifndef USJ_ANALYZE_INT_H
#define USJ_ANALYZE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "usj/analyze.h"

/* Decode one code point at p (p < end). Returns the code point and sets
 * *adv to the bytes consumed (>= 1), or returns -1 for an invalid sequence:
 * then *adv is the length of its maximal valid prefix (at least 1), so one
 * U+FFFD stands for it (the Unicode "maximal subpart" practice). Rejects
 * overlongs, surrogates and code points above U+10FFFF. */
static inline int32_t usj_utf8_decode(const unsigned char *p,
                                      const unsigned char *end, size_t *adv)
{
    unsigned c = p[0];
    if (c < 0x80) { *adv = 1; return (int32_t)c; }
    size_t avail = (size_t)(end - p);
    unsigned lo = 0x80, hi = 0xBF;
    size_t need;
    int32_t cp;
    if (c >= 0xC2 && c <= 0xDF)      { need = 2; cp = (int32_t)(c & 0x1F); }
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3; cp = (int32_t)(c & 0x0F);
        if (c == 0xE0) lo = 0xA0;          /* overlong */
        else if (c == 0xED) hi = 0x9F;     /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4; cp = (int32_t)(c & 0x07);
        if (c == 0xF0) lo = 0x90;          /* overlong */
        else if (c == 0xF4) hi = 0x8F;     /* above U+10FFFF */
    } else { *adv = 1; return -1; }        /* 80..C1, F5..FF */
    for (size_t k = 1; k < need; k++) {
        if (k >= avail) { *adv = k; return -1; }
        unsigned b = p[k];
        if (b < lo || b > hi) { *adv = k; return -1; }
        lo = 0x80; hi = 0xBF;
        cp = (cp << 6) | (int32_t)(b & 0x3F);
    }
    *adv = need;
    return cp;
}

/* Append the UTF-8 encoding of a valid code point to dst (room for 4 bytes
 * needed); returns the number of bytes written. */
static inline size_t usj_utf8_encode(char *dst, uint32_t cp)
{
    unsigned char *d = (unsigned char *)dst;
    if (cp < 0x80) { d[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        d[0] = (unsigned char)(0xC0 | (cp >> 6));
        d[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (unsigned char)(0xE0 | (cp >> 12));
        d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (unsigned char)(0xF0 | (cp >> 18));
    d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- stem.c: libstemmer "english" with a direct-mapped cache ---- */
typedef struct usj_stemmer usj_stemmer;

/* Returns 0 or USJ_ENOMEM (message set). */
int  usj_stemmer_new(usj_stemmer **out);
void usj_stemmer_free(usj_stemmer *s);           /* accepts NULL */
/* Stem word[0..len); the result (NUL-terminated, *out_len bytes) is valid
 * until the next call. *same (if non-NULL) is set to 1 when the stem equals
 * the word. `padded`: word has at least USJ_STEM_KEY_BYTES readable bytes,
 * zero from word[len] on, and no NUL before len (the analyzer's word
 * buffer): the cache lookup then needs no copy. Returns NULL only when
 * libstemmer runs out of memory (message set). */
#define USJ_STEM_KEY_BYTES 32
const char *usj_stemmer_stem(usj_stemmer *s, const char *word, size_t len,
                             int padded, size_t *out_len, int *same);

/* ---- numbers.c ---- */
/* Growable array of numbers owned by the analyzer. */
typedef struct usj_numvec {
    usj_number *v;
    size_t      n, cap;
} usj_numvec;

/* Find the typed numbers of text[0..len) from its tokens (whose norm
 * pointers are already set); appends to nv (cleared first). Returns 0 or
 * USJ_ENOMEM. */
int usj_numbers_extract(const char *text, size_t len, const usj_token *toks,
                        size_t ntoks, usj_numvec *nv);

/* Parse the leading ASCII numeral of s[0..n) ("14.1", "1000"): returns the
 * number of bytes used (0 when s does not start with a digit) and sets
 * *value; *decimals receives the digits after the point. */
size_t usj_numeral_parse(const char *s, size_t n, double *value,
                         int *decimals);

#endif
