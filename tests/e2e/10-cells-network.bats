#!/usr/bin/env bats
# Networked jobs (DESIGN.md section 5, issue 4) on a server that allows
# them ([limits] network = true): network:true gives the cell an interface
# and a route out (namespace: slirp4netns, outbound access through the
# host; docker: a network of the job's own), never the host's loopback; the
# default stays loopback only; what gave the network ends with the job. No
# test here sends a packet off this machine: outbound access is shown by
# the interface, route and resolver the cell gets, not by a connection.
# Runs once per backend: 12-docker-cells-network.bats is this file for
# docker (tests/lib/cells.bash).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	docker_cells || [[ -x /usr/bin/slirp4netns ]] || return 0	# each test says so
	cells_setup_file "[limits]
network = true"
}

teardown_file() {
	cells_teardown_file
}

setup() {
	cells_setup
	docker_cells || [[ -x /usr/bin/slirp4netns ]] || skip_because "needs slirp4netns (tools/deps)"
}

# slirps: slirp4netns processes started by this stack's workers.
slirps() {
	local sup
	sup=$(cat "$JOBCELL_STACK_DIR/worker.pid")
	ps -e -o pid=,ppid=,comm= | awk -v sup="$sup" '
	    { ppid[$1] = $2; comm[$1] = $3 }
	    END { n = 0; for (p in comm) if (comm[p] == "slirp4netns" && ppid[ppid[p]] == sup) n++; print n }'
}

# job_networks: the networks a job made on the suite's private dockerd
# (every network there but docker's own: bridge, host, none).
job_networks() {
	local ids
	ids=$(docker network ls -q --filter type=custom) || return 1
	awk 'NF { n++ } END { print n + 0 }' <<<"$ids"
}

# net_leftovers: what gave jobs a network and is still there (namespace:
# slirp4netns processes; docker: networks of the jobs).
net_leftovers() {
	if docker_cells; then
		job_networks
	else
		slirps
	fi
}

_no_net_leftovers() {
	local n
	n=$(net_leftovers) || return 1
	[[ $n == 0 ]]
}

# The job's view: interfaces, default gateway, a resolver (a nameserver
# line in /etc/resolv.conf: a docker cell always has the file), and whether the
# host's loopback port of this stack answers at each host given after the
# port ("gw": the default gateway, if any).
NET_PROBE='use Socket;
open my $f, "<", "/proc/net/dev"; my @i = map { /^\s*(\w+):/ ? $1 : () } <$f>;
print "ifaces=", join(",", sort @i), "\n";
open $f, "<", "/proc/net/route"; my ($gw) = map { (split)[2] } grep { (split)[1] eq "00000000" } <$f>;
$gw = $gw ? join(".", reverse unpack("C4", pack("H8", $gw))) : "none";
print "gateway=$gw\n";
my $ns = 0; if (open my $r, "<", "/etc/resolv.conf") { $ns = grep { /^\s*nameserver\s/ } <$r>; }
print "resolv=", ($ns ? "yes" : "no"), "\n";
my $port = shift @ARGV;
for my $h (@ARGV) {
  my $a = $h eq "gw" ? $gw : $h;
  if ($a eq "none") { print "$h=none\n"; next; }
  socket(my $t, PF_INET, SOCK_STREAM, 0) or die;
  print "$h=", (connect($t, sockaddr_in($port, inet_aton($a))) ? "open" : "closed"), "\n";
}'

# net_probe [JSON-FIELDS]: hostile with NET_PROBE at this stack's port
# (namespace: through slirp4netns' host alias 10.0.2.2 and as the cell's
# own 127.0.0.1; docker: through the gateway, the host's end of the job's
# network, and as 127.0.0.1).
net_probe() {
	local port=${JOBCELL_URL##*:} hosts='["10.0.2.2", "127.0.0.1"]' body
	! docker_cells || hosts='["gw", "127.0.0.1"]'
	body=$(jq -cn --arg p "$NET_PROBE" --arg port "$port" \
	    --argjson h "$hosts" --argjson x "${1:-{\}}" \
	    '{argv: (["perl", "-e", $p, $port] + $h), timeout: 20} + $x')
	hostile "$body"
}

@test "network:true: an interface and a route out, not the host's loopback" {
	net_probe '{"network":true}'
	assert_job .status succeeded
	if docker_cells; then
		# The job's own network: eth0, a gateway docker picks from its
		# pools, the host's end of that network (where nothing of the
		# stack listens: nginx is on the host's 127.0.0.1).
		run -0 echo "$out"
		assert_line --index 0 ifaces=eth0,lo
		assert_line --index 1 --regexp '^gateway=[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'
		assert_line --index 2 resolv=yes
		assert_line --index 3 gw=closed
		assert_line --index 4 127.0.0.1=closed
		assert_equal "${#lines[@]}" 5
	else
		assert_equal "$out" "ifaces=lo,tap0
gateway=10.0.2.2
resolv=yes
10.0.2.2=closed
127.0.0.1=closed"
	fi
	wait_for 5 _no_net_leftovers || fail "$(net_leftovers) slirp4netns process(es) or job network(s) outlived the job"
	assert_host_healthy
}

@test "network:false on the same server: loopback only" {
	net_probe
	assert_job .status succeeded
	if docker_cells; then
		assert_equal "$out" "ifaces=lo
gateway=none
resolv=no
gw=none
127.0.0.1=closed"
	else
		assert_equal "$out" "ifaces=lo
gateway=none
resolv=no
10.0.2.2=closed
127.0.0.1=closed"
	fi
	assert_equal "$(net_leftovers)" 0
	assert_host_healthy
}

@test "a networked job that is killed takes slirp4netns (docker: its network) with it" {
	hostile_cmd 'trap "" TERM; while :; do sleep 1; done' '{"network":true,"timeout":2}'
	assert_job .status timed_out
	wait_for 5 _no_net_leftovers || fail "$(net_leftovers) slirp4netns process(es) or job network(s) outlived the job"
	assert_host_healthy
}
