// tests/web/drive.mjs: drives Debian's chromium (headless, through
// puppeteer-core) through one scenario of the web page against a running
// stack, and prints what the user saw as one JSON object on stdout. The
// assertions live in tests/e2e/50-web.bats; this file only acts, waits
// (always against a deadline) and reports.
//
// usage: node drive.mjs SCENARIO [ARGS...]
// environment:
//   JOBCELL_URL, JOBCELL_KEY   the stack and a consumer's key
//   JOBCELL_WEB_MODULES        a directory holding node_modules/puppeteer-core
//   JOBCELL_WEB_CHROMIUM       the browser (default /usr/bin/chromium)
//   JOBCELL_WEB_HOME           HOME for the browser: its NSS database
//                              (~/.pki/nssdb) trusts the stack's CA
//   JOBCELL_WEB_SHOTS          where screenshots go (a directory)
//   JOBCELL_WEB_DOWNLOADS      where downloads go (a directory)
//   JOBCELL_WEB_DEADLINE_MS    how long any one wait may take (default 60000)

import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";

const env = process.env;
const need = (name) => {
	if (!env[name]) {
		console.error(`drive.mjs: ${name} is not set`);
		process.exit(2);
	}
	return env[name];
};
const URL_BASE = need("JOBCELL_URL");
const KEY = env.JOBCELL_KEY || "";
const MODULES = need("JOBCELL_WEB_MODULES");
const SHOTS = env.JOBCELL_WEB_SHOTS || "";
const DOWNLOADS = env.JOBCELL_WEB_DOWNLOADS || "";
const DEADLINE_MS = Number(env.JOBCELL_WEB_DEADLINE_MS || 60000);

const require = createRequire(path.join(MODULES, "package.json"));
const puppeteer = require("puppeteer-core");

async function launch() {
	// A fresh profile each run (JOBCELL_WEB_PROFILE: the suite's temp dir).
	const profile = env.JOBCELL_WEB_PROFILE ||
		fs.mkdtempSync(path.join(os.tmpdir(), "jobcell-chromium-"));
	const browser = await puppeteer.launch({
		executablePath: env.JOBCELL_WEB_CHROMIUM || "/usr/bin/chromium",
		headless: true,
		// --no-sandbox: the suites run as root, where chromium's own
		// sandbox refuses to start. The page is ours and the only site.
		args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
			"--no-first-run", "--no-default-browser-check",
			`--user-data-dir=${profile}`],
		env: { ...env, HOME: env.JOBCELL_WEB_HOME || env.HOME },
		protocolTimeout: DEADLINE_MS * 2,
	});
	if (!env.JOBCELL_WEB_PROFILE)
		browser.on("disconnected", () => {
			try {
				fs.rmSync(profile, { recursive: true, force: true });
			} catch (e) { /* chromium may still be writing: leave it */ }
		});
	return browser;
}

async function newPage(browser, width = 1200, height = 900) {
	const page = await browser.newPage();
	await page.setViewport({ width, height });
	page.setDefaultTimeout(DEADLINE_MS);
	// Runs before the page's own script, outside its CSP: counts CSP
	// violations and records dialogs, so the tests can say none happened.
	await page.evaluateOnNewDocument(() => {
		window.__cspViolations = [];
		document.addEventListener("securitypolicyviolation", (e) => {
			window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
		});
	});
	page.__dialogs = [];
	page.on("dialog", async (d) => {
		page.__dialogs.push(d.message());
		await d.dismiss();
	});
	page.__errors = [];
	page.on("pageerror", (e) => page.__errors.push(String(e)));
	return page;
}

async function shot(page, name) {
	if (!SHOTS)
		return;
	fs.mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: path.join(SHOTS, name + ".png"), fullPage: true });
}

async function open(page, hash = "") {
	await page.goto(URL_BASE + "/" + hash, { waitUntil: "domcontentloaded" });
}

async function login(page, key = KEY) {
	await open(page);
	await page.waitForSelector("#view-login:not([hidden])");
	// Keyboard only: the key field has the focus when the page opens.
	await page.waitForFunction(() => document.activeElement && document.activeElement.id === "key");
	await page.keyboard.type(key);
	await page.keyboard.press("Enter");
}

async function loggedIn(page) {
	await login(page);
	await page.waitForSelector("#view-jobs:not([hidden])");
	await page.waitForFunction(() => performance.getEntriesByName("jobcell-jobs-rendered").length > 0);
}

// The API from inside the page, with the key the page keeps.
async function apiInPage(page, method, p, body) {
	return page.evaluate(async (method, p, body) => {
		const headers = { Authorization: "Bearer " + sessionStorage.getItem("jobcell.key") };
		if (body !== null)
			headers["Content-Type"] = "application/json";
		const r = await fetch(p, { method, headers, body: body === null ? undefined : JSON.stringify(body) });
		return { status: r.status, body: await r.json() };
	}, method, p, body ?? null);
}

async function submitForm(page, fields) {
	await page.goto(URL_BASE + "/#/submit");
	await page.waitForSelector("#view-submit:not([hidden])");
	for (const [id, v] of Object.entries(fields))
		await page.$eval("#" + id, (e, v) => { e.value = v; }, v);
	await shot(page, "submit");
	await page.click("#submit-form button[type=submit]");
	await page.waitForFunction(() => /^#\/job\//.test(location.hash));
	return page.evaluate(() => location.hash.replace("#/job/", ""));
}

async function waitEnded(page) {
	await page.waitForFunction(() => /ended/.test(document.getElementById("out-state").textContent));
	await page.waitForFunction(() => /^(succeeded|failed|timed_out|cancelled|error)$/
		.test(document.querySelector("#job-status .status")?.textContent || ""));
}

function outputOf(page) {
	return page.evaluate(() => {
		const out = document.getElementById("output");
		return {
			text: out.textContent,
			spans: [...out.children].map((s) => ({ text: s.textContent, cls: s.className, tag: s.tagName })),
			elements: out.querySelectorAll("*").length,
			nonSpans: [...out.querySelectorAll("*")].filter((e) => e.tagName !== "SPAN").length,
		};
	});
}

async function common(page) {
	return page.evaluate(() => ({
		csp: window.__cspViolations,
		cookie: document.cookie,
		url: location.href,
		title: document.title,
		images: document.images.length,
		scripts: document.scripts.length,
		pwned: window.__pwned ?? null,
		// What the page asked the server for, by path.
		resources: performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname),
	})).then((c) => ({ ...c, dialogs: page.__dialogs, errors: page.__errors }));
}

async function waitFile(dir, name) {
	const p = path.join(dir, name);
	const end = Date.now() + DEADLINE_MS;
	while (Date.now() < end) {
		if (fs.existsSync(p) && !fs.existsSync(p + ".crdownload"))
			return p;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`no download ${p} within ${DEADLINE_MS} ms`);
}

async function allowDownloads(page) {
	fs.mkdirSync(DOWNLOADS, { recursive: true });
	const cdp = await page.createCDPSession();
	await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: DOWNLOADS });
}

const scenarios = {
	// A key the server refuses: a clear message, nothing kept.
	async "wrong-key"(browser) {
		const page = await newPage(browser);
		await open(page);
		await page.waitForSelector("#view-login:not([hidden])");
		await shot(page, "login");
		await login(page, "0123456789abcdef.not-a-real-key-not-a-real-key-not-a-real-k");
		await page.waitForFunction(() => document.getElementById("login-error").textContent !== "");
		return {
			message: await page.$eval("#login-error", (e) => e.textContent),
			stored: await page.evaluate(() => sessionStorage.length),
			jobsVisible: await page.$eval("#view-jobs", (e) => !e.hidden),
			...(await common(page)),
		};
	},

	// The right key: the jobs list; where the key is (and is not) kept.
	async login(browser) {
		const page = await newPage(browser);
		await loggedIn(page);
		await page.waitForFunction(() => document.getElementById("who").textContent !== "");
		await shot(page, "jobs");
		const r = {
			stored: await page.evaluate(() => sessionStorage.getItem("jobcell.key")),
			local: await page.evaluate(() => localStorage.length),
			who: await page.$eval("#who", (e) => e.textContent),
			rows: await page.$$eval("#jobs-body tr", (t) => t.length),
			...(await common(page)),
		};
		// A reload in the same tab keeps the session; "Forget key" ends it.
		// The style sheet and script come from the browser's cache
		// (transferSize 0: not even a revalidation); the header's name
		// is shown again.
		await page.reload({ waitUntil: "domcontentloaded" });
		await page.waitForSelector("#view-jobs:not([hidden])");
		r.afterReload = "jobs";
		await page.waitForFunction(() => document.getElementById("who").textContent !== "");
		r.whoAfterReload = await page.$eval("#who", (e) => e.textContent);
		r.reloadFiles = await page.evaluate(() => performance.getEntriesByType("resource")
			.filter((e) => /\/jobcell\.(css|js)(\?|$)/.test(e.name))
			.map((e) => ({ name: new URL(e.name).pathname, transferSize: e.transferSize })));
		await page.click("#logout");
		await page.waitForSelector("#view-login:not([hidden])");
		r.afterLogout = await page.evaluate(() => sessionStorage.length);
		return r;
	},

	// Submit from the form, see the first line while the job still runs,
	// then cancel it from the page.
	async live(browser) {
		const page = await newPage(browser);
		await loggedIn(page);
		const id = await submitForm(page, {
			"f-command": "echo first line; echo to stderr >&2; sleep 300; echo never",
			"f-timeout": "600",
		});
		await page.waitForFunction(() => /first line/.test(document.getElementById("output").textContent) &&
			/to stderr/.test(document.getElementById("output").textContent));
		// The page stamps each piece of output with when it arrived.
		const seenAt = await page.$eval("#output span", (s) => Number(s.dataset.t));
		const whenSeen = await apiInPage(page, "GET", "/v1/jobs/" + id);
		await page.waitForSelector("#cancel:not([hidden])");
		await shot(page, "job-running");
		const streams = await outputOf(page);
		await page.click("#cancel");
		await page.waitForFunction(() => document.querySelector("#job-status .status")?.textContent === "cancelled");
		await page.waitForFunction(() => document.getElementById("cancel").hidden);
		const after = await apiInPage(page, "GET", "/v1/jobs/" + id);
		await shot(page, "job-cancelled");
		// The list shows it too, filtered by status.
		await page.goto(URL_BASE + "/#/jobs");
		await page.waitForSelector("#view-jobs:not([hidden])");
		await page.select("#filter", "cancelled");
		await page.waitForFunction((id) => [...document.querySelectorAll("#jobs-body a")]
			.some((a) => a.getAttribute("href") === "#/job/" + id), {}, id);
		const listed = await page.$$eval("#jobs-body tr", (rows) => rows.map((r) => r.querySelector(".status").textContent));
		return {
			id, seenAt, statusWhenSeen: whenSeen.body.status,
			finalStatus: after.body.status, finishedAt: Date.parse(after.body.finished_at),
			streams: streams.spans.map((s) => s.cls.split(" ")[0] + ":" + s.text),
			listedStatuses: listed,
			...(await common(page)),
		};
	},

	// Output that looks like HTML is text: nothing runs, no element appears.
	async xss(browser) {
		const page = await newPage(browser);
		await loggedIn(page);
		const payload = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>";
		const r = await apiInPage(page, "POST", "/v1/jobs", {
			name: payload,
			command: "printf '%s\\n' '<img src=x onerror=\"window.__pwned=1\">' '<script>window.__pwned=2</script>'; printf '<svg onload=\"window.__pwned=3\">\\n' >&2",
		});
		await page.goto(URL_BASE + "/#/job/" + r.body.id);
		await waitEnded(page);
		const out = await outputOf(page);
		await shot(page, "job-xss");
		await page.goto(URL_BASE + "/#/jobs");
		await page.waitForFunction((id) => document.querySelector(`#jobs-body a[href="#/job/${id}"]`), {}, r.body.id);
		const listName = await page.$eval(`#jobs-body a[href="#/job/${r.body.id}"]`, (a) => a.textContent);
		return { id: r.body.id, output: out.text, nonSpans: out.nonSpans, listName, ...(await common(page)) };
	},

	// ANSI colours become classes; cursor moves, OSC titles and links go.
	async ansi(browser) {
		const page = await newPage(browser);
		await loggedIn(page);
		const cmd = "printf '\\033[31mred\\033[0m plain \\033[1;32mboldgreen\\033[0m\\n'; " +
			"printf '\\033[2J\\033[H\\033[5Acursor\\033]0;evil title\\007 osc\\033]8;;http://example.invalid/\\033\\\\link\\033]8;;\\033\\\\ end\\n'; " +
			"printf '\\033[38;5;4mblue256\\033[m \\033[41mredbg\\033[49m\\r\\n'";
		const r = await apiInPage(page, "POST", "/v1/jobs", { command: cmd });
		await page.goto(URL_BASE + "/#/job/" + r.body.id);
		await waitEnded(page);
		const out = await outputOf(page);
		await shot(page, "job-ansi");
		return {
			id: r.body.id, output: out.text, spans: out.spans, nonSpans: out.nonSpans,
			links: await page.$$eval("#output a", (a) => a.length),
			...(await common(page)),
		};
	},

	// Long output is capped on the page; the full log downloads exactly.
	async "long-output"(browser) {
		const page = await newPage(browser);
		await loggedIn(page);
		await allowDownloads(page);
		const r = await apiInPage(page, "POST", "/v1/jobs", { command: "seq 1 100000" });
		await page.goto(URL_BASE + "/#/job/" + r.body.id);
		await page.waitForSelector("#out-capped:not([hidden])");
		await page.waitForFunction(() => /^(succeeded|failed)$/.test(document.querySelector("#job-status .status")?.textContent || ""));
		const shown = await page.$eval("#output", (e) => e.textContent.length);
		await page.click("#dl-stdout");
		const file = await waitFile(DOWNLOADS, r.body.id + ".stdout");
		return { id: r.body.id, shown, file, ...(await common(page)) };
	},

	// An artifact listed on the job's page downloads with its exact bytes.
	async artifact(browser) {
		const page = await newPage(browser);
		await loggedIn(page);
		await allowDownloads(page);
		const id = await submitForm(page, {
			"f-command": "mkdir -p out && head -c 65536 /dev/urandom > out/data.bin && echo made",
			"f-artifacts": "out/*.bin",
		});
		await waitEnded(page);
		await page.waitForFunction(() => document.querySelectorAll("#artifacts button").length > 0);
		await shot(page, "job-artifacts");
		const name = await page.$eval("#artifacts button", (b) => b.textContent);
		await page.click("#artifacts button");
		const file = await waitFile(DOWNLOADS, "data.bin");
		return { id, name, file, ...(await common(page)) };
	},

	// The other views, and the page at phone width; paging the list.
	async views(browser) {
		const page = await newPage(browser);
		await loggedIn(page);
		await page.goto(URL_BASE + "/#/me");
		await page.waitForFunction(() => document.querySelectorAll("#me-facts dt").length > 0);
		const me = await page.$$eval("#me-facts dt", (d) => d.map((x) => x.textContent));
		await shot(page, "me");
		await page.goto(URL_BASE + "/#/jobs");
		await page.waitForFunction(() => document.querySelectorAll("#jobs-body tr").length > 0);
		const first = await page.$$eval("#jobs-body a", (a) => a.map((x) => x.getAttribute("href")));
		await shot(page, "jobs-list");
		const olderEnabled = await page.$eval("#older", (b) => !b.disabled);
		let second = [];
		if (olderEnabled) {
			await page.click("#older");
			await page.waitForFunction((h) => document.querySelector("#jobs-body a")?.getAttribute("href") !== h, {}, first[0]);
			second = await page.$$eval("#jobs-body a", (a) => a.map((x) => x.getAttribute("href")));
		}
		// The keyboard focus on a job's link survives the list's own
		// refresh, also when a new job moves the rows down (in this
		// tab, while it is in front: a hidden tab does not refresh).
		if (olderEnabled) {
			await page.click("#newest");
			await page.waitForFunction((h) => document.querySelector("#jobs-body a")?.getAttribute("href") === h, {}, first[0]);
		}
		await page.focus(`#jobs-body a[href="${first[3]}"]`);
		const added = await apiInPage(page, "POST", "/v1/jobs", { command: "true", name: "moves the rows" });
		await page.waitForFunction((h) => document.querySelector("#jobs-body a")?.getAttribute("href") === h,
			{}, "#/job/" + added.body.id);
		const focus = { want: first[3], got: await page.evaluate(() =>
			document.activeElement.getAttribute("href") ?? document.activeElement.tagName) };
		const phone = await newPage(browser, 375, 812);
		await phone.goto(URL_BASE + "/");
		await phone.evaluate((k) => sessionStorage.setItem("jobcell.key", k), KEY);
		await phone.goto(URL_BASE + "/#/job/" + first[0].replace("#/job/", ""));
		await phone.waitForFunction(() => /ended/.test(document.getElementById("out-state").textContent));
		const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		await shot(phone, "phone-job");
		await phone.goto(URL_BASE + "/#/jobs");
		await phone.waitForFunction(() => document.querySelectorAll("#jobs-body tr").length > 0);
		await shot(phone, "phone-jobs");
		// Every form control has a label, every button a name.
		const a11y = await page.evaluate(() => ({
			unlabelled: [...document.querySelectorAll("input, select, textarea")]
				.filter((e) => e.labels.length === 0).map((e) => e.id),
			unnamed: [...document.querySelectorAll("button")]
				.filter((b) => !b.textContent.trim()).length,
			lang: document.documentElement.lang,
		}));
		return { me, first, second, olderEnabled, phoneOverflow: overflow, focus, a11y, ...(await common(page)) };
	},

	// The screenshot in docs/web.png (README): a job with colours, stderr
	// and an artifact. JOBCELL_WEB_SHOTS=docs: writes docs/docshot.png.
	async docshot(browser) {
		const page = await newPage(browser, 1000, 760);
		await loggedIn(page);
		const cmd = "printf '\\033[1mBuilding\\033[0m demo\\n'; " +
			"for t in lib cli api web; do printf '  \\033[32mok\\033[0m    %s\\n' $t; done; " +
			"printf '  \\033[33mwarn\\033[0m  api/jobs.c:42: unused variable\\n' >&2; " +
			"printf '\\033[1;32m41 passed\\033[0m, \\033[1;31m1 failed\\033[0m\\n'; " +
			"mkdir -p dist && echo report > dist/report.txt && echo log > dist/test.log; exit 1";
		const r = await apiInPage(page, "POST", "/v1/jobs", { name: "make test", command: cmd, artifacts: ["dist/*"] });
		await page.goto(URL_BASE + "/#/job/" + r.body.id);
		await waitEnded(page);
		await page.waitForFunction(() => document.querySelectorAll("#artifacts button").length > 1);
		await page.screenshot({ path: path.join(SHOTS, "docshot.png") });
		return { id: r.body.id };
	},

	// bench/web: navigation start -> the jobs list rendered (the page's
	// own performance mark), and -> the login view (static files only,
	// the reference), in fresh browser contexts (cold: new connection,
	// empty cache) and by reloads of one page (warm). "Painted": the
	// end of the first frame after the mark (a task posted from the
	// next requestAnimationFrame runs once that frame's style, layout
	// and paint are done), marked by a hook injected here, outside the
	// page, the same for the page and the floor.
	async bench(browser) {
		const runs = Number(env.JOBCELL_WEB_BENCH_RUNS || 20);
		// The page's mark, and where the time went: the HTML's response
		// end, DOMContentLoaded, and the /v1/jobs fetch (start, end).
		const timings = (page, name) => page.evaluate((name) => {
			const nav = performance.getEntriesByType("navigation")[0];
			const api = performance.getEntriesByType("resource")
				.find((r) => /\/v1\/jobs\?/.test(r.name));
			const file = (re) => {
				const e = performance.getEntriesByType("resource").find((r) => re.test(r.name));
				return e ? e.responseEnd : null;
			};
			return {
				css_end: file(/\/jobcell\.css(\?|$)/), js_end: file(/\/jobcell\.js(\?|$)/),
				mark: performance.getEntriesByName(name)[0].startTime,
				painted: performance.getEntriesByName(name.replace(/-rendered$/, "-painted"))[0].startTime,
				html: nav.responseEnd, dcl: nav.domContentLoadedEventEnd,
				api_start: api ? api.startTime : null, api_end: api ? api.responseEnd : null,
			};
		}, name);
		const res = { cold_jobs: [], warm_jobs: [], cold_login: [], warm_login: [], rows: 0 };
		const newPage = async (ctx, key) => {
			const page = await ctx.newPage();
			page.setDefaultTimeout(DEADLINE_MS);
			if (key)
				await page.evaluateOnNewDocument((k) => sessionStorage.setItem("jobcell.key", k), key);
			await page.evaluateOnNewDocument(() => {
				const mark = performance.mark.bind(performance);
				performance.mark = (name, ...rest) => {
					const r = mark(name, ...rest);
					if (/-rendered$/.test(name))
						requestAnimationFrame(() => setTimeout(() =>
							mark(name.replace(/-rendered$/, "-painted"))));
					return r;
				};
			});
			return page;
		};
		const withKey = (ctx) => newPage(ctx, KEY);
		const waitMark = (page, name) => page.waitForFunction((name) =>
			performance.getEntriesByName(name.replace(/-rendered$/, "-painted")).length > 0, {}, name);
		// The renderer's main-thread CPU time from navigation start to the
		// mark, from a trace of that one load: the thread time of its
		// top-level tasks. Unlike the wall times it hardly moves when the
		// machine is busy (on two cores chromium's own processes, nginx and
		// the API wait for each other), so page minus floor here is what
		// our HTML, CSS and JS cost, measured where the noise is not.
		const traceFile = path.join(os.tmpdir(), `jobcell-bench-trace-${process.pid}.json`);
		const cpuOf = async (page, name, load) => {
			await page.tracing.start({ path: traceFile, categories: ["toplevel", "blink.user_timing"] });
			await load();
			await waitMark(page, name);
			await page.tracing.stop();
			const t = JSON.parse(fs.readFileSync(traceFile, "utf8"));
			fs.rmSync(traceFile, { force: true });
			const ev = Array.isArray(t) ? t : t.traceEvents;
			// The mark of this load (the last one); its startTime is
			// milliseconds from this navigation's start.
			const mk = ev.filter((e) => e.name === name && e.args && e.args.data &&
				typeof e.args.data.startTime === "number").sort((a, b) => a.ts - b.ts).pop();
			if (!mk)
				return null; // the trace missed it now and then: the caller tries again
			const from = mk.ts - mk.args.data.startTime * 1000;
			const tasks = ev.filter((e) => e.pid === mk.pid && e.tid === mk.tid && e.ph === "X" &&
				e.name === "ThreadControllerImpl::RunTask" && e.ts >= from && e.ts <= mk.ts)
				.sort((a, b) => a.ts - b.ts);
			let cpu = 0, end = -Infinity;
			for (const e of tasks) {
				if (e.ts < end)
					continue; // nested in the task counted before
				end = e.ts + e.dur;
				cpu += e.tdur || 0;
			}
			return cpu / 1000;
		};
		const J = "jobcell-jobs-rendered", L = "jobcell-login-rendered";
		for (let i = 0; i < runs; i++) {
			let ctx = await browser.createBrowserContext();
			let page = await withKey(ctx);
			await page.goto(URL_BASE + "/", { waitUntil: "domcontentloaded" });
			await waitMark(page, J);
			res.cold_jobs.push(await timings(page, J));
			res.rows = await page.$$eval("#jobs-body tr", (t) => t.length);
			await page.reload({ waitUntil: "domcontentloaded" });
			await waitMark(page, J);
			res.warm_jobs.push(await timings(page, J));
			await ctx.close();
			ctx = await browser.createBrowserContext();
			page = await newPage(ctx, "");
			await page.goto(URL_BASE + "/", { waitUntil: "domcontentloaded" });
			await waitMark(page, L);
			res.cold_login.push(await timings(page, L));
			await page.reload({ waitUntil: "domcontentloaded" });
			await waitMark(page, L);
			res.warm_login.push(await timings(page, L));
			await ctx.close();
		}
		// The same loads again, each traced (tracing slows the wall
		// times, so these loads give the CPU column only).
		res.cpu = { cold_jobs: [], warm_jobs: [], cold_login: [], warm_login: [] };
		for (let i = 0; i < runs; i++) {
			for (const [key, name, kind] of [[KEY, J, "jobs"], ["", L, "login"]]) {
				// A pair whose trace lacks the mark is loaded again, three
				// times at most; then the bench fails rather than guess.
				for (let attempt = 1; ; attempt++) {
					const ctx = await browser.createBrowserContext();
					const page = await newPage(ctx, key);
					const cold = await cpuOf(page, name,
						() => page.goto(URL_BASE + "/", { waitUntil: "domcontentloaded" }));
					const warm = await cpuOf(page, name,
						() => page.reload({ waitUntil: "domcontentloaded" }));
					await ctx.close();
					if (cold !== null && warm !== null) {
						res.cpu["cold_" + kind].push(cold);
						res.cpu["warm_" + kind].push(warm);
						break;
					}
					if (attempt === 3)
						throw new Error(`bench: no '${name}' in three traces`);
				}
			}
		}
		return res;
	},
};

const name = process.argv[2];
if (!scenarios[name]) {
	console.error(`drive.mjs: unknown scenario '${name}'; one of: ${Object.keys(scenarios).join(" ")}`);
	process.exit(2);
}
const browser = await launch();
let rc = 0;
try {
	const r = await scenarios[name](browser);
	process.stdout.write(JSON.stringify(r) + "\n");
} catch (e) {
	console.error(`drive.mjs ${name}: ${e && e.stack ? e.stack : e}`);
	for (const p of await browser.pages()) {
		try {
			await shot(p, `failed-${name}-${(await browser.pages()).indexOf(p)}`);
			console.error("page " + p.url() + " text: " + (await p.evaluate(() => document.body.innerText)).slice(0, 2000));
		} catch (e2) { /* the page may be gone */ }
	}
	rc = 1;
}
await browser.close();
process.exit(rc);
