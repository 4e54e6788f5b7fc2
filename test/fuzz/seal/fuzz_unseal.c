/*
 * fuzz_unseal.c — libFuzzer target for btx_unseal (a stored value read back
 * from the database) and the seal/unseal round trip of any bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/seal/btx_seal.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[BTX_SEAL_KEY_LEN] = "fuzz-key-fuzz-key-fuzz-key-fuzz!";
	static const uint8_t nonce[BTX_SEAL_NONCE_LEN] = "fuzz-nonce12";
	btx_error	e;
	uint8_t    *p = NULL;
	size_t		n = 0;
	char	   *s = NULL;

	btx_error_clear(&e);
	if (btx_unseal(key, (const char *) data, size, &p, &n, &e) == 0)
		btx_seal_forget(p, n + 1);
	/* whatever the bytes, sealing and opening gives them back */
	if (btx_seal(key, nonce, data, size, &s, &e) == 0)
	{
		if (btx_unseal(key, s, strlen(s), &p, &n, &e) != 0 || n != size || memcmp(p, data, size) != 0)
			abort();
		btx_seal_forget(p, n + 1);
		free(s);
	}
	return 0;
}
