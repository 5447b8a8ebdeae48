# tests/lib/cells.bash: helpers for the cell suites (tests/e2e/04-cell.bats,
# tests/e2e/10-cells*): a stack whose cells run under a host uid range of
# their own, an attacker and a canary consumer, and the host health check
# every hostile case ends with. Load after ../lib/common.
#
# Every suite runs once per backend (DESIGN.md section 5, issue 7): the
# docker twins tests/e2e/11-docker-cell.bats and 12-docker-cells-*.bats are
# symlinks to the namespace suites, and the backend is read from the name
# bats runs the file under ($BATS_TEST_FILENAME keeps the symlink's name).
# For docker, setup_file starts a private dockerd (tests/lib/docker.bash)
# and every request carries "sandbox": "docker"; the test names get the
# prefix "[docker] ".

load "$JOBCELL_SRCDIR/tests/lib/docker.bash"

case ${BATS_TEST_FILENAME##*/} in
*-docker-*) CELLS_BACKEND=docker ;;
*) CELLS_BACKEND=namespace ;;
esac
# shellcheck disable=SC2034 # read by bats-exec-test
[[ $CELLS_BACKEND == namespace ]] || BATS_TEST_NAME_PREFIX="[$CELLS_BACKEND] "

# docker_cells: true when this suite runs the docker backend.
docker_cells() {
	[[ $CELLS_BACKEND == docker ]]
}

# cell_body JSON: JSON (an object) with "sandbox" set to the backend.
cell_body() {
	jq -c --arg sb "$CELLS_BACKEND" '. + {sandbox: $sb}' <<<"$1"
}

# cells_stack_start: stack_start for this suite's backend (for setup_file;
# takes the JOBCELL_STACK_* variables stack_start does). For docker, first
# a private dockerd and the test image; a missing dockerd, docker client,
# busybox or perl fails the suite under JOBCELL_TEST_STRICT=1, else sets
# CELLS_SKIP (setup_file then stops there, and every test skips).
cells_stack_start() {
	if docker_cells; then
		docker_suite_setup || return 1
		if [[ -n ${DOCKER_SKIP:-} ]]; then
			# Every test skips in setup (cells_setup).
			export CELLS_SKIP=$DOCKER_SKIP
			return 0
		fi
	fi
	stack_start
}

# cells_setup: for setup; skips the test when the suite cannot run here.
# The default setup of the cell suites (a suite's own setup calls it).
cells_setup() {
	[[ -z ${CELLS_SKIP:-} ]] || skip "$CELLS_SKIP"
}

setup() {
	cells_setup
}

# cells_teardown_file: stop the stack, then the suite's dockerd if any.
cells_teardown_file() {
	stack_stop
	[[ -z ${DOCKER_DIR:-} ]] || dockerd_remove "$DOCKER_DIR"
}

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
	    JOBCELL_STACK_SLOTS=$CELLS_SLOTS cells_stack_start || return 1
	[[ -z ${CELLS_SKIP:-} ]] || return 0
	new_consumer attacker
	new_consumer canary CANARY_KEY
	jobcell_admin set-quota --name attacker --max-concurrent 2 >/dev/null
}

# cell_procs: how many host processes run as one of the stack's cell uids,
# not counting the warm cells the workers keep prepared between jobs
# (cell/ns_pool.c): a process named cell-warm whose parent is a
# jobcell-worker. A job cannot pass for one: its processes are children of
# its cell's init, never of the worker, and comm can only be set by the
# process itself.
cell_procs() {
	ps -e -o uid=,pid=,ppid=,comm= | awk -v lo="$CELLS_UID_BASE" \
	    -v hi=$((CELLS_UID_BASE + CELLS_SLOTS)) '
	    { comm[$2] = $4; uid[$2] = $1; ppid[$2] = $3; pids[NR] = $2 }
	    END {
		for (i in pids) {
			p = pids[i]
			if (uid[p] < lo || uid[p] >= hi)
				continue
			if (comm[p] == "cell-warm" && comm[ppid[p]] == "jobcell-worker")
				continue
			n++
		}
		print n + 0
	    }'
}

_no_cell_procs() {
	[[ $(cell_procs) == 0 ]]
}

# cgroup_dirs: every jobcell cgroup leaf on the host, one "hierarchy/name"
# a line, in every cgroup mount (v1: ours are memory, pids, cpu, cpuacct;
# docker's runtime makes jobcell/<job id> in every hierarchy; v2: unified).
cgroup_dirs() {
	local m d
	while read -r m; do
		d=$m/jobcell
		[[ -d $d ]] || continue
		find "$d" -mindepth 1 -maxdepth 1 -type d -printf "$d/%f\n"
	done < <(cgroup_mounts)
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

# leftover_containers: the containers (of this suite's private dockerd)
# labelled with a job this stack knows as finished, "id (job status)" a line.
leftover_containers() {
	local cid jid st
	docker_cells || return 0
	while read -r cid jid; do
		[[ $jid =~ ^[A-Za-z0-9_-]+$ ]] || { echo "$cid (label '$jid')"; continue; }
		st=$(sqlite3 "$JOBCELL_DB" "SELECT status FROM jobs WHERE id = '$jid'")
		case $st in
		queued | running) ;;
		*) echo "$cid (job $jid ${st:-unknown})" ;;
		esac
	done < <(docker ps -a --filter label=jobcell.job \
	    --format '{{.ID}} {{.Label "jobcell.job"}}')
}

_no_leftover_containers() {
	local l
	l=$(leftover_containers) && [[ -z $l ]]
}

# assert_host_healthy: the end of every hostile case. No process of the
# cells' uids is left (within 10 s), no cgroup of a finished job is left,
# for docker no container of a finished job (within 5 s), the stack's
# services run, and a canary job of another consumer succeeds.
assert_host_healthy() {
	wait_for 10 _no_cell_procs ||
		fail "$(cell_procs) cell process(es) left on the host: $(ps -e -o uid=,pid=,stat=,args= | awk -v lo="$CELLS_UID_BASE" '$1 >= lo && $1 < lo + 2')"
	wait_for 5 _no_leftover_cgroups ||
		fail "cgroups of finished jobs left: $(leftover_cgroups)"
	wait_for 5 _no_leftover_containers ||
		fail "containers of finished jobs left: $(leftover_containers)"
	"$JOBCELL_SRCDIR/tools/stack" status "$JOBCELL_STACK_DIR" >/dev/null ||
		fail "a service of the stack died: $("$JOBCELL_SRCDIR/tools/stack" status "$JOBCELL_STACK_DIR" 2>&1)"
	local saved=$JOBCELL_KEY
	JOBCELL_KEY=$CANARY_KEY
	run_job "$(cell_body '{"argv":["/bin/echo","canary"],"timeout":20}')" 40
	JOBCELL_KEY=$saved
	[[ $(json_get .status "$job") == succeeded ]] ||
		fail "the canary job did not succeed: $job"
	[[ $(json_get .sandbox "$job") == "$CELLS_BACKEND" ]] ||
		fail "the canary job ran in the wrong sandbox: $job"
}

# hostile BODY [SECONDS]: run BODY (with "sandbox" set to the backend) as
# the attacker and wait (default 60 s); $job_id, $job, $job_status and $out
# (stdout) are set.
hostile() {
	run_job "$(cell_body "$1")" "${2:-60}"
	[[ $(json_get .sandbox "$job") == "$CELLS_BACKEND" ]] ||
		fail "the job ran in the wrong sandbox: $job"
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
