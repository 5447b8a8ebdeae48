#!/usr/bin/env bats
# Images and docker runtimes while the docker daemon does not answer
# (issue 14, DESIGN.md section 4: "unavailable" 503): a build, a job in
# the consumer's own image and a docker runtime's code job are refused
# with 503 and store nothing (a docker runtime too when the daemon never
# answered since the worker started: not listed, but not "no such
# runtime" either); bad requests still get their 400; the
# images already built stay listed; a build queued or running when the
# daemon goes away ends in a state the user can act on, and its name is
# free again. Against a real private dockerd (tests/lib/docker.bash) that
# is stopped before the stack starts, then started and stopped here: the
# worker finds the socket absent, as on a host where dockerd never came
# up.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/docker
load ../lib/blobs
load ../lib/lifecycle

BASE=jobcell-test:busybox

setup_file() {
	docker_suite_setup || return 1
	[[ -z ${DOCKER_SKIP:-} ]] || return 0
	UID_BASE=$((300000 + (RANDOM % 4096) * 64))
	export UID_BASE
	mkdir -p "$BATS_FILE_TMPDIR/runtimes.d"
	docker_runtime_busybox_sh "$BATS_FILE_TMPDIR/runtimes.d" "$BASE"
	# The collector at its default interval (300 s): nothing here may
	# depend on it tidying up.
	printf '[worker]\nuid_base = %d\ndocker_images = %s\nruntimes_dir = %s\n' \
	    "$UID_BASE" "$BASE" "$BATS_FILE_TMPDIR/runtimes.d" >"$BATS_FILE_TMPDIR/jobcell.conf"
	# The image is in the daemon's store; the daemon is down when the
	# worker starts.
	dockerd_stop "$DOCKER_DIR"
	JOBCELL_STACK_CONFIG=$BATS_FILE_TMPDIR/jobcell.conf \
	    JOBCELL_STACK_SLOTS=2 stack_start
	new_consumer alice
	new_consumer bob BOB_KEY
	ALICE_ID=$(consumer_id alice)
	export ALICE_ID
}

setup() {
	docker_suite_skip
}

teardown_file() {
	docker_suite_teardown
}

health_has_docker() {
	api --no-key GET /v1/health &&
	    [[ $(json_get '.sandboxes | index("docker") != null' "$api_body") == true ]]
}

health_lacks_docker() {
	api --no-key GET /v1/health && [[ $api_status == 200 ]] &&
	    [[ $(json_get '.sandboxes | index("docker") == null' "$api_body") == true ]]
}

# daemon_down / daemon_up: stop or start the suite's dockerd and wait
# until /v1/health says so.
daemon_down() {
	dockerd_stop "$DOCKER_DIR"
	wait_for 30 health_lacks_docker || fail "health still lists docker: $api_body"
}

daemon_up() {
	dockerd_start "$DOCKER_DIR" || fail "dockerd did not start"
	wait_for 30 health_has_docker || fail "health does not list docker: $api_body"
}

# context NAME DOCKERFILE: a tar holding the Dockerfile; its path in $ctx.
context() {
	local d=$BATS_TEST_TMPDIR/ctx-$1
	mkdir -p "$d"
	printf '%s\n' "$2" >"$d/Dockerfile"
	ctx=$BATS_TEST_TMPDIR/ctx-$1.tar
	tar -C "$d" -cf "$ctx" .
}

# build NAME:TAG FILE [KEY]: upload FILE, POST /v1/images.
build() {
	local key=${3:-$JOBCELL_KEY} hex
	hex=$(sha_of "$2")
	upload "$2" "$hex" "$key"
	[[ $api_status == 201 || $api_status == 200 ]] ||
	    fail "upload: $api_status $api_body"
	api --key "$key" POST /v1/images "{\"name\":\"$1\",\"context\":\"sha256:$hex\"}"
}

# rows SQL: the answer of a query on the stack's database.
rows() {
	sqlite3 "$JOBCELL_DB" "$1"
}

job_running() {
	api GET "/v1/jobs/$1" && [[ $(json_get .status "$api_body") == running ]]
}

# assert_unavailable: the last answer is 503 "unavailable" naming docker.
# assert_runtime_unlisted NAME: neither GET /v1/runtimes nor Piston's
# /api/v2/runtimes lists NAME (no daemon runs it now).
assert_runtime_unlisted() {
	api GET /v1/runtimes
	assert_api_status 200
	[[ $(jq -r --arg n "$1" '[.runtimes[] | select(.name == $n)] | length' <<<"$api_body") == 0 ]] ||
	    fail "$1 is listed without a daemon: $api_body"
	api GET /api/v2/runtimes
	assert_api_status 200
	[[ $(jq -r --arg n "$1" '[.[] | select(.language == $n)] | length' <<<"$api_body") == 0 ]] ||
	    fail "Piston lists $1 without a daemon: $api_body"
}

assert_unavailable() {
	assert_api_error 503 unavailable
	[[ $(json_get .error.message "$api_body") == *docker* ]] ||
	    fail "the message does not name docker: $api_body"
}

@test "a worker whose daemon does not answer: builds, docker jobs and docker runtimes are refused with 503 and store nothing" {
	health_ns_only() {
		health_lacks_docker &&
		    [[ $(json_get '.sandboxes | index("namespace") != null' "$api_body") == true ]]
	}
	wait_for 30 health_ns_only || fail "health: $api_body"
	context tool "FROM $BASE
RUN echo built > /built"
	build tool:1 "$ctx"
	assert_unavailable
	# A request that is wrong is still told so, daemon or not.
	printf 'not a tar\n%.0s' {1..20} >"$BATS_TEST_TMPDIR/notar"
	build tool:1 "$BATS_TEST_TMPDIR/notar"
	assert_api_error 400 invalid_request
	api POST /v1/jobs '{"sandbox":"docker","command":"true"}'
	assert_unavailable
	api GET /v1/images
	assert_api_status 200
	[[ $(json_get '.images | length' "$api_body") == 0 ]]
	api GET /v1/runtimes
	assert_api_status 200
	[[ $(json_get '[.runtimes[] | select(.sandbox == "docker")] | length' "$api_body") == 0 ]] ||
	    fail "$api_body"
	# Nothing was stored: no job, no images row.
	api GET /v1/jobs
	[[ $(json_get '.jobs | length' "$api_body") == 0 ]] || fail "$api_body"
	[[ $(rows "SELECT COUNT(*) FROM images") == 0 ]]
	# The namespace sandbox is not affected.
	run_job '{"command":"echo ns"}' 30
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
}

@test "a docker runtime never probed (no daemon since the worker started): not listed, and a job naming it gets 503, not 400, storing nothing" {
	local jobs_before
	jobs_before=$(rows "SELECT COUNT(*) FROM jobs")
	assert_runtime_unlisted busybox-sh
	# It exists, its daemon is away: come back later, by name, alias,
	# or name@version (its version is not known yet).
	api POST /v1/jobs '{"runtime":"busybox-sh","code":"echo hi"}'
	assert_unavailable
	[[ $(json_get .error.message "$api_body") == *"'busybox-sh'"* ]] || fail "$api_body"
	api POST /v1/jobs '{"runtime":"bbsh@1.2","code":"echo hi"}'
	assert_unavailable
	api POST /v1/run '{"runtime":"bbsh","code":"echo hi"}'
	assert_unavailable
	api POST /api/v2/execute '{"language":"busybox-sh","version":"*","files":[{"content":"echo hi"}]}'
	assert_api_status 503
	[[ $(json_get .message "$api_body") == *docker* ]] || fail "$api_body"
	# A runtime that is not configured at all is still the request's
	# fault.
	api POST /v1/jobs '{"runtime":"nosuch","code":"echo hi"}'
	assert_api_error 400 invalid_request
	api POST /api/v2/execute '{"language":"nosuch","version":"*","files":[{"content":"echo hi"}]}'
	assert_api_status 400
	# None of these was stored.
	[[ $(rows "SELECT COUNT(*) FROM jobs") == "$jobs_before" ]] ||
	    fail "a refused request stored a job"
}

@test "once the daemon answers, the worker offers docker and its docker runtimes, without a restart or a reload" {
	daemon_up
	wait_for 60 runtimes_offered busybox-sh || fail "busybox-sh is not offered: $api_body"
	[[ $(json_get '.runtimes[] | select(.name == "busybox-sh") | .sandbox' "$api_body") == docker ]]
	# Probed now: it has the version its image reported.
	[[ -n $(json_get '.runtimes[] | select(.name == "busybox-sh") | .version' "$api_body") ]] ||
	    fail "no version: $api_body"
	run_job '{"runtime":"bbsh","code":"echo from-the-runtime"}' 60
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ $(<"$BATS_TEST_TMPDIR/out") == from-the-runtime ]]
	context tool "FROM $BASE
RUN echo built > /built"
	build tool:1 "$ctx"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	wait_job "$job_id" 120
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
}

@test "while the daemon is away: images stay listed; a build, a job in one and a docker runtime's code get 503, and the runtime is not listed" {
	daemon_down
	api GET /v1/images
	assert_api_status 200
	[[ $(json_get '[.images[].name] | join(" ")' "$api_body") == tool ]] || fail "$api_body"
	local jobs_before
	jobs_before=$(rows "SELECT COUNT(*) FROM jobs")
	context tool2 "FROM tool:1
RUN cat /built"
	build tool:2 "$ctx"
	assert_unavailable
	api POST /v1/jobs '{"sandbox":"docker","image":"tool:1","command":"cat /built"}'
	assert_unavailable
	api POST /v1/run '{"sandbox":"docker","image":"tool:1","command":"cat /built"}'
	assert_unavailable
	# The CLI says so and fails; its list still works.
	local jc d=$BATS_TEST_TMPDIR/clictx
	jc=$(jobcell_bin jobcell)
	mkdir -p "$d"
	printf 'FROM %s\n' "$BASE" >"$d/Dockerfile"
	run -1 --separate-stderr env JOBCELL_SERVER="$JOBCELL_URL" "$jc" images build clitool:1 "$d"
	[[ $stderr == *"not available"* ]] || fail "$stderr"
	run -0 --separate-stderr env JOBCELL_SERVER="$JOBCELL_URL" "$jc" images list
	[[ $output == *tool*1* ]] || fail "$output $stderr"
	# Not the consumer's image: that is the request's fault, 400.
	api POST /v1/jobs '{"sandbox":"docker","image":"nosuch:1","command":"true"}'
	assert_api_error 400 invalid_request
	# The runtime was probed: it is withdrawn from the list, and a job
	# naming it is told to come back later, not that it does not exist.
	assert_runtime_unlisted busybox-sh
	api POST /v1/jobs '{"runtime":"bbsh","code":"echo hi"}'
	assert_unavailable
	api POST /api/v2/execute '{"language":"busybox-sh","version":"*","files":[{"content":"echo hi"}]}'
	assert_api_status 503
	[[ $(json_get .message "$api_body") == *docker* ]] || fail "$api_body"
	# Nothing of these was stored.
	[[ $(rows "SELECT COUNT(*) FROM jobs") == "$jobs_before" ]]
	[[ $(rows "SELECT group_concat(name || ':' || tag) FROM images") == tool:1 ]]
}

@test "a build queued when the daemon goes away waits, then runs; one cancelled meanwhile leaves its name free" {
	daemon_up
	jobcell_admin set-quota --name bob --max-concurrent 1 >/dev/null
	local blocker waits gone
	# bob's one running job holds his max_concurrent: his builds queue.
	JOBCELL_KEY=$BOB_KEY submit '{"command":"sleep 300","timeout":120}'
	blocker=$job_id
	JOBCELL_KEY=$BOB_KEY wait_for 30 job_running "$blocker" || fail "the blocker never ran"
	context waits "FROM $BASE
RUN echo waited > /waited"
	build waits:1 "$ctx" "$BOB_KEY"
	assert_api_status 201
	waits=$(json_get .id "$api_body")
	build gone:1 "$ctx" "$BOB_KEY"
	assert_api_status 201
	gone=$(json_get .id "$api_body")
	daemon_down
	JOBCELL_KEY=$BOB_KEY api POST "/v1/jobs/$blocker/cancel"
	JOBCELL_KEY=$BOB_KEY wait_job "$blocker" 30
	# A namespace job of bob's runs; the builds wait, not failed.
	JOBCELL_KEY=$BOB_KEY run_job '{"command":"true"}' 30
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
	JOBCELL_KEY=$BOB_KEY api GET "/v1/jobs/$waits"
	[[ $(json_get .status "$api_body") == queued ]] || fail "$api_body"
	JOBCELL_KEY=$BOB_KEY api POST "/v1/jobs/$gone/cancel"
	assert_api_status 200
	[[ $(json_get .status "$api_body") == cancelled ]] || fail "$api_body"
	# The cancelled build holds no name: not listed, no row.
	JOBCELL_KEY=$BOB_KEY api GET /v1/images
	[[ $(json_get '.images | length' "$api_body") == 0 ]] || fail "$api_body"
	[[ $(rows "SELECT COUNT(*) FROM images WHERE name = 'gone'") == 0 ]]
	daemon_up
	JOBCELL_KEY=$BOB_KEY wait_job "$waits" 120
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
	# The cancelled one's name builds again at once.
	build gone:1 "$ctx" "$BOB_KEY"
	assert_api_status 201
	JOBCELL_KEY=$BOB_KEY wait_job "$(json_get .id "$api_body")" 120
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
	JOBCELL_KEY=$BOB_KEY api GET /v1/images
	[[ $(json_get '[.images[].name] | join(" ")' "$api_body") == "gone waits" ]] || fail "$api_body"
}

@test "a build running when the daemon dies ends, makes no image, and its name builds again" {
	context slow "FROM $BASE
RUN echo sleeping; sleep 120"
	build slow:1 "$ctx"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	wait_output "$job_id" sleeping 60
	dockerd_stop "$DOCKER_DIR"
	wait_job "$job_id" 60
	case $(json_get .status "$job") in
	failed | error) ;;
	*) fail "the build ended $(json_get .status "$job"): $job" ;;
	esac
	[[ -n $(json_get '.error // empty' "$job") ]] || fail "no error says why: $job"
	api GET /v1/images
	[[ $(json_get '[.images[] | select(.name == "slow")] | length' "$api_body") == 0 ]] || fail "$api_body"
	[[ $(rows "SELECT COUNT(*) FROM images WHERE name = 'slow'") == 0 ]]
	daemon_up
	context slow2 "FROM $BASE"
	build slow:1 "$ctx"
	assert_api_status 201
	wait_job "$(json_get .id "$api_body")" 120
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
}

@test "a build whose worker dies ends error, and leaves its name neither being built nor taken" {
	context lost "FROM $BASE
RUN echo sleeping; sleep 120"
	build lost:1 "$ctx"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	wait_output "$job_id" sleeping 60
	local wpid ppid
	wpid=$(job_worker "$job_id")
	[[ $wpid =~ ^[0-9]+$ ]] || fail "no worker recorded for $job_id: '$wpid'"
	# This stack's worker: a child of its supervisor.
	ppid=$(awk '{ print $4 }' "/proc/$wpid/stat")
	[[ $ppid == "$(svc_pid worker)" ]] || fail "pid $wpid is not this stack's worker"
	kill9 "$wpid"
	wait_job "$job_id" 30
	run -0 json_get '[.status, .error] | join(",")' "$job"
	assert_output "error,worker lost"
	api GET /v1/images
	[[ $(json_get '[.images[] | select(.name == "lost")] | length' "$api_body") == 0 ]] || fail "$api_body"
	# Neither a build in progress (409) nor an image.
	api DELETE /v1/images/lost:1
	assert_api_error 404 not_found
	context lost2 "FROM $BASE"
	build lost:1 "$ctx"
	assert_api_status 201
	wait_job "$(json_get .id "$api_body")" 120
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
	api GET /v1/images
	[[ $(json_get '[.images[] | select(.name == "lost")] | length' "$api_body") == 1 ]] || fail "$api_body"
}

@test "DELETE while the daemon is away: 204, the image is gone from the API at once, left for the collector" {
	daemon_down
	api DELETE /v1/images/tool:1
	assert_api_status 204
	api GET /v1/images
	[[ $(json_get '[.images[] | select(.name == "tool")] | length' "$api_body") == 0 ]] || fail "$api_body"
	# A job naming it is now the request's fault, daemon or not.
	api POST /v1/jobs '{"sandbox":"docker","image":"tool:1","command":"true"}'
	assert_api_error 400 invalid_request
	# Marked for the collector, which removes it from the daemon once
	# the daemon answers.
	[[ $(rows "SELECT deleted FROM images WHERE name = 'tool'") == 1 ]]
	api DELETE /v1/images/tool:1
	assert_api_error 404 not_found
}
