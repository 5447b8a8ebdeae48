#!/usr/bin/env bats
# Hostile jobs looking for a way out of the cell (DESIGN.md section 5, issue
# 4): the network and the host's sockets, host secrets and the database,
# privileges, mounts and namespaces, inherited fds and environment, hostile
# bytes in every field, symlinks, and what one job leaves for the next.
# Every case ends with the host healthy (tests/lib/cells.bash).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	# With the stack's data directory: namespace jobs run in warm cells
	# (ns_pool.c) with a disk workspace moved onto /work, so this suite
	# proves they isolate like cold ones; 10-cells-warm.bats runs warm
	# cells without one (a tmpfs /work), and the disk workspace's own
	# escapes are 10-cells-workspace.bats's.
	cells_setup_file
	MARK=jobcell-e2e-pwned-$$-$RANDOM
	export MARK
}

teardown_file() {
	rm -f -- "/tmp/$MARK" "/tmp/$MARK-"*
	cells_teardown_file
}

@test "network: only loopback, no route out, the host's ports unreachable" {
	local port=${JOBCELL_URL##*:}
	# UDP connect() sends nothing: it only asks for a route.
	hostile '{"argv":["perl","-e","use Socket; print \"ifaces=\", join(\",\", map { /^\\s*(\\w+):/ ? $1 : () } do { open my $f, \"<\", \"/proc/net/dev\"; <$f> }), \"\\n\"; socket(my $u, PF_INET, SOCK_DGRAM, 0) or die; print \"route=\", (connect($u, sockaddr_in(53, inet_aton(\"192.0.2.1\"))) ? \"yes\" : \"no $!\"), \"\\n\"; socket(my $t, PF_INET, SOCK_STREAM, 0) or die; print \"host=\", (connect($t, sockaddr_in('"$port"', inet_aton(\"127.0.0.1\"))) ? \"open\" : \"closed\"), \"\\n\"; open my $x, \"<\", \"/proc/net/unix\"; my @l = <$x>; print \"unix=\", scalar(@l) - 1, \"\\n\";"],"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" "ifaces=lo
route=no Network is unreachable
host=closed
unix=0"
	assert_host_healthy
}

@test "host secrets: no database, no /root, /home, /var, /run, shadow" {
	local init='cat /proc/1/environ 2>/dev/null | wc -c
tr -d '\''\0'\'' </proc/1/cmdline; echo' want_init='0
cell-init'
	if docker_cells; then
		# pid 1 is docker-init, run as the job's own uid: its environ
		# is readable, and must be the job's own, byte for byte (the
		# cell's cell-init is another uid: unreadable, 0 bytes); its
		# argv is docker-init -- and the job's.
		init='if cmp -s /proc/1/environ /proc/$$/environ; then echo environ=the-jobs; else echo environ=other; fi
tr '\''\0'\'' '\''\n'\'' </proc/1/cmdline | head -n 2 | tr '\''\n'\'' '\'' '\''; echo'
		want_init='environ=the-jobs
/sbin/docker-init -- '
	fi
	# A namespace cell has no /sys; Docker always mounts one, which the
	# docker cell masks: there it must be empty.
	local sys=/sys top_extra=""
	if docker_cells; then
		sys=""
		top_extra="|sys"
		init='if [ -n "$(ls -A /sys 2>&1)" ]; then echo "visible /sys: $(ls -A /sys | head -n 3)"; fi
'"$init"
	fi
	hostile_cmd "for p in '$JOBCELL_DB' '$JOBCELL_STACK_DIR' /etc/shadow /root /home /var /run $sys /boot /mnt /srv /opt; do
  if [ -e \"\$p\" ]; then echo \"visible \$p\"; fi
done
ls /
$init" '{"timeout":20}'
	assert_job .status succeeded
	run -0 echo "$out"
	refute_output --partial visible
	# The top level holds only what the cell built (lib32, libx32 and
	# lib64 where the host has them; for docker, what the image has).
	top=$(grep -vxE "bin|dev|etc|lib|lib32|lib64|libx32|proc|sbin|tmp|usr|work$top_extra" <<<"$out" | head -n 2)
	assert_equal "$top" "$want_init"
	assert_host_healthy
}

@test "privileges read from /proc/self/status: uid 1000 (docker: the slot's), no caps, NoNewPrivs, seccomp" {
	hostile_cmd 'grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status' '{"timeout":20}'
	assert_job .status succeeded
	run -0 echo "$out"
	if docker_cells; then
		# No user namespace: the job's uid is its host uid, the slot's
		# (uid_base + slot, gid the same). Docker (runc) lists the
		# primary gid as the one supplementary group of a user that is
		# in no group: the job's own gid, nothing more.
		local uid
		uid=$(awk '$1 == "Uid:" { print $2 }' <<<"$out")
		[[ $uid =~ ^[0-9]+$ ]] && (( uid >= CELLS_UID_BASE && uid < CELLS_UID_BASE + CELLS_SLOTS )) ||
			fail "the job runs as uid '$uid', not one of the cells' ($CELLS_UID_BASE + slot): $out"
		assert_line --regexp "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$"
		assert_line --regexp "^Gid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$"
		assert_line --regexp "^Groups:[[:space:]]*($uid[[:space:]]*)?\$"
	else
		assert_line --regexp '^Uid:[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000$'
		assert_line --regexp '^Gid:[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000[[:space:]]+1000$'
		assert_line --regexp '^Groups:[[:space:]]*$'
	fi
	local c
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_line --regexp "^$c:[[:space:]]+0+\$"
	done
	assert_line --regexp '^NoNewPrivs:[[:space:]]+1$'
	assert_line --regexp '^Seccomp:[[:space:]]+2$'
	assert_host_healthy
}

@test "mount, unshare, cgroup and sysctl writes are all refused" {
	hostile_cmd 'mkdir -p /tmp/m
try() { if "$@" >/dev/null 2>&1; then echo "ALLOWED: $*"; else echo "refused: $1"; fi; }
try mount -t tmpfs none /tmp/m
try mount --bind /work /tmp/m
try mount -t cgroup2 none /tmp/m
try mount -t proc proc /tmp/m
try unshare -U true
try unshare -Ur true
try unshare -m true
try unshare -n true
try hostname evil
try sh -c "echo 1 >/proc/sys/kernel/sysrq"
try sh -c "echo evil >/proc/sys/kernel/hostname"
try sh -c "echo 3 >/proc/sys/vm/drop_caches"
try sh -c "echo b >/proc/sysrq-trigger"
try sh -c "echo 1 >/proc/sys/net/ipv4/ip_forward"
try sh -c "echo \$\$ >/sys/fs/cgroup/cgroup.procs"
try sh -c "echo x >/etc/passwd"
try sh -c "echo x >/usr/jobcell-evil"' '{"timeout":20}'
	assert_job .status succeeded
	run -0 echo "$out"
	refute_output --partial ALLOWED
	run -0 grep -c '^refused: ' <<<"$out"
	assert_output 17
	run -1 test -e /usr/jobcell-evil
	assert_host_healthy
}

@test "vsock, other socket families, fanotify and kcmp are refused (EPERM)" {
	# vsock is not covered by network namespaces (DESIGN section 8);
	# AF_ALG is a family an unprivileged process may open where nothing
	# else refuses it; fanotify_init and kcmp are what Docker's default
	# profile allows only with a capability. x86_64 numbers: fanotify_init
	# 300, kcmp 312 (KCMP_FILE of our own fd 0 would succeed).
	hostile '{"argv":["perl","-e","sub r { my ($n, $ok) = @_; print $n, \"=\", ($ok ? \"ALLOWED\" : $!+0), \"\\n\" } r(\"vsock\", socket(my $v, 40, 1, 0)); r(\"alg\", socket(my $a, 38, 5, 0)); r(\"inet\", socket(my $i, 2, 1, 0)); r(\"unix\", socket(my $u, 1, 1, 0)); r(\"fanotify\", syscall(300, 0x200, 0) >= 0); r(\"kcmp\", syscall(312, $$, $$, 0, 0, 0) >= 0);"],"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" "vsock=1
alg=1
inet=ALLOWED
unix=ALLOWED
fanotify=1
kcmp=1"
	assert_host_healthy
}

@test "/proc hides the host: kernel config, locks, disks, interrupts, modules" {
	# Each entry, where the kernel has it, reads empty in the cell; each
	# directory lists nothing. The host has content in most of them.
	hostile_cmd 'for f in config.gz locks diskstats partitions interrupts kallsyms modules swaps kcore keys timer_list sched_debug zoneinfo buddyinfo iomem ioports; do
	[ -e /proc/$f ] || continue
	n=$(head -c 64 /proc/$f 2>/dev/null | wc -c)
	[ "$n" -eq 0 ] || echo "VISIBLE /proc/$f"
done
for d in acpi scsi asound driver irq bus tty; do
	[ -d /proc/$d ] || continue
	[ -z "$(ls -A /proc/$d 2>/dev/null)" ] || echo "VISIBLE /proc/$d/"
done
echo checked' '{"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" checked
	# The host itself shows them (so the test can fail): its locks and
	# disks are there.
	[[ -s /proc/diskstats || -s /proc/partitions ]] || [[ -n $(head -c 1 /proc/locks) ]] ||
		fail "this host shows nothing in /proc/locks, diskstats or partitions"
	assert_host_healthy
}

@test "only fds 0-2 and the documented environment reach the job" {
	# The fds and the environment the job's first process (the shell,
	# $$) got from the cell: not what the shell passes on, nor what it
	# adds itself (busybox sh exports SHLVL, for one). ls runs in the
	# background while the shell waits: in a pipeline, the shell itself
	# holds the pipe's ends a moment, and dash opens a foreground
	# command's redirection itself.
	hostile '{"command":"ls -l /proc/$$/fd >/tmp/fds & wait; awk \"NR > 1 { print \\$9, \\$11 }\" /tmp/fds; echo ---; tr \"\\\\0\" \"\\\\n\" </proc/$$/environ | cut -d= -f1 | sort","env":{"MINE":"1"},"timeout":20}'
	assert_job .status succeeded
	run -0 echo "$out"
	assert_line --index 0 --regexp '^0 /dev/null$'
	assert_line --index 1 --regexp '^1 pipe:\[[0-9]+\]$'
	assert_line --index 2 --regexp '^2 pipe:\[[0-9]+\]$'
	assert_line --index 3 ---
	assert_equal "$(sed -n '/^---$/,$p' <<<"$out" | tail -n +2)" "HOME
HOSTNAME
JOBCELL_JOB_ID
LANG
LOGNAME
MINE
PATH
PWD
USER"
	assert_host_healthy
}

@test "shell metacharacters and newlines in every field stay bytes" {
	local evil="\$(touch /tmp/$MARK-a) \`touch /tmp/$MARK-b\`; touch /tmp/$MARK-c | & * ? ' \" \\ \$HOME
second line"
	local body
	# The file's directory keeps the '/' of the text (more parts); its
	# name cannot hold '/' or a newline, nor can a path hold a newline.
	body=$(jq -cn --arg e "$evil" '
	    ("d " + $e | gsub("\n"; "_")) as $d |
	    ("f " + $e | gsub("[\n/]"; "_")) as $f | {
	    name: $e,
	    argv: ["/bin/sh", "-c", "printf \"%s\\n\" \"$1\" \"$EVIL\"; printf \"%s\\n\" \"$(cat \"$2\")\" \"$(cat)\"; pwd", "sh", $e, $f],
	    env: {EVIL: $e},
	    stdin: $e,
	    files: {($d + "/" + $f): $e},
	    cwd: $d,
	    timeout: 20}')
	hostile "$body" 40
	assert_job .status succeeded
	assert_equal "$(json_get .name "$job")" "$evil"
	# argv, env, file content and stdin each come back byte for byte.
	local dir=${evil//$'\n'/_}
	assert_equal "$out" "$evil
$evil
$evil
$evil
/work/d $dir"
	[[ $out != *"$MARK"-[abc]$'\n'* ]] || fail "a command ran: $out"
	run -1 compgen -G "/tmp/$MARK-*"
	assert_host_healthy
}

@test "symlinks planted where files are written lead nowhere" {
	local before
	before=$(sha256sum /etc/passwd "$JOBCELL_DB")
	hostile_cmd "ln -s /etc/passwd /work/a; ln -s '$JOBCELL_DB' /work/b; ln -s /root /work/c
ln -s /etc/passwd /tmp/a; ln -s /etc/passwd /dev/shm/a; mkdir /work/d; ln -s /etc /work/d/e; echo planted" '{"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" planted
	# The next jobs write files at the same names: fresh cells, plain files.
	local i
	for i in 1 2 3; do
		hostile '{"command":"for p in a b c d/e/passwd; do if [ -L \"$p\" ]; then echo \"link $p\"; else printf \"%s=%s \" \"$p\" \"$(cat \"$p\")\"; fi; done; echo","files":{"a":"A","b":"B","c":"C","d/e/passwd":"P"},"timeout":20}'
		assert_job .status succeeded
		assert_equal "$out" "a=A b=B c=C d/e/passwd=P "
	done
	assert_equal "$(sha256sum /etc/passwd "$JOBCELL_DB")" "$before"
	assert_host_healthy
}

@test "nothing persists from one job to the next" {
	hostile_cmd 'echo x >/work/left; echo x >/tmp/left; echo x >/dev/shm/left; mkdir /work/d; echo ok' '{"timeout":20}'
	assert_equal "$out" ok
	local i
	# Several jobs, so both slots (and both host uids) are seen.
	for i in 1 2 3 4; do
		# A failing ls prints nothing (and no count); grep -c exits 1
		# on a count of 0, which is the answer, not a failure.
		hostile_cmd 'l=$(ls -A /work /tmp /dev/shm) || exit 3; printf "%s\n" "$l" | grep -v ":$" | grep -c .; exit 0' '{"timeout":20}'
		assert_job .status succeeded
		assert_equal "$out" 0
	done
	assert_host_healthy
}
