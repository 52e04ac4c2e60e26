# shellcheck shell=bash
# A private, throwaway PostgreSQL server for the postgres backend's tests.
#
# Sourced (not run) by .ci/run, or by hand before the tests:
#
#     source .ci/postgres.sh
#     CI=true python -m pytest tests/test_postgres.py tests/test_api.py -q
#
# - installs `postgresql postgresql-contrib` with apt-get when initdb can't be found
#   (contrib brings postgres_fdw, used by the two-server test);
# - runs initdb in a temporary directory (as the `postgres` OS user when run as root:
#   initdb refuses root) with trust authentication, and starts the server on a free
#   port of 127.0.0.1 only (plus a Unix socket inside that directory);
# - exports DATABASE_URL=postgresql://postgres@127.0.0.1:<port>/fil and PG_BINDIR (the
#   two-server test starts its second server itself with those binaries, unless
#   FIL_TEST_SHARD_URL is set);
# - registers an EXIT trap (chained after any EXIT trap already set) that stops the
#   server and removes the directory. If the caller replaces the EXIT trap afterwards,
#   it should call `fil_pg_stop` itself.
#
# Returns non-zero (without exiting the caller's shell) when the server can't be had.

fil_pg_find_bindir() {
    local d
    if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then
        echo "$PG_BINDIR"
        return 0
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    return 1
}

fil_pg_apt_install() {
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "postgres.sh: need root or sudo to install PostgreSQL" >&2; return 1; }
        sudo="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 || { echo "postgres.sh: no apt-get to install PostgreSQL" >&2; return 1; }
    $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            postgresql postgresql-contrib >/dev/null
}

fil_pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

fil_pg_stop() {
    if [ -n "${FIL_PG_DIR:-}" ] && [ -d "$FIL_PG_DIR" ]; then
        if [ -f "$FIL_PG_DIR/data/postmaster.pid" ]; then
            fil_pg_as_owner "$FIL_PG_BINDIR/pg_ctl" -D "$FIL_PG_DIR/data" -m immediate -w stop \
                >/dev/null 2>&1 || true
        fi
        rm -rf "$FIL_PG_DIR"
    fi
    FIL_PG_DIR=""
}

fil_pg_start() {
    local bindir port dir
    bindir=$(fil_pg_find_bindir) || {
        echo "postgres.sh: initdb not found: installing postgresql postgresql-contrib" >&2
        fil_pg_apt_install || return 1
        bindir=$(fil_pg_find_bindir) || { echo "postgres.sh: initdb still missing" >&2; return 1; }
    }
    if [ ! -f "$("$bindir/pg_config" --sharedir 2>/dev/null || echo /nonexistent)/extension/postgres_fdw.control" ] \
        && ! ls /usr/share/postgresql/*/extension/postgres_fdw.control >/dev/null 2>&1; then
        echo "postgres.sh: postgres_fdw missing: installing postgresql-contrib" >&2
        fil_pg_apt_install || return 1
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres || return 1
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
    dir=$(mktemp -d "${TMPDIR:-/tmp}/fil-ci-pg.XXXXXX") || return 1
    chmod 700 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    FIL_PG_DIR=$dir
    FIL_PG_BINDIR=$bindir
    if ! fil_pg_as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
            --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        fil_pg_stop
        return 1
    fi
    if ! fil_pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
            start >/dev/null; then
        cat "$dir/server.log" >&2
        fil_pg_stop
        return 1
    fi
    "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "CREATE DATABASE fil" >/dev/null || { fil_pg_stop; return 1; }
    export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/fil"
    export PG_BINDIR="$bindir"
    echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on" \
        "127.0.0.1:$port (DATABASE_URL=$DATABASE_URL)" >&2
}

if fil_pg_start; then
    # Chain after an EXIT trap the caller may already have (trap -p output is shell-quoted).
    FIL_PG_PREV_TRAP=""
    if [ -n "$(trap -p EXIT)" ]; then
        eval "FIL_PG_TRAP_WORDS=($(trap -p EXIT))"
        FIL_PG_PREV_TRAP=${FIL_PG_TRAP_WORDS[2]}
        unset FIL_PG_TRAP_WORDS
    fi
    # shellcheck disable=SC2154
    trap 'fil_pg_stop; eval "$FIL_PG_PREV_TRAP"' EXIT
else
    echo "postgres.sh: could not start PostgreSQL" >&2
    false
fi
