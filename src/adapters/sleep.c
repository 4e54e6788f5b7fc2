/*
 * sleep.c — see sleep.h.  The cores (S3, Braintrust) wait through a sleep
 * callback for their budgets, Retry-After and backoff: a wait that a latch
 * set for another reason cut short would send a request early (before the
 * request budget or a server's Retry-After allows it).
 */
#include "adapters/btexport.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "adapters/sleep.h"

int
BtxSleepMs(void *arg, long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		secs;
		int			usecs;
		long		left;

		if (InterruptPending)
			return 1;
		TimestampDifference(GetCurrentTimestamp(), end, &secs, &usecs);
		left = secs * 1000 + (usecs + 999) / 1000;
		if (left <= 0)
			return 0;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
