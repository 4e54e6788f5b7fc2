/*
 * btx_seal.h — sealing secrets for storage: AES-256-GCM (OpenSSL EVP) under a
 * 32-byte key kept outside the database (src/adapters/secret.c keeps it in a
 * file in the data directory).
 *
 * Design.  A sealed value is text, so that it fits the text column that
 * stores it: "btx1:" followed by the lower-case hex of nonce (12 bytes) || tag
 * (16 bytes) || ciphertext.  The nonce is random per value (the caller passes
 * it: cores hold no random source of their own and stay deterministic under
 * test); GCM's tag authenticates the ciphertext, so a changed, truncated or
 * swapped-key value is refused, never opened into garbage.  "btx1" names the
 * format, so that a later one can coexist.  Plain C, no PostgreSQL headers,
 * errors as values (btx_error), malloc'd results; the caller zeroes and frees
 * plaintexts (btx_seal_forget).
 */
#ifndef BTX_SEAL_H
#define BTX_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/common/btx_buf.h"

#define BTX_SEAL_KEY_LEN	32
#define BTX_SEAL_NONCE_LEN	12
#define BTX_SEAL_TAG_LEN	16
#define BTX_SEAL_PREFIX		"btx1:"

/* the sealed text of plain[0..n) under key with nonce: *out malloc'd, NUL-terminated; 0 or -1 with *e */
extern int	btx_seal(const uint8_t key[BTX_SEAL_KEY_LEN], const uint8_t nonce[BTX_SEAL_NONCE_LEN],
					 const uint8_t *plain, size_t n, char **out, btx_error *e);

/*
 * The plaintext of a sealed text: *plain malloc'd (n bytes plus a NUL), 0; or
 * -1 with *e: not a sealed value (22P02), or it does not open under this key
 * (28P01: another key, or a changed value).
 */
extern int	btx_unseal(const uint8_t key[BTX_SEAL_KEY_LEN], const char *sealed, size_t sealed_len,
					   uint8_t **plain, size_t *n, btx_error *e);

/* is the text in the sealed format (its prefix)? */
extern int	btx_is_sealed(const char *s, size_t len);

/* zero n bytes of p and free it */
extern void btx_seal_forget(void *p, size_t n);

#endif
