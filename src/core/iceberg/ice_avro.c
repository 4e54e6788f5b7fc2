/*
 * ice_avro.c — Avro object container files (the framing of Iceberg manifests
 * and manifest lists), written and read by hand.
 *
 * Records are encoded and decoded with avro-c (ice_manifest.c), but avro-c's
 * file writer puts only avro.schema and avro.codec into the header, while
 * Iceberg needs its own keys there (schema, partition-spec, format-version,
 * content, snapshot-id ...).  So the container is framed here, per the Avro
 * spec: "Obj\x01", the metadata map (long count, string keys, bytes values,
 * 0), a 16-byte sync marker, then blocks of (long record count, long byte
 * size, data, sync marker).  Codecs: "null" and "deflate" (raw RFC 1951, as
 * the reference implementation writes); everything is one block.
 *
 * Reading accepts what the reference writers produce: several blocks,
 * negative map block counts (with their byte size), both codecs.  Input is
 * untrusted: every length is checked against what remains.
 */
#include "core/iceberg/ice_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* decompressed size limit of one block: a manifest is small; refuse bombs */
#define ICE_MAX_BLOCK	((size_t) 512 * 1024 * 1024)

static void
put_long(btx_buf *b, int64_t v)
{
	uint64_t	u = ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);
	unsigned char tmp[10];
	int			n = 0;

	while (u >= 0x80)
	{
		tmp[n++] = (unsigned char) (u | 0x80);
		u >>= 7;
	}
	tmp[n++] = (unsigned char) u;
	btx_buf_append(b, tmp, n);
}

static void
put_bytes(btx_buf *b, const void *p, size_t n)
{
	put_long(b, (int64_t) n);
	btx_buf_append(b, p, n);
}

static int
deflate_raw(const btx_buf *in, btx_buf *out, btx_error *err)
{
	z_stream	z;
	uLong		bound;
	int			rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return ice_oom(err);
	bound = deflateBound(&z, (uLong) in->len);
	if (btx_buf_reserve(out, bound) != 0)
	{
		deflateEnd(&z);
		return ice_oom(err);
	}
	z.next_in = (Bytef *) (in->data ? in->data : "");
	z.avail_in = (uInt) in->len;
	z.next_out = (Bytef *) out->data + out->len;
	z.avail_out = (uInt) bound;
	rc = deflate(&z, Z_FINISH);
	if (rc != Z_STREAM_END)
	{
		deflateEnd(&z);
		return ice_fail(err, BTX_ICE_E_OOM, "XX000", "could not compress an Avro block");
	}
	out->len += z.total_out;
	deflateEnd(&z);
	return 0;
}

int
ice_ocf_write(btx_buf *out, const char *schema_json, const char *codec,
			  const ice_ocf_meta *meta, int nmeta, const btx_buf *records,
			  int64_t nrecords, btx_error *err)
{
	unsigned char sync[16];
	btx_buf		comp;
	const btx_buf *body = records;
	int			i;

	if (codec == NULL)
		codec = "deflate";
	if (strcmp(codec, "null") != 0 && strcmp(codec, "deflate") != 0)
		return ice_fail(err, BTX_ICE_E_INVALID, "22023", "unsupported Avro codec \"%s\"", codec);
	/* the sync marker only needs to be unlikely inside the data: random */
	if (ice_random_bytes(sync, 16, err) != 0)
		return -1;

	btx_buf_append(out, "Obj\x01", 4);
	put_long(out, nmeta + 2);
	put_bytes(out, "avro.schema", 11);
	put_bytes(out, schema_json, strlen(schema_json));
	put_bytes(out, "avro.codec", 10);
	put_bytes(out, codec, strlen(codec));
	for (i = 0; i < nmeta; i++)
	{
		put_bytes(out, meta[i].key, strlen(meta[i].key));
		put_bytes(out, meta[i].value, strlen(meta[i].value));
	}
	put_long(out, 0);
	btx_buf_append(out, sync, 16);

	btx_buf_init(&comp);
	if (nrecords > 0)
	{
		if (strcmp(codec, "deflate") == 0)
		{
			if (deflate_raw(records, &comp, err) != 0)
			{
				btx_buf_free(&comp);
				return -1;
			}
			body = &comp;
		}
		put_long(out, nrecords);
		put_long(out, (int64_t) body->len);
		btx_buf_append(out, body->data ? body->data : "", body->len);
		btx_buf_append(out, sync, 16);
	}
	btx_buf_free(&comp);
	if (out->oom)
		return ice_oom(err);
	return 0;
}

/* ---------- reading ---------- */

typedef struct rd
{
	const unsigned char *p;
	size_t		len;
	size_t		off;
} rd;

static int
get_long(rd *r, int64_t *v)
{
	uint64_t	u = 0;
	int			shift = 0;

	for (;;)
	{
		unsigned char c;

		if (r->off >= r->len || shift > 63)
			return -1;
		c = r->p[r->off++];
		u |= (uint64_t) (c & 0x7F) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
	}
	*v = (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
	return 0;
}

static int
get_bytes(rd *r, const unsigned char **p, size_t *n)
{
	int64_t		l;

	if (get_long(r, &l) != 0 || l < 0 || (uint64_t) l > r->len - r->off)
		return -1;
	*p = r->p + r->off;
	*n = (size_t) l;
	r->off += (size_t) l;
	return 0;
}

static char *
dup_n(const unsigned char *p, size_t n)
{
	char	   *d = malloc(n + 1);

	if (d)
	{
		if (n)
			memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

static int
inflate_raw(const unsigned char *p, size_t n, btx_buf *out, btx_error *err)
{
	z_stream	z;
	int			rc = Z_OK;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return ice_oom(err);
	z.next_in = (Bytef *) p;
	z.avail_in = (uInt) n;
	while (rc != Z_STREAM_END)
	{
		size_t		room = n * 4 + 4096;
		size_t		before = z.total_out;

		if (out->len + room > ICE_MAX_BLOCK || btx_buf_reserve(out, room) != 0)
		{
			inflateEnd(&z);
			return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "Avro block too large or out of memory");
		}
		z.next_out = (Bytef *) out->data + out->len;
		z.avail_out = (uInt) room;
		rc = inflate(&z, Z_NO_FLUSH);
		out->len += z.total_out - before;
		if (rc != Z_OK && rc != Z_STREAM_END)
		{
			inflateEnd(&z);
			return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "corrupt deflate block in an Avro file");
		}
		if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0)
		{
			inflateEnd(&z);
			return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "truncated deflate block in an Avro file");
		}
	}
	inflateEnd(&z);
	return 0;
}

static int
corrupt(btx_error *err, const char *what)
{
	return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "invalid Avro file: %s", what);
}

int
ice_ocf_read(const void *data, size_t len, ice_ocf *o, btx_error *err)
{
	rd			r = {data, len, 0};
	unsigned char sync[16];
	const char *codec;
	int			cap = 0;

	memset(o, 0, sizeof(*o));
	btx_buf_init(&o->records);
	if (len < 4 || memcmp(data, "Obj\x01", 4) != 0)
		return corrupt(err, "no Avro magic");
	r.off = 4;
	for (;;)
	{
		int64_t		cnt;
		int64_t		i;

		if (get_long(&r, &cnt) != 0)
			return corrupt(err, "truncated header");
		if (cnt == 0)
			break;
		if (cnt < 0)
		{
			int64_t		sz;

			if (cnt == INT64_MIN || get_long(&r, &sz) != 0)
				return corrupt(err, "bad header block");
			cnt = -cnt;
		}
		if (cnt > 100000)
			return corrupt(err, "too many header entries");
		for (i = 0; i < cnt; i++)
		{
			const unsigned char *k;
			const unsigned char *v;
			size_t		kn;
			size_t		vn;

			if (get_bytes(&r, &k, &kn) != 0 || get_bytes(&r, &v, &vn) != 0)
				return corrupt(err, "truncated header entry");
			if (o->nmeta == cap)
			{
				int			ncap = cap ? cap * 2 : 8;
				char	  **nk = realloc(o->keys, sizeof(char *) * ncap);
				char	  **nv;
				size_t	   *nl;

				if (nk == NULL)
					return ice_oom(err);
				o->keys = nk;
				nv = realloc(o->values, sizeof(char *) * ncap);
				if (nv == NULL)
					return ice_oom(err);
				o->values = nv;
				nl = realloc(o->value_lens, sizeof(size_t) * ncap);
				if (nl == NULL)
					return ice_oom(err);
				o->value_lens = nl;
				cap = ncap;
			}
			o->keys[o->nmeta] = dup_n(k, kn);
			o->values[o->nmeta] = dup_n(v, vn);
			o->value_lens[o->nmeta] = vn;
			o->nmeta++;
			if (o->keys[o->nmeta - 1] == NULL || o->values[o->nmeta - 1] == NULL)
				return ice_oom(err);
		}
	}
	if (len - r.off < 16)
		return corrupt(err, "no sync marker");
	memcpy(sync, r.p + r.off, 16);
	r.off += 16;
	if (ice_ocf_get(o, "avro.schema") == NULL)
		return corrupt(err, "no avro.schema in the header");
	codec = ice_ocf_get(o, "avro.codec");
	if (codec == NULL)
		codec = "null";
	if (strcmp(codec, "null") != 0 && strcmp(codec, "deflate") != 0)
		return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "unsupported Avro codec \"%s\"", codec);
	while (r.off < len)
	{
		int64_t		cnt;
		const unsigned char *b;
		size_t		bn;

		if (get_long(&r, &cnt) != 0 || cnt < 0 || get_bytes(&r, &b, &bn) != 0)
			return corrupt(err, "truncated block");
		if (len - r.off < 16 || memcmp(r.p + r.off, sync, 16) != 0)
			return corrupt(err, "block not followed by the sync marker");
		r.off += 16;
		if (strcmp(codec, "deflate") == 0)
		{
			if (inflate_raw(b, bn, &o->records, err) != 0)
				return -1;
		}
		else if (btx_buf_append(&o->records, b, bn) != 0)
			return ice_oom(err);
		o->nrecords += cnt;
	}
	return 0;
}

const char *
ice_ocf_get(const ice_ocf *o, const char *key)
{
	int			i;

	for (i = 0; i < o->nmeta; i++)
		if (strcmp(o->keys[i], key) == 0)
			return o->values[i];
	return NULL;
}

void
ice_ocf_free(ice_ocf *o)
{
	int			i;

	for (i = 0; i < o->nmeta; i++)
	{
		if (o->keys)
			free(o->keys[i]);
		if (o->values)
			free(o->values[i]);
	}
	free(o->keys);
	free(o->values);
	free(o->value_lens);
	btx_buf_free(&o->records);
	memset(o, 0, sizeof(*o));
}

/* ---------- validation of untrusted record bytes ---------- */

/*
 * avro-c allocates what a length prefix says before it checks that the bytes
 * are there, so a corrupt manifest could ask for exabytes.  Every record is
 * first walked here against the writer schema (JSON), checking each length
 * and count against the bytes that remain and the nesting depth; only data
 * that passes goes to avro-c.  Named type references are not supported (the
 * reference writers define each type inline).
 */
#define ICE_MAX_DEPTH	32

static int	walk(json_t *type, rd *r, int depth);

static int
skip(rd *r, size_t n)
{
	if (n > r->len - r->off)
		return -1;
	r->off += n;
	return 0;
}

static int
walk_blocks(json_t *items, rd *r, int depth, int is_map)
{
	for (;;)
	{
		int64_t		cnt;
		int64_t		i;

		if (get_long(r, &cnt) != 0)
			return -1;
		if (cnt == 0)
			return 0;
		if (cnt < 0)
		{
			int64_t		sz;

			if (cnt == INT64_MIN || get_long(r, &sz) != 0)
				return -1;
			cnt = -cnt;
		}
		/* every item takes at least one byte, or the count is absurd */
		if ((uint64_t) cnt > r->len - r->off + 1)
			return -1;
		for (i = 0; i < cnt; i++)
		{
			const unsigned char *p;
			size_t		n;

			if (is_map && get_bytes(r, &p, &n) != 0)
				return -1;
			if (walk(items, r, depth + 1) != 0)
				return -1;
		}
	}
}

static int
walk(json_t *type, rd *r, int depth)
{
	const char *t;
	int64_t		v;

	if (depth > ICE_MAX_DEPTH)
		return -1;
	if (json_is_array(type))
	{
		if (get_long(r, &v) != 0 || v < 0 || (size_t) v >= json_array_size(type))
			return -1;
		return walk(json_array_get(type, (size_t) v), r, depth + 1);
	}
	if (json_is_object(type))
	{
		json_t	   *inner = json_object_get(type, "type");

		t = json_string_value(inner);
		if (t == NULL)
			return json_is_object(inner) || json_is_array(inner) ? walk(inner, r, depth + 1) : -1;
		if (strcmp(t, "record") == 0)
		{
			json_t	   *f;
			size_t		i;

			json_array_foreach(json_object_get(type, "fields"), i, f)
			{
				if (walk(json_object_get(f, "type"), r, depth + 1) != 0)
					return -1;
			}
			return 0;
		}
		if (strcmp(t, "array") == 0)
			return walk_blocks(json_object_get(type, "items"), r, depth, 0);
		if (strcmp(t, "map") == 0)
			return walk_blocks(json_object_get(type, "values"), r, depth, 1);
		if (strcmp(t, "fixed") == 0)
		{
			json_t	   *sz = json_object_get(type, "size");

			return json_is_integer(sz) && json_integer_value(sz) >= 0 ?
				skip(r, (size_t) json_integer_value(sz)) : -1;
		}
		if (strcmp(t, "enum") == 0)
			return get_long(r, &v) != 0 || v < 0 ||
				(size_t) v >= json_array_size(json_object_get(type, "symbols")) ? -1 : 0;
		/* a primitive with attributes (logicalType ...) */
		type = inner;
	}
	t = json_string_value(type);
	if (t == NULL)
		return -1;
	if (strcmp(t, "null") == 0)
		return 0;
	if (strcmp(t, "boolean") == 0)
		return skip(r, 1);
	if (strcmp(t, "int") == 0 || strcmp(t, "long") == 0)
		return get_long(r, &v);
	if (strcmp(t, "float") == 0)
		return skip(r, 4);
	if (strcmp(t, "double") == 0)
		return skip(r, 8);
	if (strcmp(t, "bytes") == 0 || strcmp(t, "string") == 0)
	{
		const unsigned char *p;
		size_t		n;

		return get_bytes(r, &p, &n);
	}
	return -1;					/* a named type reference, or no Avro type */
}

int
ice_ocf_validate(const ice_ocf *o, json_t *schema, btx_error *err)
{
	rd			r = {(const unsigned char *) o->records.data, o->records.len, 0};
	int64_t		i;

	for (i = 0; i < o->nrecords; i++)
		if (walk(schema, &r, 0) != 0)
			return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001",
							"invalid Avro file: record %lld does not match its schema", (long long) i + 1);
	if (r.off != r.len)
		return corrupt(err, "bytes after the last record");
	return 0;
}
