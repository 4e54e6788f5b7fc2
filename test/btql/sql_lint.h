/*
 * sql_lint.h — a static check of the SQL the BTQL compiler emits: nothing in
 * it may be resolved through search_path (issue 12, finding 2).  Used by the
 * unit tests (every case of test/btql/cases), btqlc (every case it runs) and
 * the fuzz targets (every query that compiles).
 */
#ifndef BTQL_SQL_LINT_H
#define BTQL_SQL_LINT_H

#include <stddef.h>

/*
 * 0 when sql is clean; -1 with a description of the first violation in why:
 *   - a function call not qualified with pg_catalog. (or btexport.);
 *   - an operator not written OPERATOR(pg_catalog.op) (count(*) and rel.*
 *     excepted);
 *   - a cast to a type not qualified with pg_catalog.;
 *   - a construct that looks an operator up by name behind the scenes:
 *     NULLIF, LIKE/ILIKE/SIMILAR, BETWEEN, IS [NOT] DISTINCT FROM, IN (...),
 *     CASE x WHEN ... (simple CASE), OVERLAPS;
 *   - a typed literal (type 'text').
 */
extern int	btql_sql_lint(const char *sql, char *why, size_t whylen);

#endif							/* BTQL_SQL_LINT_H */
