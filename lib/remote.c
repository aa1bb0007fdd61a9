/* lib/remote.c — client side of the usjsearchd line protocol (usj/remote.h).
 * Placeholder until the daemon lands: no daemon ever answers. */
#include <stdio.h>

#include "usj/error.h"
#include "usj/remote.h"

int usj_remote_default_socket(char *out, size_t n, const char *index_path)
{
    if ((size_t)snprintf(out, n, "%s.sock", index_path) >= n)
        return usj_error_set(USJ_ELIMIT, "socket path too long");
    return 0;
}

int usj_remote_connect(usj_remote **out, const char *server,
                       const char *index_path, unsigned timeout_ms)
{
    (void)server; (void)index_path; (void)timeout_ms;
    *out = NULL;
    return usj_error_set(USJ_ENOTFOUND, "no daemon support built in");
}

void usj_remote_close(usj_remote *r) { (void)r; }

int usj_remote_search(usj_remote *r, const char *query, size_t len,
                      const usj_search_opts *opts, usj_results **out)
{
    (void)r; (void)query; (void)len; (void)opts;
    *out = NULL;
    return usj_error_set(USJ_EIO, "no daemon support built in");
}
