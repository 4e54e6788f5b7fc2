/*
 * ice_commit.c — committing snapshots to an Iceberg table and expiring them.
 *
 * A commit collects the files of one run (or one compaction), then plans an
 * attempt on top of the table's latest version:
 *   1. manifests of the new files (written once per commit: entries inherit
 *      the snapshot's sequence number, so retries reuse them unchanged),
 *   2. for a replace, the base manifests holding removed files, rewritten
 *      with those entries DELETED and the others EXISTING (explicit sequence
 *      numbers, as the spec requires for non-added entries),
 *   3. a manifest list: new and rewritten manifests, then the base
 *      snapshot's other manifests (those with live entries),
 *   4. v<N+1>.metadata.json with the snapshot (sequence number N+1 of the
 *      table's counter, parent, summary with the standard counters and the
 *      caller's entries), written with If-None-Match: the commit point,
 *   5. version-hint.text.
 * A conflict on step 4 means another writer committed first: the attempt
 * left only unreferenced objects, and btx_ice_commit_run plans again on the
 * new latest version.  Appends always re-apply; a replace re-applies only if
 * every file it removes is still live (else BTX_ICE_E_CONFLICT).
 *
 * Expiry follows the spec's retention rules (ice_meta.c selects) and lists
 * the objects that only dropped snapshots reference, found by reading the
 * manifest lists and manifests of every snapshot.
 */
#include "core/iceberg/ice_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct btx_ice_commit
{
	btx_ice_op	op;
	int64_t		snapshot_id;
	char		uuid[37];
	int64_t		now_ms;
	btx_ice_kv *summary;		/* keys and values owned */
	int			nsummary;
	char		codec[16];
	btx_ice_entry *added;
	int			nadded;
	int			cap;
	char	  **removed;
	int			nremoved;
	int			attempt;
};

static int
io_fail(btx_error *err, const char *uri, int rc)
{
	if (rc == BTX_ICE_IO_NOT_FOUND)
		return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "object of the Iceberg table not found: %.400s", uri);
	if (err && err->code == 0)
		ice_fail(err, BTX_ICE_E_IO, "58030", "could not read %.400s", uri);
	return -1;
}

/* a whole object that must exist */
static int
read_obj(const btx_ice_io *io, const char *uri, btx_buf *out, btx_error *err)
{
	int			rc;

	btx_buf_reset(out);
	btx_error_clear(err);
	rc = io->read(io->ctx, uri, out, err);
	if (rc != 0)
		return io_fail(err, uri, rc);
	return 0;
}

/* ---------- commit objects ---------- */

btx_ice_commit *
btx_ice_commit_new(const btx_ice_commit_opts *o, btx_error *err)
{
	btx_ice_commit *c = calloc(1, sizeof(*c));
	int			i;

	if (c == NULL)
	{
		ice_oom(err);
		return NULL;
	}
	c->op = o->op;
	c->now_ms = o->now_ms;
	snprintf(c->codec, sizeof(c->codec), "%s", o->codec ? o->codec : "deflate");
	if (strcmp(c->codec, "null") != 0 && strcmp(c->codec, "deflate") != 0)
	{
		ice_fail(err, BTX_ICE_E_INVALID, "22023", "unsupported Avro codec \"%s\"", c->codec);
		goto fail;
	}
	c->snapshot_id = o->snapshot_id;
	if (c->snapshot_id <= 0 && btx_ice_random_id(&c->snapshot_id, err) != 0)
		goto fail;
	if (o->commit_uuid)
	{
		const char *p;

		for (p = o->commit_uuid; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-'))
				break;
		if (*p || p == o->commit_uuid || strlen(o->commit_uuid) > 36)
		{
			ice_fail(err, BTX_ICE_E_INVALID, "22023", "invalid Iceberg commit id \"%.60s\"", o->commit_uuid);
			goto fail;
		}
		snprintf(c->uuid, sizeof(c->uuid), "%s", o->commit_uuid);
	}
	else if (btx_ice_uuid(c->uuid, err) != 0)
		goto fail;
	if (o->nsummary > 0)
	{
		c->summary = calloc(o->nsummary, sizeof(btx_ice_kv));
		if (c->summary == NULL)
			goto oom;
		for (i = 0; i < o->nsummary; i++)
		{
			c->summary[i].key = ice_strdup(o->summary[i].key);
			c->summary[i].value = ice_strdup(o->summary[i].value);
			c->nsummary++;
			if (c->summary[i].key == NULL || c->summary[i].value == NULL)
				goto oom;
			if (strcmp(o->summary[i].key, "operation") == 0)
			{
				ice_fail(err, BTX_ICE_E_INVALID, "22023", "the snapshot summary key \"operation\" is reserved");
				goto fail;
			}
		}
	}
	return c;
oom:
	ice_oom(err);
fail:
	btx_ice_commit_free(c);
	return NULL;
}

void
btx_ice_commit_free(btx_ice_commit *c)
{
	int			i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nsummary; i++)
	{
		free((char *) c->summary[i].key);
		free((char *) c->summary[i].value);
	}
	free(c->summary);
	btx_ice_entries_free(c->added, c->nadded);
	for (i = 0; i < c->nremoved; i++)
		free(c->removed[i]);
	free(c->removed);
	free(c);
}

int64_t
btx_ice_commit_snapshot_id(const btx_ice_commit *c)
{
	return c->snapshot_id;
}

int
btx_ice_commit_add(btx_ice_commit *c, const btx_ice_data_file *f, int64_t data_sequence_number,
				   btx_error *err)
{
	btx_ice_entry *e;

	if (f->path == NULL || f->record_count <= 0 || f->file_size <= 0 ||
		(f->content != BTX_ICE_DATA && f->content != BTX_ICE_EQUALITY_DELETES) ||
		(f->content == BTX_ICE_EQUALITY_DELETES && f->nequality_ids <= 0))
		return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "iceberg commit misuse: an empty or invalid file");
	if (c->op == BTX_ICE_OP_APPEND && data_sequence_number >= 0)
		return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "iceberg commit misuse: an append inherits its sequence number");
	if (c->nadded == c->cap)
	{
		int			ncap = c->cap ? c->cap * 2 : 8;
		btx_ice_entry *n = realloc(c->added, sizeof(btx_ice_entry) * ncap);

		if (n == NULL)
			return ice_oom(err);
		c->added = n;
		c->cap = ncap;
	}
	e = &c->added[c->nadded];
	memset(e, 0, sizeof(*e));
	if (btx_ice_data_file_copy(&e->file, f) != 0)
		return ice_oom(err);
	e->status = BTX_ICE_ADDED;
	e->snapshot_id = c->snapshot_id;
	e->sequence_number = data_sequence_number;
	e->file_sequence_number = -1;
	c->nadded++;
	return 0;
}

int
btx_ice_commit_remove(btx_ice_commit *c, const char *path, btx_error *err)
{
	char	  **n;

	if (c->op != BTX_ICE_OP_REPLACE)
		return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "iceberg commit misuse: only a replace removes files");
	n = realloc(c->removed, sizeof(char *) * (c->nremoved + 1));
	if (n == NULL)
		return ice_oom(err);
	c->removed = n;
	c->removed[c->nremoved] = ice_strdup(path);
	if (c->removed[c->nremoved] == NULL)
		return ice_oom(err);
	c->nremoved++;
	return 0;
}

/* ---------- plans ---------- */

void
btx_ice_plan_free(btx_ice_plan *p)
{
	int			i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nobjects; i++)
	{
		free(p->objects[i].uri);
		btx_buf_free(&p->objects[i].data);
	}
	free(p->objects);
	btx_ice_table_free(p->next);
	for (i = 0; i < p->ndeletable; i++)
		free(p->deletable[i]);
	free(p->deletable);
	memset(p, 0, sizeof(*p));
}

/* a new object; data appended by the caller */
static btx_ice_object *
plan_object(btx_ice_plan *p, const char *uri, int if_none_match)
{
	btx_ice_object *n = realloc(p->objects, sizeof(btx_ice_object) * (p->nobjects + 1));

	if (n == NULL)
		return NULL;
	p->objects = n;
	n = &p->objects[p->nobjects];
	memset(n, 0, sizeof(*n));
	btx_buf_init(&n->data);
	n->uri = ice_strdup(uri);
	if (n->uri == NULL)
		return NULL;
	n->if_none_match = if_none_match;
	p->nobjects++;
	return n;
}

/* the metadata file (conditional) and the version hint */
static int
plan_metadata(btx_ice_plan *p, btx_error *err)
{
	btx_buf		uri;
	btx_ice_object *o;

	btx_buf_init(&uri);
	if (ice_metadata_uri(p->next->location, p->next->version, &uri) != 0 ||
		(o = plan_object(p, uri.data, 1)) == NULL)
		goto oom;
	if (btx_ice_table_json(p->next, &o->data, err) != 0)
	{
		btx_buf_free(&uri);
		return -1;
	}
	btx_buf_reset(&uri);
	btx_buf_appendf(&uri, "%s/metadata/version-hint.text", p->next->location);
	if (uri.oom || (o = plan_object(p, uri.data, 0)) == NULL)
		goto oom;
	btx_buf_appendf(&o->data, "%d", p->next->version);
	btx_buf_free(&uri);
	return o->data.oom ? ice_oom(err) : 0;
oom:
	btx_buf_free(&uri);
	return ice_oom(err);
}

/* live entries of a manifest with inherited values resolved (spec: inheritance) */
static void
resolve(btx_ice_entry *e, int n, const btx_ice_manifest *m)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (e[i].snapshot_id < 0)
			e[i].snapshot_id = m->added_snapshot_id;
		if (e[i].status == BTX_ICE_ADDED)
		{
			if (e[i].sequence_number < 0)
				e[i].sequence_number = m->sequence_number;
			if (e[i].file_sequence_number < 0)
				e[i].file_sequence_number = m->sequence_number;
		}
	}
}

static int
read_manifest(const btx_ice_table *t, const btx_ice_io *io, const btx_ice_manifest *m,
			  btx_ice_entry **e, int *n, btx_error *err)
{
	btx_buf		b;
	int			rc;

	btx_buf_init(&b);
	rc = read_obj(io, m->path, &b, err);
	if (rc == 0)
		rc = btx_ice_manifest_decode(t, b.data, b.len, e, n, err);
	btx_buf_free(&b);
	if (rc == 0)
		resolve(*e, *n, m);
	return rc;
}

static int
read_list(const btx_ice_table *t, int64_t snapshot_id, const btx_ice_io *io,
		  btx_ice_manifest **m, int *n, btx_error *err)
{
	const char *uri = ice_snapshot_manifest_list(t, snapshot_id);
	btx_buf		b;
	int			rc;

	*m = NULL;
	*n = 0;
	if (uri == NULL)
		return ice_fail(err, BTX_ICE_E_CORRUPT, "XX001", "snapshot %lld has no manifest list",
						(long long) snapshot_id);
	btx_buf_init(&b);
	rc = read_obj(io, uri, &b, err);
	if (rc == 0)
		rc = btx_ice_manifest_list_decode(b.data, b.len, m, n, err);
	btx_buf_free(&b);
	return rc;
}

static void
manifests_free(btx_ice_manifest *m, int n)
{
	int			i;

	for (i = 0; m && i < n; i++)
		btx_ice_manifest_free(&m[i]);
	free(m);
}

/* snapshot summary counters: what a commit adds and what it removes, counted the same way */
typedef struct side
{
	int64_t		data_files,
				records,
				size,
				delete_files,
				eq_files,
				eq_deletes;
} side;

typedef struct counters
{
	side		added,
				removed;
} counters;

static void
count_file(counters *k, const btx_ice_data_file *f, int added)
{
	side	   *d = added ? &k->added : &k->removed;

	d->size += f->file_size;
	if (f->content == BTX_ICE_DATA)
	{
		d->data_files++;
		d->records += f->record_count;
	}
	else
	{
		d->delete_files++;
		d->eq_files += f->content == BTX_ICE_EQUALITY_DELETES;
		d->eq_deletes += f->content == BTX_ICE_EQUALITY_DELETES ? f->record_count : 0;
	}
}

static void
put_count(json_t *s, const char *key, int64_t v)
{
	char		num[24];

	if (v == 0)
		return;
	snprintf(num, sizeof(num), "%lld", (long long) v);
	json_object_set_new(s, key, json_string(num));
}

/* parent total + delta; every total or none (a parent without totals) */
static int
put_totals(json_t *s, const btx_ice_table *base, const counters *k)
{
	static const char *keys[] = {"total-records", "total-files-size", "total-data-files",
	"total-delete-files", "total-position-deletes", "total-equality-deletes"};
	int64_t		delta[6] = {k->added.records - k->removed.records, k->added.size - k->removed.size,
		k->added.data_files - k->removed.data_files, k->added.delete_files - k->removed.delete_files,
	0, k->added.eq_deletes - k->removed.eq_deletes};
	int64_t		total[6];
	char		num[24];
	int			i;

	for (i = 0; i < 6; i++)
	{
		const char *p = base->current_snapshot >= 0 ? btx_ice_table_summary(base, -1, keys[i]) : "0";
		char	   *end;

		if (p == NULL)
			return 0;
		total[i] = strtoll(p, &end, 10);
		if (*end != '\0' || end == p)
			return 0;
	}
	for (i = 0; i < 6; i++)
	{
		snprintf(num, sizeof(num), "%lld", (long long) (total[i] + delta[i]));
		json_object_set_new(s, keys[i], json_string(num));
	}
	return 0;
}

static json_t *
summary_json(btx_ice_commit *c, const btx_ice_table *base, const counters *k, int partitions)
{
	json_t	   *s = ice_json_object();
	const char *op;
	int			i;

	if (c->op == BTX_ICE_OP_REPLACE)
		op = "replace";
	else if (k->added.delete_files > 0)
		op = k->added.data_files > 0 ? "overwrite" : "delete";
	else
		op = "append";
	json_object_set_new(s, "operation", json_string(op));
	put_count(s, "added-data-files", k->added.data_files);
	put_count(s, "deleted-data-files", k->removed.data_files);
	put_count(s, "added-delete-files", k->added.delete_files);
	put_count(s, "added-equality-delete-files", k->added.eq_files);
	put_count(s, "removed-delete-files", k->removed.delete_files);
	put_count(s, "removed-equality-delete-files", k->removed.eq_files);
	put_count(s, "added-records", k->added.records);
	put_count(s, "deleted-records", k->removed.records);
	put_count(s, "added-files-size", k->added.size);
	put_count(s, "removed-files-size", k->removed.size);
	put_count(s, "added-equality-deletes", k->added.eq_deletes);
	put_count(s, "removed-equality-deletes", k->removed.eq_deletes);
	{
		char		num[16];

		snprintf(num, sizeof(num), "%d", partitions);
		json_object_set_new(s, "changed-partition-count", json_string(num));
	}
	put_totals(s, base, k);
	for (i = 0; i < c->nsummary; i++)
		json_object_set_new(s, c->summary[i].key, json_string(c->summary[i].value));
	return s;
}

/* partitions of the files a commit adds or removes (changed-partition-count) */
typedef struct pkeys
{
	int64_t    *k;
	int			n;
	int			cap;
} pkeys;

static int
pkey_add(pkeys *p, const btx_ice_partition *part)
{
	int64_t		key = part->is_null ? INT64_MIN : part->day;
	int			i;

	for (i = 0; i < p->n; i++)
		if (p->k[i] == key)
			return 0;
	if (p->n == p->cap)
	{
		int			ncap = p->cap ? p->cap * 2 : 16;
		int64_t    *n = realloc(p->k, sizeof(int64_t) * ncap);

		if (n == NULL)
			return -1;
		p->k = n;
		p->cap = ncap;
	}
	p->k[p->n++] = key;
	return 0;
}

static int
str_in(char **a, int n, const char *s)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i], s) == 0)
			return 1;
	return 0;
}

/* encode entries as a manifest object of the plan and describe it in the list */
static int
plan_manifest(btx_ice_commit *c, const btx_ice_table *base, btx_ice_plan *p, const char *name,
			  int content, const btx_ice_entry *e, int n, int64_t seq,
			  btx_ice_manifest *list, int *nlist, btx_error *err)
{
	btx_buf		uri;
	btx_ice_object *o;
	btx_ice_manifest *m = &list[*nlist];

	btx_buf_init(&uri);
	btx_buf_appendf(&uri, "%s/metadata/%s", base->location, name);
	if (uri.oom || (o = plan_object(p, uri.data, 0)) == NULL)
	{
		btx_buf_free(&uri);
		return ice_oom(err);
	}
	if (btx_ice_manifest_encode(base, content, e, n, c->codec, &o->data, err) != 0 ||
		btx_ice_manifest_summarize(base, content, e, n, seq, c->snapshot_id, m, err) != 0)
	{
		btx_buf_free(&uri);
		return -1;
	}
	m->path = btx_buf_steal(&uri);
	m->length = (int64_t) o->data.len;
	(*nlist)++;
	return 0;
}

/*
 * A replace: rewrite the base manifests that hold removed files.  found[i]
 * counts the live entries of removed path i; carried[i] is cleared for the
 * manifests rewritten.
 */
static int
plan_rewrites(btx_ice_commit *c, const btx_ice_table *base, const btx_ice_io *io,
			  btx_ice_plan *p, btx_ice_manifest *old, int nold, int *carried,
			  btx_ice_manifest *list, int *nlist, int64_t seq, counters *k,
			  pkeys *parts, btx_error *err)
{
	int		   *found = calloc(c->nremoved + 1, sizeof(int));
	int			i;
	int			j;
	int			rc = -1;
	int			k_out = 0;

	if (found == NULL)
		return ice_oom(err);
	for (i = 0; i < nold; i++)
	{
		btx_ice_entry *e = NULL;
		int			n = 0;
		int			hit = 0;
		char		name[128];

		if (!carried[i])
			continue;
		if (read_manifest(base, io, &old[i], &e, &n, err) != 0)
			goto done;
		for (j = 0; j < n; j++)
			if (e[j].status != BTX_ICE_DELETED && str_in(c->removed, c->nremoved, e[j].file.path))
				hit = 1;
		if (!hit)
		{
			btx_ice_entries_free(e, n);
			continue;
		}
		/* keep live entries: removed ones DELETED by this snapshot, others EXISTING */
		for (j = 0; j < n; j++)
		{
			int			r;

			if (e[j].status == BTX_ICE_DELETED)
				continue;
			for (r = 0; r < c->nremoved; r++)
				if (strcmp(c->removed[r], e[j].file.path) == 0)
					break;
			if (r < c->nremoved)
			{
				found[r]++;
				e[j].status = BTX_ICE_DELETED;
				e[j].snapshot_id = c->snapshot_id;
				count_file(k, &e[j].file, 0);
				if (pkey_add(parts, &e[j].file.partition) != 0)
				{
					btx_ice_entries_free(e, n);
					ice_oom(err);
					goto done;
				}
			}
			else
				e[j].status = BTX_ICE_EXISTING;
		}
		for (j = n - 1; j >= 0; j--)	/* drop entries DELETED earlier */
			if (e[j].status == BTX_ICE_DELETED && e[j].snapshot_id != c->snapshot_id)
			{
				btx_ice_data_file_free(&e[j].file);
				memmove(&e[j], &e[j + 1], sizeof(btx_ice_entry) * (n - j - 1));
				n--;
			}
		snprintf(name, sizeof(name), "%s-a%d-m%d.avro", c->uuid, c->attempt, k_out++);
		rc = plan_manifest(c, base, p, name, old[i].content, e, n, seq, list, nlist, err);
		btx_ice_entries_free(e, n);
		if (rc != 0)
			goto done;
		rc = -1;
		carried[i] = 0;
	}
	for (i = 0; i < c->nremoved; i++)
		if (found[i] != 1)
		{
			ice_fail(err, BTX_ICE_E_CONFLICT, "40001", "a file to replace is no longer in the table");
			btx_error_detail(err, "File %.600s is not a live file of snapshot %lld.", c->removed[i],
							 (long long) base->current_snapshot);
			btx_error_hint(err, "Another commit removed it; plan the compaction again on the current table.");
			goto done;
		}
	rc = 0;
done:
	free(found);
	return rc;
}

int
btx_ice_commit_plan(btx_ice_commit *c, const btx_ice_table *base, const btx_ice_io *io,
					btx_ice_plan *p, btx_error *err)
{
	int64_t		seq = base->last_sequence + 1;
	int64_t		parent = base->current_snapshot;
	btx_ice_manifest *old = NULL;
	int			nold = 0;
	int		   *carried = NULL;
	btx_ice_manifest *list = NULL;
	int			nlist = 0;
	btx_ice_entry *split[2] = {NULL, NULL};
	int			nsplit[2] = {0, 0};
	pkeys		parts = {NULL, 0, 0};
	counters	k;
	btx_buf		buf;
	btx_ice_object *o;
	json_t	   *snap;
	int			i;
	int			rc = -1;

	memset(p, 0, sizeof(*p));
	memset(&k, 0, sizeof(k));
	btx_buf_init(&buf);
	if (c->nadded == 0 && c->nremoved == 0)
		return ice_fail(err, BTX_ICE_E_INVALID, "XX000", "iceberg commit misuse: nothing to commit");
	if (c->op == BTX_ICE_OP_REPLACE && parent < 0)
		return ice_fail(err, BTX_ICE_E_CONFLICT, "40001", "the table has no snapshot to compact");
	if (ice_snapshot_json(base, c->snapshot_id) != NULL)
		return ice_fail(err, BTX_ICE_E_CONFLICT, "40001", "snapshot id %lld is already in the table",
						(long long) c->snapshot_id);
	c->attempt++;
	if (parent >= 0 && read_list(base, parent, io, &old, &nold, err) != 0)
		goto done;
	carried = calloc(nold + 1, sizeof(int));
	list = calloc(nold * 2 + 3, sizeof(btx_ice_manifest));
	if (carried == NULL || list == NULL)
	{
		ice_oom(err);
		goto done;
	}
	/* base manifests without live entries are not carried over */
	for (i = 0; i < nold; i++)
		carried[i] = old[i].added_files + old[i].existing_files > 0;

	/* 1. the new files: a data manifest and a delete manifest */
	for (i = 0; i < c->nadded; i++)
	{
		int			d = c->added[i].file.content != BTX_ICE_DATA;

		if (split[d] == NULL)
			split[d] = malloc(sizeof(btx_ice_entry) * c->nadded);
		if (split[d] == NULL)
		{
			ice_oom(err);
			goto done;
		}
		split[d][nsplit[d]++] = c->added[i];
		count_file(&k, &c->added[i].file, 1);
		if (pkey_add(&parts, &c->added[i].file.partition) != 0)
		{
			ice_oom(err);
			goto done;
		}
	}
	for (i = 0; i < 2; i++)
	{
		char		name[64];

		if (nsplit[i] == 0)
			continue;
		snprintf(name, sizeof(name), "%s-m%d.avro", c->uuid, i);
		if (plan_manifest(c, base, p, name, i, split[i], nsplit[i], seq, list, &nlist, err) != 0)
			goto done;
	}
	/* 2. a replace rewrites the manifests of removed files */
	if (c->nremoved > 0 &&
		plan_rewrites(c, base, io, p, old, nold, carried, list, &nlist, seq, &k, &parts, err) != 0)
		goto done;
	/* 3. the manifest list: new and rewritten manifests, then the carried ones */
	for (int j = 0; j < nold; j++)
		if (carried[j])
		{
			list[nlist] = old[j];
			memset(&old[j], 0, sizeof(old[j]));
			nlist++;
		}
	snap = ice_json_object();
	json_object_set_new(snap, "sequence-number", json_integer(seq));
	json_object_set_new(snap, "snapshot-id", json_integer(c->snapshot_id));
	if (parent >= 0)
		json_object_set_new(snap, "parent-snapshot-id", json_integer(parent));
	json_object_set_new(snap, "timestamp-ms", json_integer(c->now_ms));
	json_object_set_new(snap, "summary", summary_json(c, base, &k, parts.n));
	btx_buf_appendf(&buf, "%s/metadata/snap-%lld-%d-%s.avro", base->location,
					(long long) c->snapshot_id, c->attempt, c->uuid);
	json_object_set_new(snap, "manifest-list", json_string(buf.data ? buf.data : ""));
	json_object_set_new(snap, "schema-id", json_integer(base->schema_id));
	if (buf.oom || (o = plan_object(p, buf.data, 0)) == NULL)
	{
		json_decref(snap);
		ice_oom(err);
		goto done;
	}
	if (btx_ice_manifest_list_encode(c->snapshot_id, parent, seq, list, nlist, c->codec,
									 &o->data, err) != 0)
	{
		json_decref(snap);
		goto done;
	}
	/* 4, 5. the metadata and the hint */
	p->next = ice_table_with_snapshot(base, snap, c->snapshot_id, seq, c->now_ms, err);
	if (p->next == NULL || plan_metadata(p, err) != 0)
		goto done;
	rc = 0;
done:
	if (rc != 0)
		btx_ice_plan_free(p);
	manifests_free(old, nold);
	manifests_free(list, nlist);
	free(carried);
	free(split[0]);
	free(split[1]);
	free(parts.k);
	btx_buf_free(&buf);
	return rc;
}

int
btx_ice_plan_execute(const btx_ice_plan *p, const btx_ice_io *io, btx_error *err)
{
	int			i;

	for (i = 0; i < p->nobjects; i++)
	{
		const btx_ice_object *o = &p->objects[i];
		int			rc;

		btx_error_clear(err);
		rc = io->write(io->ctx, o->uri, o->data.data ? o->data.data : "", o->data.len,
					   o->if_none_match, err);
		if (rc == BTX_ICE_IO_EXISTS && o->if_none_match)
		{
			ice_fail(err, BTX_ICE_E_CONFLICT, "40001", "another writer committed this table version first");
			btx_error_detail(err, "%.600s already exists.", o->uri);
			return -1;
		}
		if (rc != 0)
		{
			/* the hint follows the commit: the committed version stands without it */
			if (i == p->nobjects - 1 && p->next != NULL && i > 0 && p->objects[i - 1].if_none_match)
			{
				btx_error_clear(err);
				return 0;
			}
			if (err->code == 0)
				ice_fail(err, BTX_ICE_E_IO, "58030", "could not write %.400s", o->uri);
			return -1;
		}
	}
	return 0;
}

/* ---------- loading ---------- */

btx_ice_table *
btx_ice_table_load(const char *location, const btx_ice_io *io, btx_error *err)
{
	btx_buf		b;
	btx_buf		uri;
	int			version = 0;
	int			rc;
	btx_ice_table *t = NULL;

	btx_buf_init(&b);
	btx_buf_init(&uri);
	btx_buf_appendf(&uri, "%s/metadata/version-hint.text", location);
	btx_error_clear(err);
	rc = io->read(io->ctx, uri.data, &b, err);
	if (rc == 0)
	{
		char	   *end;
		long		v = strtol(b.data ? b.data : "", &end, 10);

		while (end && (*end == '\n' || *end == '\r' || *end == ' '))
			end++;
		if (v > 0 && v < INT32_MAX && end && *end == '\0')
			version = (int) v;
	}
	else if (rc != BTX_ICE_IO_NOT_FOUND)
	{
		io_fail(err, uri.data, rc);
		goto done;
	}
	/* the hint may lag a commit: probe the versions after it */
	for (;;)
	{
		ice_metadata_uri(location, version + 1, &uri);
		btx_buf_reset(&b);
		btx_error_clear(err);
		rc = io->read(io->ctx, uri.data, &b, err);
		if (rc == BTX_ICE_IO_NOT_FOUND)
			break;
		if (rc != 0)
		{
			io_fail(err, uri.data, rc);
			goto done;
		}
		version++;
	}
	if (version == 0)
	{
		ice_fail(err, BTX_ICE_E_INVALID, "42P01", "no Iceberg table at %.400s", location);
		goto done;
	}
	ice_metadata_uri(location, version, &uri);
	if (read_obj(io, uri.data, &b, err) != 0)
		goto done;
	t = btx_ice_table_parse(b.data, b.len, version, err);
	if (t && strcmp(t->location, location) != 0)
	{
		ice_fail(err, BTX_ICE_E_INVALID, "0A000", "the Iceberg table at %.300s records location %.300s",
				 location, t->location);
		btx_error_hint(err, "Tables are not moved: write to the location the table was created at.");
		btx_ice_table_free(t);
		t = NULL;
	}
done:
	btx_buf_free(&b);
	btx_buf_free(&uri);
	return t;
}

btx_ice_table *
btx_ice_table_create_or_load(const btx_ice_table_def *def, const btx_ice_io *io, btx_error *err)
{
	btx_ice_table *t = btx_ice_table_create(def, err);
	btx_ice_plan p;
	int			rc;

	if (t == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.next = t;
	if (plan_metadata(&p, err) != 0)
	{
		btx_ice_plan_free(&p);
		return NULL;
	}
	rc = btx_ice_plan_execute(&p, io, err);
	p.next = NULL;
	btx_ice_plan_free(&p);
	if (rc == 0)
		return t;
	btx_ice_table_free(t);
	if (err->code != BTX_ICE_E_CONFLICT)
		return NULL;
	return btx_ice_table_load(def->location, io, err);
}

int
btx_ice_commit_run(btx_ice_commit *c, const char *location, const btx_ice_io *io,
				   int max_attempts, btx_ice_table **committed, btx_error *err)
{
	int			attempt;

	if (committed)
		*committed = NULL;
	for (attempt = 1;; attempt++)
	{
		btx_ice_table *base = btx_ice_table_load(location, io, err);
		btx_ice_plan p;
		int			rc;

		if (base == NULL)
			return -1;
		/* an earlier attempt whose outcome was unknown (an I/O error) did commit */
		if (ice_snapshot_json(base, c->snapshot_id) != NULL)
		{
			if (committed)
				*committed = base;
			else
				btx_ice_table_free(base);
			btx_error_clear(err);
			return 0;
		}
		rc = btx_ice_commit_plan(c, base, io, &p, err);
		btx_ice_table_free(base);
		if (rc != 0)
			return -1;
		rc = btx_ice_plan_execute(&p, io, err);
		if (rc == 0)
		{
			if (committed)
			{
				*committed = p.next;
				p.next = NULL;
			}
			btx_ice_plan_free(&p);
			return 0;
		}
		btx_ice_plan_free(&p);
		/* a conflict re-plans on the new version; an I/O error may hide a commit: look */
		if ((err->code != BTX_ICE_E_CONFLICT && err->code != BTX_ICE_E_IO) || attempt >= max_attempts)
			return -1;
	}
}

/* ---------- live files, expiry ---------- */

int
btx_ice_live_files(const btx_ice_table *t, const btx_ice_io *io, btx_ice_entry **out, int *nout,
				   btx_error *err)
{
	btx_ice_manifest *m = NULL;
	int			nm = 0;
	btx_ice_entry *all = NULL;
	int			nall = 0;
	int			i;
	int			j;

	*out = NULL;
	*nout = 0;
	if (t->current_snapshot < 0)
		return 0;
	if (read_list(t, t->current_snapshot, io, &m, &nm, err) != 0)
		return -1;
	for (i = 0; i < nm; i++)
	{
		btx_ice_entry *e;
		int			n;
		btx_ice_entry *grown;

		if (read_manifest(t, io, &m[i], &e, &n, err) != 0)
			goto fail;
		grown = realloc(all, sizeof(btx_ice_entry) * (nall + n + 1));
		if (grown == NULL)
		{
			btx_ice_entries_free(e, n);
			ice_oom(err);
			goto fail;
		}
		all = grown;
		for (j = 0; j < n; j++)
		{
			if (e[j].status == BTX_ICE_DELETED)
				btx_ice_data_file_free(&e[j].file);
			else
				all[nall++] = e[j];
		}
		free(e);
	}
	manifests_free(m, nm);
	*out = all;
	*nout = nall;
	return 0;
fail:
	manifests_free(m, nm);
	btx_ice_entries_free(all, nall);
	return -1;
}

/* a sorted set of strings */
typedef struct strset
{
	char	  **s;
	int			n;
	int			cap;
} strset;

static int
set_add(strset *x, const char *s)
{
	if (x->n == x->cap)
	{
		int			ncap = x->cap ? x->cap * 2 : 64;
		char	  **n = realloc(x->s, sizeof(char *) * ncap);

		if (n == NULL)
			return -1;
		x->s = n;
		x->cap = ncap;
	}
	x->s[x->n] = ice_strdup(s);
	if (x->s[x->n] == NULL)
		return -1;
	x->n++;
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
set_sort(strset *x)
{
	int			i;
	int			o = 0;

	if (x->n == 0)
		return;
	qsort(x->s, x->n, sizeof(char *), cmp_str);
	for (i = 0; i < x->n; i++)
	{
		if (o > 0 && strcmp(x->s[o - 1], x->s[i]) == 0)
			free(x->s[i]);
		else
			x->s[o++] = x->s[i];
	}
	x->n = o;
}

static int
set_has(const strset *x, const char *s)
{
	return x->n > 0 && bsearch(&s, x->s, x->n, sizeof(char *), cmp_str) != NULL;
}

static void
set_free(strset *x)
{
	int			i;

	for (i = 0; i < x->n; i++)
		free(x->s[i]);
	free(x->s);
	memset(x, 0, sizeof(*x));
}

/*
 * Manifests (and, with files != NULL, the paths of their entries: live ones
 * only when live_only) of the given snapshots.
 */
static int
collect(const btx_ice_table *t, const btx_ice_io *io, const int64_t *ids, int nids,
		strset *lists, strset *manifests, strset *files, int live_only, const strset *skip,
		btx_error *err)
{
	int			i;
	int			j;
	int			k;

	for (i = 0; i < nids; i++)
	{
		btx_ice_manifest *m;
		int			nm;

		if (read_list(t, ids[i], io, &m, &nm, err) != 0)
			return -1;
		if (lists && set_add(lists, ice_snapshot_manifest_list(t, ids[i])) != 0)
			goto oom;
		for (j = 0; j < nm; j++)
		{
			btx_ice_entry *e;
			int			n;

			if (skip && set_has(skip, m[j].path))
				continue;
			if (set_add(manifests, m[j].path) != 0)
				goto oom;
			if (files == NULL)
				continue;
			if (read_manifest(t, io, &m[j], &e, &n, err) != 0)
			{
				manifests_free(m, nm);
				return -1;
			}
			for (k = 0; k < n; k++)
				if ((!live_only || e[k].status != BTX_ICE_DELETED) && set_add(files, e[k].file.path) != 0)
				{
					btx_ice_entries_free(e, n);
					goto oom;
				}
			btx_ice_entries_free(e, n);
		}
		manifests_free(m, nm);
		continue;
oom:
		manifests_free(m, nm);
		return ice_oom(err);
	}
	return 0;
}

int
btx_ice_expire_plan(const btx_ice_table *base, int keep_last, int64_t older_than_ms,
					int64_t now_ms, const btx_ice_io *io, btx_ice_plan *p, btx_error *err)
{
	int64_t    *expired = NULL;
	int64_t    *all = NULL;
	int64_t    *kept = NULL;
	int			nexpired;
	int			nall;
	int			nkept = 0;
	strset		kept_manifests = {0};
	strset		kept_files = {0};
	strset		gone_lists = {0};
	strset		gone_manifests = {0};
	strset		gone_files = {0};
	int			i;
	int			rc = -1;

	memset(p, 0, sizeof(*p));
	if (ice_expire_select(base, keep_last, older_than_ms, &expired, &nexpired, err) != 0)
		return -1;
	if (nexpired == 0)
	{
		free(expired);
		return 0;				/* nothing to do: an empty plan */
	}
	if (ice_snapshot_ids(base, &all, &nall) != 0 || (kept = malloc(sizeof(int64_t) * (nall + 1))) == NULL)
	{
		ice_oom(err);
		goto done;
	}
	for (i = 0; i < nall; i++)
	{
		int			j;

		for (j = 0; j < nexpired && expired[j] != all[i]; j++)
			;
		if (j == nexpired)
			kept[nkept++] = all[i];
	}
	/* what retained snapshots reference stays; the rest of what dropped ones reference goes */
	if (collect(base, io, kept, nkept, NULL, &kept_manifests, &kept_files, 1, NULL, err) != 0)
		goto done;
	set_sort(&kept_manifests);
	set_sort(&kept_files);
	if (collect(base, io, expired, nexpired, &gone_lists, &gone_manifests, &gone_files, 0,
				&kept_manifests, err) != 0)
		goto done;
	set_sort(&gone_lists);
	set_sort(&gone_manifests);
	set_sort(&gone_files);
	p->deletable = calloc(gone_lists.n + gone_manifests.n + gone_files.n + 1, sizeof(char *));
	if (p->deletable == NULL)
	{
		ice_oom(err);
		goto done;
	}
	for (i = 0; i < gone_files.n; i++)
		if (!set_has(&kept_files, gone_files.s[i]))
		{
			p->deletable[p->ndeletable++] = gone_files.s[i];
			gone_files.s[i] = ice_strdup("");
		}
	for (i = 0; i < gone_manifests.n; i++)
	{
		p->deletable[p->ndeletable++] = gone_manifests.s[i];
		gone_manifests.s[i] = ice_strdup("");
	}
	for (i = 0; i < gone_lists.n; i++)
	{
		p->deletable[p->ndeletable++] = gone_lists.s[i];
		gone_lists.s[i] = ice_strdup("");
	}
	p->next = ice_table_without(base, expired, nexpired, now_ms, err);
	if (p->next == NULL || plan_metadata(p, err) != 0)
		goto done;
	rc = 0;
done:
	if (rc != 0)
		btx_ice_plan_free(p);
	free(expired);
	free(all);
	free(kept);
	set_free(&kept_manifests);
	set_free(&kept_files);
	set_free(&gone_lists);
	set_free(&gone_manifests);
	set_free(&gone_files);
	return rc;
}

/*
 * Everything the table's snapshots reference: every snapshot's manifest list,
 * its manifests and the files of their entries (deleted entries too: a
 * retained older snapshot may still need them).  The caller compares an
 * object listing against it to find objects no snapshot can reach, e.g. what
 * a crashed compaction left.  *out is sorted (strcmp), for bsearch.
 */
int
btx_ice_referenced(const btx_ice_table *t, const btx_ice_io *io, char ***out, int *nout,
				   btx_error *err)
{
	int64_t    *ids = NULL;
	int			nids = 0;
	strset		all = {0};
	int			rc;

	*out = NULL;
	*nout = 0;
	if (ice_snapshot_ids(t, &ids, &nids) != 0)
		return ice_oom(err);
	/* lists, manifests and files all into one set */
	rc = collect(t, io, ids, nids, &all, &all, &all, 0, NULL, err);
	free(ids);
	if (rc != 0)
	{
		set_free(&all);
		return -1;
	}
	set_sort(&all);
	*out = all.s;
	*nout = all.n;
	return 0;
}

int
btx_ice_is_referenced(char *const *refs, int nrefs, const char *uri)
{
	strset		x = {(char **) refs, nrefs, nrefs};

	return set_has(&x, uri);
}

void
btx_ice_referenced_free(char **refs, int nrefs)
{
	int			i;

	for (i = 0; i < nrefs; i++)
		free(refs[i]);
	free(refs);
}
