/*
 * test_seal.c — the seal core (src/core/seal): round trips (empty, binary,
 * long), a fresh nonce gives another text, and every way a stored value can
 * be wrong is refused with its SQLSTATE: another key, a changed byte of the
 * nonce, tag or ciphertext, truncation, no prefix, odd or non-hex digits.
 * Prints "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/seal/btx_seal.h"

static int	passed,
			failed;

static void
check(const char *name, int ok, const char *info)
{
	if (ok)
		passed++;
	else
		failed++;
	printf("%s - %s%s%s\n", ok ? "ok" : "not ok", name, ok || !info ? "" : ": ", ok || !info ? "" : info);
}

static const uint8_t key[BTX_SEAL_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const uint8_t key2[BTX_SEAL_KEY_LEN] = "0123456789abcdef0123456789abcdeF";
static const uint8_t nonce[BTX_SEAL_NONCE_LEN] = "nonce-12byte";
static const uint8_t nonce2[BTX_SEAL_NONCE_LEN] = "nonce-12bytf";

/* does sealed (as given) open to want[0..n)? */
static int
opens_to(const uint8_t *k, const char *sealed, const uint8_t *want, size_t n)
{
	btx_error	e;
	uint8_t    *p;
	size_t		m;
	int			ok;

	btx_error_clear(&e);
	if (btx_unseal(k, sealed, strlen(sealed), &p, &m, &e) != 0)
		return 0;
	ok = m == n && memcmp(p, want, n) == 0 && p[n] == '\0';
	btx_seal_forget(p, m + 1);
	return ok;
}

/* is sealed refused with this SQLSTATE? */
static int
refused(const uint8_t *k, const char *sealed, size_t len, const char *sqlstate)
{
	btx_error	e;
	uint8_t    *p = NULL;
	size_t		m = 0;
	int			rc;

	btx_error_clear(&e);
	rc = btx_unseal(k, sealed, len, &p, &m, &e);
	if (rc == 0)
		btx_seal_forget(p, m + 1);
	return rc != 0 && p == NULL && strcmp(e.sqlstate, sqlstate) == 0 && e.message[0];
}

int
main(void)
{
	btx_error	e;
	char	   *s = NULL,
			   *s2 = NULL;
	const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	uint8_t		bin[300];
	char	   *big;
	size_t		i;

	btx_error_clear(&e);
	check("seal", btx_seal(key, nonce, (const uint8_t *) secret, strlen(secret), &s, &e) == 0 && s != NULL, e.message);
	check("the sealed text has the prefix and not the secret",
		  strncmp(s, BTX_SEAL_PREFIX, 5) == 0 && strstr(s, secret) == NULL && btx_is_sealed(s, strlen(s)), s);
	check("it opens to the secret", opens_to(key, s, (const uint8_t *) secret, strlen(secret)), s);
	check("another nonce gives another text",
		  btx_seal(key, nonce2, (const uint8_t *) secret, strlen(secret), &s2, &e) == 0 && strcmp(s, s2) != 0
		  && opens_to(key, s2, (const uint8_t *) secret, strlen(secret)), s2);
	check("another key does not open it (28P01)", refused(key2, s, strlen(s), "28P01"), NULL);
	/* every position of nonce, tag and ciphertext: a changed digit is refused */
	{
		int			all = 1;
		size_t		len = strlen(s);

		for (i = 5; i < len; i++)
		{
			char	   *t = strdup(s);

			t[i] = t[i] == '0' ? '1' : '0';
			all &= refused(key, t, len, "28P01");
			free(t);
		}
		check("a changed digit anywhere in nonce, tag or ciphertext is refused (28P01)", all, NULL);
	}
	check("a truncated value is refused", refused(key, s, strlen(s) - 2, "28P01"), NULL);
	check("a value shorter than nonce and tag is refused (22P02)", refused(key, s, 5 + 2 * 27, "22P02"), NULL);
	check("an odd number of digits is refused (22P02)", refused(key, s, strlen(s) - 1, "22P02"), NULL);
	check("no prefix: plain text is refused (22P02)", refused(key, secret, strlen(secret), "22P02"), NULL);
	{
		char	   *t = strdup(s);

		t[10] = 'G';
		check("a non-hex digit is refused (22P02)", refused(key, t, strlen(t), "22P02"), NULL);
		t[10] = 'A';
		check("upper-case hex is not the format (22P02)", refused(key, t, strlen(t), "22P02"), NULL);
		free(t);
	}
	free(s);
	free(s2);

	check("an empty secret round-trips", btx_seal(key, nonce, (const uint8_t *) "", 0, &s, &e) == 0
		  && opens_to(key, s, (const uint8_t *) "", 0), e.message);
	free(s);
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t) (i * 7);
	check("binary bytes (NULs included) round-trip", btx_seal(key, nonce, bin, sizeof(bin), &s, &e) == 0
		  && opens_to(key, s, bin, sizeof(bin)), e.message);
	free(s);
	big = malloc(1 << 20);
	memset(big, 'k', 1 << 20);
	check("a 1 MB secret round-trips", btx_seal(key, nonce, (const uint8_t *) big, 1 << 20, &s, &e) == 0
		  && opens_to(key, s, (const uint8_t *) big, 1 << 20), e.message);
	free(s);
	free(big);
	check("an over-long secret is refused (54000)", btx_seal(key, nonce, bin, (size_t) 65 * 1024 * 1024, &s, &e) != 0
		  && s == NULL && strcmp(e.sqlstate, "54000") == 0, e.message);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
