# tests/lib/docker.bash: a private Docker daemon for the docker suites and
# bench/docker. Sourced by bash (bench) or loaded by bats; needs root.
#
# dockerd_start DIR   start dockerd with every file under DIR (socket,
#                     data-root, exec-root, pidfile, log) and wait, bounded,
#                     until it answers; exports DOCKER_HOST and
#                     JOBCELL_DOCKER_SOCKET
# dockerd_stop DIR    TERM the recorded dockerd (and the containerd it
#                     started), wait, KILL what is left; keeps DIR
# dockerd_remove DIR  dockerd_stop, then unmount what is left under DIR and
#                     delete it
# docker_test_image   build jobcell-test:busybox with `docker import` from
#                     a busybox-static rootfs plus Debian's perl-base (the
#                     cell suites' hostile jobs use perl) and the shared
#                     libraries ldd lists for it (no registry is reachable)
# docker_suite_setup  for a suite's setup_file: check for dockerd, the
#                     docker client, busybox and perl (one missing fails
#                     under JOBCELL_TEST_STRICT=1, else exports DOCKER_SKIP
#                     naming it and returns 0: the suite stops there), start
#                     a private dockerd in a new DOCKER_DIR, build the test
#                     image, export JOBCELL_STACK_DOCKER_SOCKET and _IMAGE
#                     for stack_start
# docker_suite_skip   for setup: skip the test if DOCKER_SKIP is set
# docker_suite_teardown  for teardown_file: stack_stop, then dockerd_remove
#                     (nothing if the suite was skipped)
#
# The daemon runs without a bridge, iptables or ip_forward changes, so it
# touches nothing of the host's network; its socket is DIR/docker.sock, so
# it never collides with a system docker.

JOBCELL_DOCKER_IMAGE=${JOBCELL_DOCKER_IMAGE:-jobcell-test:busybox}
DOCKERD_START_TIMEOUT_S=${DOCKERD_START_TIMEOUT_S:-60}
DOCKERD_STOP_TIMEOUT_S=${DOCKERD_STOP_TIMEOUT_S:-30}

# dockerd_bin: the dockerd binary (Debian's docker.io), or nothing.
dockerd_bin() {
	PATH=$PATH:/usr/sbin:/sbin command -v dockerd
}

# docker_bin: the docker client.
docker_bin() {
	command -v docker
}

# _dk_alive PID: the process exists and is not a zombie.
_dk_alive() {
	local stat state
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	# read, not $(<file): that exits a set -e shell even in a condition.
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	state=${stat##*) }
	state=${state%% *}
	[[ -n $state && $state != Z && $state != X ]]
}

# _dk_pid FILE COMM: the pid recorded in FILE if that process is alive and
# still COMM (pids get reused).
_dk_pid() {
	local pid comm
	[[ -s $1 ]] || return 1
	pid=""
	read -r pid 2>/dev/null <"$1" || true
	_dk_alive "$pid" || return 1
	read -r comm 2>/dev/null <"/proc/$pid/comm" || return 1
	[[ $comm == "$2" ]] || return 1
	echo "$pid"
}

# _dk_ping DIR: the daemon in DIR answers /_ping.
_dk_ping() {
	[[ -S $1/docker.sock ]] &&
	    [[ $(curl -s --max-time 2 --unix-socket "$1/docker.sock" \
		http://docker/_ping 2>/dev/null) == OK ]]
}

_dk_now_ms() {
	local t=$EPOCHREALTIME
	echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

dockerd_start() {
	local dir=$1 bin deadline pid
	bin=$(dockerd_bin) || { echo "dockerd_start: dockerd not found (install docker.io)" >&2; return 1; }
	# sun_path is 108 bytes; containerd's socket sits deeper still.
	((${#dir} <= 60)) || { echo "dockerd_start: '$dir' is too long for the daemon's sockets" >&2; return 1; }
	if _dk_pid "$dir/docker.pid" dockerd >/dev/null; then
		echo "dockerd_start: a dockerd already runs for $dir" >&2
		return 1
	fi
	mkdir -p "$dir"
	chmod 0700 "$dir"
	rm -f "$dir/docker.sock" "$dir/docker.pid"
	"$bin" --host "unix://$dir/docker.sock" --data-root "$dir/data" \
	    --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
	    --bridge none --iptables=false --ip6tables=false \
	    --ip-forward=false --ip-masq=false --userland-proxy=false \
	    --storage-driver overlay2 --log-level warn \
	    </dev/null >>"$dir/dockerd.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	echo $! >"$dir/dockerd.launch.pid"
	deadline=$(($(_dk_now_ms) + DOCKERD_START_TIMEOUT_S * 1000))
	read -r pid <"$dir/dockerd.launch.pid"
	until _dk_ping "$dir"; do
		if ! _dk_alive "$pid"; then
			echo "dockerd_start: dockerd exited; its log:" >&2
			tail -n 30 "$dir/dockerd.log" >&2
			return 1
		fi
		if (($(_dk_now_ms) >= deadline)); then
			echo "dockerd_start: no answer on $dir/docker.sock within ${DOCKERD_START_TIMEOUT_S}s" >&2
			tail -n 30 "$dir/dockerd.log" >&2
			dockerd_stop "$dir"
			return 1
		fi
		sleep 0.1	# poll interval, bounded by the deadline above
	done
	export DOCKER_HOST=unix://$dir/docker.sock
	export JOBCELL_DOCKER_SOCKET=$dir/docker.sock
}

# _dk_stop_pid PID: TERM, wait (bounded), KILL.
_dk_stop_pid() {
	local pid=$1 deadline
	kill -TERM "$pid" 2>/dev/null || return 0
	deadline=$(($(_dk_now_ms) + DOCKERD_STOP_TIMEOUT_S * 1000))
	while _dk_alive "$pid" && (($(_dk_now_ms) < deadline)); do
		sleep 0.05
	done
	if _dk_alive "$pid"; then
		echo "dockerd_stop: pid $pid did not stop within ${DOCKERD_STOP_TIMEOUT_S}s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
		deadline=$(($(_dk_now_ms) + 5000))
		while _dk_alive "$pid" && (($(_dk_now_ms) < deadline)); do
			sleep 0.05
		done
	fi
}

dockerd_stop() {
	local dir=$1 pid
	if pid=$(_dk_pid "$dir/docker.pid" dockerd) ||
	    pid=$(_dk_pid "$dir/dockerd.launch.pid" dockerd); then
		_dk_stop_pid "$pid"
	fi
	# dockerd stops the containerd it started; if it could not, do it.
	if pid=$(_dk_pid "$dir/exec/containerd/containerd.pid" containerd); then
		_dk_stop_pid "$pid"
	fi
	rm -f "$dir/docker.sock"
}

dockerd_remove() {
	local dir=$1 m
	[[ -n $dir && -d $dir ]] || return 0
	dockerd_stop "$dir"
	# Mounts the daemon left (overlay, shm): innermost first.
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
	rm -rf -- "$dir"
}

# _dk_add_elf ROOT FILE: copy FILE to the same path under ROOT, with the
# shared libraries (and the loader) ldd lists for it, each at the path ldd
# names, resolved (cp -L). Run under umask 022: the job must reach them.
_dk_add_elf() {
	local root=$1 f=$2 lib
	mkdir -p "$root${f%/*}"
	[[ -e $root$f ]] || cp -L "$f" "$root$f" || return 1
	while read -r lib; do
		[[ -n $lib && ! -e $root$lib ]] || continue
		mkdir -p "$root${lib%/*}"
		cp -L "$lib" "$root$lib" || return 1
	done < <(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

# _dk_add_perl ROOT: /usr/bin/perl, its library (perl-base) and what both
# link, so that `perl -e` with the core modules (Socket, POSIX) runs.
# Run under umask 022.
_dk_add_perl() {
	local root=$1 lib=/usr/lib/x86_64-linux-gnu/perl-base so
	[[ -x /usr/bin/perl && -d $lib ]] ||
		{ echo "docker_test_image: /usr/bin/perl or $lib not found (perl-base)" >&2; return 1; }
	_dk_add_elf "$root" /usr/bin/perl || return 1
	mkdir -p "$root${lib%/*}"
	cp -a "$lib" "$root$lib" || return 1
	while IFS= read -r so; do
		_dk_add_elf "$root" "$so" || return 1
	done < <(find "$lib" -name '*.so' -type f)
	# The cell's LANG is C.UTF-8: without its locale perl warns on stderr.
	if [[ -d /usr/lib/locale/C.utf8 ]]; then
		mkdir -p "$root/usr/lib/locale"
		cp -a /usr/lib/locale/C.utf8 "$root/usr/lib/locale/" || return 1
	fi
}

# docker_test_image: jobcell-test:busybox from busybox-static and perl-base,
# once per daemon.
docker_test_image() {
	local bb root a
	if docker image inspect "$JOBCELL_DOCKER_IMAGE" >/dev/null 2>&1; then
		return 0
	fi
	bb=/bin/busybox
	[[ -x $bb ]] || { echo "docker_test_image: $bb not found (install busybox-static)" >&2; return 1; }
	root=$(mktemp -d "${TMPDIR:-/tmp}/jobcell-rootfs.XXXXXX")
	# mktemp's 0700 would become the image's / (the job, uid 1000, could
	# not even reach /sbin/docker-init).
	chmod 0755 "$root"
	mkdir -p -m 0755 "$root/bin" "$root/etc" "$root/sbin" "$root/work"
	mkdir -p -m 1777 "$root/tmp"
	cp "$bb" "$root/bin/busybox"
	for a in $("$bb" --list); do
		[[ $a == busybox || -e $root/bin/$a ]] || ln -s busybox "$root/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\njob:x:1000:1000:job:/work:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\njob:x:1000:\n' >"$root/etc/group"
	if ! (umask 022 && _dk_add_perl "$root"); then
		rm -rf -- "$root"
		return 1
	fi
	if ! tar -C "$root" -c . | docker import -c 'ENV PATH=/bin:/usr/bin' - "$JOBCELL_DOCKER_IMAGE" >/dev/null; then
		rm -rf -- "$root"
		echo "docker_test_image: docker import failed" >&2
		return 1
	fi
	rm -rf -- "$root"
}

# docker_runtime_busybox_sh DIR IMAGE: DIR/busybox-sh.ini, a docker runtime
# (alias bbsh) that runs main.sh with IMAGE's sh, version "busybox".
docker_runtime_busybox_sh() {
	printf '[runtime]\nname = busybox-sh\naliases = bbsh\nsandbox = docker\nimage = %s\nfile = main.sh\nrun = sh {file}\nversion = busybox\n' \
	    "$2" >"$1/busybox-sh.ini"
}

# docker_suite_setup: see the top of this file. Every step is checked by
# hand: a caller's `docker_suite_setup || return 1` turns set -e off here.
docker_suite_setup() {
	local missing=""
	dockerd_bin >/dev/null || missing+=" dockerd (docker.io)"
	docker_bin >/dev/null || missing+=" docker (docker.io)"
	[[ -x /bin/busybox ]] || missing+=" /bin/busybox (busybox-static)"
	[[ -x /usr/bin/perl ]] || missing+=" /usr/bin/perl (perl-base)"
	if [[ -n $missing ]]; then
		strict && { echo "missing:$missing" >&2; return 1; }
		# bats 1.8 cannot skip from setup_file: each test skips
		# (docker_suite_skip).
		export DOCKER_SKIP="needs:$missing"
		return 0
	fi
	DOCKER_DIR=$(mktemp -d /tmp/jobcell-dockerd.XXXXXX) || return 1
	export DOCKER_DIR
	dockerd_start "$DOCKER_DIR" || return 1
	docker_test_image || return 1
	export JOBCELL_STACK_DOCKER_SOCKET=$JOBCELL_DOCKER_SOCKET
	export JOBCELL_STACK_DOCKER_IMAGE=$JOBCELL_DOCKER_IMAGE
}

docker_suite_skip() {
	[[ -z ${DOCKER_SKIP:-} ]] || skip "$DOCKER_SKIP"
}

docker_suite_teardown() {
	[[ -z ${DOCKER_SKIP:-} ]] || return 0
	stack_stop
	[[ -z ${DOCKER_DIR:-} ]] || dockerd_remove "$DOCKER_DIR"
}
