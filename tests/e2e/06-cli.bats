#!/usr/bin/env bats
# The jobcell client's job commands as a user meets them: ping, me, every
# way to submit, run's exit codes and byte-exact output, status/logs/list/
# cancel for people and as JSON, and clear errors (a wrong key, a server
# that is not there, a CA that does not match, usage). Profiles are in
# 06-cli-profiles.bats, following and Ctrl-C in 06-cli-follow.bats.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cli

setup_file() {
	cli_setup_file
}

teardown_file() {
	stack_stop
}

setup() {
	cli_setup --init
}

job_status_is() {	# job_status_is ID STATUS (through the client)
	local out
	out=$("$JC" status --json "$1") && [[ $(jq -r .status <<<"$out") == "$2" ]]
}

# free_port: a local TCP port nothing listens on.
free_port() {
	local port try
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

@test "ping checks the server, then the key; --json says the same" {
	run -0 "$JC" ping
	assert_line --regexp "^server: ok \\($JOBCELL_URL, version [0-9][^,]*, db ok\\)\$"
	assert_line "key:    ok (consumer 'alice')"
	run -0 "$JC" ping --json
	run -0 jq -r '[.server, .auth, .consumer, .url] | join(",")' <<<"$output"
	assert_output "ok,ok,alice,$JOBCELL_URL"
}

@test "a wrong key is reported with the server's code, message and 401" {
	local cmd
	for cmd in "ping" "me" "list" "status 00000000000000000000000000"; do
		# shellcheck disable=SC2086
		run -1 --separate-stderr env JOBCELL_KEY=0000000000000000.wrong \
		    "$JC" $cmd
		[[ $cmd == ping ]] || assert_equal "$output" ""
		[[ $stderr == *": unauthorized: "*" (HTTP 401)"* ]] ||
			fail "$cmd: $stderr"
		[[ $stderr == *"check the key: 'jobcell config' shows which one is used"* ]]
	done
}

@test "an unreachable server is named with the reason" {
	local port
	port=$(free_port)
	run -1 --separate-stderr env JOBCELL_SERVER="https://127.0.0.1:$port" \
	    "$JC" list
	assert_equal "$output" ""
	[[ $stderr == "jobcell: list: https://127.0.0.1:$port: "*"onnect"* ]] ||
		fail "$stderr"
	run -1 --separate-stderr env JOBCELL_SERVER="https://127.0.0.1:$port" \
	    "$JC" run --command true
	[[ $stderr == "jobcell: run: https://127.0.0.1:$port: "* ]]
}

@test "a CA that did not sign the server's certificate is refused, with a hint" {
	local ca=$BATS_TEST_TMPDIR/other-ca.pem
	run -0 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -keyout "$BATS_TEST_TMPDIR/other-ca.key" -out "$ca" \
	    -days 1 -subj /CN=other-ca
	run -1 --separate-stderr env JOBCELL_CACERT="$ca" "$JC" status 00000000000000000000000000
	[[ $stderr == "jobcell: status: $JOBCELL_URL: "*"certificate"*"(is it signed by the CA file?)" ]] ||
		fail "$stderr"
	run -1 --separate-stderr env JOBCELL_CACERT=/nonexistent "$JC" ping
	[[ $stderr == *"CA file '/nonexistent'"* ]]
	run -1 --separate-stderr env JOBCELL_CACERT=/etc/hostname "$JC" ping
	[[ $stderr == *"bad CA file"* ]]
}

@test "me shows the consumer, --json its object" {
	run -0 "$JC" me
	assert_line --regexp '^name: +alice$'
	assert_line --regexp '^limits\.max_concurrent: +[0-9]+$'
	run -0 "$JC" me --json
	run -0 jq -r .name <<<"$output"
	assert_output alice
}

@test "submit prints the id, --json the job; --wait the status line and success" {
	local id
	run -0 "$JC" submit --command 'echo hi' --name greeting
	assert_output --regexp '^[A-Za-z0-9_-]+$'
	id=$output
	run -0 "$JC" submit --json --command 'true'
	run -0 jq -r '.id | test("^[A-Za-z0-9_-]+$")' <<<"$output"
	assert_output true
	run -1 "$JC" submit --command 'exit 3' --wait
	assert_output --regexp '^[A-Za-z0-9_-]+ failed exit_code=3 duration_ms=[0-9]+$'
	run -0 "$JC" submit --command 'true' --wait --json
	run -0 jq -r '[.status, .exit_code] | join(",")' <<<"$output"
	assert_output "succeeded,0"
	wait_for 20 job_status_is "$id" succeeded
	run -0 "$JC" status --json "$id"
	run -0 jq -r .name <<<"$output"
	assert_output greeting
}

@test "--command-file, --stdin and --argv run what they say" {
	local f=$BATS_TEST_TMPDIR/script.sh
	printf 'echo "from file $#"\nexit 4\n' >"$f"
	run -4 "$JC" run --command-file "$f"
	assert_output "from file 0"
	run -0 "$JC" run --stdin <<<'echo from stdin; echo "$0"'
	assert_output $'from stdin\n/bin/sh'
	run -0 "$JC" run --argv -- /bin/sh -c 'echo "$#:$1:$2"' zero 'a b' '$HOME;'
	assert_output '2:a b:$HOME;'
	run -0 "$JC" run --argv -- /bin/echo 'a  b' c
	assert_output 'a  b c'
	run -1 --separate-stderr "$JC" run --command-file /nonexistent
	[[ $stderr == "jobcell: run: cannot read command file '/nonexistent': No such file or directory" ]]
}

@test "--stdin-file feeds the job's stdin and --env sets its variables" {
	local f=$BATS_TEST_TMPDIR/input
	printf 'line one\nline two\n' >"$f"
	run -0 "$JC" run --stdin-file "$f" --command 'wc -l; cat'
	assert_output 2
	run -0 "$JC" run --stdin-file "$f" --command 'cat'
	assert_output $'line one\nline two'
	run -0 "$JC" run --stdin-file - --command 'tr a-z A-Z' <<<'shout'
	assert_output SHOUT
	# --input was this option's old name; it now puts the file in the
	# workspace (40-cli-inputs.bats), and standard input stays empty.
	run -0 "$JC" run --input "$f" --command 'cat; cat input'
	assert_output $'line one\nline two'
	run -0 "$JC" run --env A=1 --env 'B=two words' --env C= \
	    --command 'echo "$A|$B|${C-unset}"'
	assert_output '1|two words|'
	run -2 --separate-stderr "$JC" run --env A=1 --env A=2 --command true
	[[ $stderr == *"--env A given twice"* ]]
	run -2 --separate-stderr "$JC" run --env novalue --command true
	[[ $stderr == *"--env wants NAME=VALUE"* ]]
}

@test "run exits with the job's code: 0, 7, 137 for a KILL, 124 on timeout" {
	run -0 "$JC" run --command true
	run -7 "$JC" run --command 'exit 7'
	# A job its own signal ends exits 128+N, as a shell says (jobcell(1)).
	run -137 "$JC" run --command 'kill -KILL $$'
	run -124 --separate-stderr "$JC" run --timeout 1 --command 'echo before; sleep 30'
	assert_output before
	run -0 "$JC" list --limit 1 --json
	run -0 "$JC" status --json "$(jq -r '.jobs[0].id' <<<"$output")"
	run -0 jq -r '[.status, .timed_out] | join(",")' <<<"$output"
	assert_output "timed_out,true"
}

@test "run keeps stdout and stderr apart, byte for byte" {
	local d=$BATS_TEST_TMPDIR cmd id
	# a NUL byte, UTF-8, and a last line without its newline on each
	cmd='printf "line1\n"; printf "e1\n" >&2; printf "nul:\0:end"; '
	cmd+='printf "e2 no newline" >&2; printf "\ncaf\303\251 tail"'
	printf 'line1\nnul:\0:end\ncaf\303\251 tail' >"$d/want.out"
	printf 'e1\ne2 no newline' >"$d/want.err"
	"$JC" run --command "$cmd" >"$d/out" 2>"$d/err"
	cmp "$d/want.out" "$d/out"
	cmp "$d/want.err" "$d/err"
	run -0 "$JC" list --limit 1 --json
	id=$(jq -r '.jobs[0].id' <<<"$output")
	# logs (JSON pages) and logs --raw (the stored bytes) agree
	"$JC" logs "$id" >"$d/lout" 2>"$d/lerr"
	cmp "$d/want.out" "$d/lout"
	cmp "$d/want.err" "$d/lerr"
	"$JC" logs --raw "$id" >"$d/raw.out"
	"$JC" logs --raw --stream stderr "$id" >"$d/raw.err"
	cmp "$d/want.out" "$d/raw.out"
	cmp "$d/want.err" "$d/raw.err"
	"$JC" logs --stream stderr "$id" >"$d/only.out" 2>"$d/only.err"
	[[ ! -s $d/only.out ]]
	cmp "$d/want.err" "$d/only.err"
}

@test "status and logs print for people and as JSON" {
	local id
	run -0 "$JC" submit --command 'echo one; echo two >&2' --wait
	id=${output%% *}
	run -0 "$JC" status "$id"
	assert_line --regexp '^status: +succeeded$'
	assert_line --regexp '^limits\.timeout: +[0-9]+$'
	assert_line --regexp "^id: +$id\$"
	run -0 "$JC" status --json "$id"
	run -0 jq -r '[.id, .status, .exit_code] | join(",")' <<<"$output"
	assert_output "$id,succeeded,0"
	run -0 --separate-stderr "$JC" logs "$id"
	assert_output one
	[[ $stderr == two ]]
	run -0 "$JC" logs --json "$id"
	run -0 jq -rsc 'map([.type, .data]) | sort' <<<"$output"
	assert_output '[["stderr","two\n"],["stdout","one\n"]]'
	run -2 "$JC" logs --raw --json "$id"
	run -2 "$JC" logs --stream both "$id"
}

# col TEXT WORD: the 0-based column where WORD starts in TEXT.
col() {
	local before=${1%%"$2"*}
	echo "${#before}"
}

@test "list prints an aligned table, newest first; --json, --status, paging" {
	local a b c header line s e n i
	run -0 "$JC" submit --wait --command true --name a
	a=${output%% *}
	run -1 "$JC" submit --wait --command 'exit 7' --name 'a much longer name'
	b=${output%% *}
	run -0 "$JC" submit --wait --command true
	c=${output%% *}
	run -0 --separate-stderr "$JC" list --limit 3
	assert_equal "${#lines[@]}" 4
	header=${lines[0]}
	[[ $header =~ ^ID\ +STATUS\ +EXIT\ +CREATED\ +DURATION\ +NAME$ ]]
	s=$(col "$header" STATUS)
	e=$(($(col "$header" EXIT) + 4))	# EXIT is right-aligned
	n=$(col "$header" NAME)
	[[ ${lines[1]} == "$c "* && ${lines[2]} == "$b "* && ${lines[3]} == "$a "* ]]
	for i in 1 2 3; do
		line=${lines[$i]}
		[[ ${line:s-1:1} == " " && ${line:s:1} != " " ]] ||
			fail "STATUS not at column $s: '$line'"
		[[ ${line:e-1:1} != " " && ${line:e:1} == " " ]] ||
			fail "EXIT not ending at column $e: '$line'"
	done
	[[ ${lines[2]:s} == "failed "* && ${lines[2]:e-1:1} == 7 ]]
	[[ ${lines[2]:n} == "a much longer name" && ${lines[3]:n} == a ]]
	[[ ${#lines[1]} -lt $n ]]	# no name, no trailing blanks
	[[ $stderr == "more: jobcell list --before $a" ]]

	run -0 "$JC" list --json --limit 3
	run -0 jq -r '(.jobs | map(.id) | join(",")), .next' <<<"$output"
	assert_output "$c,$b,$a"$'\n'"$a"
	run -0 "$JC" list --json --status failed --limit 200
	run -0 jq -r '[.jobs[].status] | unique | join(",")' <<<"$output"
	assert_output failed
	run -0 "$JC" list --json --limit 1 --before "$b"
	run -0 jq -r '.jobs[0].id' <<<"$output"
	assert_output "$a"
	run -2 "$JC" list --status bogus
	run -2 "$JC" list --limit 0
	run -2 "$JC" list --limit 201
}

@test "cancel stops a running job; a finished one is a conflict" {
	local id
	run -0 "$JC" submit --command 'sleep 30'
	id=$output
	run -0 "$JC" cancel "$id"
	assert_output --regexp "^$id (queued|running|cancelled)( |$)"
	wait_for 20 job_status_is "$id" cancelled
	run -1 --separate-stderr "$JC" cancel "$id"
	[[ $stderr == "jobcell: cancel: conflict: "*"(HTTP 409)" ]]
	run -0 "$JC" submit --command 'sleep 30'
	run -0 "$JC" cancel --json "$output"
	run -0 jq -r '.id | test("^[A-Za-z0-9_-]+$")' <<<"$output"
	assert_output true
}

@test "--file, --cwd and --image are sent; a server without them says so" {
	local f=$BATS_TEST_TMPDIR/data.txt
	printf 'payload\n' >"$f"
	run --separate-stderr "$JC" run --file "$f:in/data.txt" --cwd in \
	    --command 'cat data.txt'
	if ((status == 0)); then
		assert_output payload
	else
		assert_equal "$status" 1
		[[ $stderr == "jobcell: run: invalid_request: field 'files' is not supported by this server yet (HTTP 400)" ]] ||
			fail "$stderr"
	fi
	run --separate-stderr "$JC" run --image busybox --command true
	((status == 0)) || [[ $status == 1 && $stderr == *"'image'"* ]] ||
		fail "$status: $stderr"
	# refused before anything is sent
	run -2 --separate-stderr "$JC" run --file "$f:/etc/passwd" --command true
	[[ $stderr == *"--file wants LOCAL[:PATH]"* ]]
	run -2 "$JC" run --file "$f:../x" --command true
	run -2 "$JC" run --file "$f:x" --file "$f:x" --command true
	run -2 "$JC" run --cwd ../up --command true
	run -2 "$JC" run --cwd /abs --command true
	# bytes that are not UTF-8 travel base64-encoded, byte-exact
	printf '\377\376' >"$BATS_TEST_TMPDIR/bin"
	run -0 "$JC" run --file "$BATS_TEST_TMPDIR/bin" --command 'od -An -tx1 bin'
	assert_output ' ff fe'
	run -1 --separate-stderr "$JC" run --file /nonexistent --command true
	[[ $stderr == *"cannot read file '/nonexistent'"* ]]
}

@test "--memory and --disk take sizes; limits reach the job" {
	local id
	run -0 "$JC" submit --memory 1G --disk 128M --pids 64 --cpus 1 \
	    --timeout 30 --command true
	id=$output
	run -0 "$JC" status --json "$id"
	run -0 jq -r '.limits | [.memory_mb, .disk_mb, .pids, .cpus, .timeout] | join(",")' <<<"$output"
	assert_output "1024,128,64,1,30"
	run -2 --separate-stderr "$JC" submit --memory 1.5G --command true
	[[ $stderr == *"--memory wants a size in MiB"* ]]
}

@test "server errors are shown as code and message" {
	run -1 --separate-stderr "$JC" status 00000000000000000000000000
	[[ $stderr == "jobcell: status: not_found: "*"(HTTP 404)" ]]
	run -1 --separate-stderr "$JC" submit --command x --memory-mb 999999999
	[[ $stderr == "jobcell: submit: invalid_request: "*memory_mb*"(HTTP 400)" ]]
}

@test "usage errors exit 2 and name the problem; every command has --help" {
	local cmd
	run -2 --separate-stderr "$JC" submit --bogus
	[[ $stderr == *--bogus* && $stderr == *"Try 'jobcell submit --help'."* ]]
	run -2 "$JC" status '../etc'
	run -2 "$JC" status
	run -2 --separate-stderr "$JC" frobnicate
	[[ $stderr == *"unknown command 'frobnicate'"* ]]
	run -2 "$JC" submit --command true --argv -- /bin/true
	run -2 "$JC" submit --command true --wait --follow
	run -2 "$JC" run --command true --wait
	run -2 "$JC" submit --command true --cancel-on-interrupt
	run -2 "$JC"
	for cmd in init use profiles config ping me submit run status logs tail list cancel; do
		run -0 "$JC" "$cmd" --help
		assert_line --index 0 --partial "Usage: jobcell $cmd"
		run -0 "$JC" help "$cmd"
		assert_line --index 0 --partial "Usage: jobcell $cmd"
	done
	run -0 "$JC" --version
	assert_output --regexp '^jobcell [0-9]'
}
