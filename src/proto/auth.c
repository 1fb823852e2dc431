/* auth.c — the shared secret and the challenge-response MAC (auth.h). */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "err.h"

static const char *const labels[] = {
    [AUTH_CLIENT] = "resweep-auth-v1 client",
    [AUTH_SERVER] = "resweep-auth-v1 server",
};

int auth_random(unsigned char *buf, size_t len, char *err, size_t errlen)
{
    if (RAND_bytes(buf, (int)len) != 1)
        return err_set(err, errlen, -EIO,
                       "the system's random generator failed (OpenSSL "
                       "RAND_bytes)");
    return 0;
}

void auth_hex(const unsigned char *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * len] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int auth_unhex(const char *hex, unsigned char *bytes, size_t len)
{
    if (!hex || strlen(hex) != 2 * len)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* A new secret at path, created exclusively: when another process won the
 * race, its file is the secret. */
static int key_create(const char *path, char *err, size_t errlen)
{
    auth_key key;
    char hex[AUTH_HEX(AUTH_KEY_LEN)];
    int rc = auth_random(key.k, sizeof key.k, err, errlen);
    if (rc < 0)
        return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0
                               : err_set(err, errlen, -errno,
                                         "%s: cannot create the token file: %s",
                                         path, strerror(errno));
    auth_hex(key.k, sizeof key.k, hex);
    OPENSSL_cleanse(key.k, sizeof key.k);
    hex[2 * AUTH_KEY_LEN] = '\n';
    ssize_t n = write(fd, hex, 2 * AUTH_KEY_LEN + 1);
    int werr = errno;
    OPENSSL_cleanse(hex, sizeof hex);
    if (n != 2 * AUTH_KEY_LEN + 1 || fsync(fd) != 0) {
        close(fd);
        unlink(path);
        return err_set(err, errlen, -EIO, "%s: cannot write the token: %s",
                       path, strerror(n < 0 ? werr : EIO));
    }
    close(fd);
    return 0;
}

static int key_read(const char *path, auth_key *key, char *err,
                    size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_set(err, errlen, -errno, "%s: cannot open the token file: %s",
                       path, strerror(errno));
    struct stat st;
    char buf[2 * AUTH_KEY_LEN + 2] = "";
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = err_set(err, errlen, -EINVAL, "%s: the token file is not a "
                     "regular file", path);
    else if (st.st_mode & 077)
        rc = err_set(err, errlen, -EPERM,
                     "%s: the token file is readable by others (mode %03o); "
                     "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
    ssize_t n = rc == 0 ? read(fd, buf, sizeof buf - 1) : 0;
    close(fd);
    if (rc < 0)
        return rc;
    if (n >= 2 * AUTH_KEY_LEN && (n == 2 * AUTH_KEY_LEN || buf[2 * AUTH_KEY_LEN] == '\n'))
        buf[2 * AUTH_KEY_LEN] = '\0';
    rc = auth_unhex(buf, key->k, sizeof key->k);
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc < 0)
        return err_set(err, errlen, -EINVAL,
                       "%s: not a resweep token (%d hex digits and a "
                       "newline expected)", path, 2 * AUTH_KEY_LEN);
    return 0;
}

int auth_key_load(const char *path, bool create, auth_key *key, char *err,
                  size_t errlen)
{
    if (create && access(path, F_OK) != 0) {
        int rc = key_create(path, err, errlen);
        if (rc < 0)
            return rc;
    }
    return key_read(path, key, err, errlen);
}

void auth_mac(const auth_key *key, enum auth_side side,
              const unsigned char server_nonce[AUTH_NONCE_LEN],
              const unsigned char client_nonce[AUTH_NONCE_LEN],
              unsigned char out[AUTH_MAC_LEN])
{
    unsigned char msg[64 + 2 * AUTH_NONCE_LEN];
    size_t n = strlen(labels[side]);
    memcpy(msg, labels[side], n);
    memcpy(msg + n, server_nonce, AUTH_NONCE_LEN);
    memcpy(msg + n + AUTH_NONCE_LEN, client_nonce, AUTH_NONCE_LEN);
    unsigned int len = AUTH_MAC_LEN;
    HMAC(EVP_sha256(), key->k, AUTH_KEY_LEN, msg, n + 2 * AUTH_NONCE_LEN, out,
         &len);
}

bool auth_mac_equal(const unsigned char *a, const unsigned char *b)
{
    return CRYPTO_memcmp(a, b, AUTH_MAC_LEN) == 0;
}
