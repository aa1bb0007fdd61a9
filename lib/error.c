/* lib/error.c — the per-thread last-error message and column (usj/error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "usj/error.h"

#define USJ_ERRMSG_MAX 512

static _Thread_local char err_msg[USJ_ERRMSG_MAX];
static _Thread_local int  err_col;

const char *usj_error_last(void) { return err_msg; }

int usj_error_column(void) { return err_col; }

const char *usj_error_name(int code)
{
    switch (code) {
    case USJ_OK:        return "OK";
    case USJ_ENOMEM:    return "NOMEM";
    case USJ_EIO:       return "IO";
    case USJ_ECORRUPT:  return "CORRUPT";
    case USJ_EVERSION:  return "VERSION";
    case USJ_ENOTFOUND: return "NOTFOUND";
    case USJ_EPARSE:    return "SYNTAX";
    case USJ_ELIMIT:    return "LIMIT";
    case USJ_EINVAL:    return "INVAL";
    case USJ_ETIMEOUT:  return "TIMEOUT";
    case USJ_EEMPTY:    return "EMPTY";
    default:            return "UNKNOWN";
    }
}

static void set_msg(const char *fmt, va_list ap)
{
    char tmp[USJ_ERRMSG_MAX];
    /* format into a temporary: the message may quote the previous one */
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    memcpy(err_msg, tmp, sizeof tmp);
}

int usj_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_msg(fmt, ap);
    va_end(ap);
    err_col = 0;
    return code;
}

int usj_error_set_at(int code, int column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_msg(fmt, ap);
    va_end(ap);
    err_col = column;
    return code;
}

void usj_error_clear(void)
{
    err_msg[0] = '\0';
    err_col = 0;
}
