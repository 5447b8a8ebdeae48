#!/usr/bin/env bats
# jobcell submit --input / --file / --artifact through a real stack, as a
# user meets them: a packed tree arrives without .git and what
# .jobcellignore lists, an unchanged tree is not uploaded twice (counted
# in nginx's access log), a file input and binary --file content arrive
# byte-exact with their executable bit, and the options' usage errors.

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
}

# blob_puts: how many blob uploads nginx has served so far.
blob_puts() {
	grep -c '"PUT /v1/blobs/sha256:' "$JOBCELL_STACK_DIR/nginx-access.log" || true
}

make_tree() {	# make_tree DIR: a small source tree with things to leave out
	local t=$1
	mkdir -p "$t/src/deep" "$t/.git/objects" "$t/build" "$t/docs"
	echo 'int main(void) { return 0; }' >"$t/src/main.c"
	echo 'obj' >"$t/src/main.o"
	echo 'deep' >"$t/src/deep/notes.txt"
	echo 'ref: refs/heads/main' >"$t/.git/HEAD"
	echo 'x' >"$t/build/out"
	echo 'keep me' >"$t/docs/keep.o"
	printf '#!/bin/sh\necho ran\n' >"$t/run.sh"
	chmod 0755 "$t/run.sh"
	printf '# leave these out\n*.o\nbuild/\n!docs/keep.o\n' >"$t/.jobcellignore"
}

@test "submit --input sends a tree without .git and what .jobcellignore lists" {
	local t=$BATS_TEST_TMPDIR/tree
	make_tree "$t"
	run -0 --separate-stderr "$JC" run --input "$t:src" \
	    --command 'cd src && find . | LC_ALL=C sort && ./run.sh && cat src/deep/notes.txt'
	assert_equal "$stderr" ""
	assert_output "$(printf '%s\n' . ./.jobcellignore ./docs ./docs/keep.o \
	    ./run.sh ./src ./src/deep ./src/deep/notes.txt ./src/main.c ran deep)"
}

@test "an unchanged tree is not uploaded again: HEAD finds it, no second PUT" {
	local t=$BATS_TEST_TMPDIR/tree before after
	make_tree "$t"
	echo "$BATS_TEST_NAME $EPOCHREALTIME" >"$t/unique"	# a tree no test sent
	before=$(blob_puts)
	run -0 "$JC" run --input "$t" --command 'test -f tree/src/main.c'
	after=$(blob_puts)
	assert_equal "$after" "$((before + 1))"
	# new times, same bytes: the same digest
	touch -d '2001-02-03 04:05:06' "$t/src/main.c" "$t/run.sh"
	run -0 "$JC" run --input "$t:again" --command 'test -f again/src/main.c'
	assert_equal "$(blob_puts)" "$after"
	# a changed file is a new blob
	echo '/* changed */' >>"$t/src/main.c"
	run -0 "$JC" run --input "$t" --command 'grep -q changed tree/src/main.c'
	assert_equal "$(blob_puts)" "$((after + 1))"
}

@test "a file input and binary --file content arrive byte-exact, executable as asked" {
	local d=$BATS_TEST_TMPDIR sum_bin sum_tool
	head -c 70000 /dev/urandom >"$d/blob.bin"
	printf '\x00\xff\xfe binary\n' >"$d/small.bin"
	printf '#!/bin/sh\necho tool ran\n' >"$d/tool"
	chmod 0755 "$d/tool"
	printf 'echo script ran\n' >"$d/script.sh"
	sum_bin=$(sha256sum <"$d/blob.bin" | cut -d' ' -f1)
	sum_tool=$(sha256sum <"$d/small.bin" | cut -d' ' -f1)
	run -0 --separate-stderr "$JC" run --input "$d/blob.bin:in/data.bin" \
	    --input "$d/tool:bin/tool" --file "$d/small.bin:small.bin" \
	    --file-exec "$d/script.sh:script.sh" \
	    --command 'sha256sum <in/data.bin | cut -d" " -f1; sha256sum <small.bin | cut -d" " -f1; ./bin/tool; ./script.sh; test -x in/data.bin || echo data not executable'
	assert_equal "$stderr" ""
	assert_output "$(printf '%s\n' "$sum_bin" "$sum_tool" 'tool ran' 'script ran' 'data not executable')"
}

@test "--input names its errors; --stdin-file is the job's standard input" {
	run -2 --separate-stderr "$JC" submit --input x:../y --command true
	[[ $stderr == *"--input wants PATH[:DEST]"*"'x:../y'"* ]] || fail "$stderr"
	run -2 --separate-stderr "$JC" submit --input a:d --input b:d --command true
	[[ $stderr == *"two --input options put inputs at 'd'"* ]] || fail "$stderr"
	local args=() i
	for i in $(seq 17); do args+=(--input "x:d$i"); done
	run -2 --separate-stderr "$JC" submit "${args[@]}" --command true
	[[ $stderr == *"more than 16 --input options"* ]] || fail "$stderr"
	run -1 --separate-stderr "$JC" submit --input "$BATS_TEST_TMPDIR/missing" --command true
	[[ $stderr == "jobcell: submit: cannot read input '$BATS_TEST_TMPDIR/missing': No such file or directory" ]] ||
		fail "$stderr"
	run -2 --separate-stderr "$JC" submit --artifacts-required --command true
	[[ $stderr == *"--artifacts-required needs --artifact"* ]] || fail "$stderr"
	echo 'from stdin' >"$BATS_TEST_TMPDIR/in.txt"
	run -0 "$JC" run --stdin-file "$BATS_TEST_TMPDIR/in.txt" --command cat
	assert_output 'from stdin'
	run -0 "$JC" submit --help
	assert_output --partial '--input PATH[:DEST]'
	assert_output --partial '--stdin-file FILE'
}

@test "symlinks in the tree arrive as symlinks; nothing is read through them" {
	local t=$BATS_TEST_TMPDIR/links secret=$BATS_TEST_TMPDIR/secret
	mkdir -p "$t/a"
	echo inside >"$t/a/f"
	echo 'host secret' >"$secret"
	ln -s a/f "$t/rel"
	ln -s "$secret" "$t/out"
	run -0 --separate-stderr "$JC" run --input "$t:t" \
	    --command 'readlink t/rel; readlink t/out; cat t/rel; cat t/out 2>/dev/null || echo unreadable'
	assert_output "$(printf '%s\n' a/f "$secret" inside unreadable)"
}

@test "a large input gets a progress bar on a terminal and none otherwise" {
	skip_unless command -v script
	local f=$BATS_TEST_TMPDIR/large.bin
	head -c 5000000 /dev/urandom >"$f"
	# not a terminal: nothing on stderr
	run -0 --separate-stderr "$JC" run --input "$f:large.bin" --command 'wc -c <large.bin'
	assert_output 5000000
	assert_equal "$stderr" ""
	# a terminal (script(1) gives the client a pty): the bar ends at 100%
	echo more >>"$f"
	run -0 script -qec "'$JC' run --input '$f:large.bin' --command 'wc -c <large.bin'" /dev/null
	[[ $output == *"large.bin ["*"] 100% 4.8 MiB/4.8 MiB"* ]] || fail "$output"
	[[ $output == *5000005* ]] || fail "$output"
}
