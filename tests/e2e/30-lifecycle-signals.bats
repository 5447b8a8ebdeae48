#!/usr/bin/env bats
# Cancel, drain and reload: a cancel reaches the running cell (TERM, then
# KILL after the grace); SIGTERM to the supervisor drains (no new claims,
# running jobs get their grace, then are cancelled); SIGHUP re-reads the
# config file and applies what can change live.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/lifecycle

setup_file() {
	lc_stack_start "drain_grace_ms = 3000"
	new_consumer alice
}

teardown_file() {
	stack_stop
}

teardown() {
	if ! alive "$(svc_pid worker)"; then
		respawn worker
	fi
}

# A job that says when TERM came and keeps running through it.
TERM_IGNORING='{"command":"trap \"echo got-term; t=1\" TERM; t=0; echo ready; while :; do sleep 0.05; if [ $t = 1 ]; then echo still-running; t=2; fi; done"}'

@test "cancel of a running job: the cell gets TERM, goes on through the grace, then KILL; status cancelled" {
	submit "$TERM_IGNORING"
	local id=$job_id
	wait_output "$id" ready
	api POST "/v1/jobs/$id/cancel"
	assert_api_status 200
	wait_job "$id"
	run -0 json_get '[.status, .exit_code] | map(tostring) | join(",")' "$job"
	assert_output "cancelled,null"
	job_output "$id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output $'ready\ngot-term\nstill-running'
	wait_for 10 no_cell_pids || fail "cell processes outlived the cancel: $(cell_pids)"
	# A second cancel: the job has finished.
	api POST "/v1/jobs/$id/cancel"
	assert_api_error 409 conflict
}

@test "cancel of a job that exits on TERM ends it at once, cancelled" {
	submit '{"command":"echo ready; exec sleep 300"}'
	local id=$job_id
	wait_output "$id" ready
	api POST "/v1/jobs/$id/cancel"
	assert_api_status 200
	wait_job "$id"
	run -0 json_get .status "$job"
	assert_output cancelled
}

@test "SIGTERM to the supervisor drains: a short job finishes, a long one is cancelled after the grace, nothing new is claimed" {
	local sup long short late t0 ended
	sup=$(svc_pid worker)
	submit '{"command":"echo up; sleep 300"}'
	long=$job_id
	submit '{"command":"echo up; sleep 1.5; echo finished"}'
	short=$job_id
	wait_output "$long" up
	wait_output "$short" up

	t0=$(($(date +%s%N) / 1000000))
	kill -TERM "$sup"
	# Submitted during the drain: nobody may claim it.
	submit '{"command":"echo late"}'
	late=$job_id
	wait_job "$short"
	run -0 json_get .status "$job"
	assert_output succeeded
	run -0 output_has "$short" finished
	wait_job "$long"
	run -0 json_get '[.status, .error] | join(",")' "$job"
	assert_output "cancelled,the worker was stopped"
	# It had the configured grace (drain_grace_ms = 3000) before the TERM.
	ended=$(db_query "SELECT finished_at FROM jobs WHERE id = '$long'")
	((ended - t0 >= 3000)) || fail "cancelled $((ended - t0)) ms after the SIGTERM, before the grace"
	wait_for 30 dead "$sup" || fail "the supervisor did not exit after draining"
	run -0 job_status_is "$late" queued
	run -0 grep -c 'draining' "$JOBCELL_STACK_DIR/worker.log"
	no_cell_pids || fail "cells left after the drain: $(cell_pids)"

	respawn worker
	wait_job "$late"
	run -0 json_get .status "$job"
	assert_output succeeded
}

@test "SIGHUP re-reads the config: a new output cap and kill grace apply to the next jobs" {
	local conf sup id
	conf=$(lc_conf)
	sup=$(svc_pid worker)
	# A long grace first: a TERM-ignoring job would outlive this test.
	sed -i 's/^kill_grace_ms = .*/kill_grace_ms = 600000/' "$conf"
	kill -HUP "$sup"
	wait_for 10 grep -q 'kill_grace_ms=600000' "$JOBCELL_STACK_DIR/worker.log" ||
		fail "the reload was not logged"
	{
		echo "[worker]" # the file may end in another section ([storage])
		echo "output_cap = 2048"
		echo "kill_grace_ms = 200"
	} >>"$conf"
	kill -HUP "$sup"
	wait_for 10 grep -q 'kill_grace_ms=200 .*output_cap=2048' "$JOBCELL_STACK_DIR/worker.log" ||
		fail "the reload was not logged: $(tail -n 5 "$JOBCELL_STACK_DIR/worker.log")"
	alive "$sup" || fail "the supervisor died on SIGHUP"

	run_job '{"command":"head -c 10000 /dev/zero | tr \"\\0\" x"}'
	run -0 json_get '[.status, .log_truncated] | map(tostring) | join(",")' "$job"
	assert_output "succeeded,true"
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 stat -c %s "$BATS_TEST_TMPDIR/out"
	assert_output 2048

	submit "$TERM_IGNORING"
	id=$job_id
	wait_output "$id" ready
	api POST "/v1/jobs/$id/cancel"
	assert_api_status 200
	# With the old 600 s grace this would not end within the wait.
	wait_job "$id" 30
	run -0 json_get .status "$job"
	assert_output cancelled
}

@test "SIGHUP with a broken config keeps the running one and the supervisor" {
	local conf sup
	conf=$(lc_conf)
	sup=$(svc_pid worker)
	cp "$conf" "$BATS_TEST_TMPDIR/good.conf"
	echo "kill_grace = 5" >>"$conf"
	kill -HUP "$sup"
	wait_for 10 grep -q "cannot reload the config: .*jobcell.conf:[0-9]*: unknown key 'kill_grace'" \
	    "$JOBCELL_STACK_DIR/worker.log" || fail "no error logged: $(tail -n 5 "$JOBCELL_STACK_DIR/worker.log")"
	alive "$sup" || fail "the supervisor died on a bad config"
	cp "$BATS_TEST_TMPDIR/good.conf" "$conf"
	run_job '{"command":"echo still-working"}'
	run -0 json_get .status "$job"
	assert_output succeeded
}

# worker_count N: the supervisor has N workers and /v1/health says N slots.
worker_count() {
	local n
	n=$(children "$(svc_pid worker)" | wc -l)
	[[ $n == "$1" ]] || return 1
	api GET /v1/health
	[[ $(json_get .workers.slots "$api_body") == "$1" ]]
}

@test "SIGHUP can change the number of slots, both ways" {
	local conf sup
	conf=$(lc_conf)
	sup=$(svc_pid worker)
	wait_for 10 worker_count 2 || fail "expected 2 workers at the start"
	printf '[worker]\nslots = 3\n' >>"$conf" # after the stack's [storage]
	kill -HUP "$sup"
	wait_for 15 worker_count 3 || fail "slots did not grow to 3"
	echo "slots = 1" >>"$conf"
	kill -HUP "$sup"
	wait_for 15 worker_count 1 || fail "slots did not shrink to 1"
	run_job '{"command":"echo one-slot"}'
	run -0 json_get .status "$job"
	assert_output succeeded
	echo "slots = 2" >>"$conf"
	kill -HUP "$sup"
	wait_for 15 worker_count 2 || fail "slots did not come back to 2"
}

@test "SIGHUP to jobcell-api re-reads the config: new [limits] apply to the next submissions" {
	local conf api
	conf=$(lc_conf)
	api=$(svc_pid api)
	cp "$conf" "$BATS_TEST_TMPDIR/good.conf"
	api POST /v1/jobs '{"command":"echo long","timeout":5000}'
	assert_api_error 400 invalid_request
	printf '[limits]\ntimeout_max = 7200\n' >>"$conf"
	kill -HUP "$api"
	wait_for 10 grep -q 'config reloaded: .*timeout_max=7200' "$JOBCELL_STACK_DIR/api.log" ||
		fail "the reload was not logged: $(tail -n 3 "$JOBCELL_STACK_DIR/api.log")"
	run_job '{"command":"echo long","timeout":5000}'
	run -0 json_get '[.status, .limits.timeout] | map(tostring) | join(",")' "$job"
	assert_output "succeeded,5000"
	# A broken file changes nothing and stops nothing.
	echo "timeout_maximum = 1" >>"$conf"
	kill -HUP "$api"
	wait_for 10 grep -q "SIGHUP: cannot reload the config: .*unknown key 'timeout_maximum'" \
	    "$JOBCELL_STACK_DIR/api.log" || fail "no error logged"
	submit '{"command":"echo long","timeout":5000}'
	alive "$api" || fail "jobcell-api died on SIGHUP"
	cp "$BATS_TEST_TMPDIR/good.conf" "$conf"
}
