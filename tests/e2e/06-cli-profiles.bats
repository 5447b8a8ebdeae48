#!/usr/bin/env bats
# The jobcell client's profiles: the config file is created private and
# refused when it is not, keys are never shown, and JOBCELL_SERVER/KEY/
# PROFILE/CACERT and XDG_CONFIG_HOME override it as documented.

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
	cli_setup
	CFG=$HOME/.config/jobcell/config
}

init_alice() {
	"$JC" init --server "$JOBCELL_URL" --key "$ALICE_KEY" \
	    --cacert "$STACK_CACERT" "$@" >/dev/null
}

@test "init creates the config 0600 in a 0700 directory whatever the umask" {
	umask 000
	run -0 "$JC" init --server "$JOBCELL_URL" --key "$ALICE_KEY" \
	    --cacert "$STACK_CACERT"
	assert_line "saved profile 'default' in $CFG"
	assert_line "active profile: default"
	run -0 stat -c %a "$HOME/.config/jobcell" "$CFG"
	assert_output $'700\n600'
	run -0 "$JC" ping
}

@test "a config readable or writable by group or others is refused" {
	local mode
	init_alice
	for mode in 640 604 660 620 602; do
		chmod "$mode" "$CFG"
		run -1 --separate-stderr "$JC" ping
		assert_equal "$output" ""
		[[ $stderr == *"accessible by group or others (mode 0$mode)"* ]] ||
			fail "mode $mode: $stderr"
		[[ $stderr == *"chmod 600 $CFG"* ]]
	done
	# init does not overwrite it either (it would keep the leak)
	chmod 640 "$CFG"
	run -1 --separate-stderr "$JC" init --server https://127.0.0.1:1 --key x.y
	run -0 grep -c "^server = $JOBCELL_URL\$" "$CFG"
	chmod 600 "$CFG"
	run -0 "$JC" ping
}

@test "a malformed config names the file and the line" {
	init_alice
	printf '\n[profile other]\nserver https://x\n' >>"$CFG"
	run -1 --separate-stderr "$JC" profiles
	[[ $stderr == "jobcell: config: $CFG:"*": expected 'name = value'" ]]
	local want=$(($(wc -l <"$CFG")))
	[[ $stderr == *":$want: "* ]] || fail "expected line $want: $stderr"
}

@test "init --key - reads the key from stdin; no command shows its secret" {
	local secret=${ALICE_KEY#*.} id=${ALICE_KEY%%.*}
	run -0 "$JC" init --server "$JOBCELL_URL" --key - \
	    --cacert "$STACK_CACERT" <<<"$ALICE_KEY"
	run -0 grep -c "^key = $ALICE_KEY\$" "$CFG"
	run -0 "$JC" ping
	run -0 "$JC" config
	assert_line "key:     $id.**** (config file)"
	refute_output --partial "$secret"
	run -0 "$JC" config --json
	refute_output --partial "$secret"
	run -0 jq -r .key <<<"$output"
	assert_output "$id.****"
	run -0 "$JC" profiles --json
	refute_output --partial "$secret"
	run -0 "$JC" profiles
	refute_output --partial "$secret"
}

@test "profiles, use, --profile and JOBCELL_PROFILE pick the profile" {
	init_alice
	"$JC" init --profile other --server https://127.0.0.1:1 --key x.y \
	    --no-set-active >/dev/null
	run -0 "$JC" profiles
	assert_line --index 0 --regexp '^  NAME +SERVER$'
	assert_line --regexp "^\* default +$JOBCELL_URL\$"
	assert_line --regexp '^  other +https://127.0.0.1:1$'
	run -1 --separate-stderr "$JC" --profile nope ping
	[[ $stderr == *"no profile 'nope'"* ]]
	run -1 --separate-stderr "$JC" ping --profile nope
	[[ $stderr == *"no profile 'nope'"* ]]
	run -1 --separate-stderr env JOBCELL_PROFILE=other "$JC" ping
	[[ $stderr == *"https://127.0.0.1:1"* ]]
	run -0 env JOBCELL_PROFILE=other "$JC" --profile default ping
	run -1 --separate-stderr "$JC" use nope
	[[ $stderr == *"no profile 'nope'"* ]]
	run -0 "$JC" use other
	assert_output "active profile: other"
	run -0 "$JC" config
	assert_line "profile: other (config file)"
	run -0 "$JC" --profile default config
	assert_line "profile: default (--profile)"
}

@test "JOBCELL_SERVER, _KEY and _CACERT work without a config and override one" {
	# no config file at all
	run -0 env JOBCELL_SERVER="$JOBCELL_URL" JOBCELL_KEY="$ALICE_KEY" \
	    JOBCELL_CACERT="$STACK_CACERT" "$JC" ping
	assert_line "key:    ok (consumer 'alice')"
	[[ ! -e $CFG ]]
	run -0 env JOBCELL_SERVER="$JOBCELL_URL" JOBCELL_KEY="$ALICE_KEY" \
	    JOBCELL_CACERT="$STACK_CACERT" "$JC" config --json
	run -0 jq -r '[.server_source, .key_source, .cacert_source, .profile] | join(",")' <<<"$output"
	assert_output "environment,environment,environment,default"

	# over a working profile, each variable wins
	init_alice
	run -1 --separate-stderr env JOBCELL_SERVER=https://127.0.0.1:1 "$JC" ping
	[[ $stderr == "jobcell: ping: server: https://127.0.0.1:1: "* ]]
	run -1 --separate-stderr env JOBCELL_KEY=0000000000000000.nope "$JC" ping
	[[ $stderr == *"ping: key: unauthorized: "*"(HTTP 401)"* ]]
	run -1 --separate-stderr env JOBCELL_CACERT=/nonexistent "$JC" ping
	[[ $stderr == *"cannot read CA file '/nonexistent'"* ]]
	run -1 --separate-stderr env JOBCELL_SERVER=not-a-url "$JC" ping
	[[ $stderr == *"'not-a-url' is not an http(s):// URL"* ]]
}

@test "XDG_CONFIG_HOME moves the config file" {
	export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/xdg
	init_alice
	[[ -f $XDG_CONFIG_HOME/jobcell/config && ! -e $CFG ]]
	run -0 "$JC" config --json
	run -0 jq -r .config <<<"$output"
	assert_output "$XDG_CONFIG_HOME/jobcell/config"
	# the XDG spec: a relative value is ignored
	XDG_CONFIG_HOME=relative run -0 "$JC" config --json
	run -0 jq -r .config <<<"$output"
	assert_output "$CFG"
}

@test "init, use, profiles and config print JSON with --json" {
	run -0 "$JC" init --json --server "$JOBCELL_URL" --key "$ALICE_KEY" \
	    --cacert "$STACK_CACERT"
	run -0 jq -r '[.profile, .config, .active] | join(",")' <<<"$output"
	assert_output "default,$CFG,true"
	run -0 "$JC" init --json --profile b --server https://h.example --key k.s \
	    --no-set-active
	run -0 jq -r '[.profile, .active] | join(",")' <<<"$output"
	assert_output "b,false"
	run -0 "$JC" use --json b
	run -0 jq -r '[.profile, .active] | join(",")' <<<"$output"
	assert_output "b,true"
	run -0 "$JC" profiles --json
	run -0 jq -r '.active, (.profiles | map(.name) | join(",")), .profiles[1].key, .profiles[1].cacert' <<<"$output"
	assert_output $'b\ndefault,b\nk.****\nnull'
	run -0 "$JC" config --json --profile default
	run -0 jq -r '[.profile, .profile_source, .server, .cacert] | join(",")' <<<"$output"
	assert_output "default,--profile,$JOBCELL_URL,$STACK_CACERT"
}

@test "init refuses bad input with exit 2" {
	run -2 --separate-stderr "$JC" init --server ftp://x --key k
	[[ $stderr == *"--server must be an http:// or https:// URL"* ]]
	run -2 "$JC" init --server https://x
	run -2 "$JC" init --server https://x --key 'a b'
	run -2 "$JC" init --profile 'a/b' --server https://x --key k
	run -1 --separate-stderr "$JC" init --server https://x --key k --cacert /nonexistent
	[[ $stderr == *"cannot read CA file '/nonexistent'"* ]]
	[[ ! -e $CFG ]]
	run -0 --separate-stderr "$JC" init --server http://x --key k
	[[ $stderr == *"plain HTTP"* ]]
}
