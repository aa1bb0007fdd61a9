/* tests/test_numbers.c — typed numbers from usj_analyze: money, percent,
 * year and count with exact values and byte spans (cases from the seeds),
 * magnitude words and suffixes, precision, the number type names, and the
 * trillion-dollar amounts of the seeds (what `$1t..` must find). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/seeds.h"
#include "usj/analyze.h"
#include "usj/error.h"
#include "usj/para.h"

static usj_analyzer *az;

static void setup(void) { cr_assert_eq(usj_analyzer_new(&az, 0), 0); }
static void teardown(void) { usj_analyzer_free(az); }

TestSuite(numbers, .init = setup, .fini = teardown);

static const usj_analysis *run(const char *s)
{
    const usj_analysis *r = NULL;
    cr_assert_eq(usj_analyze(az, s, strlen(s), &r), 0, "%s", usj_error_last());
    return r;
}

/* Expect number k of text: type, value, and exact span text. */
static void num(const usj_analysis *r, size_t k, const char *text,
                usj_numtype type, double value, const char *span)
{
    cr_assert(k < r->nnumbers, "number %zu missing in '%s' (have %zu)", k,
              text, r->nnumbers);
    const usj_number *x = &r->numbers[k];
    cr_assert_eq(x->type, type, "number %zu of '%s': type %s want %s", k, text,
                 usj_numtype_name(x->type), usj_numtype_name(type));
    cr_assert_eq(x->value, value, "number %zu of '%s': value %.6f want %.6f",
                 k, text, x->value, value);
    size_t n = strlen(span);
    cr_assert(x->end - x->start == n &&
              memcmp(text + x->start, span, n) == 0,
              "number %zu of '%s': span '%.*s' want '%s'", k, text,
              (int)(x->end - x->start), text + x->start, span);
    /* pos is the numeral token, inside the span */
    const usj_token *t = &r->tokens[x->pos];
    cr_assert(t->start >= x->start && t->end <= x->end);
    cr_assert(t->norm[0] >= '0' && t->norm[0] <= '9');
}

Test(numbers, money_from_the_seeds)
{
    const char *t = "Japan has committed $550 billion in investments, "
                    "approximately $14.1 billion, a $1 Trillion Investment "
                    "Plan, $8bn, US$3m and $76.4 billion; $80 Billion.";
    const usj_analysis *r = run(t);
    cr_assert_eq(r->nnumbers, 7);
    num(r, 0, t, USJ_NUM_MONEY, 550e9, "$550 billion");
    num(r, 1, t, USJ_NUM_MONEY, 14.1e9, "$14.1 billion");
    num(r, 2, t, USJ_NUM_MONEY, 1e12, "$1 Trillion");
    num(r, 3, t, USJ_NUM_MONEY, 8e9, "$8bn");
    num(r, 4, t, USJ_NUM_MONEY, 3e6, "US$3m");
    num(r, 5, t, USJ_NUM_MONEY, 76.4e9, "$76.4 billion");
    num(r, 6, t, USJ_NUM_MONEY, 80e9, "$80 Billion");
    /* the numerals stay ordinary tokens */
    cr_assert_str_eq(r->tokens[r->numbers[0].pos].term, "550");
    cr_assert_str_eq(r->tokens[r->numbers[0].pos + 1].term, "billion");
}

Test(numbers, money_forms)
{
    const char *t = "$1,000,000 $5k $2 tn $7 mn $1.5-billion deal USD 40 "
                    "million, 12 dollars, U.S.$9 and $0.25";
    const usj_analysis *r = run(t);
    cr_assert_eq(r->nnumbers, 9);
    num(r, 0, t, USJ_NUM_MONEY, 1e6, "$1,000,000");
    num(r, 1, t, USJ_NUM_MONEY, 5e3, "$5k");
    num(r, 2, t, USJ_NUM_MONEY, 2e12, "$2 tn");
    num(r, 3, t, USJ_NUM_MONEY, 7e6, "$7 mn");
    num(r, 4, t, USJ_NUM_MONEY, 1.5e9, "$1.5-billion");
    num(r, 5, t, USJ_NUM_MONEY, 40e6, "USD 40 million");
    num(r, 6, t, USJ_NUM_MONEY, 12, "12 dollars");
    num(r, 7, t, USJ_NUM_MONEY, 9, "U.S.$9");
    num(r, 8, t, USJ_NUM_MONEY, 0.25, "$0.25");
}

Test(numbers, percent)
{
    const char *t = "Japan's share rose to 75%, up 8.2 percent, or 3 per cent; "
                    "31 % of firms; 2.1% growth";
    const usj_analysis *r = run(t);
    cr_assert_eq(r->nnumbers, 5);
    num(r, 0, t, USJ_NUM_PERCENT, 75, "75%");
    num(r, 1, t, USJ_NUM_PERCENT, 8.2, "8.2 percent");
    num(r, 2, t, USJ_NUM_PERCENT, 3, "3 per cent");
    num(r, 3, t, USJ_NUM_PERCENT, 31, "31 %");
    num(r, 4, t, USJ_NUM_PERCENT, 2.1, "2.1%");
}

Test(numbers, years)
{
    const char *t = "by 2028; As of Oct. 28, 2025, the 2025-2030 plan; "
                    "1,999 people, 2028.5 units, 3000 ships, 999 days";
    const usj_analysis *r = run(t);
    cr_assert_eq(r->nnumbers, 9);
    num(r, 0, t, USJ_NUM_YEAR, 2028, "2028");
    num(r, 1, t, USJ_NUM_COUNT, 28, "28");
    num(r, 2, t, USJ_NUM_YEAR, 2025, "2025");
    num(r, 3, t, USJ_NUM_YEAR, 2025, "2025");
    num(r, 4, t, USJ_NUM_YEAR, 2030, "2030");
    num(r, 5, t, USJ_NUM_COUNT, 1999, "1,999");     /* separator: no year */
    num(r, 6, t, USJ_NUM_COUNT, 2028.5, "2028.5");
    num(r, 7, t, USJ_NUM_COUNT, 3000, "3000");
    num(r, 8, t, USJ_NUM_COUNT, 999, "999");
}

Test(numbers, counts_and_magnitudes)
{
    const char *t = "over 1.5 million new jobs, 250 cherry trees, Section 232 "
                    "tariffs, 2 thousand ships, F-150, 110 minutes";
    const usj_analysis *r = run(t);
    cr_assert_eq(r->nnumbers, 6);
    num(r, 0, t, USJ_NUM_COUNT, 1.5e6, "1.5 million");
    num(r, 1, t, USJ_NUM_COUNT, 250, "250");
    num(r, 2, t, USJ_NUM_COUNT, 232, "232");
    num(r, 3, t, USJ_NUM_COUNT, 2000, "2 thousand");
    num(r, 4, t, USJ_NUM_COUNT, 150, "150");
    num(r, 5, t, USJ_NUM_COUNT, 110, "110");
    /* "Section 232" stays a phrase of two consecutive tokens */
    uint32_t p = r->numbers[2].pos;
    cr_assert_str_eq(r->tokens[p - 1].norm, "section");
    cr_assert_str_eq(r->tokens[p].norm, "232");
}

Test(numbers, ranges_share_magnitude_currency_percent)
{
    const char *t = "costs $5-6 billion, 5 to 6 percent, $5–$6, 2025-2030, "
                    "3—4 million jobs, $1.5-2.5 trillion";
    const usj_analysis *r = run(t);
    cr_assert_eq(r->nnumbers, 12);
    num(r, 0, t, USJ_NUM_MONEY, 5e9, "$5");
    num(r, 1, t, USJ_NUM_MONEY, 6e9, "6 billion");
    num(r, 2, t, USJ_NUM_PERCENT, 5, "5");
    num(r, 3, t, USJ_NUM_PERCENT, 6, "6 percent");
    num(r, 4, t, USJ_NUM_MONEY, 5, "$5");
    num(r, 5, t, USJ_NUM_MONEY, 6, "$6");
    num(r, 6, t, USJ_NUM_YEAR, 2025, "2025");
    num(r, 7, t, USJ_NUM_YEAR, 2030, "2030");
    num(r, 8, t, USJ_NUM_COUNT, 3e6, "3");
    num(r, 9, t, USJ_NUM_COUNT, 4e6, "4 million");
    num(r, 10, t, USJ_NUM_MONEY, 1.5e12, "$1.5");
    num(r, 11, t, USJ_NUM_MONEY, 2.5e12, "2.5 trillion");
    /* not ranges: a word between, or the first has its own magnitude */
    t = "5 or 6 billion; $2 billion-3 million";
    r = run(t);
    cr_assert_eq(r->nnumbers, 4);
    num(r, 0, t, USJ_NUM_COUNT, 5, "5");
    num(r, 1, t, USJ_NUM_COUNT, 6e9, "6 billion");
    num(r, 2, t, USJ_NUM_MONEY, 2e9, "$2 billion");
    num(r, 3, t, USJ_NUM_COUNT, 3e6, "3 million");
}

Test(numbers, not_numbers)
{
    /* ordinals, units glued to digits without a currency, words */
    const usj_analysis *r = run("the 10th time, 4G and 3m of rope; five jobs");
    cr_assert_eq(r->nnumbers, 0);
    /* other dollars are not USD: counts */
    const char *t = "A$5 and HK$10 but US$7";
    r = run(t);
    cr_assert_eq(r->nnumbers, 3);
    num(r, 0, t, USJ_NUM_COUNT, 5, "5");
    num(r, 1, t, USJ_NUM_COUNT, 10, "10");
    num(r, 2, t, USJ_NUM_MONEY, 7, "US$7");
    /* too large for int64 thousandths: not extracted */
    r = run("99999999999999999999 and $9000 trillion");
    cr_assert_eq(r->nnumbers, 0);
    r = run("");
    cr_assert_eq(r->nnumbers, 0);
}

Test(numbers, precision_and_scale)
{
    const char *t = "$0.001 $123456789.125 $14.1 billion 0.1 percent";
    const usj_analysis *r = run(t);
    cr_assert_eq(r->nnumbers, 4);
    /* stored as round(value * USJ_NUM_SCALE): exact to 3 decimals */
    cr_assert_eq(llround(r->numbers[0].value * USJ_NUM_SCALE), 1);
    cr_assert_eq(llround(r->numbers[1].value * USJ_NUM_SCALE),
                 123456789125LL);
    cr_assert_eq(r->numbers[2].value, 14100000000.0);
    cr_assert_eq(llround(r->numbers[2].value * USJ_NUM_SCALE),
                 14100000000000LL);
    cr_assert_eq(llround(r->numbers[3].value * USJ_NUM_SCALE), 100);
}

Test(numbers, nonumbers_flag)
{
    usj_analyzer *a;
    cr_assert_eq(usj_analyzer_new(&a, USJ_ANALYZE_NONUMBERS), 0);
    const usj_analysis *r;
    cr_assert_eq(usj_analyze(a, "$550 billion in 2025", 20, &r), 0);
    cr_assert_eq(r->nnumbers, 0);
    cr_assert_eq(r->ntokens, 4);
    usj_analyzer_free(a);
}

Test(numbers, type_names)
{
    const char *names[] = {"money", "percent", "year", "count"};
    for (int i = 0; i < USJ_NUM_NTYPES; i++) {
        cr_assert_str_eq(usj_numtype_name((usj_numtype)i), names[i]);
        cr_assert_eq(usj_numtype_parse(names[i], strlen(names[i])), i);
    }
    cr_assert_eq(usj_numtype_parse("MONEY", 5), USJ_NUM_MONEY);
    cr_assert_eq(usj_numtype_parse("years", 5), -1);
    cr_assert_eq(usj_numtype_parse("year", 3), -1);
    cr_assert_eq(usj_numtype_parse("", 0), -1);
}

/* ---- the seeds ---- */


typedef struct scan {
    size_t   file;
    uint32_t big_lines[64];      /* lines of 001 with money >= $1 trillion */
    size_t   nbig, big_elsewhere;
    size_t   per_type[USJ_NUM_NTYPES];
    int      saw_job_count, saw_table_trillion;
} scan;

static int scan_para(void *vctx, const usj_para *p)
{
    scan *s = vctx;
    const usj_analysis *r;
    cr_assert_eq(usj_analyze(az, p->text, p->len, &r), 0);
    int big = 0;
    for (size_t i = 0; i < r->nnumbers; i++) {
        const usj_number *x = &r->numbers[i];
        s->per_type[x->type]++;
        const char *sp = p->text + x->start;
        size_t sl = x->end - x->start;
        if (x->type == USJ_NUM_MONEY && x->value >= 1e12)
            big = 1;
        if (x->type == USJ_NUM_COUNT && x->value == 1.5e6 && sl == 11 &&
            memcmp(sp, "1.5 million", 11) == 0)
            s->saw_job_count = 1;
        if (x->type == USJ_NUM_MONEY && x->value == 1e12 && sl == 11 &&
            memcmp(sp, "$1 Trillion", 11) == 0 && p->line == 18)
            s->saw_table_trillion = 1;
    }
    if (big) {
        if (s->file == 1 && s->nbig < 64)
            s->big_lines[s->nbig++] = p->line;
        else if (s->file != 1)
            s->big_elsewhere++;
    }
    return 0;
}

Test(numbers, seeds_trillions_exactly_where_expected)
{
    scan s = {0};
    for (s.file = 0; s.file < 5; s.file++) {
        size_t len;
        char *buf = tst_read_seed(tst_seed_names[s.file], &len);
        cr_assert_eq(usj_para_split(buf, len, USJ_SPLIT_AUTO, scan_para, &s),
                     0);
        free(buf);
    }
    static const uint32_t want[] = {5, 12, 18, 20, 54, 61};
    cr_assert_eq(s.nbig, 6, "%zu paragraphs with >= $1 trillion", s.nbig);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(s.big_lines[i], want[i], "line %u, want %u",
                     s.big_lines[i], want[i]);
    cr_assert_eq(s.big_elsewhere, 0);
    cr_assert(s.saw_job_count);
    cr_assert(s.saw_table_trillion);
    /* every type occurs in the seeds */
    for (int t = 0; t < USJ_NUM_NTYPES; t++)
        cr_assert(s.per_type[t] > 0, "no %s in the seeds",
                  usj_numtype_name((usj_numtype)t));
}

Test(numbers, seed_line_with_dates_and_money)
{
    /* seeds/001 line 16: "As of February 8, 2025, ..." */
    size_t len;
    char *buf = tst_read_seed("001_ec36a14128f0579a.txt", &len);
    const char *p = strstr(buf, "As of February 8, 2025,");
    cr_assert_not_null(p);
    const usj_analysis *r;
    cr_assert_eq(usj_analyze(az, p, 23, &r), 0);
    cr_assert_eq(r->nnumbers, 2);
    num(r, 0, p, USJ_NUM_COUNT, 8, "8");
    num(r, 1, p, USJ_NUM_YEAR, 2025, "2025");
    free(buf);
}
