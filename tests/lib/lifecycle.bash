# shellcheck shell=bash disable=SC2154 # api_status, api_body…: set by api()
# tests/lib/lifecycle.bash: helpers of the 30-lifecycle-* fault suites:
# a stack with its own config file (and a cell uid range of its own, so
# other stacks on the host never look like ours), killing and respawning
# its services, finding a job's worker and its cell's processes, holding the
# database locked from another process. Load after ../lib/common.

# lc_stack_start [EXTRA_CONFIG_LINE]...: tools/stack with a config file
# (DIR/jobcell.conf, passed to jobcell-api and jobcell-worker with
# --config). [worker] gets a random uid_base (exported as LC_UID_BASE) and
# a 1 s kill grace unless EXTRA lines (under their own [section] headers)
# say otherwise; later keys win. For setup_file. Stack dir as stack_start.
lc_stack_start() {
	local conf=$BATS_FILE_TMPDIR/jobcell.conf line dir=${LC_STACK_DIR:-}
	LC_UID_BASE=$((300000 + (RANDOM % 20000) * 64))
	export LC_UID_BASE
	{
		echo "[worker]"
		echo "uid_base = $LC_UID_BASE"
		echo "kill_grace_ms = 1000"
		for line in "$@"; do
			echo "$line"
		done
	} >"$conf"
	export JOBCELL_STACK_CONFIG=$conf
	stack_start ${dir:+"$dir"}
	unset JOBCELL_STACK_CONFIG
}

# lc_conf: the stack's config file, read by its programs (edit, then HUP).
lc_conf() {
	echo "$JOBCELL_STACK_DIR/jobcell.conf"
}

# svc_pid nginx|api|worker: the recorded pid of a service (the supervisor
# for worker).
svc_pid() {
	local pid
	read -r pid <"$JOBCELL_STACK_DIR/$1.pid" || return 1
	echo "$pid"
}

# alive PID: the process exists and is not a zombie.
alive() {
	local stat state
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	state=${stat##*) }
	state=${state%% *}
	[[ -n $state && $state != Z && $state != X ]]
}

dead() {
	! alive "$1"
}

# kill9 PID: SIGKILL and wait (bounded) until it is gone.
kill9() {
	kill -KILL "$1"
	wait_for 10 dead "$1" || fail "pid $1 survived SIGKILL"
}

# children PID: the pids of PID's children.
children() {
	local t
	for t in /proc/"$1"/task/*/children; do
		cat "$t" 2>/dev/null || true
	done | tr ' ' '\n' | sed '/^$/d'
}

# respawn api|worker: start that service of the stack again (with the
# arguments tools/stack start gave it); api: until /v1/health answers.
respawn() {
	"$JOBCELL_SRCDIR/tools/stack" respawn "$JOBCELL_STACK_DIR" "$1" >/dev/null ||
		fail "tools/stack respawn $1 failed"
	if [[ $1 == api ]]; then
		wait_for 15 health_ok || fail "jobcell-api did not answer after respawn"
	fi
}

health_ok() {
	[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
	    --cacert "$JOBCELL_CACERT" "$JOBCELL_URL/v1/health") == 200 ]]
}

# cell_pids: the host pids of every process running as one of this stack's
# cell uids (LC_UID_BASE .. +63): cells' inits and jobs; not the warm cells
# that live workers keep prepared (cell/ns_pool.c: named cell-warm, child
# of a jobcell-worker; a job cannot pass for one, see tests/lib/cells.bash).
cell_pids() {
	local f k v lo=$LC_UID_BASE hi=$((LC_UID_BASE + 63)) pid name ppid pcomm
	for f in /proc/[0-9]*/status; do
		pid=${f#/proc/}
		pid=${pid%/status}
		v="" name="" ppid=""
		{
			while read -r k v _; do
				case $k in
				Name:) name=$v ;;
				PPid:) ppid=$v ;;
				Uid:) break ;;
				esac
			done <"$f"
		} 2>/dev/null || continue
		[[ $v =~ ^[0-9]+$ ]] || continue
		((v >= lo && v <= hi)) || continue
		if [[ $name == cell-warm && $ppid =~ ^[0-9]+$ ]]; then
			pcomm=""
			read -r pcomm 2>/dev/null <"/proc/$ppid/comm" || true
			[[ $pcomm == jobcell-worker ]] && continue
		fi
		alive "$pid" && echo "$pid"
	done
	return 0
}

no_cell_pids() {
	[[ -z $(cell_pids) ]]
}

some_cell_pids() {
	[[ -n $(cell_pids) ]]
}

# db_query SQL: one sqlite3 query on the stack's database (read-only use).
db_query() {
	sqlite3 -cmd '.timeout 10000' "$JOBCELL_DB" "$1"
}

# job_worker ID: the pid of the worker process holding the job.
job_worker() {
	db_query "SELECT worker FROM jobs WHERE id = '$1'"
}

# job_status_is ID STATUS: GET the job; true if its status is STATUS.
job_status_is() {
	api GET "/v1/jobs/$1" || return 1
	[[ $api_status == 200 && $(json_get .status "$api_body") == "$2" ]]
}

# output_has ID TEXT: the job's stored stdout contains TEXT.
output_has() {
	api GET "/v1/jobs/$1/output?stream=stdout" || return 1
	[[ $api_status == 200 ]] && grep -qF -- "$2" "$api_body_file"
}

# wait_output ID TEXT [SECONDS]: until the job's stdout contains TEXT.
wait_output() {
	wait_for "${3:-20}" output_has "$1" "$2" ||
		fail "job $1 never wrote '$2' (status: $(db_query "SELECT status FROM jobs WHERE id = '$1'"))"
}

# logs_consistent ID: the stored chunks of a job are 1..N without a gap,
# and log_bytes is their total; prints "N BYTES".
logs_consistent() {
	local n lo hi bytes stored
	IFS='|' read -r n lo hi bytes < <(db_query "SELECT COUNT(*),
	    COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0),
	    COALESCE(SUM(LENGTH(data)), 0) FROM job_logs WHERE job_id = '$1'")
	stored=$(db_query "SELECT log_bytes FROM jobs WHERE id = '$1'")
	((n == 0 || (lo == 1 && hi == n))) ||
		fail "job $1: $n chunks numbered $lo..$hi (a gap or a duplicate)"
	((bytes == stored)) || fail "job $1: log_bytes $stored but $bytes bytes stored"
	echo "$n $bytes"
}

# db_lock_hold: another process (sqlite3) takes the database's write lock
# (BEGIN EXCLUSIVE) and keeps it until db_lock_release.
db_lock_hold() {
	local fifo=$BATS_TEST_TMPDIR/lock.fifo out=$BATS_TEST_TMPDIR/lock.out
	rm -f "$fifo"
	mkfifo "$fifo"
	sqlite3 "$JOBCELL_DB" <"$fifo" >"$out" 2>&1 3>&- &
	LC_LOCK_PID=$!
	exec {LC_LOCK_FD}>"$fifo"
	printf '.timeout 10000\n.bail on\nBEGIN EXCLUSIVE;\nSELECT '"'"'locked'"'"';\n' >&"$LC_LOCK_FD"
	wait_for 15 grep -qx locked "$out" ||
		fail "sqlite3 did not get the lock: $(cat "$out")"
}

db_lock_release() {
	[[ -n ${LC_LOCK_FD:-} ]] || return 0
	printf 'ROLLBACK;\n.quit\n' >&"$LC_LOCK_FD" || true
	exec {LC_LOCK_FD}>&-
	LC_LOCK_FD=""
	wait "$LC_LOCK_PID" || true
}

# follow_bg ID QUERY FILE: GET …/logs?follow=1QUERY in the background (curl,
# unbuffered) into FILE (headers in FILE.h); LC_FOLLOW_PID is its pid.
follow_bg() {
	curl -sS -N --cacert "$JOBCELL_CACERT" --max-time 120 \
	    -H "Authorization: Bearer $JOBCELL_KEY" -D "$3.h" -o "$3" \
	    "$JOBCELL_URL/v1/jobs/$1/logs?follow=1$2" 3>&- 2>"$3.err" &
	# shellcheck disable=SC2034 # for the suites
	LC_FOLLOW_PID=$!
}

# http_status FILE.h: the status code of the last response in a header file.
http_status() {
	awk '/^HTTP\// { s = $2 } END { print s }' "$1"
}

# ndjson_lines FILE: the complete lines of an NDJSON file (a stream cut
# mid-line leaves an incomplete last line).
ndjson_lines() {
	local f=$1
	if [[ -s $f && $(tail -c 1 "$f" | od -An -c | tr -d ' ') != '\n' ]]; then
		sed '$d' "$f"
	else
		cat "$f"
	fi
}
