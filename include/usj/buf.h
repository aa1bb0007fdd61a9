/* usj/buf.h — a growable byte buffer, used across the public API to return
 * text (formatted hits, protocol lines) without fixed-size limits. */
#ifndef USJ_BUF_H
#define USJ_BUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct usj_buf {
    char  *data;   /* always NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
} usj_buf;

#define USJ_BUF_INIT {NULL, 0, 0}

/* All return 0 or USJ_ENOMEM (the buffer is left valid). */
int  usj_buf_reserve(usj_buf *b, size_t extra);      /* room for len+extra+1 */
int  usj_buf_put(usj_buf *b, const void *p, size_t n);
int  usj_buf_puts(usj_buf *b, const char *s);
int  usj_buf_putc(usj_buf *b, char c);
int  usj_buf_printf(usj_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void usj_buf_clear(usj_buf *b);                       /* len = 0, keeps memory */
void usj_buf_free(usj_buf *b);                        /* releases memory */
/* Hands the data to the caller (who frees it with free()); buffer is reset. */
char *usj_buf_detach(usj_buf *b, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
