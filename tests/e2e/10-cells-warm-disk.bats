#!/usr/bin/env bats
# Warm cells with the stack's data directory (issue 17): a job with a disk
# workspace (inputs, files) and a code job (a compile step, then the run)
# take the warm cell prepared for them: the workspace's mount is sent
# with the job and moved onto /work in the cell (cell/ns_pool.c), and the
# workspace itself was made ahead by the worker's pool helper
# (cell/workspace_pool.c). disk_mb still holds there, and nothing of one
# job's workspace reaches the next. 10-cells-warm.bats covers warm cells
# without a data directory (a tmpfs /work).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells
load ../lib/warm
load ../lib/blobs

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/runtimes.d"
	cp "$JOBCELL_SRCDIR"/etc/runtimes.d/*.ini "$BATS_FILE_TMPDIR/runtimes.d/"
	cells_setup_file "runtimes_dir = $BATS_FILE_TMPDIR/runtimes.d" || return 1
	[[ -z ${CELLS_SKIP:-} ]] || return 0
	wait_for 60 runtimes_offered c || return 1
}

teardown_file() {
	cells_teardown_file
}

@test "a job with files and an input runs in a warm cell, its /work the disk workspace" {
	local users ns tar=$BATS_TEST_TMPDIR/in.tar
	mkdir -p "$BATS_TEST_TMPDIR/src"
	printf 'from the tar\n' >"$BATS_TEST_TMPDIR/src/t.txt"
	tar -C "$BATS_TEST_TMPDIR/src" -cf "$tar" t.txt
	upload "$tar"
	[[ $api_status == 20[01] ]] || fail "upload: $api_status"
	wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
	users=$(warm_users)
	hostile "$(jq -cn --arg b "sha256:$(sha_of "$tar")" '{
	    command: "readlink /proc/self/ns/user; stat -f -c %T /work; cat in/t.txt f.txt; pwd",
	    timeout: 20, files: {"f.txt": "a file\n"}, inputs: [{blob: $b, path: "in"}]}')"
	assert_job .status succeeded
	ns=$(head -1 <<<"$out")
	assert_ran_warm "$users" "$ns"
	assert_equal "$(tail -n +2 <<<"$out")" "ext2/ext3
from the tar
a file
/work"
	assert_host_healthy
}

@test "a C code job is compiled and run in a warm cell" {
	local users ns
	wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
	users=$(warm_users)
	printf '%s' $'#include <stdio.h>\n#include <unistd.h>\nint main(void) { char b[256]; ssize_t n = readlink("/proc/self/ns/user", b, sizeof b - 1); if (n < 0) return 9; b[n] = 0; puts(b); return 3; }' >"$BATS_TEST_TMPDIR/code"
	hostile "$(jq -cn --rawfile code "$BATS_TEST_TMPDIR/code" '{runtime: "c", code: $code, timeout: 30}')" 90
	assert_job .status failed
	assert_job .exit_code 3
	assert_job .compile.exit_code 0
	ns=$out
	assert_ran_warm "$users" "$ns"
	assert_host_healthy
}

@test "disk_mb holds in a warm cell: writing past it fails with ENOSPC" {
	local users ns
	wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
	users=$(warm_users)
	hostile_cmd 'readlink /proc/self/ns/user
dd if=/dev/zero of=/work/big bs=1M count=64 2>&1 | grep -o "No space left on device" | head -1
echo size=$(df -m /work | awk "NR > 1 { print \$2 }")' '{"disk_mb":16,"timeout":30}'
	assert_job .status succeeded
	ns=$(head -1 <<<"$out")
	assert_ran_warm "$users" "$ns"
	assert_equal "$(sed -n 2p <<<"$out")" "No space left on device"
	local size
	size=$(sed -n 's/^size=//p' <<<"$out")
	((size > 0 && size <= 16)) || fail "/work is $size MiB, disk_mb was 16: $out"
	assert_host_healthy
}

@test "nothing of one job's workspace reaches the next (warm cells, pooled workspaces)" {
	local i users ns
	for i in 1 2 3 4 5 6; do
		wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
		users=$(warm_users)
		hostile_cmd 'readlink /proc/self/ns/user
ls -A /work
echo secret-'"$i"' >/work/mark; mkdir /work/d; touch /work/d/x' '{"timeout":20,"files":{"g.txt":"x"}}'
		assert_job .status succeeded
		ns=$(head -1 <<<"$out")
		assert_ran_warm "$users" "$ns"
		# Only this job's own file.
		assert_equal "$(tail -n +2 <<<"$out")" "g.txt"
	done
	assert_host_healthy
}

_stopped() {
	[[ ! -e /proc/$1 ]]
}

@test "a drain leaves no workspace, mount or loop device behind" {
	local sup
	wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
	# A spare workspace is made ahead of the next job: it is there now.
	wait_for 20 grep -q -F " $(data_dir)/work/pool-" /proc/self/mountinfo ||
		fail "no pooled workspace: $(ls "$(data_dir)/work")"
	sup=$(cat "$JOBCELL_STACK_DIR/worker.pid")
	kill -TERM "$sup"
	wait_for 30 _stopped "$sup" || fail "the worker did not stop"
	run -1 grep -F " $(data_dir)/work/" /proc/self/mountinfo
	run -1 grep -F "$(data_dir)/work/" < <(losetup -l -n -O BACK-FILE)
	run -0 ls -A "$(data_dir)/work"
	assert_output ""
}
