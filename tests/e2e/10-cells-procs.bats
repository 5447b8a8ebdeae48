#!/usr/bin/env bats
# Hostile jobs against the cell's process tree (DESIGN.md section 5, issue
# 4): processes that ignore TERM, stop themselves, daemonize, hold stdout,
# leave zombies, kill everything they can, or ptrace their parent. Every
# case ends with the host healthy (tests/lib/cells.bash).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	cells_setup_file
}

teardown_file() {
	cells_teardown_file
}

@test "a setsid child that ignores TERM is killed at the timeout" {
	hostile_cmd 'setsid sh -c "trap \"\" TERM; while :; do sleep 1; done" &
trap "" TERM; echo started; while :; do sleep 1; done' '{"timeout":2}'
	assert_job .status timed_out
	assert_job .exit_code 124
	assert_job .timed_out true
	assert_equal "$out" started
	assert_host_healthy
}

@test "a job that stops itself (SIGSTOP) does not dodge the timeout" {
	hostile_cmd 'sh -c "kill -STOP \$\$" & echo stopping; kill -STOP $$; echo resumed' '{"timeout":2}'
	assert_job .status timed_out
	assert_job .exit_code 124
	assert_equal "$out" stopping
	assert_host_healthy
}

@test "daemonized background processes end with the job" {
	hostile_cmd '(setsid sh -c "sleep 300" >/dev/null 2>&1 </dev/null &)
nohup sleep 300 >/dev/null 2>&1 &
(trap "" HUP TERM; exec sleep 300) >/dev/null 2>&1 &
echo daemons-started' '{"timeout":30}'
	assert_job .status succeeded
	assert_equal "$out" daemons-started
	assert_host_healthy
}

@test "a background process holding stdout does not hold the job" {
	hostile_cmd 'sleep 300 & (sleep 300 >&2) & echo main-done' '{"timeout":30}'
	# Not timed_out: the job ended with its main process.
	assert_job .status succeeded
	assert_equal "$out" main-done
	assert_host_healthy
}

@test "zombies left by the job are reaped with the cell" {
	hostile '{"argv":["perl","-e","for (1..20) { fork or exit 0 } sleep 1; my $z = 0; for my $p (glob \"/proc/[0-9]*/stat\") { open(my $f, \"<\", $p) or next; $z++ if <$f> =~ /\\) Z /; } print \"zombies=$z\\n\""],"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" zombies=20
	assert_host_healthy
}

@test "kill -9 -1 reaches only the cell" {
	# The sleep is the shell's child: 'wait' reaps it. Counted with a
	# glob (a builtin), as a fork would add a process.
	hostile_cmd 'sleep 300 & kill -9 -1; echo "after=$?"; wait
set -- /proc/[0-9]*; echo "procs=$#"' '{"timeout":20}'
	assert_job .status succeeded
	# Only init and the shell itself are left in the cell.
	assert_equal "$out" "after=0
procs=2"
	assert_host_healthy
}

@test "init of the cell cannot be killed or traced from inside" {
	hostile_cmd 'kill -9 1; echo "kill1=$?"; kill -TERM 1; echo "term1=$?"; cat /proc/1/environ 2>/dev/null | wc -c; echo alive' '{"timeout":20}'
	# TERM to init is forwarded to every process, the job included.
	case $job_status in
	succeeded | failed) ;;
	*) fail "ended $job_status: $job" ;;
	esac
	[[ $out == kill1=* ]] || fail "unexpected output: $out"
	assert_host_healthy
}

@test "ptrace of the parent is refused" {
	# 101 is ptrace on x86_64, 16 PTRACE_ATTACH; the job's parent is the
	# cell's init (pid 1), its grandparent is outside the pid namespace.
	hostile '{"argv":["perl","-e","my $r = syscall(101, 16, getppid(), 0, 0); print \"ppid=\", getppid(), \" r=$r err=\", $!+0, \"\\n\"; $r = syscall(101, 0, 0, 0, 0); print \"traceme r=$r err=\", $!+0, \"\\n\""],"timeout":20}'
	assert_job .status succeeded
	assert_equal "$out" "ppid=1 r=-1 err=1
traceme r=-1 err=1"
	assert_host_healthy
}

@test "a cancelled job whose processes ignore TERM is killed" {
	submit "$(cell_body '{"command":"trap \"\" TERM; setsid sh -c \"trap \\\"\\\" TERM; sleep 300\" & while :; do sleep 1; done","timeout":120}')"
	wait_for 20 job_running "$job_id" || fail "the job never ran"
	api POST "/v1/jobs/$job_id/cancel"
	wait_job "$job_id" 20
	assert_job .status cancelled
	assert_host_healthy
}

job_running() {
	api GET "/v1/jobs/$1"
	[[ $(json_get .status "$api_body") == running ]]
}
