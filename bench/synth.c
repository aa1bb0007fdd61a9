/* bench/synth.c — generates the "synth" benchmark corpus: a word-bigram
 * model trained on kdocs, sampled deterministically to any size.
 *
 *   synth KDOCS_DIR OUT_DIR MEGABYTES [NFILES]
 *
 * Training: every non-blank line of KDOCS_DIR/kdocs-*.txt (byte order of
 * name) is one paragraph; its tokens are the runs of bytes between ASCII
 * spaces, kept verbatim (numbers, punctuation and case included). The model
 * holds, for each token and for the paragraph start, the list of tokens that
 * followed it (with repetition, so sampling is frequency-proportional), the
 * paragraph end being a token of its own.
 * Generation: a fixed-seed splitmix64 walk from the start state until the
 * end token (or MAX_PARA_TOKENS), one paragraph per line followed by a blank
 * line (as in kdocs), into NFILES (default 16) files synth-NN.txt of about
 * MEGABYTES / NFILES each. The same input gives byte-identical output. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define SEED            0x75736a73796e7468ull   /* "usjsynth" */
#define MAX_PARA_TOKENS 600u                    /* cap on a sampled paragraph */
#define MAX_FILES       1000u

typedef struct {
    char     *text;       /* the whole training corpus */
    size_t    len;
    /* interned tokens: offset/length into text; id 0 = START, 1 = END */
    uint32_t *tok_off, *tok_len;
    uint32_t  ntok, captok;
    uint32_t *slots;      /* open-addressing table of token ids (0 = empty) */
    uint32_t  nslots;
    /* bigrams as (prev, next) pairs, then CSR by prev */
    uint32_t *pairs;
    size_t    npairs, cappairs;
    uint32_t *first;      /* ntok + 1 offsets into succ */
    uint32_t *succ;
} model;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;               /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static void grow_slots(model *m)
{
    uint32_t n = m->nslots ? m->nslots * 2 : 1u << 16;
    uint32_t *s = bu_realloc(NULL, n, sizeof *s);
    memset(s, 0, (size_t)n * sizeof *s);
    for (uint32_t id = 2; id < m->ntok; id++) {
        uint64_t h = hash_bytes(m->text + m->tok_off[id], m->tok_len[id]);
        uint32_t i = (uint32_t)h & (n - 1);
        while (s[i])
            i = (i + 1) & (n - 1);
        s[i] = id;
    }
    free(m->slots);
    m->slots = s;
    m->nslots = n;
}

static uint32_t intern(model *m, uint32_t off, uint32_t len)
{
    if ((uint64_t)m->ntok * 2 >= m->nslots)
        grow_slots(m);
    uint64_t h = hash_bytes(m->text + off, len);
    uint32_t i = (uint32_t)h & (m->nslots - 1);
    while (m->slots[i]) {
        uint32_t id = m->slots[i];
        if (m->tok_len[id] == len &&
            memcmp(m->text + m->tok_off[id], m->text + off, len) == 0)
            return id;
        i = (i + 1) & (m->nslots - 1);
    }
    if (m->ntok == m->captok) {
        m->captok *= 2;
        m->tok_off = bu_realloc(m->tok_off, m->captok, sizeof *m->tok_off);
        m->tok_len = bu_realloc(m->tok_len, m->captok, sizeof *m->tok_len);
    }
    m->tok_off[m->ntok] = off;
    m->tok_len[m->ntok] = len;
    m->slots[i] = m->ntok;
    return m->ntok++;
}

static void add_pair(model *m, uint32_t prev, uint32_t next)
{
    if (m->npairs == m->cappairs) {
        m->cappairs = m->cappairs ? m->cappairs * 2 : 1u << 20;
        m->pairs = bu_realloc(m->pairs, m->cappairs, 2 * sizeof *m->pairs);
    }
    m->pairs[2 * m->npairs] = prev;
    m->pairs[2 * m->npairs + 1] = next;
    m->npairs++;
}

/* Reads KDOCS_DIR/kdocs-*.txt in name order into m->text. */
static void load(model *m, const char *dir)
{
    size_t nnames;
    char **names = bu_txt_files(dir, "kdocs-", &nnames);
    if (!nnames) {
        errno = 0;
        bu_die("no kdocs-*.txt files in the input folder");
    }
    size_t cap = 1u << 24;
    m->text = bu_realloc(NULL, cap, 1);
    for (size_t i = 0; i < nnames; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            bu_die(path);
        for (;;) {
            if (cap - m->len < 65536) {
                cap *= 2;
                m->text = bu_realloc(m->text, cap, 1);
            }
            size_t n = fread(m->text + m->len, 1, cap - m->len, f);
            m->len += n;
            if (n == 0)
                break;
        }
        if (ferror(f))
            bu_die(path);
        fclose(f);
        if (m->len && m->text[m->len - 1] != '\n')
            m->text[m->len++] = '\n';
        free(names[i]);
    }
    free(names);
    if (m->len >= UINT32_MAX) {
        errno = EFBIG;
        bu_die("training corpus over 4 GB");
    }
}

static void train(model *m)
{
    m->captok = 1u << 16;
    m->tok_off = bu_realloc(NULL, m->captok, sizeof *m->tok_off);
    m->tok_len = bu_realloc(NULL, m->captok, sizeof *m->tok_len);
    m->ntok = 2;                                       /* START, END */
    m->tok_off[0] = m->tok_off[1] = 0;
    m->tok_len[0] = m->tok_len[1] = 0;
    grow_slots(m);
    size_t i = 0;
    while (i < m->len) {
        size_t eol = i;
        while (eol < m->len && m->text[eol] != '\n')
            eol++;
        uint32_t prev = 0;
        size_t j = i;
        while (j < eol) {
            while (j < eol && m->text[j] == ' ')
                j++;
            size_t k = j;
            while (k < eol && m->text[k] != ' ')
                k++;
            if (k > j) {
                uint32_t id = intern(m, (uint32_t)j, (uint32_t)(k - j));
                add_pair(m, prev, id);
                prev = id;
            }
            j = k;
        }
        if (prev != 0)
            add_pair(m, prev, 1);                      /* paragraph end */
        i = eol + 1;
    }
    /* CSR: counting sort of the pairs by prev, keeping corpus order. */
    m->first = bu_realloc(NULL, (size_t)m->ntok + 1, sizeof *m->first);
    memset(m->first, 0, ((size_t)m->ntok + 1) * sizeof *m->first);
    for (size_t p = 0; p < m->npairs; p++)
        m->first[m->pairs[2 * p] + 1]++;
    for (uint32_t t = 0; t < m->ntok; t++)
        m->first[t + 1] += m->first[t];
    uint32_t *fill = bu_realloc(NULL, m->ntok, sizeof *fill);
    memcpy(fill, m->first, (size_t)m->ntok * sizeof *fill);
    m->succ = bu_realloc(NULL, m->npairs, sizeof *m->succ);
    for (size_t p = 0; p < m->npairs; p++)
        m->succ[fill[m->pairs[2 * p]]++] = m->pairs[2 * p + 1];
    free(fill);
    free(m->pairs);
    m->pairs = NULL;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t pick(const model *m, uint32_t prev, uint64_t *rng)
{
    uint32_t lo = m->first[prev], n = m->first[prev + 1] - lo;
    if (n == 0)
        return 1;
    return m->succ[lo + (uint32_t)(splitmix64(rng) % n)];
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: synth KDOCS_DIR OUT_DIR MEGABYTES [NFILES]\n");
        return 2;
    }
    char *endp;
    unsigned long long mb = strtoull(argv[3], &endp, 10);
    unsigned long nfiles = argc == 5 ? strtoul(argv[4], NULL, 10) : 16;
    if (*endp || mb == 0 || mb > 1000000 || nfiles == 0 || nfiles > MAX_FILES) {
        fprintf(stderr, "synth: bad MEGABYTES or NFILES\n");
        return 2;
    }
    model m = {0};
    load(&m, argv[1]);
    train(&m);
    fprintf(stderr, "synth: trained on %zu bytes: %u distinct tokens, %zu bigrams\n",
            m.len, m.ntok - 2, (size_t)m.first[m.ntok]);

    uint64_t target = (uint64_t)mb * 1000000u;
    uint64_t per_file = target / nfiles, written = 0, paras = 0;
    uint64_t rng = SEED;
    char *line = NULL;
    size_t linecap = 0;
    for (unsigned long f = 0; f < nfiles; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/synth-%02lu.txt", argv[2], f);
        FILE *out = fopen(path, "wb");
        if (!out)
            bu_die(path);
        uint64_t fsize = 0;
        uint64_t want = f + 1 == nfiles ? target - written : per_file;
        while (fsize < want) {
            size_t ll = 0;
            uint32_t prev = 0;
            for (uint32_t t = 0; t < MAX_PARA_TOKENS; t++) {
                uint32_t id = pick(&m, prev, &rng);
                if (id == 1)
                    break;
                size_t need = ll + m.tok_len[id] + 3;
                if (need > linecap) {
                    linecap = need * 2;
                    line = bu_realloc(line, linecap, 1);
                }
                if (ll)
                    line[ll++] = ' ';
                memcpy(line + ll, m.text + m.tok_off[id], m.tok_len[id]);
                ll += m.tok_len[id];
                prev = id;
            }
            if (ll == 0)
                continue;
            line[ll++] = '\n';
            line[ll++] = '\n';
            if (fwrite(line, 1, ll, out) != ll)
                bu_die(path);
            fsize += ll;
            paras++;
        }
        if (fclose(out) != 0)
            bu_die(path);
        written += fsize;
    }
    fprintf(stderr, "synth: wrote %llu bytes, %llu paragraphs in %lu files\n",
            (unsigned long long)written, (unsigned long long)paras, nfiles);
    free(line);
    free(m.text);
    free(m.tok_off);
    free(m.tok_len);
    free(m.slots);
    free(m.first);
    free(m.succ);
    return 0;
}
