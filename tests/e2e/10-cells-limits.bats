#!/usr/bin/env bats
# Hostile jobs against the cell's limits (DESIGN.md section 5, issue 4):
# fork bomb, memory bombs on the heap and on tmpfs, disk and inode fill,
# output floods, and the cgroup a running job sits in. Every case ends
# with the host healthy: no cell process left, no cgroup of a finished
# job left, the services up, a canary job of another consumer succeeds.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	cells_setup_file
}

teardown_file() {
	cells_teardown_file
}

# _one_child_cgroup CG: CG has exactly one cgroup below it, $child_cg.
_one_child_cgroup() {
	local d=() x
	for x in "$1"/*/; do
		[[ -d $x ]] && d+=("${x%/}")
	done
	((${#d[@]} == 1)) || return 1
	child_cg=${d[0]}
}

# _two_procs FILE: the cgroup.procs FILE lists two processes or more.
_two_procs() {
	(($(grep -c . "$1") >= 2))
}

@test "a running job sits in a cgroup holding its limits, gone after" {
	submit "$(cell_body '{"command":"sleep 60","timeout":30,"memory_mb":100,"pids":50,"cpus":2}')"
	local cg=/sys/fs/cgroup/memory/jobcell/$job_id
	[[ -d /sys/fs/cgroup/memory ]] || cg=/sys/fs/cgroup/jobcell/$job_id
	wait_for 20 test -d "$cg" || fail "no cgroup $cg for the running job"
	# The cell's processes: in the job's cgroup (namespace), or in the
	# cgroup docker's runtime makes for the container below it (docker:
	# jobcell/<job id>/<container id>, the job's cgroup holding the
	# limits over it).
	local procs=$cg/cgroup.procs
	if docker_cells; then
		wait_for 20 _one_child_cgroup "$cg" || fail "no container cgroup below $cg: $(ls "$cg")"
		procs=$child_cg/cgroup.procs
		# Until docker-init runs the job, its process is the runtime's
		# (root, setting the container up): wait for both, init and job.
		wait_for 10 _two_procs "$procs" || fail "docker-init and the job do not run in ${procs%/*}: $(cat "$procs")"
	fi
	wait_for 10 grep -q . "$procs" || fail "nothing runs in ${procs%/*}"
	if [[ -e $cg/memory.limit_in_bytes ]]; then
		run -0 cat "$cg/memory.limit_in_bytes"
		assert_output $((100 * 1024 * 1024))
		if [[ -e $cg/memory.memsw.limit_in_bytes ]]; then
			run -0 cat "$cg/memory.memsw.limit_in_bytes"
			assert_output $((100 * 1024 * 1024))
		fi
		run -0 cat "/sys/fs/cgroup/pids/jobcell/$job_id/pids.max"
		assert_output 51	# the job's 50 and the cell's init
		run -0 cat "/sys/fs/cgroup/cpu/jobcell/$job_id/cpu.cfs_quota_us"
		assert_output 200000
		run -0 cat "/sys/fs/cgroup/cpu/jobcell/$job_id/cpu.cfs_period_us"
		assert_output 100000
	else
		run -0 cat "$cg/memory.max"
		assert_output $((100 * 1024 * 1024))
		run -0 cat "$cg/pids.max"
		assert_output 51
		run -0 cat "$cg/cpu.max"
		assert_output "200000 100000"
	fi
	# Every process of the cell is inside, the host's are not: each runs
	# as a cell uid (real, effective, saved and fs uid; read from status,
	# as /proc/PID of a non-dumpable process, docker-init, is root's).
	local pid u
	while read -r pid; do
		run -0 awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status"
		for u in $output; do
			(( u >= CELLS_UID_BASE && u < CELLS_UID_BASE + CELLS_SLOTS )) ||
				fail "pid $pid in the job's cgroup runs as uid $output"
		done
	done <"$procs"
	if docker_cells; then
		# Nothing of the cell runs beside the container's cgroup.
		run -0 cat "$cg/cgroup.procs"
		assert_output ""
	fi
	api POST "/v1/jobs/$job_id/cancel"
	wait_job "$job_id" 20
	assert_job .status cancelled
	run -1 test -d "$cg"
	assert_host_healthy
}

@test "usage is recorded: cpu_ms and max_rss_kb" {
	hostile_cmd 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; head -c 20000000 /dev/zero | tail -c 1 | wc -c'
	assert_job .status succeeded
	(( $(json_get .usage.cpu_ms "$job") > 0 )) || fail "cpu_ms not recorded: $job"
	(( $(json_get .usage.max_rss_kb "$job") > 0 )) || fail "max_rss_kb not recorded: $job"
	assert_host_healthy
}

# _forks_refused DIR: the kernel refused at least one fork in DIR or a
# cgroup below it because a pids limit was reached (the "max" line of
# pids.events: v1 counts it where the fork was tried, v2 where the limit
# is, both only ever up). forks_refused is the sum seen.
_forks_refused() {
	local f n
	forks_refused=0
	for f in "$1"/pids.events "$1"/*/pids.events; do
		[[ -r $f ]] || continue
		n=$(awk '$1 == "max" { print $2 }' "$f" 2>/dev/null) || continue
		forks_refused=$((forks_refused + ${n:-0}))
	done
	((forks_refused > 0))
}

@test "fork bomb: the kernel stops it at pids, the host is untouched" {
	# The kernel's own counter says the limit stopped the bomb: a sample
	# of pids.current races with the bomb, which fills and collapses
	# between two samples on a fast machine. The job then waits (exec:
	# no fork needed) until the test has read the counter and cancels it.
	submit "$(cell_body '{"command":"bomb() { bomb | bomb & }; bomb; exec sleep 120","timeout":150,"pids":32}')"
	local dir=/sys/fs/cgroup/pids/jobcell/$job_id
	[[ -d /sys/fs/cgroup/pids ]] || dir=/sys/fs/cgroup/jobcell/$job_id
	wait_for 20 test -e "$dir/pids.max" || fail "no pids cgroup $dir for the job"
	run -0 cat "$dir/pids.max"
	assert_output 33	# the job's 32 and the cell's init
	wait_for 60 _forks_refused "$dir" ||
		fail "the kernel refused no fork: the bomb never reached pids.max"
	api GET "/v1/jobs/$job_id"
	[[ $(json_get .status "$api_body") == running ]] ||
		fail "the job ended before its cancel: $api_body"
	api POST "/v1/jobs/$job_id/cancel"
	wait_job "$job_id" 30
	assert_job .status cancelled
	run -1 test -d "$dir"
	assert_host_healthy
}

@test "memory bomb on the heap: OOM-killed, failed, oom_killed" {
	hostile '{"argv":["perl","-e","my @a; push @a, \"x\" x 1048576 while 1"],"memory_mb":32,"timeout":30}'
	assert_job .status failed
	assert_job .oom_killed true
	assert_job .signal 9
	(( $(json_get .usage.max_rss_kb "$job") <= 32 * 1024 )) ||
		fail "max_rss_kb above the 32 MiB limit: $job"
	assert_host_healthy
}

@test "memory bomb on tmpfs: files count against memory too" {
	hostile_cmd 'head -c 200000000 /dev/zero >/tmp/big; echo "rc=$?"' \
	    '{"memory_mb":32,"disk_mb":512,"timeout":30}'
	assert_job .status failed
	assert_job .oom_killed true
	assert_host_healthy
}

@test "disk fill: /work stops at disk_mb, the job goes on" {
	hostile_cmd 'head -c 30000000 /dev/zero >/work/big; echo "rc=$?"
wc -c </work/big
head -c 30000000 /dev/zero >/tmp/big; echo "tmp rc=$?"' '{"disk_mb":8,"timeout":30}'
	assert_job .status succeeded
	[[ $out == rc=* ]] || fail "unexpected output: $out"
	[[ ${out%%$'\n'*} != rc=0 ]] || fail "writing 30 MB into 8 MiB succeeded: $out"
	local size
	size=$(sed -n 2p <<<"$out")
	(( size <= 8 * 1024 * 1024 )) || fail "/work holds $size bytes, disk_mb is 8"
	[[ $out == *"tmp rc="[1-9]* ]] || fail "/tmp was not bounded: $out"
	assert_host_healthy
}

@test "inode fill: /work runs out of inodes, not the host" {
	# 'true' and redirections are builtins: no fork per file (not ':', a
	# special builtin whose failed redirection ends a POSIX shell).
	hostile_cmd 'i=0; while true >"f$i" 2>/dev/null; do i=$((i+1)); [ $i -lt 100000 ] || break; done; echo "files=$i"' \
	    '{"disk_mb":8,"timeout":60}'
	assert_job .status succeeded
	[[ $out == files=* ]] || fail "unexpected output: $out"
	(( ${out#files=} < 100000 )) || fail "100000 files fit into 8 MiB: no inode bound"
	assert_host_healthy
}

@test "output flood (yes): cut at the cap, the job runs to its timeout" {
	hostile_cmd 'yes' '{"timeout":3}'
	assert_job .status timed_out
	assert_job .exit_code 124
	assert_job .log_truncated true
	local n
	n=$(stat -c %s "$BATS_TEST_TMPDIR/stdout")
	(( n <= 1048576 )) || fail "stored $n bytes of stdout, the cap is 1 MiB"
	(( n > 1000 )) || fail "stored only $n bytes"
	assert_host_healthy
}

@test "output flood without newlines: cut at the cap, the job succeeds" {
	hostile_cmd 'head -c 20000000 /dev/zero | tr "\0" x; echo; echo done >&2' '{"timeout":30}'
	assert_job .status succeeded
	assert_job .log_truncated true
	local n
	n=$(stat -c %s "$BATS_TEST_TMPDIR/stdout")
	(( n <= 1048576 )) || fail "stored $n bytes, the cap is 1 MiB"
	assert_host_healthy
}

@test "output flood on stderr: cut at the cap" {
	hostile_cmd 'yes err >&2' '{"timeout":3}'
	assert_job .status timed_out
	assert_job .log_truncated true
	job_output "$job_id" stderr "$BATS_TEST_TMPDIR/stderr"
	local n
	n=$(stat -c %s "$BATS_TEST_TMPDIR/stderr")
	# The cap, plus the note saying so (stored on stderr).
	(( n <= 1048576 + 256 )) || fail "stored $n bytes of stderr, the cap is 1 MiB"
	run -0 tail -c 200 "$BATS_TEST_TMPDIR/stderr"
	assert_output --partial "output cap reached"
	assert_host_healthy
}

@test "resource limits: no core files, a bounded fd table, file size" {
	hostile_cmd 'ulimit -c; ulimit -Hc; ulimit -n; ulimit -Hn; ulimit -f' '{"disk_mb":8,"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" "0
0
1024
1024
16384"
	assert_host_healthy
}
