"""Shared by the items of tests/bench/bench.py: the processes it starts (mailtriaged as the
user mailtriage, stopped, paused and resumed; the accept-only milter), the configuration it
writes, the fake LLM's counters, the private Postfix's queue and log, the statistics, the
results table and the description of the machine. Reads the environment bench.sh sets.
"""

import json
import os
import re
import shutil
import signal
import statistics
import sqlite3
import subprocess
import time
import urllib.request

ENV = os.environ
DIR = ENV["BENCH_DIR"]
BIN = os.path.join(DIR, "bin")
PF_DIR = ENV["PF_DIR"]
USER = "mailtriage"
LLM_PORT = int(ENV["BENCH_LLM_PORT"])
MTA_SIZE = 2048  # bytes of each benchmark message (smtp-source -l)
MB = 1024 * 1024


class BenchError(Exception):
    """Something could not be measured: the bench fails with this message."""


def log(text):
    print(text, flush=True)


# ---- processes ------------------------------------------------------------------------------

def as_user(argv):
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups", "--"] + argv


def run(argv, timeout=120, **kw):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{argv[0]} did not finish within {timeout} s") from None


def wait_until(seconds, what, predicate, step=0.05):
    """Bounded wait for predicate(); BenchError naming WHAT when it runs out."""
    deadline = time.monotonic() + seconds
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise BenchError(f"waited {seconds:.0f} s for {what}")
        time.sleep(step)


class Process:
    """A child started by the bench, with its pid in DIR/pids for bench.sh's cleanup."""

    def __init__(self, name, argv, log_path, env=None):
        self.name, self.log_path = name, log_path
        self.log_file = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env)
        self.pid = self.popen.pid
        with open(os.path.join(DIR, "pids", name), "w") as f:
            f.write(f"{self.pid}\n")

    def alive(self):
        return self.popen.poll() is None

    def pause(self):
        """SIGSTOP: no CPU, no I/O while other variants are measured."""
        self.popen.send_signal(signal.SIGSTOP)

    def resume(self):
        self.popen.send_signal(signal.SIGCONT)

    def stop(self, seconds=30):
        if self.alive():
            self.resume()
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(seconds)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self.log_file.close()
        try:
            os.unlink(os.path.join(DIR, "pids", self.name))
        except OSError:
            pass
        return self.popen.returncode

    def status_kb(self, field):
        """VmHWM, VmRSS ... of the running process, in kB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise BenchError(f"{self.name}: no {field} in /proc/{self.pid}/status")

    def cpu_seconds(self):
        """User and system time of the process and its reaped children (sendmail)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def log_size(self):
        self.log_file.flush()
        return os.path.getsize(self.log_path)

    def log_since(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


def machine_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busy_since(mark):
    busy, total = machine_busy()
    return round((busy - mark[0]) / max(1, total - mark[1]), 3)


# ---- mailtriage -----------------------------------------------------------------------------

MAILBOX_CONF = """
[mailbox {mailbox}]
name = Site Support
escalate_to = human@site.test

[intent send_info]
action = reply
"""


def write_config(name, database, socket="", llm="ok", workers=None, concurrency=None,
                 daemon_extra="", policy=""):
    """DIR/NAME.conf: log_level info, busy_timeout at its default, the sink as sendmail."""
    lines = ["[daemon]", f"database = {database}", f"socket = {socket}", "log_level = info",
             "hostname = mt.site.test"]
    if workers:
        lines.append(f"workers = {workers}")
    lines += [daemon_extra, "", "[llm]", "provider = openai",
              f"url = http://127.0.0.1:{LLM_PORT}/{llm}/v1", "model = fake-model"]
    if concurrency:
        lines.append(f"max_concurrency = {concurrency}")
    lines += ["", "[sendmail]", f"path = {BIN}/sink_sendmail", "", "[policy]", policy]
    text = "\n".join(lines) + "\n" + MAILBOX_CONF.format(mailbox="support@site.test")
    path = os.path.join(DIR, f"{name}.conf")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    shutil.chown(path, USER, USER)
    return path


class Daemon(Process):
    """mailtriaged -f as the user mailtriage, its replies stored by the sink."""

    def __init__(self, name, conf, sink_dir):
        env = {"PATH": "/usr/bin:/bin", "MAILTRIAGE_SINK_DIR": sink_dir}
        log_path = os.path.join(DIR, f"{name}.log")
        super().__init__(name, as_user([f"{BIN}/mailtriaged", "-f", "-c", conf]), log_path, env)
        self.sink_dir = sink_dir
        try:
            wait_until(20, f"{name} to log 'workers started'",
                       lambda: "workers started" in self.log_since(0) or not self.alive())
        except BenchError:
            self.stop()
            raise
        if not self.alive():
            raise BenchError(f"{name} exited at start: {self.log_since(0)[-2000:]}")

    def stop(self, seconds=30):
        status = super().stop(seconds)
        if status not in (0, None):
            raise BenchError(f"{self.name} exited with status {status}: "
                             f"{self.log_since(0)[-1500:]}")
        return status


def db_connect(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def db_value(path, sql):
    conn = db_connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def processed_count(conn):
    return conn.execute("SELECT count(*) FROM messages WHERE state IN ('done', 'failed')"
                        ).fetchone()[0]


def checkpoint(path):
    result = run(as_user(["sqlite3", path, "PRAGMA wal_checkpoint(TRUNCATE);"]))
    if result.returncode != 0:
        raise BenchError(f"checkpoint of {path}: {result.stderr}")


def fill_queue(conf, count, template, first=1):
    path = os.path.join(DIR, "work", f"template-{first}-{count}.eml")
    with open(path, "w") as f:
        f.write(template)
    os.chmod(path, 0o644)
    result = run(as_user([f"{BIN}/fill_queue", "-c", conf, "-n", str(count), "-s", str(first),
                          "-f", "bench@N@@customer.test", "-r", "support@site.test", path]),
                 timeout=600)
    if result.returncode != 0:
        raise BenchError(f"fill_queue: {result.stderr.strip()}")


def message(tag, subject, text, headers="", size=MTA_SIZE):
    """A template for fill_queue, about SIZE bytes, padded with neutral text (no keyword of
    the fake LLM's intents); its Message-ID is <TAG-N@customer.test>."""
    head = (f"From: Customer @N@ <bench@N@@customer.test>\nTo: support@site.test\n"
            f"Subject: {subject}\nMessage-ID: <{tag}-@N@@customer.test>\nDate: Tue, 01 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=utf-8\n{headers}\n{text}\n\n")
    filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n"
    body = head
    while len(body) + len(filler) < size:
        body += filler
    return body


ASK_PRICE = "Hello, what is the price of your plans for five users?"
ASK_PERSON = "Hello, could someone call me? I would like to speak to a person about this."


# ---- the fake LLM and Postfix ---------------------------------------------------------------

def llm(path, method="GET"):
    request = urllib.request.Request(f"http://127.0.0.1:{LLM_PORT}{path}", method=method,
                                     data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def llm_pid():
    with open(os.path.join(DIR, "llm", "pid")) as f:
        return int(f.read())


def pid_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def postfix_queue_files():
    count = 0
    for queue in ("incoming", "active", "deferred", "maildrop", "hold"):
        for _, _, files in os.walk(os.path.join(PF_DIR, "spool", queue)):
            count += len(files)
    return count


def maillog_size():
    return os.path.getsize(os.path.join(PF_DIR, "maillog"))


def maillog_since(offset):
    with open(os.path.join(PF_DIR, "maillog"), "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def smtp_source(port, count, sessions, rcpt, size=MTA_SIZE, sender="bench@customer.test"):
    """Send COUNT messages, one per connection; smtp-source's wall time in seconds."""
    argv = ["/usr/sbin/smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", sender, "-t", rcpt, "-M", "client.customer.test", f"127.0.0.1:{port}"]
    start = time.monotonic()
    result = run(argv, timeout=600)
    elapsed = time.monotonic() - start
    if result.returncode != 0 or "fatal" in result.stderr:
        raise BenchError(f"smtp-source to port {port}: status {result.returncode}: "
                         f"{result.stderr.strip()[:500]}")
    return elapsed


def wait_delivered(offset, rcpt, count, seconds=180):
    """Bounded wait until Postfix has delivered COUNT messages to RCPT since OFFSET."""
    pattern = f"to=<{rcpt}>"

    def delivered():
        return sum(1 for line in maillog_since(offset).splitlines()
                   if pattern in line and "status=sent" in line)
    try:
        wait_until(seconds, f"Postfix to deliver {count} messages to {rcpt}",
                   lambda: delivered() >= count and postfix_queue_files() == 0, step=0.2)
    except BenchError:
        raise BenchError(f"Postfix delivered {delivered()} of {count} messages to {rcpt} "
                         f"({postfix_queue_files()} queue files left)") from None
    text = maillog_since(offset)
    skipped = [line for line in text.splitlines()
               if "milter" in line and ("warning" in line or "error" in line)]
    if skipped:
        raise BenchError("Postfix skipped a milter (milter_default_action = accept), so "
                         f"the run measured nothing: {skipped[0]}")


# ---- statistics and results -----------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else None


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[index]


def ratio(a, b):
    return a / b if a is not None and b else None


class Results:
    def __init__(self):
        self.rows = []      # (section, label, value text, target text, verdict)
        self.figures = {}   # id -> dict, for the JSON
        self.notes = []

    def section(self, title):
        self.rows.append((title, None, None, None, None))

    def add(self, key, label, value, unit="", fmt="{:.1f}", target="", met=None, text=None,
            **detail):
        if text is None:
            text = "n/a" if value is None else (fmt.format(value) + (f" {unit}" if unit else ""))
        verdict = "n/a" if met is None else ("met" if met else "NOT MET")
        self.rows.append(("", label, text, target, verdict))
        self.figures[key] = {"label": label, "value": value, "unit": unit, "target": target,
                             "met": met, **detail}

    def note(self, text):
        self.notes.append(text)
        self.rows.append(("", "  note: " + text, None, None, None))

    def table(self):
        width = max([len(r[1]) for r in self.rows if r[1] and r[2] is not None] + [40])
        out = []
        for section, label, value, target, verdict in self.rows:
            if section:
                out.append("")
                out.append(section)
            elif value is None:
                out.append(label)
            else:
                line = f"  {label:<{width}}  {value:>14}"
                if target:
                    line += f"   target {target}: {verdict}"
                out.append(line)
        return "\n".join(out)


# ---- the machine ----------------------------------------------------------------------------

def first_line(argv):
    try:
        return run(argv, timeout=20).stdout.strip().splitlines()[0]
    except (IndexError, OSError, BenchError):
        return "unknown"


def machine_info():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    source = first_line(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", DIR])
    device = os.path.basename(source.split()[0]) if source != "unknown" else ""
    rotational = "unknown"
    try:
        with open(f"/sys/block/{re.sub(r'[0-9]+$', '', device)}/queue/rotational") as f:
            rotational = "rotational" if f.read().strip() == "1" else "non-rotational"
    except OSError:
        pass
    commit = first_line(["git", "-C", ENV["BENCH_SRC"], "describe", "--always", "--dirty",
                         "--abbrev=12"])
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release,
        "memory_mb": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // MB,
        "disk": f"{source} ({rotational})",
        "postfix": first_line(["postconf", "-h", "-d", "mail_version"]),
        "sqlite": sqlite3.sqlite_version,
        "commit": commit, "sanitizers": ENV.get("BENCH_SANITIZED", "no"),
        "load_average_start": open("/proc/loadavg").read().split()[:3],
    }
