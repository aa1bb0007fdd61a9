/* lib/analyze.c — the token stream of usj/analyze.h: UTF-8 decoding (invalid
 * sequences count as U+FFFD separators), folding, tokens with positions and
 * byte spans, stemming through stem.c, then numbers through numbers.c.
 *
 * Rules, in the order the scanner applies them at a word start:
 *  - ASCII letters and digits go through a 256-entry fold table (the fast
 *    path, a byte at a time); other code points are classified by their
 *    Unicode category (utf8proc) and folded with utf8proc_decompose_char
 *    (DECOMPOSE|COMPAT|CASEFOLD|STRIPMARK), one code point at a time, so
 *    spans stay in the ORIGINAL text; a 512-entry cache keeps recent
 *    code points' class and folding;
 *  - acronyms: single letters joined by dots ("U.S.", "U.S.A.", "D.C.",
 *    "a.m.", also "U.S" without the last dot) give one token ("us"); the
 *    span covers the letters and dots, the trailing dot included;
 *  - a word is a run of letters/digits (combining marks inside are
 *    stripped); inside it, an apostrophe (' U+2018 U+2019 U+02BC) between
 *    word characters is dropped and the parts joined ("don't" -> "dont"),
 *    except a possessive "'s" at the end of the word, which is dropped
 *    ("Japan's" -> "japan"); the broken spacing "Japan ‘s" / "don ‘t" (one
 *    or two ASCII spaces or tabs, an apostrophe, then s / t / re / ve / ll /
 *    d / m, then no word character) after a word with a letter is treated
 *    the same way;
 *  - numerals: a '.' between digits stays ("14.1"), a ',' followed by
 *    exactly three digits is folded away ("1,000,000" -> "1000000") when
 *    the groups are well formed (1-3 digits first, then 3 each);
 *  - Han ideographs and kana are one token each (they are not separated by
 *    spaces in the text, so phrases of single ideographs find words);
 *  - everything else (dashes, quotes, '$', '%', NUL, U+FFFD) separates;
 *  - a token's norm is cut to USJ_MAX_TOKEN_BYTES bytes (at a code point
 *    boundary); its span still covers the whole run.
 *
 * Spans: [start, end) of the bytes that make the term. A dropped possessive
 * is NOT in the span ("Japan's" -> "Japan"), a joined contraction is
 * ("don't", "don ‘t").
 *
 * Memory: tokens, strings (norm and term, NUL-terminated, in one arena) and
 * numbers live in buffers owned by the analyzer and reused across calls; a
 * call allocates only when a buffer must grow. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "analyze_int.h"
#include "limits.h"
#include "usj/error.h"

/* code point classes */
enum {
    K_SEP = 0,   /* separator */
    K_SPACE,     /* horizontal space (also a separator) */
    K_ALPHA,     /* letter, or a non-ASCII number */
    K_DIGIT,     /* ASCII digit */
    K_MARK,      /* combining mark: part of a word only inside one */
    K_APOS,      /* ' U+2018 U+2019 U+02BC */
    K_DOT,
    K_COMMA,
    K_IDEO,      /* Han / kana: a token by itself */
    K_INVALID    /* invalid UTF-8 (U+FFFD), a separator */
};

static const unsigned char ascii_class[128] = {
    ['\t'] = K_SPACE, [' '] = K_SPACE, ['\''] = K_APOS, ['.'] = K_DOT,
    [','] = K_COMMA,
    ['0'] = K_DIGIT, ['1'] = K_DIGIT, ['2'] = K_DIGIT, ['3'] = K_DIGIT,
    ['4'] = K_DIGIT, ['5'] = K_DIGIT, ['6'] = K_DIGIT, ['7'] = K_DIGIT,
    ['8'] = K_DIGIT, ['9'] = K_DIGIT,
    ['A'] = K_ALPHA, ['B'] = K_ALPHA, ['C'] = K_ALPHA, ['D'] = K_ALPHA,
    ['E'] = K_ALPHA, ['F'] = K_ALPHA, ['G'] = K_ALPHA, ['H'] = K_ALPHA,
    ['I'] = K_ALPHA, ['J'] = K_ALPHA, ['K'] = K_ALPHA, ['L'] = K_ALPHA,
    ['M'] = K_ALPHA, ['N'] = K_ALPHA, ['O'] = K_ALPHA, ['P'] = K_ALPHA,
    ['Q'] = K_ALPHA, ['R'] = K_ALPHA, ['S'] = K_ALPHA, ['T'] = K_ALPHA,
    ['U'] = K_ALPHA, ['V'] = K_ALPHA, ['W'] = K_ALPHA, ['X'] = K_ALPHA,
    ['Y'] = K_ALPHA, ['Z'] = K_ALPHA,
    ['a'] = K_ALPHA, ['b'] = K_ALPHA, ['c'] = K_ALPHA, ['d'] = K_ALPHA,
    ['e'] = K_ALPHA, ['f'] = K_ALPHA, ['g'] = K_ALPHA, ['h'] = K_ALPHA,
    ['i'] = K_ALPHA, ['j'] = K_ALPHA, ['k'] = K_ALPHA, ['l'] = K_ALPHA,
    ['m'] = K_ALPHA, ['n'] = K_ALPHA, ['o'] = K_ALPHA, ['p'] = K_ALPHA,
    ['q'] = K_ALPHA, ['r'] = K_ALPHA, ['s'] = K_ALPHA, ['t'] = K_ALPHA,
    ['u'] = K_ALPHA, ['v'] = K_ALPHA, ['w'] = K_ALPHA, ['x'] = K_ALPHA,
    ['y'] = K_ALPHA, ['z'] = K_ALPHA,
};

/* ASCII letters and digits folded to lower case; 0 for everything else,
 * including bytes >= 0x80, which take the Unicode path. */
static const unsigned char fold_ascii[256] = {
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e',
    ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
    ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o',
    ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't',
    ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
    ['Z'] = 'z', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
    ['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i',
    ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
    ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's',
    ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
    ['y'] = 'y', ['z'] = 'z', ['0'] = '0', ['1'] = '1', ['2'] = '2',
    ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6', ['7'] = '7',
    ['8'] = '8', ['9'] = '9',
};

static inline int isdig(unsigned c) { return c - '0' < 10u; }

#define FOLD_OPTS (UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | \
                   UTF8PROC_STRIPMARK)

/* Small direct-mapped cache of non-ASCII code point -> class and folded
 * UTF-8, so prose with accents or typographic quotes does not pay a
 * utf8proc lookup per character. */
#define CP_CACHE_SLOTS 512u
#define CP_FOLD_MAX    14u   /* longer foldings are not cached */

typedef struct cp_slot {
    int32_t cp;              /* 0 = empty (never a non-ASCII code point) */
    uint8_t k;               /* class */
    uint8_t n;               /* folded bytes, or 0xFF: too long, not cached */
    char    fold[CP_FOLD_MAX];
} cp_slot;

typedef struct tok_off {
    size_t norm, term;       /* arena offsets, fixed into pointers at the end */
} tok_off;

struct usj_analyzer {
    unsigned     flags;
    usj_stemmer *stem;
    usj_token   *toks;
    tok_off     *offs;
    size_t       ntoks, captoks;
    char        *arena;
    size_t       alen, acap;
    usj_numvec   nums;
    size_t       ninvalid;
    usj_analysis res;
    cp_slot      cpc[CP_CACHE_SLOTS];
};

/* ------------------------------------------------------------ classes */

static int is_ideo(int32_t cp)
{
    return (cp >= 0x3040 && cp <= 0x30FF) ||    /* hiragana, katakana */
           (cp >= 0x3400 && cp <= 0x4DBF) ||    /* CJK ext A */
           (cp >= 0x4E00 && cp <= 0x9FFF) ||    /* CJK unified */
           (cp >= 0xF900 && cp <= 0xFAFF) ||    /* compatibility */
           (cp >= 0x20000 && cp <= 0x3FFFF);    /* ext B.. */
}

static unsigned classify_uni(int32_t cp)
{
    switch (cp) {
    case 0x2018: case 0x2019: case 0x02BC:
        return K_APOS;
    case 0x00A0: case 0x2007: case 0x202F:
        return K_SPACE;
    default:
        break;
    }
    if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212)
        return K_SEP;
    if (is_ideo(cp))
        return K_IDEO;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return K_ALPHA;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return K_MARK;
    case UTF8PROC_CATEGORY_ZS:
        return K_SPACE;
    default:
        return K_SEP;
    }
}

/* Fold cp into out[0..cap) (callers pass 160 bytes: 32 code points of at
 * most 4 bytes); returns the bytes written. Only letters and numbers of the
 * folded form are kept (marks are stripped by utf8proc). */
static size_t fold_uni(int32_t cp, char *out, size_t cap)
{
    utf8proc_int32_t d[32];
    int bc = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, d, 32, FOLD_OPTS, &bc);
    if (n <= 0 || n > 32)
        return 0;
    size_t o = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        utf8proc_category_t c = utf8proc_category(d[i]);
        if (c < UTF8PROC_CATEGORY_LU ||
            (c > UTF8PROC_CATEGORY_LO && c < UTF8PROC_CATEGORY_ND) ||
            c > UTF8PROC_CATEGORY_NO)
            continue;
        if (o + 4 > cap)
            break;
        o += usj_utf8_encode(out + o, (uint32_t)d[i]);
    }
    return o;
}

/* The class of a non-ASCII code point, and (in *fold and *nfold) its folded
 * bytes when it is a word character. */
static unsigned lookup_uni(usj_analyzer *a, int32_t cp, const char **fold,
                           size_t *nfold, char *tmp, size_t tmpcap)
{
    cp_slot *s = &a->cpc[(uint32_t)cp & (CP_CACHE_SLOTS - 1)];
    if (s->cp == cp && s->n != 0xFF) {
        *fold = s->fold;
        *nfold = s->n;
        return s->k;
    }
    unsigned k = classify_uni(cp);
    size_t n = 0;
    if (k == K_ALPHA || k == K_MARK || k == K_IDEO)
        n = fold_uni(cp, tmp, tmpcap);
    s->cp = cp;
    s->k = (uint8_t)k;
    if (n <= CP_FOLD_MAX) {
        s->n = (uint8_t)n;
        memcpy(s->fold, tmp, n);
        *fold = s->fold;
    } else {
        s->n = 0xFF;
        *fold = tmp;
    }
    *nfold = n;
    return k;
}

/* Class of the code point at p[i] (i < len) and its byte length. */
typedef struct cpinfo {
    int32_t     cp;
    unsigned    k;
    size_t      len;
    const char *fold;     /* folded bytes (non-ASCII word characters) */
    size_t      nfold;
    char        tmp[160];
} cpinfo;

static inline void peek(usj_analyzer *a, const unsigned char *p, size_t len,
                        size_t i, cpinfo *c)
{
    unsigned b = p[i];
    if (b < 0x80) {
        c->cp = (int32_t)b;
        c->k = ascii_class[b];
        c->len = 1;
        c->nfold = 0;
        return;
    }
    c->cp = usj_utf8_decode(p + i, p + len, &c->len);
    if (c->cp < 0) {
        c->k = K_INVALID;
        c->nfold = 0;
        return;
    }
    c->k = lookup_uni(a, c->cp, &c->fold, &c->nfold, c->tmp, sizeof c->tmp);
}

/* Class only, at i (K_SEP past the end). */
static inline unsigned class_at(usj_analyzer *a, const unsigned char *p,
                                size_t len, size_t i, cpinfo *c)
{
    if (i >= len) {
        c->len = 0;
        c->cp = -1;
        return c->k = K_SEP;
    }
    peek(a, p, len, i, c);
    return c->k;
}

static inline int is_wordk(unsigned k)
{
    return k == K_ALPHA || k == K_DIGIT || k == K_MARK;
}

/* ------------------------------------------------------------ the norm */

typedef struct wordbuf {
    /* the folded word, always zero-padded after nl: the stem cache reads
     * its first USJ_STEM_KEY_BYTES as the key and emit copies it whole */
    char   nb[USJ_MAX_TOKEN_BYTES + 8];
    size_t nl;
    size_t lim;              /* USJ_MAX_TOKEN_BYTES, or nl once a code point
                                did not fit (the token is cut there) */
} wordbuf;

_Static_assert(USJ_STEM_KEY_BYTES <= USJ_MAX_TOKEN_BYTES,
               "the word buffer holds a whole stem cache key");

static inline void word_init(wordbuf *w)
{
    memset(w->nb, 0, sizeof w->nb);
    w->nl = 0;
    w->lim = USJ_MAX_TOKEN_BYTES;
}

static inline void put_bytes(wordbuf *w, const char *s, size_t n)
{
    if (w->nl + n > w->lim) {
        w->lim = w->nl;
        return;
    }
    memcpy(w->nb + w->nl, s, n);
    w->nl += n;
}

static inline void put_ascii(wordbuf *w, unsigned b)
{
    if (w->nl < w->lim)
        w->nb[w->nl++] = (char)((b >= 'A' && b <= 'Z') ? b + 32 : b);
}

static inline void put_cp(wordbuf *w, const cpinfo *c)
{
    if (c->cp < 0x80)
        put_ascii(w, (unsigned)c->cp);
    else
        put_bytes(w, c->fold, c->nfold);
}

/* ------------------------------------------------------------ buffers */

/* Make room for `need` more bytes in the string arena. Returns 0 or
 * USJ_ENOMEM (message set). */
static int arena_grow(usj_analyzer *a, size_t need)
{
    if (a->alen > SIZE_MAX - need)
        return usj_error_set(USJ_ENOMEM, "analyze: string arena overflow");
    size_t want = a->alen + need;
    size_t cap = a->acap ? a->acap : 4096;
    while (cap < want) {
        if (cap > SIZE_MAX / 2)
            return usj_error_set(USJ_ENOMEM, "analyze: string arena overflow");
        cap *= 2;
    }
    char *na = realloc(a->arena, cap);
    if (!na)
        return usj_error_set(USJ_ENOMEM, "analyze: out of memory (%zu bytes)",
                             cap);
    a->arena = na;
    a->acap = cap;
    return 0;
}

static int grow_tokens(usj_analyzer *a)
{
    size_t cap = a->captoks ? a->captoks * 2 : 256;
    if (cap > SIZE_MAX / sizeof(usj_token) || cap > UINT32_MAX)
        return usj_error_set(USJ_ENOMEM, "analyze: too many tokens");
    usj_token *t = realloc(a->toks, cap * sizeof *t);
    if (!t)
        return usj_error_set(USJ_ENOMEM, "analyze: out of memory");
    a->toks = t;
    tok_off *o = realloc(a->offs, cap * sizeof *o);
    if (!o)
        return usj_error_set(USJ_ENOMEM, "analyze: out of memory");
    a->offs = o;
    a->captoks = cap;
    return 0;
}

/* Is s[0..n) a numeral: ASCII digits with at most one inner '.'? */
static int is_numeral(const char *s, size_t n)
{
    if (n == 0 || s[0] < '0' || s[0] > '9' || s[n - 1] < '0' || s[n - 1] > '9')
        return 0;
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (++dots > 1)
                return 0;
        } else if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Room kept free in the arena before each token: its norm (copied whole,
 * padding included) and its stem (USJ_STEM_OUT_BYTES copied when short). */
#define ARENA_SLACK (2u * (USJ_MAX_TOKEN_BYTES + 8u) + 64u)

static int emit(usj_analyzer *a, const wordbuf *w, size_t start, size_t end,
                uint32_t flags)
{
    if (w->nl == 0)
        return 0;
    if (a->ntoks == a->captoks) {
        int rc = grow_tokens(a);
        if (rc)
            return rc;
    }
    if (a->acap - a->alen < ARENA_SLACK && arena_grow(a, ARENA_SLACK))
        return USJ_ENOMEM;
    if (!(flags & USJ_TOK_NUMERAL) && isdig((unsigned char)w->nb[0]) &&
        is_numeral(w->nb, w->nl))
        flags |= USJ_TOK_NUMERAL;    /* e.g. folded from fullwidth digits */
    tok_off *o = &a->offs[a->ntoks];
    usj_token *t = &a->toks[a->ntoks];
    /* the norm: nb is zero-padded, so the fixed-size copy is terminated */
    memcpy(a->arena + a->alen, w->nb, sizeof w->nb);
    o->norm = a->alen;
    a->alen += w->nl + 1;
    t->norm_len = (uint32_t)w->nl;
    if ((flags & USJ_TOK_NUMERAL) || (a->flags & USJ_ANALYZE_NOSTEM)) {
        o->term = o->norm;
        t->term_len = t->norm_len;
    } else {
        size_t sl;
        int same;
        const char *st = NULL;
        if (w->nl < USJ_STEM_KEY_BYTES)
            st = usj_stemmer_hit(a->stem, w->nb, &sl, &same);
        if (!st) {
            st = usj_stemmer_stem(a->stem, w->nb, w->nl, 1, &sl, &same);
            if (!st)
                return USJ_ENOMEM;
        }
        if (same) {
            o->term = o->norm;
        } else {
            char *d;
            if (sl < USJ_STEM_OUT_BYTES) {      /* the common case */
                d = a->arena + a->alen;            /* room: ARENA_SLACK */
                memcpy(d, st, USJ_STEM_OUT_BYTES);
            } else {
                if (a->acap - a->alen < sl + 1 && arena_grow(a, sl + 1))
                    return USJ_ENOMEM;
                d = a->arena + a->alen;
                memcpy(d, st, sl);
            }
            d[sl] = '\0';
            o->term = a->alen;
            a->alen += sl + 1;
        }
        t->term_len = (uint32_t)sl;
    }
    t->term = t->norm = NULL;
    t->pos = (uint32_t)a->ntoks;
    t->start = (uint32_t)start;
    t->end = (uint32_t)end;
    t->flags = flags;
    a->ntoks++;
    return 0;
}

/* ------------------------------------------------------------ scanner */

/* Length of a possessive "'s" at i (apostrophe, s/S, then no word
 * character), or 0. */
static size_t possessive_at(usj_analyzer *a, const unsigned char *p,
                            size_t len, size_t i)
{
    cpinfo c;
    if (class_at(a, p, len, i, &c) != K_APOS)
        return 0;
    size_t j = i + c.len;
    if (j >= len || (p[j] != 's' && p[j] != 'S'))
        return 0;
    if (is_wordk(class_at(a, p, len, j + 1, &c)))
        return 0;
    return j + 1 - i;
}

/* The broken spacing "Japan ‘s" / "don ‘t" after a word ending at i: one or
 * two spaces, an apostrophe, a contraction suffix, no word character. Sets
 * *suffix (NULL for a dropped possessive) and returns the bytes used, or 0. */
/* Can byte b start an apostrophe (' U+2018 U+2019 U+02BC)? */
static inline int apos_lead(unsigned b)
{
    return b == '\'' || b == 0xE2 || b == 0xCA;
}

static size_t broken_apostrophe(usj_analyzer *a, const unsigned char *p,
                                size_t len, size_t i, const char **suffix)
{
    static const char *const sufs[] = {"t", "re", "ve", "ll", "d", "m"};
    cpinfo c;
    size_t j = i;
    int spaces = 0;
    while (spaces < 2 && j < len && (p[j] == ' ' || p[j] == '\t')) {
        j++;
        spaces++;
    }
    if (spaces == 0 || j >= len ||
        (p[j] != '\'' && p[j] != 0xE2 && p[j] != 0xCA) ||
        class_at(a, p, len, j, &c) != K_APOS)
        return 0;
    j += c.len;
    size_t s = j;
    while (j < len && j - s < 3 && ascii_class[p[j] & 0x7F] == K_ALPHA &&
           p[j] < 0x80)
        j++;
    size_t n = j - s;
    if (n == 0 || is_wordk(class_at(a, p, len, j, &c)))
        return 0;
    char low[3];
    for (size_t k = 0; k < n; k++)
        low[k] = (char)(p[s + k] | 0x20);
    if (n == 1 && low[0] == 's') {
        *suffix = NULL;
        return j - i;
    }
    for (size_t k = 0; k < sizeof sufs / sizeof sufs[0]; k++) {
        if (strlen(sufs[k]) == n && memcmp(sufs[k], low, n) == 0) {
            *suffix = sufs[k];
            return j - i;
        }
    }
    return 0;
}

/* Acronym at i (a letter): L . L (. L)* with single letters. Returns the
 * end of the acronym (after the last dot, if any) or 0; fills w. */
static size_t acronym(usj_analyzer *a, const unsigned char *p, size_t len,
                      size_t i, wordbuf *w)
{
    cpinfo c, d;
    size_t j = i, last = 0;
    int n = 0;
    word_init(w);
    for (;;) {
        if (class_at(a, p, len, j, &c) != K_ALPHA)
            break;
        /* append before looking further: peeking the next code point may
         * evict c's folding from the code point cache */
        size_t nl = w->nl;
        put_cp(w, &c);
        size_t k = j + c.len;
        unsigned nk = class_at(a, p, len, k, &d);
        if (is_wordk(nk)) {           /* not a single letter: take it back */
            memset(w->nb + nl, 0, w->nl - nl);
            w->nl = nl;
            break;
        }
        n++;
        if (nk == K_DOT) {
            j = k + 1;
            last = j;
            continue;
        }
        last = k;
        break;
    }
    /* a lone first letter followed by a word ("A.Smith") is n == 1 */
    return n >= 2 ? last : 0;
}

/* Scan one word starting at i (class ALPHA or DIGIT); emits its token and
 * returns the index after it, or 0 on error (rc set). */
static size_t scan_word(usj_analyzer *a, const unsigned char *p, size_t len,
                        size_t i, int *rc)
{
    wordbuf w;
    cpinfo c;
    size_t start = i;

    /* acronym: a single letter followed by a dot (then another letter) */
    size_t l0 = 1;
    if (p[i] >= 0x80) {
        peek(a, p, len, i, &c);
        l0 = c.len;
    }
    if (i + l0 + 1 < len && p[i + l0] == '.' &&
        (p[i] >= 0x80 || fold_ascii[p[i]] >= 'a')) {
        size_t e = acronym(a, p, len, i, &w);
        if (e) {
            size_t tok_end = e;
            e += possessive_at(a, p, len, e);
            if ((*rc = emit(a, &w, start, tok_end, USJ_TOK_ACRONYM)))
                return 0;
            return e;
        }
    }

    word_init(&w);
    int digits_only = 1, decimal = 0, ncommas = 0;
    size_t group = 0;            /* digits since the start or last comma */
    size_t tok_end;
    int possessive = 0;
    for (;;) {
        /* a run of word characters: ASCII fast path, then Unicode */
        for (;;) {
            size_t rs = i, nl = w.nl;
            const size_t lim = w.lim;
            unsigned acc = 0;
            while (i < len) {
                unsigned v = fold_ascii[p[i]];
                if (!v)
                    break;
                acc |= v;
                if (nl < lim)
                    w.nb[nl++] = (char)v;
                i++;
            }
            w.nl = nl;
            if (acc & 0x40)              /* a letter (digits lack 0x40) */
                digits_only = 0;
            group += i - rs;
            if (i >= len || p[i] < 0x80)
                break;
            peek(a, p, len, i, &c);
            if (!is_wordk(c.k))
                break;
            digits_only = 0;
            put_bytes(&w, c.fold, c.nfold);
            i += c.len;
        }
        tok_end = i;
        if (i >= len)
            break;
        unsigned b = p[i];
        if (b == '\'' || b == 0xE2 || b == 0xCA) {
            cpinfo d;
            if (class_at(a, p, len, i, &c) != K_APOS ||
                !is_wordk(class_at(a, p, len, i + c.len, &d)))
                break;
            size_t ps = possessive_at(a, p, len, i);
            if (ps) {
                i += ps;
                possessive = 1;
                break;
            }
            i += c.len;                 /* contraction: join */
            digits_only = 0;
            continue;
        }
        if (b == '.' && digits_only && !decimal && i + 1 < len &&
            isdig(p[i + 1])) {
            put_ascii(&w, '.');
            decimal = 1;
            i++;
            continue;
        }
        if (b == ',' && digits_only && !decimal && group >= 1 &&
            (ncommas ? group == 3 : group <= 3) && i + 3 < len &&
            isdig(p[i + 1]) && isdig(p[i + 2]) && isdig(p[i + 3]) &&
            (i + 4 >= len || !isdig(p[i + 4]))) {
            i++;
            ncommas++;
            group = 0;
            continue;
        }
        break;
    }
    /* a broken apostrophe needs one or two spaces and then an apostrophe's
     * first byte: most words end in one space and a letter, tested here
     * without the call */
    if (!possessive && !digits_only && i + 1 < len &&
        (p[i] == ' ' || p[i] == '\t') &&
        (apos_lead(p[i + 1]) ||
         ((p[i + 1] == ' ' || p[i + 1] == '\t') && i + 2 < len && apos_lead(p[i + 2])))) {
        const char *suf;
        size_t n = broken_apostrophe(a, p, len, i, &suf);
        if (n) {
            i += n;
            if (suf) {
                put_bytes(&w, suf, strlen(suf));
                tok_end = i;
            }
        }
    }
    if ((*rc = emit(a, &w, start, tok_end,
                    digits_only ? USJ_TOK_NUMERAL : 0)))
        return 0;
    return i;
}

/* ------------------------------------------------------------ public */

int usj_analyzer_new(usj_analyzer **out, unsigned flags)
{
    usj_analyzer *a = calloc(1, sizeof *a);
    if (!a)
        return usj_error_set(USJ_ENOMEM, "analyze: out of memory");
    a->flags = flags;
    int rc = usj_stemmer_new(&a->stem);
    if (rc) {
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void usj_analyzer_free(usj_analyzer *a)
{
    if (!a)
        return;
    usj_stemmer_free(a->stem);
    free(a->toks);
    free(a->offs);
    free(a->arena);
    free(a->nums.v);
    free(a);
}

int usj_analyze(usj_analyzer *a, const char *text, size_t len,
                const usj_analysis **out)
{
    if (len > USJ_MAX_PARA_BYTES)
        return usj_error_set(USJ_ELIMIT,
                             "analyze: text of %zu bytes exceeds the %u byte "
                             "paragraph limit", len, USJ_MAX_PARA_BYTES);
    assert(a && out && (text || len == 0));
    const unsigned char *p = (const unsigned char *)text;
    a->ntoks = 0;
    a->alen = 0;
    a->nums.n = 0;
    a->ninvalid = 0;
    size_t i = 0;
    int rc = 0;
    cpinfo c;
    while (i < len) {
        unsigned b = p[i];
        if (b < 0x80) {
            if (!fold_ascii[b]) {
                i++;
                continue;
            }
        } else {
            peek(a, p, len, i, &c);
            unsigned k = c.k;
            if (k == K_IDEO) {
                wordbuf w;
                word_init(&w);
                put_bytes(&w, c.fold, c.nfold);
                if ((rc = emit(a, &w, i, i + c.len, 0)))
                    return rc;
                i += c.len;
                continue;
            }
            if (k != K_ALPHA) {
                if (k == K_INVALID)
                    a->ninvalid++;
                i += c.len;
                continue;
            }
        }
        size_t e = scan_word(a, p, len, i, &rc);
        if (rc)
            return rc;
        i = e;
    }
    for (size_t t = 0; t < a->ntoks; t++) {
        a->toks[t].norm = a->arena + a->offs[t].norm;
        a->toks[t].term = a->arena + a->offs[t].term;
    }
    if (!(a->flags & USJ_ANALYZE_NONUMBERS)) {
        rc = usj_numbers_extract(text, len, a->toks, a->ntoks, &a->nums);
        if (rc)
            return rc;
    }
    a->res.tokens = a->toks;
    a->res.ntokens = a->ntoks;
    a->res.numbers = a->nums.v;
    a->res.nnumbers = a->nums.n;
    a->res.ninvalid = a->ninvalid;
    *out = &a->res;
    return 0;
}

const char *usj_analyzer_stem(usj_analyzer *a, const char *word, size_t len,
                              size_t *out_len)
{
    if (is_numeral(word, len)) {
        *out_len = len;
        return word;
    }
    return usj_stemmer_stem(a->stem, word, len, 0, out_len, NULL);
}
