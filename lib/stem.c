/* lib/stem.c — the Snowball English stemmer (libstemmer, "english", UTF-8)
 * behind a cache of USJ_STEM_CACHE_FIRST slots that grows 16-fold, up to
 * USJ_STEM_CACHE_SLOTS, whenever it has missed as many words as it holds
 * (the old entries are dropped), so that libstemmer only runs on a miss and
 * a short-lived analyzer (one query) touches few pages. One per analyzer
 * (not thread-safe).
 *
 * The cache is 2-way set associative (pairs of slots, the most recently used
 * first), so two frequent words hashing to the same pair do not keep
 * evicting each other. A slot (64 bytes, one cache line) holds the folded
 * word zero-padded to 32 bytes — cached words never contain NUL, so the
 * padding also encodes the length and a lookup is four 64-bit compares —
 * plus its stem. Words of 32 bytes or more, words with a NUL, and stems of
 * STEM_MAX bytes or more bypass the cache. The slot array is calloc'd, so
 * pages are only touched as slots fill. The cache layout and the hit path
 * (usj_stemmer_hit) are inline in analyze_int.h for the analyzer's loop. */
#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_int.h"
#include "usj/error.h"

#define KEY_WORDS USJ_STEM_KEY_WORDS
#define KEY_MAX   (KEY_WORDS * 8 - 1)    /* longest cached word */
#define STEM_MAX  USJ_STEM_OUT_BYTES      /* stem bytes inline, NUL included */

_Static_assert(sizeof(usj_stem_slot) == 64, "stem slot is one cache line");
_Static_assert((USJ_STEM_CACHE_SLOTS & (USJ_STEM_CACHE_SLOTS - 1)) == 0,
               "USJ_STEM_CACHE_SLOTS must be a power of two");
_Static_assert((USJ_STEM_CACHE_FIRST & (USJ_STEM_CACHE_FIRST - 1)) == 0 &&
               USJ_STEM_CACHE_FIRST >= 2 &&
               USJ_STEM_CACHE_FIRST <= USJ_STEM_CACHE_SLOTS,
               "USJ_STEM_CACHE_FIRST must be a power of two within the cap");

int usj_stemmer_new(usj_stemmer **out)
{
    usj_stemmer *s = calloc(1, sizeof *s);
    if (!s)
        return usj_error_set(USJ_ENOMEM, "stem: out of memory");
    s->nslots = USJ_STEM_CACHE_FIRST;
    s->slots = calloc(s->nslots, sizeof *s->slots);
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

const char *usj_stemmer_stem(usj_stemmer *s, const char *word, size_t len,
                             int padded, size_t *out_len, int *same)
{
    usj_stem_slot *slot = NULL;
    uint64_t k[KEY_WORDS] = {0, 0, 0, 0};
    int dummy;
    if (!same)
        same = &dummy;
    if (len > 0 && len <= KEY_MAX) {
        if (padded)
            memcpy(k, word, sizeof k);
        else if (memchr(word, 0, len) == NULL)
            memcpy(k, word, len);
        else
            goto uncached;               /* a NUL would alias a shorter key */
        /* 2-way set: slot[0] is the most recently used of the pair */
        slot = &s->slots[usj_stem_hash(k) & (s->nslots - 2)];
        if (usj_stem_key_eq(slot, k)) {
            *out_len = slot->slen;
            *same = slot->same;
            return slot->stem;
        }
        if (usj_stem_key_eq(slot + 1, k)) {
            usj_stem_slot t = slot[1];
            slot[1] = slot[0];
            slot[0] = t;
            *out_len = slot->slen;
            *same = slot->same;
            return slot->stem;
        }
    }
uncached:
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
    *same = n == len && memcmp(r, word, n) == 0;
    if (slot && ++s->misses >= s->nslots && s->nslots < USJ_STEM_CACHE_SLOTS) {
        /* the words in use outnumber the slots: a larger cache (on a failed
         * allocation the small one goes on) */
        uint32_t more = s->nslots * 16 < USJ_STEM_CACHE_SLOTS
                            ? s->nslots * 16 : USJ_STEM_CACHE_SLOTS;
        usj_stem_slot *big = calloc(more, sizeof *big);
        if (big) {
            free(s->slots);
            s->slots = big;
            s->nslots = more;
            slot = &s->slots[usj_stem_hash(k) & (s->nslots - 2)];
        }
        s->misses = 0;
    }
    if (slot && n < STEM_MAX) {
        slot[1] = slot[0];                     /* evict the older one */
        memcpy(slot->key, k, sizeof k);
        slot->slen = (uint8_t)n;
        slot->same = (uint8_t)*same;
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
