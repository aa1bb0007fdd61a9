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
