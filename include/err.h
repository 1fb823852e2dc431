/* err.h — how errors travel in resweep.
 *
 * A function that can fail returns 0 on success or a negative code, and
 * writes one human sentence into a caller-supplied buffer `err` of `errlen`
 * bytes (never NULL-terminated short of errlen; err may be NULL when the
 * caller does not want the sentence). The sentence names the field, file or
 * key path the user can act on, and the reason: "data.d: must be an integer
 * >= 1, got 0". Codes are negative errno values where one fits (-ENOMEM,
 * -EINVAL, -EIO), so they can be printed with strerror(-rc).
 */
#ifndef RESWEEP_ERR_H
#define RESWEEP_ERR_H

#include <stddef.h>

/* Formats a sentence into err (if err != NULL) and returns rc unchanged, so
 * that `return err_set(err, errlen, -EINVAL, "x: bad");` reads naturally. */
int err_set(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepends "prefix: " to the sentence already in err (for key paths that
 * are known only to the caller). Returns rc unchanged. */
int err_prefix(char *err, size_t errlen, int rc, const char *prefix);

/* Size of the error buffers the service uses; long enough for a key path,
 * a value and a reason. */
#define ERR_LEN 512

#endif
