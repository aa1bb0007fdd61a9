/* daemon/cache.c — per-worker answer cache: the exact bytes of recent
 * SEARCH / COUNT answers keyed by the exact request line and the index
 * generation, so a repeated query costs a hash lookup and a copy instead of
 * a search. Direct-mapped (a new entry replaces the one in its slot), with a
 * byte budget, so memory stays bounded however many queries are served. A
 * reload changes the generation: older entries are never returned. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "limits.h"

struct acache_entry {
    uint64_t hash;
    uint64_t gen;
    char    *key;        /* key bytes, then value bytes, one allocation */
    size_t   klen, vlen;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int acache_init(acache *c, unsigned nslots)
{
    memset(c, 0, sizeof *c);
    if (nslots == 0)
        return 0;
    unsigned n = 1;
    while (n < nslots)
        n <<= 1;
    c->slots = calloc(n, sizeof *c->slots);
    if (!c->slots)
        return -1;
    c->nslots = n;
    return 0;
}

void acache_free(acache *c)
{
    for (unsigned i = 0; i < c->nslots; i++)
        free(c->slots[i].key);
    free(c->slots);
    memset(c, 0, sizeof *c);
}

const char *acache_get(acache *c, uint64_t gen, const char *key, size_t klen,
                       size_t *vlen)
{
    if (!c->nslots)
        return NULL;
    uint64_t h = hash_bytes(key, klen);
    acache_entry *e = &c->slots[h & (c->nslots - 1)];
    if (e->key && e->hash == h && e->gen == gen && e->klen == klen &&
        memcmp(e->key, key, klen) == 0) {
        *vlen = e->vlen;
        return e->key + klen;
    }
    return NULL;
}

void acache_put(acache *c, uint64_t gen, const char *key, size_t klen,
                const char *val, size_t vlen)
{
    if (!c->nslots || vlen > USJ_ANSWER_CACHE_MAX_ENTRY ||
        klen > USJ_MAX_LINE_BYTES)
        return;
    uint64_t h = hash_bytes(key, klen);
    acache_entry *e = &c->slots[h & (c->nslots - 1)];
    size_t old = e->key ? e->klen + e->vlen : 0;
    if (c->bytes - old + klen + vlen > USJ_ANSWER_CACHE_BYTES)
        return;                             /* over budget: keep what is there */
    char *p = malloc(klen + vlen);
    if (!p)
        return;
    memcpy(p, key, klen);
    memcpy(p + klen, val, vlen);
    free(e->key);
    c->bytes = c->bytes - old + klen + vlen;
    e->key = p;
    e->hash = h;
    e->gen = gen;
    e->klen = klen;
    e->vlen = vlen;
}
