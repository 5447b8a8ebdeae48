#!/usr/bin/env bats
# The swarm sandbox (issue 16) against a real three-node Docker Swarm made
# here (tests/lib/swarm.bash: three dockerds, each in its own network and
# UTS namespace, joined over addresses that exist only inside them): the
# cell contract where a swarm service can keep it, placement over the
# nodes, a node dying mid-job, the worker and the manager restarted
# mid-job, the manager unreachable, output live while a job runs, files,
# inputs, stdin and cwd carried as swarm configs, and no service nor
# config left behind after any test.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/swarm
load ../lib/blobs

setup_file() {
	local missing="" t
	dockerd_bin >/dev/null || missing+=" dockerd (docker.io)"
	docker_bin >/dev/null || missing+=" docker (docker.io)"
	[[ -x /bin/busybox ]] || missing+=" /bin/busybox (busybox-static)"
	for t in unshare nsenter ip; do
		command -v "$t" >/dev/null || missing+=" $t"
	done
	if [[ -n $missing ]]; then
		strict && { echo "missing:$missing" >&2; return 1; }
		# bats 1.8 cannot skip from setup_file: each test skips.
		export SWARM_SKIP="needs:$missing"
		return 0
	fi
	SWARM_TEST_DIR=$(mktemp -d /tmp/jcsw.XXXXXX)
	export SWARM_TEST_DIR
	swarm_start "$SWARM_TEST_DIR" || {
		swarm_stop "$SWARM_TEST_DIR"
		return 1
	}
	UID_BASE=$((300000 + (RANDOM % 4096) * 64))
	export UID_BASE
	# Three swarm slots (one per node), one local slot; constraints from
	# an allow-list.
	cat >"$BATS_FILE_TMPDIR/jobcell.conf" <<-EOF
	[worker]
	uid_base = $UID_BASE
	swarm_endpoint = unix://$SWARM_MANAGER_SOCKET
	swarm_slots = 3
	docker_image = $JOBCELL_DOCKER_IMAGE
	swarm_constraints = node.role==worker, node.hostname==node1, node.hostname==node2
	EOF
	JOBCELL_STACK_CONFIG=$BATS_FILE_TMPDIR/jobcell.conf \
	    JOBCELL_STACK_SLOTS=1 stack_start
	new_consumer alice
	jobcell_admin set-quota --name alice --max-concurrent 30 >/dev/null
	wait_for 30 health_has_swarm ||
		fail "/v1/health never listed the swarm: $api_body"
}

setup() {
	[[ -z ${SWARM_SKIP:-} ]] || skip "$SWARM_SKIP"
}

teardown() {
	[[ -z ${SWARM_SKIP:-} ]] || return 0
	# Whatever the test did: no service of ours stays behind.
	wait_for 30 no_services ||
		fail "services left behind: $(swarm_services | tr '\n' ' ')"
	wait_for 30 no_configs ||
		fail "configs left behind: $(swarm_configs | tr '\n' ' ')"
}

teardown_file() {
	[[ -z ${SWARM_SKIP:-} ]] || return 0
	stack_stop
	[[ -z ${SWARM_TEST_DIR:-} ]] || swarm_stop "$SWARM_TEST_DIR"
}

swarm_configs() {
	swarm_docker 0 config ls -q
}

no_configs() {
	local ids
	ids=$(swarm_configs) || return 1
	[[ -z $ids ]]
}

no_services() {
	local ids
	ids=$(swarm_services) || return 1
	[[ -z $ids ]]
}

health_has_swarm() {
	api --no-key GET /v1/health &&
	    [[ $(json_get '.sandboxes | index("swarm") != null' "$api_body") == true ]]
}

health_lacks_swarm() {
	api --no-key GET /v1/health &&
	    [[ $(json_get '.sandboxes | index("swarm") == null' "$api_body") == true ]]
}

# swarm_job JQ-FILTER [JQ-ARGS...]: a request body with "sandbox":"swarm".
swarm_job() {
	local f=$1
	shift
	jq -cn "$@" "$f + {sandbox: \"swarm\"}"
}

pid_gone() {
	! _dk_alive "$1"
}

job_running() {
	api GET "/v1/jobs/$1" && [[ $(json_get .status "$api_body") == running ]]
}

# task_node JOB: the hostname of the node the job's task runs on.
task_node() {
	local node
	node=$(swarm_docker 0 service ps -q --no-trunc "jobcell-$1" 2>/dev/null | head -n1) || return 1
	[[ -n $node ]] || return 1
	node=$(swarm_docker 0 inspect --format '{{.NodeID}}' "$node") || return 1
	swarm_docker 0 node inspect --format '{{.Description.Hostname}}' "$node"
}

task_on_node() {
	local n
	n=$(task_node "$1") && [[ -n $n ]] && task_state_running "$1"
}

task_state_running() {
	[[ $(swarm_docker 0 service ps --format '{{.CurrentState}}' "jobcell-$1" 2>/dev/null) == Running* ]]
}

@test "swarm: /v1/health reports the swarm and its three nodes" {
	api --no-key GET /v1/health
	assert_api_status 200
	assert_equal "$(json_get .swarm.status "$api_body")" ok
	assert_equal "$(json_get .swarm.nodes "$api_body")" 3
	api GET /v1/health
	assert_equal "$(json_get .swarm.slots "$api_body")" 3
}

@test "swarm: output comes back byte-exact, stdout and stderr apart" {
	local script
	script='printf "h\303\251llo \342\202\254\n"; seq 1 40000; echo to-err >&2; printf "no newline"'
	printf 'h\303\251llo \342\202\254\n' >"$BATS_TEST_TMPDIR/want"
	seq 1 40000 >>"$BATS_TEST_TMPDIR/want"
	printf 'no newline' >>"$BATS_TEST_TMPDIR/want"
	run_job "$(swarm_job '{command: $c, timeout: 60}' --arg c "$script")" 120
	assert_equal "$(json_get .status "$job")" succeeded
	assert_equal "$(json_get .exit_code "$job")" 0
	assert_equal "$(json_get .sandbox "$job")" swarm
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out" ||
		fail "stdout differs from what the job wrote"
	job_output "$job_id" stderr "$BATS_TEST_TMPDIR/err"
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output to-err
}

# logs_hold JOB STREAM TEXT: GET /v1/jobs/JOB/logs has TEXT in STREAM.
logs_hold() {
	api GET "/v1/jobs/$1/logs?limit=1000" && [[ $api_status == 200 ]] &&
	    [[ $(json_get "[.entries[] | select(.stream == \"$2\") | .data] | join(\"\")" "$api_body") == *"$3"* ]]
}

@test "swarm: output is live while the job runs, then whole and once" {
	submit "$(swarm_job '{command: "echo live-out; echo live-err >&2; sleep 300", timeout: 240}')"
	wait_for 120 logs_hold "$job_id" stdout live-out ||
		fail "stdout never showed while the job ran: $api_body"
	wait_for 30 logs_hold "$job_id" stderr live-err ||
		fail "stderr never showed while the job ran: $api_body"
	api GET "/v1/jobs/$job_id"
	assert_equal "$(json_get .status "$api_body")" running
	api POST "/v1/jobs/$job_id/cancel"
	assert_api_status 200
	wait_job "$job_id" 60
	assert_equal "$(json_get .status "$job")" cancelled
	# Followed, then the rest read at the stop: no line doubled.
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	job_output "$job_id" stderr "$BATS_TEST_TMPDIR/err"
	printf 'live-out\n' >"$BATS_TEST_TMPDIR/want-out"
	printf 'live-err\n' >"$BATS_TEST_TMPDIR/want-err"
	cmp "$BATS_TEST_TMPDIR/want-out" "$BATS_TEST_TMPDIR/out" ||
		fail "stdout: $(od -c "$BATS_TEST_TMPDIR/out" | head)"
	cmp "$BATS_TEST_TMPDIR/want-err" "$BATS_TEST_TMPDIR/err" ||
		fail "stderr: $(od -c "$BATS_TEST_TMPDIR/err" | head)"
}

@test "swarm: the exit code is the job's; the cell is locked down" {
	run_job "$(swarm_job '{argv: ["sh", "-c", "exit 7"]}')" 120
	assert_equal "$(json_get .status "$job")" failed
	assert_equal "$(json_get .exit_code "$job")" 7
	# As the job's uid, read-only root, writable /work, no capabilities,
	# no network but loopback, hostname cell.
	run_job "$(swarm_job '{command: "id -u; touch /x 2>/dev/null || echo ro; echo w > /work/f && cat /work/f; grep CapEff /proc/self/status; ls /sys/class/net; hostname"}')" 120
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_line --index 0 --regexp '^[0-9]+$'
	(($(sed -n 1p "$BATS_TEST_TMPDIR/out") >= UID_BASE)) || fail "ran as uid $(sed -n 1p "$BATS_TEST_TMPDIR/out")"
	assert_line --index 1 ro
	assert_line --index 2 w
	assert_line --index 3 --regexp '^CapEff:[[:space:]]+0+$'
	assert_line --index 4 lo
	assert_line --index 5 cell
}

@test "swarm: past its timeout a job ends timed_out with 124" {
	run_job "$(swarm_job '{command: "echo started; sleep 300", timeout: 3}')" 120
	assert_equal "$(json_get .status "$job")" timed_out
	assert_equal "$(json_get .exit_code "$job")" 124
	assert_equal "$(json_get .timed_out "$job")" true
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output started
}

@test "swarm: a cancelled job ends cancelled and its service goes" {
	submit "$(swarm_job '{command: "sleep 300", timeout: 240}')"
	wait_for 120 task_state_running "$job_id" ||
		fail "the job's task never ran"
	api POST "/v1/jobs/$job_id/cancel"
	assert_api_status 200
	wait_job "$job_id" 60
	assert_equal "$(json_get .status "$job")" cancelled
}

@test "swarm: over its memory limit a job is oom_killed; pids are bounded" {
	run_job "$(swarm_job '{command: "x=a; while :; do x=$x$x; done", memory_mb: 32, timeout: 60}')" 120
	assert_equal "$(json_get .status "$job")" failed
	assert_equal "$(json_get .oom_killed "$job")" true
	# 40 background sleeps: under pids 16 a fork fails (the shell says so
	# and gives up), under pids 64 all start.
	local spawn='i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo all-started'
	run_job "$(swarm_job '{command: $c, pids: 16, timeout: 60}' --arg c "$spawn")" 120
	assert_equal "$(json_get .status "$job")" failed
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	job_output "$job_id" stderr "$BATS_TEST_TMPDIR/err"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	refute_output --partial all-started
	run -0 cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial fork
	run_job "$(swarm_job '{command: $c, pids: 64, timeout: 60}' --arg c "$spawn")" 120
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output all-started
}

@test "swarm: a constraint places the job on a worker node, not the manager" {
	run_job "$(swarm_job '{command: "hostname", constraints: ["node.role==worker"]}')" 120
	assert_equal "$(json_get .status "$job")" succeeded
	submit "$(swarm_job '{command: "sleep 30", constraints: ["node.hostname==node2"], timeout: 60}')"
	wait_for 120 task_on_node "$job_id" || fail "the job's task never ran"
	run -0 task_node "$job_id"
	assert_output node2
	api POST "/v1/jobs/$job_id/cancel"
	wait_job "$job_id" 60
	# Not on the allow-list: refused, naming the field.
	api POST /v1/jobs "$(swarm_job '{command: "true", constraints: ["node.role==manager"]}')"
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial "'constraints'"
}

@test "swarm: what a service cannot carry yet is refused, naming the field" {
	local f
	for f in '{artifacts: ["a"]}' '{network: true}'; do
		api POST /v1/jobs "$(swarm_job "{command: \"true\"} + $f")"
		assert_api_error 400 invalid_request
		run -0 json_get .error.message "$api_body"
		assert_output --partial "'$(jq -rn "$f | keys[0]")'"
	done
	# Over what one swarm config holds (1000 KiB): stdin, files.
	head -c 1024000 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/big"
	api POST /v1/jobs "$(swarm_job '{command: "true", stdin: $s}' --rawfile s "$BATS_TEST_TMPDIR/big")"
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial "'stdin'"
	head -c 600000 "$BATS_TEST_TMPDIR/big" >"$BATS_TEST_TMPDIR/half"
	api POST /v1/jobs "$(swarm_job '{command: "true", files: {a: $s, b: $s}}' --rawfile s "$BATS_TEST_TMPDIR/half")"
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial "'files'"
}

@test "swarm: files, an executable one, stdin and cwd reach the job; its configs go" {
	local bin
	# Bytes that are not UTF-8 (base64) and a program of the job's own.
	head -c 70000 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	bin=$(base64 -w0 "$BATS_TEST_TMPDIR/blob")
	printf 'line one\nline \303\251 two\nno newline' >"$BATS_TEST_TMPDIR/stdin"
	run_job "$(swarm_job '{command: "pwd; ./run.sh; cat; echo; sha256sum ../data.bin; ls -l run.sh | cut -c1-10; cat /work/top.txt",
	    cwd: "sub", stdin: $in, timeout: 60,
	    files: {"sub/run.sh": {content: "#!/bin/sh\necho ran as $(id -u)\n", executable: true},
	            "data.bin": {content: $bin, encoding: "base64"},
	            "top.txt": "top\n"}}' \
	    --rawfile in "$BATS_TEST_TMPDIR/stdin" --arg bin "$bin")" 120
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_line --index 0 /work/sub
	assert_line --index 1 --regexp '^ran as [0-9]+$'
	assert_line --index 2 'line one'
	assert_line --index 3 $'line \303\251 two'
	assert_line --index 4 'no newline'
	assert_line --index 5 "$(sha256sum "$BATS_TEST_TMPDIR/blob" | cut -d' ' -f1)  ../data.bin"
	assert_line --index 6 -- -rwxr-xr-x
	assert_line --index 7 top
	# No stdin: the job's stdin is empty, and a job with only a cwd.
	run_job "$(swarm_job '{command: "cat; pwd", files: {"d/x": "x"}, cwd: "d"}')" 120
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output /work/d
	wait_for 30 no_configs || fail "configs left behind: $(swarm_configs | tr '\n' ' ')"
}

@test "swarm: 20 jobs spread over the nodes, each runs once" {
	# (loop variables named apart: helpers' own variables are dynamic)
	local ids=() sw_k nodes
	for ((sw_k = 0; sw_k < 20; sw_k++)); do
		submit "$(swarm_job '{command: "sleep 1; echo $N", env: {N: $n}}' --arg n "$sw_k")"
		ids+=("$job_id")
	done
	for sw_k in "${!ids[@]}"; do
		wait_job "${ids[$sw_k]}" 300
		assert_equal "$(json_get .status "$job")" succeeded
		job_output "${ids[$sw_k]}" stdout "$BATS_TEST_TMPDIR/out"
		run -0 cat "$BATS_TEST_TMPDIR/out"
		assert_output "$sw_k"
	done
	# Every node ran some: the nodes' daemons each hold exited containers
	# of jobcell services (task history is kept until the service goes:
	# count from the nodes' own event logs instead).
	nodes=0
	for ((sw_k = 0; sw_k < SWARM_NODES; sw_k++)); do
		if swarm_docker "$sw_k" events --since 10m --until 0s \
		    --filter type=container --filter event=start \
		    --format '{{index .Actor.Attributes "com.docker.swarm.service.name"}}' |
		    grep -q '^jobcell-'; then
			nodes=$((nodes + 1))
		fi
	done
	((nodes == SWARM_NODES)) || fail "only $nodes of $SWARM_NODES nodes ran jobs"
}

@test "swarm: a node's dockerd killed mid-job ends the job error, node lost" {
	local node n
	submit "$(swarm_job '{command: "echo up; sleep 600", constraints: ["node.hostname==node1"], timeout: 900}')"
	wait_for 120 task_on_node "$job_id" || fail "the job's task never ran"
	run -0 task_node "$job_id"
	node=$output
	n=${node#node}
	swarm_node_kill "$SWARM_DIR" "$n"
	wait_job "$job_id" 120
	assert_equal "$(json_get .status "$job")" error
	run -0 json_get .error "$job"
	assert_output --partial "node lost"
	# The node comes back (for the tests after this one too): the job
	# does not go on there, nor run again anywhere.
	swarm_node_restart "$n"
	wait_for 60 no_job_container "$job_id" "$n" ||
		fail "the job's container runs again on $node"
	assert_equal "$(json_get .status "$job")" error
}

# no_job_container JOB N: no running container of JOB on node N.
no_job_container() {
	local ids
	ids=$(swarm_docker "$2" ps -q --filter "name=jobcell-$1") || return 1
	[[ -z $ids ]]
}

# swarm_node_restart N: node N's dockerd started again (same data root:
# it rejoins the swarm by itself).
swarm_node_restart() {
	local n=$1 holder
	read -r holder <"$SWARM_DIR/node$n.pid"
	_sw_dockerd "$SWARM_DIR" "$n" "$holder"
	wait_for 60 node_ready "$n" || fail "node $n did not come back"
}

node_ready() {
	[[ $(swarm_docker 0 node inspect --format '{{.Status.State}}' "node$1") == ready ]]
}

@test "swarm: the worker restarted mid-job: the job ends cleanly, its service goes" {
	local pid
	# With stdin: the job has configs, which must go too.
	submit "$(swarm_job '{command: "sleep 600", stdin: "x", timeout: 900}')"
	wait_for 120 task_state_running "$job_id" || fail "the job's task never ran"
	run -0 swarm_configs
	[[ -n $output ]] || fail "the job has no configs"
	read -r pid <"$JOBCELL_STACK_DIR/worker.pid"
	kill -KILL "$pid"
	wait_for 10 pid_gone "$pid" || fail "the worker survived SIGKILL"
	"$JOBCELL_SRCDIR/tools/stack" respawn "$JOBCELL_STACK_DIR" worker >/dev/null ||
		fail "cannot restart the worker"
	wait_job "$job_id" 60
	assert_equal "$(json_get .status "$job")" error
	run -0 json_get .error "$job"
	assert_output --partial "worker lost"
	wait_for 60 no_configs || fail "configs left behind: $(swarm_configs | tr '\n' ' ')"
}

@test "swarm: the manager's dockerd restarted mid-job: the job goes on and ends with all its output, once" {
	local stopped_at
	# On a worker node, so that only the manager stops (as for an
	# upgrade: TERM, then started again). The job's task keeps running
	# on node1; the worker's helper waits for the manager (up to 30 s of
	# silence) and its log follower reconnects, skipping what it handed
	# on already.
	submit "$(swarm_job '{command: "echo before; sleep 25; echo after; exit 3", constraints: ["node.hostname==node1"], timeout: 300}')"
	wait_for 120 logs_hold "$job_id" stdout before ||
		fail "stdout never showed while the job ran: $api_body"
	stopped_at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	dockerd_stop "$SWARM_DIR/n0"
	swarm_node_restart 0
	wait_job "$job_id" 120
	# It ended after the manager stopped: the stop came mid-job.
	[[ $(json_get .finished_at "$job") > $stopped_at ]] ||
		fail "the job ended before the manager stopped: $job"
	assert_equal "$(json_get .status "$job")" failed
	assert_equal "$(json_get .exit_code "$job")" 3
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	printf 'before\nafter\n' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out" ||
		fail "stdout: $(od -c "$BATS_TEST_TMPDIR/out" | head)"
	wait_for 60 health_has_swarm || fail "the swarm never came back: $api_body"
}

@test "swarm: an unreachable manager: 503 on submit for swarm jobs" {
	local pid
	pid=$(_dk_pid "$SWARM_DIR/n0/docker.pid" dockerd)
	kill -STOP "$pid"
	wait_for 60 health_lacks_swarm || { kill -CONT "$pid"; fail "the swarm stayed listed"; }
	api POST /v1/jobs "$(swarm_job '{command: "true"}')"
	kill -CONT "$pid"
	assert_api_error 503 unavailable
	run -0 json_get .error.message "$api_body"
	assert_output --partial swarm
	wait_for 60 health_has_swarm || fail "the swarm never came back"
}

@test "swarm: the CLI submits with --sandbox swarm and --constraint" {
	local jc
	jc=$(jobcell_bin jobcell)
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	"$jc" init --server "$JOBCELL_URL" --key "$JOBCELL_KEY" \
	    --cacert "$JOBCELL_CACERT" >/dev/null
	run -0 --separate-stderr "$jc" run --sandbox swarm \
	    --constraint node.role==worker --command 'echo from-swarm'
	assert_output from-swarm
	run -2 --separate-stderr "$jc" run --constraint node.role==worker \
	    --command true
	[[ $stderr == *--constraint* ]] || fail "stderr: $stderr"
}

# tls_files DIR: a CA, a server certificate for 127.0.0.1 and a client
# certificate, both signed by the CA (PEM, in DIR).
tls_files() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=jobcell-test-ca \
	    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
	    -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
	    -CAcreateserial -days 1 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj /CN=jobcell-worker \
	    -keyout "$d/key.pem" -out "$d/client.csr" 2>/dev/null || return 1
	printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
	openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
	    -CAcreateserial -days 1 -extfile "$d/client.ext" -out "$d/cert.pem" 2>/dev/null
}

# worker_with_conf FILE: the stack's worker restarted with that config.
worker_with_conf() {
	local pid
	cp "$1" "$JOBCELL_STACK_DIR/jobcell.conf"
	read -r pid <"$JOBCELL_STACK_DIR/worker.pid"
	kill -TERM "$pid"
	wait_for 30 pid_gone "$pid" || fail "the worker did not stop"
	"$JOBCELL_SRCDIR/tools/stack" respawn "$JOBCELL_STACK_DIR" worker >/dev/null ||
		fail "cannot restart the worker"
}

@test "swarm: a worker reaches the manager over TCP with TLS client certificates" {
	local d=$BATS_TEST_TMPDIR port
	skip_unless command -v socat
	tls_files "$d" || fail "cannot make the TLS files"
	# The manager's API behind a TLS listener on loopback that demands a
	# client certificate of our CA (as dockerd --tlsverify does).
	port=$((20000 + RANDOM % 20000))
	socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,cert=$d/server.pem,key=$d/server-key.pem,cafile=$d/ca.pem,verify=1" \
	    "UNIX-CONNECT:$SWARM_MANAGER_SOCKET" </dev/null >/dev/null 2>"$d/socat.log" &
	echo $! >"$d/socat.pid"
	cp "$JOBCELL_STACK_DIR/jobcell.conf" "$d/unix.conf"
	sed -e "s|^swarm_endpoint = .*|swarm_endpoint = tcp://127.0.0.1:$port|" \
	    "$d/unix.conf" >"$d/tls.conf"
	printf '[worker]\nswarm_tls_ca = %s\nswarm_tls_cert = %s\nswarm_tls_key = %s\n' \
	    "$d/ca.pem" "$d/cert.pem" "$d/key.pem" >>"$d/tls.conf"
	worker_with_conf "$d/tls.conf"
	wait_for 30 health_has_swarm || {
		kill "$(cat "$d/socat.pid")"
		worker_with_conf "$d/unix.conf"
		fail "the swarm was never listed over TLS: $(tail -n 5 "$JOBCELL_STACK_DIR/worker.log")"
	}
	run_job "$(swarm_job '{command: "echo over-tls"}')" 120
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	kill "$(cat "$d/socat.pid")"
	worker_with_conf "$d/unix.conf"
	assert_equal "$(json_get .status "$job")" succeeded
	run -0 cat "$BATS_TEST_TMPDIR/out"
	assert_output over-tls
	wait_for 30 health_has_swarm || fail "the swarm was not listed again"
}

@test "swarm: inputs, a file and a ustar archive, are placed at their paths" {
	local t=$BATS_TEST_TMPDIR file_hex tar_hex gz_hex big_hex
	printf 'input \303\251 bytes\nno newline' >"$t/in.txt"
	mkdir -p "$t/tree/sub/deeper"
	printf 'a\n' >"$t/tree/a.txt"
	printf 'deep\n' >"$t/tree/sub/deeper/d.txt"
	printf '#!/bin/sh\necho tool ran\n' >"$t/tree/sub/tool"
	chmod 0755 "$t/tree/sub/tool"
	tar --format=ustar -C "$t/tree" -cf "$t/tree.tar" .
	for f in in.txt tree.tar; do
		upload "$t/$f"
		[[ $api_status == 20[01] ]] || fail "upload $f: $api_status $api_body"
	done
	file_hex=$(sha_of "$t/in.txt")
	tar_hex=$(sha_of "$t/tree.tar")
	run_job "$(swarm_job '{command: "cat data/in.txt; echo; cat t/a.txt t/sub/deeper/d.txt; t/sub/tool; ls -l t/a.txt | cut -c1-10",
	    inputs: [{blob: $f, path: "data/in.txt", format: "file"}, {blob: $t, path: "t"}], timeout: 60}' \
	    --arg f "sha256:$file_hex" --arg t "sha256:$tar_hex")" 120
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$job_id" stdout "$t/out"
	run -0 cat "$t/out"
	assert_line --index 0 $'input \303\251 bytes'
	assert_line --index 1 'no newline'
	assert_line --index 2 a
	assert_line --index 3 deep
	assert_line --index 4 'tool ran'
	assert_line --index 5 -- -rw-r--r--
	# Over what one swarm config holds: refused at submit.
	head -c 1024000 /dev/zero >"$t/big"
	upload "$t/big"
	[[ $api_status == 20[01] ]] || fail "upload big: $api_status $api_body"
	big_hex=$(sha_of "$t/big")
	api POST /v1/jobs "$(swarm_job '{command: "true", inputs: [{blob: $b, path: "big", format: "file"}]}' --arg b "sha256:$big_hex")"
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial "'inputs[0]'"
}

# sha_lines FILE...: "HEX  NAME" lines as sha256sum prints them.
sha_lines() {
	(cd "$BATS_TEST_TMPDIR/tree" && sha256sum "$@")
}

@test "swarm: gzip, zstd, xz and bzip2 tar inputs are decompressed and placed byte-exact" {
	local t=$BATS_TEST_TMPDIR
	mkdir -p "$t/tree/sub"
	head -c 100000 /dev/urandom >"$t/tree/sub/r.bin"
	printf 'plain\n' >"$t/tree/a.txt"
	tar --format=ustar -C "$t/tree" -cf "$t/tree.tar" .
	gzip -9 -c "$t/tree.tar" >"$t/tree.tar.gz"
	zstd -q -c "$t/tree.tar" >"$t/tree.tar.zst"
	xz -c "$t/tree.tar" >"$t/tree.tar.xz"
	bzip2 -c "$t/tree.tar" >"$t/tree.tar.bz2"
	for f in tree.tar.gz tree.tar.zst tree.tar.xz tree.tar.bz2; do
		upload "$t/$f"
		[[ $api_status == 20[01] ]] || fail "upload $f: $api_status $api_body"
	done
	run_job "$(swarm_job '{command: "for d in g z x b; do (cd $d && sha256sum sub/r.bin a.txt) || exit 1; done",
	    inputs: [{blob: $g, path: "g"}, {blob: $z, path: "z"}, {blob: $x, path: "x"}, {blob: $b, path: "b"}], timeout: 60}' \
	    --arg g "sha256:$(sha_of "$t/tree.tar.gz")" \
	    --arg z "sha256:$(sha_of "$t/tree.tar.zst")" \
	    --arg x "sha256:$(sha_of "$t/tree.tar.xz")" \
	    --arg b "sha256:$(sha_of "$t/tree.tar.bz2")")" 120
	[[ $(json_get .status "$job") == succeeded ]] || fail "job: $job"
	job_output "$job_id" stdout "$t/out"
	for d in g z x b; do sha_lines sub/r.bin a.txt; done >"$t/want"
	run -0 cat "$t/out"
	assert_output "$(cat "$t/want")"
}

@test "swarm: a gzip bomb and a corrupt stream end error naming the input" {
	local t=$BATS_TEST_TMPDIR
	# 8 MiB of zeros: a few KiB compressed, far past the cap unpacked
	mkdir -p "$t/bomb"
	head -c $((8 << 20)) /dev/zero >"$t/bomb/zeros"
	tar --format=ustar -C "$t/bomb" -cf "$t/bomb.tar" .
	gzip -9 -c "$t/bomb.tar" >"$t/bomb.tar.gz"
	# a gzip header, then a deflate stream cut short
	head -c 300 "$t/bomb.tar.gz" >"$t/cut.tar.gz"
	printf 'not a tar' >"$t/small"
	for f in bomb.tar.gz cut.tar.gz small; do
		upload "$t/$f"
		[[ $api_status == 20[01] ]] || fail "upload $f: $api_status $api_body"
	done
	run_job "$(swarm_job '{command: "true", inputs: [{blob: $b}]}' \
	    --arg b "sha256:$(sha_of "$t/bomb.tar.gz")")" 120
	assert_equal "$(json_get .status "$job")" error
	run -0 json_get .error "$job"
	assert_output --partial 'inputs[0]'
	assert_output --partial 'gzip'
	assert_output --partial 'decompresses to more than 1023999 bytes'
	run_job "$(swarm_job '{command: "true", inputs: [{blob: $s, path: "s", format: "file"}, {blob: $c}]}' \
	    --arg s "sha256:$(sha_of "$t/small")" \
	    --arg c "sha256:$(sha_of "$t/cut.tar.gz")")" 120
	assert_equal "$(json_get .status "$job")" error
	run -0 json_get .error "$job"
	assert_output --partial 'inputs[1]'
	assert_output --partial 'not a readable gzip'
	# Decompressed, but not a tar: named too.
	gzip -c "$t/small" >"$t/small.gz"
	upload "$t/small.gz"
	[[ $api_status == 20[01] ]] || fail "upload small.gz: $api_status $api_body"
	run_job "$(swarm_job '{command: "true", inputs: [{blob: $s}]}' \
	    --arg s "sha256:$(sha_of "$t/small.gz")")" 120
	assert_equal "$(json_get .status "$job")" error
	run -0 json_get .error "$job"
	assert_output --partial 'inputs[0]: not a ustar archive'
}

@test "swarm: jobcell submit --sandbox swarm --input DIR (a zstd tar) reaches the job" {
	local jc t=$BATS_TEST_TMPDIR
	jc=$(jobcell_bin jobcell)
	export HOME=$t/home
	mkdir -p "$HOME" "$t/src/lib"
	printf 'hello from the tree\n' >"$t/src/lib/hello.txt"
	"$jc" init --server "$JOBCELL_URL" --key "$JOBCELL_KEY" \
	    --cacert "$JOBCELL_CACERT" >/dev/null
	run --separate-stderr "$jc" run --sandbox swarm --input "$t/src:src" \
	    --command 'cat src/lib/hello.txt'
	[[ $status == 0 ]] || fail "status $status, stderr: $stderr"
	assert_output 'hello from the tree'
}
