# tests/lib/cells.bash: helpers for the hostile-job suites (tests/e2e/10-cells*):
# a stack whose cells run under a host uid range of their own, an attacker
# and a canary consumer, and the host health check every case ends with.
# Load after ../lib/common.

CELLS_SLOTS=2

# cells_setup_file [INI]: for setup_file. Writes a config (a random
# uid_base far from the default, so that only this stack's cells run with
# those uids; a 1 MiB output cap; a 1 s kill grace; then INI), starts the
# stack, creates the consumers "attacker" (JOBCELL_KEY) and "canary"
# (CANARY_KEY).
cells_setup_file() {
	CELLS_UID_BASE=$((300000 + (RANDOM % 4096) * 64))
	export CELLS_UID_BASE
	cat >"$BATS_FILE_TMPDIR/jobcell.conf" <<-EOF
		[worker]
		uid_base = $CELLS_UID_BASE
		output_cap = 1048576
		kill_grace_ms = 1000
	EOF
	[[ -z ${1:-} ]] || printf '%s\n' "$1" >>"$BATS_FILE_TMPDIR/jobcell.conf"
	JOBCELL_STACK_CONFIG=$BATS_FILE_TMPDIR/jobcell.conf \
	    JOBCELL_STACK_SLOTS=$CELLS_SLOTS stack_start
	new_consumer attacker
	new_consumer canary CANARY_KEY
	jobcell_admin set-quota --name attacker --max-concurrent 2 >/dev/null
}

# cell_procs: how many host processes run as one of the stack's cell uids.
cell_procs() {
	ps -e -o uid= | awk -v lo="$CELLS_UID_BASE" -v hi=$((CELLS_UID_BASE + CELLS_SLOTS)) \
	    '$1 >= lo && $1 < hi { n++ } END { print n + 0 }'
}

_no_cell_procs() {
	[[ $(cell_procs) == 0 ]]
}

# cgroup_dirs: every jobcell cgroup leaf on the host, one "hierarchy/name"
# a line (v1: memory, pids, cpu, cpuacct; v2: unified).
cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/{memory,pids,cpu,cpuacct,unified}/jobcell /sys/fs/cgroup/jobcell; do
		[[ -d $d ]] || continue
		find "$d" -mindepth 1 -maxdepth 1 -type d -printf "$d/%f\n"
	done
}

# leftover_cgroups: the leaves of jobs this stack knows as finished.
leftover_cgroups() {
	local p name st
	while IFS= read -r p; do
		name=${p##*/}
		[[ $name =~ ^[A-Za-z0-9_-]+$ ]] || continue
		st=$(sqlite3 "$JOBCELL_DB" "SELECT status FROM jobs WHERE id = '$name'")
		case $st in
		'' | queued | running) ;;
		*) echo "$p ($st)" ;;
		esac
	done < <(cgroup_dirs)
}

_no_leftover_cgroups() {
	[[ -z $(leftover_cgroups) ]]
}

# assert_host_healthy: the end of every hostile case. No process of the
# cells' uids is left (within 10 s), no cgroup of a finished job is left,
# the stack's services run, and a canary job of another consumer succeeds.
assert_host_healthy() {
	wait_for 10 _no_cell_procs ||
		fail "$(cell_procs) cell process(es) left on the host: $(ps -e -o uid=,pid=,stat=,args= | awk -v lo="$CELLS_UID_BASE" '$1 >= lo && $1 < lo + 2')"
	wait_for 5 _no_leftover_cgroups ||
		fail "cgroups of finished jobs left: $(leftover_cgroups)"
	"$JOBCELL_SRCDIR/tools/stack" status "$JOBCELL_STACK_DIR" >/dev/null ||
		fail "a service of the stack died: $("$JOBCELL_SRCDIR/tools/stack" status "$JOBCELL_STACK_DIR" 2>&1)"
	local saved=$JOBCELL_KEY
	JOBCELL_KEY=$CANARY_KEY
	run_job '{"argv":["/bin/echo","canary"],"timeout":20}' 40
	JOBCELL_KEY=$saved
	[[ $(json_get .status "$job") == succeeded ]] ||
		fail "the canary job did not succeed: $job"
}

# hostile BODY [SECONDS]: run BODY as the attacker and wait (default 60 s);
# $job_id, $job, $job_status and $out (stdout) are set.
hostile() {
	run_job "$1" "${2:-60}"
	job_status=$(json_get .status "$job")
	job_output "$job_id" stdout "$BATS_TEST_TMPDIR/stdout"
	out=$(cat "$BATS_TEST_TMPDIR/stdout")
}

# hostile_cmd COMMAND [JSON-FIELDS]: hostile with {"command": COMMAND} plus
# the given fields (a JSON object, default {"timeout": 20}).
hostile_cmd() {
	local body
	body=$(jq -cn --arg c "$1" --argjson x "${2:-{\"timeout\":20\}}" '{command: $c} + $x')
	hostile "$body"
}

# assert_job FIELD VALUE: a field of the last job (jq path) equals VALUE.
assert_job() {
	local got
	got=$(json_get "$1" "$job")
	[[ $got == "$2" ]] || fail "job $1 is '$got', expected '$2': $job
stdout: ${out:-}"
}
