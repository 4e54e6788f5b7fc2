/*
 * ice_writer.c — data and equality delete files of an Iceberg table, as
 * Parquet files written by src/core/format with the table's field ids, and
 * their data_file description (counts, sizes, bounds by field id).
 *
 * Data files carry every column of the current schema in schema order;
 * equality delete files carry only the identifier column (the span id), so
 * a delete row holds the id of a span exported again (spec "Equality Delete
 * Files").  Both embed the Iceberg schema of the file under the footer key
 * "iceberg.schema", as the reference writer does: some readers map columns
 * through it.  JSON-valued strings are annotated STRING (Iceberg's string
 * type) and keep no statistics, so they have counts but no bounds.
 *
 * At close the partition column's metrics prove the file's rows belong to
 * its partition: day(min created) = day(max created) = the partition day.
 */
#include "core/iceberg/ice_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct btx_ice_writer
{
	const btx_ice_table *t;
	int			content;
	btx_ice_partition part;
	btx_pq_writer *pq;
	const btx_ice_field **fields;	/* column i */
	int			ncols;
};

static btx_pq_type
pq_type(const btx_ice_field *f)
{
	switch (f->type)
	{
		case BTX_ICE_STRING:
			return f->json ? BTX_PQ_JSON : BTX_PQ_STRING;
		case BTX_ICE_LONG:
			return BTX_PQ_INT64;
		case BTX_ICE_DOUBLE:
			return BTX_PQ_DOUBLE;
		case BTX_ICE_BOOLEAN:
			return BTX_PQ_BOOLEAN;
		case BTX_ICE_TIMESTAMPTZ:
			return BTX_PQ_TIMESTAMP;
		default:
			return BTX_PQ_LIST_STRING;
	}
}

void
btx_ice_writer_free(btx_ice_writer *w)
{
	if (w == NULL)
		return;
	btx_pq_free(w->pq);
	free(w->fields);
	free(w);
}

btx_ice_writer *
btx_ice_writer_open(const btx_ice_table *t, int content, const btx_ice_partition *partition,
					const btx_pq_options *opt, btx_sink_fn sink, void *ctx, btx_error *err)
{
	btx_ice_writer *w;
	btx_pq_column *cols = NULL;
	btx_pq_options o;
	btx_pq_kv  *kv = NULL;
	char	   *schema = NULL;
	int			i;

	if (content != BTX_ICE_DATA && content != BTX_ICE_EQUALITY_DELETES)
	{
		ice_fail(err, BTX_ICE_E_INVALID, "XX000", "iceberg writer misuse: content %d", content);
		return NULL;
	}
	if (content == BTX_ICE_EQUALITY_DELETES && btx_ice_table_field(t, t->identifier_id) == NULL)
	{
		ice_fail(err, BTX_ICE_E_INVALID, "0A000", "the table has no equality delete column");
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
	{
		ice_oom(err);
		return NULL;
	}
	w->t = ice_spec_table(t, content);	/* deletes: global, no partition */
	w->content = content;
	if (partition)
		w->part = *partition;
	else
		w->part.is_null = 1;
	w->ncols = content == BTX_ICE_DATA ? t->nfields : 1;
	w->fields = calloc(w->ncols, sizeof(*w->fields));
	cols = calloc(w->ncols, sizeof(btx_pq_column));
	if (opt)
		o = *opt;
	else
		btx_pq_options_init(&o);
	kv = calloc(o.nkv + 1, sizeof(btx_pq_kv));
	if (w->fields == NULL || cols == NULL || kv == NULL)
		goto oom;
	for (i = 0; i < w->ncols; i++)
	{
		const btx_ice_field *f = content == BTX_ICE_DATA ? &t->fields[i]
			: btx_ice_table_field(t, t->identifier_id);

		w->fields[i] = f;
		cols[i].name = f->name;
		cols[i].type = pq_type(f);
		cols[i].field_id = f->id;
		cols[i].element_field_id = f->type == BTX_ICE_LIST_STRING ? f->element_id : 0;
	}
	if (content == BTX_ICE_DATA)
		schema = ice_strdup(t->schema_json);
	else
	{
		json_t	   *fj = json_pack("{s:s, s:i, s:[{s:i, s:s, s:b, s:s}]}", "type", "struct",
								   "schema-id", 0, "fields", "id", (int) w->fields[0]->id,
								   "name", w->fields[0]->name, "required", 0, "type",
								   w->fields[0]->type == BTX_ICE_LONG ? "long" : "string");

		schema = fj ? json_dumps(fj, JSON_COMPACT) : NULL;
		if (fj)
			json_decref(fj);
	}
	if (schema == NULL)
		goto oom;
	for (i = 0; i < o.nkv; i++)
		kv[i] = o.kv[i];
	kv[o.nkv].key = "iceberg.schema";
	kv[o.nkv].value = schema;
	o.kv = kv;
	o.nkv++;
	o.metrics = 1;
	o.json_as_string = 1;
	w->pq = btx_pq_open(cols, w->ncols, &o, sink, ctx, err);
	free(cols);
	free(kv);
	free(schema);
	if (w->pq == NULL)
	{
		btx_ice_writer_free(w);
		return NULL;
	}
	return w;
oom:
	free(cols);
	free(kv);
	free(schema);
	btx_ice_writer_free(w);
	ice_oom(err);
	return NULL;
}

btx_pq_writer *
btx_ice_writer_pq(btx_ice_writer *w)
{
	return w->pq;
}

int
btx_ice_writer_delete_id(btx_ice_writer *w, const void *id, size_t len, btx_error *err)
{
	if (w->content != BTX_ICE_EQUALITY_DELETES)
		return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "iceberg writer misuse: delete id in a data file");
	if (w->fields[0]->type == BTX_ICE_LONG)
	{
		int64_t		v;

		if (len != sizeof(v))
			return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "iceberg writer misuse: a long id needs 8 bytes");
		memcpy(&v, id, sizeof(v));
		btx_pq_int64(w->pq, 0, v);
	}
	else
		btx_pq_bytes(w->pq, 0, id, len);
	return btx_pq_end_row(w->pq, err);
}

/* bounds of one column into m (field types that keep them) */
static int
set_bounds(const btx_ice_field *f, const btx_pq_col_metrics *pm, btx_ice_metric *m)
{
	if (!pm->has_bounds || f->json || f->type == BTX_ICE_LIST_STRING)
		return 0;
	switch (f->type)
	{
		case BTX_ICE_LONG:
		case BTX_ICE_TIMESTAMPTZ:
			btx_ice_bound_long(&m->lower, pm->imin);
			btx_ice_bound_long(&m->upper, pm->imax);
			break;
		case BTX_ICE_DOUBLE:
			/* -0.0 precedes +0.0 (spec note): widen zero bounds to cover both */
			btx_ice_bound_double(&m->lower, pm->dmin == 0 ? -0.0 : pm->dmin);
			btx_ice_bound_double(&m->upper, pm->dmax == 0 ? 0.0 : pm->dmax);
			break;
		case BTX_ICE_BOOLEAN:
			btx_buf_reset(&m->lower);
			btx_buf_putc(&m->lower, (char) (pm->imin ? 1 : 0));
			btx_buf_reset(&m->upper);
			btx_buf_putc(&m->upper, (char) (pm->imax ? 1 : 0));
			break;
		default:
			btx_ice_bound_string_lower(&m->lower, pm->smin, pm->smin_len, ICE_TRUNCATE_CHARS);
			if (!btx_ice_bound_string_upper(&m->upper, pm->smax, pm->smax_len, ICE_TRUNCATE_CHARS))
				return 0;		/* no upper bound: write neither */
			break;
	}
	m->has_lower = m->has_upper = 1;
	return m->lower.oom || m->upper.oom ? -1 : 0;
}

static int
check_partition(btx_ice_writer *w, const btx_pq_col_metrics *pm, btx_error *err)
{
	int			ok;

	if (w->part.is_null)
		ok = !pm->has_bounds;
	else
		ok = pm->null_count == 0 && pm->has_bounds &&
			btx_ice_day_of_micros(pm->imin) == w->part.day &&
			btx_ice_day_of_micros(pm->imax) == w->part.day;
	if (ok)
		return 0;
	ice_fail(err, BTX_ICE_E_INVALID, "XX000", "rows outside the partition of an Iceberg data file");
	btx_error_detail(err, "The file's partition is %s%d; its \"%s\" values span days %d to %d%s.",
					 w->part.is_null ? "null, day " : "day ", w->part.is_null ? 0 : w->part.day,
					 btx_ice_table_field(w->t, w->t->day_source_id)->name,
					 pm->has_bounds ? btx_ice_day_of_micros(pm->imin) : 0,
					 pm->has_bounds ? btx_ice_day_of_micros(pm->imax) : 0,
					 pm->null_count ? " and include NULLs" : "");
	return -1;
}

int
btx_ice_writer_close(btx_ice_writer *w, const char *uri, btx_ice_data_file *out, btx_error *err)
{
	int			i;

	memset(out, 0, sizeof(*out));
	if (btx_pq_close(w->pq, err) != 0)
		return -1;
	out->content = w->content;
	out->path = ice_strdup(uri);
	out->partition = w->part;
	if (!w->t->day_source_id)
		out->partition.is_null = 1;
	out->record_count = btx_pq_rows(w->pq);
	out->file_size = (int64_t) btx_pq_bytes_written(w->pq);
	out->sort_order_id = 0;
	out->metrics = calloc(w->ncols, sizeof(btx_ice_metric));
	if (out->path == NULL || out->metrics == NULL)
		goto oom;
	out->nmetrics = w->ncols;
	for (i = 0; i < w->ncols; i++)
	{
		const btx_ice_field *f = w->fields[i];
		btx_ice_metric *m = &out->metrics[i];
		btx_pq_col_metrics pm;

		btx_buf_init(&m->lower);
		btx_buf_init(&m->upper);
		if (btx_pq_column_metrics(w->pq, i, &pm) != 0)
			goto oom;
		m->field_id = f->type == BTX_ICE_LIST_STRING ? f->element_id : f->id;
		m->column_size = (int64_t) pm.compressed_bytes;
		m->value_count = pm.value_count;
		m->null_count = pm.null_count;
		m->nan_count = f->type == BTX_ICE_DOUBLE ? pm.nan_count : -1;
		if (set_bounds(f, &pm, m) != 0)
			goto oom;
		if (w->content == BTX_ICE_DATA && w->t->day_source_id && f->id == w->t->day_source_id &&
			check_partition(w, &pm, err) != 0)
		{
			btx_ice_data_file_free(out);
			return -1;
		}
	}
	if (w->content == BTX_ICE_EQUALITY_DELETES)
	{
		out->equality_ids = malloc(sizeof(int32_t));
		if (out->equality_ids == NULL)
			goto oom;
		out->equality_ids[0] = w->fields[0]->id;
		out->nequality_ids = 1;
	}
	return 0;
oom:
	btx_ice_data_file_free(out);
	return ice_oom(err);
}

/* civil date of a day number (Howard Hinnant's days_from_civil, inverted) */
static void
civil(int32_t days, int *y, int *m, int *d)
{
	int64_t		z = (int64_t) days + 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;

	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

int
btx_ice_data_file_uri(const btx_ice_table *t, const btx_ice_partition *p, const char *name,
					  btx_buf *out, btx_error *err)
{
	const char *c;

	for (c = name; c && *c; c++)
		if (*c == '/' || (unsigned char) *c < 0x20)
			break;
	if (name == NULL || *name == '\0' || (c && *c) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "invalid Iceberg data file name");
	btx_buf_reset(out);
	btx_buf_appendf(out, "%s/data/", t->location);
	if (t->day_source_id)
	{
		if (p == NULL || p->is_null)
			btx_buf_appendf(out, "%s=null/", t->partition_avro);
		else
		{
			int			y;
			int			m;
			int			d;

			civil(p->day, &y, &m, &d);
			btx_buf_appendf(out, "%s=%04d-%02d-%02d/", t->partition_avro, y, m, d);
		}
	}
	btx_buf_puts(out, name);
	return out->oom ? ice_oom(err) : 0;
}

int
btx_ice_file_uri(const btx_ice_table *t, int content, const btx_ice_partition *p, const char *name,
				 btx_buf *out, btx_error *err)
{
	return btx_ice_data_file_uri(ice_spec_table(t, content), p, name, out, err);
}
