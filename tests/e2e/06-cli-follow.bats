#!/usr/bin/env bats
# The jobcell client following jobs live: submit --follow and run stream
# output as it is written, tail resumes after a dropped connection without
# repeating or losing a record, and Ctrl-C leaves the job running (or,
# with --cancel-on-interrupt, cancels it).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cli

setup_file() {
	cli_setup_file
}

teardown_file() {
	stack_stop
}

setup() {
	cli_setup --init
	bg_pids=()
}

teardown() {
	local pid
	for pid in "${bg_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
}

# api as alice (tests/lib/api.bash reads JOBCELL_KEY and JOBCELL_CACERT,
# which setup unsets for the client's sake).
api_alice() {
	JOBCELL_KEY=$ALICE_KEY JOBCELL_CACERT=$STACK_CACERT api "$@"
}

file_has() {	# file_has FILE TEXT: FILE contains TEXT
	grep -qF -- "$2" "$1" 2>/dev/null
}

job_status_is() {	# job_status_is ID STATUS
	api_alice GET "/v1/jobs/$1" && [[ $(json_get .status "$api_body") == "$2" ]]
}

pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# start_bg OUT ERR CMD...: CMD in the background with its own process group
# (job control on), so SIGINT is not ignored as bash does for background
# commands of a script; sets bg_pid.
start_bg() {
	local out=$1 err=$2
	shift 2
	set -m
	"$@" >"$out" 2>"$err" &
	bg_pid=$!
	set +m
	bg_pids+=("$bg_pid")
}

# wait_bg PID: wait for our background PID; its exit status in bg_status.
wait_bg() {
	bg_status=0
	wait "$1" || bg_status=$?
}

@test "submit --follow prints output while the job runs, then the status line" {
	local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err id
	start_bg "$out" "$err" "$JC" submit --follow \
	    --command 'echo first; sleep 2; echo second'
	wait_for 20 file_has "$out" first
	# The job is still running while its first line is already shown.
	run -0 "$JC" list --limit 1 --status running --json
	id=$(jq -r '.jobs[0].id' <<<"$output")
	[[ $id =~ ^[A-Za-z0-9_-]+$ ]]
	run -0 cat "$out"
	assert_output first
	wait_bg "$bg_pid"
	assert_equal "$bg_status" 0
	run -0 cat "$out"
	assert_line --index 0 first
	assert_line --index 1 second
	assert_line --index 2 --regexp "^$id succeeded exit_code=0 "
}

@test "tail --after prints only the records after SEQ" {
	local id seq1 out
	run -0 "$JC" submit --wait \
	    --command 'echo one; sleep 0.3; echo two; sleep 0.3; echo three'
	id=${output%% *}
	run -0 "$JC" logs --json "$id"
	seq1=$(jq -rs '.[0].seq' <<<"$output")
	[[ $(jq -rs '[.[].data] | add' <<<"$output") == $'one\ntwo\nthree' ]]
	run -0 --separate-stderr "$JC" tail --after "$seq1" "$id"
	out=$output
	[[ $out == $'two\nthree' ]]
	run -0 "$JC" tail --json --after "$seq1" "$id"
	run -0 jq -rs '.[-1].type, .[-1].status, ([.[] | select(.type == "stdout") | .seq] | min > '"$seq1"')' <<<"$output"
	assert_output $'exit\nsucceeded\ntrue'
}

# start_proxy: a TCP proxy (socat) from a free local port to the stack, so
# a test can cut the connections going through it; sets proxy_url and
# proxy_pid.
start_proxy() {
	local port target=${JOBCELL_URL##*:} try
	skip_unless command -v socat
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue	# something listens there
		fi
		socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
		    "TCP:127.0.0.1:$target" 2>"$BATS_TEST_TMPDIR/socat.err" &
		proxy_pid=$!
		bg_pids+=("$proxy_pid")
		if wait_for 5 port_open "$port"; then
			proxy_url=https://127.0.0.1:$port
			return 0
		fi
		kill "$proxy_pid" 2>/dev/null || true
	done
	fail "no free port for the proxy"
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# proxy_connections: the pids of socat's per-connection children.
proxy_connections() {
	ps -o pid= --ppid "$proxy_pid" | tr -d ' '
}

@test "tail resumes with after= after a dropped connection, nothing twice" {
	local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err id conns pid
	start_proxy
	id=$("$JC" submit --command 'echo first; sleep 3; echo second; sleep 0.5; echo third')
	start_bg "$out" "$err" env JOBCELL_SERVER="$proxy_url" "$JC" tail "$id"
	wait_for 20 file_has "$out" first
	conns=$(proxy_connections)
	[[ -n $conns ]] || fail "no connection through the proxy"
	for pid in $conns; do
		kill "$pid"	# socat's child for this connection: ours
	done
	wait_bg "$bg_pid"
	assert_equal "$bg_status" 0
	run -0 cat "$out"
	assert_output $'first\nsecond\nthird'
	# The second request resumed after the first record, not from 0.
	run -0 grep -cE "GET /v1/jobs/$id/logs\?follow=1&after=[1-9][0-9]* " \
	    "$JOBCELL_STACK_DIR/nginx-access.log"
}

@test "Ctrl-C during run leaves the job running and says how to reattach" {
	local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err id
	start_bg "$out" "$err" "$JC" run --command 'echo started; sleep 2; echo done'
	wait_for 20 file_has "$out" started
	kill -INT "$bg_pid"
	wait_bg "$bg_pid"
	assert_equal "$bg_status" 130
	run -0 cat "$err"
	assert_line --regexp '^jobcell: run: interrupted; job [A-Za-z0-9_-]+ keeps running$'
	id=$(sed -n 's/^jobcell: run: interrupted; job \([A-Za-z0-9_-]*\) .*/\1/p' "$err")
	assert_line "jobcell: run: reattach with: jobcell tail $id"
	# still running (it sleeps) right after we left ...
	run -0 "$JC" status --json "$id"
	[[ $(jq -r .status <<<"$output") == running ]]
	# ... and the hint works: tail shows all of it and the job succeeds
	run -0 "$JC" tail "$id"
	assert_output $'started\ndone'
	wait_for 20 job_status_is "$id" succeeded
}

@test "Ctrl-C with --cancel-on-interrupt cancels the job" {
	local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err id
	start_bg "$out" "$err" "$JC" run --cancel-on-interrupt \
	    --command 'echo started; sleep 30; echo never'
	wait_for 20 file_has "$out" started
	kill -INT "$bg_pid"
	wait_bg "$bg_pid"
	assert_equal "$bg_status" 130
	run -0 cat "$err"
	assert_line --regexp '^jobcell: run: interrupted; cancelling job [A-Za-z0-9_-]+$'
	id=$(sed -n 's/^jobcell: run: interrupted; cancelling job \([A-Za-z0-9_-]*\)$/\1/p' "$err")
	assert_line --regexp "^jobcell: run: $id cancelled"
	run -0 "$JC" status --json "$id"
	[[ $(jq -r .status <<<"$output") == cancelled ]]
	run -0 cat "$out"
	assert_output started
}

@test "Ctrl-C during tail leaves the job running; with --cancel-on-interrupt it ends it" {
	local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err id
	id=$("$JC" submit --command 'echo started; sleep 30')
	start_bg "$out" "$err" "$JC" tail "$id"
	wait_for 20 file_has "$out" started
	kill -INT "$bg_pid"
	wait_bg "$bg_pid"
	assert_equal "$bg_status" 130
	run -0 cat "$err"
	assert_line "jobcell: tail: reattach with: jobcell tail $id"
	job_status_is "$id" running

	start_bg "$out" "$err" "$JC" tail --cancel-on-interrupt "$id"
	wait_for 20 file_has "$out" started
	kill -TERM "$bg_pid"
	wait_bg "$bg_pid"
	assert_equal "$bg_status" 130
	wait_for 20 job_status_is "$id" cancelled
}

@test "a background jobcell whose parent ignores SIGINT keeps following" {
	local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
	# No job control: bash starts the command with SIGINT ignored.
	"$JC" run --command 'echo started; sleep 1; echo done' >"$out" 2>"$err" &
	bg_pids+=($!)
	wait_for 20 file_has "$out" started
	kill -INT "${bg_pids[-1]}"
	wait_bg "${bg_pids[-1]}"
	assert_equal "$bg_status" 0
	run -0 cat "$out"
	assert_output $'started\ndone'
}

@test "run --json streams NDJSON records ending with the exit record" {
	run -3 "$JC" run --json --command 'echo out; echo err >&2; exit 3'
	run -0 jq -rs '[.[] | select(.type == "stdout") | .data] | add' <<<"$output"
	assert_output out
	run -3 "$JC" run --json --command 'echo out; echo err >&2; exit 3'
	run -0 jq -rsc '.[-1] | [.type, .status, .exit_code, .timed_out]' <<<"$output"
	assert_output '["exit","failed",3,false]'
}
