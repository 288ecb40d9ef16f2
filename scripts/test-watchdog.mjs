// Names what keeps a test file's process alive. node:test runs each file in
// its own process and, past --test-timeout, kills it and reports only
// "test timed out". Before that happens, this watchdog finds any test-file
// process older than `afterSeconds` and prints to stderr: its threads (name,
// state, kernel wait channel), native stacks (when gdb is installed), and the
// JavaScript stack and ref'd libuv handles from a Node diagnostic report
// (the children run with --report-on-signal, see `reportEnv`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLOCK_TICKS = 100;

function stat(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

function descendants(root) {
  const byParent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(stat(d)[1]);
      if (!byParent.has(ppid)) byParent.set(ppid, []);
      byParent.get(ppid).push(Number(d));
    } catch {}
  }
  const out = [];
  const walk = (p) => {
    for (const c of byParent.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

function ageSeconds(pid) {
  const boot = Number(readFileSync('/proc/stat', 'utf8').match(/btime (\d+)/)[1]);
  return Date.now() / 1000 - boot - Number(stat(pid)[19]) / CLOCK_TICKS;
}

function threads(pid) {
  const lines = [];
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      const st = stat(`${pid}/task/${t}`);
      let wchan = '';
      try { wchan = readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8'); } catch {}
      lines.push(`  thread ${t} ${comm} state=${st[0]} utime=${st[11]} stime=${st[12]} wchan=${wchan || '-'}`);
    } catch {}
  }
  return lines.join('\n');
}

function gdbStacks(pid) {
  try {
    return execFileSync('gdb', ['-batch', '-ex', 'thread apply all bt 12', '-p', String(pid)], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    return err.code === 'ENOENT' ? '(gdb not installed)' : `(gdb failed: ${err.message.split('\n')[0]})`;
  }
}

function summariseReport(text) {
  const r = JSON.parse(text);
  const js = r.javascriptStack ?? {};
  const handles = (r.libuv ?? []).filter((h) => h.is_active && h.is_referenced);
  const out = [`  JS: ${js.message ?? ''}`, ...(js.stack ?? []).slice(0, 15).map((l) => `    ${l}`)];
  out.push(`  ref'd active libuv handles: ${handles.length}`);
  for (const h of handles) out.push(`    ${JSON.stringify(h)}`);
  out.push(`  workers: ${(r.workers ?? []).length}`);
  for (const w of r.workers ?? []) {
    const wh = (w.libuv ?? []).filter((h) => h.is_active && h.is_referenced);
    out.push(`    worker ${w.header?.threadId ?? '?'}: JS ${(w.javascriptStack?.stack ?? []).slice(0, 4).join(' | ')}; ref'd handles ${JSON.stringify(wh)}`);
  }
  return out.join('\n');
}

/** Env for the test runner: every Node process writes a report on SIGUSR2 into `dir`. */
export function reportEnv(dir) {
  const prior = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return { ...process.env, NODE_OPTIONS: `${prior}--report-on-signal --report-signal=SIGUSR2 --report-dir=${dir}` };
}

/** Watches the runner `rootPid`'s test-file processes; returns stop(). */
export function startWatchdog(rootPid, { afterSeconds, reportDir, log = (s) => process.stderr.write(s + '\n') }) {
  const seen = new Set();
  const check = () => {
    for (const pid of descendants(rootPid)) {
      if (seen.has(pid)) continue;
      let cmd;
      let age;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        age = ageSeconds(pid);
      } catch {
        continue;
      }
      const file = cmd.find((a) => a.endsWith('.test.ts') || a.endsWith('.test.js'));
      if (!file || age < afterSeconds) continue;
      seen.add(pid);
      log(`\n# watchdog: ${file} (pid ${pid}) still running after ${Math.round(age)} s\n${threads(pid)}\n${gdbStacks(pid)}`);
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {}
      setTimeout(() => {
        try {
          const name = readdirSync(reportDir).find((f) => f.includes(`.${pid}.`));
          if (!name) return log(`# watchdog: pid ${pid} wrote no diagnostic report (its main thread did not answer SIGUSR2)`);
          log(`# watchdog: report of pid ${pid}\n${summariseReport(readFileSync(join(reportDir, name), 'utf8'))}`);
        } catch (err) {
          // The run may have ended and removed the directory meanwhile.
          log(`# watchdog: report of pid ${pid} unreadable: ${err.message}`);
        }
      }, 5000).unref();
    }
  };
  // Linux only (/proc); elsewhere, or on any surprise, it stays silent rather than fail the run.
  const timer = setInterval(() => {
    try {
      check();
    } catch {}
  }, 5000);
  return () => clearInterval(timer);
}

export function makeReportDir() {
  return mkdtempSync(join(tmpdir(), 'fleetssh-test-reports-'));
}

export function removeReportDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}
