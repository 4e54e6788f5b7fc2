/*
 * seal.c — secrets encrypted at rest (see seal.h): the key file and the seal
 * core's errors as PostgreSQL errors.
 *
 * The key is 32 random bytes in $PGDATA/btexport_secrets.key, mode 0600.
 * The first backend that stores a secret creates it: written to a file of its
 * own, fsync'd, then link()ed to the final name, so that a concurrent creator
 * loses cleanly (EEXIST) and no reader ever sees a partial key.  A backend
 * reads it once and keeps it for its life.  A key file that others may read,
 * or of the wrong size, is refused (the secrets it protects would be exposed
 * or unreadable).
 */
#include "adapters/btexport.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"

#include "adapters/error.h"
#include "adapters/seal.h"
#include "core/seal/btx_seal.h"

static uint8 secret_key[BTX_SEAL_KEY_LEN];
static bool secret_key_loaded = false;

static char *
key_path(void)
{
	return psprintf("%s/%s", DataDir, BTX_SECRET_KEY_FILE);
}

/* create the key file unless it exists (another backend may be creating it too) */
static void
create_key(const char *path)
{
	uint8		k[BTX_SEAL_KEY_LEN];
	char	   *tmp = psprintf("%s.%d.tmp", path, MyProcPid);
	int			fd;
	bool		ok;

	if (!pg_strong_random(k, sizeof(k)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate the key of btexport's secrets")));
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY, S_IRUSR | S_IWUSR);
	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create file \"%s\": %m", tmp)));
	ok = write(fd, k, sizeof(k)) == (ssize_t) sizeof(k) && pg_fsync(fd) == 0;
	explicit_bzero(k, sizeof(k));
	close(fd);
	if (!ok || (link(tmp, path) != 0 && errno != EEXIST))
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not write file \"%s\": %m", path)));
	}
	unlink(tmp);
	fsync_fname(DataDir, true);
}

/* load the key (creating it when asked and missing) */
static void
load_key(bool create)
{
	char	   *path;
	int			fd;
	struct stat st;
	ssize_t		got;

	if (secret_key_loaded)
		return;
	path = key_path();
	fd = open(path, O_RDONLY | PG_BINARY, 0);
	if (fd < 0 && errno == ENOENT && create)
	{
		create_key(path);
		fd = open(path, O_RDONLY | PG_BINARY, 0);
	}
	if (fd < 0 && errno == ENOENT)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("the key of btexport's stored secrets is missing"),
				 errdetail("Stored secrets are encrypted with the key in \"%s\", which does not exist.", path),
				 errhint("Restore the file from a copy of this server's data directory, or store the secrets again (btexport.update_credential).")));
	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_size != BTX_SEAL_KEY_LEN)
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("the key file of btexport's stored secrets \"%s\" is not usable", path),
				 errdetail("It must be %d bytes, readable and writable by the server's OS user only.", BTX_SEAL_KEY_LEN),
				 errhint("chmod 600 the file; if it was changed, restore it from a copy of the data directory.")));
	}
	got = read(fd, secret_key, sizeof(secret_key));
	close(fd);
	if (got != (ssize_t) sizeof(secret_key))
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not read file \"%s\": %m", path)));
	secret_key_loaded = true;
}

char *
BtxSeal(const char *plain, size_t n)
{
	uint8		nonce[BTX_SEAL_NONCE_LEN];
	btx_error	e;
	char	   *sealed;
	char	   *out;

	load_key(true);
	if (!pg_strong_random(nonce, sizeof(nonce)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a nonce")));
	btx_error_clear(&e);
	if (btx_seal(secret_key, nonce, (const uint8_t *) plain, n, &sealed, &e) != 0)
		BtxRaiseCoreError(&e);
	out = pstrdup(sealed);
	free(sealed);
	return out;
}

char *
BtxUnseal(const char *sealed)
{
	btx_error	e;
	uint8_t    *plain;
	size_t		n;
	char	   *out;

	load_key(false);
	btx_error_clear(&e);
	if (btx_unseal(secret_key, sealed, strlen(sealed), &plain, &n, &e) != 0)
	{
		btx_error_hint(&e, "The secret was stored with another key file (%s): restore that file, or store the secret again (btexport.update_credential).",
					   BTX_SECRET_KEY_FILE);
		BtxRaiseCoreError(&e);
	}
	out = palloc(n + 1);
	memcpy(out, plain, n + 1);
	btx_seal_forget(plain, n + 1);
	return out;
}
