/*
 * fuzz_xml.c — libFuzzer target for the S3/STS XML response parsers.
 * The first byte picks the parser; the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/s3/s3xml.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml;
	size_t		len;

	if (size < 1)
		return 0;
	xml = (const char *) data + 1;
	len = size - 1;
	switch (data[0] % 7)
	{
		case 0:
			{
				btx_s3xml_error e;

				btx_s3xml_parse_error(xml, len, &e);
				break;
			}
		case 1:
			{
				char	   *id = NULL;

				btx_s3xml_parse_initiate(xml, len, &id);
				free(id);
				break;
			}
		case 2:
			{
				char		etag[128];

				btx_s3xml_parse_complete(xml, len, etag, sizeof(etag));
				break;
			}
		case 3:
			{
				btx_s3_object_list l;

				memset(&l, 0, sizeof(l));
				btx_s3xml_parse_list_objects(xml, len, &l);
				btx_s3_object_list_free(&l);
				break;
			}
		case 4:
			{
				btx_s3_upload_list l;

				memset(&l, 0, sizeof(l));
				btx_s3xml_parse_list_uploads(xml, len, &l);
				btx_s3_upload_list_free(&l);
				break;
			}
		case 5:
			{
				btx_s3xml_sts_credentials c;

				if (btx_s3xml_parse_sts_credentials(xml, len, &c) == 0)
					btx_s3xml_sts_credentials_free(&c);
				break;
			}
		default:
			{
				char	   *s = malloc(len + 1);
				time_t		t;

				memcpy(s, xml, len);
				s[len] = '\0';
				btx_s3xml_parse_iso8601(s, &t);
				free(s);
				break;
			}
	}
	return 0;
}
