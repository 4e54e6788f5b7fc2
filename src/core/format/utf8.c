/*
 * utf8.c — UTF-8 validation shared by the output writers (Parquet STRING/JSON
 * values, JSON Lines strings): well-formed sequences only, no overlong forms,
 * no surrogates, nothing above U+10FFFF.  An ASCII run is checked 8 bytes at
 * a time.
 */
#include "core/format/utf8.h"

#include <stdint.h>
#include <string.h>

int
btx_utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t		i = 0;

	while (i < n)
	{
		unsigned char c;

		/* ASCII fast path, 8 bytes at a time */
		while (i + 8 <= n)
		{
			uint64_t	x;

			memcpy(&x, s + i, 8);
			if (x & UINT64_C(0x8080808080808080))
				break;
			i += 8;
		}
		if (i >= n)
			break;
		c = s[i];
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
		{
			if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
				return 0;
			i += 2;
		}
		else if (c >= 0xE0 && c <= 0xEF)
		{
			unsigned char c1;

			if (i + 2 >= n)
				return 0;
			c1 = s[i + 1];
			if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
				return 0;
			if (c == 0xE0 && c1 < 0xA0)
				return 0;		/* overlong */
			if (c == 0xED && c1 > 0x9F)
				return 0;		/* surrogate */
			i += 3;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			unsigned char c1;

			if (i + 3 >= n)
				return 0;
			c1 = s[i + 1];
			if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
				(s[i + 3] & 0xC0) != 0x80)
				return 0;
			if (c == 0xF0 && c1 < 0x90)
				return 0;		/* overlong */
			if (c == 0xF4 && c1 > 0x8F)
				return 0;		/* > U+10FFFF */
			i += 4;
		}
		else
			return 0;
	}
	return 1;
}
