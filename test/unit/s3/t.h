/*
 * t.h — minimal test helpers for the S3 unit tests.
 */
#ifndef BTX_S3_T_H
#define BTX_S3_T_H

#include <stdio.h>
#include <string.h>

extern int	t_passed;
extern int	t_failed;
extern int	t_cur_failed;

#define T_CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			t_cur_failed = 1; \
			fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
		} \
	} while (0)

#define T_STREQ(a, b) \
	do { \
		const char *t_a_ = (a), *t_b_ = (b); \
		T_CHECK(t_a_ && t_b_ && strcmp(t_a_, t_b_) == 0, "got [%s] want [%s]", \
				t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)"); \
	} while (0)

/* run one named test body (a block) and count it */
#define T_BEGIN(name) do { const char *t_name_ = (name); t_cur_failed = 0;
#define T_END() \
	if (t_cur_failed) { t_failed++; printf("not ok - %s\n", t_name_); } \
	else { t_passed++; printf("ok - %s\n", t_name_); } } while (0)

#endif
