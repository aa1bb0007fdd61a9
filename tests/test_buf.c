/* tests/test_buf.c — usj_buf growth and the per-thread error state. */
#include <criterion/criterion.h>
#include <string.h>

#include "usj/buf.h"
#include "usj/error.h"

Test(buf, grows_and_stays_terminated)
{
    usj_buf b = USJ_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(usj_buf_printf(&b, "%d,", i), 0);
    cr_assert_eq(strncmp(b.data, "0,1,2,", 6), 0);
    cr_assert_eq(b.data[b.len], '\0');
    cr_assert_eq(strlen(b.data), b.len);
    size_t n;
    char *p = usj_buf_detach(&b, &n);
    cr_assert_eq(n, strlen(p));
    cr_assert_null(b.data);
    free(p);
}

Test(buf, long_printf)
{
    usj_buf b = USJ_BUF_INIT;
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_assert_eq(usj_buf_printf(&b, "<%s>", big), 0);
    cr_assert_eq(b.len, 1001);
    cr_assert_eq(b.data[0], '<');
    cr_assert_eq(b.data[1000], '>');
    usj_buf_free(&b);
}

Test(error, message_column_and_names)
{
    cr_assert_eq(usj_error_set(USJ_EINVAL, "bad %s", "thing"), USJ_EINVAL);
    cr_assert_str_eq(usj_error_last(), "bad thing");
    cr_assert_eq(usj_error_column(), 0);
    cr_assert_eq(usj_error_set_at(USJ_EPARSE, 7, "oops"), USJ_EPARSE);
    cr_assert_eq(usj_error_column(), 7);
    cr_assert_str_eq(usj_error_name(USJ_EPARSE), "SYNTAX");
    cr_assert_str_eq(usj_error_name(USJ_ECORRUPT), "CORRUPT");
    usj_error_clear();
    cr_assert_str_eq(usj_error_last(), "");
}
