/* npy.c — NumPy's .npy format, version 1.0, for `resweep export`
 * (cli.h): the magic "\x93NUMPY", the version bytes 1 0, the header's
 * length as a little-endian uint16, the header (a Python dict literal
 * giving dtype, order and shape, padded with spaces and ended by a
 * newline so that the data start at a multiple of 64 bytes), then the
 * values, C order. Only little-endian float64 ('<f8') is written: what
 * run_arrays stores. */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NPY_PREAMBLE 10   /* magic (6), version (2), header length (2) */

int cli_npy_header(unsigned char *buf, size_t len, int ndim,
                   const long *shape)
{
    char dict[CLI_NPY_HEADER_MAX];
    size_t o = (size_t)snprintf(dict, sizeof dict, "{'descr': '<f8', "
                                "'fortran_order': False, 'shape': (");
    for (int k = 0; k < ndim && o < sizeof dict; k++)
        o += (size_t)snprintf(dict + o, sizeof dict - o, "%s%ld%s",
                              k ? " " : "", shape[k],
                              ndim == 1 || k + 1 < ndim ? "," : "");
    if (o < sizeof dict)
        o += (size_t)snprintf(dict + o, sizeof dict - o, "), }");
    /* the newline ends the header; spaces before it pad to 64 */
    size_t total = (NPY_PREAMBLE + o + 1 + 63) / 64 * 64;
    if (ndim < 0 || o >= sizeof dict || total > len ||
        total - NPY_PREAMBLE > UINT16_MAX)
        return -1;
    size_t hlen = total - NPY_PREAMBLE;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + NPY_PREAMBLE, dict, o);
    memset(buf + NPY_PREAMBLE + o, ' ', hlen - o - 1);
    buf[total - 1] = '\n';
    return (int)total;
}

int cli_npy_write(const char *path, int ndim, const long *shape,
                  const void *le_values, size_t nbytes, char *err,
                  size_t errlen)
{
    unsigned char head[CLI_NPY_HEADER_MAX];
    int hl = cli_npy_header(head, sizeof head, ndim, shape);
    if (hl < 0) {
        snprintf(err, errlen, "%s: a shape of %d dimensions does not fit a "
                 ".npy header", path, ndim);
        return -EINVAL;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -errno;
    }
    bool ok = fwrite(head, 1, (size_t)hl, f) == (size_t)hl &&
              (nbytes == 0 || fwrite(le_values, 1, nbytes, f) == nbytes);
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e));
        return -e;
    }
    return 0;
}
