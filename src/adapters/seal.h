/*
 * seal.h — secrets encrypted at rest (seal.c): the seal core
 * (core/seal/btx_seal.h, AES-256-GCM) under this server's key, a file in the
 * data directory that the server creates, readable by its OS user only.
 *
 * The key is outside the database: pg_dump never holds it (nor, since
 * btexport.secrets is not dumped, any secret), and the tables hold only
 * sealed values.  A physical copy of the data directory (pg_basebackup, a
 * standby) carries the file, so a promoted standby opens the secrets.
 */
#ifndef BTX_SEAL_ADAPTER_H
#define BTX_SEAL_ADAPTER_H

#include "adapters/btexport.h"

/* the key file's name in the data directory */
#define BTX_SECRET_KEY_FILE "btexport_secrets.key"

/* the sealed text of plain[0..n), palloc'd; creates the key on first use */
extern char *BtxSeal(const char *plain, size_t n);

/* the plaintext of a sealed text, palloc'd (NUL-terminated); ereports when it does not open */
extern char *BtxUnseal(const char *sealed);

#endif
