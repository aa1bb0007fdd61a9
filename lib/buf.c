/* lib/buf.c — the growable byte buffer (usj/buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usj/buf.h"
#include "usj/error.h"

int usj_buf_reserve(usj_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return usj_error_set(USJ_ENOMEM, "buffer size overflow");
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return usj_error_set(USJ_ENOMEM, "out of memory (%zu bytes)", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int usj_buf_put(usj_buf *b, const void *p, size_t n)
{
    int rc = usj_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int usj_buf_puts(usj_buf *b, const char *s) { return usj_buf_put(b, s, strlen(s)); }

int usj_buf_putc(usj_buf *b, char c) { return usj_buf_put(b, &c, 1); }

int usj_buf_printf(usj_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return usj_error_set(USJ_EINVAL, "bad format string");
    if ((size_t)n < sizeof small)
        return usj_buf_put(b, small, (size_t)n);
    int rc = usj_buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void usj_buf_clear(usj_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void usj_buf_free(usj_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *usj_buf_detach(usj_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p) {
        p = calloc(1, 1);
    }
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
