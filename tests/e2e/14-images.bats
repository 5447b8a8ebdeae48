#!/usr/bin/env bats
# Images (issue 14, DESIGN.md section 4 "Images"): POST /v1/images builds a
# docker image from a context blob through the Engine API's build endpoint,
# as a job whose logs are the build's output; the image is the consumer's
# own (jobcell/<consumer>/<name>:<tag> in the daemon), usable as a job's
# image by that consumer only; bases are the consumer's own images or the
# server's allowed ones; GET and DELETE /v1/images; the quota; expiry.
# Against a private dockerd (tests/lib/docker.bash) with a base image made
# by `docker import` (no registry, no pulls).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/docker
load ../lib/blobs

BASE=jobcell-test:busybox

setup_file() {
	docker_suite_setup || return 1
	[[ -z ${DOCKER_SKIP:-} ]] || return 0
	UID_BASE=$((300000 + (RANDOM % 4096) * 64))
	export UID_BASE
	# The base image is the server's allowed list; the collector runs
	# every second (DELETE and expiry remove images from the daemon).
	# A docker runtime in the base image, and one whose image the
	# daemon does not have.
	mkdir -p "$BATS_FILE_TMPDIR/runtimes.d"
	docker_runtime_busybox_sh "$BATS_FILE_TMPDIR/runtimes.d" "$BASE"
	printf '[runtime]\nname = ghost\nsandbox = docker\nimage = jobcell-test:nowhere\nfile = main.sh\nrun = sh {file}\nversion = busybox\n' \
	    >"$BATS_FILE_TMPDIR/runtimes.d/ghost.ini"
	# A docker runtime with a compile step (busybox has no compiler:
	# the "compiler" runs the build script, which writes the program
	# into /work), and one whose version command the image lacks.
	printf '[runtime]\nname = busybox-build\nsandbox = docker\nimage = %s\nfile = build.sh\ncompile = sh {file}\nrun = sh prog\nversion = busybox\ncompile_timeout = 30\n' \
	    "$BASE" >"$BATS_FILE_TMPDIR/runtimes.d/busybox-build.ini"
	printf '[runtime]\nname = noversion\nsandbox = docker\nimage = %s\nfile = main.sh\nrun = sh {file}\nversion = nosuch-version-tool --version\n' \
	    "$BASE" >"$BATS_FILE_TMPDIR/runtimes.d/noversion.ini"
	printf '[worker]\nuid_base = %d\ndocker_images = %s\nruntimes_dir = %s\n[retention]\ngc_interval_s = 1\n' \
	    "$UID_BASE" "$BASE" "$BATS_FILE_TMPDIR/runtimes.d" >"$BATS_FILE_TMPDIR/jobcell.conf"
	JOBCELL_STACK_CONFIG=$BATS_FILE_TMPDIR/jobcell.conf \
	    JOBCELL_STACK_SLOTS=2 stack_start
	new_consumer alice
	new_consumer bob BOB_KEY
	ALICE_ID=$(consumer_id alice)
	BOB_ID=$(consumer_id bob)
	export ALICE_ID BOB_ID
	# The supervisor's first heartbeat (docker offered) follows its
	# runtimes' probes, a container each.
	wait_for 120 runtimes_offered busybox-sh busybox-build || return 1
}

setup() {
	docker_suite_skip
}

teardown_file() {
	docker_suite_teardown
}

# context NAME DOCKERFILE [FILE CONTENT]...: a tar of a directory holding
# the Dockerfile and the files; its path in $ctx.
context() {
	local d=$BATS_TEST_TMPDIR/ctx-$1
	mkdir -p "$d"
	printf '%s\n' "$2" >"$d/Dockerfile"
	shift 2
	while (($# >= 2)); do
		printf '%s\n' "$2" >"$d/$1"
		shift 2
	done
	ctx=$BATS_TEST_TMPDIR/$(basename "$d").tar
	tar -C "$d" -cf "$ctx" .
}

# build NAME:TAG FILE [KEY] [EXTRA JSON]: upload FILE, POST /v1/images.
build() {
	local key=${3:-$JOBCELL_KEY} hex
	hex=$(sha_of "$2")
	upload "$2" "$hex" "$key"
	[[ $api_status == 201 || $api_status == 200 ]] ||
	    fail "upload: $api_status $api_body"
	api --key "$key" POST /v1/images \
	    "{\"name\":\"$1\",\"context\":\"sha256:$hex\"${4:-}}"
}

# build_ok NAME:TAG FILE [KEY]: build and wait for success.
build_ok() {
	build "$@"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	JOBCELL_KEY=${3:-$JOBCELL_KEY} wait_job "$job_id" 120
	[[ $(json_get .status "$job") == succeeded ]] ||
	    fail "build $1: $job"
}

image_gone() {
	! docker image inspect "$1" >/dev/null 2>&1
}

@test "a build makes the consumer's image; a job of that consumer runs in it and sees what the build made" {
	context tool "FROM $BASE
RUN echo built > /built
COPY hello.txt /hello.txt" hello.txt "hello from the context"
	build tool:1 "$ctx"
	assert_api_status 201
	[[ $(json_get .kind "$api_body") == image ]]
	job_id=$(json_get .id "$api_body")
	wait_job "$job_id" 120
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
	# The daemon holds it under the consumer's name.
	docker image inspect "jobcell/$ALICE_ID/tool:1" >/dev/null
	# The build's output is the job's logs.
	api GET "/v1/jobs/$job_id/output?stream=stdout"
	assert_api_status 200
	[[ $api_body == *"Step 1/3 : FROM $BASE"* ]] || fail "$api_body"
	[[ $api_body == *"Successfully tagged jobcell/$ALICE_ID/tool:1"* ]]
	run_job '{"sandbox":"docker","image":"tool:1","command":"cat /built /hello.txt"}' 60
	[[ $(json_get .status "$job") == succeeded ]] || fail "$job"
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ $(<"$BATS_TEST_TMPDIR/out") == $'built\nhello from the context' ]]
	api GET /v1/images
	assert_api_status 200
	[[ $(jq -r '.images[] | select(.name == "tool") | .tag' <<<"$api_body") == 1 ]]
	[[ $(jq -r '.images[0].id' <<<"$api_body") == sha256:* ]]
	(($(jq -r '.images[0].size' <<<"$api_body") > 0))
}

@test "follow streams the build's steps as they come" {
	context follow "FROM $BASE
RUN echo step-two-output"
	build follow:1 "$ctx"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	run -0 curl -sS --cacert "$JOBCELL_CACERT" --max-time 120 \
	    -H "Authorization: Bearer $JOBCELL_KEY" \
	    "$JOBCELL_URL/v1/jobs/$job_id/logs?follow=1"
	[[ $output == *'"type":"stdout"'*'Step 2/2 : RUN echo step-two-output'* ]] || fail "$output"
	[[ $output == *'step-two-output'* ]]
	[[ $(tail -n 1 <<<"$output" | jq -r .type) == exit ]]
	[[ $(tail -n 1 <<<"$output" | jq -r .status) == succeeded ]]
}

@test "a failing RUN fails the build with the builder's message, and makes no image" {
	context bad "FROM $BASE
RUN echo about to fail; false"
	build bad:1 "$ctx"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	wait_job "$job_id" 120
	[[ $(json_get .status "$job") == failed ]] || fail "$job"
	[[ $(json_get .error "$job") == *"returned a non-zero code: 1"* ]] || fail "$job"
	job_output "$job_id" stderr "$BATS_TEST_TMPDIR/err"
	grep -q 'returned a non-zero code' "$BATS_TEST_TMPDIR/err"
	image_gone "jobcell/$ALICE_ID/bad:1"
	api GET /v1/images
	[[ $(jq '[.images[] | select(.name == "bad")] | length' <<<"$api_body") == 0 ]]
}

@test "a RUN that reaches for the network fails: builds have none" {
	context net "FROM $BASE
RUN nc -w 3 10.255.255.1 80 </dev/null"
	build net:1 "$ctx"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	wait_job "$job_id" 120
	[[ $(json_get .status "$job") == failed ]] || fail "$job"
	[[ $(json_get .error "$job") == *"nc -w 3"*"non-zero code"* ]] || fail "$job"
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	grep -qi 'unreachable' "$BATS_TEST_TMPDIR/out" || fail "$(cat "$BATS_TEST_TMPDIR/out")"
	# network:true only where the server allows network (it does not here)
	build net:2 "$ctx" "$JOBCELL_KEY" ',"network":true'
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *network* ]]
}

@test "a context that is not a tar, has no Dockerfile, or escapes with ../ is refused with 400" {
	printf 'just text, not a tar archive\n%.0s' {1..50} >"$BATS_TEST_TMPDIR/notar"
	build x:1 "$BATS_TEST_TMPDIR/notar"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"not a tar"* ]]
	mkdir -p "$BATS_TEST_TMPDIR/nodf"
	echo hi >"$BATS_TEST_TMPDIR/nodf/file"
	tar -C "$BATS_TEST_TMPDIR/nodf" -czf "$BATS_TEST_TMPDIR/nodf.tgz" .
	build x:1 "$BATS_TEST_TMPDIR/nodf.tgz"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"no 'Dockerfile'"* ]]
	/usr/bin/python3 - "$BATS_TEST_TMPDIR/dotdot.tar" "$BASE" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name, data in (("Dockerfile", ("FROM %s\n" % sys.argv[2]).encode()),
                       ("../escape", b"x")):
        ti = tarfile.TarInfo(name); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
	build x:1 "$BATS_TEST_TMPDIR/dotdot.tar"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'../escape'"* ]]
	context argfrom "ARG B=$BASE
FROM \$B"
	build x:1 "$ctx"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *'variables'* ]]
	api -H 'Content-Type: text/plain' POST /v1/images '{"name":"x:1"}'
	assert_api_error 415 unsupported_media_type
	api POST /v1/images '{"name":"x:1","context":"sha256:00","bogus":1}'
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'bogus'"* ]]
	api GET /v1/jobs
	[[ $(jq '[.jobs[] | select(.name == "image x:1")] | length' <<<"$api_body") == 0 ]]
}

@test "a base that is neither the consumer's image nor allowed is refused, naming it; another consumer's image too" {
	context nobase "FROM debian:12
RUN true"
	build x:1 "$ctx"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'debian:12'"* ]]
	docker image inspect "jobcell/$ALICE_ID/tool:1" >/dev/null
	context steal "FROM jobcell/$ALICE_ID/tool:1"
	build x:1 "$ctx" "$BOB_KEY"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'jobcell/$ALICE_ID/tool:1'"* ]]
	context steal2 "FROM $BASE AS a
COPY --from=jobcell/$ALICE_ID/tool:1 /built /built"
	build x:1 "$ctx" "$BOB_KEY"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'jobcell/$ALICE_ID/tool:1'"* ]]
	# bob's "tool:1" is not alice's: no such image of bob's, not allowed
	context steal3 "FROM tool:1"
	build x:1 "$ctx" "$BOB_KEY"
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'tool:1'"* ]]
}

@test "the consumer's own image is a base (renamed for the daemon), and so is an earlier stage" {
	context layered "FROM tool:1 AS first
RUN echo layered >> /built
FROM first
RUN cat /built"
	build_ok layered:1 "$ctx"
	run_job '{"sandbox":"docker","image":"layered:1","command":"cat /built"}' 60
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ $(<"$BATS_TEST_TMPDIR/out") == $'built\nlayered' ]]
}

@test "another consumer can neither run, list nor delete the image" {
	JOBCELL_KEY=$BOB_KEY api POST /v1/jobs '{"sandbox":"docker","image":"tool:1","command":"true"}'
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'tool:1'"* ]]
	JOBCELL_KEY=$BOB_KEY api POST /v1/jobs "{\"sandbox\":\"docker\",\"image\":\"jobcell/$ALICE_ID/tool:1\",\"command\":\"true\"}"
	assert_api_error 400 invalid_request
	JOBCELL_KEY=$BOB_KEY api GET /v1/images
	assert_api_status 200
	[[ $(jq '.images | length' <<<"$api_body") == 0 ]]
	JOBCELL_KEY=$BOB_KEY api DELETE /v1/images/tool:1
	assert_api_error 404 not_found
	docker image inspect "jobcell/$ALICE_ID/tool:1" >/dev/null
}

@test "the image quota refuses a build past max_images with 429" {
	jobcell_admin set-quota --name bob --max-images 1
	context q1 "FROM $BASE"
	build_ok q:1 "$ctx" "$BOB_KEY"
	build q:2 "$ctx" "$BOB_KEY"
	assert_api_error 429 quota_exceeded
	[[ -n $(api_header Retry-After) ]]
	# a rebuild of the same name:tag counts once
	build q:1 "$ctx" "$BOB_KEY"
	assert_api_status 201
}

@test "DELETE removes the image from the API and the daemon" {
	context del "FROM $BASE"
	build_ok del:1 "$ctx"
	docker image inspect "jobcell/$ALICE_ID/del:1" >/dev/null
	api DELETE /v1/images/del:1
	assert_api_status 204
	api GET /v1/images
	[[ $(jq '[.images[] | select(.name == "del")] | length' <<<"$api_body") == 0 ]]
	api POST /v1/jobs '{"sandbox":"docker","image":"del:1","command":"true"}'
	assert_api_error 400 invalid_request
	wait_for 30 image_gone "jobcell/$ALICE_ID/del:1"
	api DELETE /v1/images/del:1
	assert_api_error 404 not_found
}

@test "cancelling a long build ends it cancelled, with no image and no build container left" {
	context slow "FROM $BASE
RUN echo sleeping; sleep 60"
	build slow:1 "$ctx"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	output_has() {
		api GET "/v1/jobs/$job_id/output?stream=stdout"
		[[ $api_body == *sleeping* ]]
	}
	wait_for 60 output_has
	api POST "/v1/jobs/$job_id/cancel"
	[[ $api_status == 200 || $api_status == 202 ]] || fail "cancel: $api_status $api_body"
	wait_job "$job_id" 60
	[[ $(json_get .status "$job") == cancelled ]] || fail "$job"
	image_gone "jobcell/$ALICE_ID/slow:1"
	no_containers() { [[ -z $(docker ps -aq) ]]; }
	wait_for 60 no_containers
	# The name is free again: no "being built" row stays.
	api GET /v1/images
	[[ $(jq '[.images[] | select(.name == "slow")] | length' <<<"$api_body") == 0 ]]
}

@test "an image unused past [retention] images_days is collected from the API and the daemon" {
	context old "FROM $BASE"
	build_ok old:1 "$ctx"
	sqlite3 "$JOBCELL_DB" "UPDATE images SET last_used_at = last_used_at - 40 * 86400000 WHERE name = 'old'"
	# jobcell-admin gc marks it (unless the supervisor's pass, every
	# second here, did so first); the supervisor removes it.
	run -0 jobcell_admin gc --json
	api GET /v1/images
	[[ $(jq '[.images[] | select(.name == "old")] | length' <<<"$api_body") == 0 ]]
	wait_for 30 image_gone "jobcell/$ALICE_ID/old:1"
	# A used one stays.
	docker image inspect "jobcell/$ALICE_ID/tool:1" >/dev/null
}

@test "CLI: jobcell images build packs a directory, follows the build and exits with its status; list and rm" {
	local jc d
	jc=$(jobcell_bin jobcell)
	d=$BATS_TEST_TMPDIR/clictx
	mkdir -p "$d"
	printf 'FROM %s\nCOPY msg /msg\nRUN echo cli-built >> /msg\n' "$BASE" >"$d/Dockerfile"
	echo from-the-cli >"$d/msg"
	export JOBCELL_SERVER=$JOBCELL_URL
	run --separate-stderr "$jc" images build clitool:1 "$d"
	((status == 0)) || fail "exit $status: $stderr $output"
	[[ $output == *"Step 1/3 : FROM $BASE"* ]] || fail "$output"
	[[ $output == *"Successfully tagged jobcell/$ALICE_ID/clitool:1"* ]]
	[[ $stderr == *succeeded* ]] || fail "$stderr"
	run -0 --separate-stderr "$jc" run --sandbox docker --image clitool:1 --command 'cat /msg'
	[[ $output == $'from-the-cli\ncli-built' ]] || fail "$output $stderr"
	run -0 "$jc" images list
	[[ $output == *NAME*TAG* ]]
	[[ $output == *clitool*1* ]]
	run -0 "$jc" --json images list
	[[ $(jq -r '.images[] | select(.name == "clitool") | .tag' <<<"$output") == 1 ]]
	# A failing build: exit 1 and the builder's error on stderr.
	printf 'FROM %s\nRUN false\n' "$BASE" >"$d/Dockerfile"
	run -1 --separate-stderr "$jc" images build clibad:1 "$d"
	[[ $stderr == *"non-zero code"* ]] || fail "$stderr"
	# Refused before any build: the server's message.
	printf 'FROM debian:12\n' >"$d/Dockerfile"
	run -1 --separate-stderr "$jc" images build clibad:2 "$d"
	[[ $stderr == *"'debian:12'"* ]] || fail "$stderr"
	run -0 "$jc" images rm clitool:1
	run -1 --separate-stderr "$jc" images rm clitool:1
	[[ $stderr == *not_found* ]] || fail "$stderr"
	run -2 --separate-stderr "$jc" images frob
	wait_for 30 image_gone "jobcell/$ALICE_ID/clitool:1"
}

@test "a runtime with sandbox = docker runs code in its image; one whose image is missing is not listed" {
	wait_for 60 runtimes_offered busybox-sh
	[[ $(jq -r '.runtimes[] | select(.name == "busybox-sh") | .sandbox' <<<"$api_body") == docker ]]
	# The version is what the version command printed in the image,
	# not the image's tag; a runtime whose image lacks it is not listed.
	local v
	v=$(docker run --rm --network none "$BASE" busybox | head -1 |
	    grep -Eo '[0-9]+(\.[0-9]+)+' | head -1)
	[[ -n $v ]] || fail "no version from busybox in $BASE"
	[[ $(jq -r '.runtimes[] | select(.name == "busybox-sh") | .version' <<<"$api_body") == "$v" ]] ||
	    fail "$api_body"
	[[ $(jq '[.runtimes[] | select(.name == "ghost" or .name == "noversion")] | length' <<<"$api_body") == 0 ]]
	run_job '{"runtime":"bbsh","code":"echo \"args: $*\"; cat /built 2>/dev/null || echo no-built; exit 3","args":["a","b c"]}' 60
	[[ $(json_get .status "$job") == failed ]] || fail "$job"
	[[ $(json_get .exit_code "$job") == 3 ]]
	[[ $(json_get .sandbox "$job") == docker ]]
	[[ $(json_get .runtime.name "$job") == busybox-sh ]]
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ $(<"$BATS_TEST_TMPDIR/out") == $'args: a b c\nno-built' ]]
	api POST /v1/jobs '{"runtime":"ghost","code":"true"}'
	assert_api_error 400 invalid_request
	[[ $(json_get .error.message "$api_body") == *"'ghost'"* ]]
}

# build_body CODE [JQ-EXTRA]: a busybox-build code job's JSON body.
build_body() {
	printf '%s' "$1" >"$BATS_TEST_TMPDIR/code"
	jq -cn --rawfile code "$BATS_TEST_TMPDIR/code" \
	    "{runtime: \"busybox-build\", code: \$code} ${2:++ $2}"
}

@test "a docker runtime's compile step runs in its own container on the same /work; its output is the compile streams" {
	wait_for 60 runtimes_offered busybox-build
	[[ $(jq -r '.runtimes[] | select(.name == "busybox-build") | .compiled' <<<"$api_body") == true ]] ||
	    fail "$api_body"
	run_job "$(build_body $'echo compiling\necho warning >&2\nprintf \'echo "run: $*"; cat\\n\' >prog' \
	    '{args: ["a1"], stdin: "in\n"}')" 90
	run -0 json_get '[.status, .exit_code, .sandbox, .compile.exit_code, .compile.timed_out, (.compile.duration_ms > 0)] | @json' "$job"
	assert_output '["succeeded",0,"docker",0,false,true]'
	job_output "$job_id" compile_stdout "$BATS_TEST_TMPDIR/cout"
	[[ $(<"$BATS_TEST_TMPDIR/cout") == compiling ]]
	job_output "$job_id" compile_stderr "$BATS_TEST_TMPDIR/cerr"
	[[ $(<"$BATS_TEST_TMPDIR/cerr") == warning ]]
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ $(<"$BATS_TEST_TMPDIR/out") == $'run: a1\nin' ]] ||
	    fail "$(<"$BATS_TEST_TMPDIR/out")"
	# The follow stream and /v1/run mark them too.
	run -0 curl -sS --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
	    "$JOBCELL_URL/v1/jobs/$job_id/logs?follow=1"
	run -0 jq -sr 'map(.type) | unique | join(" ")' <<<"$output"
	assert_output "compile_stderr compile_stdout exit stdout"
	api POST /v1/run "$(build_body $'echo built\necho "echo ran" >prog')"
	assert_api_status 201
	run -0 json_get '[.status, .compile_stdout, .stdout, .compile.exit_code] | @json' "$api_body"
	assert_output '["succeeded","built\n","ran\n",0]'
}

@test "a docker compile failure fails the job with compile.exit_code and the program never runs" {
	run_job "$(build_body $'echo "echo should-not-run" >prog\necho "syntax error" >&2\nexit 7')" 90
	run -0 json_get '[.status, .exit_code, .compile.exit_code, .compile.timed_out] | @json' "$job"
	assert_output '["failed",null,7,false]'
	api GET "/v1/jobs/$job_id/logs"
	assert_api_status 200
	run -0 json_get '[.entries[].stream] | unique | join(" ")' "$api_body"
	assert_output compile_stderr
	run -0 json_get '[.entries[].data] | join("")' "$api_body"
	assert_output 'syntax error'
}

@test "a docker compile step that runs past compile_timeout is stopped: compile.timed_out" {
	run_job "$(build_body $'echo started\nsleep 600\necho "echo ran" >prog' '{compile_timeout: 2}')" 90
	run -0 json_get '[.status, .exit_code, .compile.timed_out, (.compile.exit_code != 0 or .compile.signal != null)] | @json' "$job"
	assert_output '["failed",null,true,true]'
	job_output "$job_id" compile_stdout "$BATS_TEST_TMPDIR/cout"
	[[ $(<"$BATS_TEST_TMPDIR/cout") == started ]]
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ ! -s $BATS_TEST_TMPDIR/out ]]
}

@test "a docker compile step that allocates past compile_memory_mb is stopped by it, and the program never runs" {
	# The program is written first, then perl builds a 256 MiB string
	# (touching every page) in a step held to 64 MiB, in a job whose own
	# memory (1 GiB) would hold it. The fields are those 14-runtimes'
	# "compile bomb in memory" asserts for a namespace cell (failed, no
	# exit code, compile not timed out, compile failed), plus how it was
	# stopped: the compile container's memory cgroup killed it
	# (compile.signal 9, oom_killed), where a namespace cell's
	# RLIMIT_DATA fails the allocation (compile.exit_code, its message).
	local step=$'echo "echo ran" >prog\necho allocating\nperl -e \'$x = "a" x (256 * 1024 * 1024); print length($x), "\\n"\''
	run_job "$(build_body "$step" '{compile_memory_mb: 64, memory_mb: 1024}')" 90
	run -0 json_get '[.status, .exit_code, .compile.timed_out, (.compile.exit_code != 0)] | @json' "$job"
	[[ $output == '["failed",null,false,true]' ]] || fail "$output: $job"
	run -0 json_get '[.signal, .timed_out, .oom_killed, .compile.exit_code, .compile.signal] | @json' "$job"
	[[ $output == '[null,false,true,null,9]' ]] || fail "$output: $job"
	job_output "$job_id" compile_stdout "$BATS_TEST_TMPDIR/cout"
	[[ $(<"$BATS_TEST_TMPDIR/cout") == allocating ]]
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ ! -s $BATS_TEST_TMPDIR/out ]] || fail "the program ran: $(<"$BATS_TEST_TMPDIR/out")"
	# The same step with compile_memory_mb of 1 GiB gets there, and the
	# program runs: 64 MiB stopped it, nothing else.
	run_job "$(build_body "$step" '{compile_memory_mb: 1024, memory_mb: 1024}')" 90
	run -0 json_get '[.status, .oom_killed, .compile.exit_code] | @json' "$job"
	[[ $output == '["succeeded",false,0]' ]] || fail "$output: $job"
	job_output "$job_id" compile_stdout "$BATS_TEST_TMPDIR/cout"
	[[ $(<"$BATS_TEST_TMPDIR/cout") == $'allocating\n268435456' ]]
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/out"
	[[ $(<"$BATS_TEST_TMPDIR/out") == ran ]]
}

@test "Piston's execute runs a docker runtime with a compile step: compile{} and run{}" {
	api POST /api/v2/execute "$(jq -cn '{language: "busybox-build", version: "*",
	    files: [{content: "echo compiled\necho \"echo hello \\$1\" >prog"}], args: ["p"]}')"
	assert_api_status 200
	run -0 json_get '[.language, .compile.code, .compile.stdout, .run.code, .run.stdout] | @json' "$api_body"
	assert_output '["busybox-build",0,"compiled\n",0,"hello p\n"]'
	api POST /api/v2/execute "$(jq -cn '{language: "busybox-build", version: "*",
	    files: [{content: "echo nope >&2\nexit 3"}]}')"
	assert_api_status 200
	run -0 json_get '[.compile.code, .compile.stderr, (.run.stdout // "")] | @json' "$api_body"
	assert_output '[3,"nope\n",""]'
}

@test "CLI: jobcell exec runs a docker runtime's compile step, then the program, and exits with its status" {
	export JOBCELL_SERVER=$JOBCELL_URL
	local jc
	jc=$(jobcell_bin jobcell)
	# The program reads its stdin before it writes anything.
	printf 'echo cli-compiled >&2\necho "cat; echo ran; exit 5" >prog\n' >"$BATS_TEST_TMPDIR/b.sh"
	run -5 --separate-stderr "$jc" exec --runtime busybox-build "$BATS_TEST_TMPDIR/b.sh" <<<"piped"
	assert_output $'piped\nran'
	printf 'echo cli-broken >&2\nexit 2\n' >"$BATS_TEST_TMPDIR/bad.sh"
	run -1 --separate-stderr "$jc" exec --runtime busybox-build "$BATS_TEST_TMPDIR/bad.sh" </dev/null
	assert_output ""
	[[ $stderr == *cli-broken* ]] || fail "the compile step's error is not on stderr: $stderr"
}
