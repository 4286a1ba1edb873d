#!/usr/bin/env python3
"""The measurements of `make bench` (tests/bench/README); run by bench.sh, which sets up
Postfix and the fake LLM and passes their ports in the environment (BENCH_*).

Measures, prints a table and writes BENCH_BUILD/bench-results.json. Never asserts a timing:
a figure that misses its target is reported as such. Exits 1, saying why, when something
could not be measured (a program did not start, a variant delivered or recorded fewer
messages than were sent, a milter was skipped by Postfix, a wait ran out).

BENCH_ITEMS (comma-separated: mta,pipe,tokens,ceiling,workers,backlog,bigmail; default all)
runs only some items; BENCH_REPS sets the repetitions (default 3) and BENCH_SCALE scales the
message counts (default 1; 0.2 to try the bench out, not for a report).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

from benchlib import (ASK_PERSON, ASK_PRICE, BIN, DIR, ENV, LLM_PORT, MB, MTA_SIZE, USER,
                      BenchError, Daemon, Process, Results, as_user, busy_since, checkpoint,
                      db_connect, db_value, fill_queue, fresh_dir, llm, llm_pid, log,
                      machine_busy, machine_info, maillog_since, maillog_size, median, message,
                      percentile, pid_cpu, processed_count, ratio, run, smtp_source,
                      wait_delivered, wait_until, write_config, MAILBOX_CONF)

ITEMS = [i for i in ENV.get("BENCH_ITEMS", "mta,pipe,tokens,ceiling,workers,backlog,bigmail")
         .split(",") if i]
REPS = int(ENV.get("BENCH_REPS", "3"))
SCALE = float(ENV.get("BENCH_SCALE", "1"))

MTA_MESSAGES = {s: max(10, int(n * SCALE)) for s, n in ((10, 2000), (1, 500), (50, 500))}
PIPE_MESSAGES = max(10, int(1000 * SCALE))
BACKLOG = max(1000, int(20000 * SCALE))
BACKLOG_LIMIT = 300  # seconds the backlog may take to drain before the run is cut
BIG_BYTES = 25 * MB
# Workers: latency (s) -> (steady window s, warm-up s after the first message done, reps).
WORKER_LATENCIES = {0.0: (4.0, 1.0, REPS), 0.2: (5.0, 1.5, REPS), 1.0: (6.0, 2.5, 2)}
WORKER_CONCURRENCY = [4, 16, 64]
WORKER_QUEUE = max(1000, int(8000 * SCALE))  # queued for each workers run
CEILING_SECONDS = 3.0


# ---- 1. MTA cost ----------------------------------------------------------------------------

class MtaBench:
    """Postfix alone (a), with the accept-only milter (b), with mailtriaged (c) and the LLM
    at 1 s (c_slow) or 0 ms (c_fast), alternated, through four listeners of one Postfix."""

    VARIANTS = ["a", "b", "c_slow", "c_fast"]

    def __init__(self, results):
        self.results = results
        self.accept = None
        self.daemons = {}
        self.accept_sent = 0

    def start(self):
        self.accept = Process("accept_milter", as_user(
            [f"{BIN}/accept_milter", f"inet:{ENV['BENCH_MILTER_ACCEPT']}@127.0.0.1"]),
            os.path.join(DIR, "accept_milter.log"))
        wait_until(10, "the accept-only milter to listen",
                   lambda: "listening" in open(self.accept.log_path).read()
                   or not self.accept.alive())
        for variant, mode, port in (("c_slow", "slow-1", ENV["BENCH_MILTER_SLOW"]),
                                    ("c_fast", "ok", ENV["BENCH_MILTER_FAST"])):
            conf = write_config(variant, os.path.join(DIR, "db", f"{variant}.db"),
                                socket=f"inet:{port}@127.0.0.1", llm=mode)
            self.daemons[variant] = Daemon(
                variant, conf, fresh_dir(os.path.join(DIR, "work", f"sink-{variant}")))
            self.daemons[variant].pause()

    def stop(self, check=True):
        for daemon in self.daemons.values():
            try:
                daemon.stop()
            except BenchError:
                if check:
                    raise
        if self.accept is not None:
            self.accept.stop()
            text = open(self.accept.log_path).read()
            match = re.search(r"messages: (\d+)", text)
            seen = int(match.group(1)) if match else -1
            if check and seen != self.accept_sent:
                raise BenchError(f"the accept-only milter saw {seen} of the "
                                 f"{self.accept_sent} messages sent through it")

    def port(self, variant):
        return ENV[{"a": "BENCH_SMTP_PLAIN", "b": "BENCH_SMTP_ACCEPT",
                    "c_slow": "BENCH_SMTP_SLOW", "c_fast": "BENCH_SMTP_FAST"}[variant]]

    def one_run(self, variant, sessions, count):
        daemon = self.daemons.get(variant)
        database = os.path.join(DIR, "db", f"{variant}.db")
        if daemon:
            daemon.resume()
        rows_before = db_value(database, "SELECT count(*) FROM messages") if daemon else 0
        log_offset = daemon.log_size() if daemon else 0
        mail_offset = maillog_size()
        cpu_daemon = daemon.cpu_seconds() if daemon else 0
        cpu_llm = pid_cpu(llm_pid())
        mark = machine_busy()
        elapsed = smtp_source(self.port(variant), count, sessions, "support@site.test")
        busy = busy_since(mark)
        wait_delivered(mail_offset, "support@site.test", count)
        run_info = {"variant": variant, "sessions": sessions, "messages": count,
                    "seconds": round(elapsed, 3), "rate": round(count / elapsed, 1),
                    "machine_busy": busy}
        if variant == "b":
            self.accept_sent += count
        if daemon:
            rows = db_value(database, "SELECT count(*) FROM messages") - rows_before
            if rows != count:
                raise BenchError(f"{variant}: mailtriaged recorded {rows} of {count} messages")
            text = daemon.log_since(log_offset)
            store = [float(m) for m in re.findall(r"recorded:.*? store_ms=([0-9.]+)", text)]
            run_info["store_ms"] = store
            run_info["daemon_cpu_s"] = round(daemon.cpu_seconds() - cpu_daemon, 2)
            run_info["llm_cpu_s"] = round(pid_cpu(llm_pid()) - cpu_llm, 2)
            run_info["backlog"] = db_value(database, "SELECT count(*) FROM messages WHERE "
                                                     "state IN ('queued', 'working')")
            # Stopped until its next run: its workers, with the backlog they keep, would slow
            # the other variants. They process it whenever their own variant runs.
            daemon.pause()
        return run_info

    def measure(self, sessions_list):
        runs = []
        for rep in range(REPS):
            for sessions in sessions_list:
                for variant in self.VARIANTS:
                    info = self.one_run(variant, sessions, MTA_MESSAGES[sessions])
                    info["rep"] = rep + 1
                    runs.append(info)
                    log(f"  mta rep {rep + 1} sessions {sessions:>2} {variant:<6} "
                        f"{info['rate']:7.1f} msg/s")
        return runs

    def report(self, runs, sessions_list):
        r = self.results
        for sessions in sessions_list:
            count = MTA_MESSAGES[sessions]
            r.section(f"1. MTA cost: {sessions} session(s), {count} messages of {MTA_SIZE} "
                      f"bytes, one per connection, delivered to discard:")
            rate = {}
            for variant in self.VARIANTS:
                rates = [x["rate"] for x in runs
                         if x["variant"] == variant and x["sessions"] == sessions]
                rate[variant] = median(rates)
                label = {"a": "(a) Postfix alone", "b": "(b) accept-only milter",
                         "c_slow": "(c) mailtriaged, LLM at 1 s",
                         "c_fast": "(c) mailtriaged, LLM at 0 ms"}[variant]
                r.add(f"mta.s{sessions}.{variant}.rate", label + " (median)", rate[variant],
                      "msg/s", runs=rates)
            for variant, target in (("c_slow", 0.95), ("c_fast", 0.90)):
                value = ratio(rate[variant], rate["b"])
                latency = "1 s" if variant == "c_slow" else "0 ms"
                met = value >= target if sessions == 10 and value is not None else None
                r.add(f"mta.s{sessions}.{variant}.over_b", f"c/b, LLM at {latency}", value,
                      fmt="{:.3f}", target=f">= {target:.2f}" if sessions == 10 else "",
                      met=met)
                r.add(f"mta.s{sessions}.{variant}.over_a", f"c/a, LLM at {latency}",
                      ratio(rate[variant], rate["a"]), fmt="{:.3f}")
            for variant in ("c_slow", "c_fast"):
                store = [v for x in runs if x["variant"] == variant
                         and x["sessions"] == sessions for v in x.get("store_ms", [])]
                latency = "1 s" if variant == "c_slow" else "0 ms"
                p99 = percentile(store, 0.99)
                r.add(f"mta.s{sessions}.{variant}.store_ms_p50",
                      f"store_ms p50 (end of message to commit), LLM at {latency}",
                      percentile(store, 0.5), "ms", fmt="{:.3f}", samples=len(store))
                r.add(f"mta.s{sessions}.{variant}.store_ms_p99",
                      f"store_ms p99, LLM at {latency}", p99, "ms", fmt="{:.3f}",
                      target="< 2 ms" if sessions == 10 else "",
                      met=(p99 < 2.0) if sessions == 10 and p99 is not None else None,
                      samples=len(store))
        r.note("each mailtriaged is paused (SIGSTOP) while the other variants run; its "
               "workers process their backlog during its own runs")
        if not any(x.get("store_ms") for x in runs):
            r.note("store_ms: this build's 'recorded:' log lines carry no store_ms field (n/a)")


# ---- 2. Pipe intake -------------------------------------------------------------------------

def bench_pipe(results):
    database = os.path.join(DIR, "db", "pipe.db")
    conf = os.path.join(DIR, "pipe.conf")
    with open(conf, "w") as f:
        f.write(f"[daemon]\ndatabase = {database}\nsocket =\nlog_level = info\n\n"
                "[llm]\nprovider = builtin\n" + MAILBOX_CONF.format(mailbox="pipe@site.test"))
    os.chmod(conf, 0o644)
    # One message first, so that the database exists (created by the pipe, as in production)
    # before the rows are counted.
    result = run(as_user([f"{BIN}/mailtriage-pipe", "-c", conf, "-f", "bench@customer.test",
                          "--", "pipe@site.test"]),
                 input=message("warmup", "Pricing question", ASK_PRICE).replace("@N@", "0"))
    if result.returncode != 0:
        raise BenchError(f"mailtriage-pipe: status {result.returncode}: {result.stderr}")
    rates = []
    for rep in range(REPS):
        before = db_value(database, "SELECT count(*) FROM messages")
        mail_offset = maillog_size()
        start = time.monotonic()
        sender = subprocess.Popen(
            ["/usr/sbin/smtp-source", "-s", "10", "-m", str(PIPE_MESSAGES), "-l",
             str(MTA_SIZE), "-f", "bench@customer.test", "-t", "pipe@site.test",
             "-M", "client.customer.test", f"127.0.0.1:{ENV['BENCH_SMTP_PLAIN']}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def stored():
            return db_value(database, "SELECT count(*) FROM messages") - before
        try:
            wait_until(300, f"{PIPE_MESSAGES} rows from mailtriage-pipe",
                       lambda: stored() >= PIPE_MESSAGES)
        except BenchError:
            raise BenchError(f"mailtriage-pipe stored {stored()} of {PIPE_MESSAGES} "
                             f"messages: {maillog_since(mail_offset)[-1500:]}") from None
        elapsed = time.monotonic() - start
        sender.wait(60)
        if sender.returncode != 0:
            raise BenchError(f"smtp-source to the pipe transport: {sender.stderr.read()}")
        wait_delivered(mail_offset, "pipe@site.test", PIPE_MESSAGES)
        rates.append(round(PIPE_MESSAGES / elapsed, 1))
        log(f"  pipe rep {rep + 1} {rates[-1]:7.1f} msg/s")
    results.section(f"2. Pipe intake: {PIPE_MESSAGES} messages through the pipe(8) transport "
                    "(maxproc 10), 10 SMTP sessions, until all rows are stored")
    results.add("pipe.rate", "mailtriage-pipe messages stored (median)", median(rates),
                "msg/s", runs=rates)


# ---- 4. Tokens ------------------------------------------------------------------------------

TOKEN_KINDS = [
    ("answered", "send_info, answered", message("answered", "Pricing question", ASK_PRICE)),
    ("escalated", "speak_to_human, escalated",
     message("escalated", "Please call me", ASK_PERSON)),
    ("auth_fail", "suppressed: SPF and DMARC fail",
     message("authfail", "Pricing question", ASK_PRICE,
             "Authentication-Results: mx.site.test; spf=fail smtp.mailfrom=customer.test;\n"
             " dmarc=fail header.from=customer.test\n")),
    ("interval", "suppressed: reply interval reached (same senders as answered)",
     message("interval", "Pricing question again", ASK_PRICE)),
    ("automatic", "automatic mail (Auto-Submitted): recorded only",
     message("automatic", "Pricing question", ASK_PRICE, "Auto-Submitted: auto-replied\n")),
]
TOKEN_MESSAGES = 20


def bench_tokens(results):
    database = os.path.join(DIR, "db", "tokens.db")
    conf = write_config("tokens", database, concurrency=4, workers=8,
                        policy="trusted_authserv_ids = mx.site.test")
    daemon = Daemon("tokens", conf, fresh_dir(os.path.join(DIR, "work", "sink-tokens")))
    results.section(f"4. Tokens per message as the fake LLM counts them ({TOKEN_MESSAGES} "
                    "messages of each kind, LLM at 0 ms)")
    found = {}
    try:
        total = 0
        for key, label, template in TOKEN_KINDS:
            llm("/stats/reset", "POST")
            # interval: the senders of the answered mail again, so reply_interval holds them
            first = 1 if key == "interval" else total + 1
            fill_queue(conf, TOKEN_MESSAGES, template, first=first)
            total += TOKEN_MESSAGES
            wait_until(60, f"the {key} messages to be processed", lambda: db_value(
                database, "SELECT count(*) FROM messages WHERE state IN ('done', 'failed')")
                >= total, step=0.1)
            stats = llm("/stats")
            actions = db_value(database, f"""SELECT group_concat(k, ', ') FROM (
                SELECT a.kind || ' ' || a.state || ' x' || count(*) AS k FROM actions a
                JOIN messages m ON m.id = a.message
                WHERE m.id > {total - TOKEN_MESSAGES} GROUP BY a.kind, a.state)""")
            per = {name: stats[name] / TOKEN_MESSAGES for name in
                   ("requests", "prompt_tokens", "completion_tokens", "reply_asked")}
            found[key] = per
            results.add(f"tokens.{key}", f"{label} [{actions or 'no action'}]",
                        per["requests"], actions=actions or "none", **per,
                        text=f"{per['requests']:.2f} req {per['prompt_tokens']:.0f}+"
                             f"{per['completion_tokens']:.0f} tok")
    finally:
        daemon.stop()
    results.note("per message: requests, prompt+completion tokens; the request count and "
                 "the completion tokens of escalated and suppressed mail tell whether a model "
                 "wrote a reply that is never sent")
    unanswered = [found[k] for k in ("escalated", "auth_fail", "interval", "automatic")
                  if k in found]
    asked = sum(k["reply_asked"] for k in unanswered) / max(1, len(unanswered))
    spent = sum(k["completion_tokens"] for k in unanswered) / max(1, len(unanswered))
    results.add("tokens.unanswered.reply_asked", "mail never answered: requests asking the "
                "model for a reply text, per message", asked, fmt="{:.2f}", target="0",
                met=asked == 0)
    results.add("tokens.unanswered.completion", "mail never answered: completion tokens per "
                "message", spent, fmt="{:.0f}")
    return found.get("answered")


# ---- 3. Workers -----------------------------------------------------------------------------

def bench_ceiling(results, answered):
    """The fake server alone, at each concurrency, with a request of the daemon's size."""
    chars = int((answered or {}).get("prompt_tokens", 700) * 4)
    body = {"model": "fake-model", "temperature": 0, "max_tokens": 600,
            "messages": [{"role": "system", "content": "x" * (chars // 2)},
                         {"role": "user", "content": ASK_PRICE + " " + "y" * (chars // 2)}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "triage", "strict": True, "schema": {
                    "type": "object", "additionalProperties": False,
                    "required": ["intent", "confidence", "summary", "reply"],
                    "properties": {"intent": {"type": "string", "enum": [
                        "send_info", "create_account", "speak_to_human", "unknown"]},
                        "confidence": {"type": "number"}, "summary": {"type": "string"},
                        "reply": {"type": "string"}}}}}}
    path = os.path.join(DIR, "work", "request.json")
    with open(path, "w") as f:
        json.dump(body, f)
    ceiling = {}
    results.section("3a. The fake LLM server alone (llm_load: kept-alive clients, 0 ms, "
                    f"{CEILING_SECONDS:.0f} s each)")
    for concurrency in WORKER_CONCURRENCY:
        result = run([f"{BIN}/llm_load", f"http://127.0.0.1:{LLM_PORT}/ok/v1/chat/completions",
                      path, str(concurrency), str(CEILING_SECONDS)], timeout=60)
        match = re.search(r"rate=([0-9.]+)", result.stdout)
        if result.returncode != 0 or not match:
            raise BenchError(f"llm_load: {result.stdout} {result.stderr}")
        ceiling[concurrency] = float(match.group(1))
        results.add(f"ceiling.c{concurrency}", f"fake server ceiling, {concurrency} clients",
                    ceiling[concurrency], "req/s", output=result.stdout.strip())
    return ceiling


def steady_rate(samples, warmup, window, tail):
    """Messages per second over at most WINDOW s of SAMPLES ((time, processed) about every
    50 ms), starting WARMUP s after the first message was done and ending before TAIL were
    done. At a high latency the messages finish in bursts (the requests in flight end
    together, in sub-bursts a few ms apart): the window then runs from the end of one long
    quiet spell (no message done for at least half the longest spell seen) to the end of a
    later one, so that whole bursts are counted; in a continuous flow it runs between the
    window's first and last samples. Returns (rate, seconds)."""
    first = next((t for t, n in samples if n > 0), None)
    if first is None:
        return None, 0
    inside = [(t, n) for t, n in samples
              if first + warmup <= t <= first + warmup + window and n <= tail]
    spells = []  # (index of the last quiet sample before a rise, samples it lasted)
    length = 0
    for i in range(1, len(inside) - 1):
        length = length + 1 if inside[i][1] == inside[i - 1][1] else 0
        if inside[i + 1][1] > inside[i][1]:
            spells.append((i, length))
    longest = max((n for _, n in spells), default=0)
    quiet = [inside[i] for i, n in spells if longest >= 2 and n >= longest / 2]
    ends = quiet if len(quiet) >= 2 and quiet[-1][0] - quiet[0][0] >= window / 2 else inside
    if len(ends) < 2 or ends[-1][0] - ends[0][0] < 1.0:
        return None, 0
    (start_t, start_n), (end_t, end_n) = ends[0], ends[-1]
    return (end_n - start_n) / (end_t - start_t), end_t - start_t


def worker_run(queue_db, latency, concurrency):
    window, warmup, _ = WORKER_LATENCIES[latency]
    database = os.path.join(DIR, "work", "workers.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.unlink(database + suffix)
    shutil.copyfile(queue_db, database)
    shutil.chown(database, USER, USER)
    os.chmod(database, 0o600)
    mode = "ok" if latency == 0 else f"slow-{latency:g}"
    conf = write_config("workers", database, llm=mode, concurrency=concurrency,
                        workers=min(256, concurrency + 4))
    sink = fresh_dir(os.path.join(DIR, "work", "sink-workers"))
    llm("/stats/reset", "POST")
    cpu_llm = pid_cpu(llm_pid())
    mark = machine_busy()
    daemon = Daemon("workers", conf, sink)
    samples = []
    try:
        conn = db_connect(database)
        limit = time.monotonic() + 60 + warmup + window
        while time.monotonic() < limit:
            samples.append((time.monotonic(), processed_count(conn)))
            first = next((t for t, n in samples if n > 0), None)
            if samples[-1][1] >= WORKER_QUEUE * 0.9 or (
                    first is not None and samples[-1][0] > first + warmup + window + 0.3):
                break
            time.sleep(0.05)
        stats = llm("/stats")
        conn.close()
    finally:
        daemon.stop()
    rate, span = steady_rate(samples, warmup, window, WORKER_QUEUE * 0.9)
    if rate is None:
        raise BenchError(f"workers at {latency:g} s, max_concurrency {concurrency}: no steady "
                         f"window (processed {samples[-1][1] if samples else 0})")
    failed = db_value(database, "SELECT count(*) FROM messages WHERE state = 'failed'")
    replies = len([n for n in os.listdir(sink) if n.endswith(".eml")])
    done = samples[-1][1]
    return {"latency": latency, "concurrency": concurrency, "rate": round(rate, 1),
            "window_s": round(span, 2), "max_in_flight": stats["max_in_flight"],
            "llm_requests": stats["requests"], "failed": failed, "processed": done,
            "replies_stored": replies, "machine_busy": busy_since(mark),
            "llm_cpu_s": round(pid_cpu(llm_pid()) - cpu_llm, 2)}


def make_queue(name, count):
    """DIR/db/NAME.db: COUNT pricing questions from distinct senders, checkpointed."""
    database = os.path.join(DIR, "db", f"{name}.db")
    conf = write_config("fill", database)
    start = time.monotonic()
    fill_queue(conf, count, message("queue", "Pricing question", ASK_PRICE))
    checkpoint(database)
    log(f"  queue of {count} filled in {time.monotonic() - start:.1f} s")
    return database


def bench_workers(results, queue_db, ceiling):
    runs = []
    reps = max(r for _, _, r in WORKER_LATENCIES.values())
    for rep in range(reps):
        for latency, (_, _, latency_reps) in WORKER_LATENCIES.items():
            if rep >= latency_reps:
                continue
            for concurrency in WORKER_CONCURRENCY:
                info = worker_run(queue_db, latency, concurrency)
                info["rep"] = rep + 1
                runs.append(info)
                log(f"  workers rep {rep + 1} latency {latency:g} s max_concurrency "
                    f"{concurrency:>2}: {info['rate']:7.1f} msg/s, max in flight "
                    f"{info['max_in_flight']}")
    results.section("3. Workers: steady drain of a full queue (pricing questions answered "
                    "through the sink sendmail); workers = max_concurrency + 4")
    best = None
    for latency, (window, _, latency_reps) in WORKER_LATENCIES.items():
        for concurrency in WORKER_CONCURRENCY:
            mine = [x for x in runs if x["latency"] == latency
                    and x["concurrency"] == concurrency]
            rate = median([x["rate"] for x in mine])
            peak = max(x["max_in_flight"] for x in mine)
            over = any(x["max_in_flight"] > concurrency for x in mine)
            name = f"LLM {latency * 1000:g} ms, max_concurrency {concurrency}"
            key = f"workers.l{latency * 1000:g}.c{concurrency}"
            if latency == 0:
                best = max(best or 0, rate)
                bound = ceiling.get(concurrency)
                results.add(key, f"{name}: msg/s", rate, "msg/s", runs=mine,
                            fake_server_ceiling=bound)
                if bound and rate >= 0.8 * bound:
                    results.note(f"{name}: {rate:.0f} msg/s is near the fake server's own "
                                 f"ceiling ({bound:.0f} req/s): the server may be the limit")
            else:
                # The ideal is the LLM kept at its concurrency: max_concurrency / latency
                # requests a second, and a message answered with the model's text takes two
                # (the classification, then the reply).
                per_message = median([x["llm_requests"] / x["processed"] for x in mine
                                      if x["processed"]]) or 1.0
                ideal = concurrency / latency / per_message
                results.add(key, f"{name}: msg/s (ideal {ideal:g} at {per_message:.2f} "
                            f"requests per message)", rate, "msg/s", runs=mine,
                            requests_per_message=round(per_message, 3))
                results.add(key + ".ratio", "  ratio to ideal", ratio(rate, ideal),
                            fmt="{:.3f}", target=">= 0.95", met=ratio(rate, ideal) >= 0.95)
            results.add(key + ".max_in_flight", "  max in flight at the fake server", peak,
                        target=f"<= {concurrency}", met=not over, reached=peak >= concurrency,
                        text=f"{peak} ({'reached' if peak >= concurrency else 'not reached'})")
            if over:
                results.note(f"{name}: VIOLATION, {peak} requests in flight")
            failed = sum(x["failed"] for x in mine)
            if failed:
                results.note(f"{name}: {failed} messages failed")
        results.note(f"LLM {latency * 1000:g} ms: {latency_reps} repetitions, steady windows "
                     f"of up to {window:g} s")
    results.add("workers.end_to_end", "end to end at 0 ms (claim to inject), best",
                best, "msg/s", target=">= 1000", met=best is not None and best >= 1000)
    return runs


# ---- 5. Backlog -----------------------------------------------------------------------------

def bench_backlog(results, queue_db):
    """Drain a copy of QUEUE_DB with the default workers; cut after BACKLOG_LIMIT s (the
    drain time is then projected from the rate so far, and says so)."""
    database = os.path.join(DIR, "work", "backlog.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(database + suffix):
            os.unlink(database + suffix)
    shutil.copyfile(queue_db, database)
    shutil.chown(database, USER, USER)
    os.chmod(database, 0o600)
    queued_size = os.path.getsize(database)
    conf = write_config("backlog", database)
    start = time.monotonic()
    daemon = Daemon("backlog", conf, fresh_dir(os.path.join(DIR, "work", "sink-backlog")))
    rss = done = 0
    try:
        conn = db_connect(database)
        while done < BACKLOG and time.monotonic() < start + BACKLOG_LIMIT:
            if not daemon.alive():
                raise BenchError(f"mailtriaged died draining the backlog: "
                                 f"{daemon.log_since(0)[-1500:]}")
            rss = max(rss, daemon.status_kb("VmRSS"))
            time.sleep(0.2)
            done = processed_count(conn)
        elapsed = time.monotonic() - start
        conn.close()
        hwm = daemon.status_kb("VmHWM")
    finally:
        daemon.stop()
    if done == 0:
        raise BenchError(f"no message of the backlog was processed in {BACKLOG_LIMIT} s")
    checkpoint(database)
    rows = db_value(database, "SELECT count(*) FROM messages")
    results.section(f"5. Backlog: {BACKLOG} queued messages, LLM at 0 ms, the default workers "
                    "and max_concurrency (4 and 4)")
    if done >= BACKLOG:
        results.add("backlog.drain_s", "time to drain (daemon start to the last one done)",
                    elapsed, "s", drained=True)
    else:
        results.add("backlog.drain_s", f"time to drain, projected (cut after {BACKLOG_LIMIT} "
                    f"s, {done} done)", BACKLOG * elapsed / done, "s", drained=False,
                    processed=done)
    results.add("backlog.rate", "  drain rate", done / elapsed, "msg/s")
    results.add("backlog.vmhwm_mb", "mailtriaged peak RSS (VmHWM)", hwm / 1024, "MB",
                target="< 64 MB", met=hwm / 1024 < 64, vmrss_sampled_max_kb=rss)
    results.add("backlog.bytes_queued", "database bytes per message, queued",
                queued_size / BACKLOG, "B", fmt="{:.0f}")
    results.add("backlog.bytes_after", f"database bytes per message after the run ({done} "
                "processed)", os.path.getsize(database) / rows, "B", fmt="{:.0f}", rows=rows)


# ---- 6. Big mail ----------------------------------------------------------------------------

def big_message(path):
    line = "This line is filler of a very large message, kept to measure memory. 0123456789\n"
    with open(path, "w") as f:
        f.write("From: Big <big@customer.test>\nTo: support@site.test\nSubject: Big one\n"
                "Message-ID: <big-1@customer.test>\n\n")
        written = 0
        while written < BIG_BYTES:
            f.write(line)
            written += len(line)
    os.chmod(path, 0o644)


def bench_bigmail(results):
    results.section("6. Big mail: one 25 MB message (max_message_size = 32M)")
    database = os.path.join(DIR, "db", "big.db")
    conf = write_config("big", database, socket=f"inet:{ENV['BENCH_MILTER_FAST']}@127.0.0.1",
                        daemon_extra="max_message_size = 32M")
    daemon = Daemon("big", conf, fresh_dir(os.path.join(DIR, "work", "sink-big")))
    try:
        before = daemon.status_kb("VmHWM")
        mail_offset = maillog_size()
        smtp_source(ENV["BENCH_SMTP_FAST"], 1, 1, "support@site.test", size=BIG_BYTES)
        wait_delivered(mail_offset, "support@site.test", 1, seconds=120)
        wait_until(30, "the big message's row",
                   lambda: db_value(database, "SELECT count(*) FROM messages") == 1)
        recorded = daemon.status_kb("VmHWM")
        wait_until(120, "the big message to be processed", lambda: db_value(
            database, "SELECT count(*) FROM messages WHERE state IN ('done', 'failed')") == 1,
            step=0.2)
        processed = daemon.status_kb("VmHWM")
        size = db_value(database, "SELECT size FROM messages")
    finally:
        daemon.stop()
    copies = (recorded - before) * 1024 / size
    results.add("big.milter.before_mb", "mailtriaged VmHWM before", before / 1024, "MB")
    results.add("big.milter.recorded_mb", "  after the milter recorded it", recorded / 1024,
                "MB")
    results.add("big.milter.copies", "  milter intake: copies of the message held",
                copies, fmt="{:.2f}", target="<= 2", met=copies <= 2, message_bytes=size)
    processed_copies = (processed - before) * 1024 / size
    results.add("big.worker.processed_mb", "  after a worker processed it", processed / 1024,
                "MB")
    results.add("big.worker.copies", "  intake and processing: copies held",
                processed_copies, fmt="{:.2f}", target="<= 2", met=processed_copies <= 2)

    path = os.path.join(DIR, "work", "big.eml")
    big_message(path)
    pipe_conf = write_config("bigpipe", os.path.join(DIR, "db", "bigpipe.db"),
                             daemon_extra="max_message_size = 32M")
    small = os.path.join(DIR, "work", "small.eml")
    with open(small, "w") as f:
        f.write(message("small", "Pricing question", ASK_PRICE).replace("@N@", "1"))
    os.chmod(small, 0o644)
    peak = {}
    for name, source in (("small", small), ("big", path)):
        out = os.path.join(DIR, "work", f"time-{name}")
        with open(source, "rb") as stdin:
            result = subprocess.run(as_user(
                ["/usr/bin/time", "-f", "%M", "-o", out, f"{BIN}/mailtriage-pipe", "-c",
                 pipe_conf, "-f", "big@customer.test", "--", "support@site.test"]),
                stdin=stdin, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise BenchError(f"mailtriage-pipe with the {name} message: status "
                             f"{result.returncode}: {result.stderr[-500:]}")
        peak[name] = int(open(out).read().split()[-1])
    big_size = os.path.getsize(path)
    pipe_copies = (peak["big"] - peak["small"]) * 1024 / big_size
    results.add("big.pipe.small_mb", "mailtriage-pipe max RSS, a 2 kB message",
                peak["small"] / 1024, "MB")
    results.add("big.pipe.big_mb", "mailtriage-pipe max RSS, the 25 MB message",
                peak["big"] / 1024, "MB")
    results.add("big.pipe.copies", "  copies of the message held", pipe_copies,
                fmt="{:.2f}", target="<= 2", met=pipe_copies <= 2)


# ---- main -----------------------------------------------------------------------------------

def main():
    began = time.monotonic()
    results = Results()
    machine = machine_info()
    log("mailtriage bench: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    answered, ceiling = None, {}
    sessions_list = [10, 1, 50]
    try:
        if "mta" in ITEMS:
            mta = MtaBench(results)
            try:
                mta.start()
                runs = mta.measure(sessions_list)
            except BaseException:
                mta.stop(check=False)
                raise
            mta.stop()
            mta.report(runs, sessions_list)
            results.figures["mta.runs"] = runs
        if "pipe" in ITEMS:
            bench_pipe(results)
        if "tokens" in ITEMS:
            answered = bench_tokens(results)
        if "ceiling" in ITEMS or "workers" in ITEMS:
            ceiling = bench_ceiling(results, answered)
        if "workers" in ITEMS:
            bench_workers(results, make_queue("workers-queue", WORKER_QUEUE), ceiling)
        if "backlog" in ITEMS:
            bench_backlog(results, make_queue("backlog-queue", BACKLOG))
        if "bigmail" in ITEMS:
            bench_bigmail(results)
    except BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        return 1
    machine["load_average_end"] = open("/proc/loadavg").read().split()[:3]
    wall = time.monotonic() - began
    header = [
        f"mailtriage bench, commit {machine['commit']}, {time.strftime('%Y-%m-%d %H:%M %Z')}",
        f"machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_mb']} MB, "
        f"kernel {machine['kernel']}, disk {machine['disk']}",
        f"Postfix {machine['postfix']}, SQLite {machine['sqlite']}, sanitizers "
        f"{machine['sanitizers']}; load average {' '.join(machine['load_average_start'])} at "
        f"the start, {' '.join(machine['load_average_end'])} at the end (other builds on the "
        "machine make figures noisy; the variants alternate, so the ratios stay fair)",
        f"medians of {REPS} repetitions unless said; the measurements took {wall:.0f} s",
    ]
    print("\n" + "\n".join(header) + "\n" + results.table() + "\n")
    out = os.path.join(ENV["BENCH_BUILD"], "bench-results.json")
    with open(out, "w") as f:
        json.dump({"machine": machine, "wall_seconds": round(wall, 1), "repetitions": REPS,
                   "figures": results.figures, "notes": results.notes}, f, indent=1)
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
