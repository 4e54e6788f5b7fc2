/*
 * check.h — the assertion macro of the BTQL unit tests (test_btql.c,
 * test_limits.c, test_lint.c): counts passes and failures, prints each failure.
 */
#ifndef BTQL_TEST_CHECK_H
#define BTQL_TEST_CHECK_H

#include <stdio.h>

extern int	passed,
			failed;

#define CHECK(cond, ...) do { \
	if (cond) passed++; \
	else { failed++; printf("FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); } \
} while (0)

extern char *slurp(const char *path);
extern void test_limits(void);
extern void test_lint(int nfiles, char **files);

#endif							/* BTQL_TEST_CHECK_H */
