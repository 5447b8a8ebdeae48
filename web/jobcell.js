// jobcell.js - the web page's only script (an ES module, no dependencies).
// Runs in the browser; talks to the API on the same origin with the key the
// user pasted, kept in sessionStorage only and sent as a Bearer header (never
// in a URL, a cookie or a log). Trusts nothing it receives: every job field
// and every byte of output goes into the page through textContent.
//
// How it works: the hash names the view (#/jobs, #/job/ID, #/submit, #/me).
// The jobs list reloads itself every few seconds while the tab is visible.
// A job's output comes from the NDJSON follow stream (fetch + a stream
// reader), parsed line by line; ANSI SGR colours become spans with classes,
// every other escape sequence and control byte is dropped. Past OUTPUT_MAX
// characters the page stops appending and offers the full log instead.

const KEY_NAME = "jobcell.key";
const LIST_LIMIT = 20;
const LIST_REFRESH_MS = 3000;
const JOB_REFRESH_MS = 2000;
const OUTPUT_MAX = 200000; // characters shown before "download the full log"

const $ = (id) => document.getElementById(id);

// ---- the key and the API -------------------------------------------------

function getKey() {
	return sessionStorage.getItem(KEY_NAME);
}

class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

async function api(method, path, { body, key, signal, raw } = {}) {
	const headers = { Authorization: "Bearer " + (key ?? getKey() ?? "") };
	// credentials "same-origin", not "omit": this origin sets no cookie
	// (nginx sets none, the page none) and the API reads only the Bearer
	// header, so nothing more is sent; but chromium keeps uncredentialed
	// requests on connections of their own, and "omit" cost the first
	// call of a fresh load a second TLS handshake (bench/web).
	const init = { method, headers, signal, cache: "no-store",
		credentials: "same-origin", referrerPolicy: "no-referrer" };
	if (body !== undefined) {
		headers["Content-Type"] = "application/json";
		init.body = JSON.stringify(body);
	}
	const res = await fetch(path, init);
	if (!res.ok) {
		let code = "http_" + res.status;
		let message = res.statusText || "request failed";
		try {
			const j = await res.json();
			if (j && j.error) {
				code = String(j.error.code);
				message = String(j.error.message);
			}
		} catch (e) { /* not the API's JSON error: keep the status */ }
		if (res.status === 401 && key === undefined)
			signOut("The server no longer accepts this key; paste it again.");
		throw new ApiError(res.status, code, message);
	}
	if (raw)
		return res;
	if (res.status === 204)
		return null;
	return res.json();
}

function enc(s) {
	return encodeURIComponent(s);
}

// ---- small DOM helpers (text only) ----------------------------------------

function el(tag, attrs = {}, text) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs))
		e.setAttribute(k, v);
	if (text !== undefined)
		e.textContent = text;
	return e;
}

function facts(dl, rows) {
	dl.replaceChildren();
	for (const [k, v] of rows) {
		dl.append(el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "—" : String(v)));
	}
}

function flash(msg) {
	$("flash").textContent = msg || "";
}

// Timestamps in the browser's local time as "YYYY-MM-DD HH:MM:SS": plain
// Date getters, no Intl. The first Intl.DateTimeFormat of a page loads the
// locale data, which cost the jobs list's first render ~90 ms in a fresh
// browser context (bench/web); and one fixed shape sorts and reads the
// same everywhere.
function pad2(n) {
	return n < 10 ? "0" + n : String(n);
}

function fmtTime(s) {
	if (!s)
		return "—";
	const d = new Date(s);
	if (isNaN(d))
		return String(s);
	return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) +
		" " + pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
}

function fmtDuration(ms) {
	if (ms === null || ms === undefined)
		return "—";
	if (ms < 1000)
		return ms + " ms";
	const s = ms / 1000;
	if (s < 60)
		return s.toFixed(s < 10 ? 2 : 1) + " s";
	const m = Math.floor(s / 60);
	return m + " min " + Math.round(s - m * 60) + " s";
}

function statusBadge(status) {
	return el("span", { class: "status st-" + String(status).replace(/[^a-z_]/g, "") }, String(status));
}

const FINAL = new Set(["succeeded", "failed", "timed_out", "cancelled", "error"]);

// ---- views ----------------------------------------------------------------

let current = null; // the active view's stop()

function show(name) {
	for (const v of document.querySelectorAll(".view"))
		v.hidden = v.id !== "view-" + name;
	for (const a of document.querySelectorAll("#nav a"))
		if (a.dataset.view === name)
			a.setAttribute("aria-current", "page");
		else
			a.removeAttribute("aria-current");
}

function route() {
	if (current) {
		current();
		current = null;
	}
	flash("");
	if (!getKey()) {
		$("nav").hidden = true;
		show("login");
		if (!performance.getEntriesByName("jobcell-login-rendered").length)
			performance.mark("jobcell-login-rendered");
		$("key").focus();
		return;
	}
	$("nav").hidden = false;
	const h = location.hash.replace(/^#\/?/, "");
	const m = /^job\/([A-Za-z0-9_-]+)$/.exec(h);
	if (m)
		current = jobView(m[1]);
	else if (h === "submit")
		current = submitView();
	else if (h === "me")
		current = meView();
	else
		current = jobsView();
	if (m || h === "submit")
		showWho();
}

// The consumer's name in the header, from GET /v1/me: asked for once, after
// the view's own first request has been answered, not beside it (on a
// reload of the list, two API calls at once delayed the list).
let whoAsked = false;
function showWho() {
	if (whoAsked || !getKey())
		return;
	whoAsked = true;
	api("GET", "/v1/me").then((me) => { $("who").textContent = String(me.name); })
		.catch(() => { whoAsked = false; });
}

function signOut(msg) {
	sessionStorage.removeItem(KEY_NAME);
	$("who").textContent = "";
	whoAsked = false;
	if (location.hash !== "" && location.hash !== "#/jobs")
		history.replaceState(null, "", location.pathname);
	route();
	if (msg)
		$("login-error").textContent = msg;
}

// Sign in: the key is checked with GET /v1/me before it is kept.
async function onLogin(ev) {
	ev.preventDefault();
	const input = $("key");
	const key = input.value.trim();
	const err = $("login-error");
	err.textContent = "";
	if (!key) {
		err.textContent = "Paste an API key first.";
		return;
	}
	try {
		const me = await api("GET", "/v1/me", { key });
		sessionStorage.setItem(KEY_NAME, key);
		input.value = "";
		$("who").textContent = String(me.name);
		whoAsked = true;
		route();
		$("main").focus();
	} catch (e) {
		if (e.status === 401)
			err.textContent = "The server did not accept this key. Check that you pasted all of it.";
		else if (e.status === 403)
			err.textContent = "This key's consumer is disabled.";
		else if (e.status === 429)
			err.textContent = "Too many failed attempts: wait a moment and try again.";
		else
			err.textContent = "Cannot sign in: " + e.message;
		input.select();
	}
}

// The jobs list: newest first, a status filter, paging with `before`.
function jobsView() {
	show("jobs");
	let stopped = false;
	let timer = null;
	const pages = []; // the `before` of each page shown (null: newest)
	let before = null;
	let next = null;
	let shownJson = null; // the jobs the list shows now, as JSON

	async function load() {
		clearTimeout(timer);
		const q = new URLSearchParams({ limit: String(LIST_LIMIT) });
		const status = $("filter").value;
		if (status)
			q.set("status", status);
		if (before)
			q.set("before", before);
		try {
			const r = await api("GET", "/v1/jobs?" + q);
			if (stopped)
				return;
			render(r.jobs || []);
			next = r.next || null;
			$("older").disabled = !next;
			$("newest").disabled = before === null;
			$("jobs-updated").textContent = "Updated " + fmtTime(new Date().toISOString());
		} catch (e) {
			if (!stopped)
				flash("Cannot load the jobs: " + e.message);
		}
		showWho();
		if (!stopped)
			timer = setTimeout(tick, LIST_REFRESH_MS);
	}
	function tick() {
		if (document.hidden)
			timer = setTimeout(tick, LIST_REFRESH_MS);
		else
			load();
	}
	// A refresh that changes nothing leaves the rows alone; one that does
	// rebuilds them and keeps the keyboard focus on the same job (a
	// removed link would drop it to <body> every few seconds).
	function render(jobs) {
		const json = JSON.stringify(jobs);
		if (json === shownJson)
			return;
		shownJson = json;
		const body = $("jobs-body");
		const focused = body.contains(document.activeElement) ?
			document.activeElement.getAttribute("href") : null;
		const rows = jobs.map((j) => {
			const tr = el("tr");
			const a = el("a", { href: "#/job/" + String(j.id) }, j.name ? String(j.name) : String(j.id));
			const td = el("td", { class: "job" });
			td.append(a);
			if (j.name)
				td.append(el("span", { class: "mono sub" }, String(j.id)));
			const st = el("td");
			st.append(statusBadge(j.status));
			// data-label: the column's name where rows become cards
			// (phone width, see jobcell.css).
			tr.append(td, st, el("td", { "data-label": "Created" }, fmtTime(j.created_at)),
				el("td", { "data-label": "Duration" }, fmtDuration(j.duration_ms)),
				el("td", { class: "num", "data-label": "Exit" },
					j.exit_code === null || j.exit_code === undefined ? "—" : String(j.exit_code)));
			return tr;
		});
		body.replaceChildren(...rows);
		if (focused !== null)
			for (const a of body.querySelectorAll("a"))
				if (a.getAttribute("href") === focused) {
					a.focus({ preventScroll: true });
					break;
				}
		$("jobs-empty").hidden = jobs.length !== 0;
		if (!performance.getEntriesByName("jobcell-jobs-rendered").length)
			performance.mark("jobcell-jobs-rendered");
	}
	const onFilter = () => { before = null; pages.length = 0; load(); };
	const onOlder = () => { if (next) { pages.push(before); before = next; load(); } };
	const onNewest = () => { before = null; pages.length = 0; load(); };
	$("filter").addEventListener("change", onFilter);
	$("older").addEventListener("click", onOlder);
	$("newest").addEventListener("click", onNewest);
	load();
	return () => {
		stopped = true;
		clearTimeout(timer);
		$("filter").removeEventListener("change", onFilter);
		$("older").removeEventListener("click", onOlder);
		$("newest").removeEventListener("click", onNewest);
	};
}

// ---- ANSI: SGR colours to classes, everything else dropped ---------------

// One parser per stream: an escape sequence may be split across chunks.
// Output: a list of [text, classString] runs.
export class AnsiParser {
	constructor() {
		this.pending = ""; // an unfinished escape sequence
		this.fg = null;
		this.bg = null;
		this.bold = false;
		this.dim = false;
		this.italic = false;
		this.underline = false;
	}
	classes() {
		const c = [];
		if (this.fg !== null) c.push("ansi-fg-" + this.fg);
		if (this.bg !== null) c.push("ansi-bg-" + this.bg);
		if (this.bold) c.push("ansi-bold");
		if (this.dim) c.push("ansi-dim");
		if (this.italic) c.push("ansi-italic");
		if (this.underline) c.push("ansi-underline");
		return c.join(" ");
	}
	sgr(params) {
		const p = params === "" ? [0] : params.split(/[;:]/).map((x) => (x === "" ? 0 : parseInt(x, 10)));
		for (let i = 0; i < p.length; i++) {
			const n = p[i];
			if (n === 0) {
				this.fg = this.bg = null;
				this.bold = this.dim = this.italic = this.underline = false;
			} else if (n === 1) this.bold = true;
			else if (n === 2) this.dim = true;
			else if (n === 3) this.italic = true;
			else if (n === 4) this.underline = true;
			else if (n === 22) this.bold = this.dim = false;
			else if (n === 23) this.italic = false;
			else if (n === 24) this.underline = false;
			else if (n >= 30 && n <= 37) this.fg = n - 30;
			else if (n === 39) this.fg = null;
			else if (n >= 40 && n <= 47) this.bg = n - 40;
			else if (n === 49) this.bg = null;
			else if (n >= 90 && n <= 97) this.fg = n - 90 + 8;
			else if (n >= 100 && n <= 107) this.bg = n - 100 + 8;
			else if (n === 38 || n === 48) {
				// 256-colour (5;n) and truecolour (2;r;g;b): the
				// 16 basic colours map to classes, others are dropped.
				const fg = n === 38;
				if (p[i + 1] === 5) {
					const c = p[i + 2];
					if (c >= 0 && c < 16) {
						if (fg) this.fg = c; else this.bg = c;
					}
					i += 2;
				} else if (p[i + 1] === 2)
					i += 4;
			}
		}
	}
	// Returns the runs of text in str, updating the state.
	feed(str) {
		const runs = [];
		let s = this.pending + str;
		this.pending = "";
		let text = "";
		const flush = () => {
			if (text) {
				runs.push([text, this.classes()]);
				text = "";
			}
		};
		let i = 0;
		while (i < s.length) {
			const ch = s.charCodeAt(i);
			if (ch === 0x1b || ch === 0x9b) {
				const r = this.escape(s, i);
				if (r < 0) { // unfinished: keep for the next chunk
					this.pending = s.slice(i);
					if (this.pending.length > 256) // not an escape worth waiting for
						this.pending = "";
					break;
				}
				if (r.sgr !== undefined) {
					flush();
					this.sgr(r.sgr);
				}
				i = r.end;
				continue;
			}
			// Control bytes other than tab and newline are dropped
			// (CR, BS, BEL ...), as are C1 controls.
			if ((ch < 0x20 && ch !== 0x0a && ch !== 0x09) || ch === 0x7f ||
			    (ch >= 0x80 && ch < 0xa0)) {
				i++;
				continue;
			}
			text += s[i];
			i++;
		}
		flush();
		return runs;
	}
	// s[i] is ESC or CSI: {end, sgr?}, or -1 if the sequence is not complete.
	escape(s, i) {
		let j;
		let csi = false;
		if (s.charCodeAt(i) === 0x9b) {
			csi = true;
			j = i + 1;
		} else {
			if (i + 1 >= s.length)
				return -1;
			const c = s[i + 1];
			if (c === "[") {
				csi = true;
				j = i + 2;
			} else if (c === "]" || c === "P" || c === "X" || c === "^" || c === "_") {
				// OSC, DCS, SOS, PM, APC: up to BEL or ST (ESC \).
				for (j = i + 2; j < s.length; j++) {
					const d = s.charCodeAt(j);
					if (d === 0x07 || d === 0x9c)
						return { end: j + 1 };
					if (d === 0x1b) {
						if (j + 1 >= s.length)
							return -1;
						return { end: s[j + 1] === "\\" ? j + 2 : j + 1 };
					}
				}
				return -1;
			} else {
				// ESC + intermediates (0x20-0x2f) + a final byte.
				for (j = i + 1; j < s.length; j++) {
					const d = s.charCodeAt(j);
					if (d < 0x20 || d > 0x2f)
						return { end: j + 1 };
				}
				return -1;
			}
		}
		// CSI: parameter bytes 0x30-0x3f, intermediates 0x20-0x2f,
		// one final byte 0x40-0x7e.
		const start = j;
		for (; j < s.length; j++) {
			const d = s.charCodeAt(j);
			if (d >= 0x40 && d <= 0x7e) {
				const params = s.slice(start, j);
				if (s[j] === "m" && /^[0-9;:]*$/.test(params))
					return { end: j + 1, sgr: params };
				return { end: j + 1 };
			}
			if (d < 0x20 || d > 0x3f) // not a CSI byte: drop what we have
				return { end: j };
		}
		return csi ? -1 : { end: j };
	}
}

// ---- one job --------------------------------------------------------------

function jobView(id) {
	show("job");
	$("job-id").textContent = id;
	$("job-status").replaceChildren();
	$("job-facts").replaceChildren();
	$("output").replaceChildren();
	$("out-capped").hidden = true;
	$("out-state").textContent = "";
	$("artifacts").replaceChildren();
	$("artifacts-none").hidden = false;
	$("cancel").hidden = true;
	const ctl = new AbortController();	// everything of this view
	const followCtl = new AbortController();	// the follow stream only
	ctl.signal.addEventListener("abort", () => followCtl.abort());
	let stopped = false;
	let timer = null;
	let job = null;
	let shown = 0;
	let capped = false;
	const parsers = { stdout: new AnsiParser(), stderr: new AnsiParser() };

	async function refresh() {
		clearTimeout(timer);
		try {
			job = await api("GET", "/v1/jobs/" + enc(id), { signal: ctl.signal });
		} catch (e) {
			if (stopped)
				return;
			flash(e.status === 404 ? "No such job." : "Cannot load the job: " + e.message);
			return;
		}
		if (stopped)
			return;
		renderJob(job);
		if (!FINAL.has(job.status))
			timer = setTimeout(refresh, JOB_REFRESH_MS);
		else
			loadArtifacts();
	}
	function renderJob(j) {
		$("job-status").replaceChildren(statusBadge(j.status));
		$("cancel").hidden = FINAL.has(j.status);
		const lim = j.limits || {};
		const use = j.usage || {};
		const rows = [
			["Name", j.name],
			["Runtime", j.runtime ? j.runtime.name + " " + j.runtime.version : null],
			["Sandbox", j.sandbox],
			["Exit code", j.exit_code],
			["Signal", j.signal],
			["Timed out", j.timed_out ? "yes" : "no"],
			["Out of memory", j.oom_killed ? "yes" : "no"],
			["Error", j.error],
			["Created", fmtTime(j.created_at)],
			["Started", fmtTime(j.started_at)],
			["Finished", fmtTime(j.finished_at)],
			["Duration", fmtDuration(j.duration_ms)],
			["Limits", `timeout ${lim.timeout} s, memory ${lim.memory_mb} MiB, ` +
				`${lim.cpus} CPU, ${lim.pids} processes, disk ${lim.disk_mb} MiB`],
			["CPU time", use.cpu_ms === null || use.cpu_ms === undefined ? null : fmtDuration(use.cpu_ms)],
			["Peak memory", use.max_rss_kb === null || use.max_rss_kb === undefined ? null : (use.max_rss_kb / 1024).toFixed(1) + " MiB"],
			["Output", (j.log_bytes ?? 0) + " bytes" + (j.log_truncated ? " (cut at the server's cap)" : "")],
		].filter(([k, v]) => v !== null && v !== undefined || ["Exit code", "Started", "Finished"].includes(k));
		facts($("job-facts"), rows);
	}

	function append(stream, data) {
		if (capped)
			return;
		// Output before the page has seen the job start: refresh now
		// rather than at the next tick, so the status is not stale.
		if (job && job.status === "queued" && shown === 0)
			refresh();
		const out = $("output");
		const runs = parsers[stream].feed(data);
		const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
		const frag = document.createDocumentFragment();
		const now = String(Date.now());
		for (const [text, cls] of runs) {
			let t = text;
			if (shown + t.length > OUTPUT_MAX) {
				t = t.slice(0, OUTPUT_MAX - shown);
				capped = true;
			}
			shown += t.length;
			const span = el("span", { class: ("out-" + stream + " " + cls).trim(), "data-t": now });
			span.textContent = t;
			frag.append(span);
			if (capped)
				break;
		}
		out.append(frag);
		if (capped) {
			// Stop reading; the job's status still refreshes.
			$("out-capped").hidden = false;
			$("out-state").textContent = "(capped)";
			followCtl.abort();
		}
		if (stick)
			out.scrollTop = out.scrollHeight;
	}

	// The follow stream: NDJSON lines, resumed with ?after= if it breaks.
	async function follow() {
		let after = 0;
		for (let attempt = 0; attempt < 5 && !stopped && !capped; attempt++) {
			$("out-state").textContent = "(following live)";
			let res;
			try {
				res = await api("GET", `/v1/jobs/${enc(id)}/logs?follow=1&after=${after}`,
					{ signal: followCtl.signal, raw: true });
			} catch (e) {
				if (stopped || capped)
					return;
				$("out-state").textContent = "(cannot follow: " + e.message + ")";
				if (e.status && e.status !== 503)
					return;
				await new Promise((r) => setTimeout(r, 1000));
				continue;
			}
			const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
			let buf = "";
			try {
				for (;;) {
					const { value, done } = await reader.read();
					if (done)
						break;
					buf += value;
					let nl;
					while ((nl = buf.indexOf("\n")) >= 0) {
						const line = buf.slice(0, nl);
						buf = buf.slice(nl + 1);
						if (!line.trim())
							continue;
						let o;
						try {
							o = JSON.parse(line);
						} catch (e) {
							continue;
						}
						if (o.type === "stdout" || o.type === "stderr") {
							if (typeof o.seq === "number")
								after = o.seq;
							append(o.type, String(o.data ?? ""));
						} else if (o.type === "exit") {
							$("out-state").textContent = "(ended: " + String(o.status) + ")";
							refresh();
							return;
						}
					}
				}
			} catch (e) {
				if (stopped || capped)
					return;
			}
		}
		if (!stopped && !capped)
			$("out-state").textContent = "(stream closed)";
	}

	async function loadArtifacts() {
		let r;
		try {
			r = await api("GET", `/v1/jobs/${enc(id)}/artifacts`, { signal: ctl.signal });
		} catch (e) {
			return; // none, expired, or a server without artifacts
		}
		if (stopped)
			return;
		const items = (r.artifacts || []).map((a) => {
			const li = el("li");
			const b = el("button", { type: "button", class: "link" }, String(a.path));
			b.addEventListener("click", () => download(
				`/v1/jobs/${enc(id)}/artifacts/` + String(a.path).split("/").map(enc).join("/"),
				String(a.path).split("/").pop()));
			li.append(b, el("span", { class: "help" }, ` ${a.size} bytes`));
			return li;
		});
		$("artifacts").replaceChildren(...items);
		$("artifacts-none").hidden = items.length !== 0;
		if (r.truncated)
			$("artifacts").append(el("li", { class: "help" }, "(more artifacts than listed)"));
	}

	const onCancel = async () => {
		$("cancel").disabled = true;
		try {
			await api("POST", `/v1/jobs/${enc(id)}/cancel`);
			flash("Cancel requested.");
		} catch (e) {
			flash(e.status === 409 ? "The job had already finished." : "Cannot cancel: " + e.message);
		}
		$("cancel").disabled = false;
		refresh();
	};
	const onStdout = () => download(`/v1/jobs/${enc(id)}/output?stream=stdout`, `${id}.stdout`);
	const onStderr = () => download(`/v1/jobs/${enc(id)}/output?stream=stderr`, `${id}.stderr`);
	$("cancel").addEventListener("click", onCancel);
	$("dl-stdout").addEventListener("click", onStdout);
	$("dl-stderr").addEventListener("click", onStderr);
	refresh();
	follow();
	return () => {
		stopped = true;
		clearTimeout(timer);
		ctl.abort();
		$("cancel").removeEventListener("click", onCancel);
		$("dl-stdout").removeEventListener("click", onStdout);
		$("dl-stderr").removeEventListener("click", onStderr);
	};
}

// A download with the key in a header: fetched into a Blob, saved through
// a blob: URL that lives only for the click.
async function download(path, name) {
	try {
		const res = await api("GET", path, { raw: true });
		const blob = await res.blob();
		const url = URL.createObjectURL(blob);
		const a = el("a", { href: url, download: name || "download" });
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(url), 60000);
		flash(`Saved ${name} (${blob.size} bytes).`);
	} catch (e) {
		flash("Cannot download: " + e.message);
	}
}

// ---- submit ----------------------------------------------------------------

function submitView() {
	show("submit");
	$("submit-error").textContent = "";
	$("f-command").focus();
	return () => {};
}

async function onSubmit(ev) {
	ev.preventDefault();
	const err = $("submit-error");
	err.textContent = "";
	const f = ev.target;
	const command = f.command.value;
	const body = { command };
	const name = f.name.value.trim();
	// The job object has no command field: a job submitted here is named
	// after its command unless the user named it.
	body.name = (name || command.replace(/\s+/g, " ").trim()).slice(0, 200);
	for (const k of ["timeout", "memory_mb", "cpus"]) {
		if (f[k].value !== "")
			body[k] = Number(f[k].value);
	}
	const globs = f.artifacts.value.split("\n").map((s) => s.trim()).filter(Boolean);
	if (globs.length)
		body.artifacts = globs;
	if (f.network.checked)
		body.network = true;
	try {
		const job = await api("POST", "/v1/jobs", { body });
		f.reset();
		location.hash = "#/job/" + job.id;
	} catch (e) {
		err.textContent = e.message;
	}
}

// ---- /v1/me ----------------------------------------------------------------

function meView() {
	show("me");
	let stopped = false;
	api("GET", "/v1/me").then((me) => {
		if (stopped)
			return;
		$("who").textContent = String(me.name);
		const rows = [["Name", me.name]];
		const val = (v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : v);
		for (const [k, v] of Object.entries(me.limits || {}))
			rows.push(["Limit: " + k.replace(/_/g, " "), val(v)]);
		for (const [k, v] of Object.entries(me.usage || {}))
			rows.push(["Usage: " + k.replace(/_/g, " "), val(v)]);
		facts($("me-facts"), rows);
	}).catch((e) => { if (!stopped) flash("Cannot load the account: " + e.message); });
	return () => { stopped = true; };
}

// ---- start -----------------------------------------------------------------

// The view first: on a reload of the list its GET /v1/jobs is the first
// thing the module does (the header's name follows it, see showWho).
route();
$("login-form").addEventListener("submit", onLogin);
$("submit-form").addEventListener("submit", onSubmit);
$("logout").addEventListener("click", () => signOut(""));
window.addEventListener("hashchange", route);
