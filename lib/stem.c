/* lib/stem.c — the Snowball English stemmer (libstemmer, "english", UTF-8)
 * behind a direct-mapped cache of USJ_STEM_CACHE_SLOTS entries, so that
 * libstemmer only runs on a miss. One per analyzer (not thread-safe).
 *
 * A slot holds a hash, the folded word and its stem inline (64 bytes);
 * words or stems longer than USJ_STEM_SLOT_BYTES - 1 bypass the cache. The
 * slot array is calloc'd, so pages are only touched as slots fill. */
#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_int.h"
#include "limits.h"
#include "usj/error.h"

#define USJ_STEM_SLOT_BYTES 29   /* key / stem bytes inline, NUL included */

typedef struct stem_slot {
    uint32_t hash;               /* 0 = empty (hashes are forced non-zero) */
    uint8_t  klen, slen;
    char     key[USJ_STEM_SLOT_BYTES];
    char     stem[USJ_STEM_SLOT_BYTES];
} stem_slot;

_Static_assert(sizeof(stem_slot) == 64, "stem slot is one cache line");
_Static_assert((USJ_STEM_CACHE_SLOTS & (USJ_STEM_CACHE_SLOTS - 1)) == 0,
               "USJ_STEM_CACHE_SLOTS must be a power of two");

struct usj_stemmer {
    struct sb_stemmer *sb;
    stem_slot         *slots;
    char               out[USJ_MAX_TOKEN_BYTES * 2 + 8]; /* uncached result */
};

int usj_stemmer_new(usj_stemmer **out)
{
    usj_stemmer *s = calloc(1, sizeof *s);
    if (!s)
        return usj_error_set(USJ_ENOMEM, "stem: out of memory");
    s->slots = calloc(USJ_STEM_CACHE_SLOTS, sizeof *s->slots);
    s->sb = sb_stemmer_new("english", "UTF_8");
    if (!s->slots || !s->sb) {
        usj_stemmer_free(s);
        return usj_error_set(USJ_ENOMEM,
                             "stem: cannot create the english stemmer");
    }
    *out = s;
    return 0;
}

void usj_stemmer_free(usj_stemmer *s)
{
    if (!s)
        return;
    if (s->sb)
        sb_stemmer_delete(s->sb);
    free(s->slots);
    free(s);
}

static inline uint32_t hash_word(const char *w, size_t n)
{
    uint32_t h = 2166136261u;                 /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)w[i];
        h *= 16777619u;
    }
    h ^= h >> 15;
    return h ? h : 1;
}

const char *usj_stemmer_stem(usj_stemmer *s, const char *word, size_t len,
                             size_t *out_len)
{
    uint32_t h = 0;
    stem_slot *slot = NULL;
    if (len < USJ_STEM_SLOT_BYTES) {
        h = hash_word(word, len);
        slot = &s->slots[h & (USJ_STEM_CACHE_SLOTS - 1)];
        if (slot->hash == h && slot->klen == len &&
            memcmp(slot->key, word, len) == 0) {
            *out_len = slot->slen;
            return slot->stem;
        }
    }
    if (len > (size_t)INT32_MAX) {            /* libstemmer takes an int */
        usj_error_set(USJ_ELIMIT, "stem: word of %zu bytes too long", len);
        return NULL;
    }
    const sb_symbol *r = sb_stemmer_stem(s->sb, (const sb_symbol *)word,
                                         (int)len);
    if (!r) {
        usj_error_set(USJ_ENOMEM, "stem: libstemmer out of memory");
        return NULL;
    }
    int rl = sb_stemmer_length(s->sb);
    size_t n = rl < 0 ? 0 : (size_t)rl;
    if (slot && n < USJ_STEM_SLOT_BYTES) {
        slot->hash = h;
        slot->klen = (uint8_t)len;
        slot->slen = (uint8_t)n;
        memcpy(slot->key, word, len);
        slot->key[len] = '\0';
        memcpy(slot->stem, r, n);
        slot->stem[n] = '\0';
        *out_len = n;
        return slot->stem;
    }
    if (n >= sizeof s->out) {
        /* only for words past USJ_MAX_TOKEN_BYTES (direct callers): the
         * libstemmer buffer is NUL-terminated and valid until the next call */
        *out_len = n;
        return (const char *)r;
    }
    memcpy(s->out, r, n);
    s->out[n] = '\0';
    *out_len = n;
    return s->out;
}
