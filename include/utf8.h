/* utf8.h — text that leaves the daemon is valid UTF-8.
 *
 * Error sentences quote what the user sent, cut to a length in bytes
 * ("%.40s"), and a cut can split a multi-byte character; the user's text
 * may not be UTF-8 at all. Frames are UTF-8 (proto.h): a request that is
 * not is refused, and a reply that would not be has its strings passed
 * through utf8_sanitize before it is sent. */
#ifndef RESWEEP_UTF8_H
#define RESWEEP_UTF8_H

#include <stddef.h>

/* Copies in to out (outlen bytes, NUL-terminated), replacing every byte
 * that does not start a well-formed sequence (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF) by U+FFFD, and dropping a
 * character that would not fit whole. Returns the length written. */
size_t utf8_sanitize(const char *in, char *out, size_t outlen);

/* Length of the longest well-formed prefix of the len bytes at s (len
 * when all of it is UTF-8); NUL bytes count as characters. */
size_t utf8_valid_len(const char *s, size_t len);

/* Length of the well-formed sequence at s (1-4), or 0 if there is none. */
int utf8_sequence_len(const unsigned char *s);

#endif
