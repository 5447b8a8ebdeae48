#!/usr/bin/env bats
# Artifacts end to end (DESIGN.md section 4, issue 13): a job's globs are
# collected from its disk workspace once its processes are dead, listed in
# the job object and at /artifacts, and downloaded through nginx
# (X-Accel-Redirect: sendfile, Range, the sha256 as ETag). The hostile
# cases of the issue: links to /etc/passwd, the database and
# /proc/self/environ, a FIFO, names with a newline, '%', UTF-8 and
# 255-byte parts, a job that keeps writing while it is collected, the
# caps, artifacts_required, and another consumer's artifact. Runs once per
# backend: 14-docker-artifacts.bats is a symlink to this file
# (tests/lib/cells.bash).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cells

setup_file() {
	# Small caps, to reach them; [storage] data_dir is the stack's own.
	cells_setup_file '[storage]
artifacts_max_files = 20
artifacts_max_mb = 1'
}

teardown_file() {
	cells_teardown_file
}

# art_job COMMAND GLOBS-JSON [EXTRA-JSON]: runs COMMAND with those
# artifact globs (and extra fields); $job, $job_id, $out as hostile sets.
art_job() {
	local body
	body=$(jq -cn --arg c "$1" --argjson g "$2" --argjson x "${3:-{\}}" \
	    '{command: $c, artifacts: $g, timeout: 30} + $x')
	hostile "$body"
}

# art_paths: the paths of the last job's artifacts, one a line (NUL-safe
# enough: paths with newlines are checked with jq directly).
art_paths() {
	json_get '.artifacts[].path' "$job"
}

# art_get PATH [CURL-ARGS...]: GET the artifact PATH of $job_id (URL-encoded
# here) into $BATS_TEST_TMPDIR/dl; sets art_status and the headers file.
art_get() {
	local path=$1 enc
	shift
	enc=$(jq -rn --arg p "$path" '$p | @uri')
	rm -f "$BATS_TEST_TMPDIR/dl"	# curl writes no file for no body
	art_status=$(curl -sS --cacert "$JOBCELL_CACERT" \
	    -H "Authorization: Bearer $JOBCELL_KEY" "$@" \
	    -o "$BATS_TEST_TMPDIR/dl" -D "$BATS_TEST_TMPDIR/dl-headers" \
	    -w '%{http_code}' "$JOBCELL_URL/v1/jobs/$job_id/artifacts/$enc")
}

# art_header NAME: the value of a header of the last art_get (last one if
# several), without the CR.
art_header() {
	awk -v n="${1,,}" 'BEGIN { IGNORECASE = 1 } tolower($0) ~ "^" n ":" { sub(/^[^:]*:[ ]*/, ""); sub(/\r$/, ""); v = $0 } END { print v }' \
	    "$BATS_TEST_TMPDIR/dl-headers"
}

_job_said_ready() {
	api GET "/v1/jobs/$1/output?stream=stdout" && [[ $api_body == ready ]]
}

# stored_file: the file of artifact PATH of $job_id under the data
# directory (what the worker stored).
stored_file() {
	local f
	f=$(sqlite3 "$JOBCELL_DB" "SELECT file FROM artifacts WHERE job_id = '$job_id' AND path = '$1'")
	[[ -n $f ]] || fail "no row for '$1'"
	echo "$JOBCELL_STACK_DIR/data/artifacts/$job_id/$f"
}

@test "artifacts: the globs' files come back, listed, with their sha256, byte for byte" {
	art_job 'mkdir -p out/sub reports/a/b bin && printf hello >out/a.txt &&
printf x >out/skip.log && printf "<t/>" >reports/a/b/t.xml &&
printf "<r/>" >reports/top.xml && head -c 300000 /dev/urandom >bin/blob &&
sha256sum bin/blob && chmod 000 bin/blob' \
	    '["out/*.txt","reports/**/*.xml","bin/*"]'
	assert_job .status succeeded
	run -0 art_paths
	assert_output "bin/blob
out/a.txt
reports/a/b/t.xml
reports/top.xml"
	assert_job '.artifacts[1].size' 5
	assert_job '.artifacts[1].sha256' 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
	assert_job '.artifacts[0].size' 300000
	# expires_at: finished_at + [retention] artifacts_hours (168)
	local fin exp
	fin=$(date -d "$(json_get .finished_at "$job")" +%s)
	exp=$(date -d "$(json_get '.artifacts[0].expires_at' "$job")" +%s)
	assert_equal $((exp - fin)) $((168 * 3600))
	# The listing says the same, not truncated.
	api GET "/v1/jobs/$job_id/artifacts"
	assert_api_status 200
	assert_equal "$(jq -c . <<<"$api_body")" \
	    "$(jq -c '{artifacts: .artifacts, truncated: false}' <<<"$job")"
	# The binary one (mode 000 in the workspace: the worker reads it all
	# the same) comes back byte for byte, its sha256 the job's own.
	art_get bin/blob
	assert_equal "$art_status" 200
	local want
	want=$(json_get '.artifacts[0].sha256' "$job")
	assert_equal "$(sha256sum <"$BATS_TEST_TMPDIR/dl" | cut -d' ' -f1)" "$want"
	assert_equal "${out%% *}" "$want"
	assert_host_healthy
}

@test "download: ETag is the sha256, Range gives 206 with the right bytes, If-None-Match 304" {
	art_job 'mkdir d && head -c 1048000 /dev/urandom >"d/b i%n.dat"' '["d/*"]'
	assert_job .status succeeded
	local sha file
	sha=$(json_get '.artifacts[0].sha256' "$job")
	file=$(stored_file 'd/b i%n.dat')
	art_get 'd/b i%n.dat'
	assert_equal "$art_status" 200
	assert_equal "$(art_header etag)" "\"$sha\""
	assert_equal "$(grep -ci '^etag:' "$BATS_TEST_TMPDIR/dl-headers")" 1
	assert_equal "$(art_header content-type)" application/octet-stream
	assert_equal "$(art_header content-disposition)" "attachment; filename*=UTF-8''b%20i%25n.dat"
	assert_equal "$(art_header content-length)" 1048000
	cmp "$BATS_TEST_TMPDIR/dl" "$file"
	# Range: 206 and exactly those bytes
	art_get 'd/b i%n.dat' -r 1000-66535
	assert_equal "$art_status" 206
	assert_equal "$(art_header content-range)" "bytes 1000-66535/1048000"
	cmp "$BATS_TEST_TMPDIR/dl" <(tail -c +1001 "$file" | head -c 65536)
	assert_equal "$(art_header etag)" "\"$sha\""
	# A suffix range, the way a resumed download asks
	art_get 'd/b i%n.dat' -H 'Range: bytes=1047990-'
	assert_equal "$art_status" 206
	cmp "$BATS_TEST_TMPDIR/dl" <(tail -c 10 "$file")
	# The client has it: 304, no body
	art_get 'd/b i%n.dat' -H "If-None-Match: \"$sha\""
	assert_equal "$art_status" 304
	assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/dl" 2>/dev/null || echo 0)" 0
	art_get 'd/b i%n.dat' -H 'If-None-Match: "0000"'
	assert_equal "$art_status" 200
	# HEAD: the headers only
	art_get 'd/b i%n.dat' -I
	assert_equal "$art_status" 200
	assert_equal "$(art_header content-length)" 1048000
	# The internal location is no way in from outside
	api GET "/_jobcell/artifacts/$job_id/1"
	assert_api_status 404
}

@test "hostile links: /etc/passwd, the database, /proc/self/environ are never collected" {
	art_job 'ln -s /etc/passwd passwd.txt && ln -s '"$JOBCELL_DB"' db.txt &&
ln -s /proc/self/environ environ.txt && ln -s / root && ln -s /etc etc &&
ln -s '"$JOBCELL_STACK_DIR"' stack && printf ok >real.txt' \
	    '["*.txt","root/etc/passwd","etc/*","stack/**","**/*.db","**/passwd"]'
	assert_job .status succeeded
	run -0 art_paths
	assert_output real.txt
	# Named exactly, with artifacts_required: the link is no file
	art_job 'ln -s /etc/passwd passwd.txt' '["passwd.txt"]' \
	    '{"artifacts_required":true}'
	assert_job .status failed
	assert_job .error "artifact glob 'passwd.txt' matched no file (artifacts_required)"
	assert_job '.artifacts | length' 0
	assert_host_healthy
}

@test "a FIFO artifact does not hang the worker; devices and sockets are not read" {
	art_job 'mkfifo f.txt &&
perl -MSocket -e "socket(S, PF_UNIX, SOCK_STREAM, 0) or die; bind(S, pack_sockaddr_un(q(s.txt))) or die" &&
printf ok >real.txt && ls -F' '["*.txt"]'
	assert_job .status succeeded
	assert_equal "$out" "f.txt|
real.txt
s.txt="
	run -0 art_paths
	assert_output real.txt
	# The worker goes on: the next job of the same consumer runs
	assert_host_healthy
}

@test "names: a newline, '%', UTF-8 and 255-byte parts are kept and downloadable" {
	local long
	long=$(printf 'L%.0s' {1..251}).txt
	art_job 'mkdir -p "n/'"$long"'" && printf 1 >"n/new
line" && printf 2 >"n/100%25 %41" && printf 3 >"n/café ☃.txt" &&
printf 4 >"n/'"$long"'/'"$long"'" && printf 5 >"$(printf "n/bad\377")"' '["n/**"]'
	assert_job .status succeeded
	assert_job '.artifacts | length' 4
	local p i=0
	for p in $'n/new\nline' 'n/100%25 %41' 'n/café ☃.txt' "n/$long/$long"; do
		i=$((i + 1))
		[[ $(jq --arg p "$p" '[.artifacts[] | select(.path == $p)] | length' <<<"$job") == 1 ]] ||
			fail "'$p' is not listed: $job"
		art_get "$p"
		assert_equal "$art_status" 200
		case $p in
		*line) assert_equal "$(cat "$BATS_TEST_TMPDIR/dl")" 1 ;;
		*%41) assert_equal "$(cat "$BATS_TEST_TMPDIR/dl")" 2 ;;
		*café*) assert_equal "$(cat "$BATS_TEST_TMPDIR/dl")" 3
			assert_equal "$(art_header content-disposition)" \
			    "attachment; filename*=UTF-8''caf%C3%A9%20%E2%98%83.txt" ;;
		*) assert_equal "$(cat "$BATS_TEST_TMPDIR/dl")" 4 ;;
		esac
	done
}

@test "a job that keeps writing: the bytes collected are the last ones, and nothing writes after" {
	# The main process exits while a background one appends as fast as
	# it can; the cell's end kills it before the collection.
	art_job '(i=0; while :; do i=$((i+1)); echo "$i" >>grow.txt; done) &
while [ ! -s grow.txt ]; do :; done; exit 0' '["grow.txt"]'
	assert_job .status succeeded
	local size sha file
	size=$(json_get '.artifacts[0].size' "$job")
	sha=$(json_get '.artifacts[0].sha256' "$job")
	file=$(stored_file grow.txt)
	((size > 0)) || fail "nothing collected: $job"
	# The stored copy is what the listing says, and a whole number of
	# lines: the writer was dead, not cut mid-write by a copy racing it.
	assert_equal "$(stat -c %s "$file")" "$size"
	assert_equal "$(sha256sum <"$file" | cut -d' ' -f1)" "$sha"
	assert_equal "$(tail -c 1 "$file" | od -An -tx1 | tr -d ' ')" 0a
	# No process of the cell is left to write (the store's copy is the
	# worker's, the workspace gone): after a canary job, still the same.
	assert_host_healthy
	assert_equal "$(stat -c %s "$file")" "$size"
	assert_equal "$(sha256sum <"$file" | cut -d' ' -f1)" "$sha"
	# The same for a job that writes until its time is up.
	art_job 'while :; do echo x >>grow.txt; done' '["grow.txt"]' '{"timeout":2}'
	assert_job .status timed_out
	size=$(json_get '.artifacts[0].size' "$job")
	file=$(stored_file grow.txt)
	((size > 0)) || fail "nothing collected from the timed-out job: $job"
	assert_equal "$(sha256sum <"$file" | cut -d' ' -f1)" "$(json_get '.artifacts[0].sha256' "$job")"
	assert_equal $((size % 2)) 0
	assert_host_healthy
}

@test "caps: past artifacts_max_files or artifacts_max_mb the listing says truncated" {
	art_job 'mkdir m && for i in $(seq 1 30); do printf "%s" "$i" >"m/$(printf %02d "$i")"; done' '["m/*"]'
	assert_job .status succeeded
	assert_job '.artifacts | length' 20
	assert_job '.artifacts[0].path' m/01
	assert_job '.artifacts[19].path' m/20
	api GET "/v1/jobs/$job_id/artifacts"
	assert_equal "$(json_get .truncated "$api_body")" true
	# 1 MiB in all: the 700 KiB file fits, the second does not
	art_job 'head -c 716800 /dev/zero >a.bin && head -c 716800 /dev/zero >b.bin && printf 1 >c.bin' '["*.bin"]'
	assert_job .status succeeded
	run -0 art_paths
	assert_output 'a.bin
c.bin'
	api GET "/v1/jobs/$job_id/artifacts"
	assert_equal "$(json_get .truncated "$api_body")" true
}

@test "artifacts_required: a glob that matches nothing fails the job and is named" {
	art_job 'printf 1 >a.txt' '["a.txt","dist/*.tar.gz"]' '{"artifacts_required":true}'
	assert_job .status failed
	assert_job .exit_code 0
	assert_job .error "artifact glob 'dist/*.tar.gz' matched no file (artifacts_required)"
	assert_job '.artifacts[0].path' a.txt
	# Without it, the job succeeds with what there is
	art_job 'printf 1 >a.txt' '["a.txt","dist/*.tar.gz"]'
	assert_job .status succeeded
	assert_job .error null
	# A job that failed keeps its status and its artifacts
	art_job 'printf 1 >a.txt; exit 3' '["a.txt"]'
	assert_job .status failed
	assert_job .exit_code 3
	assert_job '.artifacts | length' 1
}

@test "a cancelled job collects nothing" {
	submit "$(cell_body '{"command":"printf 1 >a.txt; echo ready; exec sleep 60","artifacts":["a.txt"],"artifacts_required":true,"timeout":60}')"
	wait_for 30 _job_said_ready "$job_id" || fail "the job never started"
	api POST "/v1/jobs/$job_id/cancel"
	assert_api_status 200
	wait_job "$job_id" 30
	assert_equal "$(json_get .status "$job")" cancelled
	assert_equal "$(json_get '.artifacts | length' "$job")" 0
	assert_equal "$(sqlite3 "$JOBCELL_DB" "SELECT count(*) FROM artifacts WHERE job_id = '$job_id'")" 0
	[[ ! -e $JOBCELL_STACK_DIR/data/artifacts/$job_id ]] || fail "a directory was made"
	assert_host_healthy
}

@test "another consumer's artifact, a missing job, a missing path, an expired one: the same 404" {
	art_job 'printf secret >s.txt' '["s.txt"]'
	assert_job .status succeeded
	local owner=$JOBCELL_KEY
	art_get s.txt
	assert_equal "$art_status" 200
	JOBCELL_KEY=$CANARY_KEY
	art_get s.txt
	assert_equal "$art_status" 404
	local other
	other=$(cat "$BATS_TEST_TMPDIR/dl")
	api GET "/v1/jobs/$job_id/artifacts"
	assert_api_error 404 not_found
	JOBCELL_KEY=$owner
	art_get nope.txt
	assert_equal "$art_status" 404
	assert_equal "$(cat "$BATS_TEST_TMPDIR/dl")" "$other"
	local real=$job_id
	job_id=00nosuchjob00000000000000a
	art_get s.txt
	assert_equal "$art_status" 404
	assert_equal "$(cat "$BATS_TEST_TMPDIR/dl")" "$other"
	job_id=$real
	# Expired (GC has not run yet): gone from the API all the same
	sqlite3 "$JOBCELL_DB" "UPDATE artifacts SET expires_at = 1 WHERE job_id = '$job_id'"
	art_get s.txt
	assert_equal "$art_status" 404
	assert_equal "$(cat "$BATS_TEST_TMPDIR/dl")" "$other"
	api GET "/v1/jobs/$job_id/artifacts"
	assert_api_status 200
	assert_equal "$(json_get '.artifacts | length' "$api_body")" 0
}

@test "requests: bad globs are refused naming 'artifacts'; no artifacts field, no artifacts key" {
	local g
	for g in '"/etc/passwd"' '"../x"' '"a/../../x"' '""' '"a//b"' '5' '"a\nb"'; do
		api POST /v1/jobs "$(cell_body '{"command":"true","artifacts":['"$g"']}')"
		assert_api_error 400 invalid_request
		[[ $(json_get .error.message "$api_body") == *"'artifacts'"* ]] ||
			fail "glob $g: $api_body"
	done
	api POST /v1/jobs "$(cell_body "$(jq -cn '{command: "true", artifacts: [range(33) | tostring]}')")"
	assert_api_error 400 invalid_request
	run_job "$(cell_body '{"command":"true"}')"
	assert_equal "$(json_get 'has("artifacts")' "$job")" false
}

@test "a server without [storage] data_dir refuses artifacts naming the field" {
	local saved_url=$JOBCELL_URL saved_ca=$JOBCELL_CACERT saved_db=$JOBCELL_DB
	local saved_dir=$JOBCELL_STACK_DIR dir
	dir=$(mktemp -d /tmp/jobcell-e2e.XXXXXX)
	JOBCELL_STACK_NO_DATA=1 stack_start "$dir"
	new_consumer nodata
	api POST /v1/jobs "$(cell_body '{"command":"true","artifacts":["*"]}')"
	local st=$api_status body=$api_body
	api POST /v1/jobs '{"command":"true"}'
	local plain=$api_status
	stack_stop
	rm -rf -- "$dir"
	export JOBCELL_URL=$saved_url JOBCELL_CACERT=$saved_ca JOBCELL_DB=$saved_db
	export JOBCELL_STACK_DIR=$saved_dir
	assert_equal "$st" 400
	assert_equal "$(json_get .error.code "$body")" invalid_request
	[[ $(json_get .error.message "$body") == *"'artifacts'"* ]] || fail "$body"
	assert_equal "$plain" 201
}
