# tests/lib/warm.bash: the warm cells of a cell suite's stack (issue 17,
# cell/ns_pool.c), for tests/e2e/10-cells-warm.bats and
# 10-cells-warm-disk.bats. Load after ../lib/common and ../lib/cells.

# warm_pids: the pids of the stack's warm cells (cell-warm children of its
# workers), one a line.
warm_pids() {
	local sup w c
	sup=$(cat "$JOBCELL_STACK_DIR/worker.pid")
	for w in $(cat /proc/"$sup"/task/*/children 2>/dev/null); do
		for c in $(cat /proc/"$w"/task/*/children 2>/dev/null); do
			[[ $(cat /proc/"$c"/comm 2>/dev/null) == cell-warm ]] && echo "$c"
		done
	done
	return 0
}

# warm_cells_ready: every slot's worker has its warm cell waiting.
warm_cells_ready() {
	[[ $(warm_pids | wc -l) == "$CELLS_SLOTS" ]]
}

# warm_users: the user namespaces of the waiting warm cells, one a line.
warm_users() {
	local p
	for p in $(warm_pids); do
		readlink /proc/"$p"/ns/user
	done
}

# assert_ran_warm USERS NS: the job's user namespace NS was one of the
# warm cells' (USERS, from warm_users before the job).
assert_ran_warm() {
	[[ $'\n'$1$'\n' == *$'\n'"$2"$'\n'* ]] ||
		fail "the job's user namespace '$2' is not a warm cell's: $1"
}
