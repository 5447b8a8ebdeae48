#!/usr/bin/env bats
# jobcell artifacts / download through a real stack: the listing for
# people and as JSON, every file written under -o DIR with its sha256
# checked, a partial NAME.part resumed with Range (seen as a 206 in nginx's
# access log), a stale .part thrown away, and paths that would leave DIR
# refused: '..' named by the user, and a symlink already in DIR (the
# server cannot send '../x' itself; no mock server is used).

bats_require_minimum_version 1.5.0

load ../lib/common
load ../lib/cli

setup_file() {
	cli_setup_file
	export HOME=$BATS_FILE_TMPDIR/home
	mkdir -p "$HOME"
	local jc
	jc=$(jobcell_bin jobcell)
	"$jc" init --server "$JOBCELL_URL" --key "$ALICE_KEY" \
	    --cacert "$JOBCELL_CACERT" >/dev/null
	# one job with artifacts for the whole file: a big text file (seq is
	# the same here and in the cell), a binary, one in a subdirectory
	ARTS_JOB=$("$jc" submit --wait --json --artifact 'out/**' \
	    --artifact 'missing/*' --command \
	    'mkdir -p out/sub && seq 1 300000 >out/big.txt &&
	     printf "\001\002\377" >out/sub/bin.dat && echo hi >out/hi.txt' |
	    jq -r .id)
	export ARTS_JOB
}

teardown_file() {
	stack_stop
}

setup() {
	cli_setup --init
}

@test "artifacts lists the job's files with size and sha256; --json is the server's" {
	[[ $ARTS_JOB =~ ^[A-Za-z0-9_-]+$ ]] || fail "no job: '$ARTS_JOB'"
	run -0 --separate-stderr "$JC" artifacts "$ARTS_JOB"
	assert_equal "$stderr" ""
	assert_line --index 0 --regexp '^ +SIZE  SHA256 +EXPIRES +PATH$'
	local sum
	sum=$(seq 1 300000 | sha256sum | cut -c1-12)
	assert_line --regexp "^ +$(seq 1 300000 | wc -c)  $sum  [0-9T:.Z-]+ +out/big.txt\$"
	assert_line --regexp '^ +3  [0-9a-f]{12}  .*  out/sub/bin.dat$'
	assert_line --regexp '^ +3  [0-9a-f]{12}  .*  out/hi.txt$'
	run -0 "$JC" artifacts --json "$ARTS_JOB"
	run -0 jq -r '.artifacts | map(.path) | sort | join(" ")' <<<"$output"
	assert_output "out/big.txt out/hi.txt out/sub/bin.dat"
	run -2 --separate-stderr "$JC" artifacts
	[[ $stderr == *"want exactly one job id"* ]]
	run -1 --separate-stderr "$JC" artifacts 00000000000000000000000000
	[[ $stderr == *"not_found"* ]] || fail "$stderr"
}

@test "download writes every artifact under DIR with its sha256 checked, then finds it up to date" {
	local d=$BATS_TEST_TMPDIR/dl
	run -0 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d"
	assert_equal "$output" ""
	cmp <(seq 1 300000) "$d/out/big.txt"
	cmp <(printf '\001\002\377') "$d/out/sub/bin.dat"
	assert_equal "$(cat "$d/out/hi.txt")" hi
	run -0 find "$d" -name '*.part'
	assert_output ""
	run -0 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d" out/hi.txt
	[[ $stderr == *"up to date: '$d/out/hi.txt'"* ]] || fail "$stderr"
	# only the named ones
	run -0 "$JC" download "$ARTS_JOB" -o "$d/2" out/sub/bin.dat
	run -0 find "$d/2" -type f
	assert_output "$d/2/out/sub/bin.dat"
	run -1 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d/3" nothere.txt
	[[ $stderr == *"has no artifact 'nothere.txt'"* ]] || fail "$stderr"
}

@test "a partial NAME.part is resumed with Range; a stale one is thrown away" {
	local d=$BATS_TEST_TMPDIR/resume log=$JOBCELL_STACK_DIR/nginx-access.log n
	mkdir -p "$d/out"
	seq 1 300000 | head -c 1000000 >"$d/out/big.txt.part"	# a cut transfer
	n=$(grep -c '"GET /v1/jobs/[^ ]*/artifacts/out/big.txt HTTP[^"]*" 206 ' "$log" || true)
	run -0 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d" out/big.txt
	cmp <(seq 1 300000) "$d/out/big.txt"
	[[ ! -e $d/out/big.txt.part ]]
	assert_equal "$(grep -c '"GET /v1/jobs/[^ ]*/artifacts/out/big.txt HTTP[^"]*" 206 ' "$log")" "$((n + 1))"
	# a .part whose bytes are not the artifact's: the sha256 finds it, the
	# file is fetched again from the start, and only the right bytes stay
	rm "$d/out/big.txt"
	head -c 500000 /dev/zero >"$d/out/big.txt.part"
	run -0 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d" out/big.txt
	cmp <(seq 1 300000) "$d/out/big.txt"
	[[ ! -e $d/out/big.txt.part ]]
}

@test "download never writes outside DIR: '..' is refused, a symlink in DIR is not followed" {
	local d=$BATS_TEST_TMPDIR/safe elsewhere=$BATS_TEST_TMPDIR/elsewhere
	run -2 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d" ../x
	[[ $stderr == *"refusing '../x': not a relative path inside the output directory"* ]] ||
		fail "$stderr"
	run -2 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d" /etc/passwd
	[[ $stderr == *"refusing '/etc/passwd'"* ]] || fail "$stderr"
	mkdir -p "$d" "$elsewhere"
	ln -s "$elsewhere" "$d/out"
	run -1 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d"
	[[ $stderr == *"refusing to write '$d/out/big.txt': a symlink or a file is in the way"* ]] ||
		fail "$stderr"
	run -0 find "$elsewhere" -mindepth 1
	assert_output ""
	# a symlink as the file itself is replaced, not written through
	rm "$d/out"
	mkdir -p "$d/out"
	ln -s "$elsewhere/victim" "$d/out/hi.txt"
	run -0 "$JC" download "$ARTS_JOB" -o "$d" out/hi.txt
	[[ -f $d/out/hi.txt && ! -L $d/out/hi.txt ]]
	[[ ! -e $elsewhere/victim ]]
	# a .part that is a symlink is refused
	ln -s "$elsewhere/victim2" "$d/out/big.txt.part"
	run -1 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d" out/big.txt
	[[ $stderr == *"a symlink is in the way"* ]] || fail "$stderr"
	[[ ! -e $elsewhere/victim2 ]]
}

@test "download and artifacts have --help; bad usage exits 2" {
	run -0 "$JC" download --help
	assert_output --partial 'Usage: jobcell download ID [PATH...] [-o DIR]'
	run -0 "$JC" artifacts --help
	assert_output --partial 'Usage: jobcell artifacts ID'
	run -2 --separate-stderr "$JC" download
	[[ $stderr == *"want a job id"* ]]
	run -2 --separate-stderr "$JC" download 'bad id!'
	[[ $stderr == *"is not a job id"* ]]
}

@test "download draws a progress bar on a terminal only" {
	skip_unless command -v script
	local d=$BATS_TEST_TMPDIR/tty
	run -0 --separate-stderr "$JC" download "$ARTS_JOB" -o "$d/plain" out/big.txt
	assert_equal "$stderr" ""
	run -0 script -qec "'$JC' download '$ARTS_JOB' -o '$d/tty' out/big.txt" /dev/null
	[[ $output == *"out/big.txt ["*"] 100% 1.9 MiB/1.9 MiB"* ]] || fail "$output"
	cmp <(seq 1 300000) "$d/tty/out/big.txt"
}
