/* tests/test_codec.c — the block integer codec (lib/codec.h): round trips on
 * edge and random sequences, group boundaries, maximal values, truncated and
 * malformed input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static uint64_t rng = 0x12345678;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Encode, then decode from an exact-size copy (slow path at the end) and
 * from a padded buffer (fast path); both must give the input back. */
static void round_trip(const uint32_t *in, size_t n)
{
    size_t bound = usj_codec_bound(n);
    uint8_t *enc = malloc(bound + 16);
    size_t len = usj_codec_encode(in, n, enc);
    cr_assert_leq(len, bound, "n=%zu: %zu bytes > bound %zu", n, len, bound);
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, enc, len);
    uint32_t *out = malloc((n ? n : 1) * sizeof *out);
    const uint8_t *next = NULL;
    cr_assert_eq(usj_codec_decode(exact, exact + len, out, n, &next), 0, "n=%zu", n);
    cr_assert_eq(next, exact + len);
    cr_assert(n == 0 || memcmp(in, out, n * sizeof *out) == 0, "n=%zu differs", n);
    memset(enc + len, 0xAB, 16);
    memset(out, 0, (n ? n : 1) * sizeof *out);
    cr_assert_eq(usj_codec_decode(enc, enc + len + 16, out, n, &next), 0);
    cr_assert_eq(next, enc + len);
    cr_assert(n == 0 || memcmp(in, out, n * sizeof *out) == 0, "n=%zu differs (padded)", n);
    /* every truncation fails cleanly */
    for (size_t cut = 0; len > 0 && cut < len; cut += 1 + cut / 8)
        cr_assert_eq(usj_codec_decode(exact, exact + cut, out, n, &next), -1,
                     "n=%zu truncated at %zu of %zu decoded", n, cut, len);
    free(enc);
    free(exact);
    free(out);
}

static const size_t sizes[] = {0, 1, 2, 7, 8, 9, 63, 127, 128, 129, 255, 256, 257, 1000, 4099};

Test(codec, empty)
{
    uint8_t buf[4];
    cr_assert_eq(usj_codec_encode(NULL, 0, buf), 0);
    const uint8_t *next;
    cr_assert_eq(usj_codec_decode(buf, buf, NULL, 0, &next), 0);
    cr_assert_eq(next, buf);
}

Test(codec, constant_sequences)
{
    static uint32_t v[5000];
    const uint32_t consts[] = {0, 1, 2, 255, 256, 65535, 1u << 31, UINT32_MAX};
    for (size_t c = 0; c < sizeof consts / sizeof *consts; c++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            for (size_t i = 0; i < sizes[s]; i++)
                v[i] = consts[c];
            round_trip(v, sizes[s]);
        }
}

Test(codec, maximal_gaps)
{
    static uint32_t v[300];
    for (size_t i = 0; i < 300; i++)
        v[i] = i % 2 ? UINT32_MAX : 0;
    round_trip(v, 1);
    round_trip(v, 2);
    round_trip(v, 128);
    round_trip(v, 129);
    round_trip(v, 300);
    v[0] = UINT32_MAX;
    round_trip(v, 1);
}

Test(codec, random_widths)
{
    static uint32_t v[5000];
    for (int iter = 0; iter < 200; iter++) {
        size_t n = iter < 15 ? sizes[iter] : rnd() % 3000;
        unsigned w = rnd() % 33;
        for (size_t i = 0; i < n; i++) {
            uint32_t x = rnd();
            v[i] = w == 32 ? x : x & ((1u << w) - 1);
            if (rnd() % 50 == 0)
                v[i] = rnd();      /* an outlier widens its group */
        }
        round_trip(v, n);
    }
}

Test(codec, sizes_are_compact)
{
    static uint32_t v[130];
    for (int i = 0; i < 130; i++)
        v[i] = 5;                  /* 3 bits */
    uint8_t buf[1024];
    cr_assert_eq(usj_codec_encode(v, 128, buf), 1 + 48);
    cr_assert_eq(usj_codec_encode(v, 7, buf), 7);        /* varint tail */
    cr_assert_eq(usj_codec_encode(v, 8, buf), 1 + 3);    /* packed tail */
    cr_assert_eq(usj_codec_encode(v, 130, buf), 1 + 48 + 2);
}

Test(codec, bad_width_is_rejected)
{
    uint8_t buf[600];
    memset(buf, 0, sizeof buf);
    buf[0] = 33;
    uint32_t out[128];
    const uint8_t *next;
    cr_assert_eq(usj_codec_decode(buf, buf + sizeof buf, out, 128, &next), -1);
    buf[0] = 255;
    cr_assert_eq(usj_codec_decode(buf, buf + sizeof buf, out, 8, &next), -1);
}

Test(codec, varints)
{
    uint8_t buf[16];
    const uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        size_t n = usj_varint_put(buf, vals[i]);
        const uint8_t *p = buf;
        uint64_t v;
        cr_assert_eq(usj_varint_get(&p, buf + n, &v), 0);
        cr_assert_eq(v, vals[i]);
        cr_assert_eq(p, buf + n);
        p = buf;
        cr_assert_eq(usj_varint_get(&p, buf + n - 1, &v), -1, "truncated varint accepted");
    }
    memset(buf, 0xff, sizeof buf);        /* never-ending varint */
    const uint8_t *p = buf;
    uint64_t v;
    cr_assert_eq(usj_varint_get(&p, buf + sizeof buf, &v), -1);
    buf[9] = 0x02;                        /* 10th byte overflows 64 bits */
    p = buf;
    cr_assert_eq(usj_varint_get(&p, buf + sizeof buf, &v), -1);
    uint32_t v32;
    usj_varint_put(buf, (uint64_t)UINT32_MAX + 1);
    p = buf;
    cr_assert_eq(usj_varint_get32(&p, buf + sizeof buf, &v32), -1);
}

/* Values of width w (the group's largest exactly w bits wide); with exc,
 * also two outliers of width > w, which the encoder patches (PFOR). */
static void fill_width(uint32_t *v, size_t n, unsigned w, int exc)
{
    uint32_t mask = w >= 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
    for (size_t i = 0; i < n; i++)
        v[i] = rnd() & mask;
    for (size_t g = 0; g < n; g += USJ_CODEC_BLOCK) {
        size_t k = n - g < USJ_CODEC_BLOCK ? n - g : USJ_CODEC_BLOCK;
        v[g + rnd() % k] = mask;                 /* the group is w wide */
        if (exc && w < 24) {
            v[g + rnd() % k] = (uint32_t)1 << (w + 8 + rnd() % (24 - w));
            v[g + k - 1] = UINT32_MAX;
        }
    }
}

Test(codec, every_width_full_and_partial_groups)
{
    static uint32_t v[600];
    static const size_t ns[] = {8, 9, 31, 64, 100, 127, 128, 129, 135, 200, 255, 256, 300, 519};
    for (unsigned w = 0; w <= 32; w++)
        for (int exc = 0; exc < 2; exc++)
            for (size_t s = 0; s < sizeof ns / sizeof *ns; s++) {
                fill_width(v, ns[s], w, exc);
                round_trip(v, ns[s]);
                /* a full first group is packed at width w, patched iff exc */
                uint8_t buf[4096];
                usj_codec_encode(v, ns[s], buf);
                if (ns[s] < USJ_CODEC_BLOCK)
                    continue;
                if (exc && w < 24)
                    cr_assert_eq(buf[0], w | USJ_CODEC_EXC, "w=%u n=%zu: width byte %u",
                                 w, ns[s], buf[0]);
                else
                    cr_assert_eq(buf[0], w, "w=%u n=%zu: width byte %u", w, ns[s], buf[0]);
            }
}

/* Walk a run group by group, decoding some and skipping the others: the
 * decoded groups equal the run's values and both calls end each group
 * where usj_codec_decode would. */
static void walk_groups(const uint32_t *in, size_t n, unsigned pattern)
{
    uint8_t *enc = malloc(usj_codec_bound(n) + 16);
    size_t len = usj_codec_encode(in, n, enc);
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, enc, len);
    const uint8_t *p = exact, *end = exact + len;
    uint32_t out[USJ_CODEC_BLOCK];
    for (size_t g = 0, at = 0; at < n; g++) {
        size_t k = n - at < USJ_CODEC_BLOCK ? n - at : USJ_CODEC_BLOCK;
        const uint8_t *ns = NULL, *nd = NULL;
        cr_assert_eq(usj_codec_skip_group(p, end, k, &ns), 0, "n=%zu group %zu skip", n, g);
        if (pattern >> (g % 8) & 1) {
            memset(out, 0xEE, sizeof out);
            cr_assert_eq(usj_codec_decode_group(p, end, out, k, &nd), 0,
                         "n=%zu group %zu", n, g);
            cr_assert_eq(nd, ns, "n=%zu group %zu: skip and decode end apart", n, g);
            cr_assert(memcmp(out, in + at, k * sizeof *out) == 0, "n=%zu group %zu differs", n, g);
            /* every truncation of the group fails cleanly, both ways */
            for (const uint8_t *cut = p; cut < nd; cut++) {
                cr_assert_eq(usj_codec_decode_group(p, cut, out, k, &nd), -1);
                cr_assert_eq(usj_codec_skip_group(p, cut, k, &nd), -1);
            }
        }
        p = ns;
        at += k;
    }
    cr_assert_eq(p, end, "n=%zu: groups end before the run", n);
    free(enc);
    free(exact);
}

Test(codec, groups_one_at_a_time)
{
    static uint32_t v[1100];
    static const size_t ns[] = {1, 7, 8, 127, 128, 129, 135, 136, 300, 1031};
    for (unsigned w = 0; w <= 32; w += 1)
        for (size_t s = 0; s < sizeof ns / sizeof *ns; s++) {
            fill_width(v, ns[s], w, w % 2);
            walk_groups(v, ns[s], 0xFF);
            walk_groups(v, ns[s], 0x55);
            walk_groups(v, ns[s], 0x00);
        }
}

/* What decoding rejects in a group's exceptions, skipping rejects too. */
Test(codec, skip_rejects_bad_exceptions)
{
    uint32_t v[128];
    for (int i = 0; i < 128; i++)
        v[i] = 1;
    v[5] = 1000;                           /* one exception over width 1 */
    uint8_t buf[256];
    size_t len = usj_codec_encode(v, 128, buf);
    cr_assert_eq(buf[0], 1 | USJ_CODEC_EXC);
    cr_assert_eq(buf[1], 1);
    const size_t at = 2 + 16;              /* the exception: index, varint */
    cr_assert_eq(buf[at], 5);
    uint32_t out[128];
    const uint8_t *next;
    uint8_t bad[256];
    memcpy(bad, buf, len);
    bad[at] = 128;                         /* index outside the group */
    cr_assert_eq(usj_codec_decode_group(bad, bad + len, out, 128, &next), -1);
    cr_assert_eq(usj_codec_skip_group(bad, bad + len, 128, &next), -1);
    memcpy(bad, buf, len);
    bad[at + 1] = 0;                       /* a zero high part */
    cr_assert_eq(usj_codec_decode_group(bad, bad + len, out, 128, &next), -1);
    cr_assert_eq(usj_codec_skip_group(bad, bad + len, 128, &next), -1);
    memcpy(bad, buf, len);
    bad[0] = 32 | USJ_CODEC_EXC;           /* patched width 32 */
    cr_assert_eq(usj_codec_decode_group(bad, bad + len, out, 128, &next), -1);
    cr_assert_eq(usj_codec_skip_group(bad, bad + len, 128, &next), -1);
    memcpy(bad, buf, len);
    bad[1] = 2;                            /* more exceptions than bytes */
    cr_assert_eq(usj_codec_decode_group(bad, bad + len, out, 128, &next), -1);
    cr_assert_eq(usj_codec_skip_group(bad, bad + len, 128, &next), -1);
    /* high bits that overflow 32 bits at width 31: hi 1 fits, hi 2 not */
    static uint8_t w31[2 + 16 * 31 + 2];
    w31[0] = 31 | USJ_CODEC_EXC;
    w31[1] = 1;
    w31[2 + 16 * 31] = 0;
    w31[2 + 16 * 31 + 1] = 1;
    cr_assert_eq(usj_codec_decode_group(w31, w31 + sizeof w31, out, 128, &next), 0);
    cr_assert_eq(out[0], UINT32_C(1) << 31);
    cr_assert_eq(usj_codec_skip_group(w31, w31 + sizeof w31, 128, &next), 0);
    cr_assert_eq(next, w31 + sizeof w31);
    w31[2 + 16 * 31 + 1] = 2;
    cr_assert_eq(usj_codec_decode_group(w31, w31 + sizeof w31, out, 128, &next), -1);
    cr_assert_eq(usj_codec_skip_group(w31, w31 + sizeof w31, 128, &next), -1);
}

/* The bytes of a packed group, by a bit-at-a-time reference writer: value i
 * occupies bits [i*b, i*b + b) of the group, LSB-first (lib/codec.h). */
Test(codec, packed_layout_is_lsb_first)
{
    static uint32_t v[USJ_CODEC_BLOCK];
    for (unsigned w = 1; w <= 32; w++)
        for (size_t k = USJ_CODEC_MINPACK; k <= USJ_CODEC_BLOCK; k += 40) {
            size_t n = k;                          /* 8, 48, 88, 128 */
            uint32_t mask = w == 32 ? UINT32_MAX : (UINT32_C(1) << w) - 1;
            for (size_t i = 0; i < n; i++)
                v[i] = (rnd() & mask) | (i == 0 ? mask : 0) | 1;  /* w wide, no zeros */
            uint8_t enc[1 + 4 * USJ_CODEC_BLOCK], want[4 * USJ_CODEC_BLOCK];
            memset(want, 0, sizeof want);
            for (size_t i = 0; i < n; i++)
                for (unsigned t = 0; t < w; t++)
                    if (v[i] >> t & 1) {
                        size_t bit = i * w + t;
                        want[bit / 8] |= (uint8_t)(1u << (bit % 8));
                    }
            size_t len = usj_codec_encode(v, n, enc);
            cr_assert_eq(enc[0], w, "w=%u n=%zu: width byte %u", w, n, enc[0]);
            cr_assert_eq(len, 1 + (n * w + 7) / 8, "w=%u n=%zu", w, n);
            cr_assert(memcmp(enc + 1, want, len - 1) == 0, "w=%u n=%zu: bytes differ", w, n);
        }
}

/* A full group decodes the same whatever follows it: every width, with and
 * without exceptions, 0..24 bytes of slack (garbage) after the group. On a
 * CPU with AVX2, widths <= 25 take unpack128_avx2 (reading in place with
 * 16 bytes of slack, from a copy of the group's tail with less); the
 * scalar unpack128_B otherwise. */
static void full_groups_any_slack(void)
{
    uint32_t v[USJ_CODEC_BLOCK], out[USJ_CODEC_BLOCK];
    uint8_t enc[2 + 4 * USJ_CODEC_BLOCK + 1024];
    for (unsigned w = 1; w <= 32; w++)
        for (int exc = 0; exc < 2; exc++) {
            fill_width(v, USJ_CODEC_BLOCK, w, exc);
            size_t len = usj_codec_encode(v, USJ_CODEC_BLOCK, enc);
            for (size_t slack = 0; slack <= 24; slack++) {
                uint8_t *buf = malloc(len + slack);
                memcpy(buf, enc, len);
                for (size_t i = 0; i < slack; i++)
                    buf[len + i] = (uint8_t)rnd();
                memset(out, 0xEE, sizeof out);
                const uint8_t *next = NULL;
                cr_assert_eq(usj_codec_decode_group(buf, buf + len + slack, out,
                                                    USJ_CODEC_BLOCK, &next), 0);
                cr_assert_eq(next, buf + len);
                cr_assert(memcmp(out, v, sizeof out) == 0,
                          "w=%u exc=%d slack=%zu differs", w, exc, slack);
                free(buf);
            }
        }
}

Test(codec, full_group_any_slack)
{
    full_groups_any_slack();
}

/* The same with USJ_NO_AVX2 set before the first decode of this test's
 * process (Criterion runs each test in its own): the scalar unpackers of
 * widths 1..25, which an AVX2 machine would otherwise never run. */
Test(codec, full_group_any_slack_scalar)
{
    cr_assert_eq(setenv("USJ_NO_AVX2", "1", 1), 0);
    full_groups_any_slack();
}
