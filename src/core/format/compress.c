/*
 * compress.c — gzip / zstd streaming sink (see compress.h).
 *
 * Design: a btx_zsink sits between a writer and its downstream sink: input
 * is compressed into one fixed output buffer (BTX_ZSINK_OUT_BYTES) that is
 * handed downstream each time it fills, so memory is constant whatever the
 * size of the file.  zlib writes one gzip member, zstd one frame; finish
 * flushes the trailer.  The first failure (the codec's or the downstream
 * sink's) is kept in the handle, and every later call fails with it.
 */
#include "core/format/compress.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

struct btx_zsink
{
	btx_zcodec	codec;
	btx_sink_fn down;
	void	   *down_ctx;
	z_stream	gz;
	int			gz_ready;
	ZSTD_CStream *zs;
	unsigned char *out;			/* BTX_ZSINK_OUT_BYTES */
	uint64_t	raw;
	uint64_t	written;
	int			finished;
	int			failed;
	btx_error	err;
};

static int
zfail(btx_zsink *z, int code, const char *sqlstate, const char *msg, const char *detail)
{
	if (!z->failed)
	{
		btx_error_set(&z->err, code, sqlstate, "%s", msg);
		if (detail)
			btx_error_detail(&z->err, "%s", detail);
		z->failed = 1;
	}
	return -1;
}

static int
push(btx_zsink *z, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (z->down(z->down_ctx, p, n) != 0)
		return zfail(z, 5, "58030", "could not write compressed output",
					 "The output sink failed.");
	z->written += n;
	return 0;
}

const char *
btx_zsink_suffix(btx_zcodec codec)
{
	switch (codec)
	{
		case BTX_ZSINK_GZIP:
			return ".gz";
		case BTX_ZSINK_ZSTD:
			return ".zst";
		default:
			return "";
	}
}

btx_zsink *
btx_zsink_open(btx_zcodec codec, int level, btx_sink_fn down, void *down_ctx,
			   btx_error *err)
{
	btx_zsink  *z;

	if (err)
		btx_error_clear(err);
	if (down == NULL)
	{
		if (err)
			btx_error_set(err, 2, "XX000", "compressing sink misuse: no downstream sink");
		return NULL;
	}
	z = calloc(1, sizeof(*z));
	if (z == NULL)
		goto oom;
	z->codec = codec;
	z->down = down;
	z->down_ctx = down_ctx;
	switch (codec)
	{
		case BTX_ZSINK_NONE:
			return z;
		case BTX_ZSINK_GZIP:
			if (level == 0)
				level = 6;
			if (level < 1 || level > 9)
			{
				if (err)
				{
					btx_error_set(err, 6, "22023", "invalid gzip compression level");
					btx_error_detail(err, "gzip levels run from 1 to 9; got %d.", level);
				}
				free(z);
				return NULL;
			}
			/* windowBits 15 + 16: gzip header and trailer */
			if (deflateInit2(&z->gz, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
				goto oom;
			z->gz_ready = 1;
			break;
		case BTX_ZSINK_ZSTD:
			if (level == 0)
				level = 3;
			if (level < 1 || level > ZSTD_maxCLevel())
			{
				if (err)
				{
					btx_error_set(err, 6, "22023", "invalid zstd compression level");
					btx_error_detail(err, "zstd levels run from 1 to %d; got %d.",
									 ZSTD_maxCLevel(), level);
				}
				free(z);
				return NULL;
			}
			z->zs = ZSTD_createCStream();
			if (z->zs == NULL)
				goto oom;
			if (ZSTD_isError(ZSTD_CCtx_setParameter(z->zs, ZSTD_c_compressionLevel, level)) ||
				ZSTD_isError(ZSTD_CCtx_setParameter(z->zs, ZSTD_c_checksumFlag, 1)))
				goto oom;
			break;
		default:
			if (err)
			{
				btx_error_set(err, 6, "22023", "unsupported compression codec");
				btx_error_detail(err, "Codec number %d is not one of none, gzip, zstd.", (int) codec);
			}
			free(z);
			return NULL;
	}
	z->out = malloc(BTX_ZSINK_OUT_BYTES);
	if (z->out == NULL)
		goto oom;
	return z;

oom:
	btx_zsink_free(z);
	if (err)
		btx_error_set(err, 1, "53200", "out of memory while compressing output");
	return NULL;
}

int
btx_zsink_write(void *ctx, const void *data, size_t len)
{
	btx_zsink  *z = (btx_zsink *) ctx;

	if (z->failed)
		return -1;
	if (z->finished)
		return zfail(z, 2, "XX000", "compressing sink misuse: write after finish", NULL);
	z->raw += len;
	if (z->codec == BTX_ZSINK_NONE)
		return push(z, data, len);
	if (z->codec == BTX_ZSINK_GZIP)
	{
		const unsigned char *p = data;

		while (len > 0)
		{
			/* avail_in is an unsigned int: feed at most 1 GB at a time */
			size_t		chunk = len > (1u << 30) ? (1u << 30) : len;

			z->gz.next_in = (Bytef *) p;
			z->gz.avail_in = (uInt) chunk;
			while (z->gz.avail_in > 0)
			{
				z->gz.next_out = z->out;
				z->gz.avail_out = BTX_ZSINK_OUT_BYTES;
				if (deflate(&z->gz, Z_NO_FLUSH) == Z_STREAM_ERROR)
					return zfail(z, 3, "XX000", "gzip compression failed", NULL);
				if (push(z, z->out, BTX_ZSINK_OUT_BYTES - z->gz.avail_out) != 0)
					return -1;
			}
			p += chunk;
			len -= chunk;
		}
		return 0;
	}
	else
	{
		ZSTD_inBuffer in = {data, len, 0};

		while (in.pos < in.size)
		{
			ZSTD_outBuffer out = {z->out, BTX_ZSINK_OUT_BYTES, 0};
			size_t		r = ZSTD_compressStream2(z->zs, &out, &in, ZSTD_e_continue);

			if (ZSTD_isError(r))
				return zfail(z, 3, "XX000", "zstd compression failed", ZSTD_getErrorName(r));
			if (push(z, z->out, out.pos) != 0)
				return -1;
		}
		return 0;
	}
}

int
btx_zsink_finish(btx_zsink *z, btx_error *err)
{
	if (!z->failed && z->finished)
		zfail(z, 2, "XX000", "compressing sink misuse: finish called twice", NULL);
	if (!z->failed && z->codec == BTX_ZSINK_GZIP)
	{
		int			r;

		z->gz.next_in = NULL;
		z->gz.avail_in = 0;
		do
		{
			z->gz.next_out = z->out;
			z->gz.avail_out = BTX_ZSINK_OUT_BYTES;
			r = deflate(&z->gz, Z_FINISH);
			if (r == Z_STREAM_ERROR)
			{
				zfail(z, 3, "XX000", "gzip compression failed", NULL);
				break;
			}
			if (push(z, z->out, BTX_ZSINK_OUT_BYTES - z->gz.avail_out) != 0)
				break;
		} while (r != Z_STREAM_END);
	}
	else if (!z->failed && z->codec == BTX_ZSINK_ZSTD)
	{
		size_t		r;

		do
		{
			ZSTD_inBuffer in = {NULL, 0, 0};
			ZSTD_outBuffer out = {z->out, BTX_ZSINK_OUT_BYTES, 0};

			r = ZSTD_compressStream2(z->zs, &out, &in, ZSTD_e_end);
			if (ZSTD_isError(r))
			{
				zfail(z, 3, "XX000", "zstd compression failed", ZSTD_getErrorName(r));
				break;
			}
			if (push(z, z->out, out.pos) != 0)
				break;
		} while (r != 0);
	}
	z->finished = 1;
	if (z->failed)
	{
		if (err)
			*err = z->err;
		return -1;
	}
	if (err)
		btx_error_clear(err);
	return 0;
}

const btx_error *
btx_zsink_error(const btx_zsink *z)
{
	return &z->err;
}

uint64_t
btx_zsink_raw_bytes(const btx_zsink *z)
{
	return z->raw;
}

uint64_t
btx_zsink_out_bytes(const btx_zsink *z)
{
	return z->written;
}

void
btx_zsink_free(btx_zsink *z)
{
	if (z == NULL)
		return;
	if (z->gz_ready)
		deflateEnd(&z->gz);
	if (z->zs)
		ZSTD_freeCStream(z->zs);
	free(z->out);
	free(z);
}
