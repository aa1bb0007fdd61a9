/* lib/query_parse.c — the query language: text -> normalized qnode tree
 * (lib/query_int.h), usj_query_parse / usj_query_free / usj_query_dump.
 *
 * Grammar (docs/QUERY.md), lowest precedence first:
 *   query   := and
 *   and     := or ( ["AND"] or )*          juxtaposition means AND
 *   or      := unary ( ("OR" | "|") unary )*
 *   unary   := ("-" | "NOT") unary | primary
 *   primary := "(" and ")" | '"' phrase '"' | field ":" value | range | word
 * so `a b OR c` is a AND (b OR c). Recursion is bounded: every "(" and every
 * NOT adds one level, and more than USJ_MAX_QUERY_DEPTH levels is USJ_ELIMIT.
 * Every error is reported once, with the 1-based byte column where it was
 * found (usj_error_set_at). */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "query_int.h"
#include "usj/error.h"

typedef struct parser {
    const char   *s;
    size_t        len;
    size_t        i;        /* cursor */
    usj_analyzer *an;
    uint32_t      nleaves;
} parser;

/* ------------------------------------------------------------ nodes */

static void node_free(qnode *n)
{
    if (!n)
        return;
    for (uint32_t i = 0; i < n->nterms; i++)
        free(n->terms[i]);
    free(n->terms);
    free(n->relpos);
    free(n->text);
    free(n->text2);
    for (uint32_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n);
}

static qnode *node_new(int kind, size_t at)
{
    qnode *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->column = (uint32_t)at + 1;
    }
    return n;
}

static int nomem(void) { return usj_error_set(USJ_ENOMEM, "out of memory"); }

static int kid_add(qnode *n, qnode *k)
{
    qnode **nk = realloc(n->kids, (n->nkids + 1) * sizeof *nk);
    if (!nk)
        return nomem();
    n->kids = nk;
    n->kids[n->nkids++] = k;
    return 0;
}

static int leaf_count(parser *P, size_t at)
{
    if (++P->nleaves > USJ_MAX_QUERY_CLAUSES)
        return usj_error_set_at(USJ_ELIMIT, (int)at + 1,
                                "too many clauses (at most %u)",
                                USJ_MAX_QUERY_CLAUSES);
    return 0;
}

/* --------------------------------------------------------- lexing */

enum { T_END, T_LP, T_RP, T_OR, T_AND, T_NOT, T_QUOTE, T_WORD };

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* Length of a double quote at s[i]: '"' or a curly U+201C / U+201D (as
 * copied from typeset text), else 0. */
static size_t quote_at(const char *s, size_t len, size_t i)
{
    if (s[i] == '"')
        return 1;
    if (i + 2 < len && (unsigned char)s[i] == 0xE2 &&
        (unsigned char)s[i + 1] == 0x80 &&
        ((unsigned char)s[i + 2] == 0x9C || (unsigned char)s[i + 2] == 0x9D))
        return 3;
    return 0;
}

static int is_wordstop(const char *s, size_t len, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    return is_space(c) || c == '(' || c == ')' || c == '|' ||
           quote_at(s, len, i);
}

static void skip_space(parser *P)
{
    while (P->i < P->len && is_space((unsigned char)P->s[P->i]))
        P->i++;
}

/* Peek the next token: its kind, start and end (without consuming). */
static int peek(parser *P, size_t *start, size_t *end)
{
    skip_space(P);
    size_t i = P->i;
    *start = i;
    *end = i;
    if (i >= P->len)
        return T_END;
    unsigned char c = (unsigned char)P->s[i];
    *end = i + 1;
    switch (c) {
    case '(': return T_LP;
    case ')': return T_RP;
    case '|': return T_OR;
    case '"': return T_QUOTE;
    case 0xE2:
        if (quote_at(P->s, P->len, i)) {
            *end = i + 3;
            return T_QUOTE;
        }
        break;
    case '-':
        return T_NOT;
    default:
        break;
    }
    size_t j = i;
    while (j < P->len && !is_wordstop(P->s, P->len, j))
        j++;
    *end = j;
    if (j - i == 2 && memcmp(P->s + i, "OR", 2) == 0) return T_OR;
    if (j - i == 3 && memcmp(P->s + i, "AND", 3) == 0) return T_AND;
    if (j - i == 3 && memcmp(P->s + i, "NOT", 3) == 0) return T_NOT;
    return T_WORD;
}

/* ------------------------------------------------------ analysis */

/* Analyze s[0..n) into a TERM or PHRASE (or TITLE when kind says so). */
static int analyze_words(parser *P, const char *s, size_t n, size_t at,
                         int kind, qnode **out)
{
    const usj_analysis *an;
    int rc = usj_analyze(P->an, s, n, &an);
    if (rc == USJ_ELIMIT)
        return usj_error_set_at(USJ_ELIMIT, (int)at + 1, "text too long");
    if (rc)
        return rc;
    if (an->ntokens == 0)
        return usj_error_set_at(USJ_EPARSE, (int)at + 1,
                                "nothing to search for in '%.*s' (no letters "
                                "or digits)", (int)(n > 40 ? 40 : n), s);
    if (an->ntokens > USJ_MAX_QUERY_CLAUSES)
        return usj_error_set_at(USJ_ELIMIT, (int)at + 1,
                                "phrase too long (at most %u words)",
                                USJ_MAX_QUERY_CLAUSES);
    if ((rc = leaf_count(P, at)))
        return rc;
    if (kind != QN_TITLE)
        kind = an->ntokens == 1 ? QN_TERM : QN_PHRASE;
    qnode *q = node_new(kind, at);
    if (!q)
        return nomem();
    q->terms = calloc(an->ntokens, sizeof *q->terms);
    q->relpos = calloc(an->ntokens, sizeof *q->relpos);
    if (!q->terms || !q->relpos) {
        node_free(q);
        return nomem();
    }
    for (size_t k = 0; k < an->ntokens; k++) {
        const usj_token *t = &an->tokens[k];
        q->terms[k] = strndup(t->term, t->term_len);
        q->relpos[k] = t->pos - an->tokens[0].pos;
        q->nterms++;
        if (!q->terms[k]) {
            node_free(q);
            return nomem();
        }
    }
    *out = q;
    return 0;
}

/* ----------------------------------------------------- numbers */

int64_t usj_query_scale(double value)
{
    return (int64_t)llround(value * USJ_NUM_SCALE);
}

enum { U_NONE = 0, U_MONEY = 1, U_PERCENT = 2 };

static int ci_eq(const char *a, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (tolower((unsigned char)a[k]) != lit[k])
            return 0;
    return 1;
}

/* One amount: [$] digits[,digits][.digits][e[+-]digits] [suffix] [%]. */
static int parse_amount(const char *s, size_t n, size_t at, double *val,
                        int *unit)
{
    size_t i = 0;
    *unit = U_NONE;
    if (i < n && s[i] == '$') {
        *unit = U_MONEY;
        i++;
    }
    char num[128];
    size_t k = 0, digits = 0;
    int dot = 0;
    while (i < n) {
        char c = s[i];
        if (isdigit((unsigned char)c)) {
            digits++;
        } else if (c == ',' && digits > 0 && !dot && i + 1 < n &&
                   isdigit((unsigned char)s[i + 1])) {
            i++;
            continue;
        } else if (c == '.' && !dot && i + 1 < n &&
                   isdigit((unsigned char)s[i + 1])) {
            dot = 1;
        } else {
            break;
        }
        if (k + 1 >= sizeof num)
            return usj_error_set_at(USJ_EPARSE, (int)at + 1,
                                    "number too long");
        num[k++] = c;
        i++;
    }
    if (digits == 0)
        return usj_error_set_at(USJ_EPARSE, (int)(at + i) + 1,
                                "expected a number");
    /* exponent: e5, e+5, e-3 */
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < n && isdigit((unsigned char)s[j])) {
            while (i < j || (i < n && isdigit((unsigned char)s[i]))) {
                if (k + 1 >= sizeof num)
                    return usj_error_set_at(USJ_EPARSE, (int)at + 1,
                                            "number too long");
                num[k++] = s[i++];
            }
        }
    }
    num[k] = 0;
    double v = strtod(num, NULL);
    /* magnitude suffix */
    size_t j = i;
    while (j < n && isalpha((unsigned char)s[j]))
        j++;
    if (j > i) {
        const char *w = s + i;
        size_t wl = j - i;
        double mul = 0;
        if (ci_eq(w, wl, "k") || ci_eq(w, wl, "thousand")) mul = 1e3;
        else if (ci_eq(w, wl, "m") || ci_eq(w, wl, "mn") ||
                 ci_eq(w, wl, "million")) mul = 1e6;
        else if (ci_eq(w, wl, "b") || ci_eq(w, wl, "bn") ||
                 ci_eq(w, wl, "billion")) mul = 1e9;
        else if (ci_eq(w, wl, "t") || ci_eq(w, wl, "tn") ||
                 ci_eq(w, wl, "trillion")) mul = 1e12;
        if (mul == 0)
            return usj_error_set_at(USJ_EPARSE, (int)(at + i) + 1,
                                    "unknown number suffix '%.*s' (use k, m, "
                                    "b/bn, t/tn)", (int)(wl > 20 ? 20 : wl), w);
        v *= mul;
        i = j;
    }
    if (i < n && s[i] == '%') {
        if (*unit == U_MONEY)
            return usj_error_set_at(USJ_EPARSE, (int)(at + i) + 1,
                                    "mixed units: '$' and '%%'");
        *unit = U_PERCENT;
        i++;
    }
    if (i != n)
        return usj_error_set_at(USJ_EPARSE, (int)(at + i) + 1,
                                "unexpected '%c' in a number", s[i]);
    if (!isfinite(v) || fabs(v) * USJ_NUM_SCALE > 9.0e18)
        return usj_error_set_at(USJ_ELIMIT, (int)at + 1, "number too large");
    *val = v;
    return 0;
}

static int looks_numeric(const char *s, size_t n)
{
    return n > 0 && (isdigit((unsigned char)s[0]) || s[0] == '$' ||
                     s[0] == '<' || s[0] == '>' ||
                     (s[0] == '.' && n > 1));
}

/* A range or a single amount; forced: a usj_numtype or -1. */
static int parse_range(parser *P, const char *s, size_t n, size_t at,
                       int forced, int single_ok, qnode **out)
{
    double a = 0, b = 0;
    int ua = U_NONE, ub = U_NONE, rc;
    int has_a = 0, has_b = 0;
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    size_t bat = at;
    const char *dots = NULL;
    for (size_t k = 0; k + 1 < n; k++)
        if (s[k] == '.' && s[k + 1] == '.') {
            dots = s + k;
            break;
        }
    if (n > 0 && (s[0] == '<' || s[0] == '>')) {
        int gt = s[0] == '>';
        size_t skip = (n > 1 && s[1] == '=') ? 2 : 1;
        if (dots)
            return usj_error_set_at(USJ_EPARSE, (int)(at + (size_t)(dots - s)) + 1,
                                    "'..' cannot follow '%c'", s[0]);
        if ((rc = parse_amount(s + skip, n - skip, at + skip, &a, &ua)))
            return rc;
        int64_t v = usj_query_scale(a);
        if (gt)
            lo = skip == 2 ? v : v + 1;
        else
            hi = skip == 2 ? v : v - 1;
    } else if (dots) {
        size_t la = (size_t)(dots - s);
        if (la > 0) {
            if ((rc = parse_amount(s, la, at, &a, &ua)))
                return rc;
            has_a = 1;
        }
        bat = at + la + 2;
        if (la + 2 < n) {
            if ((rc = parse_amount(dots + 2, n - la - 2, bat, &b, &ub)))
                return rc;
            has_b = 1;
        }
        if (!has_a && !has_b)
            return usj_error_set_at(USJ_EPARSE, (int)at + 1,
                                    "a range needs at least one bound");
        if (has_a && has_b && ua != ub && ua != U_NONE && ub != U_NONE)
            return usj_error_set_at(USJ_EPARSE, (int)bat + 1,
                                    "mixed units in a range ('%s' and '%s')",
                                    ua == U_MONEY ? "$" : "%",
                                    ub == U_MONEY ? "$" : "%");
        if (ua == U_NONE)
            ua = ub;
        if (has_a)
            lo = usj_query_scale(a);
        if (has_b)
            hi = usj_query_scale(b);
        if (lo > hi)
            return usj_error_set_at(USJ_EPARSE, (int)at + 1,
                                    "empty range: the lower bound '%.*s' is "
                                    "above the upper bound '%.*s'", (int)la, s,
                                    (int)(n - la - 2), dots + 2);
    } else {
        if (!single_ok)
            return usj_error_set_at(USJ_EPARSE, (int)at + 1, "not a range");
        if ((rc = parse_amount(s, n, at, &a, &ua)))
            return rc;
        lo = hi = usj_query_scale(a);
    }
    unsigned mask;
    if (forced >= 0) {
        if ((ua == U_MONEY && forced != USJ_NUM_MONEY) ||
            (ua == U_PERCENT && forced != USJ_NUM_PERCENT))
            return usj_error_set_at(USJ_EPARSE, (int)at + 1,
                                    "mixed units: '%s' in a %s range",
                                    ua == U_MONEY ? "$" : "%",
                                    usj_numtype_name((usj_numtype)forced));
        mask = 1u << forced;
    } else if (ua == U_MONEY) {
        mask = 1u << USJ_NUM_MONEY;
    } else if (ua == U_PERCENT) {
        mask = 1u << USJ_NUM_PERCENT;
    } else {
        mask = (1u << USJ_NUM_COUNT) | (1u << USJ_NUM_YEAR);
    }
    if ((rc = leaf_count(P, at)))
        return rc;
    qnode *q = node_new(QN_RANGE, at);
    if (!q)
        return nomem();
    q->typemask = mask;
    q->lo = lo;
    q->hi = hi;
    *out = q;
    return 0;
}

/* ------------------------------------------------------- words */

static int read_quoted(parser *P, size_t q, size_t *cs, size_t *ce)
{
    /* a quote at s[q]; the content runs to the next quote of either kind */
    size_t open = quote_at(P->s, P->len, q), k, ql = 0;
    for (k = q + open; k < P->len; k++)
        if ((ql = quote_at(P->s, P->len, k)) != 0)
            break;
    if (k >= P->len)
        return usj_error_set_at(USJ_EPARSE, (int)q + 1,
                                "unterminated quote: missing closing '\"'");
    *cs = q + open;
    *ce = k;
    P->i = k + ql;
    return 0;
}

static int parse_word(parser *P, size_t ws, size_t we, qnode **out)
{
    const char *w = P->s + ws;
    size_t n = we - ws;
    int rc;
    P->i = we;
    const char *colon = memchr(w, ':', n);
    if (colon && colon > w) {
        size_t nl = (size_t)(colon - w);
        const char *v = colon + 1;
        size_t vl = n - nl - 1, vat = ws + nl + 1;
        int alpha = 1;
        for (size_t k = 0; k < nl; k++)
            if (!isalpha((unsigned char)w[k]))
                alpha = 0;
        int field = ci_eq(w, nl, "file") ? QN_FILE
                  : ci_eq(w, nl, "title") ? QN_TITLE : -1;
        if (field >= 0) {
            if (vl == 0 && we < P->len && quote_at(P->s, P->len, we)) {
                size_t cs, ce;
                if ((rc = read_quoted(P, we, &cs, &ce)))
                    return rc;
                v = P->s + cs;
                vl = ce - cs;
                vat = cs;
            }
            if (vl == 0)
                return usj_error_set_at(USJ_EPARSE, (int)(ws + nl) + 1,
                                        "'%.*s:' needs a value", (int)nl, w);
            if (field == QN_TITLE)
                return analyze_words(P, v, vl, ws, QN_TITLE, out);
            if ((rc = leaf_count(P, ws)))
                return rc;
            qnode *q = node_new(QN_FILE, ws);
            if (!q || !(q->text = strndup(v, vl))) {
                node_free(q);
                return nomem();
            }
            *out = q;
            return 0;
        }
        int t = alpha ? usj_numtype_parse(w, nl) : -1;
        if (t >= 0) {
            if (vl == 0)
                return usj_error_set_at(USJ_EPARSE, (int)(ws + nl) + 1,
                                        "'%.*s:' needs a number or a range",
                                        (int)nl, w);
            return parse_range(P, v, vl, vat, t, 1, out);
        }
        if (alpha && looks_numeric(v, vl))
            return usj_error_set_at(USJ_EPARSE, (int)ws + 1,
                                    "unknown type '%.*s' (use year, money, "
                                    "percent or count)", (int)nl, w);
    }
    /* ranges and amounts */
    if (n > 0 && (w[0] == '<' || w[0] == '>'))
        return parse_range(P, w, n, ws, -1, 0, out);
    if (looks_numeric(w, n) && (memmem(w, n, "..", 2) != NULL))
        return parse_range(P, w, n, ws, -1, 0, out);
    if (n > 2 && w[0] == '.' && w[1] == '.')
        return parse_range(P, w, n, ws, -1, 0, out);
    if (n > 1 && (w[0] == '$' || w[n - 1] == '%') && looks_numeric(w, n) &&
        isdigit((unsigned char)w[w[0] == '$' ? 1 : 0]))
        return parse_range(P, w, n, ws, -1, 1, out);
    /* prefix */
    if (n > 1 && w[n - 1] == '*') {
        size_t m = n;
        while (m > 0 && w[m - 1] == '*')
            m--;
        if (m == 0)
            return usj_error_set_at(USJ_EPARSE, (int)ws + 1,
                                    "'*' needs a word before it");
        const usj_analysis *an;
        if ((rc = usj_analyze(P->an, w, m, &an)))
            return rc;
        if (an->ntokens != 1)
            return usj_error_set_at(USJ_EPARSE, (int)ws + 1,
                                    "a prefix must be one word ('%.*s' is %zu)",
                                    (int)m, w, an->ntokens);
        if ((rc = leaf_count(P, ws)))
            return rc;
        qnode *q = node_new(QN_PREFIX, ws);
        if (!q || !(q->text = strndup(an->tokens[0].norm,
                                      an->tokens[0].norm_len))) {
            node_free(q);
            return nomem();
        }
        size_t sl;
        const char *st = usj_analyzer_stem(P->an, q->text,
                                           an->tokens[0].norm_len, &sl);
        if (st && sl > 0 && (sl != an->tokens[0].norm_len ||
                             memcmp(st, q->text, sl) != 0)) {
            if (!(q->text2 = strndup(st, sl))) {
                node_free(q);
                return nomem();
            }
        }
        *out = q;
        return 0;
    }
    if (n == 1 && w[0] == '*')
        return usj_error_set_at(USJ_EPARSE, (int)ws + 1,
                                "'*' needs a word before it");
    return analyze_words(P, w, n, ws, QN_TERM, out);
}

/* ------------------------------------------------------- grammar */

static int parse_and(parser *P, unsigned depth, size_t open, qnode **out);

static int depth_check(unsigned depth, size_t at)
{
    if (depth > USJ_MAX_QUERY_DEPTH)
        return usj_error_set_at(USJ_ELIMIT, (int)at + 1,
                                "query nested too deeply (at most %u levels)",
                                USJ_MAX_QUERY_DEPTH);
    return 0;
}

static int parse_unary(parser *P, unsigned depth, qnode **out);

static int parse_primary(parser *P, unsigned depth, qnode **out)
{
    size_t s, e;
    int t = peek(P, &s, &e), rc;
    switch (t) {
    case T_LP: {
        if ((rc = depth_check(depth + 1, s)))
            return rc;
        P->i = e;
        qnode *in = NULL;
        if ((rc = parse_and(P, depth + 1, s, &in)))
            return rc;
        size_t s2, e2;
        if (peek(P, &s2, &e2) != T_RP) {
            node_free(in);
            return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                    "unbalanced parentheses: this '(' is "
                                    "never closed");
        }
        P->i = e2;
        if (!in)
            return usj_error_set_at(USJ_EPARSE, (int)s + 1, "empty group '()'");
        *out = in;
        return 0;
    }
    case T_QUOTE: {
        size_t cs, ce;
        if ((rc = read_quoted(P, s, &cs, &ce)))
            return rc;
        if (ce == cs)
            return usj_error_set_at(USJ_EPARSE, (int)s + 1, "empty phrase");
        return analyze_words(P, P->s + cs, ce - cs, s, QN_PHRASE, out);
    }
    case T_WORD:
        return parse_word(P, s, e, out);
    case T_RP:
        return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                "unbalanced parentheses: ')' without '('");
    case T_OR:
        return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                "'%.*s' needs a clause before it", (int)(e - s),
                                P->s + s);
    case T_AND:
        return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                "'AND' needs a clause before it");
    case T_END:
    default:
        return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                "unexpected end of query");
    }
}

static int parse_unary(parser *P, unsigned depth, qnode **out)
{
    size_t s, e;
    int t = peek(P, &s, &e), rc;
    if (t != T_NOT)
        return parse_primary(P, depth, out);
    if ((rc = depth_check(depth + 1, s)))
        return rc;
    P->i = e;
    if (P->s[s] == '-' && (e >= P->len || is_space((unsigned char)P->s[e])))
        return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                "'-' must be written right before the clause "
                                "it excludes ('-word')");
    size_t s2, e2;
    int t2 = peek(P, &s2, &e2);
    if (t2 == T_END || t2 == T_RP || t2 == T_OR || t2 == T_AND)
        return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                "'%.*s' needs a clause after it", (int)(e - s),
                                P->s + s);
    qnode *k = NULL;
    if ((rc = parse_unary(P, depth + 1, &k)))
        return rc;
    if (k->kind == QN_NOT) {          /* NOT NOT x == x */
        qnode *x = k->kids[0];
        k->nkids = 0;
        node_free(k);
        *out = x;
        return 0;
    }
    qnode *n = node_new(QN_NOT, s);
    if (!n || kid_add(n, k)) {
        node_free(n);
        node_free(k);
        return nomem();
    }
    *out = n;
    return 0;
}

static int parse_or(parser *P, unsigned depth, qnode **out)
{
    qnode *first = NULL, *n = NULL;
    int rc;
    if ((rc = parse_unary(P, depth, &first)))
        return rc;
    for (;;) {
        size_t s, e;
        if (peek(P, &s, &e) != T_OR)
            break;
        P->i = e;
        size_t s2, e2;
        int t2 = peek(P, &s2, &e2);
        if (t2 == T_END || t2 == T_RP || t2 == T_OR || t2 == T_AND) {
            rc = usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                  "'%.*s' needs a clause after it",
                                  (int)(e - s), P->s + s);
            goto fail;
        }
        qnode *k = NULL;
        if ((rc = parse_unary(P, depth, &k)))
            goto fail;
        if (!n) {
            if (!(n = node_new(QN_OR, first->column - 1)) ||
                (rc = kid_add(n, first))) {
                rc = nomem();
                node_free(k);
                goto fail;
            }
            first = NULL;
        }
        if ((rc = kid_add(n, k))) {
            node_free(k);
            goto fail;
        }
    }
    if (!n) {
        *out = first;
        return 0;
    }
    /* flatten nested ORs; NOT cannot be an OR operand */
    for (uint32_t i = 0; i < n->nkids; i++) {
        qnode *k = n->kids[i];
        if (k->kind == QN_NOT || (k->kind == QN_AND && k->nkids > 0 &&
                                  k->kids[0]->kind == QN_NOT)) {
            rc = usj_error_set_at(USJ_EPARSE, (int)k->column,
                                  "an excluded clause cannot be an OR "
                                  "operand (write 'a -b' or '-(a OR b)')");
            goto fail;
        }
        if (k->kind == QN_OR) {
            size_t nn = (size_t)n->nkids - 1 + k->nkids;
            qnode **nk = realloc(n->kids, nn * sizeof *nk);
            if (!nk) {
                rc = nomem();
                goto fail;
            }
            n->kids = nk;
            memmove(nk + i + k->nkids, nk + i + 1,
                    (n->nkids - i - 1) * sizeof *nk);
            memcpy(nk + i, k->kids, k->nkids * sizeof *nk);
            n->nkids = (uint32_t)nn;
            k->nkids = 0;
            node_free(k);
            i--;
        }
    }
    *out = n;
    return 0;
fail:
    node_free(first);
    node_free(n);
    return rc;
}

/* Sequence of clauses until ')' or the end; *out NULL when empty. */
static int parse_and(parser *P, unsigned depth, size_t open, qnode **out)
{
    qnode *n = NULL;
    int rc;
    (void)open;
    *out = NULL;
    for (;;) {
        size_t s, e;
        int t = peek(P, &s, &e);
        if (t == T_END || t == T_RP)
            break;
        if (t == T_AND) {
            size_t s2, e2;
            P->i = e;
            int t2 = peek(P, &s2, &e2);
            if (!n || t2 == T_END || t2 == T_RP || t2 == T_OR || t2 == T_AND) {
                rc = usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                      n ? "'AND' needs a clause after it"
                                        : "'AND' needs a clause before it");
                goto fail;
            }
            continue;
        }
        qnode *k = NULL;
        if ((rc = parse_or(P, depth, &k)))
            goto fail;
        if (!n && !(n = node_new(QN_AND, k->column - 1))) {
            node_free(k);
            rc = nomem();
            goto fail;
        }
        if (k->kind == QN_AND) {           /* flatten (a b) c */
            for (uint32_t i = 0; i < k->nkids; i++)
                if ((rc = kid_add(n, k->kids[i]))) {
                    /* kids before i now belong to n; free the rest */
                    for (uint32_t j = i; j < k->nkids; j++)
                        node_free(k->kids[j]);
                    k->nkids = 0;
                    node_free(k);
                    goto fail;
                }
            k->nkids = 0;
            node_free(k);
        } else if ((rc = kid_add(n, k))) {
            node_free(k);
            goto fail;
        }
    }
    if (!n)
        return 0;
    /* order: positive clauses first, exclusions last; at least one positive */
    uint32_t npos = 0;
    qnode **tmp = malloc(n->nkids * sizeof *tmp);
    if (!tmp) {
        rc = nomem();
        goto fail;
    }
    for (uint32_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->kind != QN_NOT)
            tmp[npos++] = n->kids[i];
    uint32_t j = npos;
    for (uint32_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->kind == QN_NOT)
            tmp[j++] = n->kids[i];
    memcpy(n->kids, tmp, n->nkids * sizeof *tmp);
    free(tmp);
    if (npos == 0) {
        if (depth == 0) {
            rc = usj_error_set_at(USJ_EPARSE, (int)n->kids[0]->column,
                                  "the query has only excluded clauses; add "
                                  "at least one word to search for");
            goto fail;
        }
        /* a group of exclusions only: kept as an AND of exclusions, which
         * the enclosing AND merges (`a (-b -c)`); an OR rejects it and
         * check_tree() any other place */
    }
    if (n->nkids == 1 && n->kids[0]->kind != QN_NOT) {
        qnode *k = n->kids[0];
        n->nkids = 0;
        node_free(n);
        *out = k;
        return 0;
    }
    *out = n;
    return 0;
fail:
    node_free(n);
    return rc;
}

/* ------------------------------------------------------- public */

static int check_text(const char *text, size_t len)
{
    if (len > USJ_MAX_QUERY_BYTES)
        return usj_error_set_at(USJ_ELIMIT, (int)USJ_MAX_QUERY_BYTES + 1,
                                "query too long (%zu bytes; at most %u)", len,
                                USJ_MAX_QUERY_BYTES);
    const char *z = memchr(text, '\0', len);
    if (z)
        return usj_error_set_at(USJ_EPARSE, (int)(z - text) + 1,
                                "NUL byte in the query");
    size_t bad;
    if (!usj_utf8_valid(text, len, &bad))
        return usj_error_set_at(USJ_EPARSE, (int)bad + 1,
                                "invalid UTF-8 in the query");
    return 0;
}

/* Excluded clauses nested in an AND group that is itself under an AND are
 * already merged by flattening; a group that is only exclusions under an
 * AND was kept as AND(NOT x): flattening moved the NOT up. Check that no
 * AND is left without a positive kid. */
static int check_tree(const qnode *n)
{
    if (n->kind == QN_AND) {
        if (n->nkids == 0 || n->kids[0]->kind == QN_NOT)
            return usj_error_set_at(USJ_EPARSE, (int)n->column,
                                    "a group with only excluded clauses "
                                    "matches nothing here; add a word to "
                                    "search for");
    }
    if (n->kind == QN_NOT && n->kids[0]->kind == QN_AND &&
        n->kids[0]->nkids > 0 && n->kids[0]->kids[0]->kind == QN_NOT)
        return usj_error_set_at(USJ_EPARSE, (int)n->column,
                                "cannot exclude a group of only excluded "
                                "clauses");
    for (uint32_t i = 0; i < n->nkids; i++) {
        int rc = check_tree(n->kids[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int usj_query_parse(usj_query **out, const char *text, size_t len,
                    usj_analyzer *a)
{
    *out = NULL;
    if (!text || !a)
        return usj_error_set(USJ_EINVAL, "usj_query_parse: NULL argument");
    int rc = check_text(text, len);
    if (rc)
        return rc;
    parser P = {text, len, 0, a, 0};
    qnode *root = NULL;
    if ((rc = parse_and(&P, 0, 0, &root)))
        return rc;
    size_t s, e;
    int t = peek(&P, &s, &e);
    if (t == T_RP) {
        node_free(root);
        return usj_error_set_at(USJ_EPARSE, (int)s + 1,
                                "unbalanced parentheses: ')' without '('");
    }
    if (!root)
        return usj_error_set_at(USJ_EPARSE, 1, "empty query");
    if ((rc = check_tree(root))) {
        node_free(root);
        return rc;
    }
    usj_query *q = calloc(1, sizeof *q);
    if (!q) {
        node_free(root);
        return nomem();
    }
    q->root = root;
    q->nleaves = P.nleaves;
    *out = q;
    return 0;
}

void usj_query_free(usj_query *q)
{
    if (!q)
        return;
    node_free(q->root);
    free(q);
}

/* ------------------------------------------------------- dump */

static int dump_scaled(usj_buf *b, int64_t v)
{
    int64_t ip = v / USJ_NUM_SCALE, fp = v % USJ_NUM_SCALE;
    if (fp < 0)
        fp = -fp;
    if (v < 0 && ip == 0)
        return usj_buf_printf(b, "-0.%03lld", (long long)fp);
    if (fp == 0)
        return usj_buf_printf(b, "%lld", (long long)ip);
    return usj_buf_printf(b, "%lld.%03lld", (long long)ip, (long long)fp);
}

static int dump_node(const qnode *n, usj_buf *b)
{
    int rc = 0;
    switch (n->kind) {
    case QN_TERM:
        return usj_buf_puts(b, n->terms[0]);
    case QN_PHRASE:
    case QN_TITLE:
        if (n->kind == QN_TITLE)
            rc |= usj_buf_puts(b, "title:");
        rc |= usj_buf_putc(b, '"');
        for (uint32_t i = 0; i < n->nterms; i++) {
            if (i)
                rc |= usj_buf_putc(b, ' ');
            rc |= usj_buf_puts(b, n->terms[i]);
        }
        rc |= usj_buf_putc(b, '"');
        return rc;
    case QN_PREFIX:
        return usj_buf_printf(b, "%s*", n->text);
    case QN_FILE:
        return usj_buf_printf(b, "file:%s", n->text);
    case QN_RANGE: {
        int first = 1;
        for (int t = 0; t < USJ_NUM_NTYPES; t++)
            if (n->typemask & (1u << t)) {
                rc |= usj_buf_printf(b, "%s%s", first ? "" : "|",
                                     usj_numtype_name((usj_numtype)t));
                first = 0;
            }
        rc |= usj_buf_putc(b, ':');
        if (n->lo != INT64_MIN)
            rc |= dump_scaled(b, n->lo);
        rc |= usj_buf_puts(b, "..");
        if (n->hi != INT64_MAX)
            rc |= dump_scaled(b, n->hi);
        return rc;
    }
    case QN_NOT:
        rc |= usj_buf_puts(b, "NOT ");
        return rc | dump_node(n->kids[0], b);
    case QN_AND:
    case QN_OR:
        rc |= usj_buf_putc(b, '(');
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (i)
                rc |= usj_buf_puts(b, n->kind == QN_AND ? " AND " : " OR ");
            rc |= dump_node(n->kids[i], b);
        }
        return rc | usj_buf_putc(b, ')');
    default:
        return usj_error_set(USJ_EINVAL, "bad query node");
    }
}

int usj_query_dump(const usj_query *q, usj_buf *out)
{
    if (!q || !q->root)
        return usj_error_set(USJ_EINVAL, "usj_query_dump: empty query");
    int rc = dump_node(q->root, out);
    return rc ? usj_error_set(USJ_ENOMEM, "out of memory") : 0;
}

/* ------------------------------------------------------- glob */

int usj_query_glob_match(const char *glob, const char *path)
{
    if (fnmatch(glob, path, 0) == 0)
        return 1;
    if (!strchr(glob, '/')) {
        const char *base = strrchr(path, '/');
        if (base && fnmatch(glob, base + 1, 0) == 0)
            return 1;
    }
    return 0;
}
