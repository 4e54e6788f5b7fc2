/* tests.h — suites of the S3 unit test binary */
#ifndef BTX_S3_TESTS_H
#define BTX_S3_TESTS_H
extern void test_sigv4(const char *testdata);
extern void test_client(void);
extern void test_creds(void);
#endif
