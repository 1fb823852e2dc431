/* auth.h — proving over TCP that a peer holds the daemon's secret, without
 * the secret crossing the wire (docs/protocol.md, "Authentication").
 *
 * The secret is AUTH_KEY_LEN random bytes kept as hex in a 0600 file next
 * to the database (DB.token), created on first use. A handshake is a
 * challenge and a response: the daemon sends a fresh random nonce per
 * connection, the peer answers with its own nonce and
 *     HMAC-SHA256(key, "resweep-auth-v1 client" || server_nonce || client_nonce),
 * and the daemon proves itself back with the "server" label over the same
 * nonces. A recorded handshake is useless on another connection, whose
 * server nonce differs. The MAC and the random bytes come from OpenSSL's
 * libcrypto; only the framing is ours.
 */
#ifndef RESWEEP_AUTH_H
#define RESWEEP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_KEY_LEN   32    /* bytes of secret: 256 bits */
#define AUTH_NONCE_LEN 16
#define AUTH_MAC_LEN   32    /* HMAC-SHA256 */
#define AUTH_HEX(n)    (2 * (n) + 1)

typedef struct auth_key {
    unsigned char k[AUTH_KEY_LEN];
} auth_key;

enum auth_side { AUTH_CLIENT, AUTH_SERVER };

/* Reads the secret from path; with create, makes a new one first (0600,
 * O_EXCL, so two daemons never write different secrets) when the file
 * does not exist. A file readable by group or others is refused, as ssh
 * refuses such a key. 0, or a negative code with a sentence. */
int auth_key_load(const char *path, bool create, auth_key *key, char *err,
                  size_t errlen);

/* Fresh random bytes (a nonce). 0, or -EIO with a sentence. */
int auth_random(unsigned char *buf, size_t len, char *err, size_t errlen);

/* The MAC of one side over the two nonces. */
void auth_mac(const auth_key *key, enum auth_side side,
              const unsigned char server_nonce[AUTH_NONCE_LEN],
              const unsigned char client_nonce[AUTH_NONCE_LEN],
              unsigned char out[AUTH_MAC_LEN]);

/* Constant-time comparison of a received MAC with the expected one. */
bool auth_mac_equal(const unsigned char *a, const unsigned char *b);

/* Lower-case hex of len bytes into out (AUTH_HEX(len) bytes). */
void auth_hex(const unsigned char *bytes, size_t len, char *out);
/* Exactly 2*len hex digits into bytes; -EINVAL otherwise. */
int auth_unhex(const char *hex, unsigned char *bytes, size_t len);

#endif
