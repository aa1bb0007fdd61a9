/* tests/test_query_parse.c — the query language: canonical trees of valid
 * queries (usj_query_dump), the error code and exact column of every kind of
 * malformed query, limits, and a fuzz pass that must never crash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "usj/usj.h"

static usj_analyzer *an;

static void setup(void) { cr_assert_eq(usj_analyzer_new(&an, 0), 0); }
static void teardown(void) { usj_analyzer_free(an); }

TestSuite(query_parse, .init = setup, .fini = teardown);

static void expect_dump(const char *q, const char *want)
{
    usj_query *p = NULL;
    int rc = usj_query_parse(&p, q, strlen(q), an);
    cr_assert_eq(rc, 0, "%s: %s", q, usj_error_last());
    usj_buf b = USJ_BUF_INIT;
    cr_assert_eq(usj_query_dump(p, &b), 0);
    cr_expect_str_eq(b.data, want, "query [%s]", q);
    usj_buf_free(&b);
    usj_query_free(p);
}

static void expect_err_n(const char *q, size_t len, int code, int col)
{
    usj_query *p = (usj_query *)1;
    int rc = usj_query_parse(&p, q, len, an);
    cr_expect_eq(rc, code, "query [%.60s]: rc %d (%s)", q, rc, usj_error_last());
    cr_expect_eq(usj_error_column(), col, "query [%.60s]: column %d, want %d (%s)",
                 q, usj_error_column(), col, usj_error_last());
    cr_expect_null(p);
    cr_expect_neq(usj_error_last()[0], '\0');
}

static void expect_err(const char *q, int code, int col)
{
    expect_err_n(q, strlen(q), code, col);
}

Test(query_parse, words_and_or_not)
{
    expect_dump("tariff", "tariff");
    expect_dump("Semiconductors", "semiconductor");
    expect_dump("SEMICONDUCTOR", "semiconductor");
    expect_dump("tariff steel", "(tariff AND steel)");
    expect_dump("tariff AND steel", "(tariff AND steel)");
    expect_dump("tariff steel OR aluminum", "(tariff AND (steel OR aluminum))");
    expect_dump("steel | aluminum", "(steel OR aluminum)");
    expect_dump("x | y | (z w)", "(x OR y OR (z AND w))");
    expect_dump("(a OR b) OR c", "(a OR b OR c)");
    expect_dump("a -b", "(a AND NOT b)");
    expect_dump("-b a", "(a AND NOT b)");
    expect_dump("a NOT (b OR c)", "(a AND NOT (b OR c))");
    expect_dump("a (-b -c)", "(a AND NOT b AND NOT c)");
    expect_dump("a --b", "(a AND b)");
    expect_dump("((a))", "a");
    expect_dump("a ((b c) d)", "(a AND b AND c AND d)");
    expect_dump("don't Japan's", "(dont AND japan)");
}

Test(query_parse, phrases_and_compounds)
{
    expect_dump("\"safety clauses\"", "\"safeti claus\"");
    expect_dump("\"Safety\"", "safeti");
    expect_dump("U.S.-Japan", "\"us japan\"");
    expect_dump("F-150", "\"f 150\"");
    expect_dump("most-favored-nation", "\"most favor nation\"");
    expect_dump("\"a (b) OR c\" d", "(\"a b or c\" AND d)");
    /* curly quotes, as copied from typeset text */
    expect_dump("\xe2\x80\x9csafety clauses\xe2\x80\x9d", "\"safeti claus\"");
    expect_dump("x\xe2\x80\x9csafety clause\" y", "(x AND \"safeti claus\" AND y)");
    expect_dump("title:\xe2\x80\x9ctrade deal\xe2\x80\x9d", "title:\"trade deal\"");
    expect_err("japan \xe2\x80\x9cx", USJ_EPARSE, 7);
}

Test(query_parse, prefixes)
{
    expect_dump("semicond*", "semicond*");
    expect_dump("Tariffs*", "tariffs*");
    expect_dump("U.S.*", "us*");
    expect_dump("semi** x", "(semi* AND x)");
}

Test(query_parse, ranges)
{
    expect_dump("$500b..$600b", "money:500000000000..600000000000");
    expect_dump("$1t..", "money:1000000000000..");
    expect_dump("$1tn..", "money:1000000000000..");
    expect_dump("$1trillion..", "money:1000000000000..");
    expect_dump("..$20b", "money:..20000000000");
    expect_dump("$500..600", "money:500..600");
    expect_dump("$1,000..$2k", "money:1000..2000");
    expect_dump("30%..40%", "percent:30..40");
    expect_dump("8.2%", "percent:8.200..8.200");
    expect_dump("2027..2028", "year|count:2027..2028");
    expect_dump("1m..2m", "year|count:1000000..2000000");
    expect_dump("year:2025..2027", "year:2025..2027");
    expect_dump("money:..5e9", "money:..5000000000");
    expect_dump("percent:10..", "percent:10..");
    expect_dump("count:5", "count:5..5");
    expect_dump("$550b", "money:550000000000..550000000000");
    expect_dump(">=$100b", "money:100000000000..");
    expect_dump("<5%", "percent:..4.999");
    expect_dump("<=5%", "percent:..5");
    expect_dump(">2000", "year|count:2000.001..");
    expect_dump("semiconductor $200b..$300b",
                "(semiconductor AND money:200000000000..300000000000)");
    /* a plain number is a word, not a range */
    expect_dump("232", "232");
    expect_dump("14.1", "14.1");
}

Test(query_parse, fields)
{
    expect_dump("file:004*", "file:004*");
    expect_dump("file:seeds/*.txt tariff", "(file:seeds/*.txt AND tariff)");
    expect_dump("title:Japan", "title:\"japan\"");
    expect_dump("title:\"trade deal\"", "title:\"trade deal\"");
    expect_dump("10:30", "\"10 30\"");
    expect_dump("http://example", "\"http exampl\"");
}

Test(query_parse, malformed_with_columns)
{
    expect_err("", USJ_EPARSE, 1);
    expect_err("   ", USJ_EPARSE, 1);
    expect_err("\"abc", USJ_EPARSE, 1);
    expect_err("a \"b c", USJ_EPARSE, 3);
    expect_err("a OR", USJ_EPARSE, 3);
    expect_err("a |", USJ_EPARSE, 3);
    expect_err("OR a", USJ_EPARSE, 1);
    expect_err("a OR OR b", USJ_EPARSE, 3);
    expect_err("NOT", USJ_EPARSE, 1);
    expect_err("a NOT", USJ_EPARSE, 3);
    expect_err("a AND", USJ_EPARSE, 3);
    expect_err("AND a", USJ_EPARSE, 1);
    expect_err("- a", USJ_EPARSE, 1);
    expect_err("()", USJ_EPARSE, 1);
    expect_err("a ( ) b", USJ_EPARSE, 3);
    expect_err("(a", USJ_EPARSE, 1);
    expect_err("a (b (c)", USJ_EPARSE, 3);
    expect_err("a)", USJ_EPARSE, 2);
    expect_err("a b) c", USJ_EPARSE, 4);
    expect_err("a \"\" b", USJ_EPARSE, 3);
    expect_err("$600b..$500b", USJ_EPARSE, 1);
    expect_err("x 2028..2027", USJ_EPARSE, 3);
    expect_err("foo:1..2", USJ_EPARSE, 1);
    expect_err("x $1..5%", USJ_EPARSE, 7);
    expect_err("year:$5..", USJ_EPARSE, 6);
    expect_err("$5x..", USJ_EPARSE, 3);
    expect_err("..", USJ_EPARSE, 1);
    expect_err("title:", USJ_EPARSE, 6);
    expect_err("file:", USJ_EPARSE, 5);
    expect_err("year:", USJ_EPARSE, 5);
    expect_err("*", USJ_EPARSE, 1);
    expect_err("us-japan*", USJ_EPARSE, 1);
    expect_err("&", USJ_EPARSE, 1);
    expect_err("a & b", USJ_EPARSE, 3);
}

Test(query_parse, only_negative)
{
    expect_err("-a", USJ_EPARSE, 1);
    expect_err("NOT a", USJ_EPARSE, 1);
    expect_err("-a -b", USJ_EPARSE, 1);
    expect_err("(-b)", USJ_EPARSE, 2);
    expect_err("a OR -b", USJ_EPARSE, 6);
    expect_err("a OR (-b -c)", USJ_EPARSE, 7);
}

Test(query_parse, bytes_and_limits)
{
    expect_err_n("ab\0cd", 5, USJ_EPARSE, 3);
    expect_err("ab \xff", USJ_EPARSE, 4);
    expect_err("\xc3\x28", USJ_EPARSE, 1);
    /* 100 KB: the limit is crossed at byte USJ_MAX_QUERY_BYTES + 1 */
    size_t big = 100 * 1024;
    char *q = malloc(big + 1);
    cr_assert_not_null(q);
    for (size_t i = 0; i < big; i++)
        q[i] = i % 6 == 5 ? ' ' : 'a';
    q[big] = 0;
    expect_err(q, USJ_ELIMIT, (int)USJ_MAX_QUERY_BYTES + 1);
    free(q);
    /* nesting: USJ_MAX_QUERY_DEPTH levels parse, one more does not */
    char deep[512];
    size_t d = USJ_MAX_QUERY_DEPTH, o = 0;
    for (size_t i = 0; i < d; i++) deep[o++] = '(';
    deep[o++] = 'x';
    for (size_t i = 0; i < d; i++) deep[o++] = ')';
    deep[o] = 0;
    expect_dump(deep, "x");
    o = 0;
    for (size_t i = 0; i < d + 1; i++) deep[o++] = '(';
    deep[o++] = 'x';
    for (size_t i = 0; i < d + 1; i++) deep[o++] = ')';
    deep[o] = 0;
    expect_err(deep, USJ_ELIMIT, (int)d + 1);
    /* NOT nesting counts too */
    o = 0;
    deep[o++] = 'a';
    deep[o++] = ' ';
    for (size_t i = 0; i < d + 1; i++) {
        memcpy(deep + o, "NOT ", 4);
        o += 4;
    }
    deep[o++] = 'b';
    deep[o] = 0;
    expect_err(deep, USJ_ELIMIT, 3 + 4 * (int)d);
    /* clause count */
    usj_buf b = USJ_BUF_INIT;
    for (unsigned i = 0; i <= USJ_MAX_QUERY_CLAUSES; i++)
        usj_buf_puts(&b, "w ");
    expect_err(b.data, USJ_ELIMIT, 2 * (int)USJ_MAX_QUERY_CLAUSES + 1);
    usj_buf_free(&b);
}

Test(query_parse, fuzz_never_crashes)
{
    static const char *atoms[] = {"a", "b", "tariff", "(", ")", "\"", "-",
                                  "NOT", "OR", "AND", "|", "*", "$", "..",
                                  "5", "%", "year:", "file:", "title:", ">",
                                  "<=", "$1t", "x*", "U.S.", " ", " ",
                                  "\xe2\x80\x99", "\xff", ":", "1e9"};
    const size_t natoms = sizeof atoms / sizeof *atoms;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    char q[256];
    for (int iter = 0; iter < 20000; iter++) {
        size_t o = 0;
        int n = 1 + (int)(s % 12);
        for (int k = 0; k < n; k++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            const char *a = atoms[s % natoms];
            size_t l = strlen(a);
            if (o + l >= sizeof q)
                break;
            memcpy(q + o, a, l);
            o += l;
        }
        q[o] = 0;
        usj_query *p = NULL;
        int rc = usj_query_parse(&p, q, o, an);
        if (rc == 0) {
            usj_buf b = USJ_BUF_INIT;
            cr_assert_eq(usj_query_dump(p, &b), 0);
            usj_buf_free(&b);
            usj_query_free(p);
        } else {
            cr_assert(rc == USJ_EPARSE || rc == USJ_ELIMIT, "[%s] rc %d", q, rc);
            cr_assert(usj_error_column() >= 1 &&
                      usj_error_column() <= (int)o + 1,
                      "[%s] column %d", q, usj_error_column());
            cr_assert_null(p);
        }
    }
}
