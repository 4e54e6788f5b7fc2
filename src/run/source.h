/*
 * source.h — where a run's rows come from.
 *
 * A source reads one automation's data.  For a run it plans a window in T2
 * (from the automation's committed position to the position the run will
 * commit) and, in T3, yields the window's rows in batches of typed rows (a
 * TupleDesc and HeapTuples) in the shape the sink's format takes; the export
 * loop (export.c) knows no PostgreSQL table and no API.
 *
 * Positions are opaque text to everything but the source and run/history.c,
 * which commits run->to in the same transaction as the run's files, and only
 * if the committed position is still run->from.  The span store's position
 * is an xid8 (automations.cursor; runs.cursor_from/cursor_to); a source with
 * another kind of position (an API's pagination key and watermark) stores it
 * in history.c the same way.
 *
 * The implementations: the local span store (source_spanstore.c) and a
 * Braintrust project read through its API (source_braintrust.c).  A new
 * source implements BtxSourceMethods in one file and is chosen in
 * BtxSourceFor (source.c).  A remote source fetches pages as JSON and
 * builds typed rows from them (BTX_ROWS_TYPED: one column per field of the
 * local export's result type; BTX_ROWS_JSON: one text column, the row as a
 * JSON object), keeps its per-run state in its own struct (state), and may
 * persist it in T2 (plan) or with the run's commit (commit).
 */
#ifndef BTX_SOURCE_H
#define BTX_SOURCE_H

#include "adapters/btexport.h"

#include "access/htup.h"
#include "access/tupdesc.h"

#include "adapters/automation.h"
#include "adapters/braintrust.h"
#include "adapters/format_writer.h"
#include "run/history.h"

/* rows handed to the sink; valid until the next call of next() */
typedef struct BtxRowBatch
{
	TupleDesc	desc;
	char	  **colnames;		/* user-visible names of typed columns, or NULL: desc's */
	int			pivot;			/* a BTQL pivot column (0-based) whose members join the row, or -1 */
	HeapTuple  *rows;
	uint64		n;
} BtxRowBatch;

typedef struct BtxSource BtxSource;

typedef struct BtxSourceMethods
{
	const char *name;
	BtxPositionKind position_kind;	/* how run/history.c stores the position */

	/*
	 * T2, in the run's starting snapshot: set run->from (the committed
	 * position), run->to (where this run ends) and run->more (rows remain
	 * beyond run->to: the next run starts at once).  from == to is an empty
	 * window.
	 */
	void		(*plan) (BtxSource *src, BtxRun *run);

	/* T3: start reading [run->from, run->to) as the automation's owner */
	void		(*open) (BtxSource *src, const BtxRun *run, BtxRowShape shape);
	/* the next batch; false at the end of the window */
	bool		(*next) (BtxSource *src, BtxRowBatch *batch);
	/* after the last batch (not called after an error: the transaction's abort cleans up) */
	void		(*close) (BtxSource *src);

	/* T3, in the run's commit (after history's): the source's own per-run state; may be NULL */
	void		(*commit) (BtxSource *src, const BtxRun *run);

	/* btexport.test: how many rows the next run would export, at most cap */
	int64		(*pending) (BtxSource *src, int64 cap);

	/*
	 * Optional, for a source that learns its window while reading (an API):
	 * after close, set run->to (the position to commit) and run->more.  Its
	 * plan leaves run->to NULL.
	 */
	void		(*reached) (BtxSource *src, BtxRun *run);
	/*
	 * Optional: what it counted so far (p->requests: API requests).  Also
	 * called after the run's transaction aborted, so it reads only state in
	 * run->cxt.
	 */
	void		(*progress) (BtxSource *src, BtxRunProgress *p);
} BtxSourceMethods;

struct BtxSource
{
	const BtxSourceMethods *methods;
	BtxAutomation *automation;
	void	   *state;			/* the implementation's */
};

/* the source of an automation (allocated in the current memory context) */
extern BtxSource *BtxSourceFor(BtxAutomation *a);

/* the settings an export query runs under (TimeZone, search_path), in the caller's GUC nest level */
extern void BtxSourcePinSettings(void);

/*
 * source_braintrust.c, for btexport.test's steps: the automation's
 * connection (with its request budget; the first request waits
 * first_wait_ms), its Braintrust project id, and the one-row query of its
 * export (its select list and filter, limit 1: the rows it returned).
 */
extern BtxConnection *BtxBraintrustConnect(BtxAutomation *a, long first_wait_ms, MemoryContext cxt);
extern void BtxBraintrustProject(BtxAutomation *a, BtxConnection *c, char out[64], int64 *requests);
extern int	BtxBraintrustProbe(BtxAutomation *a, BtxConnection *c, const char *project_id);

/* the implementations */
extern const BtxSourceMethods BtxSpanStoreSource;
extern const BtxSourceMethods BtxBraintrustSource;

#endif
