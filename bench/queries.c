/* bench/queries.c — generates the benchmark query sets of one corpus,
 * deterministically (fixed-seed PRNG, candidates in byte order).
 *
 *   queries CORPUS_DIR OUT_DIR [PER_TYPE]
 *
 * The corpus is every *.txt file of CORPUS_DIR (name order); a paragraph is a
 * non-blank line. A "word" is a maximal run of ASCII letters, lower-cased,
 * 3..20 letters long, not one of the operator words and/or/not/near. Words
 * are grouped by their Snowball English stem (libstemmer, as the engines
 * stem them); df is the number of paragraphs (of N) holding any word of the
 * group, so a band is about what an engine sees ("detailing" searches
 * "detail"). A single-word query uses the group's most frequent spelling.
 *
 * One file per query type, PER_TYPE (default 112) queries each, one per line:
 *   rare.txt     one word,   2 <= df <= N/10000
 *   mid.txt      one word,   N/1000 <= df <= N/200
 *   common.txt   one word,   df >= N/100
 *   and2/and3    2/3 distinct words of one random paragraph, each with
 *                2 <= df <= N/10 (so "the" and friends do not dominate),
 *                written "w1 w2"            (every paragraph sampled matches)
 *   or2/or3      the same sampling,  written "w1 OR w2"
 *   phrase2/3    2/3 consecutive words of a random paragraph, separated only
 *                by spaces, not all with df > N/10, written "\"w1 w2\""
 * The text is valid, with the same meaning, in the syntaxes of usjsearch,
 * Xapian's QueryParser (default operator AND) and SQLite FTS5. */
#include <dirent.h>
#include <errno.h>
#include <libstemmer.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define SEED      0x75736a7175657279ull   /* "usjquery" */
#define MIN_WORD  3u
#define MAX_WORD  20u
#define MAX_TRIES 1000000u

typedef struct {
    uint32_t off, len;     /* into the corpus text (not lower-cased there) */
    uint32_t wdf;          /* paragraphs holding this spelling */
    uint32_t last_doc;     /* last paragraph counted + 1 */
    uint32_t group;        /* stem group */
    uint32_t df;           /* paragraphs holding any word of the group */
    int      leader;       /* the group's most frequent spelling */
} word;

typedef struct {
    char    *stem;
    uint32_t leader, df, last_doc;
} group;

static char     *text;
static size_t    text_len;
static uint32_t *para_off;     /* start of each paragraph; para_end below */
static uint32_t *para_end;
static uint32_t  npara;
static word     *words;
static uint32_t  nwords, capwords;
static uint32_t *slots;
static uint32_t  nslots;
static uint64_t  rng = SEED;
static group    *groups;
static uint32_t  ngroups, capgroups;

static uint64_t next_rand(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_alnum_or_high(unsigned char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Case-insensitive hash / compare of ASCII letters. */
static uint64_t whash(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)(p[i] | 0x20)) * 1099511628211ull;
    return h;
}

static int weq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((a[i] | 0x20) != (b[i] | 0x20))
            return 0;
    return 1;
}

static int is_operator(const char *p, size_t n)
{
    static const char *ops[] = {"and", "or", "not", "near"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strlen(ops[i]) == n && weq(p, ops[i], n))
            return 1;
    return 0;
}

static void grow_slots(void)
{
    uint32_t n = nslots ? nslots * 2 : 1u << 16;
    uint32_t *s = bu_realloc(NULL, n, sizeof *s);
    memset(s, 0, (size_t)n * sizeof *s);
    for (uint32_t id = 1; id < nwords; id++) {
        uint32_t i = (uint32_t)whash(text + words[id].off, words[id].len) & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = id;
    }
    free(slots);
    slots = s;
    nslots = n;
}

/* Word id (>= 1) of text[off..off+len), created if new. */
static uint32_t lookup(uint32_t off, uint32_t len, int create)
{
    if (create && (uint64_t)nwords * 2 >= nslots)
        grow_slots();
    uint32_t i = (uint32_t)whash(text + off, len) & (nslots - 1);
    while (slots[i]) {
        word *w = &words[slots[i]];
        if (w->len == len && weq(text + w->off, text + off, len))
            return slots[i];
        i = (i + 1) & (nslots - 1);
    }
    if (!create)
        return 0;
    if (nwords == capwords) {
        capwords *= 2;
        words = bu_realloc(words, capwords, sizeof *words);
    }
    words[nwords] = (word){off, len, 0, 0, 0, 0, 0};
    slots[i] = nwords;
    return nwords++;
}

/* Calls fn for each word (start offset, length) of paragraph p. */
#define FOR_WORDS(p, s, l, body)                                              \
    do {                                                                      \
        uint32_t i_ = para_off[p], e_ = para_end[p];                          \
        while (i_ < e_) {                                                     \
            if (!is_alpha((unsigned char)text[i_])) { i_++; continue; }      \
            uint32_t j_ = i_;                                                 \
            while (j_ < e_ && is_alpha((unsigned char)text[j_])) j_++;        \
            int ok_ = !(i_ > para_off[p] &&                                   \
                        is_alnum_or_high((unsigned char)text[i_ - 1])) &&     \
                      !(j_ < e_ && is_alnum_or_high((unsigned char)text[j_]));\
            uint32_t s = i_, l = j_ - i_;                                     \
            if (ok_ && l >= MIN_WORD && l <= MAX_WORD &&                      \
                !is_operator(text + s, l)) { body; }                          \
            i_ = j_;                                                          \
        }                                                                     \
    } while (0)

static void load(const char *dir)
{
    size_t nnames;
    char **names = bu_txt_files(dir, "", &nnames);
    if (!nnames) {
        errno = 0;
        bu_die("no *.txt files in the corpus folder");
    }
    size_t cap = 1u << 24;
    text = bu_realloc(NULL, cap, 1);
    for (size_t i = 0; i < nnames; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            bu_die(path);
        for (;;) {
            if (cap - text_len < 65536) {
                cap *= 2;
                text = bu_realloc(text, cap, 1);
            }
            size_t n = fread(text + text_len, 1, cap - text_len - 1, f);
            text_len += n;
            if (n == 0)
                break;
        }
        if (ferror(f))
            bu_die(path);
        fclose(f);
        if (text_len && text[text_len - 1] != '\n')
            text[text_len++] = '\n';
        free(names[i]);
    }
    free(names);
    if (text_len >= UINT32_MAX) {
        errno = EFBIG;
        bu_die("corpus over 4 GB");
    }
    uint32_t cap_p = 1u << 16;
    para_off = bu_realloc(NULL, cap_p, sizeof *para_off);
    para_end = bu_realloc(NULL, cap_p, sizeof *para_end);
    for (size_t i = 0; i < text_len;) {
        size_t eol = i;
        while (eol < text_len && text[eol] != '\n')
            eol++;
        size_t j = i;
        while (j < eol && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r'))
            j++;
        if (j < eol) {
            if (npara == cap_p) {
                cap_p *= 2;
                para_off = bu_realloc(para_off, cap_p, sizeof *para_off);
                para_end = bu_realloc(para_end, cap_p, sizeof *para_end);
            }
            para_off[npara] = (uint32_t)i;
            para_end[npara++] = (uint32_t)eol;
        }
        i = eol + 1;
    }
}

static void count_df(void)
{
    capwords = 1u << 16;
    words = bu_realloc(NULL, capwords, sizeof *words);
    nwords = 1;
    grow_slots();
    for (uint32_t p = 0; p < npara; p++) {
        FOR_WORDS(p, s, l, {
            word *w = &words[lookup(s, l, 1)];
            if (w->last_doc != p + 1) {
                w->last_doc = p + 1;
                w->wdf++;
            }
        });
    }
}

static uint64_t shash(const char *p)
{
    uint64_t h = 1469598103934665603ull;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* Groups the words by stem, then counts each group's df. */
static void count_group_df(void)
{
    struct sb_stemmer *st = sb_stemmer_new("english", NULL);
    if (!st)
        bu_die("libstemmer english");
    uint32_t gslots = 1;
    while (gslots < nwords * 2)
        gslots *= 2;
    uint32_t *gs = bu_realloc(NULL, gslots, sizeof *gs);
    memset(gs, 0, (size_t)gslots * sizeof *gs);
    capgroups = nwords + 1;
    groups = bu_realloc(NULL, capgroups, sizeof *groups);
    ngroups = 1;
    char buf[MAX_WORD + 1];
    for (uint32_t id = 1; id < nwords; id++) {
        word *w = &words[id];
        for (uint32_t i = 0; i < w->len; i++)
            buf[i] = (char)(text[w->off + i] | 0x20);
        const sb_symbol *sym = sb_stemmer_stem(st, (const sb_symbol *)buf, (int)w->len);
        if (!sym)
            bu_die("libstemmer");
        const char *stem = (const char *)sym;
        uint32_t i = (uint32_t)shash(stem) & (gslots - 1);
        while (gs[i] && strcmp(groups[gs[i]].stem, stem))
            i = (i + 1) & (gslots - 1);
        if (!gs[i]) {
            groups[ngroups] = (group){strdup(stem), id, 0, 0};
            if (!groups[ngroups].stem)
                bu_die("out of memory");
            gs[i] = ngroups++;
        }
        group *g = &groups[gs[i]];
        w->group = gs[i];
        if (words[g->leader].wdf < w->wdf)
            g->leader = id;
    }
    sb_stemmer_delete(st);
    free(gs);
    for (uint32_t p = 0; p < npara; p++) {
        FOR_WORDS(p, s, l, {
            group *g = &groups[words[lookup(s, l, 0)].group];
            if (g->last_doc != p + 1) {
                g->last_doc = p + 1;
                g->df++;
            }
        });
    }
    for (uint32_t id = 1; id < nwords; id++) {
        words[id].df = groups[words[id].group].df;
        words[id].leader = groups[words[id].group].leader == id;
    }
}

static void put_word(FILE *f, uint32_t id)
{
    for (uint32_t i = 0; i < words[id].len; i++)
        fputc(text[words[id].off + i] | 0x20, f);
}

static int word_cmp(const void *a, const void *b)
{
    const word *x = &words[*(const uint32_t *)a], *y = &words[*(const uint32_t *)b];
    uint32_t n = x->len < y->len ? x->len : y->len;
    for (uint32_t i = 0; i < n; i++) {
        int c = (text[x->off + i] | 0x20) - (text[y->off + i] | 0x20);
        if (c)
            return c;
    }
    return (int)x->len - (int)y->len;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        bu_die(path);
    return f;
}

static void close_out(FILE *f, const char *name, unsigned n)
{
    if (fclose(f) != 0)
        bu_die(name);
    fprintf(stderr, "queries: %-8s %u\n", name, n);
}

/* Single words with lo <= df <= hi, PER_TYPE of them (all if fewer). */
static void single(const char *dir, const char *name, uint64_t lo, uint64_t hi,
                   unsigned count)
{
    uint32_t *cand = bu_realloc(NULL, nwords, sizeof *cand);
    uint32_t n = 0;
    for (uint32_t id = 1; id < nwords; id++)
        if (words[id].leader && words[id].df >= lo && words[id].df <= hi)
            cand[n++] = id;
    qsort(cand, n, sizeof *cand, word_cmp);
    for (uint32_t i = n; i > 1; i--) {                 /* Fisher-Yates */
        uint32_t j = (uint32_t)(next_rand() % i), t = cand[i - 1];
        cand[i - 1] = cand[j];
        cand[j] = t;
    }
    FILE *f = open_out(dir, name);
    unsigned k = 0;
    for (; k < count && k < n; k++) {
        put_word(f, cand[k]);
        fputc('\n', f);
    }
    close_out(f, name, k);
    free(cand);
}

/* k distinct words of one random paragraph, joined by sep. */
static void multi(const char *dir, const char *name, unsigned k, const char *sep,
                  unsigned count)
{
    uint32_t cap = 4096, *ids = bu_realloc(NULL, cap, sizeof *ids);
    uint32_t maxdf = npara / 10;
    FILE *f = open_out(dir, name);
    unsigned made = 0;
    for (unsigned tries = 0; made < count && tries < MAX_TRIES; tries++) {
        uint32_t p = (uint32_t)(next_rand() % npara), n = 0;
        FOR_WORDS(p, s, l, {
            uint32_t id = lookup(s, l, 0);
            int dup = 0;
            for (uint32_t q = 0; q < n; q++)
                dup |= ids[q] == id;
            if (!dup && words[id].df >= 2 && words[id].df <= maxdf) {
                if (n == cap)
                    ids = bu_realloc(ids, cap *= 2, sizeof *ids);
                ids[n++] = id;
            }
        });
        if (n < k)
            continue;
        for (unsigned i = 0; i < k; i++) {              /* partial shuffle */
            uint32_t j = i + (uint32_t)(next_rand() % (n - i)), t = ids[i];
            ids[i] = ids[j];
            ids[j] = t;
            if (i)
                fputs(sep, f);
            put_word(f, ids[i]);
        }
        fputc('\n', f);
        made++;
    }
    close_out(f, name, made);
    free(ids);
}

/* k consecutive space-separated all-letter words of a random paragraph. */
static void phrases(const char *dir, const char *name, unsigned k, unsigned count)
{
    uint32_t maxdf = npara / 10;
    FILE *f = open_out(dir, name);
    unsigned made = 0;
    uint32_t start[8];
    for (unsigned tries = 0; made < count && tries < MAX_TRIES; tries++) {
        uint32_t p = (uint32_t)(next_rand() % npara);
        /* Candidate windows: runs of k space-separated tokens, each a word. */
        uint32_t nwin = 0, pick_at = 0, run = 0;
        uint32_t i = para_off[p], e = para_end[p];
        /* First pass counts windows, second pass takes the chosen one. */
        for (int pass = 0; pass < 2; pass++) {
            uint32_t w = 0;
            run = 0;
            i = para_off[p];
            while (i < e) {
                while (i < e && text[i] == ' ')
                    i++;
                uint32_t j = i;
                while (j < e && text[j] != ' ')
                    j++;
                if (j == i)
                    break;
                uint32_t len = j - i, id = 0;
                int ok = len >= MIN_WORD && len <= MAX_WORD && !is_operator(text + i, len);
                for (uint32_t q = i; ok && q < j; q++)
                    ok = is_alpha((unsigned char)text[q]);
                if (ok)
                    id = lookup(i, len, 0);
                if (id) {
                    start[run % k] = id;
                    run++;
                    if (run >= k) {
                        int rare_one = 0;
                        for (unsigned q = 0; q < k; q++)
                            rare_one |= words[start[q]].df <= maxdf;
                        if (rare_one) {
                            if (pass == 1 && w == pick_at) {
                                for (unsigned q = 0; q < k; q++) {
                                    if (q)
                                        fputc(' ', f);
                                    else
                                        fputc('"', f);
                                    put_word(f, start[(run - k + q) % k]);
                                }
                                fputs("\"\n", f);
                                made++;
                                goto next;
                            }
                            w++;
                        }
                    }
                } else {
                    run = 0;
                }
                i = j;
            }
            nwin = w;
            if (nwin == 0)
                break;
            pick_at = (uint32_t)(next_rand() % nwin);
        }
next:;
    }
    close_out(f, name, made);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: queries CORPUS_DIR OUT_DIR [PER_TYPE]\n");
        return 2;
    }
    unsigned per = argc == 4 ? (unsigned)strtoul(argv[3], NULL, 10) : 112;
    if (per == 0 || per > 100000) {
        fprintf(stderr, "queries: bad PER_TYPE\n");
        return 2;
    }
    load(argv[1]);
    count_df();
    count_group_df();
    fprintf(stderr, "queries: %u paragraphs, %u distinct words, %u stems\n", npara,
            nwords - 1, ngroups - 1);
    uint64_t n = npara;
    single(argv[2], "rare", 2, n / 10000 > 2 ? n / 10000 : 2, per);
    single(argv[2], "mid", n / 1000, n / 200, per);
    single(argv[2], "common", n / 100, n, per);
    multi(argv[2], "and2", 2, " ", per);
    multi(argv[2], "and3", 3, " ", per);
    multi(argv[2], "or2", 2, " OR ", per);
    multi(argv[2], "or3", 3, " OR ", per);
    phrases(argv[2], "phrase2", 2, per);
    phrases(argv[2], "phrase3", 3, per);
    free(text);
    free(para_off);
    free(para_end);
    free(words);
    free(slots);
    for (uint32_t g = 1; g < ngroups; g++)
        free(groups[g].stem);
    free(groups);
    return 0;
}
