/*
 * s3drive.c — command-line driver of btexport's S3 client core, for the
 * integration tests against real S3 doubles (test/s3/run.sh).
 *
 * usage: s3drive [options] <command> [args]
 *   put BUCKET KEY FILE          PutObject (whole file in memory)
 *   head BUCKET KEY              HeadObject
 *   delete BUCKET KEY            DeleteObject
 *   list BUCKET [PREFIX]         ListObjectsV2, all pages (one key per line)
 *   upload BUCKET KEY FILE       streaming uploader, 64 KiB writes
 *   upload-abort BUCKET KEY FILE streaming uploader, then abort before finish
 *   list-uploads BUCKET [PREFIX] ListMultipartUploads
 *   assume-role ROLE_ARN [EXTERNAL_ID]
 * options:
 *   --endpoint URL (default $S3_ENDPOINT)   --region R (default us-east-1)
 *   --sse AES256|aws:kms   --kms-key-id ID  --if-none-match
 *   --part-size BYTES      --retries N      --connect-timeout-ms N
 *   --assume ROLE_ARN EXTERNAL_ID  (use AssumeRole credentials for the command)
 *   --content-type T       --page-size N
 * Credentials: $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN.
 * Output: "ok ..." on success; on failure "error class=... sqlstate=...
 * code=...", then message/detail/hint lines; exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/s3/s3client.h"
#include "core/s3/sts.h"
#include "core/s3/upload.h"

static const char *
class_name(btx_s3_class k)
{
	switch (k)
	{
		case BTX_S3_OK:
			return "ok";
		case BTX_S3_TRANSIENT:
			return "transient";
		case BTX_S3_EXPIRED_CREDENTIALS:
			return "expired-credentials";
		case BTX_S3_PRECONDITION_FAILED:
			return "precondition-failed";
		case BTX_S3_PERMANENT:
			return "permanent";
		case BTX_S3_CANCELED:
			return "canceled";
	}
	return "?";
}

static int
report(btx_s3_class k, const btx_s3_response *resp, const btx_error *err)
{
	printf("error class=%s sqlstate=%s code=%s status=%ld attempts=%d\n", class_name(k),
		   err->sqlstate, resp ? resp->error_code : "", resp ? resp->status : 0L,
		   resp ? resp->attempts : 0);
	printf("message: %s\n", err->message);
	printf("detail: %s\n", err->detail);
	printf("hint: %s\n", err->hint);
	return 1;
}

static int
read_file(const char *path, char **data, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	long		n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*data = malloc(n > 0 ? (size_t) n : 1);
	if (*data == NULL || (n > 0 && fread(*data, 1, (size_t) n, f) != (size_t) n))
	{
		fclose(f);
		free(*data);
		return -1;
	}
	fclose(f);
	*len = (size_t) n;
	return 0;
}

static int
stream_file(btx_s3_upload *u, const char *path, btx_error *err)
{
	FILE	   *f = fopen(path, "rb");
	char	   *chunk = malloc(65536);
	size_t		n;
	int			r = 0;

	if (f == NULL || chunk == NULL)
	{
		btx_error_set(err, 1, "58P01", "could not open \"%s\"", path);
		if (f)
			fclose(f);
		free(chunk);
		return -1;
	}
	while ((n = fread(chunk, 1, 65536, f)) > 0)
		if ((r = btx_s3_upload_write(u, chunk, n, err)) != 0)
			break;
	fclose(f);
	free(chunk);
	return r;
}

int
main(int argc, char **argv)
{
	btx_s3_config cfg;
	btx_s3_credentials cr;
	btx_s3_client *c = NULL;
	btx_s3_response resp;
	btx_error	err;
	const char *assume_role = NULL;
	const char *assume_ext = NULL;
	const char *content_type = "application/octet-stream";
	int			if_none_match = 0;
	size_t		part_size = 0;
	int			page_size = 0;
	int			i;
	int			rc = 0;
	const char *cmd;

	memset(&cfg, 0, sizeof(cfg));
	memset(&cr, 0, sizeof(cr));
	cfg.endpoint = getenv("S3_ENDPOINT");
	cfg.region = "us-east-1";
	cfg.allow_http = 1;
	cfg.user_agent = "btexport-s3drive";
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++)
	{
		const char *o = argv[i];

		if (strcmp(o, "--endpoint") == 0 && i + 1 < argc)
			cfg.endpoint = argv[++i];
		else if (strcmp(o, "--region") == 0 && i + 1 < argc)
			cfg.region = argv[++i];
		else if (strcmp(o, "--sse") == 0 && i + 1 < argc)
		{
			i++;
			cfg.sse = strcmp(argv[i], "AES256") == 0 ? BTX_S3_SSE_AES256 : BTX_S3_SSE_KMS;
		}
		else if (strcmp(o, "--kms-key-id") == 0 && i + 1 < argc)
			cfg.sse_kms_key_id = argv[++i];
		else if (strcmp(o, "--if-none-match") == 0)
			if_none_match = 1;
		else if (strcmp(o, "--part-size") == 0 && i + 1 < argc)
			part_size = (size_t) strtoull(argv[++i], NULL, 10);
		else if (strcmp(o, "--retries") == 0 && i + 1 < argc)
			cfg.retry_max_attempts = atoi(argv[++i]);
		else if (strcmp(o, "--connect-timeout-ms") == 0 && i + 1 < argc)
			cfg.connect_timeout_ms = atol(argv[++i]);
		else if (strcmp(o, "--content-type") == 0 && i + 1 < argc)
			content_type = argv[++i];
		else if (strcmp(o, "--page-size") == 0 && i + 1 < argc)
			page_size = atoi(argv[++i]);
		else if (strcmp(o, "--assume") == 0 && i + 2 < argc)
		{
			assume_role = argv[++i];
			assume_ext = argv[++i];
		}
		else
		{
			fprintf(stderr, "unknown option %s\n", o);
			return 2;
		}
	}
	if (i >= argc)
	{
		fprintf(stderr, "usage: s3drive [options] command args (see source)\n");
		return 2;
	}
	cmd = argv[i++];
	argv += i;
	argc -= i;

	if (btx_s3_global_init() != 0)
	{
		fprintf(stderr, "curl_global_init failed\n");
		return 2;
	}
	btx_s3_credentials_set(&cr, getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
						   getenv("AWS_SESSION_TOKEN"), 0);
	btx_s3_response_init(&resp);
	c = btx_s3_client_new(&cfg, &cr, &err);
	if (c == NULL)
	{
		rc = report(BTX_S3_PERMANENT, NULL, &err);
		goto out;
	}

	if (assume_role)
	{
		btx_sts_params sp;
		btx_s3_credentials tmp;

		memset(&sp, 0, sizeof(sp));
		memset(&tmp, 0, sizeof(tmp));
		sp.endpoint = cfg.endpoint;
		sp.role_arn = assume_role;
		sp.external_id = assume_ext;
		sp.session_name = "btexport-s3drive";
		sp.duration_seconds = 900;
		if (btx_sts_assume_role(c, &sp, &tmp, &err) != 0)
		{
			rc = report(BTX_S3_PERMANENT, NULL, &err);
			goto out;
		}
		btx_s3_client_set_credentials(c, &tmp);
		btx_s3_credentials_clear(&tmp);
	}

	if (strcmp(cmd, "put") == 0 && argc == 3)
	{
		char	   *data;
		size_t		len;
		btx_s3_put_options po;

		if (read_file(argv[2], &data, &len) != 0)
		{
			fprintf(stderr, "cannot read %s\n", argv[2]);
			rc = 2;
			goto out;
		}
		po.content_type = content_type;
		po.if_none_match = if_none_match;
		if (btx_s3_put_object(c, argv[0], argv[1], data, len, &po, &resp, &err) != 0)
			rc = report(resp.klass, &resp, &err);
		else
			printf("ok etag=%s sse=%s request_id=%s\n", resp.etag, resp.sse, resp.request_id);
		free(data);
	}
	else if (strcmp(cmd, "head") == 0 && argc == 2)
	{
		if (btx_s3_head_object(c, argv[0], argv[1], &resp, &err) != 0)
			rc = report(resp.klass, &resp, &err);
		else
			printf("ok size=%lld etag=%s sse=%s\n", resp.content_length, resp.etag, resp.sse);
	}
	else if (strcmp(cmd, "delete") == 0 && argc == 2)
	{
		if (btx_s3_delete_object(c, argv[0], argv[1], &resp, &err) != 0)
			rc = report(resp.klass, &resp, &err);
		else
			printf("ok status=%ld\n", resp.status);
	}
	else if (strcmp(cmd, "list") == 0 && (argc == 1 || argc == 2))
	{
		char	   *token = NULL;
		int			total = 0;
		int			pages = 0;

		for (;;)
		{
			btx_s3_object_list l;
			int			k;

			memset(&l, 0, sizeof(l));
			if (btx_s3_list_objects_v2(c, argv[0], argc == 2 ? argv[1] : NULL, token, page_size,
									   &l, &resp, &err) != 0)
			{
				rc = report(resp.klass, &resp, &err);
				btx_s3_object_list_free(&l);
				break;
			}
			pages++;
			for (k = 0; k < l.n; k++)
				printf("key %lld %s\n", l.items[k].size, l.items[k].key);
			total += l.n;
			free(token);
			token = (l.truncated && l.next_token) ? strdup(l.next_token) : NULL;
			btx_s3_object_list_free(&l);
			if (token == NULL)
			{
				printf("ok keys=%d pages=%d\n", total, pages);
				break;
			}
		}
		free(token);
	}
	else if ((strcmp(cmd, "upload") == 0 || strcmp(cmd, "upload-abort") == 0) && argc == 3)
	{
		btx_s3_upload_options uo;
		btx_s3_upload *u;
		btx_s3_upload_result res;

		memset(&uo, 0, sizeof(uo));
		uo.part_size = part_size;
		uo.content_type = content_type;
		uo.if_none_match = if_none_match;
		u = btx_s3_upload_open(c, argv[0], argv[1], &uo, &err);
		if (u == NULL)
			rc = report(BTX_S3_PERMANENT, NULL, &err);
		else if (stream_file(u, argv[2], &err) != 0)
			rc = report(btx_s3_upload_failure_class(u), NULL, &err);
		else if (strcmp(cmd, "upload-abort") == 0)
		{
			char	   *id = btx_s3_upload_id(u) ? strdup(btx_s3_upload_id(u)) : NULL;

			if (btx_s3_upload_abort(u, &err) != 0)
				rc = report(BTX_S3_PERMANENT, NULL, &err);
			else
				printf("ok aborted upload_id=%s\n", id ? id : "(none)");
			free(id);
		}
		else if (btx_s3_upload_finish(u, &res, &err) != 0)
			rc = report(btx_s3_upload_failure_class(u), NULL, &err);
		else
			printf("ok etag=%s bytes=%llu parts=%d sha256=%s sse=%s\n", res.etag, res.bytes,
				   res.parts, res.sha256_hex, res.sse);
		btx_s3_upload_free(u);
	}
	else if (strcmp(cmd, "list-uploads") == 0 && (argc == 1 || argc == 2))
	{
		btx_s3_upload_list l;
		int			k;

		memset(&l, 0, sizeof(l));
		if (btx_s3_list_multipart_uploads(c, argv[0], argc == 2 ? argv[1] : NULL, &l, &resp, &err) != 0)
			rc = report(resp.klass, &resp, &err);
		else
		{
			for (k = 0; k < l.n; k++)
				printf("upload %s %s\n", l.items[k].upload_id, l.items[k].key);
			printf("ok uploads=%d\n", l.n);
		}
		btx_s3_upload_list_free(&l);
	}
	else if (strcmp(cmd, "assume-role") == 0 && (argc == 1 || argc == 2))
	{
		btx_sts_params sp;
		btx_s3_credentials tmp;

		memset(&sp, 0, sizeof(sp));
		memset(&tmp, 0, sizeof(tmp));
		sp.endpoint = cfg.endpoint;
		sp.role_arn = argv[0];
		sp.external_id = argc == 2 ? argv[1] : NULL;
		sp.session_name = "btexport-s3drive";
		sp.duration_seconds = 900;
		if (btx_sts_assume_role(c, &sp, &tmp, &err) != 0)
			rc = report(BTX_S3_PERMANENT, NULL, &err);
		else
			printf("ok akid_prefix=%.4s token=%s expires_in=%ld\n", tmp.access_key_id,
				   tmp.session_token ? "yes" : "no", (long) (tmp.expiration - time(NULL)));
		btx_s3_credentials_clear(&tmp);
	}
	else
	{
		fprintf(stderr, "bad command or arguments: %s\n", cmd);
		rc = 2;
	}

out:
	btx_s3_response_free(&resp);
	btx_s3_client_free(c);
	btx_s3_credentials_clear(&cr);
	btx_s3_global_cleanup();
	return rc;
}
