#!/usr/bin/env bats
# The cell as job code sees it (DESIGN.md section 5): no host secrets, not
# root, no capabilities, no network but loopback, its own process tree, a
# read-only host view with a writable /work and /tmp. Runs once per backend:
# tests/e2e/11-docker-cell.bats is this file for the docker sandbox
# (tests/lib/cells.bash).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	cells_stack_start || return 1
	[[ -z ${CELLS_SKIP:-} ]] || return 0
	new_consumer alice
	# Something in the host's /root for the cell not to see.
	ROOT_MARKER=$(mktemp /root/.jobcell-e2e-marker.XXXXXX)
	echo "host secret" >"$ROOT_MARKER"
	export ROOT_MARKER
}

teardown_file() {
	[[ -z ${ROOT_MARKER:-} ]] || rm -f -- "$ROOT_MARKER"
	cells_teardown_file
}

# cell_run COMMAND: run COMMAND in a cell of the suite's backend, expect
# succeeded; its stdout is in $output.
cell_run() {
	local body
	body=$(jq -cn --arg c "$1" --arg sb "$CELLS_BACKEND" \
	    '{command: $c, timeout: 20, sandbox: $sb}')
	run_job "$body" 40
	assert_equal "$(json_get .sandbox "$job")" "$CELLS_BACKEND"
	local status
	status=$(json_get .status "$job")
	[[ $status == succeeded ]] ||
		fail "cell command '$1' ended $status: $job"
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
}

@test "the job cannot see the database nor the stack directory" {
	cell_run "if cat '$JOBCELL_DB' >/dev/null 2>&1; then echo db-readable; else echo db-hidden; fi
if ls '$JOBCELL_STACK_DIR' >/dev/null 2>&1; then echo dir-visible; else echo dir-hidden; fi
if [ -e '$JOBCELL_STACK_DIR/api.sock' ]; then echo sock-visible; else echo sock-hidden; fi"
	assert_output "db-hidden
dir-hidden
sock-hidden"
}

@test "the job cannot read /root" {
	cell_run "if cat '$ROOT_MARKER' 2>/dev/null; then :; else echo marker-hidden; fi
ls -A /root 2>/dev/null | grep -c . || true"
	assert_output "marker-hidden
0"
}

@test "the job is not root and holds no capabilities" {
	cell_run 'id -u; grep -E "^(CapEff|CapPrm|CapAmb|NoNewPrivs):" /proc/self/status'
	assert_line --index 0 --regexp '^[0-9]+$'
	refute_line --index 0 0
	assert_line --regexp '^CapEff:[[:space:]]+0+$'
	assert_line --regexp '^CapPrm:[[:space:]]+0+$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
}

@test "the job has no network but loopback" {
	cell_run "awk 'NR > 2 { sub(\":\", \"\", \$1); print \$1 }' /proc/net/dev"
	assert_output lo
}

@test "the job sees its own process tree only" {
	cell_run 'ls /proc | grep -cE "^[0-9]+$"'
	(( output < 10 )) || fail "the cell sees $output processes"
}

@test "processes the job leaves behind end with it" {
	local t0=$SECONDS
	cell_run 'sleep 300 & echo started'
	assert_output started
	(( SECONDS - t0 < 15 )) || fail "the job took $((SECONDS - t0))s: a background child kept it alive"
}

@test "the host is read-only; /work (the cwd) and /tmp are writable" {
	cell_run 'pwd
if touch /usr/jobcell-e2e 2>/dev/null; then echo usr-writable; else echo usr-ro; fi
if touch /etc/jobcell-e2e 2>/dev/null; then echo etc-writable; else echo etc-ro; fi
echo w >/work/f && cat /work/f
echo t >/tmp/f && cat /tmp/f'
	assert_output "/work
usr-ro
etc-ro
w
t"
	run -1 test -e /usr/jobcell-e2e
}

@test "one job's files are not visible to the next" {
	cell_run 'echo leftover >/work/left; echo leftover >/tmp/left; echo ok'
	cell_run 'ls /work/left /tmp/left 2>/dev/null | wc -l'
	assert_output 0
}

@test "files with binary content and the executable bit land in the tmpfs /work" {
	run_job "$(cell_body '{"command":"./run.sh; od -An -tx1 b.bin; stat -c %a run.sh b.bin t.txt; df -P /work | tail -1 | cut -d\" \" -f1","timeout":20,"files":{"run.sh":{"content":"#!/bin/sh\necho run.sh ran\n","executable":true},"b.bin":{"content":"AAH/gA==","encoding":"base64"},"t.txt":{"content":"text","encoding":"utf-8"}}}')" 40
	[[ $(json_get .status "$job") == succeeded ]] || fail "job: $job"
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output "run.sh ran
 00 01 ff 80
755
644
644
tmpfs"
}

@test "without a data directory, a job with inputs is refused naming 'inputs'" {
	# This stack has no [storage] data_dir (tools/stack's default config).
	[[ ! -e $JOBCELL_STACK_DIR/jobcell.conf ]] ||
		! grep -q '^data_dir' "$JOBCELL_STACK_DIR/jobcell.conf" ||
		skip_because "the stack has a data dir"
	api POST /v1/jobs "$(cell_body "{\"command\":\"true\",\"inputs\":[{\"blob\":\"sha256:$(printf '%064d' 0)\"}]}")"
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial "'inputs'"
	assert_output --partial "data_dir"
}
