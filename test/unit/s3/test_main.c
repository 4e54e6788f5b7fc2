/*
 * test_main.c — S3 core unit tests.  usage: test_s3 <sigv4 testdata dir>
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "t.h"
#include "tests.h"

int			t_passed = 0;
int			t_failed = 0;
int			t_cur_failed = 0;

int
main(int argc, char **argv)
{
	struct stat st;

	if (argc < 2 || stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode))
	{
		fprintf(stderr, "FATAL: SigV4 test data directory missing: %s\n",
				argc > 1 ? argv[1] : "(no argument)");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	test_sigv4(argv[1]);
	test_client();
	test_creds();
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}
