/* lib/analyze_int.h — internals shared by the analyzer modules (utf8.c,
 * analyze.c, stem.c, numbers.c): the UTF-8 decoder, the stem cache and the
 * number extractor. Not part of the public API. */
#ifndef USJ_ANALYZE_INT_H
#define USJ_ANALYZE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "limits.h"
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

/* ---- stem.c: libstemmer "english" behind a 2-way set associative cache
 * of USJ_STEM_CACHE_FIRST..USJ_STEM_CACHE_SLOTS slots (see stem.c) ---- */
#define USJ_STEM_KEY_BYTES 32   /* cached words: < 32 bytes, zero-padded */
#define USJ_STEM_KEY_WORDS (USJ_STEM_KEY_BYTES / 8)
#define USJ_STEM_OUT_BYTES 24   /* cached stems: < 24 bytes, NUL included */

typedef struct usj_stem_slot {
    uint64_t key[USJ_STEM_KEY_WORDS];   /* all zero = empty */
    char     stem[USJ_STEM_OUT_BYTES];  /* NUL-terminated */
    uint8_t  slen;
    uint8_t  same;                      /* stem == word */
    uint8_t  pad[64 - USJ_STEM_KEY_BYTES - 2 - USJ_STEM_OUT_BYTES];
} usj_stem_slot;

struct sb_stemmer;
typedef struct usj_stemmer {
    struct sb_stemmer *sb;
    usj_stem_slot     *slots;
    uint32_t           nslots;     /* a power of two, grows (stem.c) */
    uint32_t           misses;     /* since the last growth */
    char               out[USJ_MAX_TOKEN_BYTES * 2 + 8]; /* uncached result */
} usj_stemmer;

/* Returns 0 or USJ_ENOMEM (message set). */
int  usj_stemmer_new(usj_stemmer **out);
void usj_stemmer_free(usj_stemmer *s);           /* accepts NULL */

/* Stem word[0..len); the result (NUL-terminated, *out_len bytes) is valid
 * until the next call; when *out_len < USJ_STEM_OUT_BYTES, at least
 * USJ_STEM_OUT_BYTES bytes may be read from it (fixed-size copies).
 * *same (if non-NULL) is set to 1 when the stem equals the word. `padded`:
 * word has at least USJ_STEM_KEY_BYTES readable bytes, zero from word[len]
 * on, and no NUL before len (the analyzer's word buffer): the cache lookup
 * then needs no copy. Returns NULL only when libstemmer runs out of memory
 * (message set). */
const char *usj_stemmer_stem(usj_stemmer *s, const char *word, size_t len,
                             int padded, size_t *out_len, int *same);

static inline uint32_t usj_stem_hash(const uint64_t k[USJ_STEM_KEY_WORDS])
{
    uint64_t h = k[0] * 0x9E3779B97F4A7C15ull;
    h ^= k[1] * 0xC2B2AE3D27D4EB4Full;
    h ^= k[2] * 0x165667B19E3779F9ull;
    h ^= k[3] * 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    h *= 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

static inline int usj_stem_key_eq(const usj_stem_slot *sl,
                                  const uint64_t k[USJ_STEM_KEY_WORDS])
{
    return sl->key[0] == k[0] && sl->key[1] == k[1] && sl->key[2] == k[2] &&
           sl->key[3] == k[3];
}

/* The cache hit path of usj_stemmer_stem for a padded word (see there) of
 * 1..USJ_STEM_KEY_BYTES-1 bytes: the cached stem, or NULL on a miss. */
static inline const char *usj_stemmer_hit(usj_stemmer *s, const char *word,
                                          size_t *out_len, int *same)
{
    uint64_t k[USJ_STEM_KEY_WORDS];
    memcpy(k, word, sizeof k);
    usj_stem_slot *slot = &s->slots[usj_stem_hash(k) & (s->nslots - 2)];
    if (!usj_stem_key_eq(slot, k))
        return NULL;
    *out_len = slot->slen;
    *same = slot->same;
    return slot->stem;
}

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
