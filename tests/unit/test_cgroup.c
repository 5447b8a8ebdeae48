/* test_cgroup.c - the pure parts of cell/cgroup.c: finding hierarchies in
 * mountinfo text, leaf paths from hostile names, and parsing the control
 * files the worker reads back (cpuacct.usage, memory.oom_control, cpu.stat,
 * memory.events). No root, no cgroupfs. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cgroup.h"
#include "cleanup.h"
#include "tap.h"

/* This machine's shape: v1 controllers one per hierarchy, an empty v2. */
static const char mountinfo_v1[] =
    "24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
    "30 24 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:5 - cgroup cgroup rw,cpu\n"
    "32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "34 30 0:30 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "35 30 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    /* A second mount of memory, and one from a subdirectory: ignored. */
    "36 30 0:29 / /mnt/mem2 rw - cgroup cgroup rw,memory\n"
    "37 30 0:30 /sub /mnt/pidsub rw - cgroup cgroup rw,pids\n";

/* systemd's v1 shape: cpu and cpuacct co-mounted, an escaped mount point. */
static const char mountinfo_comount[] =
    "40 30 0:40 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "41 30 0:41 / /sys/fs/cgroup/my\\040mem rw - cgroup cgroup rw,memory\n"
    "42 30 0:42 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
    "43 30 0:43 / /sys/fs/cgroup/net_cls rw - cgroup cgroup rw,net_cls,cpuset\n";

static const char mountinfo_v2[] =
    "25 24 0:24 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate\n";

static void
test_mountinfo(void)
{
	struct cgroup_root r;

	is_int(cgroup_parse_mountinfo(mountinfo_v1, &r), 0, "v1 mountinfo parses");
	is_str(r.mount[CG_MEMORY], "/sys/fs/cgroup/memory", "memory hierarchy");
	is_str(r.mount[CG_PIDS], "/sys/fs/cgroup/pids", "pids hierarchy, not the subdirectory mount");
	is_str(r.mount[CG_CPU], "/sys/fs/cgroup/cpu", "cpu hierarchy");
	is_str(r.mount[CG_CPUACCT], "/sys/fs/cgroup/cpuacct", "cpuacct hierarchy");
	is_str(r.unified, "/sys/fs/cgroup/unified", "the v2 mount");
	is_int(r.version, CGROUP_NONE, "version left to the caller");
	/* Every mount from "/", any controller, v2 too; not the subdirectory
	 * one. A second memory mount is listed (a runtime writes there too). */
	is_int((int) r.nall, 6, "all cgroup mounts from / are listed");
	is_str(r.all[0], "/sys/fs/cgroup/cpu", "all[0]");
	is_str(r.all[4], "/sys/fs/cgroup/unified", "all[] holds the v2 mount");
	is_str(r.all[5], "/mnt/mem2", "all[] holds a second mount");

	is_int(cgroup_parse_mountinfo(mountinfo_comount, &r), 0, "co-mounted parses");
	is_str(r.mount[CG_CPU], "/sys/fs/cgroup/cpu,cpuacct", "cpu co-mounted");
	is_str(r.mount[CG_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct", "cpuacct co-mounted");
	is_str(r.mount[CG_MEMORY], "/sys/fs/cgroup/my mem", "\\040 unescaped");
	is_str(r.unified, "", "no v2 mount");
	is_int((int) r.nall, 4, "co-mounted: four mounts");
	is_str(r.all[3], "/sys/fs/cgroup/net_cls", "a hierarchy we do not use is listed");

	is_int(cgroup_parse_mountinfo(mountinfo_v2, &r), 0, "pure v2 parses");
	is_str(r.unified, "/sys/fs/cgroup", "v2 mount point");
	is_str(r.mount[CG_MEMORY], "", "no v1 memory");

	is_int(cgroup_parse_mountinfo("", &r), -ENOENT, "empty text: no cgroups");
	is_int(cgroup_parse_mountinfo("24 1 0:22 / /sys rw - sysfs sysfs rw\n",
	    &r), -ENOENT, "no cgroup mount");
	is_int(cgroup_parse_mountinfo("garbage\n- - -\n\n", &r), -ENOENT,
	    "garbage lines are skipped");
	is_int(cgroup_parse_mountinfo(
	    "1 2 3 / /a\\000b rw - cgroup cgroup rw,memory\n", &r), -EINVAL,
	    "an escaped NUL is refused");
}

static void
test_paths(void)
{
	static const struct { const char *name; int r; const char *path; } rows[] = {
		{ "01HZX3JOB", 0, "/sys/fs/cgroup/memory/jobcell/01HZX3JOB" },
		{ "a_b-c", 0, "/sys/fs/cgroup/memory/jobcell/a_b-c" },
		{ "", -EINVAL, NULL },
		{ "..", -EINVAL, NULL },
		{ ".", -EINVAL, NULL },
		{ "a/b", -EINVAL, NULL },
		{ "../../etc", -EINVAL, NULL },
		{ "-rf", -EINVAL, NULL },
		{ "a b", -EINVAL, NULL },
		{ "a\nb", -EINVAL, NULL },
		{ "\xc3\xa9", -EINVAL, NULL },
		{ "0123456789012345678901234567890123456789012345678901234567890123",
		  0, "/sys/fs/cgroup/memory/jobcell/"
		  "0123456789012345678901234567890123456789012345678901234567890123" },
		{ "01234567890123456789012345678901234567890123456789012345678901234",
		  -EINVAL, NULL },
	};
	char buf[CGROUP_PATH_MAX], small[24];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int r = cgroup_path("/sys/fs/cgroup/memory", rows[i].name, buf,
		    sizeof(buf));

		is_int(r, rows[i].r, "path for '%s'", rows[i].name);
		if (r == 0)
			is_str(buf, rows[i].path, "path value for '%s'", rows[i].name);
	}
	is_int(cgroup_path("/sys/fs/cgroup/pids", NULL, buf, sizeof(buf)), 0,
	    "parent path");
	is_str(buf, "/sys/fs/cgroup/pids/jobcell", "parent path value");
	is_int(cgroup_path("/sys/fs/cgroup/memory", "job", small, sizeof(small)),
	    -ENAMETOOLONG, "too long for the buffer");
	is_int(cgroup_path("", "job", buf, sizeof(buf)), -EINVAL, "no mount");
}

static void
test_u64(void)
{
	static const struct { const char *in; int r; uint64_t v; } rows[] = {
		{ "0\n", 0, 0 },
		{ "123456789\n", 0, 123456789 },
		{ "9223372036854771712\n", 0, 9223372036854771712ull },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616\n", -ERANGE, 0 },
		{ "max\n", 0, UINT64_MAX },
		{ "maxx\n", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "-1\n", -EINVAL, 0 },
		{ "12x\n", -EINVAL, 0 },
		{ "1\n2\n", -EINVAL, 0 },
		{ " 1\n", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		uint64_t v = 0;
		int r = cgroup_parse_u64(rows[i].in, &v);

		is_int(r, rows[i].r, "u64 '%s'", rows[i].in);
		if (r == 0)
			ok(v == rows[i].v, "u64 value '%s'", rows[i].in);
	}
}

static void
test_keyed(void)
{
	static const char oom_control[] =
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
	static const char events[] =
	    "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
	static const char cpu_stat[] =
	    "usage_usec 1503\nuser_usec 1000\nsystem_usec 503\n"
	    "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n";
	uint64_t v = 0;

	is_int(cgroup_parse_keyed(oom_control, "oom_kill", &v), 0, "oom_kill in oom_control");
	ok(v == 3, "oom_kill is 3 (not oom_kill_disable's 0)");
	is_int(cgroup_parse_keyed(events, "oom_kill", &v), 0, "oom_kill in memory.events");
	ok(v == 1, "oom_kill is 1 (not oom_group_kill)");
	is_int(cgroup_parse_keyed(events, "oom", &v), 0, "oom in memory.events");
	ok(v == 1, "oom is 1");
	is_int(cgroup_parse_keyed(cpu_stat, "usage_usec", &v), 0, "usage_usec");
	ok(v == 1503, "usage_usec is 1503");
	is_int(cgroup_parse_keyed(cpu_stat, "system_usec", &v), 0, "last-but-one key");
	ok(v == 503, "system_usec is 503");
	is_int(cgroup_parse_keyed("oom_kill 7", "oom_kill", &v), 0, "no final newline");
	ok(v == 7, "value without newline");
	is_int(cgroup_parse_keyed(oom_control, "oom", &v), -ENOENT, "a prefix is not a key");
	is_int(cgroup_parse_keyed("", "oom_kill", &v), -ENOENT, "empty file");
	is_int(cgroup_parse_keyed("oom_kill x\n", "oom_kill", &v), -EINVAL, "bad value");
	is_int(cgroup_parse_keyed("oom_kill 1 2\n", "oom_kill", &v), -EINVAL, "two values");
	is_int(cgroup_parse_keyed("oom_kill 99999999999999999999\n", "oom_kill",
	    &v), -ERANGE, "overflow");
	is_int(cgroup_parse_keyed("a 1\n", "", &v), -EINVAL, "empty key");
}

static void
test_list(void)
{
	ok(cgroup_list_has("cpuset cpu io memory pids\n", "cpu"), "cpu listed");
	ok(cgroup_list_has("cpuset cpu io memory pids\n", "pids"), "last listed");
	ok(!cgroup_list_has("cpuset io memory pids\n", "cpu"), "cpuset is not cpu");
	ok(!cgroup_list_has("", "memory"), "empty list");
	ok(!cgroup_list_has("\n", "memory"), "newline only");
	ok(!cgroup_list_has("memory", ""), "empty name");
}

int
main(void)
{
	test_mountinfo();
	test_paths();
	test_u64();
	test_keyed();
	test_list();
	return done_testing();
}
