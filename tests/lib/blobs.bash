# tests/lib/blobs.bash: blob uploads through nginx as a client makes them.
# Loaded by the blob and retention suites after tests/lib/common.bash.

# sha_of FILE: the lowercase hex SHA-256 of FILE.
sha_of() {
	sha256sum "$1" | cut -c1-64
}

# upload FILE [HEX] [KEY]: PUT /v1/blobs/sha256:HEX (default: FILE's own
# digest) with FILE as the body; sets api_status, api_body and the files
# of api().
upload() {
	local file=$1 hex=${2:-} key=${3:-$JOBCELL_KEY} rc=0
	[[ -n $hex ]] || hex=$(sha_of "$file")
	_api_files
	api_status=$(curl -sS -X PUT --cacert "$JOBCELL_CACERT" \
	    --max-time "${JOBCELL_TEST_CURL_TIMEOUT:-120}" \
	    -H "Authorization: Bearer $key" --data-binary "@$file" \
	    -H 'Content-Type: application/octet-stream' \
	    -o "$api_body_file" -D "$api_headers_file" -w '%{http_code}' \
	    "$JOBCELL_URL/v1/blobs/sha256:$hex") || rc=$?
	[[ -n $api_status ]] || api_status=000
	api_body=$(cat "$api_body_file" 2>/dev/null || true)
	return $rc
}

# data_dir: the stack's [storage] data_dir.
data_dir() {
	echo "$JOBCELL_STACK_DIR/data"
}

# files_in DIR: the number of entries in DIR (no dot files skipped).
files_in() {
	find "$1" -mindepth 1 -maxdepth 1 | wc -l
}

# uploads_empty: nothing is left in DATA/uploads.
uploads_empty() {
	[[ $(files_in "$(data_dir)/uploads") == 0 ]]
}
