/* shared counters and checks of the format unit tests (test_format.c, test_jsonl.c) */
#ifndef BTX_UNIT_FORMAT_H
#define BTX_UNIT_FORMAT_H

extern int	n_pass;
extern int	n_fail;
extern void check(const char *name, int cond);
extern void test_jsonl(void);

#endif
