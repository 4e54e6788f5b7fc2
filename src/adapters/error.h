/*
 * error.h — the one boundary between the cores' error values and PostgreSQL
 * errors.
 *
 * The plain-C cores (src/core) report failures as a btx_error value:
 * SQLSTATE, message, detail, hint.  Every adapter that calls a core turns a
 * failure into a PostgreSQL error with BtxRaiseCoreError, so that a core
 * error looks the same wherever it surfaces (a run's error columns,
 * btexport.test's rows, a client's ERROR): the core's SQLSTATE (a valid one,
 * never 0), its message, detail and hint.
 *
 * Callers that report an error instead of throwing it (btexport.test, which
 * shows each step's failure as a row) catch the ErrorData and take their
 * columns from BtxErrorDescribe.
 */
#ifndef BTX_ERROR_H
#define BTX_ERROR_H

#include "adapters/btexport.h"

#include "core/common/btx_buf.h"

/* the SQLSTATE of a core error as an errcode(): XX000 when unset or malformed */
extern int	BtxCoreSqlstate(const btx_error *e);

/* raise a core error as ERROR (never returns) */
extern void BtxRaiseCoreError(const btx_error *e) pg_attribute_noreturn();

/*
 * A caught error as text for a report: *detail is the message followed by its
 * detail ("message. detail"), *hint the hint or NULL.  Allocated in the
 * current memory context.
 */
extern void BtxErrorDescribe(const ErrorData *edata, char **detail, char **hint);

#endif
