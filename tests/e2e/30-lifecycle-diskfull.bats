#!/usr/bin/env bats
# The disk under the database full: submissions answer 503 with
# Retry-After, nothing is half-written, and once space is back every
# accepted job runs and the running one ends. The whole stack folder lives
# on a small tmpfs mounted here.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/lifecycle

setup_file() {
	((EUID == 0)) || skip_because "root (to mount a tmpfs)"
	LC_STACK_DIR=$(mktemp -d /tmp/jobcell-e2e.XXXXXX)
	mount -t tmpfs -o size=48m,mode=0700 jobcell-e2e "$LC_STACK_DIR" ||
		skip_because "mount -t tmpfs (not permitted here)"
	export LC_STACK_DIR
	lc_stack_start
	new_consumer alice
}

teardown_file() {
	rm -f "$LC_STACK_DIR/fill"
	stack_stop
	if mountpoint -q "$LC_STACK_DIR"; then
		umount "$LC_STACK_DIR"
	fi
	rm -rf -- "$LC_STACK_DIR"
}

# fill_disk: fills the stack's tmpfs up to the last block.
fill_disk() {
	dd if=/dev/zero of="$LC_STACK_DIR/fill" bs=64k 2>/dev/null || true
	run -0 df --output=avail -B1 "$LC_STACK_DIR"
	[[ ${lines[1]// /} == 0 ]] || fail "the tmpfs is not full: ${lines[1]}"
}

@test "a full disk: submissions get 503 with Retry-After, accepted jobs are whole, all runs on once space is back" {
	local big i id ids=() got503=0 since
	since=$(($(date +%s%N) / 1000000))
	submit '{"command":"echo before; sleep 2; i=0; while [ $i -lt 50 ]; do echo line $i; i=$((i + 1)); done"}'
	local running=$job_id
	wait_output "$running" before
	fill_disk
	local api_pid
	api_pid=$(svc_pid api)

	# Half a MiB of stdin per job: the log (WAL) needs room at once.
	big=$(head -c 393216 /dev/zero | tr '\0' x)
	for i in $(seq 1 40); do
		api POST /v1/jobs "{\"command\":\"cat | wc -c\",\"stdin\":\"$big\",\"name\":\"n$i\"}"
		case $api_status in
		201) ids+=("$(json_get .id "$api_body")") ;;
		503)
			assert_api_error 503 unavailable
			run -0 api_header retry-after
			assert_output --regexp '^[0-9]+$'
	# The API answered (not nginx for a crashed API).
	run -0 json_get .error.message "$api_body"
	assert_output --partial 'disk space'
	alive "$api_pid" || fail "jobcell-api died"
			got503=1
			break
			;;
		*) fail "submission $i: HTTP $api_status: $api_body" ;;
		esac
	done
	((got503)) || fail "40 submissions of 384 KiB each on a full disk were all accepted"
	echo "# ${#ids[@]} submission(s) accepted on the full disk before the first 503" >&3
	# Reads work on a full disk.
	api GET "/v1/jobs/$running"
	assert_api_status 200

	rm -f "$LC_STACK_DIR/fill"
	run -0 db_query "PRAGMA integrity_check"
	assert_output ok
	# Every stored job is whole; only the ones that got a 201 are there.
	run -0 db_query "SELECT COUNT(*) FROM jobs WHERE created_at >= $since
	    AND (json_valid(spec) = 0 OR (name IS NOT NULL AND LENGTH(stdin) != 393216))"
	assert_output 0
	run -0 db_query "SELECT COUNT(*) FROM jobs WHERE created_at >= $since AND name IS NOT NULL"
	assert_output "${#ids[@]}"

	wait_job "$running" 60
	run -0 json_get .status "$job"
	assert_output succeeded
	run -0 logs_consistent "$running"
	job_output "$running" stdout "$BATS_TEST_TMPDIR/out"
	{ echo before; seq -f 'line %g' 0 49; } >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
	for id in "${ids[@]}"; do
		wait_job "$id" 60
		run -0 json_get .status "$job"
		assert_output succeeded
		job_output "$id" stdout "$BATS_TEST_TMPDIR/out"
		run -0 cat "$BATS_TEST_TMPDIR/out"
		assert_output 393216
	done
	run_job '{"command":"echo again"}'
	run -0 json_get .status "$job"
	assert_output succeeded
}
