#!/usr/bin/env bats
# Runtimes and code jobs as a user sees them (issue 14): GET /v1/runtimes
# lists what the worker found installed (and nothing else); code jobs
# through /v1/jobs, /v1/run and the CLI, compiled and run in one cell; the
# compile step's output kept apart in logs, follow streams and /v1/run;
# and the bad input: unknown runtimes and versions, code too large, code
# with command, compile bombs (time and memory), compiler output floods.

bats_require_minimum_version 1.5.0

load ../lib/common

setup_file() {
	# The source tree's runtimes, plus one whose toolchain is missing.
	mkdir -p "$BATS_FILE_TMPDIR/runtimes.d"
	cp "$JOBCELL_SRCDIR"/etc/runtimes.d/*.ini "$BATS_FILE_TMPDIR/runtimes.d/"
	cat >"$BATS_FILE_TMPDIR/runtimes.d/nosuch.ini" <<-EOF
		[runtime]
		name = nosuchlang
		file = main.nsl
		run = nosuchlang-interpreter {file}
		version = nosuchlang-interpreter --version
	EOF
	cat >"$BATS_FILE_TMPDIR/jobcell.conf" <<-EOF
		[worker]
		runtimes_dir = $BATS_FILE_TMPDIR/runtimes.d
		output_cap = 1048576
	EOF
	JOBCELL_STACK_CONFIG=$BATS_FILE_TMPDIR/jobcell.conf stack_start
	new_consumer alice ALICE_KEY
	# The worker publishes its runtimes once it has found their versions.
	JOBCELL_KEY=$ALICE_KEY wait_for 60 runtimes_offered python c ||
		return 1
}

teardown_file() {
	stack_stop
}

setup() {
	export JOBCELL_KEY=$ALICE_KEY
}

# code_body RUNTIME CODE [JQ-EXTRA]: a code job's JSON body.
code_body() {
	printf '%s' "$2" >"$BATS_TEST_TMPDIR/code"
	jq -cn --arg rt "$1" --rawfile code "$BATS_TEST_TMPDIR/code" \
	    "{runtime: \$rt, code: \$code} ${3:++ $3}"
}

@test "GET /v1/runtimes lists the installed toolchains with the versions they report" {
	api GET /v1/runtimes
	assert_api_status 200
	local py c
	# The toolchains the cells see: the cells' PATH, not ours.
	py=$(PATH=/usr/local/bin:/usr/bin:/bin python3 --version |
	    grep -Eo '[0-9]+(\.[0-9]+)+' | head -1)
	c=$(PATH=/usr/local/bin:/usr/bin:/bin gcc --version | head -1 |
	    grep -Eo '[0-9]+(\.[0-9]+)+' | tail -1)
	run -0 json_get '.runtimes[] | select(.name == "python") | .version' "$api_body"
	assert_output "$py"
	run -0 json_get '.runtimes[] | select(.name == "python") | .aliases | index("py") != null' "$api_body"
	assert_output true
	run -0 json_get '.runtimes[] | select(.name == "c") | [.version, .compiled, .sandbox] | join(" ")' "$api_body"
	assert_output "$c true namespace"
	for name in sh bash perl c++ javascript; do
		run -0 json_get ".runtimes | map(.name) | index(\"$name\") != null" "$api_body"
		assert_output true
	done
	# A runtime whose toolchain is missing is not listed ...
	run -0 json_get '.runtimes | map(.name) | index("nosuchlang")' "$api_body"
	assert_output null
	# ... and a job naming it is refused, naming it.
	api POST /v1/jobs "$(code_body nosuchlang 'x')"
	assert_api_error 400 invalid_request
	assert_regex "$api_body" "'nosuchlang'"
	# Authenticated like the rest of /v1.
	api --no-key GET /v1/runtimes
	assert_api_status 401
}

@test "a python code job runs with args and stdin; the job names its runtime" {
	api POST /v1/run "$(code_body py $'import sys\nprint(sys.argv[1:], input())\nsys.exit(3)' \
	    '{args: ["a", "b c"], stdin: "in\n"}')"
	assert_api_status 201
	run -0 json_get '[.status, .exit_code, .runtime.name, .stdout] | @json' "$api_body"
	assert_output '["failed",3,"python","['"'"'a'"'"', '"'"'b c'"'"'] in\n"]'
	run -0 json_get '.compile' "$api_body"
	assert_output null
}

@test "a C code job is compiled, then run, in one job; compile{} says how the compile went" {
	api POST /v1/run "$(code_body c $'#include <stdio.h>\nint main(int c, char **v) { printf("%s\\n", v[1]); return 4; }' \
	    '{args: ["x"]}')"
	assert_api_status 201
	run -0 json_get '[.status, .exit_code, .stdout, .compile.exit_code, .compile.timed_out, (.compile.duration_ms > 0)] | @json' "$api_body"
	assert_output '["failed",4,"x\n",0,false,true]'
	# name@version picks a version; a version it does not have is named.
	local v
	v=$(json_get .runtime.version "$api_body")
	api POST /v1/run "$(code_body "c@${v%%.*}" 'int main(void) { return 0; }')"
	assert_api_status 201
	run -0 json_get .status "$api_body"
	assert_output succeeded
	api POST /v1/jobs "$(code_body c@1.0.0 'int main(void) { return 0; }')"
	assert_api_error 400 invalid_request
	assert_regex "$api_body" "'1.0.0'"
}

@test "a compile error fails the job with compile.exit_code; its output is the compile step's everywhere" {
	run_job "$(code_body c 'int main(void) { return undeclared_x; }')"
	run -0 json_get '[.status, .exit_code, .compile.exit_code] | @json' "$job"
	assert_output '["failed",null,1]'
	# logs: entries marked compile_stderr, nothing on stdout/stderr
	api GET "/v1/jobs/$job_id/logs"
	assert_api_status 200
	run -0 json_get '[.entries[].stream] | unique | join(" ")' "$api_body"
	assert_output compile_stderr
	run -0 json_get '[.entries[].data] | join("")' "$api_body"
	assert_output --partial undeclared_x
	# the exact bytes of the compile step's stderr
	api GET "/v1/jobs/$job_id/output?stream=compile_stderr"
	assert_api_status 200
	[[ $api_body == *"error: 'undeclared_x' undeclared"* || $api_body == *undeclared_x*undeclared* ]] ||
		fail "no compiler error in the compile_stderr bytes: $api_body"
	api GET "/v1/jobs/$job_id/output?stream=bogus"
	assert_api_error 400 invalid_request
	# the follow stream marks them too
	run -0 curl -sS --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
	    "$JOBCELL_URL/v1/jobs/$job_id/logs?follow=1"
	run -0 jq -sr 'map(.type) | unique | join(" ")' <<<"$output"
	assert_output "compile_stderr exit"
	# /v1/run carries them as compile_stdout/compile_stderr
	api POST /v1/run "$(code_body c 'int main(void) { return undeclared_y; }')"
	run -0 json_get '[.stdout, (.compile_stderr | contains("undeclared_y"))] | @json' "$api_body"
	assert_output '["",true]'
}

@test "bad code requests: code with command, code over 1 MiB, no runtime, args without code" {
	api POST /v1/jobs '{"runtime":"python","code":"print(1)","command":"true"}'
	assert_api_error 400 invalid_request
	assert_regex "$api_body" "'command'"
	local big
	big=$(head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#')
	api POST /v1/jobs "$(code_body python "$big")"
	assert_api_error 400 invalid_request
	assert_regex "$api_body" "'code'"
	api POST /v1/jobs '{"code":"print(1)"}'
	assert_api_error 400 invalid_request
	assert_regex "$api_body" "'runtime'"
	api POST /v1/jobs '{"command":"true","args":["a"]}'
	assert_api_error 400 invalid_request
	assert_regex "$api_body" "'args'"
	api POST /v1/jobs "$(code_body python 'x' '{compile_timeout: 0}')"
	assert_api_error 400 invalid_request
	assert_regex "$api_body" "'compile_timeout'"
}

@test "a compile bomb in time is stopped by compile_timeout" {
	# The preprocessor reads its own stdout, the compile step's pipe, which
	# nobody writes: it waits forever, using neither CPU nor memory, so
	# only compile_timeout can end it (reading /dev/zero instead raced the
	# memory limit on a fast machine).
	api POST /v1/run "$(code_body c $'#include "/proc/self/fd/1"\nint main(void) { return 0; }' '{compile_timeout: 2}')"
	assert_api_status 201
	run -0 json_get '[.status, .exit_code, .compile.timed_out, .compile.signal] | @json' "$api_body"
	assert_output '["failed",null,true,9]'
}

@test "a compile bomb in memory is stopped by compile_memory_mb" {
	# Ten million copies of a 76-byte string: ~760 MB for cc1.
	local code
	code='#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B A A A A A A A A A A
#define C B B B B B B B B B B
#define D C C C C C C C C C C
#define E D D D D D D D D D D
#define F E E E E E E E E E E
#define G F F F F F F F F F F
const char *s = G G G G G G G G G G;
int main(void) { return 0; }'
	api POST /v1/run "$(code_body c "$code" '{compile_memory_mb: 64}')"
	assert_api_status 201
	run -0 json_get '[.status, .exit_code, .compile.timed_out, (.compile.exit_code != 0)] | @json' "$api_body"
	assert_output '["failed",null,false,true]'
	run -0 json_get .compile_stderr "$api_body"
	assert_output --regexp 'memory|Cannot allocate'
}

@test "a compiler's output flood is capped like any output" {
	# 20,000 errors of ~200 bytes each: far past the 1 MiB cap.
	local code
	code=$(printf 'int f(void) {\n'; for ((i = 0; i < 200; i++)); do printf 'x%d;' $i; done; printf '}\n')
	code=$(for ((i = 0; i < 100; i++)); do printf '%s\n' "${code/f/f$i}"; done)
	run_job "$(code_body c "$code" '{compile_timeout: 60}')" 120
	run -0 json_get '[.status, .log_truncated, .compile.exit_code, (.log_bytes <= 1048576 + 1024)] | @json' "$job"
	assert_output '["failed",true,1,true]'
}

@test "jobcell runtimes, exec (stdin through, the program's status) and submit --runtime" {
	export JOBCELL_SERVER=$JOBCELL_URL
	run -0 --separate-stderr "$(jobcell_bin jobcell)" runtimes
	assert_line --regexp '^python +[0-9.]+ +no +py python3$'
	assert_line --regexp '^c +[0-9.]+ +yes +gcc$'
	printf 'import sys\nprint(sys.argv[1:], sys.stdin.read())\nsys.exit(6)\n' >"$BATS_TEST_TMPDIR/p.py"
	run -6 --separate-stderr "$(jobcell_bin jobcell)" exec --runtime python \
	    "$BATS_TEST_TMPDIR/p.py" a -b <<<"piped"
	assert_output "['a', '-b'] piped"
	printf 'int main(void) { return nope; }\n' >"$BATS_TEST_TMPDIR/bad.c"
	run -1 --separate-stderr "$(jobcell_bin jobcell)" exec --runtime c "$BATS_TEST_TMPDIR/bad.c" </dev/null
	assert_output ""
	[[ $stderr == *nope* ]] || fail "the compiler's error is not on stderr: $stderr"
	run -0 --separate-stderr "$(jobcell_bin jobcell)" submit --runtime c \
	    --code-file "$BATS_TEST_TMPDIR/bad.c" --json
	run -0 json_get .runtime.name "$output"
	assert_output c
	run -2 --separate-stderr "$(jobcell_bin jobcell)" exec "$BATS_TEST_TMPDIR/bad.c"
	[[ $stderr == *--runtime* ]]
	run -2 --separate-stderr "$(jobcell_bin jobcell)" submit --runtime c
	[[ $stderr == *--code-file* ]]
}

@test "SIGHUP: a runtime file added or removed is offered or withdrawn" {
	cat >"$BATS_FILE_TMPDIR/runtimes.d/shell2.ini" <<-EOF
		[runtime]
		name = shell2
		file = s.sh
		run = sh {file}
		version = bash --version
	EOF
	mv "$BATS_FILE_TMPDIR/runtimes.d/perl.ini" "$BATS_FILE_TMPDIR/perl.ini.off"
	kill -HUP "$(cat "$JOBCELL_STACK_DIR/worker.pid")"
	wait_for 60 runtimes_offered shell2
	run -0 json_get '.runtimes | map(.name) | index("perl")' "$api_body"
	assert_output null
	api POST /v1/run "$(code_body shell2 'echo reloaded')"
	assert_api_status 201
	run -0 json_get .stdout "$api_body"
	assert_output reloaded
	api POST /v1/jobs "$(code_body perl 'print 1')"
	assert_api_error 400 invalid_request
}
