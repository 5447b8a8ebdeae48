#!/usr/bin/env bats
# The front door: /v1/health answers without a key (that the service is
# up, not how busy it is), over TLS 1.2+ and HTTP/2, and unknown paths get
# the JSON error shape.

bats_require_minimum_version 1.5.0

load ../lib/common

setup_file() {
	stack_start
	new_consumer healthy
}

teardown_file() {
	stack_stop
}

@test "GET /v1/health answers 200 with status ok and no key" {
	api --no-key GET /v1/health
	assert_api_status 200
	run -0 api_header content-type
	assert_output --regexp '^application/json'
	run -0 json_get .status "$api_body"
	assert_output ok
	run -0 json_get .db "$api_body"
	assert_output ok
}

@test "health without a key says the service is up, not how busy it is" {
	api --no-key GET /v1/health
	assert_api_status 200
	run -0 json_get 'keys | sort | join(",")' "$api_body"
	assert_output db,sandboxes,status,version
	run -0 json_get '.version | type' "$api_body"
	assert_output string
	run -0 json_get '.sandboxes | index("namespace") != null' "$api_body"
	assert_output true
}

@test "health with a key also reports the worker slots and how many are busy" {
	api GET /v1/health
	assert_api_status 200
	run -0 json_get .workers.slots "$api_body"
	assert_output 2
	run -0 json_get '.workers.busy | type' "$api_body"
	assert_output number
	run -0 json_get '.status' "$api_body"
	assert_output ok
}

@test "health with a wrong key is refused like any endpoint (no way around the auth throttle)" {
	api --key 0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA GET /v1/health
	assert_api_error 401 unauthorized
	run -0 api_header www-authenticate
	assert_output Bearer
}

@test "the server certificate verifies against the stack CA for 127.0.0.1 and localhost" {
	local port=${JOBCELL_URL##*:}
	run -0 --separate-stderr curl -sS -o /dev/null -w '%{http_code}' \
	    --cacert "$JOBCELL_CACERT" "$JOBCELL_URL/v1/health"
	assert_output 200
	run -0 --separate-stderr curl -sS -o /dev/null -w '%{http_code}' \
	    --cacert "$JOBCELL_CACERT" --resolve "localhost:$port:127.0.0.1" \
	    "https://localhost:$port/v1/health"
	assert_output 200
	# Without the CA the certificate is not trusted (curl exit 60).
	run -60 --separate-stderr curl -sS -o /dev/null "$JOBCELL_URL/v1/health"
}

@test "HTTP/2 is offered and TLS below 1.2 is refused" {
	run -0 --separate-stderr curl -sS -o /dev/null -w '%{http_version}' \
	    --http2 --cacert "$JOBCELL_CACERT" "$JOBCELL_URL/v1/health"
	assert_output 2
	run -0 --separate-stderr curl -sS -o /dev/null -w '%{http_code}' \
	    --http1.1 --tlsv1.2 --tls-max 1.2 --cacert "$JOBCELL_CACERT" "$JOBCELL_URL/v1/health"
	assert_output 200
	run ! --separate-stderr curl -sS -o /dev/null --tlsv1.1 --tls-max 1.1 \
	    --cacert "$JOBCELL_CACERT" "$JOBCELL_URL/v1/health"
}

@test "a path outside /v1 and the web page's files is a JSON 404" {
	# / and /index.html are the web page now (issue 18, 50-web.bats).
	api --no-key GET /index.php
	assert_api_error 404 not_found
	api --no-key GET /web/index.html
	assert_api_error 404 not_found
	api --no-key GET /jobcell.js.map
	assert_api_error 404 not_found
}
