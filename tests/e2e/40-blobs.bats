#!/usr/bin/env bats
# Blob uploads (issue 13): PUT and HEAD /v1/blobs/sha256:HEX through the
# real nginx, which writes the body to DATA/uploads itself and passes only
# the file's path to jobcell-api. The digest is checked, the file renamed
# into DATA/blobs/<consumer>/<hex>, a blob is its uploader's only; limits
# (max_blob_mb 413, max_storage_mb 429) answer in the JSON error shape;
# nothing is left behind by refused, repeated, parallel or broken uploads.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/blobs

setup_file() {
	local conf=$BATS_FILE_TMPDIR/jobcell.conf
	printf '[storage]\nmax_blob_mb = 64\n[retention]\ngc_interval_s = 3600\n' >"$conf"
	JOBCELL_STACK_CONFIG=$conf stack_start
	new_consumer blobs
	new_consumer other OTHER_KEY
	export BLOBS_ID OTHER_ID
	BLOBS_ID=$(consumer_id blobs)
	OTHER_ID=$(consumer_id other)
}

teardown_file() {
	stack_stop
}

setup() {
	work=$BATS_TEST_TMPDIR
}

@test "the stack keeps its data under its folder" {
	run -0 grep -E "^data_dir = $JOBCELL_STACK_DIR/data$" "$JOBCELL_STACK_DIR/jobcell.conf"
	for d in uploads blobs artifacts work; do
		[[ -d $(data_dir)/$d ]] || fail "no $(data_dir)/$d"
	done
}

@test "PUT stores a blob: 201 with digest and size, the file in DATA/blobs, nothing in uploads" {
	printf 'first blob\n' >"$work/a"
	hex=$(sha_of "$work/a")
	upload "$work/a"
	assert_api_status 201
	assert_equal "$(json_get .digest "$api_body")" "sha256:$hex"
	assert_equal "$(json_get .size "$api_body")" 11
	cmp "$work/a" "$(data_dir)/blobs/$BLOBS_ID/$hex"
	run -0 sqlite3 "$JOBCELL_DB" "SELECT size FROM blobs WHERE consumer_id = $BLOBS_ID AND digest = '$hex'"
	assert_output 11
	uploads_empty
}

@test "PUT of a blob this consumer has is 200, one row and one file" {
	printf 'again\n' >"$work/b"
	hex=$(sha_of "$work/b")
	upload "$work/b"
	assert_api_status 201
	upload "$work/b"
	assert_api_status 200
	assert_equal "$(json_get .digest "$api_body")" "sha256:$hex"
	run -0 sqlite3 "$JOBCELL_DB" "SELECT COUNT(*) FROM blobs WHERE digest = '$hex'"
	assert_output 1
	uploads_empty
}

@test "HEAD is 200 for the owner, 404 for another consumer with the same bytes" {
	printf 'mine\n' >"$work/c"
	hex=$(sha_of "$work/c")
	upload "$work/c"
	assert_api_status 201
	api HEAD "/v1/blobs/sha256:$hex"
	assert_api_status 200
	api --key "$OTHER_KEY" HEAD "/v1/blobs/sha256:$hex"
	assert_api_status 404
	api HEAD "/v1/blobs/sha256:$(printf x | sha256sum | cut -c1-64)"
	assert_api_status 404
	# The other consumer uploading the same bytes gets its own blob.
	upload "$work/c" "" "$OTHER_KEY"
	assert_api_status 201
	[[ -f $(data_dir)/blobs/$OTHER_ID/$hex ]]
	uploads_empty
}

@test "a body that does not match the digest is 400 naming both, and nothing is kept" {
	printf 'real bytes\n' >"$work/d"
	real=$(sha_of "$work/d")
	claimed=$(printf 'other bytes\n' | sha256sum | cut -c1-64)
	upload "$work/d" "$claimed"
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial "sha256:$claimed"
	assert_output --partial "sha256:$real"
	[[ ! -e $(data_dir)/blobs/$BLOBS_ID/$claimed ]]
	[[ ! -e $(data_dir)/blobs/$BLOBS_ID/$real ]]
	uploads_empty
}

@test "a digest that is not 64 lowercase hex digits is 400 naming it" {
	printf 'x' >"$work/e"
	upload "$work/e" "ABCDEF"
	assert_api_error 400 invalid_request
	run -0 json_get .error.message "$api_body"
	assert_output --partial "sha256:ABCDEF"
	upload "$work/e" "$(sha_of "$work/e" | tr a-f A-F)"
	assert_api_error 400 invalid_request
	uploads_empty
}

@test "a 0-byte blob works" {
	: >"$work/empty"
	upload "$work/empty"
	assert_api_status 201
	assert_equal "$(json_get .size "$api_body")" 0
	[[ -f $(data_dir)/blobs/$BLOBS_ID/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ]]
}

@test "over max_blob_mb is 413 in the JSON error shape, before the body is stored" {
	head -c $((65 * 1024 * 1024)) /dev/zero >"$work/big"
	upload "$work/big"
	assert_api_error 413 payload_too_large
	run -0 json_get .error.message "$api_body"
	assert_output --partial "64 MiB"
	uploads_empty
	# Chunked, without a Content-Length: nginx counts as it reads.
	_api_files
	run -0 curl -sS -X PUT --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
	    -H 'Transfer-Encoding: chunked' --data-binary "@$work/big" -o "$api_body_file" \
	    -w '%{http_code}' "$JOBCELL_URL/v1/blobs/sha256:$(sha_of "$work/big")"
	assert_output 413
	run -0 jq -r .error.code "$api_body_file"
	assert_output payload_too_large
	wait_for 10 uploads_empty
}

@test "without a key an upload is 401 and nothing is stored" {
	printf 'anon\n' >"$work/f"
	_api_files
	run -0 curl -sS -X PUT --cacert "$JOBCELL_CACERT" --data-binary "@$work/f" \
	    -o "$api_body_file" -w '%{http_code}' "$JOBCELL_URL/v1/blobs/sha256:$(sha_of "$work/f")"
	assert_output 401
	uploads_empty
}

@test "an upload cut off half-way leaves nothing behind" {
	mkfifo "$work/pipe"
	head -c $((4 * 1024 * 1024)) /dev/urandom >"$work/part"
	# A body of 32 MiB announced, 4 MiB sent, then the client dies.
	curl -sS -T "$work/pipe" --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
	    -H "Content-Length: $((32 * 1024 * 1024))" \
	    -o /dev/null "$JOBCELL_URL/v1/blobs/sha256:$(sha_of "$work/part")" \
	    2>/dev/null 3>&- &
	curl_pid=$!
	exec 5>"$work/pipe"
	cat "$work/part" >&5
	# nginx has the first bytes in a file in DATA/uploads ...
	upload_started() { [[ -n $(find "$(data_dir)/uploads" -type f -size +0) ]]; }
	wait_for 20 upload_started
	# ... when the client goes away.
	kill "$curl_pid"
	exec 5>&-
	wait "$curl_pid" || true
	wait_for 20 uploads_empty
	[[ ! -e $(data_dir)/blobs/$BLOBS_ID/$(sha_of "$work/part") ]]
}

@test "parallel uploads of one blob all succeed: one 201, the rest 200, one row, one file" {
	head -c $((8 * 1024 * 1024)) /dev/urandom >"$work/par"
	hex=$(sha_of "$work/par")
	local -a pids=()
	for i in 1 2 3 4 5 6; do
		curl -sS -X PUT --cacert "$JOBCELL_CACERT" -H "Authorization: Bearer $JOBCELL_KEY" \
		    --data-binary "@$work/par" -o "$work/out.$i" -w '%{http_code}' \
		    "$JOBCELL_URL/v1/blobs/sha256:$hex" >"$work/code.$i" 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	codes=$(for i in 1 2 3 4 5 6; do cat "$work/code.$i"; echo; done | sort | tr '\n' ' ')
	assert_equal "$codes" "200 200 200 200 200 201 "
	for i in 1 2 3 4 5 6; do
		assert_equal "$(jq -r .digest "$work/out.$i")" "sha256:$hex"
	done
	run -0 sqlite3 "$JOBCELL_DB" "SELECT COUNT(*) FROM blobs WHERE digest = '$hex'"
	assert_output 1
	cmp "$work/par" "$(data_dir)/blobs/$BLOBS_ID/$hex"
	uploads_empty
}

@test "the bytes never pass through FastCGI: a 60 MiB upload costs jobcell-api no memory" {
	head -c $((60 * 1024 * 1024)) /dev/urandom >"$work/mem"
	api_pid=$(<"$JOBCELL_STACK_DIR/api.pid")
	before=$(awk '/^VmHWM/ { print $2 }' "/proc/$api_pid/status")
	upload "$work/mem"
	assert_api_status 201
	after=$(awk '/^VmHWM/ { print $2 }' "/proc/$api_pid/status")
	# The peak resident size grows by at most the hash buffer (1 MiB)
	# and noise, far below the 60 MiB that crossed.
	(( after - before < 8 * 1024 )) ||
		fail "jobcell-api's peak RSS grew by $(( (after - before) / 1024 )) MiB during a 60 MiB upload"
	cmp "$work/mem" "$(data_dir)/blobs/$BLOBS_ID/$(sha_of "$work/mem")"
}

@test "over max_storage_mb an upload is 429 with Retry-After, and nothing is kept" {
	new_consumer tight TIGHT_KEY
	jobcell_admin set-quota --name tight --max-storage-mb 2
	tight_id=$(consumer_id tight)
	head -c $((3 * 1024 * 1024)) /dev/urandom >"$work/q"
	upload "$work/q" "" "$TIGHT_KEY"
	assert_api_error 429 quota_exceeded
	run -0 api_header retry-after
	assert_output --regexp '^[0-9]+$'
	[[ ! -e $(data_dir)/blobs/$tight_id/$(sha_of "$work/q") ]]
	uploads_empty
	# 1.5 MiB fits; then /v1/me shows it and the limit.
	head -c $((3 * 512 * 1024)) /dev/urandom >"$work/q2"
	upload "$work/q2" "" "$TIGHT_KEY"
	assert_api_status 201
	api --key "$TIGHT_KEY" GET /v1/me
	assert_api_status 200
	assert_equal "$(json_get .usage.storage_mb "$api_body")" 2
	assert_equal "$(json_get .limits.max_storage_mb "$api_body")" 2
	# The old shape is kept.
	assert_equal "$(json_get '.usage | has("running") and has("queued") and has("today")' "$api_body")" true
}

@test "while over max_storage_mb a submission is 429 quota_exceeded with Retry-After" {
	new_consumer over OVER_KEY
	head -c $((3 * 512 * 1024)) /dev/urandom >"$work/o"
	upload "$work/o" "" "$OVER_KEY"
	assert_api_status 201
	api --key "$OVER_KEY" POST /v1/jobs '{"command":"true"}'
	assert_api_status 201
	jobcell_admin set-quota --name over --max-storage-mb 1
	api --key "$OVER_KEY" POST /v1/jobs '{"command":"true"}'
	assert_api_error 429 quota_exceeded
	run -0 json_get .error.message "$api_body"
	assert_output --partial "storage quota of 1 MiB"
	run -0 api_header retry-after
	assert_output --regexp '^[0-9]+$'
	run -0 jobcell_admin --json list-consumers
	assert_equal "$(jq -r '.consumers[] | select(.name == "over") | .max_storage_mb' <<<"$output")" 1
}

@test "create-consumer --max-storage-mb sets the limit /v1/me shows" {
	out=$(jobcell_admin create-consumer --name capped --max-storage-mb 7 --json)
	key=$(jq -r .key <<<"$out")
	api --key "$key" GET /v1/me
	assert_api_status 200
	assert_equal "$(json_get .limits.max_storage_mb "$api_body")" 7
	assert_equal "$(json_get .usage.storage_mb "$api_body")" 0
}

@test "without a data directory uploads are 503 unavailable saying why" {
	local dir
	dir=$(mktemp -d /tmp/jobcell-e2e-nodata.XXXXXX)
	out=$(JOBCELL_STACK_NO_DATA=1 "$JOBCELL_SRCDIR/tools/stack" start "$dir" 2>"$work/err") || {
		cat "$work/err" >&2
		rm -rf -- "$dir"
		fail "cannot start a stack without a data directory"
	}
	key=$("$(jobcell_bin jobcell-admin)" --db "$dir/jobcell.db" create-consumer --name n --json | jq -r .key)
	printf 'x' >"$work/n"
	JOBCELL_URL=$(sed -n 's/^JOBCELL_URL=//p' <<<"$out") JOBCELL_CACERT=$dir/ca.pem \
	    upload "$work/n" "" "$key" || true
	"$JOBCELL_SRCDIR/tools/stack" stop "$dir"
	rm -rf -- "$dir"
	assert_api_error 503 unavailable
	run -0 json_get .error.message "$api_body"
	assert_output --partial "data_dir"
}
