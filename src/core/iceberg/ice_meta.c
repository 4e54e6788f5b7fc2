/*
 * ice_meta.c — Iceberg v2 table metadata (vN.metadata.json) with jansson.
 *
 * The parsed table keeps the whole JSON document and derives what the writer
 * needs from it (current schema, default partition spec and sort order,
 * current snapshot, last sequence number).  New versions are deep copies of
 * the base document with the change applied, so fields this code does not
 * know (statistics, other refs, engine properties) survive a btexport
 * commit.  Tables btexport cannot write (another format version, column
 * types or partition transforms it does not produce) are refused with an
 * error that says which.
 *
 * The JSON shapes follow the spec's Appendix C: schemas as structs with
 * field ids, partition specs with partition field ids from 1000, sort orders,
 * snapshots with sequence numbers and a summary, refs.main, snapshot-log and
 * metadata-log.
 */
#include "core/iceberg/ice_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREVIOUS_VERSIONS	100

static const char *type_names[] = {"string", "long", "double", "boolean", "timestamptz"};

static int
invalid(btx_error *err, const char *fmt, const char *arg)
{
	ice_fail(err, BTX_ICE_E_INVALID, "0A000", fmt, arg);
	return -1;
}

static int
corrupt(btx_error *err, const char *what)
{
	return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "invalid Iceberg table metadata: %s", what);
}

/* an Avro-compatible name: letters, digits, '_'; others as _x<HEX> */
static char *
avro_name(const char *s)
{
	btx_buf		b;
	const unsigned char *p;

	btx_buf_init(&b);
	for (p = (const unsigned char *) s; *p; p++)
	{
		int			letter = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
		int			digit = *p >= '0' && *p <= '9';

		if (letter || (digit && p != (const unsigned char *) s))
			btx_buf_putc(&b, (char) *p);
		else if (digit)
			btx_buf_appendf(&b, "_%c", *p);
		else
			btx_buf_appendf(&b, "_x%X", *p);
	}
	if (b.len == 0)
		btx_buf_puts(&b, "_");
	return b.oom ? (btx_buf_free(&b), NULL) : btx_buf_steal(&b);
}

static int64_t
int_or(json_t *o, const char *key, int64_t dflt)
{
	json_t	   *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t) json_integer_value(v) : dflt;
}

void
btx_ice_table_free(btx_ice_table *t)
{
	int			i;

	if (t == NULL)
		return;
	if (t->doc)
		json_decref(t->doc);
	free(t->location);
	for (i = 0; i < t->nfields; i++)
		free((char *) t->fields[i].name);
	free(t->fields);
	free(t->partition_name);
	free(t->partition_avro);
	free(t->schema_json);
	free(t->spec_fields_json);
	free(t->deletes_view);
	free(t);
}

const btx_ice_table *
ice_spec_table(const btx_ice_table *t, int content)
{
	return content == BTX_ICE_EQUALITY_DELETES && t->deletes_view ? t->deletes_view : t;
}

const btx_ice_table *
ice_spec_table_by_id(const btx_ice_table *t, int32_t spec_id)
{
	if (spec_id == t->spec_id)
		return t;
	if (t->deletes_view && spec_id == t->deletes_spec_id)
		return t->deletes_view;
	return NULL;
}

/*
 * A day-partitioned table's unpartitioned spec for its equality deletes: the
 * one in the metadata, or (a table written before deletes were global) one
 * added to the document, which the next commit writes out.  The view shares
 * the table's fields, with the spec's id, no partition field and "[]".
 */
static int
deletes_spec(btx_ice_table *t, json_t *doc, btx_error *err)
{
	json_t	   *specs = json_object_get(doc, "partition-specs");
	json_t	   *sp;
	size_t		i;
	int64_t		max_id = -1;
	btx_ice_table *v;

	t->deletes_spec_id = -1;
	json_array_foreach(specs, i, sp)
	{
		int64_t		id = int_or(sp, "spec-id", -1);

		if (id > max_id)
			max_id = id;
		if (t->deletes_spec_id < 0 && json_is_array(json_object_get(sp, "fields")) &&
			json_array_size(json_object_get(sp, "fields")) == 0)
			t->deletes_spec_id = (int32_t) id;
	}
	if (t->deletes_spec_id < 0)
	{
		t->deletes_spec_id = (int32_t) (max_id + 1);
		if (json_array_append_new(specs, json_pack("{s:i, s:[]}", "spec-id", (int) t->deletes_spec_id,
												   "fields")) != 0)
			return ice_oom(err);
	}
	v = malloc(sizeof(btx_ice_table));
	if (v == NULL)
		return ice_oom(err);
	*v = *t;
	v->spec_id = t->deletes_spec_id;
	v->day_source_id = 0;
	v->partition_name = NULL;
	v->partition_avro = NULL;
	v->spec_fields_json = (char *) "[]";
	v->deletes_view = NULL;
	t->deletes_view = v;
	return 0;
}

static json_t *
find_by_int(json_t *arr, const char *key, int64_t v)
{
	size_t		i;
	json_t	   *o;

	json_array_foreach(arr, i, o)
	{
		if (int_or(o, key, INT64_MIN) == v)
			return o;
	}
	return NULL;
}

static int
parse_fields(btx_ice_table *t, json_t *schema, btx_error *err)
{
	json_t	   *fields = json_object_get(schema, "fields");
	json_t	   *f;
	size_t		i;

	if (!json_is_array(fields) || json_array_size(fields) == 0)
		return corrupt(err, "the current schema has no fields");
	t->fields = calloc(json_array_size(fields), sizeof(btx_ice_field));
	if (t->fields == NULL)
		return ice_oom(err);
	json_array_foreach(fields, i, f)
	{
		btx_ice_field *x = &t->fields[i];
		json_t	   *type = json_object_get(f, "type");
		const char *name = json_string_value(json_object_get(f, "name"));
		int			k;

		if (name == NULL || !json_is_integer(json_object_get(f, "id")))
			return corrupt(err, "a schema field without name or id");
		x->name = ice_strdup(name);
		if (x->name == NULL)
			return ice_oom(err);
		t->nfields++;
		x->id = (int32_t) int_or(f, "id", 0);
		if (json_is_string(type))
		{
			for (k = 0; k < 5; k++)
				if (strcmp(json_string_value(type), type_names[k]) == 0)
					break;
			if (k == 5)
				return invalid(err, "table column \"%s\" has a type btexport does not write", name);
			x->type = (btx_ice_type) k;
		}
		else if (json_is_object(type) &&
				 strcmp(json_string_value(json_object_get(type, "type")) ? json_string_value(json_object_get(type, "type")) : "", "list") == 0 &&
				 json_is_string(json_object_get(type, "element")) &&
				 strcmp(json_string_value(json_object_get(type, "element")), "string") == 0)
		{
			x->type = BTX_ICE_LIST_STRING;
			x->element_id = (int32_t) int_or(type, "element-id", 0);
		}
		else
			return invalid(err, "table column \"%s\" has a type btexport does not write", name);
	}
	return 0;
}

static int
parse_props(btx_ice_table *t, json_t *doc)
{
	json_t	   *props = json_object_get(doc, "properties");
	const char *ident = json_string_value(json_object_get(props, ICE_PROP_IDENTIFIER));
	const char *js = json_string_value(json_object_get(props, ICE_PROP_JSON_FIELDS));
	int			i;

	t->identifier_id = ident ? atoi(ident) : 0;
	for (i = 0; !ident && i < t->nfields; i++)
		if (strcmp(t->fields[i].name, "id") == 0)
			t->identifier_id = t->fields[i].id;
	while (js && *js)
	{
		int			id = atoi(js);

		for (i = 0; i < t->nfields; i++)
			if (t->fields[i].id == id && t->fields[i].type == BTX_ICE_STRING)
				t->fields[i].json = 1;
		js = strchr(js, ',');
		if (js)
			js++;
	}
	return 0;
}

static int
parse_spec(btx_ice_table *t, json_t *doc, btx_error *err)
{
	json_t	   *spec;
	json_t	   *fields;
	json_t	   *pf;
	const char *transform;
	const btx_ice_field *src;

	t->spec_id = (int32_t) int_or(doc, "default-spec-id", -1);
	spec = find_by_int(json_object_get(doc, "partition-specs"), "spec-id", t->spec_id);
	if (spec == NULL)
		return corrupt(err, "the default partition spec is missing");
	fields = json_object_get(spec, "fields");
	if (!json_is_array(fields))
		return corrupt(err, "a partition spec without fields");
	t->spec_fields_json = json_dumps(fields, JSON_COMPACT);
	if (t->spec_fields_json == NULL)
		return ice_oom(err);
	if (json_array_size(fields) == 0)
		return 0;
	pf = json_array_get(fields, 0);
	transform = json_string_value(json_object_get(pf, "transform"));
	src = btx_ice_table_field(t, (int32_t) int_or(pf, "source-id", -1));
	if (json_array_size(fields) != 1 || transform == NULL || strcmp(transform, "day") != 0 ||
		int_or(pf, "field-id", -1) != ICE_PARTITION_FIELD_ID || src == NULL ||
		src->type != BTX_ICE_TIMESTAMPTZ || !json_is_string(json_object_get(pf, "name")))
		return invalid(err, "the table's partition spec is not one btexport writes%s",
					   " (unpartitioned or day(<timestamptz column>))");
	t->day_source_id = src->id;
	t->partition_name = ice_strdup(json_string_value(json_object_get(pf, "name")));
	t->partition_avro = avro_name(t->partition_name ? t->partition_name : "");
	if (t->partition_name == NULL || t->partition_avro == NULL)
		return ice_oom(err);
	return 0;
}

btx_ice_table *
ice_table_from_doc(json_t *doc, int version, btx_error *err)
{
	btx_ice_table *t = calloc(1, sizeof(btx_ice_table));
	json_t	   *schema;
	const char *loc;

	if (t == NULL)
	{
		json_decref(doc);
		ice_oom(err);
		return NULL;
	}
	t->doc = doc;
	t->version = version;
	if (!json_is_object(doc))
		goto corrupt_doc;
	if (int_or(doc, "format-version", -1) != 2)
	{
		ice_fail(err, BTX_ICE_E_INVALID, "0A000", "unsupported Iceberg format version %lld",
				 (long long) int_or(doc, "format-version", -1));
		btx_error_hint(err, "btexport writes format version 2 tables.");
		goto fail;
	}
	loc = json_string_value(json_object_get(doc, "location"));
	if (loc == NULL || !json_is_string(json_object_get(doc, "table-uuid")) ||
		!json_is_integer(json_object_get(doc, "last-sequence-number")) ||
		!json_is_integer(json_object_get(doc, "last-column-id")))
		goto corrupt_doc;
	t->location = ice_strdup(loc);
	if (t->location == NULL)
	{
		ice_oom(err);
		goto fail;
	}
	t->last_sequence = int_or(doc, "last-sequence-number", 0);
	t->current_snapshot = int_or(doc, "current-snapshot-id", -1);
	t->schema_id = (int32_t) int_or(doc, "current-schema-id", -1);
	schema = find_by_int(json_object_get(doc, "schemas"), "schema-id", t->schema_id);
	if (schema == NULL)
		goto corrupt_doc;
	t->schema_json = json_dumps(schema, JSON_COMPACT);
	if (t->schema_json == NULL)
	{
		ice_oom(err);
		goto fail;
	}
	if (parse_fields(t, schema, err) != 0 || parse_props(t, doc) != 0 ||
		parse_spec(t, doc, err) != 0)
		goto fail;
	t->sort_order_id = (int32_t) int_or(doc, "default-sort-order-id", 0);
	if (t->current_snapshot >= 0 && ice_snapshot_json(t, t->current_snapshot) == NULL)
		goto corrupt_doc;
	/* last: the deletes' view copies the parsed table */
	t->deletes_spec_id = t->spec_id;
	if (t->day_source_id && deletes_spec(t, doc, err) != 0)
		goto fail;
	return t;
corrupt_doc:
	corrupt(err, "a required field is missing or has the wrong type");
fail:
	btx_ice_table_free(t);
	return NULL;
}

btx_ice_table *
btx_ice_table_parse(const char *json, size_t len, int version, btx_error *err)
{
	json_error_t je;
	json_t	   *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);

	if (doc == NULL)
	{
		ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "invalid Iceberg table metadata: %s", je.text);
		btx_error_detail(err, "Line %d, column %d of v%d.metadata.json.", je.line, je.column, version);
		return NULL;
	}
	return ice_table_from_doc(doc, version, err);
}

/* ---------- create ---------- */

static json_t *
field_json(const btx_ice_field *f)
{
	json_t	   *o = ice_json_object();
	json_t	   *type;

	if (f->type == BTX_ICE_LIST_STRING)
		type = json_pack("{s:s, s:i, s:b, s:s}", "type", "list", "element-id", (int) f->element_id,
						 "element-required", 0, "element", "string");
	else
		type = json_string(type_names[f->type]);
	json_object_set_new(o, "id", json_integer(f->id));
	json_object_set_new(o, "name", json_string(f->name));
	json_object_set_new(o, "required", json_false());
	json_object_set_new(o, "type", type);
	return o;
}

static int
check_def(const btx_ice_table_def *d, int32_t *max_id, btx_error *err)
{
	int			i;
	int			j;
	const btx_ice_field *day = NULL;
	const btx_ice_field *ident = NULL;

	*max_id = 0;
	if (d->location == NULL || d->location[0] == '\0' || d->location[strlen(d->location) - 1] == '/' ||
		strstr(d->location, "://") == NULL)
		return invalid(err, "invalid Iceberg table location \"%s\"",
					   d->location ? d->location : "");
	if (d->nfields <= 0 || d->fields == NULL)
		return invalid(err, "an Iceberg table needs columns%s", "");
	for (i = 0; i < d->nfields; i++)
	{
		const btx_ice_field *f = &d->fields[i];
		int32_t		ids[2] = {f->id, f->type == BTX_ICE_LIST_STRING ? f->element_id : 0};

		if (f->name == NULL || f->name[0] == '\0' || f->id <= 0 || (int) f->type < 0 ||
			f->type > BTX_ICE_LIST_STRING || (f->type == BTX_ICE_LIST_STRING && f->element_id <= 0) ||
			f->id > 2147483447 || f->element_id > 2147483447)
			return invalid(err, "invalid Iceberg column \"%s\"", f->name ? f->name : "");
		for (j = 0; j < d->nfields; j++)
		{
			const btx_ice_field *g = &d->fields[j];

			if ((j != i && (g->id == ids[0] || strcmp(g->name, f->name) == 0)) ||
				(ids[1] && (g->id == ids[1] || (g->type == BTX_ICE_LIST_STRING && j != i && g->element_id == ids[1]))))
				return invalid(err, "duplicate Iceberg column name or field id at \"%s\"", f->name);
		}
		if (ids[1] && ids[1] == ids[0])
			return invalid(err, "duplicate Iceberg column name or field id at \"%s\"", f->name);
		if (f->id > *max_id)
			*max_id = f->id;
		if (ids[1] > *max_id)
			*max_id = ids[1];
		if (f->id == d->day_source_id)
			day = f;
		if (f->id == d->identifier_id)
			ident = f;
	}
	if (d->day_source_id && (day == NULL || day->type != BTX_ICE_TIMESTAMPTZ))
		return invalid(err, "the partition column must be a timestamptz column of the table%s", "");
	if (ident == NULL || (ident->type != BTX_ICE_STRING && ident->type != BTX_ICE_LONG))
		return invalid(err, "the equality delete column must be a string or long column of the table%s", "");
	if (d->sort_source_id)
	{
		for (i = 0; i < d->nfields; i++)
			if (d->fields[i].id == d->sort_source_id && d->fields[i].type != BTX_ICE_LIST_STRING)
				break;
		if (i == d->nfields)
			return invalid(err, "the sort column must be a primitive column of the table%s", "");
	}
	return 0;
}

btx_ice_table *
btx_ice_table_create(const btx_ice_table_def *d, btx_error *err)
{
	json_t	   *doc;
	json_t	   *fields;
	json_t	   *pfields;
	json_t	   *orders;
	json_t	   *props;
	char		uuid[37];
	char		num[16];
	btx_buf		jf;
	int32_t		max_id;
	int			i;

	if (check_def(d, &max_id, err) != 0)
		return NULL;
	if (d->table_uuid == NULL && btx_ice_uuid(uuid, err) != 0)
		return NULL;
	doc = ice_json_object();
	fields = json_array();
	for (i = 0; i < d->nfields; i++)
		json_array_append_new(fields, field_json(&d->fields[i]));
	pfields = json_array();
	if (d->day_source_id)
	{
		for (i = 0; d->fields[i].id != d->day_source_id; i++)
			;
		json_array_append_new(pfields, json_pack("{s:s, s:s, s:i, s:i}", "name", "", "transform", "day",
												 "source-id", (int) d->day_source_id,
												 "field-id", ICE_PARTITION_FIELD_ID));
		{
			btx_buf		pn;

			btx_buf_init(&pn);
			btx_buf_appendf(&pn, "%s_day", d->fields[i].name);
			json_object_set_new(json_array_get(pfields, 0), "name", json_string(pn.data ? pn.data : ""));
			btx_buf_free(&pn);
		}
	}
	orders = json_array();
	json_array_append_new(orders, json_pack("{s:i, s:[]}", "order-id", 0, "fields"));
	if (d->sort_source_id)
		json_array_append_new(orders, json_pack("{s:i, s:[{s:s, s:i, s:s, s:s}]}", "order-id", 1, "fields",
												"transform", "identity", "source-id", (int) d->sort_source_id,
												"direction", "asc", "null-order", "nulls-first"));
	props = ice_json_object();
	for (i = 0; i < d->nproperties; i++)
		if (d->properties[i].key && d->properties[i].value)
			json_object_set_new(props, d->properties[i].key, json_string(d->properties[i].value));
	snprintf(num, sizeof(num), "%d", d->identifier_id);
	json_object_set_new(props, ICE_PROP_IDENTIFIER, json_string(num));
	btx_buf_init(&jf);
	for (i = 0; i < d->nfields; i++)
		if (d->fields[i].json && d->fields[i].type == BTX_ICE_STRING)
			btx_buf_appendf(&jf, "%s%d", jf.len ? "," : "", d->fields[i].id);
	if (jf.len)
		json_object_set_new(props, ICE_PROP_JSON_FIELDS, json_string(jf.data));
	btx_buf_free(&jf);
	json_object_set_new(props, "write.format.default", json_string("parquet"));

	json_object_set_new(doc, "format-version", json_integer(2));
	json_object_set_new(doc, "table-uuid", json_string(d->table_uuid ? d->table_uuid : uuid));
	json_object_set_new(doc, "location", json_string(d->location));
	json_object_set_new(doc, "last-sequence-number", json_integer(0));
	json_object_set_new(doc, "last-updated-ms", json_integer(d->now_ms));
	json_object_set_new(doc, "last-column-id", json_integer(max_id));
	json_object_set_new(doc, "current-schema-id", json_integer(0));
	json_object_set_new(doc, "schemas", json_pack("[{s:s, s:i, s:o}]", "type", "struct", "schema-id", 0,
												  "fields", fields));
	json_object_set_new(doc, "default-spec-id", json_integer(0));
	/* day-partitioned: spec 1 is the unpartitioned spec of the (global) equality deletes */
	json_object_set_new(doc, "partition-specs", d->day_source_id ?
						json_pack("[{s:i, s:o}, {s:i, s:[]}]", "spec-id", 0, "fields", pfields, "spec-id", 1, "fields") :
						json_pack("[{s:i, s:o}]", "spec-id", 0, "fields", pfields));
	json_object_set_new(doc, "last-partition-id",
						json_integer(d->day_source_id ? ICE_PARTITION_FIELD_ID : ICE_PARTITION_FIELD_ID - 1));
	json_object_set_new(doc, "default-sort-order-id", json_integer(d->sort_source_id ? 1 : 0));
	json_object_set_new(doc, "sort-orders", orders);
	json_object_set_new(doc, "properties", props);
	json_object_set_new(doc, "snapshots", json_array());
	json_object_set_new(doc, "snapshot-log", json_array());
	json_object_set_new(doc, "metadata-log", json_array());
	if (json_object_size(doc) != 17)
	{
		json_decref(doc);
		ice_oom(err);
		return NULL;
	}
	return ice_table_from_doc(doc, 1, err);
}

/* ---------- accessors ---------- */

int
btx_ice_table_json(const btx_ice_table *t, btx_buf *out, btx_error *err)
{
	char	   *s = json_dumps(t->doc, JSON_INDENT(2));

	if (s == NULL)
		return ice_oom(err);
	btx_buf_reset(out);
	btx_buf_puts(out, s);
	free(s);
	return out->oom ? ice_oom(err) : 0;
}

int
btx_ice_table_version(const btx_ice_table *t)
{
	return t->version;
}

const char *
btx_ice_table_location(const btx_ice_table *t)
{
	return t->location;
}

int64_t
btx_ice_table_current_snapshot(const btx_ice_table *t)
{
	return t->current_snapshot;
}

int64_t
btx_ice_table_last_sequence(const btx_ice_table *t)
{
	return t->last_sequence;
}

int
btx_ice_table_snapshot_count(const btx_ice_table *t)
{
	return (int) json_array_size(json_object_get(t->doc, "snapshots"));
}

json_t *
ice_snapshot_json(const btx_ice_table *t, int64_t snapshot_id)
{
	return find_by_int(json_object_get(t->doc, "snapshots"), "snapshot-id", snapshot_id);
}

const char *
ice_snapshot_manifest_list(const btx_ice_table *t, int64_t snapshot_id)
{
	return json_string_value(json_object_get(ice_snapshot_json(t, snapshot_id), "manifest-list"));
}

int
ice_snapshot_ids(const btx_ice_table *t, int64_t **ids, int *n)
{
	json_t	   *snaps = json_object_get(t->doc, "snapshots");
	json_t	   *s;
	size_t		i;

	*n = 0;
	*ids = malloc(sizeof(int64_t) * (json_array_size(snaps) + 1));
	if (*ids == NULL)
		return -1;
	json_array_foreach(snaps, i, s)
		(*ids)[(*n)++] = int_or(s, "snapshot-id", -1);
	return 0;
}

const char *
btx_ice_table_summary(const btx_ice_table *t, int64_t snapshot_id, const char *key)
{
	json_t	   *s = ice_snapshot_json(t, snapshot_id < 0 ? t->current_snapshot : snapshot_id);

	return json_string_value(json_object_get(json_object_get(s, "summary"), key));
}

/* the newest snapshot whose summary has key = value (a run's tag): its id, or -1 */
int64_t
btx_ice_table_find_snapshot(const btx_ice_table *t, const char *key, const char *value)
{
	json_t	   *snaps = json_object_get(t->doc, "snapshots");
	json_t	   *s;
	size_t		i;
	int64_t		found = -1;

	json_array_foreach(snaps, i, s)
	{
		const char *v = json_string_value(json_object_get(json_object_get(s, "summary"), key));

		if (v && strcmp(v, value) == 0)
			found = int_or(s, "snapshot-id", -1);
	}
	return found;
}

const btx_ice_field *
btx_ice_table_field(const btx_ice_table *t, int32_t id)
{
	int			i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->nfields; i++)
		if (t->fields[i].id == id)
			return &t->fields[i];
	return NULL;
}

int
btx_ice_table_nfields(const btx_ice_table *t)
{
	return t->nfields;
}

const btx_ice_field *
btx_ice_table_field_at(const btx_ice_table *t, int i)
{
	return i >= 0 && i < t->nfields ? &t->fields[i] : NULL;
}

int32_t
btx_ice_table_identifier_id(const btx_ice_table *t)
{
	return t->identifier_id;
}

int32_t
btx_ice_table_day_source_id(const btx_ice_table *t)
{
	return t->day_source_id;
}

int
ice_metadata_uri(const char *location, int version, btx_buf *out)
{
	btx_buf_reset(out);
	btx_buf_appendf(out, "%s/metadata/v%d.metadata.json", location, version);
	return out->oom ? -1 : 0;
}

/* ---------- new versions ---------- */

/* base's file into the metadata-log, trimmed to write.metadata.previous-versions-max */
static int
log_previous(const btx_ice_table *base, json_t *doc)
{
	json_t	   *log = json_object_get(doc, "metadata-log");
	const char *maxs = json_string_value(json_object_get(json_object_get(doc, "properties"),
														 "write.metadata.previous-versions-max"));
	size_t		max = maxs && atoi(maxs) > 0 ? (size_t) atoi(maxs) : DEFAULT_PREVIOUS_VERSIONS;
	btx_buf		uri;

	if (!json_is_array(log))
	{
		log = json_array();
		json_object_set_new(doc, "metadata-log", log);
	}
	btx_buf_init(&uri);
	if (ice_metadata_uri(base->location, base->version, &uri) != 0)
		return -1;
	json_array_append_new(log, json_pack("{s:I, s:s}", "timestamp-ms",
										 (json_int_t) int_or(base->doc, "last-updated-ms", 0),
										 "metadata-file", uri.data));
	btx_buf_free(&uri);
	while (json_array_size(log) > max)
		json_array_remove(log, 0);
	return 0;
}

btx_ice_table *
ice_table_with_snapshot(const btx_ice_table *base, json_t *snap, int64_t snapshot_id,
						int64_t seq, int64_t now_ms, btx_error *err)
{
	json_t	   *doc = json_deep_copy(base->doc);
	json_t	   *arr;
	json_t	   *refs;

	if (doc == NULL)
	{
		json_decref(snap);
		ice_oom(err);
		return NULL;
	}
	json_object_set_new(doc, "last-sequence-number", json_integer(seq));
	json_object_set_new(doc, "last-updated-ms", json_integer(now_ms));
	arr = json_object_get(doc, "snapshots");
	if (!json_is_array(arr))
	{
		arr = json_array();
		json_object_set_new(doc, "snapshots", arr);
	}
	json_array_append_new(arr, snap);
	json_object_set_new(doc, "current-snapshot-id", json_integer(snapshot_id));
	refs = json_object_get(doc, "refs");
	if (!json_is_object(refs))
	{
		refs = ice_json_object();
		json_object_set_new(doc, "refs", refs);
	}
	json_object_set_new(refs, "main", json_pack("{s:I, s:s}", "snapshot-id", (json_int_t) snapshot_id,
												"type", "branch"));
	arr = json_object_get(doc, "snapshot-log");
	if (!json_is_array(arr))
	{
		arr = json_array();
		json_object_set_new(doc, "snapshot-log", arr);
	}
	json_array_append_new(arr, json_pack("{s:I, s:I}", "timestamp-ms", (json_int_t) now_ms,
										 "snapshot-id", (json_int_t) snapshot_id));
	if (log_previous(base, doc) != 0)
	{
		json_decref(doc);
		ice_oom(err);
		return NULL;
	}
	return ice_table_from_doc(doc, base->version + 1, err);
}

static int
contains(const int64_t *a, int n, int64_t v)
{
	int			i;

	for (i = 0; i < n; i++)
		if (a[i] == v)
			return 1;
	return 0;
}

int
ice_expire_select(const btx_ice_table *t, int keep_last, int64_t older_than_ms,
				  int64_t **expired, int *nexpired, btx_error *err)
{
	json_t	   *snaps = json_object_get(t->doc, "snapshots");
	size_t		n = json_array_size(snaps);
	int64_t    *keep = malloc(sizeof(int64_t) * (n + 1));
	int			nkeep = 0;
	int64_t		id = t->current_snapshot;
	const char *key;
	json_t	   *ref;
	json_t	   *s;
	size_t		i;

	*expired = malloc(sizeof(int64_t) * (n + 1));
	*nexpired = 0;
	if (keep == NULL || *expired == NULL)
	{
		free(keep);
		free(*expired);
		*expired = NULL;
		return ice_oom(err);
	}
	if (keep_last < 1)
		keep_last = 1;
	/* the current snapshot's ancestry, until one is both beyond keep_last and too old */
	while (id >= 0 && (s = ice_snapshot_json(t, id)) != NULL && !contains(keep, nkeep, id))
	{
		if (nkeep >= keep_last && int_or(s, "timestamp-ms", 0) < older_than_ms)
			break;
		keep[nkeep++] = id;
		id = int_or(s, "parent-snapshot-id", -1);
	}
	/* every other ref's snapshot */
	json_object_foreach(json_object_get(t->doc, "refs"), key, ref)
	{
		int64_t		rid = int_or(ref, "snapshot-id", -1);

		if (rid >= 0 && !contains(keep, nkeep, rid) && (size_t) nkeep < n)
			keep[nkeep++] = rid;
	}
	json_array_foreach(snaps, i, s)
	{
		int64_t		sid = int_or(s, "snapshot-id", -1);

		if (!contains(keep, nkeep, sid))
			(*expired)[(*nexpired)++] = sid;
	}
	free(keep);
	return 0;
}

btx_ice_table *
ice_table_without(const btx_ice_table *base, const int64_t *expired, int nexpired,
				  int64_t now_ms, btx_error *err)
{
	json_t	   *doc = json_deep_copy(base->doc);
	json_t	   *arr;
	size_t		i;
	size_t		last = 0;
	int			found = 0;

	if (doc == NULL)
	{
		ice_oom(err);
		return NULL;
	}
	json_object_set_new(doc, "last-updated-ms", json_integer(now_ms));
	arr = json_object_get(doc, "snapshots");
	for (i = json_array_size(arr); i > 0; i--)
		if (contains(expired, nexpired, int_or(json_array_get(arr, i - 1), "snapshot-id", -1)))
			json_array_remove(arr, i - 1);
	/* snapshot-log: drop everything up to the last entry of an expired snapshot */
	arr = json_object_get(doc, "snapshot-log");
	for (i = 0; i < json_array_size(arr); i++)
		if (contains(expired, nexpired, int_or(json_array_get(arr, i), "snapshot-id", -1)))
		{
			last = i;
			found = 1;
		}
	while (found && json_array_size(arr) > 0 && last + 1 > 0)
	{
		json_array_remove(arr, 0);
		if (last == 0)
			break;
		last--;
	}
	if (log_previous(base, doc) != 0)
	{
		json_decref(doc);
		ice_oom(err);
		return NULL;
	}
	return ice_table_from_doc(doc, base->version + 1, err);
}
