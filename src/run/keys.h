/*
 * keys.h — the object keys of a run: its base key, the key of its n-th
 * object, and its manifest's key.  Keys are write-once: a run never reuses
 * a key another run committed (BtxChooseBaseKey asks the history).
 */
#ifndef BTX_KEYS_H
#define BTX_KEYS_H

#include "adapters/btexport.h"

#include "utils/timestamp.h"

#include "adapters/automation.h"

extern char *BtxChooseBaseKey(BtxAutomation *a, int64 run_id, TimestampTz started);
/* <base><ext> for the first object, <base>_part-NNNN<ext> for the next ones */
extern char *BtxObjectKeyFor(const char *base_key, int seq, const char *ext);
/*
 * The prefixes that cover exactly a run's object keys, whatever their
 * extension: <base>. and <base>_part-.  (base_key alone would also cover a
 * later run's <base>_<run id>... keys: a run that started in the same second.)
 */
extern List *BtxRunObjectPrefixes(const char *base_key);
extern char *BtxManifestKey(const char *prefix, const char *base_key);

#endif
