#!/usr/bin/env bats
# Authentication at the front: nginx asks jobcell-api about every /v1
# request but health; the consumer identity comes only from that answer.

bats_require_minimum_version 1.5.0

load ../lib/common

setup_file() {
	stack_start
	new_consumer alice ALICE_KEY
	new_consumer bob BOB_KEY
	new_consumer carol CAROL_KEY
}

teardown_file() {
	stack_stop
}

setup() {
	export JOBCELL_KEY=$ALICE_KEY
}

# assert_unauthorized: the last answer is the documented 401.
assert_unauthorized() {
	assert_api_error 401 unauthorized
	run -0 api_header www-authenticate
	assert_output --regexp '^Bearer'
	run -0 api_header_count www-authenticate
	assert_output 1
}

@test "no key: 401 unauthorized with WWW-Authenticate: Bearer" {
	api --no-key GET /v1/jobs
	assert_unauthorized
	api --no-key POST /v1/jobs '{"command":"true"}'
	assert_unauthorized
}

@test "a wrong key is 401, whatever its shape" {
	local id=${ALICE_KEY%%.*}
	# Alice's key id with another secret.
	api --key "$id.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /v1/jobs
	assert_unauthorized
	# A well-shaped key that was never issued.
	api --key "0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /v1/jobs
	assert_unauthorized
	# Alice's key cut short, and with a byte more.
	api --key "${ALICE_KEY%?}" GET /v1/jobs
	assert_unauthorized
	api --key "${ALICE_KEY}A" GET /v1/jobs
	assert_unauthorized
	api --key "garbage" GET /v1/jobs
	assert_unauthorized
	api --no-key -H 'Authorization: Bearer ' GET /v1/jobs
	assert_unauthorized
	api --no-key -H "Authorization: Basic $(printf 'alice:%s' "$ALICE_KEY" | base64 -w0)" GET /v1/jobs
	assert_unauthorized
}

@test "a valid key works as a Bearer token and as X-API-Key" {
	api GET /v1/jobs
	assert_api_status 200
	run -0 json_get '.jobs | type' "$api_body"
	assert_output array
	api --no-key -H "X-API-Key: $ALICE_KEY" GET /v1/jobs
	assert_api_status 200
}

@test "the auth endpoint cannot be reached from outside" {
	api --no-key GET /_jobcell/auth
	assert_api_error 404 not_found
	api GET /_jobcell/auth
	assert_api_error 404 not_found
	api POST /_jobcell/auth '{}'
	assert_api_error 404 not_found
}

@test "a client header cannot claim a consumer identity" {
	local alice_id
	alice_id=$(consumer_id alice)
	[[ -n $alice_id ]] || fail "no consumer id for alice in $JOBCELL_DB"
	submit '{"command":"echo alice-secret","name":"alice-only"}'
	local alice_job=$job_id

	# Without a key, identity headers do not authenticate.
	for h in "X-Jobcell-Consumer: $alice_id" "Jobcell-Consumer: $alice_id" \
	    "Jobcell_Consumer: $alice_id" "X-Jobcell-Auth: 1" "Jobcell-Auth: 1"; do
		api --no-key -H "$h" GET /v1/jobs
		assert_unauthorized
	done

	# With Bob's key, claiming to be Alice still makes you Bob.
	api --key "$BOB_KEY" -H "X-Jobcell-Consumer: $alice_id" \
	    -H "Jobcell-Consumer: $alice_id" GET "/v1/jobs/$alice_job"
	assert_api_error 404 not_found
	api --key "$BOB_KEY" -H "X-Jobcell-Consumer: $alice_id" GET '/v1/jobs?limit=200'
	assert_api_status 200
	run -0 json_get "[.jobs[].id] | index(\"$alice_job\")" "$api_body"
	assert_output null
}

@test "a disabled consumer gets 403 forbidden" {
	api --key "$CAROL_KEY" GET /v1/jobs
	assert_api_status 200
	jobcell_admin disable-consumer --name carol >/dev/null 2>&1 ||
		sqlite3 "$JOBCELL_DB" "UPDATE consumers SET disabled = 1 WHERE name = 'carol'"
	api --key "$CAROL_KEY" GET /v1/jobs
	assert_api_error 403 forbidden
	api --key "$CAROL_KEY" POST /v1/jobs '{"command":"true"}'
	assert_api_error 403 forbidden
}
