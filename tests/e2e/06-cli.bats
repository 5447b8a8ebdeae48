#!/usr/bin/env bats
# The jobcell client as a user meets it: profiles and the config file,
# submit/wait/run exit codes, status/logs/list/cancel output, and the
# errors (server codes, bad CA, unknown options, exit 2).

bats_require_minimum_version 1.5.0

load ../lib/common

setup_file() {
	stack_start
	new_consumer alice ALICE_KEY
}

teardown_file() {
	stack_stop
}

setup() {
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	JC=$(jobcell_bin jobcell)
	# Only the config file speaks here; tests set variables themselves.
	"$JC" init --server "$JOBCELL_URL" --key "$ALICE_KEY" \
	    --cacert "$JOBCELL_CACERT" >/dev/null
	unset XDG_CONFIG_HOME JOBCELL_PROFILE JOBCELL_SERVER JOBCELL_KEY
	unset JOBCELL_CACERT
}

@test "init writes a 0600 config in a 0700 directory" {
	run -0 stat -c %a "$HOME/.config/jobcell" "$HOME/.config/jobcell/config"
	assert_output $'700\n600'
	run -0 grep -c '^\[profile default\]' "$HOME/.config/jobcell/config"
}

@test "a group-readable config is refused with a clear error" {
	chmod 640 "$HOME/.config/jobcell/config"
	run -1 --separate-stderr "$JC" config
	[[ $stderr == *"chmod 600"* ]]
}

@test "config shows the key only by its id" {
	run -0 "$JC" config
	assert_output --partial "key:     ${ALICE_KEY%%.*}.****"
	refute_output --partial "${ALICE_KEY#*.}"
}

@test "profiles, use, --profile and JOBCELL_PROFILE" {
	"$JC" init --profile other --server https://127.0.0.1:1 --key x.y \
	    --no-set-active
	run -0 "$JC" profiles
	assert_line --regexp '^\* default '
	assert_line --regexp '^  other '
	run -1 --separate-stderr "$JC" --profile nope ping
	[[ $stderr == *"no profile 'nope'"* ]]
	run -1 --separate-stderr env JOBCELL_PROFILE=other "$JC" ping
	[[ $stderr == *"https://127.0.0.1:1"* ]]
	run -0 "$JC" use other
	run -0 "$JC" config
	assert_line --partial "profile: other"
}

@test "ping checks the server, then the key" {
	run -0 "$JC" ping
	assert_line --partial "server: ok"
	assert_line --partial "key:    ok (consumer 'alice')"
	run -1 --separate-stderr env JOBCELL_KEY=0000000000000000.bad "$JC" ping
	[[ $stderr == *"ping: key: unauthorized"* ]]
}

@test "a wrong or missing CA file is named" {
	run -1 --separate-stderr env JOBCELL_CACERT=/nonexistent "$JC" ping
	[[ $stderr == *"CA file '/nonexistent'"* ]]
	run -1 --separate-stderr env JOBCELL_CACERT=/etc/hostname "$JC" ping
	[[ $stderr == *"bad CA file"* ]]
}

@test "submit prints the id; --wait the status line" {
	run -0 "$JC" submit --command 'echo hi'
	assert_output --regexp '^[A-Za-z0-9_-]+$'
	run -1 "$JC" submit --command 'exit 3' --wait
	assert_output --regexp '^[A-Za-z0-9_-]+ failed exit_code=3 '
}

@test "run passes output through and exits with the job's code" {
	run -5 --separate-stderr "$JC" run --command 'echo out; echo err >&2; exit 5'
	assert_output out
	[[ $stderr == err ]]
	run -124 "$JC" run --command 'sleep 5' --timeout 1
	run -0 "$JC" run --argv -- /bin/echo 'a b' c
	assert_output 'a b c'
}

@test "status, logs, logs --raw and list" {
	local id
	id=$("$JC" submit --command 'echo one; echo two >&2' --wait | cut -d' ' -f1)
	run -0 "$JC" status "$id"
	assert_line --regexp '^status: +succeeded$'
	run -0 --separate-stderr "$JC" logs "$id"
	assert_output one
	[[ $stderr == two ]]
	run -0 "$JC" logs --raw --stream stderr "$id"
	assert_output two
	run -0 --separate-stderr "$JC" list --limit 1
	assert_line --index 1 --regexp "^$id +succeeded"
}

@test "server errors are shown as code and message" {
	run -1 --separate-stderr "$JC" status 00000000000000000000000000
	[[ $stderr == "jobcell: status: not_found: "* ]]
	run -1 --separate-stderr "$JC" submit --command x --memory-mb 999999999
	[[ $stderr == "jobcell: submit: invalid_request: "*memory_mb* ]]
}

@test "usage errors exit 2 and name the option" {
	run -2 --separate-stderr "$JC" submit --bogus
	[[ $stderr == *--bogus* ]]
	run -2 "$JC" status '../etc'
	run -2 "$JC" frobnicate
	run -0 "$JC" submit --help
	run -0 "$JC" --version
}
