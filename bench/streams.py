"""Helpers for bench/streams.sh (python3 standard library only, asyncio).

  streams.py model PORT CHUNK_INTERVAL_S HOLD_S BODY_DELAY_MS
      A slow model speaking the container contract on 127.0.0.1:PORT. GET /ping answers 200.
      POST /invocations with "stream": true in its body answers 200 chunked and sends one small
      JSON chunk every CHUNK_INTERVAL_S, ending after HOLD_S; any other POST reads the whole body
      and answers {"bytes": N} after BODY_DELAY_MS.
  streams.py streams URL TOKEN N OPEN_TIMEOUT_S HOLD_S
      Opens N concurrent response streams (POST URL), waits for each one's head and first chunk,
      prints "OPEN ok=N failed=M seconds=S" once all have settled, keeps them open (reading) for
      at most HOLD_S, then closes them and prints "DONE".
  streams.py bodies URL TOKEN N BYTES TIMEOUT_S
      N concurrent POSTs of a BYTES body; prints "BODIES ok=N statuses={...} seconds=S".
"""
import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


def model(port, interval, hold, body_delay_ms):
    async def handle(reader, writer):
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method = lines[0].split(" ")[0]
                length = 0
                for l in lines[1:]:
                    if l.lower().startswith("content-length:"):
                        length = int(l.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                if method == "GET":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
                                 b'{"status":"ok"}')
                    await writer.drain()
                    continue
                if b'"stream":true' in body.replace(b" ", b""):
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                    end = time.monotonic() + hold
                    i = 0
                    while time.monotonic() < end:
                        chunk = b'{"token":"w%d"}\n' % i
                        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        await writer.drain()
                        i += 1
                        await asyncio.sleep(interval)
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    continue
                await asyncio.sleep(body_delay_ms / 1000.0)
                answer = json.dumps({"bytes": len(body)}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(answer), answer))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=8192, limit=1 << 16)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def request_bytes(url, token, body):
    u = urlsplit(url)
    return (("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n")
            % (u.path, u.netloc, token, len(body))).encode() + body


def streams(url, token, n, open_timeout, hold):
    u = urlsplit(url)
    req = request_bytes(url, token, b'{"text":"great product","stream":true}')
    opened = asyncio.Event()
    state = {"ok": 0, "failed": 0, "settled": 0, "errors": {}}

    async def one(stop):
        writer = None
        try:
            reader, writer = await asyncio.open_connection(u.hostname, u.port)
            writer.write(req)
            await writer.drain()
            status, _ = await read_head(reader)
            if status != 200:
                raise RuntimeError("status %d" % status)
            first = await reader.read(1024)
            if not first:
                raise RuntimeError("closed before the first chunk")
            state["ok"] += 1
        except Exception as e:  # noqa: BLE001 - counted and named in the summary
            state["failed"] += 1
            key = type(e).__name__ + ": " + str(e)[:60]
            state["errors"][key] = state["errors"].get(key, 0) + 1
            if writer:
                writer.close()
            return
        finally:
            state["settled"] += 1
            if state["settled"] == n:
                opened.set()
        try:
            while not stop.is_set() and await reader.read(65536):
                pass  # the model's chunks, read as they come until the end or the stop
        finally:
            writer.close()

    async def main():
        stop = asyncio.Event()
        t0 = time.monotonic()
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(one(stop)))
            if i % 100 == 99:
                await asyncio.sleep(0.05)  # do not flood the accept backlog at once
        try:
            await asyncio.wait_for(opened.wait(), open_timeout)
        except asyncio.TimeoutError:
            pass
        print("OPEN ok=%d failed=%d pending=%d seconds=%.1f errors=%s" % (
            state["ok"], state["failed"], n - state["settled"], time.monotonic() - t0,
            json.dumps(state["errors"])), flush=True)
        await asyncio.sleep(hold)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        print("DONE", flush=True)

    asyncio.run(main())


def bodies(url, token, n, size, timeout):
    u = urlsplit(url)
    prefix = b'{"text":"'
    body = prefix + b"x" * (size - len(prefix) - 2) + b'"}'
    req = request_bytes(url, token, body)
    statuses = {}

    async def one():
        try:
            reader, writer = await asyncio.open_connection(u.hostname, u.port)
            writer.write(req)
            await writer.drain()
            status, headers = await read_head(reader)
            await reader.readexactly(int(headers.get("content-length", "0")))
            writer.close()
            key = str(status)
        except Exception as e:  # noqa: BLE001 - counted in the summary
            key = type(e).__name__
        statuses[key] = statuses.get(key, 0) + 1

    async def main():
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), timeout)
        except asyncio.TimeoutError:
            statuses["timeout"] = n - sum(statuses.values())
        print("BODIES ok=%d statuses=%s seconds=%.1f" % (
            statuses.get("200", 0), json.dumps(statuses), time.monotonic() - t0), flush=True)

    asyncio.run(main())


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "model":
        model(int(a[0]), float(a[1]), float(a[2]), int(a[3]))
    elif cmd == "streams":
        streams(a[0], a[1], int(a[2]), float(a[3]), float(a[4]))
    elif cmd == "bodies":
        bodies(a[0], a[1], int(a[2]), int(a[3]), float(a[4]))
    else:
        sys.exit("unknown command " + cmd)
