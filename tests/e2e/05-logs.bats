#!/usr/bin/env bats
# Logs: paged reads come back complete, in order, without gaps or
# duplicates; follow streams NDJSON to the exit line.

bats_require_minimum_version 1.5.0

load ../lib/common

setup_file() {
	stack_start
	new_consumer alice
}

teardown_file() {
	stack_stop
}

# read_all_logs ID LIMIT: page through the logs of a finished job; writes
# each stream's concatenated data to $BATS_TEST_TMPDIR/{stdout,stderr}.log
# and checks every page as it goes.
read_all_logs() {
	local id=$1 limit=$2 after=0 pages=0 n first last next complete ok
	: >"$BATS_TEST_TMPDIR/stdout.log"
	: >"$BATS_TEST_TMPDIR/stderr.log"
	while :; do
		((pages++ < 10000)) || fail "more than 10000 pages"
		api GET "/v1/jobs/$id/logs?after=$after&limit=$limit"
		assert_api_status 200
		# One jq per page: count, first and last seq, next_after,
		# complete, and whether seqs are consecutive and streams known.
		read -r n first last next complete ok < <(jq -r '[
		    (.entries | length),
		    (.entries[0].seq // "-"), (.entries[-1].seq // "-"),
		    .next_after, .complete,
		    ([.entries[].seq] == [range(.entries[0].seq // 0;
			(.entries[0].seq // 0) + (.entries | length))]
		     and ([.entries[].stream] - ["stdout", "stderr"] == []))
		    ] | map(tostring) | join(" ")' "$api_body_file") ||
			fail "logs page is not the documented JSON: $api_body"
		((n <= limit)) || fail "page after $after has $n entries, limit $limit"
		if ((n == 0)); then
			[[ $complete == true ]] ||
				fail "empty page after $after but complete=$complete"
			[[ $next == "$after" ]] ||
				fail "empty page moved next_after from $after to $next"
			break
		fi
		# Sequence numbers continue exactly where the last page ended.
		[[ $first == $((after + 1)) ]] ||
			fail "page after $after starts at seq $first"
		[[ $ok == true ]] ||
			fail "seqs not consecutive or unknown stream after $after: $api_body"
		[[ $next == "$last" ]] || fail "next_after $next, last seq $last"
		jq -j '.entries[] | select(.stream == "stdout") | .data' "$api_body_file" \
		    >>"$BATS_TEST_TMPDIR/stdout.log"
		jq -j '.entries[] | select(.stream == "stderr") | .data' "$api_body_file" \
		    >>"$BATS_TEST_TMPDIR/stderr.log"
		after=$last
	done
	log_pages=$pages
}

@test "2000 lines read back in pages: in order, no gap, all there" {
	# Short pauses so the output arrives as many log entries, not one.
	run_job '{"command":"i=1; while [ $i -le 2000 ]; do echo \"line $i\"; if [ $((i % 20)) -eq 0 ]; then sleep 0.01; fi; i=$((i + 1)); done"}' 60
	run -0 json_get .status "$job"
	assert_output succeeded
	seq -f 'line %g' 1 2000 >"$BATS_TEST_TMPDIR/want"
	local limit
	for limit in 100 7; do
		read_all_logs "$job_id" "$limit"
		run -0 cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/stdout.log"
		run -0 cmp /dev/null "$BATS_TEST_TMPDIR/stderr.log"
	done
	# The logs and the stored output agree.
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "a page is cut by bytes, not only entries: next_after goes on and every byte comes back once" {
	# 4 MiB of \x01: each byte is six in JSON (\u0001), so a page of all
	# its entries (64 of 64 KiB, under the limit of 1000) would be 24 MiB.
	run_job '{"command":"head -c 4194304 /dev/zero | tr \"\\\\000\" \"\\\\001\""}' 60
	run -0 json_get '[.status, .log_bytes] | map(tostring) | join(",")' "$job"
	assert_output succeeded,4194304
	api GET "/v1/jobs/$job_id/logs?limit=1000"
	assert_api_status 200
	run -0 json_get '[.complete, (.entries | length) < 64, .next_after == .entries[-1].seq] | map(tostring) | join(",")' "$api_body"
	assert_output false,true,true
	local size
	size=$(stat -c %s "$api_body_file")
	# The page bound (1 MiB of JSON) plus at most one entry past it.
	((size <= 1572864)) || fail "a page of $size bytes"
	head -c 4194304 /dev/zero | tr '\000' '\001' >"$BATS_TEST_TMPDIR/want"
	read_all_logs "$job_id" 1000
	((log_pages > 2)) || fail "only $log_pages pages"
	run -0 cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/stdout.log"
}

@test "interleaved stdout and stderr keep one sequence across both streams" {
	run_job '{"command":"for i in $(seq 1 400); do echo \"o$i\"; echo \"e$i\" >&2; done"}' 60
	run -0 json_get .status "$job"
	assert_output succeeded
	read_all_logs "$job_id" 7
	seq -f 'o%g' 1 400 >"$BATS_TEST_TMPDIR/want-out"
	seq -f 'e%g' 1 400 >"$BATS_TEST_TMPDIR/want-err"
	run -0 cmp "$BATS_TEST_TMPDIR/want-out" "$BATS_TEST_TMPDIR/stdout.log"
	run -0 cmp "$BATS_TEST_TMPDIR/want-err" "$BATS_TEST_TMPDIR/stderr.log"
}

@test "log entries carry seq, stream, data and ts" {
	run_job '{"command":"echo one"}'
	api GET "/v1/jobs/$job_id/logs"
	assert_api_status 200
	run -0 json_get '.entries[0] | [(.seq | type), .stream, (.data | @json), (.ts | type)] | join(",")' "$api_body"
	assert_output 'number,stdout,"one\n",string'
	run -0 json_get .complete "$api_body"
	assert_output true
}

@test "log data is lossy UTF-8: invalid bytes become U+FFFD" {
	run_job '{"command":"printf '"'"'a\\377b\\n'"'"'"}'
	api GET "/v1/jobs/$job_id/logs"
	assert_api_status 200
	run -0 json_get '[.entries[].data] | join("")' "$api_body"
	assert_output $'a\xef\xbf\xbdb'
}

@test "follow streams NDJSON as the job runs and ends with the exit line" {
	submit '{"command":"for i in 1 2 3; do echo \"tick $i\"; sleep 0.3; done; exit 3"}'
	api GET "/v1/jobs/$job_id/logs?follow=1"
	assert_api_status 200
	run -0 api_header content-type
	assert_output --regexp '^application/x-ndjson'
	# Every line is one JSON object.
	run -0 jq -sc 'map(type) | unique' "$api_body_file"
	assert_output '["object"]'
	run -0 jq -sj '[.[] | select(.type == "stdout") | .data] | join("")' "$api_body_file"
	assert_output $'tick 1\ntick 2\ntick 3'
	run -0 jq -sc '.[-1] | {type, status, exit_code, timed_out}' "$api_body_file"
	assert_output '{"type":"exit","status":"failed","exit_code":3,"timed_out":false}'
	run -0 jq -s '[.[] | select(.type != "exit") | .seq] | . == [range(1; length + 1)]' "$api_body_file"
	assert_output true
}

@test "follow on a finished job replays it and ends; after= resumes" {
	run_job '{"command":"echo a; echo b; echo c"}'
	api GET "/v1/jobs/$job_id/logs?follow=1"
	assert_api_status 200
	run -0 jq -sc '.[-1].type' "$api_body_file"
	assert_output '"exit"'
	api GET "/v1/jobs/$job_id/logs?after=0&limit=200"
	local last
	last=$(json_get .next_after "$api_body")
	api GET "/v1/jobs/$job_id/logs?follow=1&after=$last"
	assert_api_status 200
	run -0 jq -sc '[.[].type]' "$api_body_file"
	assert_output '["exit"]'
}
