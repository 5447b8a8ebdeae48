#!/usr/bin/env bats
# Networked jobs (DESIGN.md section 5, issue 4) on a server that allows
# them ([limits] network = true): network:true gives the cell slirp4netns
# (outbound access through the host, not to the host's loopback), the
# default stays loopback only, and slirp4netns ends with the job. No test
# here sends a packet off this machine: outbound access is shown by the
# interface, route and resolver the cell gets, not by a connection.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	[[ -x /usr/bin/slirp4netns ]] || return 0	# each test says so
	cells_setup_file "[limits]
network = true"
}

teardown_file() {
	cells_teardown_file
}

setup() {
	[[ -x /usr/bin/slirp4netns ]] || skip_because "needs slirp4netns (tools/deps)"
}

# slirps: slirp4netns processes started by this stack's workers.
slirps() {
	local sup
	sup=$(cat "$JOBCELL_STACK_DIR/worker.pid")
	ps -e -o pid=,ppid=,comm= | awk -v sup="$sup" '
	    { ppid[$1] = $2; comm[$1] = $3 }
	    END { n = 0; for (p in comm) if (comm[p] == "slirp4netns" && ppid[ppid[p]] == sup) n++; print n }'
}

_no_slirps() {
	[[ $(slirps) == 0 ]]
}

# The job's view: interfaces, default gateway, resolver, and whether the
# host's loopback port of this stack (through the gateway, and as the
# cell's own 127.0.0.1) answers.
NET_PROBE='use Socket;
open my $f, "<", "/proc/net/dev"; my @i = map { /^\s*(\w+):/ ? $1 : () } <$f>;
print "ifaces=", join(",", sort @i), "\n";
open $f, "<", "/proc/net/route"; my ($gw) = map { (split)[2] } grep { (split)[1] eq "00000000" } <$f>;
print "gateway=", ($gw ? join(".", reverse unpack("C4", pack("H8", $gw))) : "none"), "\n";
print "resolv=", (-e "/etc/resolv.conf" ? "yes" : "no"), "\n";
for my $h ("10.0.2.2", "127.0.0.1") {
  socket(my $t, PF_INET, SOCK_STREAM, 0) or die;
  print "$h=", (connect($t, sockaddr_in($ARGV[0], inet_aton($h))) ? "open" : "closed"), "\n";
}'

@test "network:true: an interface and a route out, not the host's loopback" {
	local port=${JOBCELL_URL##*:} body
	body=$(jq -cn --arg p "$NET_PROBE" --arg port "$port" \
	    '{argv: ["perl", "-e", $p, $port], network: true, timeout: 20}')
	hostile "$body"
	assert_job .status succeeded
	assert_equal "$out" "ifaces=lo,tap0
gateway=10.0.2.2
resolv=yes
10.0.2.2=closed
127.0.0.1=closed"
	wait_for 5 _no_slirps || fail "$(slirps) slirp4netns process(es) outlived the job"
	assert_host_healthy
}

@test "network:false on the same server: loopback only" {
	local port=${JOBCELL_URL##*:} body
	body=$(jq -cn --arg p "$NET_PROBE" --arg port "$port" \
	    '{argv: ["perl", "-e", $p, $port], timeout: 20}')
	hostile "$body"
	assert_job .status succeeded
	assert_equal "$out" "ifaces=lo
gateway=none
resolv=no
10.0.2.2=closed
127.0.0.1=closed"
	assert_equal "$(slirps)" 0
	assert_host_healthy
}

@test "a networked job that is killed takes slirp4netns with it" {
	hostile_cmd 'trap "" TERM; while :; do sleep 1; done' '{"network":true,"timeout":2}'
	assert_job .status timed_out
	wait_for 5 _no_slirps || fail "$(slirps) slirp4netns process(es) outlived the job"
	assert_host_healthy
}
