/*
 * utf8.h — UTF-8 validation for the output writers (plain C).
 */
#ifndef BTX_UTF8_H
#define BTX_UTF8_H

#include <stddef.h>

/* 1 when the n bytes at p are well-formed UTF-8 (RFC 3629), else 0 */
extern int	btx_utf8_valid(const void *p, size_t n);

#endif							/* BTX_UTF8_H */
