/* lib/grow.h — growing a malloc'd array by doubling, overflow-checked: the
 * one helper behind the library's scratch and position buffers. */
#ifndef USJ_GROW_H
#define USJ_GROW_H

#include <stdint.h>
#include <stdlib.h>

#include "usj/error.h"

/* Make *arr hold at least `need` elements of `elem` bytes: *cap starts at
 * `first` and doubles. Returns 0, or USJ_ENOMEM with "out of memory (what)"
 * (the array is left as it was). */
static inline int usj_grow(void *arr, size_t *cap, size_t need, size_t elem,
                           size_t first, const char *what)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return usj_error_set(USJ_ENOMEM, "out of memory (%s)", what);
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        return usj_error_set(USJ_ENOMEM, "out of memory (%s)", what);
    void **slot = (void **)arr;
    void *p = realloc(*slot, c * elem);
    if (!p)
        return usj_error_set(USJ_ENOMEM, "out of memory (%s)", what);
    *slot = p;
    *cap = c;
    return 0;
}

#endif
