#!/usr/bin/env bats
# Retention and garbage collection (issue 13) on a real stack: what
# `jobcell-admin gc` deletes (old finished jobs with their logs, expired
# artifacts, unused blobs, orphan files) and keeps (a blob a queued job
# names, recent files), --dry-run and --json, a download in progress while
# GC removes its file (completes, never a truncated 200), a submission
# racing GC for its blob (gets it or a clean 400), the database file
# shrinking, and the supervisor collecting on its own. Times are moved into
# the past in the real database with sqlite3, as a clock would.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/blobs

setup_file() {
	local conf=$BATS_FILE_TMPDIR/jobcell.conf
	# The supervisor's own pass is tested on a stack of its own (last).
	printf '[retention]\ngc_interval_s = 86400\n' >"$conf"
	JOBCELL_STACK_CONFIG=$conf stack_start
	new_consumer keeper
	export KEEPER_ID
	KEEPER_ID=$(consumer_id keeper)
}

teardown_file() {
	stack_stop
}

setup() {
	work=$BATS_TEST_TMPDIR
}

# admin_gc [OPTION]...: jobcell-admin gc with the stack's config.
admin_gc() {
	jobcell_admin --config "$JOBCELL_STACK_DIR/jobcell.conf" gc "$@"
}

sql() {
	sqlite3 -cmd '.timeout 5000' "$JOBCELL_DB" "$@"
}

# age_job ID DAYS: the job finished DAYS days ago.
age_job() {
	sql "UPDATE jobs SET finished_at = finished_at - $2 * 86400000 WHERE id = '$1'"
}

@test "gc deletes finished jobs past jobs_days with their logs; storage follows; --dry-run keeps them" {
	run_job '{"command":"seq 1 20000"}'
	assert_equal "$(json_get .status "$job")" succeeded
	old=$job_id
	run_job '{"command":"echo recent"}'
	recent=$job_id
	bytes=$(sql "SELECT log_bytes FROM jobs WHERE id = '$old'")
	((bytes > 100000))
	before=$(sql "SELECT storage_bytes FROM consumers WHERE id = $KEEPER_ID")
	age_job "$old" 31
	run -0 admin_gc --dry-run
	assert_output --partial "would delete job $old"
	refute_output --partial "$recent"
	api GET "/v1/jobs/$old"
	assert_api_status 200
	run -0 admin_gc --json
	assert_equal "$(jq -r .jobs <<<"$output")" 1
	assert_equal "$(jq -r .job_log_bytes <<<"$output")" "$bytes"
	api GET "/v1/jobs/$old"
	assert_api_error 404 not_found
	api GET "/v1/jobs/$recent"
	assert_api_status 200
	assert_equal "$(sql "SELECT COUNT(*) FROM job_logs WHERE job_id = '$old'")" 0
	after=$(sql "SELECT storage_bytes FROM consumers WHERE id = $KEEPER_ID")
	assert_equal "$after" "$((before - bytes))"
}

@test "gc deletes blobs unused for blobs_hours, keeps recent ones and those a queued job names" {
	printf 'unused\n' >"$work/u"
	printf 'recent\n' >"$work/r"
	head -c 1000 /dev/urandom >"$work/q"
	for f in u r q; do upload "$work/$f"; assert_api_status 201; done
	u=$(sha_of "$work/u") r=$(sha_of "$work/r") q=$(sha_of "$work/q")
	# A queued job names q: the consumer's one slot is busy.
	jobcell_admin set-quota --name keeper --max-concurrent 1
	submit '{"command":"sleep 60"}'
	sleeper=$job_id
	wait_for 20 eval '[[ $(sql "SELECT status FROM jobs WHERE id = '"'$sleeper'"'") == running ]]'
	submit "{\"command\":\"cat in.bin\",\"inputs\":[{\"blob\":\"sha256:$q\",\"path\":\"in.bin\",\"format\":\"file\"}]}"
	queued=$job_id
	sql "UPDATE blobs SET last_used_at = last_used_at - 25 * 3600000 WHERE digest IN ('$u', '$q')"
	run -0 admin_gc --json
	assert_equal "$(jq -r .blobs <<<"$output")" 1
	api HEAD "/v1/blobs/sha256:$u"
	assert_api_status 404
	[[ ! -e $(data_dir)/blobs/$KEEPER_ID/$u ]]
	[[ -z $(find "$(data_dir)/blobs/$KEEPER_ID" -name '.gc-*') ]]
	api HEAD "/v1/blobs/sha256:$r"
	assert_api_status 200
	api HEAD "/v1/blobs/sha256:$q"
	assert_api_status 200
	# The queued job still gets its input.
	api POST "/v1/jobs/$sleeper/cancel"
	wait_job "$queued"
	assert_equal "$(json_get .status "$job")" succeeded
	job_output "$queued" stdout "$work/got"
	cmp "$work/q" "$work/got"
	jobcell_admin set-quota --name keeper --max-concurrent 2
	# Once no live job names it, an old q goes too (re-aged: the job's
	# submit used it).
	sql "UPDATE blobs SET last_used_at = last_used_at - 25 * 3600000 WHERE digest = '$q'"
	run -0 admin_gc --json
	assert_equal "$(jq -r .blobs <<<"$output")" 1
	api HEAD "/v1/blobs/sha256:$q"
	assert_api_status 404
}

@test "gc deletes orphan files older than an hour and keeps recent ones" {
	d=$(data_dir)
	mkdir -p "$d/blobs/$KEEPER_ID"
	old=$(printf 'o1' | sha256sum | cut -c1-64)
	new=$(printf 'o2' | sha256sum | cut -c1-64)
	printf 'o1' >"$d/blobs/$KEEPER_ID/$old"
	printf 'o2' >"$d/blobs/$KEEPER_ID/$new"
	printf 'crash leftover' >"$d/uploads/0000099999"
	mkdir -p "$d/artifacts/zzzzzzzzzzzzzzzzzzzzzzzzzz"
	printf 'x' >"$d/artifacts/zzzzzzzzzzzzzzzzzzzzzzzzzz/f"
	touch -d '2 hours ago' "$d/blobs/$KEEPER_ID/$old" "$d/uploads/0000099999" \
	    "$d/artifacts/zzzzzzzzzzzzzzzzzzzzzzzzzz/f" "$d/artifacts/zzzzzzzzzzzzzzzzzzzzzzzzzz"
	run -0 admin_gc
	assert_output --partial "deleted orphan $d/blobs/$KEEPER_ID/$old"
	[[ ! -e $d/blobs/$KEEPER_ID/$old ]]
	[[ -e $d/blobs/$KEEPER_ID/$new ]]
	[[ ! -e $d/uploads/0000099999 ]]
	[[ ! -e $d/artifacts/zzzzzzzzzzzzzzzzzzzzzzzzzz ]]
	rm -f "$d/blobs/$KEEPER_ID/$new"
}

@test "gc deletes expired artifacts: the row, then the file; the listing and the download say so" {
	run_job '{"command":"echo a > a.txt; echo b > b.txt","artifacts":["*.txt"]}'
	assert_equal "$(json_get .status "$job")" succeeded
	id=$job_id
	sql "UPDATE artifacts SET expires_at = 0 WHERE job_id = '$id' AND path = 'a.txt'"
	run -0 admin_gc --json
	assert_equal "$(jq -r .artifacts <<<"$output")" 1
	api GET "/v1/jobs/$id/artifacts"
	assert_api_status 200
	assert_equal "$(json_get '[.artifacts[].path] | join(",")' "$api_body")" b.txt
	api GET "/v1/jobs/$id/artifacts/a.txt"
	assert_api_error 404 not_found
	api GET "/v1/jobs/$id/artifacts/b.txt"
	assert_api_status 200
	assert_equal "$api_body" b
	assert_equal "$(ls "$(data_dir)/artifacts/$id" | wc -l)" 1
}

@test "a download in progress while gc removes its artifact completes with every byte" {
	run_job '{"command":"head -c 16777216 /dev/urandom > big.bin","artifacts":["big.bin"]}'
	assert_equal "$(json_get .status "$job")" succeeded
	id=$job_id
	want=$(json_get '.artifacts[0].sha256' "$job")
	# A slow reader: 16 MiB at 2 MiB/s.
	curl -sS --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
	    --limit-rate 2M -o "$work/dl" -w '%{http_code}' \
	    "$JOBCELL_URL/v1/jobs/$id/artifacts/big.bin" >"$work/code" 3>&- &
	curl_pid=$!
	started() { [[ -s $work/dl ]]; }
	wait_for 20 started
	sql "UPDATE artifacts SET expires_at = 0 WHERE job_id = '$id'"
	run -0 admin_gc --json
	assert_equal "$(jq -r .artifacts <<<"$output")" 1
	[[ ! -e $(data_dir)/artifacts/$id/big.bin ]]
	[[ ! -e $(data_dir)/artifacts/$id ]]
	wait "$curl_pid"
	assert_equal "$(cat "$work/code")" 200
	assert_equal "$(sha_of "$work/dl")" "$want"
	# A new request finds nothing: a clean 404, not a short body.
	api GET "/v1/jobs/$id/artifacts/big.bin"
	assert_api_error 404 not_found
}

@test "a submission racing gc for its blob gets the blob or a clean 400, never a broken job" {
	local got=0 refused=0 i hex body
	for i in 1 2 3 4 5 6 7 8 9 10; do
		head -c 4096 /dev/urandom >"$work/race$i"
		upload "$work/race$i"
		assert_api_status 201
		hex=$(sha_of "$work/race$i")
		sql "UPDATE blobs SET last_used_at = 0 WHERE digest = '$hex'"
		body="{\"command\":\"sha256sum in.bin\",\"inputs\":[{\"blob\":\"sha256:$hex\",\"path\":\"in.bin\",\"format\":\"file\"}]}"
		# Both at once; which one starts first alternates.
		if ((i % 2)); then
			admin_gc --json >"$work/gc$i" 2>&1 3>&- &
		fi
		curl -sS --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
		    -H 'Content-Type: application/json' -d "$body" -o "$work/sub$i" \
		    -w '%{http_code}' "$JOBCELL_URL/v1/jobs" >"$work/code$i" 3>&- &
		sub_pid=$!
		if ((i % 2 == 0)); then
			admin_gc --json >"$work/gc$i" 2>&1 3>&- &
		fi
		wait
		code=$(<"$work/code$i")
		api_body=$(<"$work/sub$i")
		if [[ $code == 201 ]]; then
			got=$((got + 1))
			jid=$(json_get .id "$api_body")
			wait_job "$jid"
			assert_equal "$(json_get .status "$job")" succeeded
			job_output "$jid" stdout "$work/out"
			assert_equal "$(cut -c1-64 "$work/out")" "$hex"
		else
			refused=$((refused + 1))
			assert_equal "$code" 400
			assert_equal "$(json_get .error.code "$api_body")" invalid_request
			run -0 json_get .error.message "$api_body"
			assert_output --partial "sha256:$hex"
			api HEAD "/v1/blobs/sha256:$hex"
			assert_api_status 404
		fi
	done
	echo "# submissions that got their blob: $got, refused cleanly: $refused" >&3
}

@test "the database file shrinks after gc deletes many logs" {
	run_job '{"command":"head -c 6000000 /dev/urandom | base64"}' 60
	assert_equal "$(json_get .status "$job")" succeeded
	id=$job_id
	sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	before=$(stat -c %s "$JOBCELL_DB")
	age_job "$id" 400
	run -0 admin_gc --json
	assert_equal "$(jq -r .jobs <<<"$output")" 1
	(($(jq -r .db_pages_freed <<<"$output") > 1000))
	sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	after=$(stat -c %s "$JOBCELL_DB")
	echo "# database file: $before -> $after bytes" >&3
	((after < before - 5000000)) || fail "the file did not shrink: $before -> $after"
}

@test "jobcell-admin init switches an older database to auto_vacuum with one VACUUM" {
	db=$work/old.db
	sqlite3 "$db" 'PRAGMA auto_vacuum=NONE; CREATE TABLE t(x); DROP TABLE t;'
	run -0 "$(jobcell_bin jobcell-admin)" --db "$db" init
	assert_equal "$(sqlite3 "$db" 'PRAGMA auto_vacuum')" 2
}

@test "the supervisor collects garbage every gc_interval_s on its own" {
	local dir conf=$work/fast.conf
	printf '[retention]\ngc_interval_s = 1\n' >"$conf"
	dir=$(mktemp -d /tmp/jobcell-e2e-gc.XXXXXX)
	out=$(JOBCELL_STACK_CONFIG=$conf "$JOBCELL_SRCDIR/tools/stack" start "$dir" 2>"$work/err") || {
		cat "$work/err" >&2
		rm -rf -- "$dir"
		fail "cannot start a second stack"
	}
	key=$("$(jobcell_bin jobcell-admin)" --db "$dir/jobcell.db" create-consumer --name g --json | jq -r .key)
	printf 'collect me\n' >"$work/g"
	hex=$(sha_of "$work/g")
	JOBCELL_URL=$(sed -n 's/^JOBCELL_URL=//p' <<<"$out") JOBCELL_CACERT=$dir/ca.pem upload "$work/g" "" "$key"
	status=$api_status
	sqlite3 -cmd '.timeout 5000' "$dir/jobcell.db" "UPDATE blobs SET last_used_at = 0"
	gone() { [[ ! -e $dir/data/blobs/1/$hex ]]; }
	wait_for 30 gone && rc=0 || rc=$?
	grep -q 'gc: deleted 0 jobs.*1 blobs' "$dir/worker.log" && logged=1 || logged=0
	"$JOBCELL_SRCDIR/tools/stack" stop "$dir"
	rm -rf -- "$dir"
	assert_equal "$status" 201
	assert_equal "$rc" 0
	assert_equal "$logged" 1
}
