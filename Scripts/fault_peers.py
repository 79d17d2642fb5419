#!/usr/bin/env python3
"""Misbehaving peers for Scripts/faults.sh (standard library only).

Subcommands (each exits on its own: every socket has a timeout, so none can hang). Those that
listen bind port 0, so that the kernel picks a free port (no port is chosen beforehand and then
lost to another process), and print it as "fault_peers: ... listening on 127.0.0.1:PORT" on stderr;
Scripts/faults.sh reads the port from that line.

  proxy UPSTREAM_PORT (--cut N | --kill-at N --kill-pid-file F)
      A TCP proxy on 127.0.0.1, forwarding both ways every connection it accepts (a session's
      lanes are several connections) and counting the bytes of all of them together.
      --cut N: closes every connection (and stops listening) once N bytes have passed: the byte
        that would be number N+1 is never forwarded, so the cut falls wherever N lands (mid-record,
        mid-message for an odd N).
      --kill-at N: once N bytes have passed, sends SIGKILL to the process whose pid is in file F
        (one of the two parties), then goes on forwarding until every connection is closed, closing
        each connection's other side the way the first side closed (a reset as a reset). The kill thus lands at the same
        point of the protocol however fast the machine is.
  garbage-client PORT --seed S [--size N]
      Connects to 127.0.0.1:PORT, sends N seeded random bytes, reads until the peer closes.
  garbage-server --seed S [--size N]
      Accepts one connection, answers with N seeded random bytes, reads until the peer closes.
  fake-peer --role vendor|hospital --version V --cert C --key K --ca CA (--listen | --connect PORT)
      Completes mutual TLS 1.3 with the test certificates, then sends the SecureValidation
      application handshake claiming protocol version V:
          "SVAL" | version (UInt32 LE) | body length (UInt32 LE) | body
          body (version 1 layout) = role (1 byte: 0 vendor, 1 hospital) | nonce (16) | context (32)
      then reads the real party's handshake and waits for it to close the connection.
  truncate SRC DST --seed S --index I
      Writes the first k bytes of SRC to DST, k a seeded random offset in [1, size(SRC) - 1]
      (a different offset for each index I); prints k.

Every subcommand reports what it did on stderr, one line, prefixed with "fault_peers:".
"""
import argparse
import os
import random
import select
import socket
import ssl
import struct
import sys
import time

HOST = "127.0.0.1"


def log(message):
    print(f"fault_peers: {message}", file=sys.stderr, flush=True)


def listen(timeout):
    """A listening socket on a port the kernel picks (port 0); returns it and the port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((HOST, 0))
    server.listen(1)
    server.settimeout(timeout)
    return server, server.getsockname()[1]


def drain(sock, timeout):
    """Reads until the peer closes (or resets, or `timeout` seconds pass); returns the byte count."""
    sock.settimeout(timeout)
    total = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            total += len(chunk)
    except (socket.timeout, ConnectionError, OSError):
        pass
    return total


def close_like(sock, reset):
    """Closes `sock`, with a TCP reset (SO_LINGER 0) if `reset`, else with an orderly FIN."""
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def cmd_proxy(args):
    if (args.cut is None) == (args.kill_at is None) or (args.kill_at is not None and not args.kill_pid_file):
        log("proxy: give --cut N, or --kill-at N with --kill-pid-file F")
        return 2
    limit = args.cut if args.cut is not None else args.kill_at
    server, port = listen(args.timeout)
    server.setblocking(False)
    what = f"cutting after {args.cut} bytes" if args.cut is not None else f"killing a party after {args.kill_at} bytes"
    log(f"proxy listening on {HOST}:{port}, forwarding to {args.upstream_port}, {what}")
    peers = {}      # socket -> the socket it forwards to (both directions of every connection)
    names = {}      # socket -> "the client" / "the server", for messages
    upstream_bytes = downstream_bytes = total = 0
    connections = 0
    killed = None
    deadline = time.monotonic() + args.timeout
    reason, reset = "its time limit", False

    def close_pair(sock, by_reset):
        other = peers.pop(sock)
        peers.pop(other, None)
        close_like(sock, False)
        close_like(other, by_reset)

    while time.monotonic() < deadline:
        watched = list(peers) + ([server] if server is not None else [])
        readable, _, _ = select.select(watched, [], [], 1.0)
        cut = False
        for sock in readable:
            if sock is server:
                try:
                    client, _ = server.accept()
                except BlockingIOError:
                    continue
                client.setblocking(True)
                client.settimeout(args.timeout)
                upstream = socket.create_connection((HOST, args.upstream_port), timeout=args.timeout)
                peers[client], peers[upstream] = upstream, client
                names[client], names[upstream] = "the client", "the server"
                connections += 1
                continue
            if sock not in peers:
                continue  # closed earlier in this round
            try:
                chunk = sock.recv(1 << 20)
                by_reset = False
            except ConnectionError:
                chunk, by_reset = b"", True
            if not chunk:
                reason, reset = f"{names[sock]} {'resetting' if by_reset else 'closing'} a connection", by_reset
                close_pair(sock, by_reset)
                continue
            if args.cut is not None:
                chunk = chunk[:args.cut - total]
            try:
                peers[sock].sendall(chunk)
            except ConnectionError:
                reason, reset = f"{names[peers[sock]]} resetting a connection", True
                close_pair(peers[sock], True)
                continue
            total += len(chunk)
            if names[sock] == "the client":
                upstream_bytes += len(chunk)
            else:
                downstream_bytes += len(chunk)
            if total >= limit:
                if args.cut is not None:
                    reason, cut = "the cut", True
                    break
                if killed is None:
                    with open(args.kill_pid_file) as f:
                        victim = int(f.read().split()[0])
                    os.kill(victim, 9)
                    killed = (victim, total, time.time())
                    log(f"proxy sent SIGKILL to {victim} after {total} bytes ({upstream_bytes} client->server, "
                        f"{downstream_bytes} server->client, {connections} connection(s)) at {killed[2]:.3f}")
        if cut:
            for sock in list(peers):
                if sock in peers:
                    close_pair(sock, False)
            break
        if connections and not peers:
            break  # every connection is closed: the session is over
    for sock in list(peers):
        if sock in peers:
            close_pair(sock, reset)
    if server is not None:
        server.close()
    log(f"proxy closed every connection after {total} bytes ({upstream_bytes} client->server, "
        f"{downstream_bytes} server->client, {connections} connection(s)), stopped by {reason}")
    if args.kill_at is not None and killed is None:
        log("proxy: the session ended before the kill point")
        return 3
    return 0


def garbage(seed, size):
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(size))
    # Never start with 0x16 0x03 (a TLS handshake record header): garbage, not almost-TLS.
    if data[:1] == b"\x16":
        data = b"\x00" + data[1:]
    return data


def cmd_garbage_client(args):
    data = garbage(args.seed, args.size)
    sock = socket.create_connection((HOST, args.port), timeout=args.timeout)
    try:
        sock.sendall(data)
    except ConnectionError as error:
        log(f"garbage-client: sending failed ({error})")
    received = drain(sock, args.timeout)
    sock.close()
    log(f"garbage-client sent {len(data)} random bytes (seed {args.seed}), received {received} bytes before the server closed")
    return 0


def cmd_garbage_server(args):
    data = garbage(args.seed, args.size)
    server, port = listen(args.timeout)
    log(f"garbage-server listening on {HOST}:{port}")
    try:
        sock, _ = server.accept()
    except socket.timeout:
        log("garbage-server: no connection arrived")
        return 1
    sock.settimeout(args.timeout)
    try:
        first = sock.recv(65536)  # the client's TLS ClientHello
        sock.sendall(data)
    except (ConnectionError, socket.timeout) as error:
        first = b""
        log(f"garbage-server: exchange failed ({error})")
    received = len(first) + drain(sock, args.timeout)
    sock.close()
    server.close()
    log(f"garbage-server answered with {len(data)} random bytes (seed {args.seed}), received {received} bytes before the client closed")
    return 0


def cmd_fake_peer(args):
    if args.listen:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # the certificate is checked against the CA; the name does not matter here
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(args.cert, args.key)
    context.load_verify_locations(args.ca)
    context.verify_mode = ssl.CERT_REQUIRED

    if args.listen:
        server, port = listen(args.timeout)
        log(f"fake-peer listening on {HOST}:{port}")
        try:
            raw, _ = server.accept()
        except socket.timeout:
            log("fake-peer: no connection arrived")
            return 1
        server.close()
        raw.settimeout(args.timeout)
        tls = context.wrap_socket(raw, server_side=True)
    else:
        raw = socket.create_connection((HOST, args.connect), timeout=args.timeout)
        tls = context.wrap_socket(raw, server_hostname=HOST)
    peer = tls.getpeercert()
    peer_name = dict(item[0] for item in peer.get("subject", ())).get("commonName", "?")

    role = 0 if args.role == "vendor" else 1
    body = bytes([role]) + os.urandom(16) + bytes(32)
    message = b"SVAL" + struct.pack("<II", args.version, len(body)) + body
    tls.sendall(message)

    header = b""
    try:
        while len(header) < 12:
            chunk = tls.recv(12 - len(header))
            if not chunk:
                break
            header += chunk
    except (ssl.SSLError, ConnectionError, socket.timeout) as error:
        log(f"fake-peer: reading the real party's handshake failed ({error})")
    if len(header) == 12:
        magic = header[:4]
        version, length = struct.unpack("<II", header[4:12])
        heard = f"its handshake: magic {magic!r}, version {version}, body {length} bytes"
    else:
        heard = f"only {len(header)} bytes of its handshake"
    rest = 0
    try:
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            rest += len(chunk)
    except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
        pass
    tls.close()
    log(f"fake-peer: TLS 1.3 with {peer_name} ({tls.version() or 'closed'}), sent a version-{args.version} {args.role} "
        f"handshake; received {heard}, then {rest} more bytes before the real party closed the connection")
    return 0


def cmd_truncate(args):
    data = open(args.src, "rb").read()
    rng = random.Random(f"{args.seed}:{args.index}")
    k = rng.randrange(1, len(data))
    with open(args.dst, "wb") as out:
        out.write(data[:k])
    print(k)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("proxy")
    p.add_argument("upstream_port", type=int)
    p.add_argument("--cut", type=int)
    p.add_argument("--kill-at", type=int)
    p.add_argument("--kill-pid-file")
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(run=cmd_proxy)

    for name, run in (("garbage-client", cmd_garbage_client), ("garbage-server", cmd_garbage_server)):
        p = sub.add_parser(name)
        if name == "garbage-client":
            p.add_argument("port", type=int)
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--size", type=int, default=4096)
        p.add_argument("--timeout", type=float, default=30)
        p.set_defaults(run=run)

    p = sub.add_parser("fake-peer")
    p.add_argument("--role", choices=["vendor", "hospital"], required=True)
    p.add_argument("--version", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--ca", required=True)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--listen", action="store_true")
    group.add_argument("--connect", type=int)
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(run=cmd_fake_peer)

    p = sub.add_parser("truncate")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--index", type=int, required=True)
    p.set_defaults(run=cmd_truncate)

    args = parser.parse_args()
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
