/* tests.h — suites of the HTTP core / Braintrust client unit test binary */
#ifndef BTX_BTAPI_TESTS_H
#define BTX_BTAPI_TESTS_H
extern void test_http(void);
extern void test_btapi(void);
#endif
