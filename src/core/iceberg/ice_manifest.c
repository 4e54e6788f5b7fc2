/*
 * ice_manifest.c — Iceberg v2 manifests (manifest_entry records) and
 * manifest lists (manifest_file records) in Avro.
 *
 * The Avro schemas are the spec's, with its field ids ("field-id" on record
 * fields, "element-id" on arrays, maps with int keys as arrays of key/value
 * records with logicalType "map"), written into the container header as
 * text; avro-c parses the same text to encode the records.  Each record type
 * is defined once, inline (readers such as icebird do not resolve named type
 * references).
 *
 * Decoding resolves fields by field id, not by name, through the writer's
 * schema in the file header: older reference writers name manifest list
 * fields differently (added_data_files_count for added_files_count) with the
 * same ids.
 */
#include "core/iceberg/ice_int.h"

#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------- schemas ---------- */

#define MAP_FIELD(name, id, kid, vid, vtype) \
	"{\"name\":\"" name "\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\"," \
	"\"name\":\"k" #kid "_v" #vid "\",\"fields\":[{\"name\":\"key\",\"type\":\"int\",\"field-id\":" #kid "}," \
	"{\"name\":\"value\",\"type\":\"" vtype "\",\"field-id\":" #vid "}]},\"logicalType\":\"map\"}]," \
	"\"default\":null,\"field-id\":" #id "}"

static const char entry_head[] =
"{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
"{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
"{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
"{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":3},"
"{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":4},"
"{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
"{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
"{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
"{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
"{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[";

static const char entry_tail[] =
"]},\"field-id\":102},"
"{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
"{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
MAP_FIELD("column_sizes", 108, 117, 118, "long") ","
MAP_FIELD("value_counts", 109, 119, 120, "long") ","
MAP_FIELD("null_value_counts", 110, 121, 122, "long") ","
MAP_FIELD("nan_value_counts", 137, 138, 139, "long") ","
MAP_FIELD("lower_bounds", 125, 126, 127, "bytes") ","
MAP_FIELD("upper_bounds", 128, 129, 130, "bytes") ","
"{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":131},"
"{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"long\",\"element-id\":133}],\"default\":null,\"field-id\":132},"
"{\"name\":\"equality_ids\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"int\",\"element-id\":136}],\"default\":null,\"field-id\":135},"
"{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,\"field-id\":140},"
"{\"name\":\"referenced_data_file\",\"type\":[\"null\",\"string\"],\"default\":null,\"field-id\":143}"
"]},\"field-id\":2}]}";

static const char manifest_file_schema[] =
"{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
"{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
"{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
"{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
"{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
"{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
"{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
"{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
"{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
"{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
"{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
"{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
"{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
"{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514},"
"{\"name\":\"partitions\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"r508\",\"fields\":["
"{\"name\":\"contains_null\",\"type\":\"boolean\",\"field-id\":509},"
"{\"name\":\"contains_nan\",\"type\":[\"null\",\"boolean\"],\"default\":null,\"field-id\":518},"
"{\"name\":\"lower_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":510},"
"{\"name\":\"upper_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":511}]},"
"\"element-id\":508}],\"default\":null,\"field-id\":507},"
"{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":519}]}";

static int
entry_schema(const btx_ice_table *t, btx_buf *out)
{
	btx_buf_puts(out, entry_head);
	if (t->day_source_id)
		btx_buf_appendf(out, "{\"name\":\"%s\",\"type\":[\"null\",{\"type\":\"int\",\"logicalType\":\"date\"}],"
						"\"default\":null,\"field-id\":%d}", t->partition_avro, ICE_PARTITION_FIELD_ID);
	btx_buf_puts(out, entry_tail);
	return out->oom ? -1 : 0;
}

static int
avro_fail(btx_error *err, const char *what)
{
	return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "Avro %s failed: %.200s", what, avro_strerror());
}

/* ---------- encoding ---------- */

/* a schema and one generic record of it, which encoders and decoders reuse row after row */
typedef struct avro_rec
{
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t value;
	int			has_value;
} avro_rec;

/* the record of r->schema (already parsed) */
static int
avro_rec_new(avro_rec *r, btx_error *err)
{
	r->iface = avro_generic_class_from_schema(r->schema);
	if (r->iface == NULL || avro_generic_value_new(r->iface, &r->value) != 0)
		return avro_fail(err, "value allocation");
	r->has_value = 1;
	return 0;
}

static void
avro_rec_free(avro_rec *r)
{
	if (r->has_value)
		avro_value_decref(&r->value);
	if (r->iface)
		avro_value_iface_decref(r->iface);
	if (r->schema)
		avro_schema_decref(r->schema);
}

typedef struct enc
{
	avro_rec	ar;
	btx_buf		records;
	int64_t		n;
} enc;

static int
enc_init(enc *e, const char *json, btx_error *err)
{
	memset(e, 0, sizeof(*e));
	btx_buf_init(&e->records);
	if (avro_schema_from_json_length(json, strlen(json), &e->ar.schema) != 0)
		return avro_fail(err, "schema parse");
	return avro_rec_new(&e->ar, err);
}

static void
enc_free(enc *e)
{
	avro_rec_free(&e->ar);
	btx_buf_free(&e->records);
}

/* append the current record to e->records */
static int
enc_emit(enc *e, btx_error *err)
{
	size_t		size;
	avro_writer_t w;
	int			rc;

	if (avro_value_sizeof(&e->ar.value, &size) != 0)
		return avro_fail(err, "sizeof");
	if (btx_buf_reserve(&e->records, size) != 0)
		return ice_oom(err);
	w = avro_writer_memory(e->records.data + e->records.len, (int64_t) size);
	if (w == NULL)
		return ice_oom(err);
	rc = avro_value_write(w, &e->ar.value);
	avro_writer_free(w);
	if (rc != 0)
		return avro_fail(err, "write");
	e->records.len += size;
	e->n++;
	return 0;
}

/* field of a record, or of a union's non-null branch (present) / null branch */
static int
get(avro_value_t *rec, const char *name, avro_value_t *out)
{
	return avro_value_get_by_name(rec, name, out, NULL);
}

static int
set_opt(avro_value_t *rec, const char *name, int present, avro_value_t *branch)
{
	avro_value_t f;

	if (get(rec, name, &f) != 0 || avro_value_set_branch(&f, present ? 1 : 0, branch) != 0)
		return -1;
	if (!present)
		return avro_value_set_null(branch);
	return 0;
}

static int
set_opt_long(avro_value_t *rec, const char *name, int64_t v)
{
	avro_value_t b;

	if (set_opt(rec, name, v >= 0, &b) != 0)
		return -1;
	return v >= 0 ? avro_value_set_long(&b, v) : 0;
}

static int
set_long(avro_value_t *rec, const char *name, int64_t v)
{
	avro_value_t f;

	return get(rec, name, &f) != 0 || avro_value_set_long(&f, v) != 0 ? -1 : 0;
}

static int
set_int(avro_value_t *rec, const char *name, int32_t v)
{
	avro_value_t f;

	return get(rec, name, &f) != 0 || avro_value_set_int(&f, v) != 0 ? -1 : 0;
}

static int
set_string(avro_value_t *rec, const char *name, const char *s)
{
	avro_value_t f;

	return get(rec, name, &f) != 0 || avro_value_set_string(&f, s) != 0 ? -1 : 0;
}

#define M_SIZE	0
#define M_VALUES 1
#define M_NULLS	2
#define M_NANS	3
#define M_LOWER	4
#define M_UPPER	5

static int
metric_has(const btx_ice_metric *m, int which)
{
	switch (which)
	{
		case M_SIZE:
			return m->column_size >= 0;
		case M_VALUES:
			return m->value_count >= 0;
		case M_NULLS:
			return m->null_count >= 0;
		case M_NANS:
			return m->nan_count >= 0;
		case M_LOWER:
			return m->has_lower;
		default:
			return m->has_upper;
	}
}

static int
set_metric_map(avro_value_t *df, const char *name, const btx_ice_data_file *f, int which)
{
	avro_value_t arr;
	int			any = 0;
	int			i;

	for (i = 0; i < f->nmetrics; i++)
		any |= metric_has(&f->metrics[i], which);
	if (set_opt(df, name, any, &arr) != 0)
		return -1;
	for (i = 0; any && i < f->nmetrics; i++)
	{
		const btx_ice_metric *m = &f->metrics[i];
		avro_value_t el;
		avro_value_t k;
		avro_value_t v;
		int			rc;

		if (!metric_has(m, which))
			continue;
		if (avro_value_append(&arr, &el, NULL) != 0 || get(&el, "key", &k) != 0 ||
			get(&el, "value", &v) != 0 || avro_value_set_int(&k, m->field_id) != 0)
			return -1;
		switch (which)
		{
			case M_SIZE:
				rc = avro_value_set_long(&v, m->column_size);
				break;
			case M_VALUES:
				rc = avro_value_set_long(&v, m->value_count);
				break;
			case M_NULLS:
				rc = avro_value_set_long(&v, m->null_count);
				break;
			case M_NANS:
				rc = avro_value_set_long(&v, m->nan_count);
				break;
			case M_LOWER:
				rc = avro_value_set_bytes(&v, m->lower.data ? m->lower.data : "", m->lower.len);
				break;
			default:
				rc = avro_value_set_bytes(&v, m->upper.data ? m->upper.data : "", m->upper.len);
				break;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int
fill_entry(const btx_ice_table *t, avro_value_t *rec, const btx_ice_entry *e)
{
	const btx_ice_data_file *f = &e->file;
	avro_value_t df;
	avro_value_t part;
	avro_value_t b;
	int			i;

	if (set_int(rec, "status", e->status) != 0 ||
		set_opt_long(rec, "snapshot_id", e->snapshot_id) != 0 ||
		set_opt_long(rec, "sequence_number", e->sequence_number) != 0 ||
		set_opt_long(rec, "file_sequence_number", e->file_sequence_number) != 0 ||
		get(rec, "data_file", &df) != 0)
		return -1;
	if (set_int(&df, "content", f->content) != 0 ||
		set_string(&df, "file_path", f->path) != 0 ||
		set_string(&df, "file_format", "PARQUET") != 0 ||
		set_long(&df, "record_count", f->record_count) != 0 ||
		set_long(&df, "file_size_in_bytes", f->file_size) != 0 ||
		get(&df, "partition", &part) != 0)
		return -1;
	if (t->day_source_id)
	{
		if (set_opt(&part, t->partition_avro, !f->partition.is_null, &b) != 0 ||
			(!f->partition.is_null && avro_value_set_int(&b, f->partition.day) != 0))
			return -1;
	}
	if (set_metric_map(&df, "column_sizes", f, M_SIZE) != 0 ||
		set_metric_map(&df, "value_counts", f, M_VALUES) != 0 ||
		set_metric_map(&df, "null_value_counts", f, M_NULLS) != 0 ||
		set_metric_map(&df, "nan_value_counts", f, M_NANS) != 0 ||
		set_metric_map(&df, "lower_bounds", f, M_LOWER) != 0 ||
		set_metric_map(&df, "upper_bounds", f, M_UPPER) != 0 ||
		set_opt(&df, "key_metadata", 0, &b) != 0 ||
		set_opt(&df, "split_offsets", 0, &b) != 0 ||
		set_opt(&df, "referenced_data_file", 0, &b) != 0)
		return -1;
	if (set_opt(&df, "equality_ids", f->nequality_ids > 0, &b) != 0)
		return -1;
	for (i = 0; i < f->nequality_ids; i++)
	{
		avro_value_t el;

		if (avro_value_append(&b, &el, NULL) != 0 || avro_value_set_int(&el, f->equality_ids[i]) != 0)
			return -1;
	}
	if (set_opt(&df, "sort_order_id", f->sort_order_id >= 0, &b) != 0 ||
		(f->sort_order_id >= 0 && avro_value_set_int(&b, f->sort_order_id) != 0))
		return -1;
	return 0;
}

int
btx_ice_manifest_encode(const btx_ice_table *t, int content, const btx_ice_entry *e, int n,
						const char *codec, btx_buf *out, btx_error *err)
{
	btx_buf		schema;
	enc			en;
	char		spec_id[16];
	char		schema_id[16];
	ice_ocf_meta meta[6];
	int			rc = -1;
	int			i;

	/* content is the manifest's (0 data, 1 deletes): delete manifests use the deletes' spec */
	t = ice_spec_table(t, content == 0 ? BTX_ICE_DATA : BTX_ICE_EQUALITY_DELETES);
	btx_buf_init(&schema);
	if (entry_schema(t, &schema) != 0)
	{
		btx_buf_free(&schema);
		return ice_oom(err);
	}
	if (enc_init(&en, schema.data, err) != 0)
		goto done;
	for (i = 0; i < n; i++)
	{
		if ((content == 0) != (e[i].file.content == BTX_ICE_DATA))
		{
			ice_fail(err, BTX_ICE_E_INVALID, "XX000", "a %s manifest cannot list file \"%s\"",
					 content == 0 ? "data" : "delete", e[i].file.path);
			goto done;
		}
		avro_value_reset(&en.ar.value);
		if (fill_entry(t, &en.ar.value, &e[i]) != 0)
		{
			avro_fail(err, "manifest entry encoding");
			goto done;
		}
		if (enc_emit(&en, err) != 0)
			goto done;
	}
	snprintf(spec_id, sizeof(spec_id), "%d", t->spec_id);
	snprintf(schema_id, sizeof(schema_id), "%d", t->schema_id);
	meta[0] = (ice_ocf_meta) {"schema", t->schema_json};
	meta[1] = (ice_ocf_meta) {"schema-id", schema_id};
	meta[2] = (ice_ocf_meta) {"partition-spec", t->spec_fields_json};
	meta[3] = (ice_ocf_meta) {"partition-spec-id", spec_id};
	meta[4] = (ice_ocf_meta) {"format-version", "2"};
	meta[5] = (ice_ocf_meta) {"content", content == 0 ? "data" : "deletes"};
	rc = ice_ocf_write(out, schema.data, codec, meta, 6, &en.records, en.n, err);
done:
	enc_free(&en);
	btx_buf_free(&schema);
	return rc;
}

static int
fill_manifest_file(avro_value_t *rec, const btx_ice_manifest *m)
{
	avro_value_t arr;
	int			i;

	if (set_string(rec, "manifest_path", m->path) != 0 ||
		set_long(rec, "manifest_length", m->length) != 0 ||
		set_int(rec, "partition_spec_id", m->spec_id) != 0 ||
		set_int(rec, "content", m->content) != 0 ||
		set_long(rec, "sequence_number", m->sequence_number) != 0 ||
		set_long(rec, "min_sequence_number", m->min_sequence_number) != 0 ||
		set_long(rec, "added_snapshot_id", m->added_snapshot_id) != 0 ||
		set_int(rec, "added_files_count", m->added_files) != 0 ||
		set_int(rec, "existing_files_count", m->existing_files) != 0 ||
		set_int(rec, "deleted_files_count", m->deleted_files) != 0 ||
		set_long(rec, "added_rows_count", m->added_rows) != 0 ||
		set_long(rec, "existing_rows_count", m->existing_rows) != 0 ||
		set_long(rec, "deleted_rows_count", m->deleted_rows) != 0 ||
		set_opt(rec, "key_metadata", 0, &arr) != 0 ||
		set_opt(rec, "partitions", 1, &arr) != 0)
		return -1;
	for (i = 0; i < m->nparts; i++)
	{
		const btx_ice_part_summary *p = &m->parts[i];
		avro_value_t el;
		avro_value_t f;
		avro_value_t b;

		if (avro_value_append(&arr, &el, NULL) != 0 || get(&el, "contains_null", &f) != 0 ||
			avro_value_set_boolean(&f, p->contains_null) != 0 ||
			set_opt(&el, "contains_nan", p->contains_nan >= 0, &b) != 0 ||
			(p->contains_nan >= 0 && avro_value_set_boolean(&b, p->contains_nan) != 0) ||
			set_opt(&el, "lower_bound", p->has_bounds, &b) != 0 ||
			(p->has_bounds && avro_value_set_bytes(&b, p->lower.data, p->lower.len) != 0) ||
			set_opt(&el, "upper_bound", p->has_bounds, &b) != 0 ||
			(p->has_bounds && avro_value_set_bytes(&b, p->upper.data, p->upper.len) != 0))
			return -1;
	}
	return 0;
}

int
btx_ice_manifest_list_encode(int64_t snapshot_id, int64_t parent_id, int64_t sequence_number,
							 const btx_ice_manifest *m, int n, const char *codec,
							 btx_buf *out, btx_error *err)
{
	enc			en;
	char		sid[24];
	char		pid[24];
	char		seq[24];
	ice_ocf_meta meta[4];
	int			rc = -1;
	int			i;

	if (enc_init(&en, manifest_file_schema, err) != 0)
		goto done;
	for (i = 0; i < n; i++)
	{
		avro_value_reset(&en.ar.value);
		if (fill_manifest_file(&en.ar.value, &m[i]) != 0)
		{
			avro_fail(err, "manifest list encoding");
			goto done;
		}
		if (enc_emit(&en, err) != 0)
			goto done;
	}
	snprintf(sid, sizeof(sid), "%lld", (long long) snapshot_id);
	if (parent_id >= 0)
		snprintf(pid, sizeof(pid), "%lld", (long long) parent_id);
	else
		snprintf(pid, sizeof(pid), "null");
	snprintf(seq, sizeof(seq), "%lld", (long long) sequence_number);
	meta[0] = (ice_ocf_meta) {"snapshot-id", sid};
	meta[1] = (ice_ocf_meta) {"parent-snapshot-id", pid};
	meta[2] = (ice_ocf_meta) {"sequence-number", seq};
	meta[3] = (ice_ocf_meta) {"format-version", "2"};
	rc = ice_ocf_write(out, manifest_file_schema, codec, meta, 4, &en.records, en.n, err);
done:
	enc_free(&en);
	return rc;
}

/* ---------- summaries ---------- */

int
btx_ice_manifest_summarize(const btx_ice_table *t, int content, const btx_ice_entry *e, int n,
						   int64_t sequence_number, int64_t snapshot_id,
						   btx_ice_manifest *m, btx_error *err)
{
	int			i;
	int			have = 0;
	int32_t		lo = 0;
	int32_t		hi = 0;

	t = ice_spec_table(t, content == 0 ? BTX_ICE_DATA : BTX_ICE_EQUALITY_DELETES);
	memset(m, 0, sizeof(*m));
	m->spec_id = t->spec_id;
	m->content = content;
	m->sequence_number = sequence_number;
	m->min_sequence_number = sequence_number;
	m->added_snapshot_id = snapshot_id;
	if (t->day_source_id)
	{
		m->parts = calloc(1, sizeof(btx_ice_part_summary));
		if (m->parts == NULL)
			return ice_oom(err);
		m->nparts = 1;
		m->parts[0].contains_nan = -1;
	}
	for (i = 0; i < n; i++)
	{
		const btx_ice_entry *x = &e[i];
		int64_t		seq = x->sequence_number >= 0 ? x->sequence_number : sequence_number;

		switch (x->status)
		{
			case BTX_ICE_ADDED:
				m->added_files++;
				m->added_rows += x->file.record_count;
				break;
			case BTX_ICE_EXISTING:
				m->existing_files++;
				m->existing_rows += x->file.record_count;
				break;
			default:
				m->deleted_files++;
				m->deleted_rows += x->file.record_count;
				break;
		}
		if (x->status != BTX_ICE_DELETED && seq < m->min_sequence_number)
			m->min_sequence_number = seq;
		if (t->day_source_id)
		{
			if (x->file.partition.is_null)
				m->parts[0].contains_null = 1;
			else
			{
				if (!have || x->file.partition.day < lo)
					lo = x->file.partition.day;
				if (!have || x->file.partition.day > hi)
					hi = x->file.partition.day;
				have = 1;
			}
		}
	}
	if (have)
	{
		m->parts[0].has_bounds = 1;
		btx_ice_bound_int(&m->parts[0].lower, lo);
		btx_ice_bound_int(&m->parts[0].upper, hi);
		if (m->parts[0].lower.oom || m->parts[0].upper.oom)
			return ice_oom(err);
	}
	return 0;
}

/* ---------- decoding ---------- */

typedef struct dec
{
	ice_ocf		ocf;
	json_t	   *sjson;			/* writer schema */
	avro_rec	ar;
	avro_reader_t reader;
} dec;

static int
corrupt_schema(btx_error *err)
{
	return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "invalid Avro schema in the header of a manifest");
}

static void
dec_free(dec *d)
{
	if (d->reader)
		avro_reader_free(d->reader);
	avro_rec_free(&d->ar);
	if (d->sjson)
		json_decref(d->sjson);
	ice_ocf_free(&d->ocf);
}

static int
dec_init(dec *d, const void *data, size_t len, btx_error *err)
{
	const char *s;

	memset(d, 0, sizeof(*d));
	if (ice_ocf_read(data, len, &d->ocf, err) != 0)
		return -1;
	s = ice_ocf_get(&d->ocf, "avro.schema");
	d->sjson = json_loads(s, 0, NULL);
	if (d->sjson == NULL || !json_is_object(d->sjson))
		return corrupt_schema(err);
	if (ice_ocf_validate(&d->ocf, d->sjson, err) != 0)
		return -1;
	if (avro_schema_from_json_length(s, strlen(s), &d->ar.schema) != 0)
		return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "invalid Avro schema in a manifest: %.200s",
						avro_strerror());
	if (avro_rec_new(&d->ar, err) != 0)
		return -1;
	d->reader = avro_reader_memory(d->ocf.records.data ? d->ocf.records.data : "",
								   (int64_t) d->ocf.records.len);
	if (d->reader == NULL)
		return ice_oom(err);
	return 0;
}

/* the non-null branch of an optional type */
static json_t *
unwrap(json_t *type)
{
	size_t		i;
	json_t	   *b;

	if (!json_is_array(type))
		return type;
	json_array_foreach(type, i, b)
	{
		if (!(json_is_string(b) && strcmp(json_string_value(b), "null") == 0))
			return b;
	}
	return type;
}

/* field with this field id of record v (schema rs): 1 present, 0 absent or null, -1 error */
static int
child(avro_value_t *v, json_t *rs, int id, avro_value_t *out, json_t **ot)
{
	json_t	   *fields = json_object_get(rs, "fields");
	json_t	   *f;
	size_t		i;

	if (!json_is_array(fields))
		return 0;
	json_array_foreach(fields, i, f)
	{
		json_t	   *fid = json_object_get(f, "field-id");

		if (!json_is_integer(fid) || json_integer_value(fid) != id)
			continue;
		if (avro_value_get_by_index(v, i, out, NULL) != 0)
			return -1;
		if (ot)
			*ot = unwrap(json_object_get(f, "type"));
		if (avro_value_get_type(out) == AVRO_UNION)
		{
			avro_value_t b;

			if (avro_value_get_current_branch(out, &b) != 0)
				return -1;
			if (avro_value_get_type(&b) == AVRO_NULL)
				return 0;
			*out = b;
		}
		return 1;
	}
	return 0;
}

static int
as_long(avro_value_t *v, int64_t *out)
{
	int32_t		i;
	int			b;

	switch (avro_value_get_type(v))
	{
		case AVRO_INT32:
			if (avro_value_get_int(v, &i) != 0)
				return -1;
			*out = i;
			return 0;
		case AVRO_INT64:
			return avro_value_get_long(v, out);
		case AVRO_BOOLEAN:
			if (avro_value_get_boolean(v, &b) != 0)
				return -1;
			*out = b;
			return 0;
		default:
			return -1;
	}
}

/* integer field by id; dflt when absent or null; -1 on a type mismatch */
static int
long_by_id(avro_value_t *v, json_t *rs, int id, int64_t dflt, int64_t *out)
{
	avro_value_t c;
	int			r = child(v, rs, id, &c, NULL);

	if (r < 0)
		return -1;
	if (r == 0)
	{
		*out = dflt;
		return 0;
	}
	return as_long(&c, out);
}

static int
str_by_id(avro_value_t *v, json_t *rs, int id, char **out)
{
	avro_value_t c;
	const char *s;
	size_t		n;
	int			r = child(v, rs, id, &c, NULL);

	*out = NULL;
	if (r <= 0)
		return -1;
	if (avro_value_get_type(&c) != AVRO_STRING || avro_value_get_string(&c, &s, &n) != 0)
		return -1;
	*out = ice_strdup(s);
	return *out ? 0 : -1;
}

static btx_ice_metric *
metric_for(btx_ice_data_file *f, int32_t id)
{
	btx_ice_metric *m;
	int			i;

	for (i = 0; i < f->nmetrics; i++)
		if (f->metrics[i].field_id == id)
			return &f->metrics[i];
	m = realloc(f->metrics, sizeof(btx_ice_metric) * (f->nmetrics + 1));
	if (m == NULL)
		return NULL;
	f->metrics = m;
	m = &f->metrics[f->nmetrics++];
	memset(m, 0, sizeof(*m));
	m->field_id = id;
	m->column_size = m->value_count = m->null_count = m->nan_count = -1;
	btx_buf_init(&m->lower);
	btx_buf_init(&m->upper);
	return m;
}

static int
read_metric_map(avro_value_t *df, json_t *dfs, int id, int which, btx_ice_data_file *f)
{
	avro_value_t arr;
	json_t	   *at;
	size_t		n;
	size_t		i;
	int			r = child(df, dfs, id, &arr, &at);

	if (r <= 0)
		return r;
	if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n) != 0)
		return -1;
	for (i = 0; i < n; i++)
	{
		avro_value_t el;
		avro_value_t k;
		avro_value_t v;
		int64_t		key;
		int64_t		val = 0;
		btx_ice_metric *m;

		if (avro_value_get_by_index(&arr, i, &el, NULL) != 0 ||
			avro_value_get_by_index(&el, 0, &k, NULL) != 0 ||
			avro_value_get_by_index(&el, 1, &v, NULL) != 0 || as_long(&k, &key) != 0)
			return -1;
		if ((m = metric_for(f, (int32_t) key)) == NULL)
			return -1;
		if (which == M_LOWER || which == M_UPPER)
		{
			const void *b;
			size_t		bn;
			btx_buf    *dst = which == M_LOWER ? &m->lower : &m->upper;

			if (avro_value_get_bytes(&v, &b, &bn) != 0 || btx_buf_append(dst, b, bn) != 0)
				return -1;
			if (which == M_LOWER)
				m->has_lower = 1;
			else
				m->has_upper = 1;
			continue;
		}
		if (as_long(&v, &val) != 0)
			return -1;
		if (which == M_SIZE)
			m->column_size = val;
		else if (which == M_VALUES)
			m->value_count = val;
		else if (which == M_NULLS)
			m->null_count = val;
		else
			m->nan_count = val;
	}
	return 0;
}

static int
read_partition(const btx_ice_table *t, avro_value_t *df, json_t *dfs, btx_ice_data_file *f)
{
	avro_value_t p;
	avro_value_t v;
	json_t	   *ps;
	int64_t		day;
	int			r;

	f->partition.is_null = 1;
	if (child(df, dfs, 102, &p, &ps) <= 0 || avro_value_get_type(&p) != AVRO_RECORD)
		return -1;
	if (t != NULL && !t->day_source_id)
		return 0;
	if (t == NULL)
	{
		size_t		n;

		/* without a table: a single int field is the day, anything else ignored */
		if (avro_value_get_size(&p, &n) != 0 || n != 1)
			return 0;
		if (avro_value_get_by_index(&p, 0, &v, NULL) != 0)
			return -1;
		if (avro_value_get_type(&v) == AVRO_UNION)
		{
			avro_value_t b;

			if (avro_value_get_current_branch(&v, &b) != 0)
				return -1;
			if (avro_value_get_type(&b) == AVRO_NULL)
				return 0;
			v = b;
		}
		if (as_long(&v, &day) != 0)
			return 0;
		f->partition.is_null = 0;
		f->partition.day = (int32_t) day;
		return 0;
	}
	r = child(&p, ps, ICE_PARTITION_FIELD_ID, &v, NULL);
	if (r < 0 || (r == 1 && as_long(&v, &day) != 0))
		return -1;
	if (r == 1)
	{
		f->partition.is_null = 0;
		f->partition.day = (int32_t) day;
	}
	return 0;
}

static int
read_entry(const btx_ice_table *t, avro_value_t *rec, json_t *rs, btx_ice_entry *e)
{
	avro_value_t df;
	avro_value_t ids;
	json_t	   *dfs;
	btx_ice_data_file *f = &e->file;
	int64_t		v;
	int			r;

	memset(e, 0, sizeof(*e));
	f->sort_order_id = -1;
	if (long_by_id(rec, rs, 0, -1, &v) != 0 || v < 0 || v > 2)
		return -1;
	e->status = (int) v;
	if (long_by_id(rec, rs, 1, -1, &e->snapshot_id) != 0 ||
		long_by_id(rec, rs, 3, -1, &e->sequence_number) != 0 ||
		long_by_id(rec, rs, 4, -1, &e->file_sequence_number) != 0)
		return -1;
	if (child(rec, rs, 2, &df, &dfs) <= 0)
		return -1;
	if (long_by_id(&df, dfs, 134, 0, &v) != 0 || v < 0 || v > 2)
		return -1;
	f->content = (int) v;
	if (str_by_id(&df, dfs, 100, &f->path) != 0 ||
		long_by_id(&df, dfs, 103, -1, &f->record_count) != 0 ||
		long_by_id(&df, dfs, 104, -1, &f->file_size) != 0 ||
		read_partition(t, &df, dfs, f) != 0)
		return -1;
	if (read_metric_map(&df, dfs, 108, M_SIZE, f) < 0 ||
		read_metric_map(&df, dfs, 109, M_VALUES, f) < 0 ||
		read_metric_map(&df, dfs, 110, M_NULLS, f) < 0 ||
		read_metric_map(&df, dfs, 137, M_NANS, f) < 0 ||
		read_metric_map(&df, dfs, 125, M_LOWER, f) < 0 ||
		read_metric_map(&df, dfs, 128, M_UPPER, f) < 0)
		return -1;
	if (long_by_id(&df, dfs, 140, -1, &v) != 0)
		return -1;
	f->sort_order_id = (int32_t) v;
	r = child(&df, dfs, 135, &ids, NULL);
	if (r < 0)
		return -1;
	if (r == 1)
	{
		size_t		n;
		size_t		i;

		if (avro_value_get_type(&ids) != AVRO_ARRAY || avro_value_get_size(&ids, &n) != 0 || n > 1000)
			return -1;
		f->equality_ids = malloc(sizeof(int32_t) * (n ? n : 1));
		if (f->equality_ids == NULL)
			return -1;
		for (i = 0; i < n; i++)
		{
			avro_value_t el;

			if (avro_value_get_by_index(&ids, i, &el, NULL) != 0 || as_long(&el, &v) != 0)
				return -1;
			f->equality_ids[i] = (int32_t) v;
		}
		f->nequality_ids = (int) n;
	}
	return 0;
}

/*
 * Decode every record of d into a calloc'd array of elem-sized items with
 * read_one; on failure free_one undoes the items read so far.
 */
typedef int (*read_fn) (const void *ctx, avro_value_t *rec, json_t *rs, void *item);

static int	read_manifest_file(avro_value_t *rec, json_t *rs, btx_ice_manifest *m);

static int
dec_records(dec *d, size_t elem, read_fn read_one, const void *ctx, void (*free_one) (void *item),
			const char *what, void **out, int *n, btx_error *err)
{
	char	   *items = NULL;
	int64_t		i;

	if (d->ocf.nrecords > 0 && (items = calloc((size_t) d->ocf.nrecords, elem)) == NULL)
		return ice_oom(err);
	for (i = 0; i < d->ocf.nrecords; i++)
	{
		avro_value_reset(&d->ar.value);
		if (avro_value_read(d->reader, &d->ar.value) != 0 ||
			read_one(ctx, &d->ar.value, d->sjson, items + i * elem) != 0)
		{
			int64_t		j;

			for (j = 0; j <= i; j++)
				free_one(items + j * elem);
			free(items);
			return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "invalid %s %lld", what, (long long) i + 1);
		}
	}
	*out = items;
	*n = (int) d->ocf.nrecords;
	return 0;
}

static int
read_entry_item(const void *t, avro_value_t *rec, json_t *rs, void *item)
{
	return read_entry(t, rec, rs, item);
}

static void
free_entry_item(void *item)
{
	btx_ice_data_file_free(&((btx_ice_entry *) item)->file);
}

static int
read_manifest_item(const void *unused, avro_value_t *rec, json_t *rs, void *item)
{
	return read_manifest_file(rec, rs, item);
}

static void
free_manifest_item(void *item)
{
	btx_ice_manifest_free(item);
}

/* the manifest header's partition fields equal the table's default spec */
static int
same_spec(const btx_ice_table *t, const char *spec)
{
	json_t	   *a = spec ? json_loads(spec, 0, NULL) : NULL;
	json_t	   *b = json_loads(t->spec_fields_json, 0, NULL);
	int			eq = a && b && json_equal(a, b);

	if (a)
		json_decref(a);
	if (b)
		json_decref(b);
	return eq;
}

int
btx_ice_manifest_decode(const btx_ice_table *t, const void *data, size_t len,
						btx_ice_entry **out, int *n, btx_error *err)
{
	dec			d;
	const char *spec;

	*out = NULL;
	*n = 0;
	if (dec_init(&d, data, len, err) != 0)
		goto fail;
	spec = ice_ocf_get(&d.ocf, "partition-spec-id");
	if (t != NULL && spec != NULL)
	{
		const btx_ice_table *st = ice_spec_table_by_id(t, (int32_t) atoi(spec));

		if (st != NULL)
			t = st;				/* global deletes: the unpartitioned spec */
	}
	if (t != NULL && !same_spec(t, ice_ocf_get(&d.ocf, "partition-spec")))
	{
		ice_fail(err, BTX_ICE_E_INVALID, "0A000", "manifest written with another partition spec than the table's");
		btx_error_detail(err, "The manifest's spec is %.300s; the table's is %.300s.",
						 ice_ocf_get(&d.ocf, "partition-spec") ? ice_ocf_get(&d.ocf, "partition-spec") : "missing",
						 t->spec_fields_json);
		goto fail;
	}
	if (t != NULL && spec != NULL && atoi(spec) != t->spec_id)
	{
		ice_fail(err, BTX_ICE_E_INVALID, "0A000", "manifest written with partition spec %s, not the table's spec %d",
				 spec, t->spec_id);
		goto fail;
	}
	if (dec_records(&d, sizeof(btx_ice_entry), read_entry_item, t, free_entry_item,
					"manifest entry", (void **) out, n, err) != 0)
		goto fail;
	dec_free(&d);
	return 0;
fail:
	dec_free(&d);
	return -1;
}

static int
read_manifest_file(avro_value_t *rec, json_t *rs, btx_ice_manifest *m)
{
	avro_value_t arr;
	json_t	   *at;
	int64_t		v;
	size_t		n;
	size_t		i;
	int			r;

	memset(m, 0, sizeof(*m));
	if (str_by_id(rec, rs, 500, &m->path) != 0 ||
		long_by_id(rec, rs, 501, -1, &m->length) != 0 ||
		long_by_id(rec, rs, 502, 0, &v) != 0)
		return -1;
	m->spec_id = (int32_t) v;
	if (long_by_id(rec, rs, 517, 0, &v) != 0)
		return -1;
	m->content = (int) v;
	if (long_by_id(rec, rs, 515, 0, &m->sequence_number) != 0 ||
		long_by_id(rec, rs, 516, 0, &m->min_sequence_number) != 0 ||
		long_by_id(rec, rs, 503, -1, &m->added_snapshot_id) != 0 ||
		long_by_id(rec, rs, 512, 0, &m->added_rows) != 0 ||
		long_by_id(rec, rs, 513, 0, &m->existing_rows) != 0 ||
		long_by_id(rec, rs, 514, 0, &m->deleted_rows) != 0)
		return -1;
	if (long_by_id(rec, rs, 504, 0, &v) != 0)
		return -1;
	m->added_files = (int32_t) v;
	if (long_by_id(rec, rs, 505, 0, &v) != 0)
		return -1;
	m->existing_files = (int32_t) v;
	if (long_by_id(rec, rs, 506, 0, &v) != 0)
		return -1;
	m->deleted_files = (int32_t) v;
	r = child(rec, rs, 507, &arr, &at);
	if (r <= 0)
		return r;
	if (avro_value_get_type(&arr) != AVRO_ARRAY || avro_value_get_size(&arr, &n) != 0 || n > 1000)
		return -1;
	m->parts = calloc(n ? n : 1, sizeof(btx_ice_part_summary));
	if (m->parts == NULL)
		return -1;
	m->nparts = (int) n;
	for (i = 0; i < n; i++)
	{
		btx_ice_part_summary *p = &m->parts[i];
		json_t	   *es = json_object_get(at, "items");
		avro_value_t el;
		avro_value_t b;

		btx_buf_init(&p->lower);
		btx_buf_init(&p->upper);
		if (avro_value_get_by_index(&arr, i, &el, NULL) != 0 ||
			long_by_id(&el, es, 509, 0, &v) != 0)
			return -1;
		p->contains_null = (int) v;
		if (long_by_id(&el, es, 518, -1, &v) != 0)
			return -1;
		p->contains_nan = (int) v;
		r = child(&el, es, 510, &b, NULL);
		if (r == 1)
		{
			const void *bp;
			size_t		bn;

			if (avro_value_get_bytes(&b, &bp, &bn) != 0 || btx_buf_append(&p->lower, bp, bn) != 0)
				return -1;
			p->has_bounds = 1;
			r = child(&el, es, 511, &b, NULL);
			if (r != 1 || avro_value_get_bytes(&b, &bp, &bn) != 0 ||
				btx_buf_append(&p->upper, bp, bn) != 0)
				return -1;
		}
		else if (r < 0)
			return -1;
	}
	return 0;
}

int
btx_ice_manifest_list_decode(const void *data, size_t len, btx_ice_manifest **out, int *n,
							 btx_error *err)
{
	dec			d;

	*out = NULL;
	*n = 0;
	if (dec_init(&d, data, len, err) != 0)
		goto fail;
	if (dec_records(&d, sizeof(btx_ice_manifest), read_manifest_item, NULL, free_manifest_item,
					"manifest list entry", (void **) out, n, err) != 0)
		goto fail;
	dec_free(&d);
	return 0;
fail:
	dec_free(&d);
	return -1;
}
