# tests/lib/web.bash: a real browser for the web page's suites (issue 18).
# Debian's chromium, headless, driven by puppeteer-core from the npm
# registry (the version pinned in tests/web/package.json, installed once
# into a cache outside the clone). The browser trusts the stack's CA
# through an NSS database in a HOME of its own: no certificate error is
# ignored.

# The pinned puppeteer-core lives here (node_modules/ under it).
JOBCELL_WEB_MODULES=${JOBCELL_WEB_MODULES:-/var/cache/jobcell-test/npm}

# web_pinned: the puppeteer-core version tests/web/package.json pins.
web_pinned() {
	jq -r '.dependencies["puppeteer-core"]' "$JOBCELL_SRCDIR/tests/web/package.json"
}

# web_modules: install the pinned puppeteer-core into JOBCELL_WEB_MODULES
# unless it is there already (npm install, under a lock: suites may run
# side by side). Falls back to BATS_FILE_TMPDIR when the cache is not
# writable.
web_modules() {
	local dir=$JOBCELL_WEB_MODULES want have=""
	want=$(web_pinned) || return 1
	if ! mkdir -p "$dir" 2>/dev/null || [[ ! -w $dir ]]; then
		dir=$BATS_FILE_TMPDIR/npm
		mkdir -p "$dir"
	fi
	have=$(jq -r .version "$dir/node_modules/puppeteer-core/package.json" 2>/dev/null || true)
	if [[ $have != "$want" ]]; then
		(
			flock -w 600 9 || exit 1
			have=$(jq -r .version "$dir/node_modules/puppeteer-core/package.json" 2>/dev/null || true)
			[[ $have != "$want" ]] || exit 0
			cp "$JOBCELL_SRCDIR/tests/web/package.json" "$dir/package.json"
			cd "$dir" && npm install --no-audit --no-fund --omit=dev \
			    --loglevel=error >"$dir/npm-install.log" 2>&1
		) 9>"$dir/.lock" || {
			cat "$dir/npm-install.log" >&2 2>/dev/null
			echo "web_modules: npm install puppeteer-core@$want into $dir failed" >&2
			return 1
		}
	fi
	export JOBCELL_WEB_MODULES=$dir
}

# web_trust_ca: a HOME whose NSS database trusts the stack's CA (chromium
# on Linux reads ~/.pki/nssdb).
web_trust_ca() {
	local home=$BATS_FILE_TMPDIR/browser-home
	mkdir -p "$home/.pki/nssdb"
	certutil -N -d "sql:$home/.pki/nssdb" --empty-password >/dev/null &&
	    certutil -A -d "sql:$home/.pki/nssdb" -n "jobcell stack CA" \
	    -t "C,," -i "$JOBCELL_CACERT" || {
		echo "web_trust_ca: certutil could not add $JOBCELL_CACERT" >&2
		return 1
	}
	export JOBCELL_WEB_HOME=$home
}

# web_setup: everything a web suite needs, for setup_file after
# stack_start; screenshots go to JOBCELL_WEB_SHOTS (default
# BATS_FILE_TMPDIR/screenshots; set it to keep them).
web_setup() {
	local c
	for c in chromium node npm certutil; do
		command -v "$c" >/dev/null || {
			strict && { echo "web_setup: $c not found (run tools/deps)" >&2; return 1; }
			export JOBCELL_WEB_MISSING="$c (run tools/deps)"
			return 0
		}
	done
	export JOBCELL_WEB_CHROMIUM=${JOBCELL_WEB_CHROMIUM:-$(command -v chromium)}
	export JOBCELL_WEB_SHOTS=${JOBCELL_WEB_SHOTS:-$BATS_FILE_TMPDIR/screenshots}
	mkdir -p "$JOBCELL_WEB_SHOTS"
	web_modules && web_trust_ca || return 1
	echo "# web: screenshots in $JOBCELL_WEB_SHOTS" >&3
}

# web_drive SCENARIO: run one scenario of tests/web/drive.mjs; sets
# web_json to what it reports. Its stderr is shown if it fails.
web_drive() {
	local rc=0
	[[ -z ${JOBCELL_WEB_MISSING:-} ]] || skip_because "needs $JOBCELL_WEB_MISSING"
	export JOBCELL_WEB_DOWNLOADS=$BATS_TEST_TMPDIR/downloads
	export JOBCELL_WEB_PROFILE=$BATS_TEST_TMPDIR/chromium-profile
	web_json=$(node "$JOBCELL_SRCDIR/tests/web/drive.mjs" "$@" \
	    2>"$BATS_TEST_TMPDIR/drive.err") || rc=$?
	if ((rc != 0)); then
		cat "$BATS_TEST_TMPDIR/drive.err" >&2
		echo "web_drive $1: exit $rc" >&2
		return 1
	fi
}

# wj FILTER: jq -r FILTER on what the last scenario reported.
wj() {
	jq -r "$1" <<<"$web_json"
}

# web_clean: the page ran under its CSP without a violation, a script
# error or a dialog (what an injected script would cause).
web_clean() {
	assert_equal "$(wj '.csp | length')" 0
	assert_equal "$(wj '.errors | length')" 0
	assert_equal "$(wj '.dialogs | length')" 0
	assert_equal "$(wj '.cookie')" ""
	assert_equal "$(wj .pwned)" null
}
