#!/usr/bin/env bash
# Virtuoso 7 (Debian "virtuoso-opensource") as a throw-away SPARQL engine for tests and benchmarks.
#
#   scripts/virtuoso.sh install                    apt-get install virtuoso-opensource (only if missing)
#   scripts/virtuoso.sh start DIR PORT HTTP_PORT   new database in DIR, own virtuoso.ini, 127.0.0.1 only;
#                                                  returns when the SPARQL endpoint answers
#   scripts/virtuoso.sh stop DIR                   stop the server started in DIR (DIR is kept)
#   scripts/virtuoso.sh status DIR                 exit 0 when the server in DIR is running
#   scripts/virtuoso.sh load DIR FILES_DIR GRAPH   bulk-load the RDF files below FILES_DIR (*.ttl *.nt *.nq
#                                                  *.trig *.rdf *.owl) into GRAPH: copied into DIR/load/ (the
#                                                  only place DirsAllowed admits), ld_dir_all + rdf_loader_run
#                                                  + checkpoint; exit 1 with the loader's errors if a file failed
#
# Environment (all optional):
#   VIRTUOSO_DBA_PASSWORD   set the dba password after start (read from the environment and sent to
#                           isql on stdin, never on a command line); default: the stock "dba"
#   VIRTUOSO_BUFFERS        NumberOfBuffers (8 KiB pages in RAM; default 170000 ≈ 1.3 GiB cap, grows lazily)
#   VIRTUOSO_MAX_ROWS       [SPARQL] ResultSetMaxRows (default 10000000; Virtuoso truncates silently
#                           above it, digiregion turns its X-SPARQL-MaxRows header into an error)
#   VIRTUOSO_START_TIMEOUT  seconds to wait for the endpoint (default 90)
#
# The server runs in the foreground of a background process group (pid in DIR/virtuoso.pid), so
# "stop" ends exactly that process. Nothing listens on anything but 127.0.0.1.
set -euo pipefail

die() { echo "virtuoso.sh: $*" >&2; exit 2; }

binary() { command -v virtuoso-t || true; }

cmd_install() {
    if [[ -n "$(binary)" ]]; then
        echo "virtuoso.sh: virtuoso-t already installed ($(binary))"
        return 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends virtuoso-opensource
    # the Debian package may start its own system instance on 1111/8890: stop it, we run our own
    if command -v service >/dev/null 2>&1; then service virtuoso-opensource-7 stop >/dev/null 2>&1 || true; fi
    [[ -n "$(binary)" ]] || die "virtuoso-t not found after install"
}

write_ini() {
    local dir=$1 port=$2 http_port=$3
    local vad=/usr/share/virtuoso-opensource-7/vad
    cat >"$dir/virtuoso.ini" <<EOF
; written by scripts/virtuoso.sh for a throw-away database
[Database]
DatabaseFile       = $dir/virtuoso.db
ErrorLogFile       = $dir/virtuoso.log
LockFile           = $dir/virtuoso.lck
TransactionFile    = $dir/virtuoso.trx
xa_persistent_file = $dir/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = $dir/virtuoso-temp.db
TransactionFile    = $dir/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort               = 127.0.0.1:$port
LiteMode                 = 0
DisableUnixSocket        = 1
DisableTcpSocket         = 0
MaxClientConnections     = 20
CheckpointInterval       = 60
O_DIRECT                 = 0
CaseMode                 = 2
MaxStaticCursorRows      = 5000
CheckpointAuditTrail     = 0
AllowOSCalls             = 0
SchedulerInterval        = 10
DirsAllowed              = ., $dir, $vad
ThreadCleanupInterval    = 0
ThreadThreshold          = 10
ResourcesCleanupInterval = 0
FreeTextBatchSize        = 100000
SingleCPU                = 0
VADInstallDir            = $vad/
PrefixResultNames        = 0
RdfFreeTextRulesSize     = 100
IndexTreeMaps            = 64
MaxMemPoolSize           = 200000000
MaxQueryMem              = 2G
VectorSize               = 1000
; digiregion load switches graphs in one transaction (DROP + MOVE): at ~10^6 triples the
; default after-image limit (50 MB) aborts it with SR325, so allow up to 2 GB (a 32-bit setting).
TransactionAfterImageLimit = 2000000000
MaxVectorSize            = 1000000
AdjustVectorSize         = 0
ThreadsPerQuery          = 2
AsyncQueueMaxThreads     = 10
NumberOfBuffers          = ${VIRTUOSO_BUFFERS:-170000}
MaxDirtyBuffers          = $(( ${VIRTUOSO_BUFFERS:-170000} * 3 / 4 ))

[HTTPServer]
ServerPort                  = 127.0.0.1:$http_port
ServerRoot                  = $dir
MaxClientConnections        = 20
DavRoot                     = DAV
EnabledDavVSP               = 0
HTTPProxyEnabled            = 0
TempASPXDir                 = 0
ServerThreads               = 20
MaxKeepAlives               = 10
KeepAliveTimeout            = 10
MaxCachedProxyConnections   = 0
HTTPThreadSize              = 280000
HttpPrintWarningsInOutput   = 0
Charset                     = UTF-8
EnabledGzipContent          = 1

[AutoRepair]
BadParentLinks = 0

[Client]
SQL_PREFETCH_ROWS  = 100
SQL_PREFETCH_BYTES = 16000
SQL_QUERY_TIMEOUT  = 0
SQL_TXN_TIMEOUT    = 0

[VDB]
ArrayOptimization           = 0
NumArrayParameters          = 10
VDBDisconnectTimeout        = 1000
KeepConnectionOnFixedThread = 0

[Replication]
ServerName   = digiregion-test
ServerEnable = 0

[URIQA]
DynamicLocal = 0
DefaultHost  = 127.0.0.1:$http_port

[SPARQL]
ResultSetMaxRows           = ${VIRTUOSO_MAX_ROWS:-10000000}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime      = 0
MaxSortedTopRows           = 100000
ExternalQuerySource        = 0
ExternalXsltSource         = 0
EOF
}

answers() {  # HTTP 200 from the SPARQL endpoint?
    local url="http://127.0.0.1:$1/sparql?query=ASK%7B%7D"
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null | grep -q '^200$'
    else
        python3 - "$url" <<'PY' >/dev/null 2>&1
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
PY
    fi
}

running() { [[ -f "$1/virtuoso.pid" ]] && kill -0 "$(cat "$1/virtuoso.pid")" 2>/dev/null; }

cmd_start() {
    [[ $# -eq 3 ]] || die "usage: start DIR PORT HTTP_PORT"
    local dir port=$2 http_port=$3
    [[ -n "$(binary)" ]] || die "virtuoso-t is not installed (run: scripts/virtuoso.sh install)"
    mkdir -p "$1"
    dir=$(cd "$1" && pwd)
    running "$dir" && die "a server is already running in $dir (pid $(cat "$dir/virtuoso.pid"))"
    rm -f "$dir/virtuoso.lck"
    write_ini "$dir" "$port" "$http_port"
    # own process group: "stop" signals exactly this server and nothing else
    (cd "$dir" && exec setsid "$(binary)" +configfile "$dir/virtuoso.ini" +foreground \
        >"$dir/virtuoso.out" 2>&1 </dev/null) &
    echo $! >"$dir/virtuoso.pid"
    local waited=0 limit=${VIRTUOSO_START_TIMEOUT:-90}
    until answers "$http_port"; do
        if ! running "$dir"; then
            tail -n 30 "$dir/virtuoso.out" "$dir/virtuoso.log" >&2 2>/dev/null || true
            die "virtuoso exited during start-up (see $dir/virtuoso.log)"
        fi
        (( waited++ < limit * 4 )) || { cmd_stop "$dir"; die "virtuoso did not answer within ${limit}s"; }
        sleep 0.25
    done
    if [[ -n "${VIRTUOSO_DBA_PASSWORD:-}" && "${VIRTUOSO_DBA_PASSWORD}" != "dba" ]]; then
        local isql; isql=$(command -v isql-vt || command -v isql || true)
        [[ -n "$isql" ]] || die "isql-vt not found: cannot set the dba password"
        # the password goes to isql on stdin, never on a command line (ps would show it)
        printf "user_set_password('dba', '%s');\nexit;\n" "${VIRTUOSO_DBA_PASSWORD//\'/\'\'}" \
            | "$isql" "127.0.0.1:$port" dba dba >/dev/null \
            || die "could not set the dba password"
    fi
    echo "virtuoso.sh: running in $dir (pid $(cat "$dir/virtuoso.pid")), SPARQL http://127.0.0.1:$http_port/sparql"
}

cmd_stop() {
    [[ $# -eq 1 ]] || die "usage: stop DIR"
    local dir=$1 pid
    [[ -f "$dir/virtuoso.pid" ]] || { echo "virtuoso.sh: nothing to stop in $dir"; return 0; }
    pid=$(cat "$dir/virtuoso.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/virtuoso.pid" "$dir/virtuoso.lck"
    echo "virtuoso.sh: stopped ($dir)"
}

cmd_status() { running "${1:?usage: status DIR}"; }

cmd_load() {
    [[ $# -eq 3 ]] || die "usage: load DIR FILES_DIR GRAPH"
    local dir files graph port isql out
    dir=$(cd "$1" && pwd); files=$(cd "$2" && pwd); graph=$3
    running "$dir" || die "no server running in $dir"
    port=$(sed -n 's/^ServerPort *= *127.0.0.1:\([0-9]*\)$/\1/p' "$dir/virtuoso.ini" | head -1)
    isql=$(command -v isql-vt || command -v isql || true)
    [[ -n "$isql" ]] || die "isql-vt not found"
    # a fresh folder per load: ld_dir_all registers files by path, a second load must not skip them
    local stage; stage=$(mktemp -d "$dir/load.XXXXXX")
    (cd "$files" && find . -type f \( -name '*.ttl' -o -name '*.nt' -o -name '*.nq' -o -name '*.trig' \
        -o -name '*.rdf' -o -name '*.owl' \) -exec cp --parents {} "$stage/" \;)
    out=$(printf "%s\n" \
        "ld_dir_all('$stage', '*.ttl', '$graph');" "ld_dir_all('$stage', '*.nt', '$graph');" \
        "ld_dir_all('$stage', '*.nq', '$graph');" "ld_dir_all('$stage', '*.trig', '$graph');" \
        "ld_dir_all('$stage', '*.rdf', '$graph');" "ld_dir_all('$stage', '*.owl', '$graph');" \
        "rdf_loader_run();" "checkpoint;" \
        "select 'LOADERROR', ll_file, ll_error from DB.DBA.LOAD_LIST where ll_error is not null;" \
        "select 'LOADED', count(*) from DB.DBA.LOAD_LIST where ll_state = 2 and ll_error is null;" "exit;" \
        | "$isql" "127.0.0.1:$port" dba "${VIRTUOSO_DBA_PASSWORD:-dba}" 2>&1) || { echo "$out" >&2; die "isql failed"; }
    rm -rf "$stage"
    if grep -q -E 'LOADERROR|^\*\*\* Error' <<<"$out"; then
        grep -E 'LOADERROR|Error' <<<"$out" >&2
        return 1
    fi
    echo "virtuoso.sh: loaded $(grep -o 'LOADED *[0-9]*' <<<"$out" | awk '{print $2}') file(s) into <$graph>"
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    status) shift; cmd_status "$@" ;;
    load) shift; cmd_load "$@" ;;
    *) echo "usage: $0 install | start DIR PORT HTTP_PORT | stop DIR | status DIR | load DIR FILES_DIR GRAPH" >&2; exit 2 ;;
esac
