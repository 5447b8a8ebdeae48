# tests/lib/api.bash: talk to the stack the way a client does, through
# nginx over TLS with curl. Loaded by tests/lib/common.bash.

# api [--key K | --no-key] [-H 'Name: value']... METHOD PATH [BODY]
# Sends the request with $JOBCELL_KEY as a Bearer key (unless told
# otherwise) and sets:
#   api_status       the HTTP status ("000" if no answer)
#   api_body         the body as text (trailing newlines stripped)
#   api_body_file    a file holding the exact body bytes
#   api_headers_file a file holding the response headers
# A BODY is sent as application/json unless a Content-Type is given.
# Returns curl's status: non-zero only when there was no HTTP answer.
api() {
	local key=${JOBCELL_KEY:-} use_key=1 have_ct=0 method path rc=0
	local -a hdrs=()
	while (($#)); do
		case $1 in
		--key)
			key=$2
			shift 2
			;;
		--no-key)
			use_key=0
			shift
			;;
		-H)
			hdrs+=(-H "$2")
			[[ ${2,,} != content-type:* ]] || have_ct=1
			shift 2
			;;
		*) break ;;
		esac
	done
	method=$1
	path=$2
	_api_files
	local -a args=(-sS -X "$method" --cacert "$JOBCELL_CACERT"
	    --max-time "${JOBCELL_TEST_CURL_TIMEOUT:-30}"
	    -o "$api_body_file" -D "$api_headers_file" -w '%{http_code}')
	if ((use_key)) && [[ -n $key ]]; then
		args+=(-H "Authorization: Bearer $key")
	fi
	if (($# >= 3)); then
		printf '%s' "$3" >"$api_request_file"
		args+=(--data-binary "@$api_request_file")
		((have_ct)) || args+=(-H 'Content-Type: application/json')
	fi
	api_status=$(curl "${args[@]}" "${hdrs[@]}" "$JOBCELL_URL$path") || rc=$?
	[[ -n $api_status ]] || api_status=000
	api_body=$(cat "$api_body_file" 2>/dev/null || true)
	if ((rc != 0)); then
		echo "api: curl $method $path failed (curl exit $rc)" >&2
	fi
	return $rc
}

_api_files() {
	local d=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/tmp}}
	api_body_file=$d/api-body
	api_headers_file=$d/api-headers
	api_request_file=$d/api-request
}

# api_header NAME: the value of a response header of the last api call
# (case-insensitive name, first occurrence, CR stripped); 1 if absent.
api_header() {
	local want=${1,,} line name
	while IFS= read -r line; do
		line=${line%$'\r'}
		name=${line%%:*}
		if [[ ${name,,} == "$want" && $line == *:* ]]; then
			line=${line#*:}
			line=${line#"${line%%[![:space:]]*}"}
			printf '%s\n' "$line"
			return 0
		fi
	done <"$api_headers_file"
	return 1
}

# api_header_count NAME: how many times the last response carried NAME.
api_header_count() {
	local want=${1,,} line n=0
	while IFS= read -r line; do
		line=${line%$'\r'}
		[[ ${line%%:*} == "$line" ]] && continue
		[[ ${line%%:*} == [Hh][Tt][Tt][Pp]/* ]] && continue
		local name=${line%%:*}
		[[ ${name,,} != "$want" ]] || n=$((n + 1))
	done <"$api_headers_file"
	echo "$n"
}

# json_get FILTER JSON: jq -r FILTER over JSON (fails on invalid JSON).
json_get() {
	jq -r "$1" <<<"$2"
}

# assert_api_status CODE: the last api call answered CODE; shows the body
# when not.
assert_api_status() {
	if [[ $api_status != "$1" ]]; then
		fail "expected HTTP $1, got $api_status: $api_body"
	fi
}

# assert_api_error STATUS CODE: the last answer is STATUS with the JSON
# error shape {"error":{"code":CODE,"message":…}} and a JSON content type.
assert_api_error() {
	assert_api_status "$1"
	local ct code msg
	ct=$(api_header content-type || true)
	[[ $ct == application/json* ]] ||
		fail "error response has Content-Type '$ct', not application/json: $api_body"
	code=$(json_get .error.code "$api_body") ||
		fail "error body is not JSON: $api_body"
	[[ $code == "$2" ]] || fail "expected error code '$2', got '$code': $api_body"
	msg=$(json_get '.error.message // empty' "$api_body")
	[[ -n $msg ]] || fail "error has no message: $api_body"
}

# submit BODY: POST /v1/jobs, expect 201, set job_id.
submit() {
	api POST /v1/jobs "$1"
	assert_api_status 201
	job_id=$(json_get .id "$api_body")
	[[ $job_id =~ ^[A-Za-z0-9_-]+$ ]] || fail "job id '$job_id' is not [A-Za-z0-9_-]+"
}

# job_is_final ID: GET the job; true once its status is terminal. Leaves
# the job in $api_body and its status in $job_status.
job_is_final() {
	api GET "/v1/jobs/$1" || return 1
	[[ $api_status == 200 ]] || return 1
	job_status=$(json_get .status "$api_body") || return 1
	case $job_status in
	succeeded | failed | timed_out | cancelled | error) return 0 ;;
	*) return 1 ;;
	esac
}

# wait_job ID [SECONDS]: until the job reaches a terminal status (default
# 30 s); the job object is then in $api_body and $job.
wait_job() {
	if ! wait_for "${2:-30}" job_is_final "$1"; then
		fail "job $1 did not finish within ${2:-30}s (last: $api_status $api_body)"
	fi
	# shellcheck disable=SC2034 # for the suites
	job=$api_body
}

# run_job BODY [SECONDS]: submit and wait; $job_id and $job are set.
run_job() {
	submit "$1"
	wait_job "$job_id" "${2:-30}"
}

# job_output ID STREAM FILE: the exact bytes of one stream into FILE.
job_output() {
	api GET "/v1/jobs/$1/output?stream=$2"
	assert_api_status 200
	cp "$api_body_file" "$3"
}

# runtimes_offered NAME...: GET /v1/runtimes lists every NAME (code jobs,
# issue 14: the worker publishes them once it has found their versions).
runtimes_offered() {
	local name
	api GET /v1/runtimes 2>/dev/null || return 1
	[[ $api_status == 200 ]] || return 1
	for name in "$@"; do
		[[ $(json_get ".runtimes | map(.name) | index(\"$name\") != null" \
		    "$api_body") == true ]] || return 1
	done
}
