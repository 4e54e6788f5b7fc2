/*
 * test_main.c — HTTP core and Braintrust API client unit tests (no network
 * except one refused connection to 127.0.0.1:1).  usage: test_btapi
 */
#include <stdio.h>

#include "../s3/t.h"
#include "core/http/http.h"
#include "tests.h"

int			t_passed = 0;
int			t_failed = 0;
int			t_cur_failed = 0;

int
main(void)
{
	if (btx_http_global_init() != 0)
	{
		printf("0 passed, 1 failed\n");
		return 1;
	}
	test_http();
	test_btapi();
	btx_http_global_cleanup();
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}
