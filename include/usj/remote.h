/* usj/remote.h — asking a running usjsearchd instead of opening the index:
 * the client side of the line protocol (docs/PROTOCOL.md). Results come back
 * as the same usj_results that usj_search gives, so every output format is
 * identical in both modes. */
#ifndef USJ_REMOTE_H
#define USJ_REMOTE_H

#include <stddef.h>

#include "query.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct usj_remote usj_remote;

/* The default Unix socket of the daemon serving `index_path`:
 * $XDG_RUNTIME_DIR/usjsearchd-<hash of the index's real path>.sock, or
 * <index path>.sock when XDG_RUNTIME_DIR is unset. Returns 0 or
 * USJ_ELIMIT (too long for out / sun_path). */
int usj_remote_default_socket(char *out, size_t n, const char *index_path);

/* Connect to `server`: "unix:PATH", a path containing '/', or "HOST:PORT".
 * When server is NULL: $USJ_SERVER, else the default socket of index_path.
 * Returns 0; USJ_ENOTFOUND when no daemon answers there (the caller then
 * opens the index itself); USJ_EIO, USJ_EINVAL (bad address). */
int usj_remote_connect(usj_remote **out, const char *server,
                       const char *index_path, unsigned timeout_ms);
void usj_remote_close(usj_remote *r);   /* accepts NULL */

/* SEARCH over the connection. Returns what usj_search would: 0 with *out,
 * USJ_EPARSE / USJ_ELIMIT with message and column (from ERR SYNTAX / ERR
 * LIMIT), USJ_ETIMEOUT, or USJ_EIO when the daemon misbehaves/vanishes;
 * USJ_ENOTFOUND when the daemon turned the connection away (ERR BUSY: at
 * its --max-conns), which, as from usj_remote_connect, means "no daemon
 * serves you": the caller opens the index itself. */
int usj_remote_search(usj_remote *r, const char *query, size_t len,
                      const usj_search_opts *opts, usj_results **out);

#ifdef __cplusplus
}
#endif
#endif
