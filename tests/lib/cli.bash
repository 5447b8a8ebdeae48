# tests/lib/cli.bash: what the jobcell client suites (tests/e2e/06-cli*)
# share: one stack and the consumer "alice" per file, and per test a fresh
# $HOME in which only what the test sets speaks to the client.
# Load after ../lib/common.

# cli_setup_file: for setup_file. A stack and alice (ALICE_KEY).
cli_setup_file() {
	stack_start
	new_consumer alice ALICE_KEY
}

# cli_setup [--init]: for setup. HOME is the test's own; JC is the client;
# STACK_CACERT keeps the stack's CA while JOBCELL_* and XDG_CONFIG_HOME are
# unset. With --init, alice's profile is written first (jobcell init), so
# only the config file speaks.
cli_setup() {
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	JC=$(jobcell_bin jobcell)
	if [[ ${1:-} == --init ]]; then
		"$JC" init --server "$JOBCELL_URL" --key "$ALICE_KEY" \
		    --cacert "$JOBCELL_CACERT" >/dev/null
	fi
	STACK_CACERT=$JOBCELL_CACERT
	unset XDG_CONFIG_HOME JOBCELL_PROFILE JOBCELL_SERVER JOBCELL_KEY
	unset JOBCELL_CACERT
}
