/* lib/locate.c — where the programs find the index (usj_index_locate):
 * an explicit path, else $USJ_INDEX, else .usjsearch.idx in the current
 * folder or the nearest parent folder that has one (like .git), else
 * .usjsearch.idx in the current folder. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "usj/error.h"
#include "usj/index.h"

static int put(char *out, size_t n, const char *s)
{
    size_t l = strlen(s);
    if (l >= n)
        return usj_error_set(USJ_ELIMIT, "index path too long (%zu bytes)", l);
    memcpy(out, s, l + 1);
    return 0;
}

int usj_index_locate(char *out, size_t n, const char *explicit_path)
{
    if (explicit_path && *explicit_path)
        return put(out, n, explicit_path);
    const char *env = getenv("USJ_INDEX");
    if (env && *env)
        return put(out, n, env);
    char *dir = getcwd(NULL, 0);
    if (dir) {
        size_t dl = strlen(dir);
        char *cand = malloc(dl + sizeof USJ_INDEX_DEFAULT_NAME + 2);
        while (cand) {
            int root = dl == 1 && dir[0] == '/';
            memcpy(cand, dir, dl);
            size_t k = dl;
            if (!root)
                cand[k++] = '/';
            memcpy(cand + k, USJ_INDEX_DEFAULT_NAME, sizeof USJ_INDEX_DEFAULT_NAME);
            if (access(cand, F_OK) == 0) {
                int rc = put(out, n, cand);
                free(cand);
                free(dir);
                return rc;
            }
            if (root)
                break;
            while (dl > 1 && dir[dl - 1] != '/')
                dl--;
            if (dl > 1)
                dl--;            /* drop the slash, keep "/" for the root */
            dir[dl] = '\0';
        }
        free(cand);
        free(dir);
    }
    return put(out, n, USJ_INDEX_DEFAULT_NAME);
}
