"""Process harness for the conformance suite: moto, the emulator and the gateway as child
processes on free ports, with their output captured to files and read by threads.

Readiness and audit records are waited for as events (a line read from the child's output, an
HTTP answer), each with a bounded deadline; nothing sleeps a fixed time to synchronise.
"""

import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JAR = ROOT / "target" / "sagegate.jar"
START_TIMEOUT = 90  # seconds: JVMs on a loaded 2-core machine start slowly


class HarnessError(RuntimeError):
    pass


def _die_with_parent():
    """In the child before exec (Linux): SIGTERM when the process that started it dies, so a
    killed test run (timeout, SIGKILL) never leaves moto, the emulator or a gateway behind."""
    try:
        import ctypes
        import signal as _signal
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, int(_signal.SIGTERM))
    except (OSError, AttributeError):
        pass  # not Linux: the session-end cleanup still stops the children


class Child:
    """A child process whose stdout and stderr are each pumped to a log file by a thread; each
    line is also offered to an optional callback (readiness lines, audit records)."""

    def __init__(self, name, argv, log_dir, env=None, on_stdout=None, on_stderr=None):
        self.name = name
        self.stdout_path = Path(log_dir) / f"{name}.stdout.log"
        self.stderr_path = Path(log_dir) / f"{name}.stderr.log"
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            env=full_env, cwd=str(ROOT), preexec_fn=_die_with_parent)
        self._threads = [
            self._pump(self.proc.stdout, self.stdout_path, on_stdout),
            self._pump(self.proc.stderr, self.stderr_path, on_stderr),
        ]

    def _pump(self, stream, path, callback):
        def run():
            with open(path, "w", encoding="utf-8", errors="replace") as out:
                for raw in iter(stream.readline, b""):
                    line = raw.decode("utf-8", errors="replace")
                    out.write(line)
                    out.flush()
                    if callback is not None:
                        callback(line.rstrip("\n"))
        t = threading.Thread(target=run, name=f"{self.name}-pump", daemon=True)
        t.start()
        return t

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        for t in self._threads:
            t.join(timeout=5)

    def logs(self, max_chars=6000):
        parts = []
        for p in (self.stderr_path, self.stdout_path):
            if p.exists():
                text = p.read_text(errors="replace")
                if len(text) > max_chars:
                    text = "...\n" + text[-max_chars:]
                parts.append(f"----- {p.name} -----\n{text}")
        return "\n".join(parts)


class LineWaiter:
    """Collects the first match of each pattern from lines; wait() blocks until all matched."""

    def __init__(self, patterns):
        self._patterns = {k: re.compile(v) for k, v in patterns.items()}
        self.values = {}
        self._cond = threading.Condition()

    def feed(self, line):
        with self._cond:
            for key, pattern in self._patterns.items():
                m = pattern.search(line)
                if m and key not in self.values:
                    self.values[key] = m.group(1)
                    self._cond.notify_all()

    def wait(self, child, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.values) < len(self._patterns):
                if not child.alive():
                    raise HarnessError(f"{child.name} exited with {child.proc.returncode} before"
                                       f" it was ready\n{child.logs()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HarnessError(f"{child.name} not ready within {timeout}s\n{child.logs()}")
                # Wakes on the next matching line; the short bound only re-checks the process.
                self._cond.wait(timeout=min(remaining, 1.0))
        return dict(self.values)


class AuditLog:
    """The gateway's audit records (JSON lines on its stdout), indexed by request id."""

    def __init__(self):
        self._records = {}
        self._cond = threading.Condition()

    def feed(self, line):
        try:
            record = json.loads(line)
        except ValueError:
            return
        if isinstance(record, dict) and "requestId" in record:
            with self._cond:
                self._records[record["requestId"]] = record
                self._cond.notify_all()

    def record(self, request_id, timeout=20):
        """The audit record of one request, waiting (bounded) for the gateway to write it."""
        with self._cond:
            if not self._cond.wait_for(lambda: request_id in self._records, timeout=timeout):
                raise AssertionError(f"no audit record for request {request_id} within {timeout}s")
            return self._records[request_id]


def http_status(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def poll_until_ok(url, child, timeout=START_TIMEOUT):
    """Bounded readiness poll: GET url until 200 (or the child dies or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        if child is not None and not child.alive():
            raise HarnessError(f"{child.name} exited with {child.proc.returncode}\n{child.logs()}")
        if http_status(url) == 200:
            return
        if time.monotonic() > deadline:
            raise HarnessError(f"{url} not ready within {timeout}s"
                               + (f"\n{child.logs()}" if child else ""))
        time.sleep(0.2)  # readiness polling interval (bounded loop), not synchronisation


def start_moto(log_dir):
    """moto_server on a free port: it binds port 0 itself and prints the URL it runs on."""
    ready = LineWaiter({"url": r"Running on (http://[\d.]+:\d+)"})
    child = Child("moto", ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
                  log_dir, on_stdout=ready.feed, on_stderr=ready.feed)
    try:
        url = ready.wait(child)["url"]
        poll_until_ok(url + "/moto-api/", child)
    except Exception:
        child.stop()
        raise
    return child, url


def java_classpath():
    cp_file = ROOT / "target" / "conformance-classpath.txt"
    if not cp_file.exists():
        subprocess.run(
            ["mvn", "-o", "-q", "dependency:build-classpath",
             f"-Dmdep.outputFile={cp_file}", "-Dmdep.includeScope=test"],
            cwd=str(ROOT), check=True, timeout=300)
    deps = cp_file.read_text().strip()
    return os.pathsep.join([str(ROOT / "target" / "test-classes"), str(ROOT / "target" / "classes"), deps])


def start_emulator(log_dir, scenario):
    path = Path(log_dir) / "emulator-scenario.json"
    path.write_text(json.dumps(scenario, indent=2))
    ready = LineWaiter({"port": r"^EMULATOR_PORT=(\d+)$", "inspect": r"^INSPECT_PORT=(\d+)$"})
    child = Child("emulator",
                  ["java", "-cp", java_classpath(), "io.sagegate.testsupport.aws.EmulatorMain",
                   "--port", "0", "--scenario", str(path)],
                  log_dir, on_stdout=ready.feed)
    try:
        ports = ready.wait(child)
    except Exception:
        child.stop()
        raise
    return child, f"http://127.0.0.1:{ports['port']}", f"http://127.0.0.1:{ports['inspect']}"


def token(key_dir, sub, groups):
    argv = ["java", "-jar", str(JAR), "token", "--sub", sub, "--key-dir", str(key_dir)]
    if groups:
        argv += ["--groups", ",".join(groups)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    if out.returncode != 0:
        raise HarnessError(f"token command failed ({out.returncode}): {out.stderr}")
    lines = [l.strip() for l in out.stdout.splitlines() if l.strip()]
    if not lines:
        raise HarnessError(f"token command printed no token: {out.stderr}")
    return lines[-1]


class Gateway:
    def __init__(self, child, url, management_url, audit):
        self.child = child
        self.url = url
        self.management_url = management_url
        self.audit = audit


def start_gateway(name, log_dir, config_text, key_dir, env, port=0, management_port=0,
                  echo_audit=False):
    cfg = Path(log_dir) / f"{name}.yaml"
    cfg.write_text(config_text)
    audit = AuditLog()
    on_stdout = audit.feed
    if echo_audit:
        def on_stdout(line):
            print(f"audit: {line}", flush=True)
            audit.feed(line)
    ready = LineWaiter({
        "port": r"serving on http://localhost:(\d+)",
        "management": r"management: http://localhost:(\d+)",
    })
    child = Child(name,
                  ["java", "-jar", str(JAR), "serve", "--config", str(cfg), "--key-dir", str(key_dir),
                   "--port", str(port), "--management-port", str(management_port)],
                  log_dir, env=env, on_stdout=on_stdout, on_stderr=ready.feed)
    try:
        ports = ready.wait(child)
        management = f"http://127.0.0.1:{ports['management']}"
        poll_until_ok(management + "/readyz", child)
    except Exception:
        child.stop()
        raise
    return Gateway(child, f"http://127.0.0.1:{ports['port']}", management, audit)
