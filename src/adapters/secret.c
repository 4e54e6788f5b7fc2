/*
 * secret.c — the one place where secrets are sealed for storage and opened
 * for use (see secret.h).
 *
 * Sealing encrypts (adapters/seal.c: AES-256-GCM, core/seal, under a key file
 * in the data directory that the server creates, mode 0600): the table holds
 * no usable secret, pg_dump neither the table nor the key.  The callers never
 * see the sealed form.
 */
#include "adapters/btexport.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "adapters/seal.h"
#include "adapters/secret.h"

PG_FUNCTION_INFO_V1(btexport_secret_seal);

/* the stored form of a secret: AES-256-GCM under the server's key file (adapters/seal.h) */
static text *
seal(text *plain)
{
	char	   *sealed = BtxSeal(VARDATA_ANY(plain), VARSIZE_ANY_EXHDR(plain));
	text	   *out = cstring_to_text(sealed);

	pfree(sealed);
	return out;
}

/* the secret of a stored form, palloc'd */
static char *
open_sealed(const char *sealed)
{
	return BtxUnseal(sealed);
}

/* btexport._secret_seal(value text) RETURNS text: called by btexport._secret_store only */
Datum
btexport_secret_seal(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(seal(PG_GETARG_TEXT_PP(0)));
}

char *
BtxSecretRead(const char *secret_id)
{
	char	   *sealed;
	char	   *plain;

	if (secret_id == NULL)
		return NULL;
	if (SPI_execute_with_args("SELECT s.value FROM btexport.secrets s WHERE s.id = $1::pg_catalog.uuid",
							  1, (Oid[]) {TEXTOID}, (Datum[]) {CStringGetTextDatum(secret_id)},
							  NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read btexport.secrets");
	if (SPI_processed != 1)
		return NULL;
	sealed = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	plain = open_sealed(sealed);
	BtxSecretForget(sealed);
	SPI_freetuptable(SPI_tuptable);
	return plain;
}

void
BtxSecretForget(char *plain)
{
	if (plain == NULL)
		return;
	explicit_bzero(plain, strlen(plain));
	pfree(plain);
}
