/*
 * btexport.h — included first by every PostgreSQL-facing file (src/adapters,
 * src/run, src/api): postgres.h, the supported-version guard, the GUCs.
 * The cores (src/core) never include it.
 */
#ifndef BTEXPORT_H
#define BTEXPORT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "btexport needs PostgreSQL 15 or later: point PG_CONFIG at a PostgreSQL 15+ pg_config"
#endif

/* guc.c */
extern bool btx_allow_http;
extern char *btx_allowed_endpoints;
extern int	btx_http_timeout_ms;
extern int	btx_connect_timeout_ms;
extern int	btx_target_file_size_kb;
extern int	btx_part_size_kb;
extern int	btx_max_workers;
extern int	btx_run_retention_days;
extern bool btx_allow_drop_spans;
extern void BtxDefineGucs(void);

#endif
