#!/usr/bin/env bats
# Per-user kernel counters (DESIGN section 5, issue 12): a job that drives
# inotify instances, inotify watches, fanotify groups or queued real-time
# signals to their limit is charged on its own slot's uid, within a bound,
# never on root's or on another tenant's. Each case holds its maximum in a
# running job, then checks from the host side that root, and a neighbour
# job of another consumer on the other slot, still get what they ask for.
# x86_64 call numbers: inotify_init1 294, inotify_add_watch 254,
# fanotify_init 300, rt_sigqueueinfo 129.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	cells_setup_file
}

teardown_file() {
	cells_teardown_file
}

# A case that failed half-way must not leave its holding job running: the
# next case's job would wait for a slot.
teardown() {
	if [[ -n ${hold_id:-} ]]; then
		api POST "/v1/jobs/$hold_id/cancel" || true
		wait_for 60 job_is_final "$hold_id" || true
	fi
}

# Perl that queues one blocked SIGRTMIN (34) to itself; "ok" or the errno.
SIGQUEUE_ONE='use POSIX; $| = 1; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(34)) or die; my $si = pack("iiiiiiQ", 34, 0, -1, 0, $$, $<, 0) . ("\0" x 96); print syscall(129, $$, 34, $si) == 0 ? "ok\n" : "fail " . ($! + 0) . "\n";'
INOTIFY_ONE='$| = 1; my $p = "/"; my $fd = syscall(294, 0); my $w = $fd >= 0 ? syscall(254, $fd, $p, 1) : -1; print $w >= 0 ? "ok\n" : "fail " . ($! + 0) . "\n";'

# _held: the holding job printed "held N errno E"; sets held and held_errno.
_held() {
	local line
	api GET "/v1/jobs/$hold_id/output?stream=stdout" || return 1
	line=$(grep -m1 '^held ' "$api_body_file") || {
		# A hold that ended is a failure, not something to wait for.
		api GET "/v1/jobs/$hold_id"
		[[ $(json_get .status "$api_body") != running ]] &&
			fail "the holding job ended: $api_body"
		return 1
	}
	read -r _ held _ held_errno <<<"$line"
}

# _hold PERL: runs PERL in a cell as the attacker (it must print "held N
# errno E" once it holds its maximum, then keep it); waits for the line.
_hold() {
	submit "$(cell_body "$(jq -cn --arg p "$1" '{argv: ["perl", "-e", $p], timeout: 300}')")"
	hold_id=$job_id
	wait_for 120 _held || fail "the job did not report what it holds"
}

# _release: cancel the holding job, then the host must be as before.
_release() {
	api POST "/v1/jobs/$hold_id/cancel"
	wait_job "$hold_id" 60
	hold_id=""
	assert_host_healthy
}

# _root PERL: PERL as root on the host prints ok.
_root() {
	run -0 perl -e "$1"
	assert_output ok
}

# _neighbour PERL: PERL in a cell of another consumer prints ok.
_neighbour() {
	local saved=$JOBCELL_KEY
	JOBCELL_KEY=$CANARY_KEY
	run_job "$(cell_body "$(jq -cn --arg p "$1" '{argv: ["perl", "-e", $p], timeout: 60}')")" 90
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/neighbour"
	JOBCELL_KEY=$saved
	run -0 cat "$BATS_TEST_TMPDIR/neighbour"
	assert_output ok
}

@test "inotify instances: a job at its limit leaves root's and a neighbour's alone" {
	_hold '$| = 1; my $n = 0; while (syscall(294, 0) >= 0) { $n++ } print "held $n errno ", $! + 0, "\n"; sleep 600;'
	((held >= 1 && held <= 128)) || fail "held $held instances"
	assert_equal "$held_errno" 24	# EMFILE: its own limit
	_root "$INOTIFY_ONE"
	_neighbour "$INOTIFY_ONE"
	_release
}

@test "inotify watches: a job at its limit leaves root's and a neighbour's alone" {
	# Watches on every file of the cell's /usr, in one instance after
	# another, until the kernel says no (ENOSPC) or no instance is left.
	_hold '$| = 1; my @f; my @d = ("/usr"); while (@d) { my $d = shift @d; opendir(my $h, $d) or next; for (readdir $h) { next if /^\.\.?$/; my $p = "$d/$_"; push @f, $p; push @d, $p if -d $p && !-l $p } } my ($n, $e) = (0, 0); INST: while (1) { my $fd = syscall(294, 0); if ($fd < 0) { $e = $! + 0; last } for my $p (@f) { if (syscall(254, $fd, $p, 1) < 0) { next if $! == 2 || $! == 13 || $! == 20 || $! == 40; $e = $! + 0; last INST } $n++ } } print "held $n errno $e\n"; sleep 600;'
	((held >= 1)) || fail "held $held watches"
	_root "$INOTIFY_ONE"
	_neighbour "$INOTIFY_ONE"
	_release
}

@test "fanotify groups: a job cannot take root's" {
	_hold '$| = 1; my $n = 0; while (syscall(300, 0x200, 0) >= 0) { $n++; last if $n >= 1000 } print "held $n errno ", $! + 0, "\n"; sleep 600;'
	# fanotify_init is refused in cells (EPERM), as Docker refuses it
	# without CAP_SYS_ADMIN: the job holds none.
	assert_equal "$held" 0
	assert_equal "$held_errno" 1
	_root '$| = 1; print syscall(300, 0, 0) >= 0 ? "ok\n" : "fail " . ($! + 0) . "\n";'
	_release
}

@test "queued signals: a job at its limit leaves root's and a neighbour's alone" {
	_hold 'use POSIX; $| = 1; sigprocmask(SIG_BLOCK, POSIX::SigSet->new(34)) or die; my $si = pack("iiiiiiQ", 34, 0, -1, 0, $$, $<, 0) . ("\0" x 96); my $n = 0; while (syscall(129, $$, 34, $si) == 0) { $n++; last if $n >= 1000000 } print "held $n errno ", $! + 0, "\n"; sleep 600;'
	((held >= 1)) || fail "held $held signals"
	assert_equal "$held_errno" 11	# EAGAIN: its own limit
	_root "$SIGQUEUE_ONE"
	_neighbour "$SIGQUEUE_ONE"
	_release
}
