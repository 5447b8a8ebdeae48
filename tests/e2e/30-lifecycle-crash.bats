#!/usr/bin/env bats
# Crashes: a worker, the supervisor or jobcell-api killed with SIGKILL at a
# bad moment. Afterwards no cell process is left, every job the dead
# process held ends "error" (worker lost), and every job a client was
# told was accepted (201) is stored whole and runs, exactly once.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/lifecycle

setup_file() {
	# The 100 MB job must still be writing when its worker dies: the
	# output cap must not end the storing early.
	lc_stack_start "output_cap = 268435456"
	new_consumer alice
}

teardown_file() {
	stack_stop
}

teardown() {
	# A test that failed half-way must not leave a supervisor down.
	if ! alive "$(svc_pid worker)"; then
		respawn worker
	fi
	if ! alive "$(svc_pid api)"; then
		respawn api
	fi
}

@test "a worker killed mid-job: its cell dies, the job ends 'worker lost', a new worker runs the next job" {
	submit '{"command":"echo started; sleep 300"}'
	local id=$job_id wpid
	wait_output "$id" started
	wpid=$(job_worker "$id")
	[[ $wpid =~ ^[0-9]+$ ]] || fail "no worker recorded for $id: '$wpid'"
	some_cell_pids || fail "the running job has no process with a cell uid"

	kill9 "$wpid"
	# The lease is the bound the design promises.
	wait_job "$id" 15
	run -0 json_get '[.status, .error] | join(",")' "$job"
	assert_output "error,worker lost"
	wait_for 10 no_cell_pids || fail "cell processes survived their worker: $(cell_pids)"

	run_job '{"command":"echo next"}'
	run -0 json_get .status "$job"
	assert_output succeeded
	[[ $(job_worker "$job_id") != "$wpid" ]] || fail "the dead worker ran the job"
	run -0 output_has "$job_id" next
}

@test "a hung worker (SIGSTOP) loses its lease: it is killed with its cell, the job ends 'worker lost', a new worker takes the slot" {
	submit '{"command":"echo started; sleep 300"}'
	local id=$job_id wpid
	wait_output "$id" started
	wpid=$(job_worker "$id")
	kill -STOP "$wpid"
	# The lease (15 s) runs out, the sweep (every 5 s) finds it.
	wait_job "$id" 30
	run -0 json_get '[.status, .error] | join(",")' "$job"
	assert_output "error,worker lost"
	wait_for 10 dead "$wpid" || fail "the hung worker $wpid was not killed"
	wait_for 10 no_cell_pids || fail "the hung worker's cell survived: $(cell_pids)"
	run -0 grep -c "worker $wpid let a job's lease expire, killing it" "$JOBCELL_STACK_DIR/worker.log"
	run_job '{"command":"echo next"}'
	run -0 json_get .status "$job"
	assert_output succeeded
}

@test "a worker killed while storing 100 MB of output: stored output is an exact prefix, chunks have no gap" {
	# 100 blocks of 1 MiB of 16-byte lines, paced so that the kill lands
	# while output is still flowing.
	submit '{"command":"yes abcdefghijklmno | head -c 1048576 > /tmp/blk; i=0; while [ $i -lt 100 ]; do cat /tmp/blk; sleep 0.02; i=$((i + 1)); done; echo done >&2; sleep 300"}'
	local id=$job_id wpid bytes
	bytes_stored() {
		bytes=$(db_query "SELECT log_bytes FROM jobs WHERE id = '$id'")
		((bytes >= 8 * 1048576))
	}
	wait_for 60 bytes_stored || fail "the job stored only $bytes bytes"
	wpid=$(job_worker "$id")
	kill9 "$wpid"
	bytes=$(db_query "SELECT log_bytes FROM jobs WHERE id = '$id'")
	((bytes < 100 * 1048576)) ||
		fail "all 100 MiB were stored before the kill; the test did not test"

	wait_job "$id" 15
	run -0 json_get '[.status, .error] | join(",")' "$job"
	assert_output "error,worker lost"
	wait_for 10 no_cell_pids || fail "cell processes survived their worker: $(cell_pids)"
	run -0 logs_consistent "$id"
	job_output "$id" stdout "$BATS_TEST_TMPDIR/out"
	bytes=$(stat -c %s "$BATS_TEST_TMPDIR/out")
	((bytes > 0)) || fail "nothing stored"
	run -0 json_get .log_bytes "$job"
	assert_output "$bytes"
	yes abcdefghijklmno | head -c "$bytes" >"$BATS_TEST_TMPDIR/want"
	run -0 cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "the supervisor killed: every cell and worker dies with it; on restart its jobs end 'worker lost' and queued jobs run exactly once" {
	local sup ids=() queued=() w id
	sup=$(svc_pid worker)
	submit '{"command":"echo started; sleep 300"}'
	ids+=("$job_id")
	submit '{"command":"echo started; sleep 300"}'
	ids+=("$job_id")
	for id in "${ids[@]}"; do
		wait_output "$id" started
	done
	for w in 1 2 3; do
		submit "{\"command\":\"echo once-$w\"}"
		queued+=("$job_id")
	done
	run -0 job_status_is "${queued[0]}" queued
	mapfile -t workers < <(children "$sup")
	((${#workers[@]} == 2)) || fail "expected 2 workers, found: ${workers[*]}"

	kill9 "$sup"
	for w in "${workers[@]}"; do
		wait_for 10 dead "$w" || fail "worker $w outlived its supervisor"
	done
	wait_for 10 no_cell_pids || fail "cells outlived the supervisor: $(cell_pids)"
	# Submitted while no supervisor runs: queued, run after the restart.
	submit '{"command":"echo once-4"}'
	queued+=("$job_id")

	respawn worker
	for id in "${ids[@]}"; do
		wait_job "$id" 15
		run -0 json_get '[.status, .error] | join(",")' "$job"
		assert_output "error,worker lost"
	done
	w=1
	for id in "${queued[@]}"; do
		wait_job "$id"
		run -0 json_get .status "$job"
		assert_output succeeded
		job_output "$id" stdout "$BATS_TEST_TMPDIR/out"
		run -0 cat "$BATS_TEST_TMPDIR/out"
		assert_output "once-$w"
		run -0 logs_consistent "$id"
		w=$((w + 1))
	done
	run -0 db_query "SELECT COUNT(*) FROM jobs WHERE status IN ('running', 'queued')"
	assert_output 0
}

# job_cgroups ID: the job's cgroup directories, one a line.
job_cgroups() {
	find /sys/fs/cgroup -mindepth 2 -maxdepth 4 -type d -name "$1" -path '*/jobcell/*' 2>/dev/null
}

@test "a process left in a job's cgroup when the supervisor died is killed at the next start, before any work" {
	submit '{"command":"echo started; sleep 300"}'
	local id=$job_id sup dirs stray d
	wait_output "$id" started
	mapfile -t dirs < <(job_cgroups "$id")
	((${#dirs[@]} > 0)) || skip_because "the job has no cgroup (cgroups not usable here)"
	# A stand-in for a process that escaped the cell's pid namespace: it
	# does not die with the worker, but sits in the job's cgroup.
	sleep 1000 3>&- &
	stray=$!
	for d in "${dirs[@]}"; do
		echo "$stray" >"$d/cgroup.procs"
	done
	sup=$(svc_pid worker)
	kill9 "$sup"
	wait_for 10 no_cell_pids || fail "cells outlived the supervisor: $(cell_pids)"
	alive "$stray" || fail "the stand-in died with the cell; the test tests nothing"

	respawn worker
	wait_for 15 dead "$stray" || { kill -KILL "$stray"; fail "the leftover process was not killed"; }
	wait "$stray" 2>/dev/null || true
	run -0 job_cgroups "$id"
	assert_output ""
	run -0 grep -c "job=$id: killed 1 process(es) left from a previous run" "$JOBCELL_STACK_DIR/worker.log"
	wait_job "$id" 15
	run -0 json_get '[.status, .error] | join(",")' "$job"
	assert_output "error,worker lost"
}

# submitter N OUT: POST jobs that echo "N-i" until killed; appends "N-i ID"
# to OUT for every 201 and "N-i ?" for any other answer.
submitter() {
	local n=$1 out=$2 i=0 code
	while :; do
		i=$((i + 1))
		code=$(curl -s -o "$out.$n.body" -w '%{http_code}' --max-time 20 \
		    --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
		    -H 'Content-Type: application/json' \
		    --data-binary "{\"command\":\"echo $n-$i\"}" \
		    "$JOBCELL_URL/v1/jobs") || code=000
		if [[ $code == 201 ]]; then
			echo "$n-$i $(jq -r .id "$out.$n.body")" >>"$out"
		else
			echo "$n-$i ?" >>"$out"
		fi
	done
}

count_201() {
	grep -vc ' ?$' "$1" || true
}

@test "jobcell-api killed under a stream of submissions, 20 times: every 201 is stored whole and runs" {
	local out=$BATS_TEST_TMPDIR/submitted round before pids=() p api since
	: >"$out"
	since=$(($(date +%s%N) / 1000000))
	for p in 1 2 3; do
		submitter "$p" "$out" 3>&- &
		pids+=($!)
	done
	more_201s() {
		(($(count_201 "$out") > before))
	}
	for round in $(seq 1 20); do
		before=$(count_201 "$out")
		wait_for 30 more_201s || fail "round $round: no submission got a 201"
		api=$(svc_pid api)
		kill9 "$api"
		respawn api
	done
	kill "${pids[@]}"
	wait "${pids[@]}" 2>/dev/null || true
	# A submitter killed between the 201 and its echo leaves no line:
	# fine, the line is what a client would have known.
	local n201 nall marker id
	n201=$(count_201 "$out")
	nall=$(db_query "SELECT COUNT(*) FROM jobs WHERE created_at >= $since")
	((n201 >= 20)) || fail "only $n201 submissions got a 201"
	((nall >= n201)) || fail "$n201 jobs got a 201, but the database holds $nall"
	run -0 db_query "PRAGMA integrity_check"
	assert_output ok
	# No half-written row: every stored job has a readable spec.
	run -0 db_query "SELECT COUNT(*) FROM jobs WHERE json_valid(spec) = 0
	    OR json_extract(spec, '$.argv[0]') IS NULL"
	assert_output 0
	while read -r marker id; do
		[[ $id != '?' ]] || continue
		wait_job "$id" 60
		run -0 json_get .status "$job"
		assert_output succeeded
		job_output "$id" stdout "$BATS_TEST_TMPDIR/out1"
		run -0 cat "$BATS_TEST_TMPDIR/out1"
		assert_output "$marker"
	done <"$out"
	# Jobs whose answer was lost (committed, then the API died) run too.
	wait_for 60 all_jobs_final || fail "jobs left unfinished: $(db_query "SELECT id, status FROM jobs WHERE status IN ('queued', 'running')")"
	run -0 db_query "SELECT COUNT(*) FROM jobs WHERE created_at >= $since
	    AND status != 'succeeded'"
	assert_output 0
	echo "# $n201 of $(wc -l <"$out") submissions got a 201; $nall jobs stored" >&3
}

all_jobs_final() {
	[[ $(db_query "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')") == 0 ]]
}
