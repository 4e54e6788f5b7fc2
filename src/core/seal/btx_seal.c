/*
 * btx_seal.c — AES-256-GCM sealing of secrets (the design is in btx_seal.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/seal/btx_seal.h"

#define PREFIX_LEN (sizeof(BTX_SEAL_PREFIX) - 1)
#define HEAD_LEN (BTX_SEAL_NONCE_LEN + BTX_SEAL_TAG_LEN)

static const char hexdigits[] = "0123456789abcdef";

/* a lower-case hex digit's value, else -1 (the format is lower-case only) */
static int
hexval(char c)
{
	const char *p = c ? strchr(hexdigits, c) : NULL;

	return p ? (int) (p - hexdigits) : -1;
}

void
btx_seal_forget(void *p, size_t n)
{
	if (p == NULL)
		return;
	/* a volatile pointer: the compiler may not drop the zeroing of memory about to be freed */
	{
		volatile uint8_t *v = p;
		size_t		i;

		for (i = 0; i < n; i++)
			v[i] = 0;
	}
	free(p);
}

int
btx_is_sealed(const char *s, size_t len)
{
	return s != NULL && len >= PREFIX_LEN && memcmp(s, BTX_SEAL_PREFIX, PREFIX_LEN) == 0;
}

int
btx_seal(const uint8_t key[BTX_SEAL_KEY_LEN], const uint8_t nonce[BTX_SEAL_NONCE_LEN],
		 const uint8_t *plain, size_t n, char **out, btx_error *e)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t    *raw = NULL;
	char	   *text = NULL;
	int			len = 0;
	size_t		i,
				rawlen;

	*out = NULL;
	if (n > (size_t) 64 * 1024 * 1024)
	{
		btx_error_set(e, 1, "54000", "a secret of %zu bytes is too long to store", n);
		return -1;
	}
	rawlen = HEAD_LEN + n;
	raw = malloc(rawlen);
	text = malloc(PREFIX_LEN + 2 * rawlen + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (raw == NULL || text == NULL || ctx == NULL)
	{
		btx_error_set(e, 1, "53200", "out of memory");
		goto fail;
	}
	memcpy(raw, nonce, BTX_SEAL_NONCE_LEN);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, BTX_SEAL_NONCE_LEN, NULL) != 1 ||
		EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
		(n > 0 && EVP_EncryptUpdate(ctx, raw + HEAD_LEN, &len, plain, (int) n) != 1) ||
		EVP_EncryptFinal_ex(ctx, raw + HEAD_LEN + len, &len) != 1 ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, BTX_SEAL_TAG_LEN, raw + BTX_SEAL_NONCE_LEN) != 1)
	{
		btx_error_set(e, 1, "XX000", "could not encrypt a secret (OpenSSL)");
		goto fail;
	}
	memcpy(text, BTX_SEAL_PREFIX, PREFIX_LEN);
	for (i = 0; i < rawlen; i++)
	{
		text[PREFIX_LEN + 2 * i] = hexdigits[raw[i] >> 4];
		text[PREFIX_LEN + 2 * i + 1] = hexdigits[raw[i] & 15];
	}
	text[PREFIX_LEN + 2 * rawlen] = '\0';
	EVP_CIPHER_CTX_free(ctx);
	btx_seal_forget(raw, rawlen);
	*out = text;
	return 0;

fail:
	EVP_CIPHER_CTX_free(ctx);
	btx_seal_forget(raw, raw ? rawlen : 0);
	free(text);
	return -1;
}

int
btx_unseal(const uint8_t key[BTX_SEAL_KEY_LEN], const char *sealed, size_t sealed_len,
		   uint8_t **plain, size_t *n, btx_error *e)
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t    *raw = NULL;
	uint8_t    *pt = NULL;
	size_t		i,
				hexlen,
				rawlen = 0,
				ctlen;
	int			len = 0;

	*plain = NULL;
	*n = 0;
	hexlen = sealed_len - (btx_is_sealed(sealed, sealed_len) ? PREFIX_LEN : 0);
	if (!btx_is_sealed(sealed, sealed_len) || hexlen % 2 != 0 || hexlen / 2 < HEAD_LEN)
	{
		btx_error_set(e, 1, "22P02", "a stored secret is not in the sealed format");
		btx_error_detail(e, "Sealed secrets start with \"%s\" and hold at least %d bytes.", BTX_SEAL_PREFIX,
						 HEAD_LEN);
		return -1;
	}
	rawlen = hexlen / 2;
	ctlen = rawlen - HEAD_LEN;
	raw = malloc(rawlen);
	pt = malloc(ctlen + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (raw == NULL || pt == NULL || ctx == NULL)
	{
		btx_error_set(e, 1, "53200", "out of memory");
		goto fail;
	}
	for (i = 0; i < rawlen; i++)
	{
		int			hi = hexval(sealed[PREFIX_LEN + 2 * i]);
		int			lo = hexval(sealed[PREFIX_LEN + 2 * i + 1]);

		if (hi < 0 || lo < 0)
		{
			btx_error_set(e, 1, "22P02", "a stored secret is not in the sealed format");
			btx_error_detail(e, "Character %zu is not a lower-case hex digit.", PREFIX_LEN + 2 * i + (hi < 0 ? 0 : 1));
			goto fail;
		}
		raw[i] = (uint8_t) (hi << 4 | lo);
	}
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, BTX_SEAL_NONCE_LEN, NULL) != 1 ||
		EVP_DecryptInit_ex(ctx, NULL, NULL, key, raw) != 1 ||
		(ctlen > 0 && EVP_DecryptUpdate(ctx, pt, &len, raw + HEAD_LEN, (int) ctlen) != 1) ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, BTX_SEAL_TAG_LEN, raw + BTX_SEAL_NONCE_LEN) != 1 ||
		EVP_DecryptFinal_ex(ctx, pt + len, &len) != 1)
	{
		btx_error_set(e, 1, "28P01", "a stored secret does not open with this server's key");
		btx_error_detail(e, "The value was sealed under another key, or it was changed.");
		goto fail;
	}
	pt[ctlen] = '\0';
	EVP_CIPHER_CTX_free(ctx);
	btx_seal_forget(raw, rawlen);
	*plain = pt;
	*n = ctlen;
	return 0;

fail:
	EVP_CIPHER_CTX_free(ctx);
	btx_seal_forget(raw, raw ? rawlen : 0);
	btx_seal_forget(pt, pt ? ctlen + 1 : 0);
	return -1;
}
