/*
 * sleep.h — waiting in a backend for the plain-C cores' retry loops (sleep.c).
 */
#ifndef BTX_SLEEP_H
#define BTX_SLEEP_H

#include "adapters/btexport.h"

/*
 * A core's sleep callback: wait ms on the process latch, the whole time
 * (a latch set for another reason does not cut it short); 1 as soon as an
 * interrupt is pending, else 0.  arg is unused.
 */
extern int	BtxSleepMs(void *arg, long ms);

#endif
