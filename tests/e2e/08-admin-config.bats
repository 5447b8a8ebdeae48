#!/usr/bin/env bats
# jobcell-admin on a real database, and the config file every program
# reads: bad lines are errors naming the file and line; flags override it.

bats_require_minimum_version 1.5.0

load ../lib/common

setup() {
	db=$BATS_TEST_TMPDIR/jobcell.db
	run -0 jobcell_bin jobcell-admin
	admin=$output
	"$admin" --db "$db" init >/dev/null
}

@test "init is repeatable and reports the schema version" {
	run -0 "$admin" --db "$db" --json init
	run -0 jq -r .schema_version <<<"$output"
	assert_output "$(sqlite3 "$db" 'PRAGMA user_version')"
	run -0 "$admin" --db "$db" init
}

@test "create, list, quota, disable, rotate and delete a consumer" {
	run -0 --separate-stderr "$admin" --db "$db" create-consumer --name ci --json
	run -0 jq -r '.name + " " + (.key | test("^[0-9a-f]{16}[.][A-Za-z0-9_-]{43}$") | tostring)' <<<"$output"
	assert_output "ci true"
	run -1 --separate-stderr "$admin" --db "$db" create-consumer --name ci
	[[ $stderr == *"already exists"* ]]
	run -0 "$admin" --db "$db" set-quota --name ci --max-concurrent 3 --max-queued 9
	run -0 "$admin" --db "$db" disable-consumer --name ci
	run -0 "$admin" --db "$db" list-consumers --json
	run -0 jq -c '.consumers[0] | [.name, .disabled, .max_concurrent, .max_queued]' <<<"$output"
	assert_output '["ci",true,3,9]'
	# The key is never stored in clear.
	run -0 sqlite3 "$db" "SELECT typeof(key_hash), length(key_hash) FROM consumers"
	assert_output "blob|32"
	run -0 "$admin" --db "$db" rotate-key --name ci --json
	run -2 --separate-stderr "$admin" --db "$db" delete-consumer --name ci
	[[ $stderr == *--yes* ]]
	run -0 "$admin" --db "$db" delete-consumer --name ci --yes
	run -0 sqlite3 "$db" "SELECT COUNT(*) FROM consumers"
	assert_output 0
	run -1 --separate-stderr "$admin" --db "$db" disable-consumer --name nobody
	[[ $stderr == *"no consumer named 'nobody'"* ]]
}

@test "db-info shows the schema, counts per status and file sizes" {
	run -0 "$admin" --db "$db" db-info --json
	run -0 jq -c '[.schema_version, .jobs.queued, .jobs.succeeded, (.file_bytes > 0)]' <<<"$output"
	assert_output "[$(sqlite3 "$db" 'PRAGMA user_version'),0,0,true]"
}

@test "usage errors exit 2 and name what is wrong" {
	run -2 --separate-stderr "$admin" --db "$db" frobnicate
	[[ $stderr == *"'frobnicate'"* ]]
	run -2 --separate-stderr "$admin" --db "$db" set-quota --name x --max-queued 0
	[[ $stderr == *--max-queued* ]]
	run -2 --separate-stderr "$admin" --bogus
	run -0 "$admin" --help
	assert_output --partial create-consumer
}

@test "a bad config line is an error naming the file and line, in every program" {
	local conf=$BATS_TEST_TMPDIR/jobcell.conf prog
	printf '[api]\nthreads = 4\n[worker]\nslots = lots\n' >"$conf"
	for prog in jobcell-api jobcell-worker jobcell-admin; do
		local -a extra=()
		[[ $prog != jobcell-admin ]] || extra=(db-info)
		run -0 jobcell_bin "$prog"
		run -1 --separate-stderr "$output" --config "$conf" --db "$db" "${extra[@]}"
		[[ $stderr == *"$conf:4:"* && $stderr == *slots* ]] ||
			fail "$prog: '$stderr' does not name $conf:4 and the key"
	done
	printf '[limits]\ntimeout_default = 100\ntimeout_max = 10\n' >"$conf"
	run -0 jobcell_bin jobcell-admin
	run -1 --separate-stderr "$output" --config "$conf" db-info
	[[ $stderr == *timeout* ]]
	run -1 --separate-stderr "$admin" --config "$BATS_TEST_TMPDIR/missing.conf" db-info
	[[ $stderr == *missing.conf* ]]
}

@test "the config file's db is used, and flags override it" {
	local conf=$BATS_TEST_TMPDIR/jobcell.conf
	printf '[api]\ndb = %s\n' "$db" >"$conf"
	"$admin" --db "$db" create-consumer --name fromflag >/dev/null
	run -0 "$admin" --config "$conf" list-consumers --json
	run -0 jq -r '.consumers[0].name' <<<"$output"
	assert_output fromflag
	run -1 --separate-stderr "$admin" --config "$conf" --db "$BATS_TEST_TMPDIR/other.db" list-consumers
	[[ $stderr == *other.db* ]]
}

@test "the worker's sandboxes and the default sandbox are checked" {
	local conf=$BATS_TEST_TMPDIR/jobcell.conf worker
	run -0 jobcell_bin jobcell-worker
	worker=$output
	run -2 --separate-stderr "$worker" --db "$db" --sandbox vm
	[[ $stderr == *--sandbox* && $stderr == *vm* ]] || fail "stderr: $stderr"
	run -0 "$worker" --help
	assert_output --partial '--sandbox LIST'
	printf '[worker]\nsandbox = namespace, vm\n' >"$conf"
	run -1 --separate-stderr "$worker" --config "$conf" --db "$db"
	[[ $stderr == *sandbox* && $stderr == *"$conf"* ]] || fail "stderr: $stderr"
	printf '[limits]\nsandbox = namespace docker\n' >"$conf"
	run -0 jobcell_bin jobcell-api
	run -1 --separate-stderr "$output" --config "$conf" --db "$db" \
	    --socket "$BATS_TEST_TMPDIR/api.sock"
	[[ $stderr == *sandbox* ]] || fail "stderr: $stderr"
}
