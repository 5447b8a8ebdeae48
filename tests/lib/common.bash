# tests/lib/common.bash: shared helpers for the e2e bats suites.
# Each suite does `load ../lib/common` at top level, starts its own stack in
# setup_file (stack_start) and stops exactly it in teardown_file
# (stack_stop). Loads bats-support, bats-assert and tests/lib/api.bash.

JOBCELL_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export JOBCELL_SRCDIR

_jobcell_load_lib() {
	local name=$1 dir
	for dir in ${BATS_LIB_PATH//:/ } /usr/lib/bats /usr/local/lib/bats; do
		if [[ -r $dir/$name/load.bash ]]; then
			load "$dir/$name/load.bash"
			return 0
		fi
	done
	echo "cannot find $name (run tools/deps)" >&2
	return 1
}
_jobcell_load_lib bats-support
_jobcell_load_lib bats-assert
load "$JOBCELL_SRCDIR/tests/lib/api.bash"

# The programs under test: JOBCELL_BINDIR, else the build directory make
# runs us from (out-of-tree builds), else the source tree, else PATH.
if [[ -z ${JOBCELL_BINDIR:-} ]]; then
	if [[ -x $PWD/jobcell-api ]]; then
		JOBCELL_BINDIR=$PWD
	elif [[ -x $JOBCELL_SRCDIR/jobcell-api ]]; then
		JOBCELL_BINDIR=$JOBCELL_SRCDIR
	fi
fi
[[ -z ${JOBCELL_BINDIR:-} ]] || export JOBCELL_BINDIR

# jobcell_bin NAME: the path of one of our programs.
jobcell_bin() {
	if [[ -n ${JOBCELL_BINDIR:-} && -x $JOBCELL_BINDIR/$1 ]]; then
		echo "$JOBCELL_BINDIR/$1"
	else
		PATH=$PATH:/usr/local/sbin:/usr/sbin command -v "$1"
	fi
}

# jobcell_admin ARGS...: jobcell-admin on the stack's database.
jobcell_admin() {
	"$(jobcell_bin jobcell-admin)" --db "$JOBCELL_DB" "$@"
}

# strict: true when CI asked that a missing prerequisite fail the test.
strict() {
	[[ ${JOBCELL_TEST_STRICT:-0} == 1 ]]
}

# skip_because REASON: skip, naming the missing prerequisite; a failure
# under JOBCELL_TEST_STRICT=1.
skip_because() {
	if strict; then
		fail "missing prerequisite (JOBCELL_TEST_STRICT=1): $*"
	fi
	skip "$*"
}

# skip_unless CMD [ARGS...]: skip (strict: fail) unless CMD succeeds.
skip_unless() {
	if ! "$@" >/dev/null 2>&1; then
		skip_because "needs: $*"
	fi
}

# wait_for SECONDS CMD [ARGS...]: run CMD until it succeeds, at most
# SECONDS (fractions allowed); 1 and a note on stderr if it never did.
# CMD runs in this shell, so variables it sets stay set.
wait_for() {
	local limit=$1 deadline now
	shift
	deadline=$(_now_ms)
	deadline=$((deadline + ${limit%.*} * 1000 + 10#$(_frac_ms "$limit")))
	while :; do
		if "$@"; then
			return 0
		fi
		now=$(_now_ms)
		if ((now >= deadline)); then
			echo "wait_for: '$*' did not succeed within ${limit}s" >&2
			return 1
		fi
		sleep 0.1	# poll interval, bounded by the deadline above
	done
}

_now_ms() {
	local t=$EPOCHREALTIME
	echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

# _frac_ms 2.5 → 500 (the fraction of seconds, in ms).
_frac_ms() {
	local f=0
	[[ $1 != *.* ]] || f=${1#*.}
	f=${f}000
	echo "${f:0:3}"
}

# stack_start: tools/stack in $BATS_FILE_TMPDIR; exports JOBCELL_URL,
# JOBCELL_CACERT, JOBCELL_DB and JOBCELL_STACK_DIR. For setup_file.
stack_start() {
	local dir=${1:-$BATS_FILE_TMPDIR/stack} out line
	if ((EUID != 0)); then
		if strict; then
			echo "e2e suites need root (jobcell-worker builds cells)" >&2
			return 1
		fi
		skip "e2e suites need root (jobcell-worker builds cells)"
	fi
	# Unix socket paths have a 108-byte limit; bats temp dirs can be long.
	if ((${#dir} > 80)); then
		dir=$(mktemp -d /tmp/jobcell-e2e.XXXXXX)
		echo "$dir" >"$BATS_FILE_TMPDIR/stack-dir"
	fi
	export JOBCELL_STACK_DIR=$dir
	if ! out=$("$JOBCELL_SRCDIR/tools/stack" start "$dir" 2>"$BATS_FILE_TMPDIR/stack-start.err"); then
		cat "$BATS_FILE_TMPDIR/stack-start.err" >&2
		echo "stack_start: tools/stack start $dir failed" >&2
		return 1
	fi
	while IFS= read -r line; do
		case $line in
		JOBCELL_URL=* | JOBCELL_CACERT=* | JOBCELL_DB=*)
			export "${line?}"
			;;
		esac
	done <<<"$out"
	if [[ -z ${JOBCELL_URL:-} || -z ${JOBCELL_CACERT:-} || -z ${JOBCELL_DB:-} ]]; then
		echo "stack_start: tools/stack printed no JOBCELL_URL/CACERT/DB lines:" >&2
		echo "$out" >&2
		return 1
	fi
}

# stack_stop: stop exactly the processes stack_start started. For
# teardown_file; shows the logs' tails if a service had died.
stack_stop() {
	local dir=${JOBCELL_STACK_DIR:-}
	[[ -n $dir && -d $dir ]] || return 0
	if ! "$JOBCELL_SRCDIR/tools/stack" status "$dir" >/dev/null 2>&1; then
		echo "stack_stop: a service in $dir was not running at teardown:" >&2
		"$JOBCELL_SRCDIR/tools/stack" status "$dir" >&2 || true
		stack_logs >&2
	fi
	"$JOBCELL_SRCDIR/tools/stack" stop "$dir"
	if [[ -s $BATS_FILE_TMPDIR/stack-dir && $dir == /tmp/jobcell-e2e.* ]]; then
		rm -rf -- "$dir"
	fi
}

# stack_logs: the last lines of each service log (for diagnostics).
stack_logs() {
	local f
	for f in api.log worker.log nginx-error.log; do
		[[ -s $JOBCELL_STACK_DIR/$f ]] || continue
		echo "---- $JOBCELL_STACK_DIR/$f ----"
		tail -n 30 "$JOBCELL_STACK_DIR/$f"
	done
}

# new_consumer NAME [VAR]: create a consumer and export its key as VAR
# (default JOBCELL_KEY). Fails if the key is not shaped <16 hex>.<43 b64url>.
new_consumer() {
	local name=$1 var=${2:-JOBCELL_KEY} out key
	out=$(jobcell_admin create-consumer --name "$name" --json) || {
		echo "new_consumer: jobcell-admin create-consumer --name $name failed" >&2
		return 1
	}
	key=$(jq -er .key <<<"$out") || {
		echo "new_consumer: no .key in: $out" >&2
		return 1
	}
	if [[ ! $key =~ ^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$ ]]; then
		echo "new_consumer: key for $name is not <16 hex>.<43 base64url>" >&2
		return 1
	fi
	export "$var=$key"
}

# consumer_id NAME: the database id of a consumer (the value nginx passes
# as JOBCELL_CONSUMER).
consumer_id() {
	sqlite3 "$JOBCELL_DB" "SELECT id FROM consumers WHERE name = '$1'"
}

# sqlite3: the sqlite3 shell with a busy timeout, for every suite. The
# stack's programs write the file while a test reads it; without one a
# read that meets a write fails at once with "database is locked" (seen
# on a busy machine).
sqlite3() {
	command sqlite3 -cmd '.timeout 10000' "$@"
}

# cgroup_mounts: the mount point of every cgroup hierarchy (v1 of any
# controller or name, and cgroup2), one a line. The fs type follows the
# " - " that ends mountinfo's optional fields, whose number varies.
cgroup_mounts() {
	awk '{ for (i = 7; i < NF && $i != "-"; i++) ; }
	    $(i + 1) == "cgroup" || $(i + 1) == "cgroup2" { print $5 }' /proc/self/mountinfo
}
