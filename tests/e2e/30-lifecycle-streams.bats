#!/usr/bin/env bats
# Live log streams under faults and load: nginx reloaded mid-stream, a
# stream cut and resumed with after=, more followers than allowed, a
# follower that goes away, and the WAL while streams stay open.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/lifecycle

MAX_STREAMS=3

setup_file() {
	lc_stack_start "output_cap = 134217728" "[api]" "max_streams = $MAX_STREAMS"
	new_consumer alice
	jobcell_admin set-quota --name alice --max-concurrent 4 >/dev/null
}

teardown_file() {
	stack_stop
}

teardown() {
	local p
	for p in ${LC_BG_PIDS:-}; do
		kill "$p" 2>/dev/null || true
	done
	LC_BG_PIDS=""
}

bg() {
	LC_BG_PIDS="${LC_BG_PIDS:-} $1"
}

# check_stream FILE N: FILE is a whole follow of a job that printed
# "line 1" .. "line N": stdout data in order, seqs 1.. without a gap or a
# duplicate, and the exit record last.
check_stream() {
	local f=$1 n=$2
	run -0 jq -sj '[.[] | select(.type == "stdout") | .data] | join("")' "$f"
	assert_output "$(seq -f 'line %g' 1 "$n")"
	run -0 jq -s '[.[] | select(.type != "exit") | .seq] | . == [range(1; length + 1)]' "$f"
	assert_output true
	run -0 jq -sc '[.[-1].type, .[-1].status]' "$f"
	assert_output '["exit","succeeded"]'
}

@test "nginx reloaded during a follow: the stream goes on to the exit record, nothing lost or doubled" {
	submit '{"command":"for i in $(seq 1 40); do echo \"line $i\"; sleep 0.05; done"}'
	local id=$job_id f=$BATS_TEST_TMPDIR/follow nginx
	follow_bg "$id" "" "$f"
	local curl_pid=$LC_FOLLOW_PID
	bg "$curl_pid"
	wait_for 20 grep -q '"line 1' "$f" || fail "the follow got nothing: $(cat "$f.err")"
	nginx=$(PATH=$PATH:/usr/sbin:/sbin command -v nginx)
	run -0 "$nginx" -p "$JOBCELL_STACK_DIR" -e "$JOBCELL_STACK_DIR/nginx-error.log" \
	    -c "$JOBCELL_STACK_DIR/nginx.conf" -s reload
	wait_for 60 dead "$curl_pid" || fail "the follow did not end"
	wait "$curl_pid" || fail "curl failed: $(cat "$f.err")"
	check_stream "$f" 40
	# New requests go to the reloaded nginx.
	api GET "/v1/jobs/$id"
	assert_api_status 200
}

@test "a follow cut mid-stream and resumed with after= has no gap and no duplicate" {
	submit '{"command":"for i in $(seq 1 60); do echo \"line $i\"; sleep 0.03; done"}'
	local id=$job_id f=$BATS_TEST_TMPDIR/follow last
	# The client gives up after a second, mid-stream.
	run curl -sS -N --cacert "$JOBCELL_CACERT" --max-time 1 \
	    -H "Authorization: Bearer $JOBCELL_KEY" -o "$f.1" \
	    "$JOBCELL_URL/v1/jobs/$id/logs?follow=1"
	((status == 28)) || fail "expected curl to time out mid-stream (28), got $status"
	ndjson_lines "$f.1" >"$f"
	last=$(jq -s '[.[] | select(.type != "exit") | .seq] | max // 0' "$f")
	((last > 0)) || fail "the first part carried nothing"
	run -0 jq -s '[.[] | select(.type == "exit")] | length' "$f"
	assert_output 0
	api GET "/v1/jobs/$id/logs?follow=1&after=$last"
	assert_api_status 200
	cat "$api_body_file" >>"$f"
	check_stream "$f" 60
}

# stream_status ID: the HTTP status a new follower of ID gets (it waits at
# most 2 s for the headers).
stream_status() {
	curl -s -o /dev/null -D - --max-time 2 --cacert "$JOBCELL_CACERT" \
	    -H "Authorization: Bearer $JOBCELL_KEY" \
	    "$JOBCELL_URL/v1/jobs/$1/logs?follow=1" 2>/dev/null |
		awk '/^HTTP\// { s = $2 } END { print s }'
}

stream_refused() {
	[[ $(stream_status "$1") == 503 ]]
}

stream_accepted() {
	[[ $(stream_status "$1") == 200 ]]
}

@test "past max_streams a follower gets 503 while short requests are answered; a follower that leaves frees its place" {
	submit '{"command":"while :; do echo tick; sleep 0.2; done","timeout":120}'
	local id=$job_id i f pids=()
	wait_output "$id" tick
	for i in $(seq 1 "$MAX_STREAMS"); do
		f=$BATS_TEST_TMPDIR/follow.$i
		follow_bg "$id" "" "$f"
		pids+=("$LC_FOLLOW_PID")
		bg "$LC_FOLLOW_PID"
		wait_for 20 grep -q tick "$f" || fail "follower $i got nothing"
	done
	# One more: refused at once, with the documented error.
	api GET "/v1/jobs/$id/logs?follow=1"
	assert_api_error 503 unavailable
	run -0 api_header retry-after
	# Short requests still get a thread.
	api GET /v1/health
	assert_api_status 200
	api GET "/v1/jobs/$id"
	assert_api_status 200
	run_job '{"command":"echo short"}'
	run -0 json_get .status "$job"
	assert_output succeeded

	# A follower goes away: its place is free again.
	kill "${pids[0]}"
	wait_for 10 stream_accepted "$id" || fail "the stream of a gone follower was never freed"
	# And the bound still holds.
	follow_bg "$id" "" "$BATS_TEST_TMPDIR/follow.again"
	bg "$LC_FOLLOW_PID"
	wait_for 20 grep -q tick "$BATS_TEST_TMPDIR/follow.again" || fail "the new follower got nothing"
	run -0 stream_refused "$id"
	api POST "/v1/jobs/$id/cancel"
	assert_api_status 200
	for i in 1 2; do
		wait_for 20 dead "${pids[$i]}" || fail "follower $i did not end with the job"
	done
}

wal_size() {
	stat -c %s "$JOBCELL_DB-wal" 2>/dev/null || echo 0
}

@test "the WAL stays bounded while streams are open and a job writes 64 MiB" {
	submit '{"command":"while :; do echo tick; sleep 0.02; done","timeout":120}'
	local ticker=$job_id i before after
	wait_output "$ticker" tick
	for i in $(seq 1 "$MAX_STREAMS"); do
		follow_bg "$ticker" "" "$BATS_TEST_TMPDIR/follow.$i"
		bg "$LC_FOLLOW_PID"
		wait_for 20 grep -q tick "$BATS_TEST_TMPDIR/follow.$i" || fail "follower $i got nothing"
	done
	before=$(wal_size)
	run_job '{"command":"head -c 67108864 /dev/zero"}' 120
	run -0 json_get '[.status, .log_bytes] | map(tostring) | join(",")' "$job"
	assert_output "succeeded,67108864"
	after=$(wal_size)
	echo "# WAL ${before} -> ${after} bytes while $MAX_STREAMS streams were open" >&3
	# Without checkpoints the WAL would hold all 64 MiB.
	((after < 16777216)) || fail "the WAL grew to $after bytes while streams were open"
	api POST "/v1/jobs/$ticker/cancel"
	assert_api_status 200
}
