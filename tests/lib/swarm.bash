# tests/lib/swarm.bash: a three-node Docker Swarm on this one machine, for
# tests/e2e/60-swarm.bats and bench/swarm. Sourced by bash (bench) or
# loaded by bats; needs root, dockerd (docker.io), unshare, nsenter, ip and
# busybox-static.
#
# swarm_start DIR   a hub network namespace with a bridge, and
#                   SWARM_NODES (3) nodes, each a process holding its own
#                   network + UTS namespace (hostname nodeN), joined to the
#                   hub's bridge by a veth pair (10.213.0.N+1/24: addresses
#                   that exist only inside those namespaces); in each a
#                   dockerd (tests/lib/docker.bash's options, own data root,
#                   socket DIR/nN/docker.sock) entered with nsenter (not `ip
#                   netns exec`, which remounts /sys and hides
#                   /sys/fs/cgroup: DESIGN section 8); node 0 inits the
#                   swarm, the others join as workers; the test image is
#                   imported on every node. Exports SWARM_DIR,
#                   SWARM_MANAGER_SOCKET (node 0), SWARM_NODE_COUNT.
# swarm_stop DIR    stops the dockerds and the namespace holders recorded
#                   under DIR (only those pids), removes DIR
# swarm_node_kill DIR N  SIGKILL node N's dockerd and containerd (a node
#                   that dies)
# swarm_docker N ARGS... the docker CLI against node N
# swarm_services DIR     the manager's services labelled jobcell.job
#
# Nothing of the host's network changes: the bridge, veths and addresses
# live in namespaces this file creates and ends.

SWARM_NODES=${SWARM_NODES:-3}
SWARM_NET=${SWARM_NET:-10.213.0}

# shellcheck source=tests/lib/docker.bash
source "$(dirname "${BASH_SOURCE[0]}")/docker.bash"

# _sw_holder DIR NAME: a process in new net + UTS namespaces (sleep, so
# the namespaces live while it does); its pid in DIR/NAME.pid.
_sw_holder() {
	local dir=$1 name=$2
	# unshare without --fork execs sleep in the new namespaces: $! is
	# the namespaces' holder itself.
	local pid deadline
	unshare --net --uts sleep infinity </dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$dir/$name.pid"
	disown "$pid"	# ended by swarm_stop; no job-control notice
	# $! exists before unshare(2) has run: entering it at once would
	# enter the host's namespaces (seen on a busy machine: the node's
	# eth0 "already existed"). Wait until its network namespace is new.
	deadline=$(($(_dk_now_ms) + 10000))
	until [[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) != "$(readlink /proc/self/ns/net)" &&
	    $(readlink "/proc/$pid/exe" 2>/dev/null) == */sleep ]]; do
		if (($(_dk_now_ms) >= deadline)); then
			echo "swarm_start: $name never entered its namespaces" >&2
			return 1
		fi
		sleep 0.05	# poll interval, bounded by the deadline above
	done
	echo "$pid"
}

# _sw_in PID CMD...: CMD inside PID's network and UTS namespaces.
_sw_in() {
	local pid=$1
	shift
	nsenter --target "$pid" --net --uts -- "$@"
}

_sw_need() {
	local t
	for t in unshare nsenter ip curl; do
		command -v "$t" >/dev/null || { echo "swarm_start: $t not found" >&2; return 1; }
	done
	dockerd_bin >/dev/null || { echo "swarm_start: dockerd not found (install docker.io)" >&2; return 1; }
	docker_bin >/dev/null || { echo "swarm_start: docker not found (install docker.io)" >&2; return 1; }
}

# _sw_dockerd DIR N HOLDER: node N's dockerd inside HOLDER's namespaces.
_sw_dockerd() {
	local dir=$1 n=$2 holder=$3 bin deadline pid ndir=$1/n$2
	bin=$(dockerd_bin)
	mkdir -p "$ndir"
	chmod 0700 "$ndir"
	nsenter --target "$holder" --net --uts -- "$bin" \
	    --host "unix://$ndir/docker.sock" --data-root "$ndir/data" \
	    --exec-root "$ndir/exec" --pidfile "$ndir/docker.pid" \
	    --bridge none --iptables=false --ip6tables=false \
	    --ip-forward=false --ip-masq=false --userland-proxy=false \
	    --storage-driver overlay2 --log-level warn \
	    </dev/null >>"$ndir/dockerd.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	echo $! >"$ndir/dockerd.launch.pid"
	pid=$!
	disown "$pid"	# ended by swarm_stop or swarm_node_kill
	deadline=$(($(_dk_now_ms) + DOCKERD_START_TIMEOUT_S * 1000))
	until _dk_ping "$ndir"; do
		if ! _dk_alive "$pid"; then
			echo "swarm_start: node $n's dockerd exited; its log:" >&2
			tail -n 30 "$ndir/dockerd.log" >&2
			return 1
		fi
		if (($(_dk_now_ms) >= deadline)); then
			echo "swarm_start: node $n's dockerd gave no answer within ${DOCKERD_START_TIMEOUT_S}s" >&2
			return 1
		fi
		sleep 0.1	# poll interval, bounded by the deadline above
	done
}

swarm_docker() {
	local n=$1
	shift
	docker -H "unix://$SWARM_DIR/n$n/docker.sock" "$@"
}

# _sw_image N: the test image on node N (built on node 0, saved once,
# loaded on the others: no registry is reachable).
_sw_image() {
	local n=$1
	if ((n == 0)); then
		DOCKER_HOST=unix://$SWARM_DIR/n0/docker.sock docker_test_image || return 1
		DOCKER_HOST=unix://$SWARM_DIR/n0/docker.sock docker save "$JOBCELL_DOCKER_IMAGE" >"$SWARM_DIR/image.tar" || return 1
	else
		swarm_docker "$n" load -q -i "$SWARM_DIR/image.tar" >/dev/null || return 1
	fi
}

swarm_start() {
	local dir=$1 hub holder n token deadline ready
	_sw_need || return 1
	((${#dir} <= 50)) || { echo "swarm_start: '$dir' is too long for the daemons' sockets" >&2; return 1; }
	mkdir -p "$dir"
	chmod 0700 "$dir"
	export SWARM_DIR=$dir
	hub=$(_sw_holder "$dir" hub) || return 1
	_sw_in "$hub" ip link set lo up &&
	_sw_in "$hub" ip link add br0 type bridge &&
	_sw_in "$hub" ip link set br0 up || { echo "swarm_start: cannot make the hub's bridge" >&2; return 1; }
	for ((n = 0; n < SWARM_NODES; n++)); do
		holder=$(_sw_holder "$dir" "node$n") || return 1
		_sw_in "$hub" ip link add "veth$n" type veth peer name eth0 netns "$holder" &&
		_sw_in "$hub" ip link set "veth$n" master br0 up &&
		_sw_in "$holder" hostname "node$n" &&
		_sw_in "$holder" ip link set lo up &&
		_sw_in "$holder" ip addr add "$SWARM_NET.$((n + 1))/24" dev eth0 &&
		_sw_in "$holder" ip link set eth0 up || { echo "swarm_start: cannot wire node $n" >&2; return 1; }
		_sw_dockerd "$dir" "$n" "$holder" || return 1
	done
	swarm_docker 0 swarm init --advertise-addr "$SWARM_NET.1" \
	    --listen-addr "$SWARM_NET.1:2377" >/dev/null || return 1
	token=$(swarm_docker 0 swarm join-token -q worker) || return 1
	for ((n = 1; n < SWARM_NODES; n++)); do
		swarm_docker "$n" swarm join --token "$token" \
		    --advertise-addr "$SWARM_NET.$((n + 1))" \
		    --listen-addr "$SWARM_NET.$((n + 1)):2377" \
		    "$SWARM_NET.1:2377" >/dev/null || return 1
	done
	for ((n = 0; n < SWARM_NODES; n++)); do
		_sw_image "$n" || { echo "swarm_start: cannot put the image on node $n" >&2; return 1; }
	done
	deadline=$(($(_dk_now_ms) + 60000))
	while :; do
		ready=$(swarm_docker 0 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')
		((ready == SWARM_NODES)) && break
		if (($(_dk_now_ms) >= deadline)); then
			echo "swarm_start: only $ready of $SWARM_NODES nodes ready" >&2
			return 1
		fi
		sleep 0.2	# poll interval, bounded by the deadline above
	done
	export SWARM_MANAGER_SOCKET=$dir/n0/docker.sock
	export SWARM_NODE_COUNT=$SWARM_NODES
}

swarm_node_kill() {
	local dir=$1 n=$2 pid
	if pid=$(_dk_pid "$dir/n$n/docker.pid" dockerd); then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if pid=$(_dk_pid "$dir/n$n/exec/containerd/containerd.pid" containerd); then
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

# _sw_holder_stop FILE: the namespace holder recorded in FILE (a sleep).
_sw_holder_stop() {
	local pid
	if pid=$(_dk_pid "$1" sleep); then
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

# _sw_orphans DIR: the containers of DIR's nodes that outlived their
# daemon (a node killed with swarm_node_kill keeps its shims and their
# containers): every process in each container's cgroup (the ids are
# those under the nodes' own data roots), then the shims that name DIR.
_sw_orphans() {
	local dir=$1 c f pid args
	for c in "$dir"/n*/data/containers/*/; do
		[[ -d $c ]] || continue
		c=${c%/}
		c=${c##*/}
		[[ $c =~ ^[0-9a-f]{64}$ ]] || continue
		for f in /sys/fs/cgroup/pids/docker/"$c"/cgroup.procs \
		    /sys/fs/cgroup/docker/"$c"/cgroup.procs \
		    /sys/fs/cgroup/system.slice/docker-"$c".scope/cgroup.procs; do
			[[ -r $f ]] || continue
			while read -r pid; do
				kill -KILL "$pid" 2>/dev/null || true
			done <"$f"
		done
	done
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		{ args=$(tr '\0' ' ' <"$f"); } 2>/dev/null || continue
		[[ $args == *containerd-shim*"-address $dir/"* ]] &&
			kill -KILL "$pid" 2>/dev/null || true
	done
}

swarm_stop() {
	local dir=$1 n
	[[ -n $dir && -d $dir ]] || return 0
	for n in "$dir"/n*/; do
		[[ -d $n ]] || continue
		# a node's containers: the shims die with the daemons' stop
		dockerd_stop "${n%/}"
	done
	_sw_orphans "$dir"
	for n in "$dir"/node*.pid "$dir"/hub.pid; do
		[[ -e $n ]] && _sw_holder_stop "$n"
	done
	for n in "$dir"/n*/; do
		[[ -d $n ]] && dockerd_remove "${n%/}"
	done
	rm -rf -- "$dir"
}

# swarm_services: the ids of the manager's services labelled jobcell.job.
swarm_services() {
	swarm_docker 0 service ls -q --filter label=jobcell.job
}
