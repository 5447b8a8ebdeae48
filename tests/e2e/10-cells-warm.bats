#!/usr/bin/env bats
# Warm cells (issue 17, cell/ns_pool.c): each worker keeps one namespace
# cell prepared before its job is claimed. Jobs really run in them, each
# in its own, never two in one; dropping them (reload, drain) leaves
# nothing. This suite's stack has no [storage] data_dir, so a warm cell
# keeps its tmpfs /work; 10-cells-warm-disk.bats runs them with one (the
# job's disk workspace moved onto /work). That warm cells isolate exactly
# like cold ones is shown by 10-cells-escape, whose stack has one.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells
load ../lib/warm

setup_file() {
	export JOBCELL_STACK_NO_DATA=1
	cells_setup_file
}

teardown_file() {
	cells_teardown_file
}

_gone() {
	local p
	for p in "$@"; do
		[[ ! -e /proc/$p ]] || return 1
	done
}

# all_cell_procs: every process of the stack's cell uids, warm cells too.
all_cell_procs() {
	ps -e -o uid= | awk -v lo="$CELLS_UID_BASE" -v hi=$((CELLS_UID_BASE + CELLS_SLOTS)) \
	    '$1 >= lo && $1 < hi { n++ } END { print n + 0 }'
}

_no_procs_at_all() {
	[[ $(all_cell_procs) == 0 ]]
}

@test "a job runs in the warm cell prepared for it, which is then used up" {
	local p users ns
	wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
	users=$(warm_users)
	hostile_cmd 'readlink /proc/self/ns/user'
	assert_job .status succeeded
	ns=$out
	assert_ran_warm "$users" "$ns"
	# The cell that served it is gone; a new one waits in its place.
	for p in $(warm_pids); do
		[[ $(readlink /proc/"$p"/ns/user) != "$ns" ]] ||
			fail "warm cell $p still waits after serving a job"
	done
	assert_host_healthy
}

@test "two jobs never share a cell: each starts empty, alone in its namespaces" {
	local i
	for i in 1 2 3 4 5 6; do
		hostile_cmd 'for f in /tmp/mark /work/mark /dev/shm/mark; do
	[ -e $f ] && echo "found $f"; done
n=$(cat /proc/[0-9]*/comm | grep -c "^sleep$")
touch /tmp/mark /work/mark /dev/shm/mark
(setsid sleep 300 >/dev/null 2>&1 &)
echo "fresh sleeps=$n"'
		assert_job .status succeeded
		# No file and no process of an earlier job.
		assert_equal "$out" "fresh sleeps=0"
	done
	assert_host_healthy
}

@test "two jobs at once get two cells" {
	local a b
	submit "$(cell_body '{"command":"readlink /proc/self/ns/mnt /proc/self/ns/pid; sleep 2","timeout":20}')"
	a=$job_id
	submit "$(cell_body '{"command":"readlink /proc/self/ns/mnt /proc/self/ns/pid; sleep 2","timeout":20}')"
	b=$job_id
	wait_job "$a" 60
	wait_job "$b" 60
	job_output "$a" stdout "$BATS_TEST_TMPDIR/a"
	job_output "$b" stdout "$BATS_TEST_TMPDIR/b"
	run -0 cat "$BATS_TEST_TMPDIR/a"
	[[ $output == mnt:* ]] || fail "job a printed '$output'"
	run -1 grep -Fxf "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_host_healthy
}

@test "a warm cell takes the job's disk size" {
	hostile_cmd 'df -m /work /tmp | awk "NR > 1 { print \$2 }"' '{"disk_mb":12,"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" "12
12"
	assert_host_healthy
}

# warm_cgroup_of PID: the memory (v1) cgroup path of a process.
warm_cgroup_of() {
	awk -F: '$2 == "memory" { print $3 }' /proc/"$1"/cgroup
}

# _has_procs DIR: the cgroup holds a process (its files show size 0).
_has_procs() {
	[[ -n $(cat "$1/cgroup.procs" 2>/dev/null) ]]
}

_warm_cgroup_gone() {
	[[ -z $(find /sys/fs/cgroup -maxdepth 3 -type d -path "*/jobcell/$1" 2>/dev/null) ]]
}

@test "a warm cell waits in a cgroup of its own (v1), which its job gets and its worker's death removes" {
	local p w job cg
	wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
	if [[ ! -d /sys/fs/cgroup/memory/jobcell ]]; then
		# cgroup v2 cannot rename a cgroup: the job's is made when it
		# comes, and an idle warm cell is in none of ours.
		for p in $(warm_pids); do
			run -0 cat /proc/"$p"/cgroup
			[[ $output != *"/jobcell/warm-"* ]] || fail "v2: $output"
		done
		return 0
	fi
	for p in $(warm_pids); do
		w=$(awk '$1 == "PPid:" { print $2 }' /proc/"$p"/status)
		assert_equal "$(warm_cgroup_of "$p")" "/jobcell/warm-$w"
	done
	# A job gets the cell's cgroup under its own name, with its limits.
	submit '{"command":"sleep 30","memory_mb":48,"timeout":40}'
	job=$job_id
	cg=/sys/fs/cgroup/memory/jobcell/$job
	wait_for 20 _has_procs "$cg" || fail "no process in $cg"
	assert_equal "$(cat "$cg/memory.limit_in_bytes")" $((48 * 1024 * 1024))
	api POST "/v1/jobs/$job/cancel"
	wait_job "$job" 40
	# A worker killed with its warm cell waiting: its cgroup goes too.
	wait_for 20 warm_cells_ready || fail "no warm cells after the job"
	p=$(warm_pids | head -1)
	w=$(awk '$1 == "PPid:" { print $2 }' /proc/"$p"/status)
	kill -KILL "$w"
	wait_for 20 _warm_cgroup_gone "warm-$w" ||
		fail "the killed worker's warm cgroup is left: $(find /sys/fs/cgroup -path "*/jobcell/warm-$w")"
	wait_for 20 warm_cells_ready || fail "no warm cells after the restart"
}

@test "reload and drain drop the warm cells and leave nothing" {
	local old new sup
	wait_for 20 warm_cells_ready || fail "no warm cells: $(warm_pids)"
	old=$(warm_pids)
	sup=$(cat "$JOBCELL_STACK_DIR/worker.pid")
	kill -HUP "$sup"
	# shellcheck disable=SC2086 # a list of pids
	wait_for 20 _gone $old || fail "warm cells left after a reload: $old"
	wait_for 20 warm_cells_ready || fail "no warm cells after the reload"
	new=$(warm_pids)
	kill -TERM "$sup"
	# shellcheck disable=SC2086
	wait_for 20 _gone $new || fail "warm cells left after a drain: $new"
	wait_for 10 _no_procs_at_all ||
		fail "$(all_cell_procs) process(es) of the cell uids left"
	wait_for 5 _no_leftover_cgroups ||
		fail "cgroups of finished jobs left: $(leftover_cgroups)"
	"$JOBCELL_SRCDIR/tools/stack" respawn "$JOBCELL_STACK_DIR" worker
}
