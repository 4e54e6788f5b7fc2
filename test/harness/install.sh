#!/usr/bin/env bash
# A private installation of a btexport build, so that a test cluster runs exactly this tree's
# btexport whatever else is installed system-wide (another checkout's `make install`, a release).
# usage: source test/harness/install.sh; btx_private_install <dir> [source tree [make variables...]]
#   builds the source tree (default: this checkout), with the make variables when given (e.g. the
#   sanitizer build of test/sanitize: PROFILE='-fsanitize=address,undefined ...'), installs it under
#   <dir> with DESTDIR, and copies
#   initdb, pg_ctl and postgres beside it: they find their share and lib directories relative to
#   themselves, so the cluster loads <dir>'s btexport (everything else is a symlink to the system's).
#   Exports PG_BIN (used by test/harness/pg.sh) and BTX_SO (the installed btexport.so).
btx_private_install() {
	local inst="$1" src="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
	shift; [ $# -gt 0 ] && shift
	local bindir libdir sharedir f
	bindir=$(pg_config --bindir); libdir=$(pg_config --pkglibdir); sharedir=$(pg_config --sharedir)
	make -s -C "$src" "$@" >/dev/null || return 1
	make -s -C "$src" "$@" install DESTDIR="$inst" >/dev/null || return 1
	mkdir -p "$inst$bindir" "$inst$libdir" "$inst$sharedir/extension"
	for f in initdb pg_ctl postgres; do cp "$bindir/$f" "$inst$bindir/"; done
	for f in "$libdir"/*; do [ -e "$inst$libdir/${f##*/}" ] || ln -s "$f" "$inst$libdir/${f##*/}"; done
	for f in "$sharedir"/*; do [ "${f##*/}" = extension ] || [ -e "$inst$sharedir/${f##*/}" ] || ln -s "$f" "$inst$sharedir/${f##*/}"; done
	for f in "$sharedir"/extension/*; do
		case "${f##*/}" in btexport*) continue ;; esac
		[ -e "$inst$sharedir/extension/${f##*/}" ] || ln -s "$f" "$inst$sharedir/extension/${f##*/}"
	done
	chmod -R a+rX "$inst"
	export PG_BIN="$inst$bindir" BTX_SO="$inst$libdir/btexport.so"
}
