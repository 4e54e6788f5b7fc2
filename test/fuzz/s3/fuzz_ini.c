/*
 * fuzz_ini.c — libFuzzer target for the shared-credentials INI reader, the
 * container/IMDS JSON parser and the SigV4 query/path canonicalisation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/s3/creds.h"
#include "core/s3/s3client.h"
#include "core/s3/sigv4.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sections[] = {"default", "dev", "profile dev", " x "};
	static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key", "region", ""};
	char	   *v = NULL;
	char	   *s;
	btx_s3_credentials c;
	btx_buf		b;
	time_t		t;

	if (size < 1)
		return 0;
	btx_creds_ini_get((const char *) data + 1, size - 1, sections[data[0] & 3],
					  keys[(data[0] >> 2) & 3], &v);
	free(v);
	memset(&c, 0, sizeof(c));
	btx_creds_parse_json((const char *) data, size, &c);
	btx_s3_credentials_clear(&c);

	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	btx_buf_init(&b);
	btx_sigv4_canonical_query(&b, s);
	btx_buf_reset(&b);
	btx_sigv4_canonical_uri(&b, s, BTX_SIGV4_PATH_ENCODE_NORMALIZE);
	btx_buf_free(&b);
	btx_http_parse_date(s, &t);
	free(s);
	return 0;
}
