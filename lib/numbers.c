/* lib/numbers.c — typed numbers (usj_number) found in analyzed text: money in
 * USD, percent, year and count, each with its value and the byte span of the
 * whole amount; and the number type names.
 *
 * Works on the token stream (so it agrees with what is indexed) plus the
 * original bytes around each numeral:
 *  - a number is a token starting with an ASCII digit: its leading numeral
 *    ("1000", "14.1", thousands separators already folded) and an optional
 *    attached magnitude suffix k / m / mn / b / bn / t / tn ("8bn", "3m"),
 *    accepted only for money (a bare "3m" could be metres); any other
 *    suffix ("10th", "4g") means no number;
 *  - money: '$' right before the numeral, optionally after "US" / "U.S."
 *    ("US$3m") but not after other letters ("A$5", "HK$10" are other
 *    currencies), or the token "USD" just before, or "dollar(s)" / "USD"
 *    just after the amount;
 *  - a magnitude word may follow after spaces or one hyphen: thousand,
 *    million, billion, trillion, bn, mn, tn (any case): "$1 Trillion",
 *    "1.5 million";
 *  - percent: '%' right after (spaces allowed), or "percent", or "per
 *    cent";
 *  - year: an integer 1000..2999 of exactly four digits written without
 *    separators, with no magnitude, and not money or percent;
 *  - count: every other number, scaled by its magnitude word;
 *  - ranges: in "$5-6 billion" / "5 to 6 percent" (a hyphen, en or em dash,
 *    or "to" between two numbers) the first number, when it has no
 *    magnitude and no percent sign of its own, takes the second one's
 *    magnitude, currency and percent: money 5e9 and 6e9; "$5-6" makes both
 *    money; "2025-2030" stays two years.
 * Span: from the first byte of the currency prefix (or the numeral) to the
 * last byte of the last word of the amount ("$550 billion", "8.2 percent",
 * "75%"). pos is the position of the numeral token.
 *
 * Precision: values are doubles computed from the decimal digits (exact for
 * integers below 2^53); the index stores round(value * USJ_NUM_SCALE) as
 * int64, exact to 3 decimal places. Amounts of 9e15 or more (past what
 * int64 thousandths hold) are not extracted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze_int.h"
#include "limits.h"
#include "usj/error.h"


static const char *const type_names[USJ_NUM_NTYPES] = {
    "money", "percent", "year", "count"
};

const char *usj_numtype_name(usj_numtype t)
{
    if ((unsigned)t >= USJ_NUM_NTYPES)
        return "unknown";
    return type_names[t];
}

int usj_numtype_parse(const char *name, size_t len)
{
    for (int i = 0; i < USJ_NUM_NTYPES; i++) {
        const char *t = type_names[i];
        if (strlen(t) != len)
            continue;
        size_t k = 0;
        while (k < len && (name[k] == t[k] ||
                           (name[k] >= 'A' && name[k] <= 'Z' &&
                            name[k] + 32 == t[k])))
            k++;
        if (k == len)
            return i;
    }
    return -1;
}

static inline int isdig(int c) { return c >= '0' && c <= '9'; }

/* ASCII only: the library does not depend on the locale. */
static inline int is_alnum_ascii(char c)
{
    return isdig(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

size_t usj_numeral_parse(const char *s, size_t n, double *value,
                         int *decimals)
{
    size_t i = 0;
    double v = 0;
    int dec = 0;
    while (i < n && isdig(s[i]))
        v = v * 10 + (s[i++] - '0');
    if (i == 0)
        return 0;
    if (i + 1 < n && s[i] == '.' && isdig(s[i + 1])) {
        i++;
        double frac = 0, scale = 1;
        while (i < n && isdig(s[i])) {
            if (dec < 15) {
                frac = frac * 10 + (s[i] - '0');
                scale *= 10;
                dec++;
            }
            i++;
        }
        v += frac / scale;
        /* keep the digits exact: 14.1 -> 141 / 10, not 14 + 0.1 */
        if (v < 1e15)
            v = nearbyint(v * scale) / scale;
    }
    *value = v;
    if (decimals)
        *decimals = dec;
    return i;
}

/* Multiplier of a magnitude word or suffix (lower-case input), 0 if none.
 * `attached`: a suffix glued to the digits (k, m, b, t allowed too). */
static double magnitude(const char *s, size_t n, int attached)
{
    static const struct { const char *w; double m; int any; } tab[] = {
        {"thousand", 1e3, 1}, {"million", 1e6, 1}, {"billion", 1e9, 1},
        {"trillion", 1e12, 1}, {"mn", 1e6, 1}, {"bn", 1e9, 1},
        {"tn", 1e12, 1}, {"k", 1e3, 0}, {"m", 1e6, 0}, {"b", 1e9, 0},
        {"t", 1e12, 0},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if ((tab[i].any || attached) && strlen(tab[i].w) == n &&
            memcmp(tab[i].w, s, n) == 0)
            return tab[i].m;
    return 0;
}

/* Only spaces/tabs (and at most one hyphen if `hyphen`) in text[a..b)? */
static int gap_ok(const char *text, size_t a, size_t b, int hyphen)
{
    if (b < a)
        return 0;
    int hy = 0;
    for (size_t i = a; i < b; i++) {
        if (text[i] == ' ' || text[i] == '\t')
            continue;
        if (hyphen && text[i] == '-' && !hy) {
            hy = 1;
            continue;
        }
        return 0;
    }
    return 1;
}

static int tok_is(const usj_token *t, const char *w)
{
    size_t n = strlen(w);
    return t->norm_len == n && memcmp(t->norm, w, n) == 0;
}

static int push(usj_numvec *nv, usj_numtype type, double value, size_t start,
                size_t end, uint32_t pos)
{
    if (nv->n == nv->cap) {
        size_t cap = nv->cap ? nv->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof(usj_number))
            return usj_error_set(USJ_ENOMEM, "numbers: too many numbers");
        usj_number *v = realloc(nv->v, cap * sizeof *v);
        if (!v)
            return usj_error_set(USJ_ENOMEM, "numbers: out of memory");
        nv->v = v;
        nv->cap = cap;
    }
    usj_number *x = &nv->v[nv->n++];
    x->type = type;
    x->value = value;
    x->start = (uint32_t)start;
    x->end = (uint32_t)end;
    x->pos = pos;
    return 0;
}

/* Start of a currency prefix ending right before `start` ('$', "US$",
 * "U.S.$"), or SIZE_MAX when there is none. */
static size_t money_prefix(const char *text, size_t start)
{
    if (start == 0 || text[start - 1] != '$')
        return SIZE_MAX;
    size_t s = start - 1;
    /* "US$" / "U.S.$" preceded by a non-alphanumeric byte */
    if (s >= 2 && (text[s - 1] | 0x20) == 's' && (text[s - 2] | 0x20) == 'u' &&
        (s == 2 || !is_alnum_ascii(text[s - 3])))
        return s - 2;
    if (s >= 4 && text[s - 1] == '.' && (text[s - 2] | 0x20) == 's' &&
        text[s - 3] == '.' && (text[s - 4] | 0x20) == 'u' &&
        (s == 4 || !is_alnum_ascii(text[s - 5])))
        return s - 4;
    /* another country's dollar ("A$5", "HK$10", "C$"): not USD */
    if (s >= 1 && is_alnum_ascii(text[s - 1]))
        return SIZE_MAX;
    return s;
}

/* Is text[a..b) a range connector: a hyphen or dash (- U+2013 U+2014),
 * with optional spaces around? */
static int dash_gap(const char *text, size_t a, size_t b)
{
    while (a < b && (text[a] == ' ' || text[a] == '\t'))
        a++;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t'))
        b--;
    if (b - a == 1 && text[a] == '-')
        return 1;
    return b - a == 3 && memcmp(text + a, "\xE2\x80", 2) == 0 &&
           (text[a + 2] == '\x93' || text[a + 2] == '\x94');
}

/* What the previous number was, for ranges ("$5-6 billion"). */
typedef struct prevnum {
    size_t tok;                  /* its numeral token, SIZE_MAX = none */
    int    plain;                /* no magnitude, not percent */
    int    money;
    double v;                    /* numeral value */
    int    dec;
} prevnum;

int usj_numbers_extract(const char *text, size_t len, const usj_token *toks,
                        size_t ntoks, usj_numvec *nv)
{
    nv->n = 0;
    prevnum prev = {.tok = SIZE_MAX};
    for (size_t i = 0; i < ntoks; i++) {
        const usj_token *t = &toks[i];
        if (!isdig(t->norm[0]))
            continue;
        double v;
        int dec;
        size_t used = usj_numeral_parse(t->norm, t->norm_len, &v, &dec);
        double mult = 1;
        int attached = 0;
        if (used < t->norm_len) {
            mult = magnitude(t->norm + used, t->norm_len - used, 1);
            if (mult == 0)
                continue;                 /* "10th", "4g": not a number */
            attached = 1;
        }
        size_t start = t->start, end = t->end;
        size_t j = i + 1;                 /* next unread token */
        int money = 0, percent = 0;
        size_t ms = money_prefix(text, t->start);
        if (ms != SIZE_MAX) {
            money = 1;
            start = ms;
        } else if (i > 0 && tok_is(&toks[i - 1], "usd") &&
                   gap_ok(text, toks[i - 1].end, t->start, 0)) {
            money = 1;
            start = toks[i - 1].start;
        }
        if (attached && !money)
            continue;
        if (!attached && j < ntoks &&
            gap_ok(text, t->end, toks[j].start, 1)) {
            double m = magnitude(toks[j].norm, toks[j].norm_len, 0);
            if (m != 0) {
                mult = m;
                end = toks[j].end;
                j++;
            }
        }
        if (!money) {
            size_t k = end;
            while (k < len && (text[k] == ' ' || text[k] == '\t'))
                k++;
            if (k < len && text[k] == '%') {
                percent = 1;
                end = k + 1;
            } else if (j < ntoks && tok_is(&toks[j], "percent") &&
                       gap_ok(text, end, toks[j].start, 0)) {
                percent = 1;
                end = toks[j].end;
            } else if (j + 1 < ntoks && tok_is(&toks[j], "per") &&
                       tok_is(&toks[j + 1], "cent") &&
                       gap_ok(text, end, toks[j].start, 0) &&
                       gap_ok(text, toks[j].end, toks[j + 1].start, 0)) {
                percent = 1;
                end = toks[j + 1].end;
            } else if (j < ntoks && (tok_is(&toks[j], "dollars") ||
                                     tok_is(&toks[j], "dollar") ||
                                     tok_is(&toks[j], "usd")) &&
                       gap_ok(text, end, toks[j].start, 0)) {
                money = 1;
                end = toks[j].end;
            }
        }
        double value = v * mult;
        if (mult != 1 && dec > 0) {
            /* 14.1 * 1e9: multiply the digits, then divide, to stay exact */
            double scale = pow(10, dec);
            value = nearbyint(v * scale) * mult / scale;
        }
        if (!(value < USJ_NUM_MAX))
            continue;
        usj_numtype type;
        if (money)
            type = USJ_NUM_MONEY;
        else if (percent)
            type = USJ_NUM_PERCENT;
        else if (mult == 1 && dec == 0 && t->norm_len == 4 &&
                 t->end - t->start == 4 && v >= 1000 && v <= 2999)
            type = USJ_NUM_YEAR;
        else
            type = USJ_NUM_COUNT;
        /* a range "$5-6 billion", "5 to 6 percent": the first end takes
         * the magnitude, currency and percent of the second */
        if (prev.tok != SIZE_MAX && prev.plain &&
            (mult != 1 || percent || money != prev.money) &&
            ((prev.tok + 1 == i && dash_gap(text, toks[prev.tok].end, start)) ||
             (prev.tok + 2 == i && tok_is(&toks[i - 1], "to") &&
              gap_ok(text, toks[prev.tok].end, toks[i - 1].start, 0) &&
              gap_ok(text, toks[i - 1].end, start, 0)))) {
            usj_number *a = &nv->v[nv->n - 1];
            if (prev.money && !money) {
                money = 1;
                type = USJ_NUM_MONEY;
            }
            double pv = prev.v * mult;
            if (mult != 1 && prev.dec > 0) {
                double scale = pow(10, prev.dec);
                pv = nearbyint(prev.v * scale) * mult / scale;
            }
            if (pv < USJ_NUM_MAX) {
                a->value = pv;
                a->type = money ? USJ_NUM_MONEY
                        : percent ? USJ_NUM_PERCENT : USJ_NUM_COUNT;
            }
        }
        int rc = push(nv, type, value, start, end, t->pos);
        if (rc)
            return rc;
        prev.tok = i;
        prev.plain = mult == 1 && !percent;
        prev.money = money;
        prev.v = v;
        prev.dec = dec;
    }
    return 0;
}
