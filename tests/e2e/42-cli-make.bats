#!/usr/bin/env bats
# jobcell make through a real stack: a small C project goes up, make runs
# remotely in the directory matching the current one, its output comes
# back live, the binary it builds comes back into the tree (sha256
# checked, no .part left), and jobcell exits with make's own status
# (2 for a failed recipe, 128+N when make is killed by signal N). Also the
# root's discovery (.jobcell, else git) and .jobcell's errors.

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cli

setup_file() {
	cli_setup_file
}

teardown_file() {
	stack_stop
}

setup() {
	cli_setup --init
	P=$BATS_TEST_TMPDIR/proj
	mkdir -p "$P/src" "$P/.git"
	cat >"$P/.jobcell" <<-'CONF'
	# the test project
	artifacts = bin/*
	exclude = *.log
	timeout = 120
	CONF
	# recipes need tabs, which <<- would strip
	printf '%b\n' 'bin/hello: src/main.c src/greet.c' '\tmkdir -p bin' \
	    '\tcc -o $@ src/main.c src/greet.c' 'fail:' \
	    "\t@echo 'make: about to fail' >&2" '\t@exit 3' 'killed:' \
	    '\tkill -TERM $$PPID; sleep 5' 'seen:' '\t@ls -a' >"$P/Makefile"
	printf '%b\n' 'all:' '\t@echo "in $(notdir $(CURDIR))"' >"$P/src/Makefile"
	printf '#include <stdio.h>\nvoid greet(void);\nint main(void) { greet(); return 0; }\n' >"$P/src/main.c"
	printf '#include <stdio.h>\nvoid greet(void) { puts("hello, world"); }\n' >"$P/src/greet.c"
	echo 'noise' >"$P/build.log"
	echo 'ref: x' >"$P/.git/HEAD"
}

@test "jobcell make builds remotely and brings the binary back into the tree" {
	cd "$P"
	run -0 --separate-stderr "$JC" make bin/hello
	assert_line 'cc -o bin/hello src/main.c src/greet.c'
	[[ -f $P/bin/hello && ! -e $P/bin/hello.part ]]
	run -0 sh -c "chmod +x '$P/bin/hello' && '$P/bin/hello'"
	assert_output 'hello, world'
	# .git and the excluded log did not go up
	run -0 "$JC" make seen
	refute_line .git
	refute_line build.log
	assert_line Makefile
}

@test "jobcell make runs in the directory matching the current one" {
	cd "$P/src"
	run -0 --separate-stderr "$JC" make
	assert_output 'in src'
}

@test "jobcell make exits with make's status: 2 for a failed recipe, 143 when killed by TERM" {
	cd "$P"
	run -2 --separate-stderr "$JC" make fail
	[[ $stderr == *'make: about to fail'* ]] || fail "$stderr"
	[[ $stderr == *'Error 3'* ]] || fail "$stderr"
	run -143 --separate-stderr "$JC" make killed
}

@test "the root is the nearest .jobcell, else git's top level, else an error" {
	local g=$BATS_TEST_TMPDIR/gitproj n=$BATS_TEST_TMPDIR/nothing
	mkdir -p "$g/sub" "$n"
	git -C "$g" init -q
	printf 'all:\n\t@echo "git root, $(notdir $(CURDIR))"\n' >"$g/sub/Makefile"
	cd "$g/sub"
	run -0 --separate-stderr "$JC" make
	assert_output 'git root, sub'
	cd "$n"
	run -1 --separate-stderr "$JC" make
	[[ $stderr == "jobcell: make: no .jobcell file in '$n' or above, and not in a git work tree"* ]] ||
		fail "$stderr"
	printf 'artifacts = a\nbogus = 1\n' >"$P/.jobcell"
	cd "$P"
	run -1 --separate-stderr "$JC" make
	[[ $stderr == "jobcell: make: $P/.jobcell: line 2: unknown key 'bogus'"* ]] ||
		fail "$stderr"
	run -0 "$JC" make --help
	assert_output --partial 'Usage: jobcell make [MAKE ARGS...]'
}
