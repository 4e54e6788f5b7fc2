/*
 * ice_int.h — what the files of src/core/iceberg share and callers do not
 * see: the parsed table, error helpers, Avro object container framing.
 */
#ifndef BTX_ICE_INT_H
#define BTX_ICE_INT_H

#include <jansson.h>

/*
 * A new empty JSON object.  Not jansson's json_object() by name: inside the
 * PostgreSQL backend that symbol resolves to PostgreSQL's own json_object
 * (the SQL function's C entry point, exported by the server binary, which
 * comes first in the dynamic linker's search), so the call would run
 * PostgreSQL's function.  json_pack's internal call stays inside libjansson.
 */
static inline json_t *
ice_json_object(void)
{
	return json_pack("{}");
}

#include "core/iceberg/iceberg.h"

/* the partition field id of the day spec, as the reference writers assign it */
#define ICE_PARTITION_FIELD_ID	1000
/* string bounds keep this many code points (Iceberg's default truncate(16)) */
#define ICE_TRUNCATE_CHARS		16
#define ICE_PROP_IDENTIFIER		"btexport.equality-field-id"
#define ICE_PROP_JSON_FIELDS	"btexport.json-field-ids"

struct btx_ice_table
{
	json_t	   *doc;			/* the whole metadata document */
	int			version;
	char	   *location;
	int32_t		schema_id;
	btx_ice_field *fields;		/* current schema; names owned */
	int			nfields;
	int32_t		identifier_id;
	int32_t		spec_id;		/* default spec */
	int32_t		day_source_id;	/* 0: unpartitioned */
	char	   *partition_name; /* "<source>_day" */
	char	   *partition_avro; /* the same as an Avro field name */
	int32_t		sort_order_id;
	int64_t		current_snapshot;	/* -1: none */
	int64_t		last_sequence;
	char	   *schema_json;	/* current schema, compact JSON */
	char	   *spec_fields_json;	/* default spec's fields array */

	/*
	 * Equality deletes are global: written with an unpartitioned spec, so
	 * that a delete removes a span's older version from every day, even one
	 * its created moved away from (spec: "equality delete files stored with
	 * an unpartitioned spec are applied as global deletes").  For a
	 * day-partitioned table deletes_view is the table seen through that spec
	 * (it shares every other field; freed with the table); otherwise NULL and
	 * deletes use the default spec, which is unpartitioned.
	 */
	int32_t		deletes_spec_id;
	struct btx_ice_table *deletes_view;
};

/* the table as the files of this content are written and read: deletes through deletes_view */
extern const btx_ice_table *ice_spec_table(const btx_ice_table *t, int content);
/* the table as a manifest of this partition spec id is read; NULL: a spec btexport does not write */
extern const btx_ice_table *ice_spec_table_by_id(const btx_ice_table *t, int32_t spec_id);

/* errors */
extern int	ice_fail(btx_error *err, int code, const char *sqlstate, const char *fmt,...) BTX_PRINTF(4, 5);
extern int	ice_oom(btx_error *err);
extern char *ice_strdup(const char *s);
extern int	ice_random_bytes(unsigned char *b, size_t n, btx_error *err);

/* table internals */
extern btx_ice_table *ice_table_from_doc(json_t *doc, int version, btx_error *err);
extern json_t *ice_snapshot_json(const btx_ice_table *t, int64_t snapshot_id);
extern int	ice_metadata_uri(const char *location, int version, btx_buf *out);
extern btx_ice_table *ice_table_with_snapshot(const btx_ice_table *base, json_t *snap,
											  int64_t snapshot_id, int64_t seq, int64_t now_ms,
											  btx_error *err);
/* expiry selection: snapshot ids to drop (malloc'd) */
extern int	ice_expire_select(const btx_ice_table *t, int keep_last, int64_t older_than_ms,
							  int64_t **expired, int *nexpired, btx_error *err);
extern btx_ice_table *ice_table_without(const btx_ice_table *base, const int64_t *expired,
										int nexpired, int64_t now_ms, btx_error *err);
extern const char *ice_snapshot_manifest_list(const btx_ice_table *t, int64_t snapshot_id);
/* all snapshot ids (malloc'd) */
extern int	ice_snapshot_ids(const btx_ice_table *t, int64_t **ids, int *n);

/* Avro object container framing (ice_avro.c) */
typedef struct ice_ocf_meta
{
	const char *key;
	const char *value;
} ice_ocf_meta;

/* frame records (already Avro-encoded back to back) into a container */
extern int	ice_ocf_write(btx_buf *out, const char *schema_json, const char *codec,
						  const ice_ocf_meta *meta, int nmeta, const btx_buf *records,
						  int64_t nrecords, btx_error *err);

/* a decoded container: header metadata, and the concatenated record bytes */
typedef struct ice_ocf
{
	char	  **keys;
	char	  **values;
	size_t	   *value_lens;
	int			nmeta;
	btx_buf		records;		/* uncompressed record bytes of all blocks */
	int64_t		nrecords;
} ice_ocf;

extern int	ice_ocf_read(const void *data, size_t len, ice_ocf *out, btx_error *err);
extern const char *ice_ocf_get(const ice_ocf *o, const char *key);
/* every record matches schema (lengths and counts within the data); before avro-c */
extern int	ice_ocf_validate(const ice_ocf *o, json_t *schema, btx_error *err);
extern void ice_ocf_free(ice_ocf *o);

#endif							/* BTX_ICE_INT_H */
