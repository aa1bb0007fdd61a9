/* tests/support/seeds.c — reading the seed articles (tests/support/seeds.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "seeds.h"

const char *const tst_seed_names[5] = {
    "000_3e9f356e5c9bf5c6.txt", "001_ec36a14128f0579a.txt",
    "002_ec4eb60320c4ba37.txt", "003_25b43f502759b295.txt",
    "004_34c4a962b3f42fed.txt",
};

char *tst_read_seed(const char *name, size_t *len)
{
    const char *root = getenv("USJ_TEST_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/seeds/%s", root ? root : ".", name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    cr_assert_geq(n, 0);
    cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}
