#!/usr/bin/env bats
# Piston's v2 API as Piston's clients see it (issue 14): GET
# /api/v2/runtimes and POST /api/v2/execute with every documented field,
# Piston's defaults, units (ms, bytes), response and error shapes; the
# same under /piston/{key}/ for clients that cannot send headers, with a
# wrong or disabled key refused exactly as elsewhere and no key in any
# log; and a published Piston client (npm piston-client) run by node
# against the stack over TLS.

bats_require_minimum_version 1.5.0

load ../lib/common

setup_file() {
	stack_start
	new_consumer alice ALICE_KEY
	# The worker publishes its runtimes once it has found their versions.
	JOBCELL_KEY=$ALICE_KEY wait_for 60 runtimes_offered python c ||
		return 1
	new_consumer dora DORA_KEY
	jobcell_admin disable-consumer --name dora >/dev/null
}

teardown_file() {
	stack_stop
}

setup() {
	export JOBCELL_KEY=$ALICE_KEY
}

# execute JQ-BODY: POST /api/v2/execute with that body (jq -n syntax).
execute() {
	api POST /api/v2/execute "$(jq -cn "$1")"
}

# assert_piston_error STATUS MESSAGE-REGEX: Piston's error shape.
assert_piston_error() {
	assert_api_status "$1"
	run -0 json_get 'keys | join(",")' "$api_body"
	assert_output message
	run -0 json_get .message "$api_body"
	assert_output --regexp "$2"
}

@test "GET /api/v2/runtimes: Piston's list of {language, version, aliases}" {
	api GET /api/v2/runtimes
	assert_api_status 200
	run -0 json_get 'type' "$api_body"
	assert_output array
	run -0 json_get '.[] | select(.language == "python") | [(.version | test("^[0-9]+[.][0-9.]+$")), (.aliases | index("py") != null)] | @json' "$api_body"
	assert_output '[true,true]'
	run -0 json_get '[.[] | keys | join(",")] | unique | join(" ")' "$api_body"
	assert_output aliases,language,version
	api --no-key GET /api/v2/runtimes
	assert_api_status 401
}

@test "execute: language, version *, files, stdin, args; Piston's run{} shape" {
	execute '{language: "python", version: "*",
	    files: [{name: "main.py", content: "import sys\nprint(open(\"data.txt\").read(), sys.argv[1:], input())", encoding: "utf8"},
	            {name: "data.txt", content: "DATA"}],
	    stdin: "IN", args: ["1", "two"]}'
	assert_api_status 200
	run -0 json_get '[.language, (.version | length > 0), .run.stdout, .run.stderr, .run.output, .run.code, .run.signal, has("compile")] | @json' "$api_body"
	assert_output '["python",true,"DATA ['"'"'1'"'"', '"'"'two'"'"'] IN\n","","DATA ['"'"'1'"'"', '"'"'two'"'"'] IN\n",0,null,false]'
	# A version prefix and an alias find the runtime too.
	local v
	v=$(json_get .version "$api_body")
	execute "{language: \"py\", version: \"${v%%.*}\", files: [{content: \"print(2)\"}]}"
	assert_api_status 200
	run -0 json_get '[.language, .run.stdout] | @json' "$api_body"
	assert_output '["python","2\n"]'
	execute "{language: \"python3\", version: \"${v%%.*}.x\", files: [{content: \"print(3)\"}]}"
	assert_api_status 200
	run -0 json_get .run.stdout "$api_body"
	assert_output 3
}

@test "execute: a compiled language has compile{}; a compile failure repeats it as run{}" {
	execute '{language: "c", version: "*", files: [{content: "#include <stdio.h>\nint main(void) { puts(\"c\"); return 3; }"}],
	    compile_timeout: 10000, compile_memory_limit: 268435456, compile_cpu_time: 10000}'
	assert_api_status 200
	run -0 json_get '[.compile.code, .run.stdout, .run.code, .run.status] | @json' "$api_body"
	assert_output '[0,"c\n",3,"RE"]'
	execute '{language: "c", version: "*", files: [{content: "int main(void) { return nope; }"}]}'
	assert_api_status 200
	run -0 json_get '[.compile.code, .run.code, (.compile.stderr | contains("nope")), (.run.stderr == .compile.stderr)] | @json' "$api_body"
	assert_output '[1,1,true,true]'
}

@test "execute: run_timeout (ms) ends the run as Piston reports it; signals by name" {
	execute '{language: "python", version: "*", files: [{content: "while True: pass"}], run_timeout: 1000, run_cpu_time: 1000}'
	assert_api_status 200
	run -0 json_get '[.run.status, .run.signal, .run.code] | @json' "$api_body"
	assert_output '["TO","SIGKILL",null]'
	execute '{language: "python", version: "*", files: [{content: "import os\nos.kill(os.getpid(), 11)"}]}'
	run -0 json_get '[.run.status, .run.signal, .run.code] | @json' "$api_body"
	assert_output '["SG","SIGSEGV",null]'
}

@test "execute: run_memory_limit (bytes) bounds the run's memory; -1 is the default" {
	execute '{language: "python", version: "*", files: [{content: "x = bytearray(200 * 1024 * 1024)\nprint(len(x))"}], run_memory_limit: 67108864}'
	assert_api_status 200
	run -0 json_get '.run.code != 0 or .run.signal != null' "$api_body"
	assert_output true
	execute '{language: "python", version: "*", files: [{content: "x = bytearray(20 * 1024 * 1024)\nprint(len(x))"}], run_memory_limit: -1, compile_memory_limit: -1}'
	run -0 json_get '.run.stdout' "$api_body"
	assert_output 20971520
}

@test "execute: Piston's errors, shape and status, for each bad field" {
	execute '{version: "*", files: [{content: "1"}]}'
	assert_piston_error 400 '^language is required as a string$'
	execute '{language: 5, version: "*", files: [{content: "1"}]}'
	assert_piston_error 400 '^language is required as a string$'
	execute '{language: "python", files: [{content: "1"}]}'
	assert_piston_error 400 '^version is required as a string$'
	execute '{language: "python", version: "*"}'
	assert_piston_error 400 '^files is required as an array$'
	execute '{language: "python", version: "*", files: {}}'
	assert_piston_error 400 '^files is required as an array$'
	execute '{language: "python", version: "*", files: [{content: 5}]}'
	assert_piston_error 400 '^files\[0\]\.content is required as a string$'
	execute '{language: "python", version: "*", files: []}'
	assert_piston_error 400 '^files must include at least one utf8 encoded file$'
	execute '{language: "cobol", version: "*", files: [{content: "1"}]}'
	assert_piston_error 400 '^cobol-\* runtime is unknown$'
	execute '{language: "python", version: "0.1", files: [{content: "1"}]}'
	assert_piston_error 400 '^python-0\.1 runtime is unknown$'
	execute '{language: "python", version: "*", files: [{content: "1"}], run_timeout: "3000"}'
	assert_piston_error 400 '^If specified, run_timeout must be a number$'
	execute '{language: "python", version: "*", files: [{content: "1"}], compile_memory_limit: -5}'
	assert_piston_error 400 '^compile_memory_limit must be non-negative$'
	execute '{language: "python", version: "*", files: [{content: "1"}], run_timeout: 999999999999}'
	assert_piston_error 400 '^run_timeout cannot exceed the configured limit of [0-9]+$'
	api -H 'Content-Type: text/plain' POST /api/v2/execute 'not json'
	assert_piston_error 400 'not valid JSON'
	api GET /api/v2/execute
	assert_piston_error 405 'POST'
}

@test "execute takes the text/plain bodies clients send" {
	api -H 'Content-Type: text/plain;charset=UTF-8' POST /api/v2/execute \
	    '{"language":"javascript","version":"*","files":[{"content":"console.log(6*7)"}]}'
	assert_api_status 200
	run -0 json_get .run.stdout "$api_body"
	assert_output 42
}

@test "/piston/{key}/api/v2: the key from the path; wrong 401, disabled 403; no key in any log" {
	run -0 curl -sS --cacert "$JOBCELL_CACERT" -w '\n%{http_code}' \
	    -d '{"language":"python","version":"*","files":[{"content":"print(5)"}]}' \
	    "$JOBCELL_URL/piston/$ALICE_KEY/api/v2/execute"
	assert_line --index 1 200
	run -0 json_get .run.stdout "${lines[0]}"
	assert_output 5
	local wrong=0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
	run -0 curl -sS --cacert "$JOBCELL_CACERT" -D "$BATS_TEST_TMPDIR/h" -w '\n%{http_code}' \
	    "$JOBCELL_URL/piston/$wrong/api/v2/runtimes"
	assert_line --index 1 401
	run -0 json_get .error.code "${lines[0]}"
	assert_output unauthorized
	grep -qi '^www-authenticate: Bearer' "$BATS_TEST_TMPDIR/h"
	# A header key does not stand in for a wrong path key.
	run -0 curl -sS --cacert "$JOBCELL_CACERT" -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer $ALICE_KEY" "$JOBCELL_URL/piston/$wrong/api/v2/runtimes"
	assert_output 401
	run -0 curl -sS --cacert "$JOBCELL_CACERT" -w '\n%{http_code}' \
	    "$JOBCELL_URL/piston/$DORA_KEY/api/v2/runtimes"
	assert_line --index 1 403
	run -0 curl -sS --cacert "$JOBCELL_CACERT" -o /dev/null -w '%{http_code}' \
	    "$JOBCELL_URL/piston/$ALICE_KEY/v1/jobs"
	assert_output 404
	# No log of the stack holds any of the keys (nor their secret halves).
	local f k
	for f in "$JOBCELL_STACK_DIR"/*.log; do
		for k in "$ALICE_KEY" "$DORA_KEY" "$wrong"; do
			if grep -qF -- "${k#*.}" "$f"; then
				fail "$f holds a key from a /piston/ path"
			fi
		done
	done
}

@test "a published Piston client (npm piston-client) works unchanged over TLS" {
	local dir=${JOBCELL_NPM_DIR:-/var/cache/jobcell-test/npm}/node_modules/piston-client
	[[ -r $dir/index.js ]] || skip_because "npm piston-client in $dir (tools/deps installs it)"
	skip_unless command -v node
	run -0 --separate-stderr env NODE_EXTRA_CA_CERTS="$JOBCELL_CACERT" \
	    PISTON_CLIENT_DIR="$dir" SERVER="$JOBCELL_URL/piston/$ALICE_KEY" \
	    node "$JOBCELL_SRCDIR/tests/e2e/piston/client.mjs"
	local all=$output
	run -0 jq -sr '.[] | select(.call == "runtimes") | .runtimes | map(.language) | index("python") != null' <<<"$all"
	assert_output true
	run -0 jq -sr '.[] | select(.call == "python") | .result.run.stdout' <<<"$all"
	assert_output "py ['1', '2', '3']"
	run -0 jq -sr '.[] | select(.call == "c") | [.result.compile.code, .result.run.code, .result.run.stdout] | @json' <<<"$all"
	assert_output '[0,4,"c\n"]'
	run -0 jq -sr '.[] | select(.call == "c-bad") | .result.compile.code' <<<"$all"
	assert_output 1
}
