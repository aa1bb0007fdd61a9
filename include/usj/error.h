/* usj/error.h — error codes returned by every libusj function, and the
 * per-thread "last error" message (plus, for query parse errors, a column).
 *
 * Convention: functions return int, 0 on success, a negative USJ_E* code on
 * failure. The message is set once, where the error is detected, with
 * usj_error_set()/usj_error_set_at(); callers read it with usj_error_last().
 * The library never prints and never exits. */
#ifndef USJ_ERROR_H
#define USJ_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum usj_err {
    USJ_OK        = 0,
    USJ_ENOMEM    = -1,  /* allocation failed */
    USJ_EIO       = -2,  /* system call failed (errno text in the message) */
    USJ_ECORRUPT  = -3,  /* index bytes fail a bound, structure or CRC check */
    USJ_EVERSION  = -4,  /* index written by a newer/unknown format version */
    USJ_ENOTFOUND = -5,  /* term, file, line or server not found */
    USJ_EPARSE    = -6,  /* malformed query (usj_error_column() says where) */
    USJ_ELIMIT    = -7,  /* a documented hard limit was exceeded */
    USJ_EINVAL    = -8,  /* bad argument or option */
    USJ_ETIMEOUT  = -9,  /* a deadline expired */
    USJ_EEMPTY    = -10  /* nothing to do (for example an empty corpus) */
};

/* Message of the last error set on this thread ("" if none). Valid until the
 * next usj_error_set* on this thread. */
const char *usj_error_last(void);

/* 1-based byte column of the last parse error on this thread, 0 if none. */
int usj_error_column(void);

/* Short upper-case name of a code: "NOMEM", "IO", "CORRUPT", ... */
const char *usj_error_name(int code);

/* Set the message (printf format); returns `code` so one can write
 * `return usj_error_set(USJ_EINVAL, "bad %s", x);`. Clears the column. */
int usj_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Same, with a 1-based column (used by the query parser). */
int usj_error_set_at(int code, int column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forget the last error on this thread. */
void usj_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
