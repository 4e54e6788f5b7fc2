/*
 * btql_glue.h — the BTQL core (src/core/btql) in the server: compile with
 * ereport-style errors, bind the parameters, check the projects read, and
 * build a btql automation's export query.
 */
#ifndef BTX_BTQL_GLUE_H
#define BTX_BTQL_GLUE_H

#include "adapters/btexport.h"

#include "adapters/automation.h"

/* a compiled query, copied out of the core's malloc'd result */
typedef struct BtxBtqlCompiled
{
	char	   *sql;
	int			nparams;
	char	  **param_values;
	const char **param_types;
	int			first_param;
	int			ncolumns;
	char	  **colnames;
	const char **coltypes;
	int			pivot_column;
	int			nprojects;
	char	  **projects;
	bool		unbounded;
} BtxBtqlCompiled;

extern void BtxBtqlCompile(const char *text, bool export_mode, int tz_offset, BtxBtqlCompiled *c);
extern char *BtxBtqlJsonRowSql(BtxBtqlCompiled *c, int first, bool as_jsonb);
extern void BtxBtqlBind(BtxBtqlCompiled *c, const char *from, const char *to, bool names, BtxExportQuery *q);
extern void BtxBtqlCheckProjects(BtxBtqlCompiled *c, const char *project_id);
extern void BtxBuildBtqlExportQuery(BtxAutomation *a, bool typed, const char *from, const char *to,
									BtxExportQuery *q);

#endif
