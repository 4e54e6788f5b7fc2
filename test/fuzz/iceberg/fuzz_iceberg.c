/*
 * libFuzzer target for the decoders of src/core/iceberg, which read what is
 * stored in a bucket (untrusted): the first byte chooses table metadata JSON,
 * a manifest (decoded for a partitioned table, and without a table), or a
 * manifest list; the rest is the object.  Sanitizers catch memory errors and
 * leaks; a decoded manifest must re-encode, and a parsed table must
 * serialise and parse back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/iceberg/iceberg.h"

static const btx_ice_field fields[] = {
	{1, "id", BTX_ICE_STRING, 0, 0},
	{2, "created", BTX_ICE_TIMESTAMPTZ, 0, 0},
	{3, "tags", BTX_ICE_LIST_STRING, 5, 0},
	{4, "score", BTX_ICE_DOUBLE, 0, 0},
};

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	btx_error	err;
	btx_buf		out;
	int			mode;

	if (size < 1)
		return 0;
	mode = data[0] % 4;
	data++;
	size--;
	btx_buf_init(&out);
	if (mode == 0)
	{
		btx_ice_table *t = btx_ice_table_parse((const char *) data, size, 1, &err);

		if (t)
		{
			btx_ice_table *u;

			if (btx_ice_table_json(t, &out, &err) != 0)
				abort();
			u = btx_ice_table_parse(out.data, out.len, 2, &err);
			if (u == NULL)
				abort();
			btx_ice_table_free(u);
			btx_ice_table_free(t);
		}
	}
	else if (mode == 1 || mode == 3)
	{
		btx_ice_table_def d;
		btx_ice_table *t;
		btx_ice_entry *e;
		int			n;

		memset(&d, 0, sizeof(d));
		d.location = "s3://b/t";
		d.table_uuid = "4f0a5c3e-1111-4222-8333-444455556666";
		d.fields = fields;
		d.nfields = 4;
		d.identifier_id = 1;
		d.day_source_id = 2;
		t = btx_ice_table_create(&d, &err);
		if (t == NULL)
			abort();
		if (btx_ice_manifest_decode(mode == 1 ? t : NULL, data, size, &e, &n, &err) == 0)
		{
			int			i;
			int			content = n > 0 && e[0].file.content != BTX_ICE_DATA;
			int			same = 1;

			for (i = 0; i < n; i++)
				same &= (e[i].file.content != BTX_ICE_DATA) == content;
			/* re-encoding what was decoded for this table must work */
			if (mode == 1 && same && btx_ice_manifest_encode(t, content, e, n, "null", &out, &err) != 0 &&
				err.code != BTX_ICE_E_INVALID)
				abort();
			btx_ice_entries_free(e, n);
		}
		btx_ice_table_free(t);
	}
	else
	{
		btx_ice_manifest *m;
		int			n;

		if (btx_ice_manifest_list_decode(data, size, &m, &n, &err) == 0)
		{
			int			i;

			if (btx_ice_manifest_list_encode(1, -1, 1, m, n, "deflate", &out, &err) != 0)
				abort();
			for (i = 0; i < n; i++)
				btx_ice_manifest_free(&m[i]);
			free(m);
		}
	}
	btx_buf_free(&out);
	return 0;
}
