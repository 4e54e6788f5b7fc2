/*
 * btx_buf.h — growable byte buffer and error value shared by the plain-C
 * cores (btql, format, s3).  No PostgreSQL headers: the cores build and are
 * unit-tested outside the server.  Memory comes from malloc; every function
 * reports failure by return value, never by longjmp.
 */
#ifndef BTX_BUF_H
#define BTX_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define BTX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BTX_PRINTF(a, b)
#endif

typedef struct btx_buf
{
	char	   *data;			/* always NUL-terminated when non-NULL */
	size_t		len;
	size_t		cap;
	int			oom;			/* sticky: set once an allocation failed */
} btx_buf;

extern void btx_buf_init(btx_buf *b);
extern void btx_buf_free(btx_buf *b);
extern void btx_buf_reset(btx_buf *b);
extern int	btx_buf_reserve(btx_buf *b, size_t extra);
extern int	btx_buf_append(btx_buf *b, const void *p, size_t n);
extern int	btx_buf_puts(btx_buf *b, const char *s);
extern int	btx_buf_putc(btx_buf *b, char c);
extern int	btx_buf_appendf(btx_buf *b, const char *fmt,...) BTX_PRINTF(2, 3);
extern int	btx_buf_vappendf(btx_buf *b, const char *fmt, va_list ap) BTX_PRINTF(2, 0);
/* hand the malloc'd string to the caller and leave the buffer empty */
extern char *btx_buf_steal(btx_buf *b);

/*
 * Error value.  sqlstate is the five-character SQLSTATE the backend glue
 * should raise ("22023", "42601", "58000" ...).  message follows PostgreSQL
 * style (lower case, no trailing period); detail and hint are full sentences.
 */
typedef struct btx_error
{
	int			code;			/* 0 = no error; module-specific otherwise */
	char		sqlstate[6];
	char		message[512];
	char		detail[1024];
	char		hint[512];
} btx_error;

extern void btx_error_clear(btx_error *e);
extern void btx_error_set(btx_error *e, int code, const char *sqlstate,
						  const char *fmt,...) BTX_PRINTF(4, 5);
extern void btx_error_detail(btx_error *e, const char *fmt,...) BTX_PRINTF(2, 3);
extern void btx_error_hint(btx_error *e, const char *fmt,...) BTX_PRINTF(2, 3);

#endif							/* BTX_BUF_H */
