#!/usr/bin/env bats
# The docker sandbox (DESIGN.md section 5, issue 7) against a real, private
# dockerd started here (tests/lib/docker.bash) with a busybox image made by
# `docker import`: the cell contract cases for both backends, then what is
# docker's own: the container's settings, nothing left behind, the daemon
# going away before and during a job.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/docker

setup_file() {
	docker_suite_setup || return 1
	[[ -z ${DOCKER_SKIP:-} ]] || return 0
	# Cells' uids of this stack only; networked jobs allowed.
	UID_BASE=$((300000 + (RANDOM % 4096) * 64))
	export UID_BASE
	printf '[worker]\nuid_base = %d\n[limits]\nnetwork = true\n' "$UID_BASE" \
	    >"$BATS_FILE_TMPDIR/jobcell.conf"
	# No data directory: this suite checks the docker cell with its tmpfs
	# /work and in-container unpacker; the disk workspace's docker path is
	# 12-docker-cells-workspace.bats's.
	JOBCELL_STACK_NO_DATA=1 JOBCELL_STACK_CONFIG=$BATS_FILE_TMPDIR/jobcell.conf \
	    JOBCELL_STACK_SLOTS=2 stack_start
	new_consumer alice
}

setup() {
	docker_suite_skip
}

teardown_file() {
	docker_suite_teardown
}

# containers_of JOB [ARGS...]: ids of the containers labelled with JOB.
containers_of() {
	local job=$1
	shift
	docker ps -aq --filter "label=jobcell.job=$job" "$@"
}

container_running() {
	[[ -n $(containers_of "$1" --filter status=running) ]]
}

no_container() {
	local ids
	ids=$(containers_of "$1") || return 1
	[[ -z $ids ]]
}

# assert_no_container_soon JOB: none labelled JOB within 5 s of its end.
assert_no_container_soon() {
	wait_for 5 no_container "$1" ||
		fail "container(s) of job $1 remain: $(containers_of "$1")"
}

# assert_cell_uid UID: one of this stack's cell uids (uid_base + slot).
assert_cell_uid() {
	[[ $1 =~ ^[0-9]+$ ]] && (($1 >= UID_BASE && $1 < UID_BASE + 2)) ||
		fail "the job ran as uid '$1', not one of $UID_BASE..$((UID_BASE + 1))"
}

# cgroups_of JOB: every directory named after JOB under jobcell/ in any
# cgroup hierarchy (docker's runtime makes one in each, not only in ours).
cgroups_of() {
	local m
	while read -r m; do
		[[ -d $m/jobcell/$1 ]] && echo "$m/jobcell/$1"
	done < <(cgroup_mounts)
	return 0
}

no_cgroup() {
	[[ -z $(cgroups_of "$1") ]]
}

networks_of() {
	docker network ls -q --filter "label=jobcell.job=$1"
}

no_network() {
	local ids
	ids=$(networks_of "$1") || return 1
	[[ -z $ids ]]
}

# job_running ID: the job's status is running.
job_running() {
	api GET "/v1/jobs/$1" && [[ $(json_get .status "$api_body") == running ]]
}

health_has_docker() {
	api --no-key GET /v1/health &&
	    [[ $(json_get '.sandboxes | index("docker") != null' "$api_body") == true ]]
}

health_lacks_docker() {
	api --no-key GET /v1/health &&
	    [[ $(json_get '.sandboxes | index("docker") == null' "$api_body") == true ]]
}

# body SANDBOX [JQ-ARGS...] FILTER: the request FILTER builds (jq -n),
# with "sandbox" set.
body() {
	local sb=$1 j
	shift
	j=$(jq -cn "$@") || return 1
	jq -c --arg sb "$sb" '. + {sandbox: $sb}' <<<"$j"
}

@test "both backends: output and stdin come back byte-exact" {
	local sb script
	# Multi-byte UTF-8, long lines, and more than one log chunk (64 KiB).
	script='printf "h\303\251llo \342\202\254\n"; seq 1 40000; echo to-err >&2; cat'
	printf 'h\303\251llo \342\202\254\n' >"$BATS_TEST_TMPDIR/want"
	seq 1 40000 >>"$BATS_TEST_TMPDIR/want"
	printf 'stdin: \316\273 and more\n' >>"$BATS_TEST_TMPDIR/want"
	for sb in namespace docker; do
		run_job "$(body "$sb" --arg c "$script" \
		    '{command: $c, stdin: "stdin: λ and more\n", timeout: 30}')" 60
		assert_equal "$(json_get .status "$job")" succeeded
		assert_equal "$(json_get .exit_code "$job")" 0
		assert_equal "$(json_get .sandbox "$job")" "$sb"
		job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out-$sb"
		cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out-$sb" ||
			fail "$sb: stdout differs from what the job wrote"
		job_output "$job_id" stderr "$BATS_TEST_TMPDIR/err-$sb"
		run -0 cat "$BATS_TEST_TMPDIR/err-$sb"
		assert_output to-err
	done
	assert_no_container_soon "$job_id"
}

@test "both backends: a job that reads stdin before it writes gets it, then EOF" {
	local sb
	for sb in namespace docker; do
		run_job "$(body "$sb" '{command: "cat; echo after-eof; exit 5", stdin: "first\n", timeout: 60}')" 90
		assert_equal "$(json_get '[.status, .exit_code] | join(",")' "$job")" "failed,5"
		job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out-$sb"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/out-$sb")" $'first\nafter-eof'
	done
}

@test "both backends: files and cwd are in place before the job, stdin after them" {
	local sb
	printf '/work/src\nh\303\251llo\nlib\n1 2 3\nthe stdin\n' >"$BATS_TEST_TMPDIR/want"
	for sb in namespace docker; do
		run_job "$(body "$sb" '{command: "pwd; cat main.txt; ls sub; cat sub/lib/x; cat",
		    files: {"src/main.txt": "héllo\n", "src/sub/lib/x": "1 2 3\n"},
		    cwd: "src", stdin: "the stdin\n"}')" 60
		assert_equal "$(json_get .status "$job")" succeeded
		job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out-$sb"
		cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out-$sb" ||
			fail "$sb: output '$(cat "$BATS_TEST_TMPDIR/out-$sb")'"
	done
	assert_no_container_soon "$job_id"
}

@test "both backends: the exit code is the job's" {
	local sb
	for sb in namespace docker; do
		run_job "$(body "$sb" '{argv: ["sh", "-c", "exit 7"]}')" 60
		assert_equal "$(json_get .status "$job")" failed
		assert_equal "$(json_get .exit_code "$job")" 7
		assert_equal "$(json_get .timed_out "$job")" false
	done
	assert_no_container_soon "$job_id"
}

@test "both backends: past its timeout a job ends timed_out with 124" {
	local sb
	for sb in namespace docker; do
		run_job "$(body "$sb" '{command: "echo started; sleep 300", timeout: 2}')" 60
		assert_equal "$(json_get .status "$job")" timed_out
		assert_equal "$(json_get .exit_code "$job")" 124
		assert_equal "$(json_get .timed_out "$job")" true
		job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
		run -0 cat "$BATS_TEST_TMPDIR/out"
		assert_output started
	done
	assert_no_container_soon "$job_id"
}

@test "docker: a cancelled job ends cancelled and its container goes" {
	submit "$(body docker '{command: "sleep 300", timeout: 120}')"
	wait_for 60 container_running "$job_id" ||
		fail "no running container for job $job_id"
	api POST "/v1/jobs/$job_id/cancel"
	assert_api_status 200
	wait_job "$job_id" 30
	assert_equal "$(json_get .status "$job")" cancelled
	assert_no_container_soon "$job_id"
}

@test "docker: memory past the limit ends failed with oom_killed" {
	# dd's 64 MiB buffer cannot fit in 16 MiB.
	run_job "$(body docker '{argv: ["dd", "if=/dev/zero", "of=/dev/null",
	    "bs=64M", "count=1"], memory_mb: 16}')" 60
	assert_equal "$(json_get .status "$job")" failed
	assert_equal "$(json_get .oom_killed "$job")" true
	assert_no_container_soon "$job_id"
}

@test "docker: a missing image ends the job as error, naming the image" {
	run_job "$(body docker '{argv: ["true"], image: "jobcell-test:missing"}')" 60
	assert_equal "$(json_get .status "$job")" error
	run -0 json_get .error "$job"
	assert_output --partial "'jobcell-test:missing'"
	assert_no_container_soon "$job_id"
}

@test "docker: the running container is locked down as configured" {
	local cid info worker
	submit "$(body docker '{command: "sleep 300", timeout: 120,
	    memory_mb: 64, cpus: 1, pids: 50, disk_mb: 32}')"
	wait_for 60 container_running "$job_id" ||
		fail "no running container for job $job_id"
	cid=$(containers_of "$job_id")
	info=$(docker inspect "$cid")
	run -0 jq -c '.[0].HostConfig | {NetworkMode, CapDrop,
	    SecurityOpt: (.SecurityOpt | map(select(startswith("seccomp=") | not))),
	    ReadonlyRootfs, Privileged, Init, Memory, MemorySwap, NanoCpus,
	    PidsLimit}' <<<"$info"
	# PidsLimit: the job's 50 and docker's init, as pids.max of a
	# namespace cell counts its init.
	assert_output '{"NetworkMode":"none","CapDrop":["ALL"],"SecurityOpt":["no-new-privileges"],"ReadonlyRootfs":true,"Privileged":false,"Init":true,"Memory":67108864,"MemorySwap":67108864,"NanoCpus":1000000000,"PidsLimit":51}'
	run -0 jq -r '.[0].HostConfig.Tmpfs | to_entries[] | "\(.key) \(.value)"' <<<"$info"
	assert_line --regexp '^/tmp .*size=32m'
	assert_line --regexp '^/work .*size=32m'
	run -0 jq -c '.[0].Config | {WorkingDir, Image}' <<<"$info"
	assert_output "{\"WorkingDir\":\"/work\",\"Image\":\"$JOBCELL_DOCKER_IMAGE\"}"
	# The slot's own host uid, as for namespace cells: never shared by
	# two running jobs, never a user of the host.
	local user
	user=$(jq -r '.[0].Config.User' <<<"$info")
	[[ $user =~ ^([0-9]+):([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] ||
		fail "User is '$user'"
	assert_cell_uid "${BASH_REMATCH[1]}"
	# Below the job's own cgroup, which holds the same limits.
	run -0 jq -r '.[0].HostConfig.CgroupParent' <<<"$info"
	assert_output "/jobcell/$job_id"
	# Nothing of the host is mounted, least of all the docker socket:
	# the one bind is /dev/null over Docker's copy of the host's
	# resolvers, read-only.
	run -0 jq -c '[.[0].HostConfig.Binds, (.[0].Mounts // [] |
	    map(select(.Type != "tmpfs")) | map(.Source + ":" + .Destination))]' <<<"$info"
	assert_output '[["/dev/null:/etc/resolv.conf:ro"],["/dev/null:/etc/resolv.conf"]]'
	# Docker's masked paths and the whole of /sys; inodes and /dev/shm
	# bounded like /work; file size and the namespace cells' seccomp rules.
	run -0 jq -r '.[0].HostConfig.MaskedPaths | index("/sys") != null' <<<"$info"
	assert_output true
	run -0 jq -r '.[0].HostConfig.Tmpfs["/dev/shm"]' <<<"$info"
	assert_output --regexp 'size=32m,nr_inodes=8192,'
	run -0 jq -c '.[0].HostConfig.Ulimits | map(select(.Name == "fsize"))' <<<"$info"
	assert_output '[{"Name":"fsize","Hard":33554432,"Soft":33554432}]'
	# The profile refuses by default and names ptrace among what it
	# refuses (Docker's own profile allows ptrace).
	run -0 jq -r '.[0].HostConfig.SecurityOpt[] | select(startswith("seccomp=")) |
	    ltrimstr("seccomp=") | fromjson | [.defaultAction,
	    (.syscalls | map(select(.names | index("ptrace") != null)) |
	    .[0].action)] | join(" ")' <<<"$info"
	assert_output "SCMP_ACT_ERRNO SCMP_ACT_ERRNO"
	[[ $info != *docker.sock* ]] || fail "the container refers to docker.sock"

	run -0 jq -r '.[0].Config.Labels["jobcell.job"]' <<<"$info"
	assert_output "$job_id"
	worker=$(jq -r '.[0].Config.Labels["jobcell.worker"]' <<<"$info")
	[[ $worker =~ ^[0-9]+$ ]] || fail "jobcell.worker label is '$worker'"
	run -0 cat "/proc/$worker/comm"
	assert_output jobcell-worker
	api POST "/v1/jobs/$job_id/cancel"
	assert_api_status 200
	wait_job "$job_id" 30
	assert_no_container_soon "$job_id"
	wait_for 5 no_cgroup "$job_id" ||
		fail "cgroups of job $job_id remain: $(cgroups_of "$job_id")"
}

@test "docker: the job's cgroup bounds it and gives its usage; none is left" {
	run_job "$(body docker --arg c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done
head -c 20000000 /dev/zero | tail -c 1 | wc -c' '{command: $c, memory_mb: 64}')" 60
	assert_equal "$(json_get .status "$job")" succeeded
	(( $(json_get .usage.cpu_ms "$job") > 0 )) || fail "cpu_ms not recorded: $job"
	(( $(json_get .usage.max_rss_kb "$job") > 0 )) || fail "max_rss_kb not recorded: $job"
	(( $(json_get .usage.max_rss_kb "$job") <= 64 * 1024 )) ||
		fail "max_rss_kb above the 64 MiB limit: $job"
	assert_no_container_soon "$job_id"
	wait_for 5 no_cgroup "$job_id" ||
		fail "cgroups of job $job_id remain: $(cgroups_of "$job_id")"
}

@test "docker: network:true gives the job a network of its own, removed after" {
	local port=${JOBCELL_URL##*:}
	run_job "$(body docker --arg port "$port" --arg c 'awk "NR > 2 { sub(\":\", \"\", \$1); print \$1 }" /proc/net/dev | sort | tr "\n" " "; echo
ip route | grep -c "^default"
grep -c nameserver /etc/resolv.conf
if nc -z -w 2 127.0.0.1 "$1"; then echo host-lo-open; else echo host-lo-closed; fi' \
	    '{argv: ["sh", "-c", $c, "sh", $port], network: true}')" 60
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output "eth0 lo 
1
1
host-lo-closed"
	assert_no_container_soon "$job_id"
	wait_for 5 no_network "$job_id" ||
		fail "network(s) of job $job_id remain: $(networks_of "$job_id")"
	# Without network:true, on the same server: loopback only.
	run_job "$(body docker --arg c 'awk "NR > 2 { sub(\":\", \"\", \$1); print \$1 }" /proc/net/dev | sort | tr "\n" " "; echo' '{command: $c}')" 60
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output "lo "
}

@test "docker: a job with files binds nothing but the read-only unpacker (and /dev/null)" {
	local cid
	submit "$(body docker '{command: "sleep 300", timeout: 120,
	    files: {"a": "b"}}')"
	wait_for 60 container_running "$job_id" ||
		fail "no running container for job $job_id"
	cid=$(containers_of "$job_id")
	run -0 docker inspect -f '{{json .HostConfig.Binds}} {{json .Config.Entrypoint}}' "$cid"
	assert_output --regexp '^\["/dev/null:/etc/resolv\.conf:ro","/[^"]*/jobcell-cell-unpack:/\.jobcell/unpack:ro"\] \["/\.jobcell/unpack"\]$'
	api POST "/v1/jobs/$job_id/cancel"
	assert_api_status 200
	wait_job "$job_id" 30
	assert_no_container_soon "$job_id"
}

@test "docker: the job is an unprivileged uid without capabilities, network or a writable root" {
	run_job "$(body docker --arg c 'id -u; grep -E "^(CapEff|NoNewPrivs):" /proc/self/status
awk "NR > 2 { sub(\":\", \"\", \$1); print \$1 }" /proc/net/dev; touch /x 2>/dev/null && echo root-writable || echo root-ro
touch /work/f /tmp/f && pwd' '{command: $c}')" 60
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_cell_uid "${lines[0]}"
	assert_line --regexp '^CapEff:[[:space:]]+0+$'
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_line --index 3 lo
	assert_line root-ro
	assert_line /work
}

@test "docker: while the daemon does not answer, health drops docker and a docker job gets 503" {
	wait_for 15 health_has_docker || fail "health never listed docker: $api_body"
	dockerd_stop "$DOCKER_DIR"
	wait_for 20 health_lacks_docker || fail "health still lists docker: $api_body"
	api POST /v1/jobs "$(body docker '{argv: ["true"]}')"
	assert_api_error 503 unavailable
	run -0 json_get .error.message "$api_body"
	assert_output --partial docker
	# The namespace sandbox is not affected.
	run_job '{"argv":["true"]}' 30
	assert_equal "$(json_get .status "$job")" succeeded
	dockerd_start "$DOCKER_DIR"
	wait_for 20 health_has_docker || fail "health did not list docker again: $api_body"
	run_job "$(body docker '{argv: ["true"]}')" 60
	assert_equal "$(json_get .status "$job")" succeeded
}

@test "docker: a queued docker job waits while the daemon is away, then runs" {
	new_consumer bob BOB_KEY
	jobcell_admin set-quota --name bob --max-concurrent 1 >/dev/null
	local saved=$JOBCELL_KEY blocker queued
	JOBCELL_KEY=$BOB_KEY
	wait_for 15 health_has_docker || fail "health never listed docker: $api_body"
	# bob's one running job holds his max_concurrent: the docker job queues.
	submit '{"command":"sleep 300","timeout":120}'
	blocker=$job_id
	wait_for 20 job_running "$blocker" || fail "the blocker never ran"
	submit "$(body docker '{argv: ["echo", "ran"]}')"
	queued=$job_id
	dockerd_stop "$DOCKER_DIR"
	wait_for 20 health_lacks_docker || fail "health still lists docker: $api_body"
	api POST "/v1/jobs/$blocker/cancel"
	wait_job "$blocker" 30
	# A namespace job submitted after it runs; the docker job is skipped,
	# not failed, and not in the way.
	run_job '{"argv":["true"]}' 30
	assert_equal "$(json_get .status "$job")" succeeded
	api GET "/v1/jobs/$queued"
	assert_equal "$(json_get .status "$api_body")" queued
	dockerd_start "$DOCKER_DIR"
	wait_job "$queued" 60
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$queued" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output ran
	JOBCELL_KEY=$saved
}

@test "docker: a daemon restarted mid-job leaves the job in a terminal state" {
	submit "$(body docker '{command: "echo up; sleep 300", timeout: 300}')"
	wait_for 60 container_running "$job_id" ||
		fail "no running container for job $job_id"
	dockerd_stop "$DOCKER_DIR"
	dockerd_start "$DOCKER_DIR"
	wait_job "$job_id" 60
	case $(json_get .status "$job") in
	error | failed) ;;
	*) fail "job ended $(json_get .status "$job"): $job" ;;
	esac
	# Its container is removed by the worker or, if the daemon was away
	# then, by the supervisor's next sweep.
	wait_for 30 no_container "$job_id" ||
		fail "container(s) of job $job_id remain: $(containers_of "$job_id")"
	wait_for 20 health_has_docker || fail "health did not list docker again: $api_body"
}
