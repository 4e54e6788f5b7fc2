/*
 * iceberg.h — Apache Iceberg v2 tables written by btexport (plain C, no
 * PostgreSQL headers; errors as btx_error values; no globals).
 *
 * A table is a folder of objects under its location (s3://bucket/prefix):
 *   data/[<part>=<yyyy-mm-dd>/]<name>.parquet   data and equality delete files
 *   metadata/<commit-uuid>-m<k>.avro            manifests (Avro)
 *   metadata/snap-<id>-<attempt>-<uuid>.avro    manifest lists (Avro)
 *   metadata/v<N>.metadata.json                 table metadata, one per version
 *   metadata/version-hint.text                  the latest N (a hint)
 * The commit point is the conditional create (If-None-Match) of
 * v<N+1>.metadata.json: exactly one writer wins version N+1, the loser
 * re-reads and retries on N+2 (appends) or fails (a replace whose files are
 * gone).  Nothing here does I/O: objects are read and written through the
 * caller's btx_ice_io callbacks, so the same code runs against S3 (the
 * backend) and a local folder (tests).
 *
 * One export run is one snapshot: its data files (btx_ice_writer), equality
 * delete files on the identifier column for spans exported again, then one
 * btx_ice_commit (manifests, manifest list, metadata, version hint).  See
 * docs/iceberg.md for the layout, sequence numbers and maintenance.
 */
#ifndef BTX_ICEBERG_H
#define BTX_ICEBERG_H

#include <stddef.h>
#include <stdint.h>

#include "core/common/btx_buf.h"
#include "core/format/parquet.h"
#include "core/format/sink.h"

/* data_file.content */
#define BTX_ICE_DATA				0
#define BTX_ICE_POSITION_DELETES	1
#define BTX_ICE_EQUALITY_DELETES	2

/* manifest_entry.status */
#define BTX_ICE_EXISTING	0
#define BTX_ICE_ADDED		1
#define BTX_ICE_DELETED		2

/* btx_error.code values set by this module */
#define BTX_ICE_E_INVALID	1	/* bad argument or unsupported table */
#define BTX_ICE_E_CORRUPT	2	/* an object of the table cannot be decoded */
#define BTX_ICE_E_CONFLICT	3	/* a concurrent commit won; a retry cannot apply */
#define BTX_ICE_E_IO		4	/* an I/O callback failed */
#define BTX_ICE_E_OOM		5

/* I/O callback results besides 0 (done) and -1 (error, err set) */
#define BTX_ICE_IO_EXISTS		1	/* conditional create: the object exists */
#define BTX_ICE_IO_NOT_FOUND	2	/* read: no such object */

/* Iceberg column types btexport writes; JSON-valued columns are strings */
typedef enum btx_ice_type
{
	BTX_ICE_STRING,
	BTX_ICE_LONG,
	BTX_ICE_DOUBLE,
	BTX_ICE_BOOLEAN,
	BTX_ICE_TIMESTAMPTZ,		/* microseconds since the epoch, UTC */
	BTX_ICE_LIST_STRING			/* list<string>, optional elements */
} btx_ice_type;

typedef struct btx_ice_field
{
	int32_t		id;				/* unique in the schema, > 0 */
	const char *name;
	btx_ice_type type;
	int32_t		element_id;		/* BTX_ICE_LIST_STRING: the element's id */
	int			json;			/* string holding JSON: Parquet writes no statistics */
} btx_ice_field;

typedef struct btx_ice_kv
{
	const char *key;
	const char *value;
} btx_ice_kv;

typedef struct btx_ice_table_def
{
	const char *location;		/* URI without a trailing '/', e.g. s3://b/exports/spans */
	const char *table_uuid;		/* NULL: a random UUID */
	const btx_ice_field *fields;	/* every field optional */
	int			nfields;
	int32_t		identifier_id;	/* field of equality deletes (the span id) */
	int32_t		day_source_id;	/* 0: unpartitioned; else day(<timestamptz field>) */
	int32_t		sort_source_id; /* 0: unsorted; else sort order 1 = field asc */
	const btx_ice_kv *properties;
	int			nproperties;
	int64_t		now_ms;
} btx_ice_table_def;

/* Parsed table metadata (one version).  Keeps unknown fields on rewrite. */
typedef struct btx_ice_table btx_ice_table;

extern btx_ice_table *btx_ice_table_create(const btx_ice_table_def *def, btx_error *err);
/* version: the N of vN.metadata.json the text came from */
extern btx_ice_table *btx_ice_table_parse(const char *json, size_t len, int version,
										  btx_error *err);
extern void btx_ice_table_free(btx_ice_table *t);
extern int	btx_ice_table_json(const btx_ice_table *t, btx_buf *out, btx_error *err);
extern int	btx_ice_table_version(const btx_ice_table *t);
extern const char *btx_ice_table_location(const btx_ice_table *t);
extern int64_t btx_ice_table_current_snapshot(const btx_ice_table *t);	/* -1: none */
extern int64_t btx_ice_table_last_sequence(const btx_ice_table *t);
extern int	btx_ice_table_snapshot_count(const btx_ice_table *t);
/* a summary value of a snapshot (snapshot_id -1: the current one); NULL if absent */
extern const char *btx_ice_table_summary(const btx_ice_table *t, int64_t snapshot_id,
										 const char *key);
/* the newest snapshot whose summary holds key = value (a run's tag); -1: none */
extern int64_t btx_ice_table_find_snapshot(const btx_ice_table *t, const char *key,
										   const char *value);
/* the schema's field with this id; NULL if none */
extern const btx_ice_field *btx_ice_table_field(const btx_ice_table *t, int32_t id);
extern int	btx_ice_table_nfields(const btx_ice_table *t);
extern const btx_ice_field *btx_ice_table_field_at(const btx_ice_table *t, int i);
extern int32_t btx_ice_table_identifier_id(const btx_ice_table *t);
extern int32_t btx_ice_table_day_source_id(const btx_ice_table *t);	/* 0: unpartitioned */

/* ---------- files and entries ---------- */

/* the partition tuple of the day(created) spec; ignored when unpartitioned */
typedef struct btx_ice_partition
{
	int			is_null;
	int32_t		day;			/* days since 1970-01-01 */
} btx_ice_partition;

/* day of a timestamptz (floor division: before 1970 counts down) */
extern int32_t btx_ice_day_of_micros(int64_t micros);

typedef struct btx_ice_metric
{
	int32_t		field_id;
	int64_t		column_size;	/* -1: absent */
	int64_t		value_count;	/* -1: absent */
	int64_t		null_count;		/* -1: absent */
	int64_t		nan_count;		/* -1: absent */
	btx_buf		lower;			/* single-value serialization; len 0 + !has_lower: absent */
	btx_buf		upper;
	int			has_lower;
	int			has_upper;
} btx_ice_metric;

typedef struct btx_ice_data_file
{
	int			content;		/* BTX_ICE_DATA / BTX_ICE_EQUALITY_DELETES (reads accept 1) */
	char	   *path;			/* full URI */
	btx_ice_partition partition;
	int64_t		record_count;
	int64_t		file_size;
	btx_ice_metric *metrics;
	int			nmetrics;
	int32_t    *equality_ids;
	int			nequality_ids;
	int32_t		sort_order_id;	/* -1: null */
} btx_ice_data_file;

typedef struct btx_ice_entry
{
	int			status;			/* BTX_ICE_EXISTING / ADDED / DELETED */
	int64_t		snapshot_id;	/* -1: null (inherited) */
	int64_t		sequence_number;	/* -1: null (inherited) */
	int64_t		file_sequence_number;	/* -1: null (inherited) */
	btx_ice_data_file file;
} btx_ice_entry;

extern void btx_ice_data_file_free(btx_ice_data_file *f);
extern int	btx_ice_data_file_copy(btx_ice_data_file *dst, const btx_ice_data_file *src);

/* ---------- writing data and equality delete files ---------- */

/*
 * A Parquet writer set up for the table: columns in schema order with the
 * schema's field ids (equality deletes: the identifier column only), the
 * Iceberg schema in the footer (key "iceberg.schema"), file metrics on.
 * Write values through btx_ice_writer_pq (column i = schema field i), then
 * btx_ice_writer_close builds the data_file: counts, sizes and bounds by
 * field id (strings truncated to 16 characters, lower prefix / upper
 * incremented prefix), and checks that every row of a data file belongs to
 * its partition.  opt may be NULL (defaults); its column-related fields are
 * overridden.
 */
typedef struct btx_ice_writer btx_ice_writer;

extern btx_ice_writer *btx_ice_writer_open(const btx_ice_table *t, int content,
										   const btx_ice_partition *partition,
										   const btx_pq_options *opt,
										   btx_sink_fn sink, void *ctx, btx_error *err);
extern btx_pq_writer *btx_ice_writer_pq(btx_ice_writer *w);
/* equality deletes: one row holding the deleted id */
extern int	btx_ice_writer_delete_id(btx_ice_writer *w, const void *id, size_t len,
									 btx_error *err);
/* close the Parquet file (uri: where the caller stored it) and describe it */
extern int	btx_ice_writer_close(btx_ice_writer *w, const char *uri,
								 btx_ice_data_file *out, btx_error *err);
extern void btx_ice_writer_free(btx_ice_writer *w);

/* <location>/data[/<field>_day=<yyyy-mm-dd>]/<name>; name chosen by the caller */
extern int	btx_ice_data_file_uri(const btx_ice_table *t, const btx_ice_partition *p,
								  const char *name, btx_buf *out, btx_error *err);
/*
 * Where a file of this content goes: data files under their day's folder;
 * equality deletes, global in a day-partitioned table (the table's
 * unpartitioned spec: they apply to every day), under data/ itself.
 */
extern int	btx_ice_file_uri(const btx_ice_table *t, int content, const btx_ice_partition *p,
							 const char *name, btx_buf *out, btx_error *err);

/* ---------- Avro manifests and manifest lists ---------- */

typedef struct btx_ice_part_summary
{
	int			contains_null;
	int			contains_nan;	/* -1: absent */
	btx_buf		lower;
	btx_buf		upper;
	int			has_bounds;
} btx_ice_part_summary;

typedef struct btx_ice_manifest
{
	char	   *path;
	int64_t		length;
	int32_t		spec_id;
	int			content;		/* 0 data, 1 deletes */
	int64_t		sequence_number;
	int64_t		min_sequence_number;
	int64_t		added_snapshot_id;
	int32_t		added_files;
	int32_t		existing_files;
	int32_t		deleted_files;
	int64_t		added_rows;
	int64_t		existing_rows;
	int64_t		deleted_rows;
	btx_ice_part_summary *parts;
	int			nparts;
} btx_ice_manifest;

extern void btx_ice_manifest_free(btx_ice_manifest *m);

/* codec: "null" or "deflate" */
extern int	btx_ice_manifest_encode(const btx_ice_table *t, int content,
									const btx_ice_entry *e, int n, const char *codec,
									btx_buf *out, btx_error *err);
/* entries are malloc'd: free each file with btx_ice_data_file_free, then the array */
extern int	btx_ice_manifest_decode(const btx_ice_table *t, const void *data, size_t len,
									btx_ice_entry **out, int *n, btx_error *err);
extern int	btx_ice_manifest_list_encode(int64_t snapshot_id, int64_t parent_id,
										 int64_t sequence_number, const btx_ice_manifest *m,
										 int n, const char *codec, btx_buf *out, btx_error *err);
extern int	btx_ice_manifest_list_decode(const void *data, size_t len, btx_ice_manifest **out,
										 int *n, btx_error *err);
/* the manifest list entry of freshly encoded entries (counts, partition summary) */
extern int	btx_ice_manifest_summarize(const btx_ice_table *t, int content,
									   const btx_ice_entry *e, int n, int64_t sequence_number,
									   int64_t snapshot_id, btx_ice_manifest *out,
									   btx_error *err);

/* ---------- commits ---------- */

typedef struct btx_ice_io
{
	/* whole object at uri into out: 0, BTX_ICE_IO_NOT_FOUND, or -1 with err set */
	int			(*read) (void *ctx, const char *uri, btx_buf *out, btx_error *err);
	/* put an object; if_none_match: BTX_ICE_IO_EXISTS when it already exists */
	int			(*write) (void *ctx, const char *uri, const void *data, size_t len,
						  int if_none_match, btx_error *err);
	void	   *ctx;
} btx_ice_io;

/* the objects of one commit attempt, in write order; the last two: metadata, hint */
typedef struct btx_ice_object
{
	char	   *uri;
	btx_buf		data;
	int			if_none_match;
} btx_ice_object;

typedef struct btx_ice_plan
{
	btx_ice_object *objects;
	int			nobjects;
	btx_ice_table *next;		/* the metadata the plan commits */
	char	  **deletable;		/* expiry: files no retained snapshot references */
	int			ndeletable;
} btx_ice_plan;

extern void btx_ice_plan_free(btx_ice_plan *p);
/*
 * Write the objects in order.  0: committed; -1 with err.code
 * BTX_ICE_E_CONFLICT when the metadata version already exists (another
 * writer won: nothing of this attempt is visible), else an I/O error.
 */
extern int	btx_ice_plan_execute(const btx_ice_plan *p, const btx_ice_io *io, btx_error *err);

/* read metadata/version-hint.text, then probe newer versions: the latest table */
extern btx_ice_table *btx_ice_table_load(const char *location, const btx_ice_io *io,
										 btx_error *err);
/* create v1 (conditional); if another writer created it first, load that one */
extern btx_ice_table *btx_ice_table_create_or_load(const btx_ice_table_def *def,
												   const btx_ice_io *io, btx_error *err);

typedef enum btx_ice_op
{
	BTX_ICE_OP_APPEND,			/* a run: data files and equality deletes */
	BTX_ICE_OP_REPLACE			/* compaction: same rows, other files */
} btx_ice_op;

typedef struct btx_ice_commit_opts
{
	btx_ice_op	op;
	int64_t		snapshot_id;	/* 0: random */
	const char *commit_uuid;	/* NULL: random; names the manifests */
	int64_t		now_ms;
	const btx_ice_kv *summary;	/* extra summary entries (btexport.run-id, ...) */
	int			nsummary;
	const char *codec;			/* Avro codec of manifests: NULL = "deflate" */
} btx_ice_commit_opts;

typedef struct btx_ice_commit btx_ice_commit;

extern btx_ice_commit *btx_ice_commit_new(const btx_ice_commit_opts *o, btx_error *err);
/*
 * Add a data or equality delete file.  data_sequence_number -1 inherits the
 * snapshot's; a compaction passes the sequence number of the snapshot it read
 * so that deletes committed after it still apply to the rewritten rows.
 */
extern int	btx_ice_commit_add(btx_ice_commit *c, const btx_ice_data_file *f,
							   int64_t data_sequence_number, btx_error *err);
/* replace only: a live file of the base snapshot the new files take over */
extern int	btx_ice_commit_remove(btx_ice_commit *c, const char *path, btx_error *err);
/*
 * The objects of the next attempt on top of base (reads the base snapshot's
 * manifest list and, for a replace, its manifests).  Each call is a new
 * attempt (new manifest list name, next sequence number).
 */
extern int	btx_ice_commit_plan(btx_ice_commit *c, const btx_ice_table *base,
								const btx_ice_io *io, btx_ice_plan *plan, btx_error *err);
/*
 * plan + execute, reloading the table and retrying on a conflict up to
 * max_attempts times.  *committed (may be NULL) receives the new table.
 */
extern int	btx_ice_commit_run(btx_ice_commit *c, const char *location, const btx_ice_io *io,
							   int max_attempts, btx_ice_table **committed, btx_error *err);
extern int64_t btx_ice_commit_snapshot_id(const btx_ice_commit *c);
extern void btx_ice_commit_free(btx_ice_commit *c);

/* live (ADDED/EXISTING) entries of the current snapshot, sequence numbers resolved */
extern int	btx_ice_live_files(const btx_ice_table *t, const btx_ice_io *io,
							   btx_ice_entry **out, int *n, btx_error *err);
extern void btx_ice_entries_free(btx_ice_entry *e, int n);

/*
 * Expire snapshots: keep the current one and its keep_last - 1 newest
 * ancestors, and every ancestor at or after older_than_ms (INT64_MAX: age is
 * no reason to keep); drop the rest, and the snapshot-log entries up to the
 * last dropped one.  plan->deletable lists what only dropped snapshots
 * referenced (manifest lists, manifests, data and delete files): delete them
 * after the plan committed.
 */
extern int	btx_ice_expire_plan(const btx_ice_table *base, int keep_last, int64_t older_than_ms,
								int64_t now_ms, const btx_ice_io *io, btx_ice_plan *plan,
								btx_error *err);

/*
 * Every object the table's snapshots reference (manifest lists, manifests,
 * data and delete files, as URIs), sorted: an object under the table's
 * folders that is not among them is reachable from no snapshot.
 */
extern int	btx_ice_referenced(const btx_ice_table *t, const btx_ice_io *io, char ***out,
							   int *nout, btx_error *err);
extern int	btx_ice_is_referenced(char *const *refs, int nrefs, const char *uri);
extern void btx_ice_referenced_free(char **refs, int nrefs);

/* single-value serialization (spec Appendix D) of bounds */
extern void btx_ice_bound_long(btx_buf *out, int64_t v);
extern void btx_ice_bound_double(btx_buf *out, double v);
extern void btx_ice_bound_int(btx_buf *out, int32_t v);
/* string bounds truncated to max_chars code points: 0 when no upper bound exists */
extern void btx_ice_bound_string_lower(btx_buf *out, const unsigned char *s, size_t len,
									   int max_chars);
extern int	btx_ice_bound_string_upper(btx_buf *out, const unsigned char *s, size_t len,
									   int max_chars);

/* a random UUID (RFC 4122 v4) and a positive random snapshot id, from getrandom(2) */
extern int	btx_ice_uuid(char out[37], btx_error *err);
extern int	btx_ice_random_id(int64_t *out, btx_error *err);

#endif							/* BTX_ICEBERG_H */
