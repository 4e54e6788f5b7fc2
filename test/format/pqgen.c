/*
 * pqgen — write a Parquet file with btexport's writer from a JSON fixture.
 *
 * usage: pqgen [options] fixture.json out.parquet
 *   --codec none|snappy|gzip|zstd   --level N
 *   --row-group-bytes N  --row-group-rows N  --page-bytes N  --page-rows N
 *   --dict-bytes N  --no-dict  --json-as-string  --kv key=value  --created-by S
 *
 * fixture: {"columns":[{"name":"a","type":"string|json|timestamp|int64|double|boolean|list"}...],
 *           "rows":[[v, ...], ...]}
 * Values: null; strings for string/json (json: the JSON text); int64 and
 * timestamp (Unix microseconds) as decimal strings or integers; double as a
 * number or a string for strtod ("nan", "inf", "-inf", "-0"); boolean;
 * list: array of strings / nulls.
 * Prints "rows=N bytes=N row_groups=N" on success; errors go to stderr, exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/format/parquet.h"

static int
file_sink(void *ctx, const void *data, size_t len)
{
	return fwrite(data, 1, len, (FILE *) ctx) == len ? 0 : -1;
}

static int
parse_type(const char *s, btx_pq_type *t)
{
	static const struct
	{
		const char *n;
		btx_pq_type t;
	}			m[] = {
		{"string", BTX_PQ_STRING}, {"json", BTX_PQ_JSON}, {"timestamp", BTX_PQ_TIMESTAMP},
		{"int64", BTX_PQ_INT64}, {"double", BTX_PQ_DOUBLE}, {"boolean", BTX_PQ_BOOLEAN},
		{"list", BTX_PQ_LIST_STRING},
	};
	size_t		i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(s, m[i].n) == 0)
		{
			*t = m[i].t;
			return 0;
		}
	return -1;
}

static int
get_int64(json_t *v, int64_t *out)
{
	if (json_is_integer(v))
	{
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
	{
		char	   *end;

		errno = 0;
		*out = strtoll(json_string_value(v), &end, 10);
		return (errno || *end) ? -1 : 0;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	btx_pq_options opt;
	btx_pq_kv	kv[16];
	int			nkv = 0;
	int			no_dict = 0;
	const char *in = NULL;
	const char *outp = NULL;
	json_t	   *root;
	json_t	   *jcols;
	json_t	   *jrows;
	json_error_t jerr;
	btx_pq_column *cols;
	btx_pq_writer *w;
	btx_error	err;
	FILE	   *f;
	size_t		ncols;
	size_t		r;
	size_t		i;
	int			a;

	btx_pq_options_init(&opt);
	for (a = 1; a < argc; a++)
	{
		const char *s = argv[a];

		if (strcmp(s, "--codec") == 0 && a + 1 < argc)
		{
			const char *c = argv[++a];

			if (strcmp(c, "none") == 0)
				opt.codec = BTX_PQ_CODEC_NONE;
			else if (strcmp(c, "snappy") == 0)
				opt.codec = BTX_PQ_CODEC_SNAPPY;
			else if (strcmp(c, "gzip") == 0)
				opt.codec = BTX_PQ_CODEC_GZIP;
			else if (strcmp(c, "zstd") == 0)
				opt.codec = BTX_PQ_CODEC_ZSTD;
			else
			{
				fprintf(stderr, "unknown codec %s\n", c);
				return 2;
			}
		}
		else if (strcmp(s, "--level") == 0 && a + 1 < argc)
			opt.level = atoi(argv[++a]);
		else if (strcmp(s, "--row-group-bytes") == 0 && a + 1 < argc)
			opt.row_group_bytes = strtoull(argv[++a], NULL, 10);
		else if (strcmp(s, "--row-group-rows") == 0 && a + 1 < argc)
			opt.row_group_rows = strtoll(argv[++a], NULL, 10);
		else if (strcmp(s, "--page-bytes") == 0 && a + 1 < argc)
			opt.page_bytes = strtoull(argv[++a], NULL, 10);
		else if (strcmp(s, "--page-rows") == 0 && a + 1 < argc)
			opt.page_rows = atoi(argv[++a]);
		else if (strcmp(s, "--dict-bytes") == 0 && a + 1 < argc)
			opt.dict_bytes = strtoull(argv[++a], NULL, 10);
		else if (strcmp(s, "--no-dict") == 0)
			no_dict = 1;
		else if (strcmp(s, "--json-as-string") == 0)
			opt.json_as_string = 1;
		else if (strcmp(s, "--created-by") == 0 && a + 1 < argc)
			opt.created_by = argv[++a];
		else if (strcmp(s, "--kv") == 0 && a + 1 < argc && nkv < 16)
		{
			char	   *eq = strchr(argv[++a], '=');

			if (eq == NULL)
				return 2;
			*eq = '\0';
			kv[nkv].key = argv[a];
			kv[nkv].value = eq + 1;
			nkv++;
		}
		else if (in == NULL)
			in = s;
		else if (outp == NULL)
			outp = s;
		else
		{
			fprintf(stderr, "usage: pqgen [options] fixture.json out.parquet\n");
			return 2;
		}
	}
	if (in == NULL || outp == NULL)
	{
		fprintf(stderr, "usage: pqgen [options] fixture.json out.parquet\n");
		return 2;
	}
	opt.kv = kv;
	opt.nkv = nkv;

	root = json_load_file(in, JSON_DECODE_INT_AS_REAL * 0, &jerr);
	if (root == NULL)
	{
		fprintf(stderr, "%s:%d: %s\n", in, jerr.line, jerr.text);
		return 1;
	}
	jcols = json_object_get(root, "columns");
	jrows = json_object_get(root, "rows");
	if (!json_is_array(jcols) || !json_is_array(jrows))
	{
		fprintf(stderr, "fixture needs columns and rows arrays\n");
		return 1;
	}
	ncols = json_array_size(jcols);
	cols = calloc(ncols ? ncols : 1, sizeof(*cols));
	for (i = 0; i < ncols; i++)
	{
		json_t	   *c = json_array_get(jcols, i);
		const char *t = json_string_value(json_object_get(c, "type"));

		cols[i].name = json_string_value(json_object_get(c, "name"));
		cols[i].no_dictionary = no_dict || json_is_true(json_object_get(c, "no_dict"));
		if (t == NULL || parse_type(t, &cols[i].type) != 0)
		{
			fprintf(stderr, "column %zu: bad type\n", i);
			return 1;
		}
	}
	f = fopen(outp, "wb");
	if (f == NULL)
	{
		perror(outp);
		return 1;
	}
	w = btx_pq_open(cols, (int) ncols, &opt, file_sink, f, &err);
	if (w == NULL)
		goto fail;
	for (r = 0; r < json_array_size(jrows); r++)
	{
		json_t	   *row = json_array_get(jrows, r);

		for (i = 0; i < ncols; i++)
		{
			json_t	   *v = json_array_get(row, i);
			int			rc = 0;
			int64_t		iv;

			if (v == NULL || json_is_null(v))
			{
				rc = btx_pq_null(w, (int) i);
				if (rc)
					break;
				continue;
			}
			switch (cols[i].type)
			{
				case BTX_PQ_STRING:
				case BTX_PQ_JSON:
					rc = btx_pq_bytes(w, (int) i, json_string_value(v), json_string_length(v));
					break;
				case BTX_PQ_TIMESTAMP:
				case BTX_PQ_INT64:
					if (get_int64(v, &iv) != 0)
					{
						fprintf(stderr, "row %zu col %zu: bad int64\n", r, i);
						return 1;
					}
					rc = btx_pq_int64(w, (int) i, iv);
					break;
				case BTX_PQ_DOUBLE:
					rc = btx_pq_double(w, (int) i, json_is_string(v)
									   ? strtod(json_string_value(v), NULL)
									   : json_number_value(v));
					break;
				case BTX_PQ_BOOLEAN:
					rc = btx_pq_bool(w, (int) i, json_is_true(v));
					break;
				case BTX_PQ_LIST_STRING:
					{
						size_t		k;

						rc = btx_pq_list_begin(w, (int) i);
						for (k = 0; rc == 0 && k < json_array_size(v); k++)
						{
							json_t	   *e = json_array_get(v, k);

							rc = json_is_string(e)
								? btx_pq_list_item(w, (int) i, json_string_value(e), json_string_length(e))
								: btx_pq_list_item(w, (int) i, NULL, 0);
						}
						if (rc == 0)
							rc = btx_pq_list_end(w, (int) i);
					}
					break;
			}
			if (rc)
				break;
		}
		if (btx_pq_end_row(w, &err) != 0)
			goto fail;
	}
	if (btx_pq_close(w, &err) != 0)
		goto fail;
	printf("rows=%lld bytes=%llu row_groups=%lld\n", (long long) btx_pq_rows(w),
		   (unsigned long long) btx_pq_bytes_written(w), (long long) btx_pq_row_groups(w));
	btx_pq_free(w);
	free(cols);
	json_decref(root);
	if (fclose(f) != 0)
		return 1;
	return 0;

fail:
	fprintf(stderr, "ERROR %s: %s\nDETAIL: %s\n", err.sqlstate, err.message, err.detail);
	btx_pq_free(w);
	free(cols);
	json_decref(root);
	fclose(f);
	return 1;
}
