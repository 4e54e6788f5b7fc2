/*
 * btexport.h — declarations shared by the backend glue (src/api, src/runner).
 */
#ifndef BTEXPORT_H
#define BTEXPORT_H

#include "postgres.h"

/* guc.c */
extern bool btx_allow_http;
extern char *btx_allowed_endpoints;
extern int	btx_http_timeout_ms;
extern int	btx_connect_timeout_ms;
extern int	btx_target_file_size_kb;
extern int	btx_part_size_kb;
extern int	btx_max_workers;
extern int	btx_run_retention_days;
extern void BtxDefineGucs(void);

#endif
