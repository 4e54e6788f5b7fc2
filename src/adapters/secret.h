/*
 * secret.h — the one storage path of secrets (secret.c): the API keys of
 * Braintrust connections and the secret access keys and session tokens of
 * named AWS credentials.
 *
 * A secret lives in btexport.secrets (id uuid, value text), a table no
 * ordinary role can read and that pg_dump never writes (it is not a
 * configuration table), referenced by id from btexport.credentials and
 * btexport.connections.  Every value is written through
 * btexport._secret_store(), which seals it (BtxSecretSeal), and read in C
 * through BtxSecretRead, which opens it: encrypting secrets at rest changes
 * these two functions and nothing else.
 */
#ifndef BTX_SECRET_H
#define BTX_SECRET_H

#include "adapters/btexport.h"

/*
 * The secret with this id, opened, palloc'd in the current memory context
 * (SPI connected); NULL when there is none (e.g. a database restored from a
 * dump, which never holds secrets).  Free it with BtxSecretForget.
 */
extern char *BtxSecretRead(const char *secret_id);

/* zero a secret's bytes and free it */
extern void BtxSecretForget(char *plain);

#endif
