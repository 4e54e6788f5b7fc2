#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for btexport's tests (run as root or as an unprivileged user).
# usage: source test/harness/pg.sh; pg_start <dir> [port]; ... psql_q "select 1"; pg_stop
#   exports PGDIR PGPORT PGHOST PGUSER PGDATABASE.  The cluster preloads pg_cron and btexport.
#   PG_ENV: environment assignments for the server (e.g. LD_PRELOAD of the sanitizer runtime,
#   test/sanitize), given on pg_ctl's command line: su drops LD_PRELOAD from the environment.
#   pg_start_cmd prints the command that starts the cluster again (tests that restart it).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

_pg_as() {	# run a command as the cluster's OS user
	if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

pg_start() {
	PGDIR="$1"
	PGPORT="${2:-$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}"
	mkdir -p "$PGDIR/sock"
	[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PGDIR"
	_pg_as "$PG_BIN/initdb -D $PGDIR/data -U postgres --auth=trust --no-instructions -E UTF8 --locale=C.UTF-8 >$PGDIR/initdb.log 2>&1" \
		|| { cat "$PGDIR/initdb.log" >&2; return 1; }
	cat >>"$PGDIR/data/postgresql.conf" <<CONF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGDIR/sock'
shared_preload_libraries = 'pg_cron,btexport'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 24
btexport.allow_http = on
log_min_messages = warning
fsync = off
CONF
	[ -n "${PG_EXTRA_CONF:-}" ] && printf '%s\n' "$PG_EXTRA_CONF" >>"$PGDIR/data/postgresql.conf"
	_pg_as "$(pg_start_cmd) >/dev/null" || { cat "$PGDIR/server.log" >&2; return 1; }
	export PGDIR PGPORT PGHOST="$PGDIR/sock" PGUSER=postgres PGDATABASE=postgres PG_BIN PG_ENV
}

pg_start_cmd() {	# the command (run as the cluster's OS user) that starts the cluster in $PGDIR
	echo "${PG_ENV:+env $PG_ENV }$PG_BIN/pg_ctl -D $PGDIR/data -l $PGDIR/server.log -w start"
}

psql_q() {	# psql_q "sql" -> unaligned, tuples only, stops on error
	psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}

pg_stop() {
	[ -n "${PGDIR:-}" ] && [ -d "$PGDIR/data" ] && _pg_as "$PG_BIN/pg_ctl -D $PGDIR/data -m fast stop >/dev/null 2>&1"
}

pg_restart() {	# stop the cluster and start it again on the same data directory, with $PG_BIN's binaries
	_pg_as "$PG_BIN/pg_ctl -D $PGDIR/data -m fast stop >/dev/null 2>&1"
	_pg_as "$(pg_start_cmd) >/dev/null" || { tail -50 "$PGDIR/server.log" >&2; return 1; }
}

pg_start_existing() {	# pg_start_existing <dir> <data directory made elsewhere, e.g. by pg_basebackup> [port]
	PGDIR="$1"
	PGPORT="${3:-$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}"
	mkdir -p "$PGDIR/sock"
	mv "$2" "$PGDIR/data"
	cat >>"$PGDIR/data/postgresql.conf" <<CONF
port = $PGPORT
unix_socket_directories = '$PGDIR/sock'
CONF
	[ -n "${PG_EXTRA_CONF:-}" ] && printf '%s\n' "$PG_EXTRA_CONF" >>"$PGDIR/data/postgresql.conf"
	[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PGDIR"
	chmod 700 "$PGDIR/data"
	_pg_as "$(pg_start_cmd) >/dev/null" || { cat "$PGDIR/server.log" >&2; return 1; }
	export PGDIR PGPORT PGHOST="$PGDIR/sock" PGUSER=postgres PGDATABASE=postgres PG_BIN PG_ENV
}
