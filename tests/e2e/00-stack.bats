#!/usr/bin/env bats
# tools/stack itself: the test bed every other suite stands on. A start
# whose first port is taken must come up on the next one, whatever the
# failed attempt left behind (its nginx binds a unix socket before the TCP
# port, and leaves the socket file when it exits).

bats_require_minimum_version 1.5.0

load ../lib/common

setup() {
	holder_pid=""
}

teardown() {
	[[ -z $holder_pid ]] || kill "$holder_pid" 2>/dev/null || true
	[[ -z ${dir:-} ]] || "$JOBCELL_SRCDIR/tools/stack" stop "$dir" || true
}

# listening PORT: something listens on 127.0.0.1:PORT.
listening() {
	ss -Htln "sport = :$1" | grep -q .
}

# free_port: a TCP port on 127.0.0.1 nothing listens on now.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		if ! listening "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

@test "stack start retries past a taken port and serves on the next" {
	((EUID == 0)) || skip_because "tools/stack start needs root"
	local taken next
	taken=$(free_port)
	next=$(free_port)
	[[ $taken != "$next" ]] || next=$((taken + 1))
	socat "TCP-LISTEN:$taken,bind=127.0.0.1,reuseaddr,fork" /dev/null &
	holder_pid=$!
	wait_for 10 listening "$taken"
	dir=$(mktemp -d /tmp/jobcell-e2e.XXXXXX)
	JOBCELL_STACK_TRY_PORTS="$taken $next" \
	    run -0 --separate-stderr "$JOBCELL_SRCDIR/tools/stack" start "$dir"
	assert_output --partial "JOBCELL_URL=https://127.0.0.1:$next"
	[[ $stderr == *"port $taken was taken"* ]]
	run -0 curl -s --max-time 10 --cacert "$dir/ca.pem" \
	    "https://127.0.0.1:$next/v1/health"
	run -0 json_get .status "$output"
	assert_output ok
}
