/*
 * cleanup.c — removes what failed or interrupted runs left in S3, through the
 * S3 core's list/abort/delete calls on the run's connected client.
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "core/s3/s3client.h"
#include "run/runner.h"

/*
 * Remove what failed or interrupted runs of this automation left in S3:
 * objects under their base key that the ledger does not list as committed,
 * and their open multipart uploads.  Runs inside the export transaction; a
 * failure here is reported as a WARNING and retried by the next run.
 */
void
BtxCleanupOrphans(BtxAutomation *a, BtxTarget *t)
{
	int			rc;
	uint64		i,
				n;
	char	  **ids;
	char	  **bases;
	btx_s3_client *c = BtxTargetClient(t);

	rc = SPI_execute_with_args("SELECT r.id::text, r.base_key FROM btexport.runs r"
							   " WHERE r.automation_id = $1 AND r.status IN ('failed', 'cancelled')"
							   " AND NOT r.cleaned AND r.base_key IS NOT NULL ORDER BY r.id",
							   1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum(a->id)}, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read failed runs");
	n = SPI_processed;
	ids = palloc(sizeof(char *) * (n + 1));
	bases = palloc(sizeof(char *) * (n + 1));
	for (i = 0; i < n; i++)
	{
		ids[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bases[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
	}
	for (i = 0; i < n; i++)
	{
		btx_s3_object_list objs;
		btx_s3_upload_list ups;
		btx_s3_response resp;
		btx_error	err;
		char	   *token = NULL;
		bool		ok = true;
		int			j;

		/* open multipart uploads under the base key */
		memset(&ups, 0, sizeof(ups));
		btx_s3_response_init(&resp);
		if (btx_s3_list_multipart_uploads(c, t->bucket, bases[i], &ups, &resp, &err) == 0)
		{
			for (j = 0; j < ups.n; j++)
			{
				btx_s3_response r2;
				btx_error	e2;

				btx_s3_response_init(&r2);
				if (btx_s3_abort_multipart_upload(c, t->bucket, ups.items[j].key, ups.items[j].upload_id,
												  &r2, &e2) != 0)
					ok = false;
				btx_s3_response_free(&r2);
			}
		}
		else if (resp.status != 501 && resp.status != 405)	/* stores without the call */
			ok = false;
		btx_s3_upload_list_free(&ups);
		btx_s3_response_free(&resp);

		/* objects under the base key that no committed run lists */
		do
		{
			memset(&objs, 0, sizeof(objs));
			btx_s3_response_init(&resp);
			if (btx_s3_list_objects_v2(c, t->bucket, bases[i], token, 1000, &objs, &resp, &err) != 0)
			{
				ok = false;
				btx_s3_response_free(&resp);
				btx_s3_object_list_free(&objs);
				break;
			}
			btx_s3_response_free(&resp);
			for (j = 0; j < objs.n; j++)
			{
				rc = SPI_execute_with_args("SELECT 1 FROM btexport.run_files WHERE bucket = $1 AND key = $2 AND committed",
										   2, (Oid[]) {TEXTOID, TEXTOID},
										   (Datum[]) {CStringGetTextDatum(t->bucket), CStringGetTextDatum(objs.items[j].key)},
										   NULL, true, 1);
				if (rc == SPI_OK_SELECT && SPI_processed == 0)
				{
					btx_s3_response r2;
					btx_error	e2;

					btx_s3_response_init(&r2);
					if (btx_s3_delete_object(c, t->bucket, objs.items[j].key, &r2, &e2) != 0)
						ok = false;
					btx_s3_response_free(&r2);
				}
			}
			if (token)
				pfree(token);
			token = (objs.truncated && objs.next_token) ? pstrdup(objs.next_token) : NULL;
			btx_s3_object_list_free(&objs);
		} while (token != NULL);

		/* the run's manifest, if it got that far */
		{
			btx_s3_response r2;
			btx_error	e2;

			btx_s3_response_init(&r2);
			if (btx_s3_delete_object(c, t->bucket, BtxManifestKey(a->prefix, bases[i]), &r2, &e2) != 0)
				ok = false;
			btx_s3_response_free(&r2);
		}
		if (ok)
		{
			rc = SPI_execute_with_args("UPDATE btexport.runs SET cleaned = true WHERE id = $1::bigint",
									   1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(ids[i])}, NULL, false, 0);
			if (rc != SPI_OK_UPDATE)
				elog(ERROR, "could not mark run %s cleaned", ids[i]);
		}
		else
			ereport(WARNING,
					(errmsg("could not remove all objects left by failed run %s of automation \"%s\"", ids[i], a->name),
					 errhint("The next run tries again; keys start with s3://%s/%s.", t->bucket, bases[i])));
		CHECK_FOR_INTERRUPTS();
	}
}
