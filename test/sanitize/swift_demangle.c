/*
 * swift_demangle.c — preloaded after libasan by test/sanitize/run.sh; not part of btexport.
 *
 * Why: when the ASan runtime is preloaded into a program it was not linked into (the packaged
 * postgres), it initialises lazily, on the first malloc.  In the postgres binary that first malloc
 * happens inside libgpg-error's constructor, in bindtextdomain(), which holds glibc's
 * _nl_state_lock for writing.  ASan's initialisation looks up the optional symbol
 * "swift_demangle" with dlsym(); the failed lookup makes dlerror() translate its message with
 * dcgettext(), which takes and releases the same lock as a reader: the lock's state is corrupted
 * and the next bindtextdomain() (postgres's own, in main) waits forever.  With the symbol present
 * the lookup succeeds, dlerror() is never called, and the server starts.  ASan calls this only to
 * demangle Swift names, which a PostgreSQL server has none of: returning NULL is "not demangled".
 */
#include <stddef.h>

char	   *swift_demangle(const char *mangled, size_t len, char *out, size_t *out_len, unsigned int flags);

char *
swift_demangle(const char *mangled, size_t len, char *out, size_t *out_len, unsigned int flags)
{
	return NULL;
}
