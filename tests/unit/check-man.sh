#!/usr/bin/env bash
# check-man.sh - TAP test run by `make check`: every option and command a
# program's --help lists is described in its man page, and every page
# renders without a groff warning.
#
# How it works: for each program it runs `PROG --help` (and, for jobcell,
# `jobcell CMD --help` for each command the main help lists), collects the
# --long-options, and looks for each one, as a whole word, in the man page's
# source with the roff escapes removed (\- -> -, \fB... dropped). For
# jobcell a command's options must appear in its own ".SS" section (or in
# GLOBAL OPTIONS); a section may borrow another's with a roff comment
# `.\" check-man: also CMD`. jobcell-admin's commands must each start a
# paragraph (.TP/.B/.BI line). Runs from the build directory (automake's
# test harness); man pages are built there from man/*.in.
#
# Usage: check-man.sh [BUILDDIR]   (default: the current directory)

set -u
export LC_ALL=C

builddir=${1:-.}
n=0
failed=0

ok() {	# ok COND-STATUS DESCRIPTION [DIAG-LINES]
	n=$((n + 1))
	if [[ $1 == 0 ]]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
		[[ -z ${3:-} ]] || sed 's/^/# /' <<<"$3"
	fi
}

# plain PAGE: the page's source without roff escapes, comments kept.
plain() {
	sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\-/-/g' \
	    -e 's/\\&//g' -e 's/\\%//g' -e 's/\\(em/--/g' "$1"
}

# long_opts: the --options in standard input, one per line, sorted.
long_opts() {
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# missing_in TEXT OPTS: the options of OPTS (lines) not in TEXT as words.
missing_in() {
	local text=$1 opt
	while IFS= read -r opt; do
		[[ -n $opt ]] || continue
		grep -qE -- "(^|[^a-z0-9-])${opt}([^a-z0-9-]|$)" <<<"$text" ||
			echo "$opt"
	done <<<"$2"
}

# section TEXT NAME: the lines of the .SS section whose title starts with
# NAME (to the next .SS or .SH), plus the sections it borrows.
section() {
	local text=$1 name=$2 body also
	body=$(awk -v name="$name" '
		/^\.S[SH] / {
			t = $0; sub(/^\.S[SH] +"?/, "", t)
			insec = ($1 == ".SS" && (t == name || index(t, name " ") == 1))
			if (insec) { print; next }
		}
		insec { print }' <<<"$text")
	printf '%s\n' "$body"
	for also in $(sed -n 's/^\.\\" check-man: also //p' <<<"$body"); do
		section "$text" "$also"
	done
}

check_prog() {	# check_prog PROG PAGE
	local prog=$1 page=$2 bin=$builddir/$1 help text miss
	if [[ ! -x $bin ]]; then
		ok 1 "$prog: built" "$bin is missing (run make first)"
		return
	fi
	if [[ ! -r $page ]]; then
		ok 1 "$prog: man page $page exists"
		return
	fi
	help=$("$bin" --help) || { ok 1 "$prog --help exits 0"; return; }
	text=$(plain "$page")
	miss=$(missing_in "$text" "$(long_opts <<<"$help")")
	ok "$([[ -z $miss ]]; echo $?)" "$prog: every option of --help is in $page" \
	    "missing: $(echo $miss)"
	for sec in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
		grep -qE "^\.SH \"?$sec\"?\$" <<<"$text"
		ok $? "$prog: $page has a $sec section"
	done
}

# jobcell: each command's options in its section.
check_jobcell() {
	local page=$1 bin=$builddir/jobcell text cmds cmd help sec global miss envs
	[[ -x $bin && -r $page ]] || return 0
	text=$(plain "$page")
	global=$(awk '/^\.SH/ { g = ($0 ~ /GLOBAL OPTIONS/) } g' <<<"$text")
	cmds=$("$bin" --help | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 }
	    c && /^  [a-z]/ { print $1 }')
	[[ -n $cmds ]]
	ok $? "jobcell --help lists commands"
	for cmd in $cmds; do
		sec=$(section "$text" "$cmd")
		[[ -n $sec ]]
		ok $? "jobcell $cmd: has a .SS section in $page"
		if ! help=$("$bin" "$cmd" --help); then
			ok 1 "jobcell $cmd --help exits 0"
			continue
		fi
		miss=$(missing_in "$sec$global" "$(long_opts <<<"$help")")
		ok "$([[ -z $miss ]]; echo $?)" \
		    "jobcell $cmd: every option of its --help is in its section" \
		    "missing: $(echo $miss)"
	done
	envs=$("$bin" --help | grep -oE 'JOBCELL_[A-Z]+' | sort -u)
	sec=$(awk '/^\.SH/ { e = ($0 ~ /ENVIRONMENT/) } e' <<<"$text")
	miss=$(missing_in "$sec" "$envs")
	ok "$([[ -n $envs && -z $miss ]]; echo $?)" \
	    "jobcell: every variable of --help is under ENVIRONMENT" \
	    "missing: $(echo $miss)"
}

# jobcell-admin: each command starts a paragraph.
check_admin() {
	local page=$1 bin=$builddir/jobcell-admin text cmds cmd miss=
	[[ -x $bin && -r $page ]] || return 0
	text=$(plain "$page")
	cmds=$("$bin" --help | awk '/^Commands:/ { c = 1; next } /^$/ { c = 0 }
	    c && /^  [a-z]/ { print $1 }')
	for cmd in $cmds; do
		grep -qE "^\.(B|BI|BR|TP) +\"?${cmd}([ \"]|\$)" <<<"$text" ||
			miss+=" $cmd"
	done
	ok "$([[ -n $cmds && -z $miss ]]; echo $?)" \
	    "jobcell-admin: every command of --help has a paragraph" \
	    "missing:$miss"
}

check_render() {	# check_render PAGE
	local out
	if ! command -v groff >/dev/null; then
		n=$((n + 1))
		echo "ok $n - $1 renders # SKIP groff is not installed"
		return
	fi
	out=$(groff -man -ww -z "$1" 2>&1)
	ok "$([[ -z $out ]]; echo $?)" "$1 renders without groff warnings" "$out"
}

for spec in jobcell:man/jobcell.1 jobcell-admin:man/jobcell-admin.8 \
    jobcell-api:man/jobcell-api.8 jobcell-worker:man/jobcell-worker.8; do
	prog=${spec%%:*}
	page=$builddir/${spec#*:}
	check_prog "$prog" "$page"
	[[ ! -r $page ]] || check_render "$page"
done
check_jobcell "$builddir/man/jobcell.1"
check_admin "$builddir/man/jobcell-admin.8"

echo "1..$n"
exit $failed
