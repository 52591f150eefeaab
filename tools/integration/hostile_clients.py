#!/usr/bin/env python3
"""Hostile and careless clients against a running crmd, each checked against docs/PROTOCOL.md.

usage: hostile_clients.py HOST PORT CA_FILE AGENT_TOKEN ADAPTER_TOKEN CUSTOMER_TOKEN

Speaks crm/1 by hand (frames and the few protobuf fields it needs), so that it depends on the
document only. Prints one line per check and exits 1 if any check failed.
"""
import socket
import ssl
import struct
import sys
import time

PREFACE = b"CRM/1\r\n\x00"
HEADERS, MESSAGE, TRAILERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = range(1, 9)
END_STREAM = ACK = 0x01
OK, INVALID_ARGUMENT, PERMISSION_DENIED, RESOURCE_EXHAUSTED = 0, 3, 7, 8
UNIMPLEMENTED, INTERNAL, UNAUTHENTICATED = 12, 13, 16

# ---- the protobuf wire format, as much as needed ----

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def field_bytes(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data

def field_varint(number, value):
    return varint(number << 3) + varint(value)

def decode(data):
    """{field number: [values]} of a message: ints for varints, bytes for length-delimited."""
    fields, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            value, i = data[i:i + n], i + n
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        fields.setdefault(number, []).append(value)
    return fields

def read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i

def request_headers(method, token=None, timeout_ms=5000):
    body = field_bytes(1, method.encode()) + field_varint(3, timeout_ms)
    if token:
        entry = field_bytes(1, b"authorization") + field_bytes(2, ("Bearer " + token).encode())
        body += field_bytes(5, entry)
    return body

def frame(kind, flags, stream, payload=b""):
    return struct.pack(">IBBI", len(payload), kind, flags, stream) + payload

# ---- a connection ----

class Conn:
    def __init__(self, host, port, ca, alpn=("crm/1",)):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.set_alpn_protocols(list(alpn))
        raw = socket.create_connection((host, port), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname=host)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def start(self):
        """Preface and empty SETTINGS; reads the server's SETTINGS and acknowledges it."""
        self.send(PREFACE + frame(SETTINGS, 0, 0))
        kind, flags, stream, payload = self.read_frame()
        assert kind == SETTINGS and not flags & ACK, "the server's first frame is not SETTINGS"
        self.send(frame(SETTINGS, ACK, 0, field_varint(2, 1)))

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        length, kind, flags, stream = struct.unpack(">IBBI", self.read_exact(10))
        return kind, flags, stream, self.read_exact(length)

    def until(self, kinds, stream=None):
        """Reads frames (answering PINGs, skipping SETTINGS ACKs) until one of `kinds` arrives."""
        while True:
            kind, flags, sid, payload = self.read_frame()
            if kind == PING and not flags & ACK:
                opaque = decode(payload).get(1, [0])[0]
                self.send(frame(PING, ACK, 0, (field_varint(1, opaque) if opaque else b"") + field_varint(2, 1)))
                continue
            if kind in kinds and (stream is None or sid == stream or kind == GOAWAY):
                return kind, flags, sid, payload

    def call(self, method, request=b"", token=None, stream=1):
        """A unary call; returns (status code, message, response payload or None)."""
        # 4.2: an empty END_STREAM MESSAGE carries no message, so an empty request goes first
        # without END_STREAM; `request=None` sends no request message at all.
        if request is None:
            messages = frame(MESSAGE, END_STREAM, stream)
        elif request == b"":
            messages = frame(MESSAGE, 0, stream) + frame(MESSAGE, END_STREAM, stream)
        else:
            messages = frame(MESSAGE, END_STREAM, stream, request)
        self.send(frame(HEADERS, 0, stream, request_headers(method, token)) + messages)
        response = None
        while True:
            kind, flags, sid, payload = self.until({MESSAGE, TRAILERS, RST_STREAM, GOAWAY}, stream)
            if kind == MESSAGE:
                response = payload
                continue
            fields = decode(payload)
            if kind == GOAWAY:
                return ("GOAWAY", fields.get(2, [0])[0], fields.get(3, [b""])[0].decode())
            return fields.get(1, [0])[0], fields.get(2, [b""])[0].decode(), response

    def goaway(self):
        """Waits for the server's GOAWAY; returns (status, message)."""
        kind, flags, sid, payload = self.until({GOAWAY})
        fields = decode(payload)
        return fields.get(2, [0])[0], fields.get(3, [b""])[0].decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

# ---- the checks ----

failures = []

def check(name, ok, detail):
    print("%s  %s: %s" % ("ok  " if ok else "FAIL", name, detail))
    if not ok:
        failures.append(name)

def main():
    host, port, ca, agent, adapter, customer = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]

    # Plaintext bytes on the TLS port (2.1: there is no plaintext variant): the TLS handshake fails
    # and the server closes; no crm/1 frame comes back.
    raw = socket.create_connection((host, port), timeout=10)
    raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + PREFACE)
    answer = b""
    closed = False
    try:
        while len(answer) < 4096:
            chunk = raw.recv(4096)
            if not chunk:
                closed = True
                break
            answer += chunk
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass  # still open after 10 s: a failure below
    raw.close()
    check("plaintext", closed and answer[:1] in (b"", b"\x15"),
          "%s after %d bytes%s" % ("closed" if closed else "still open", len(answer),
                                   " (a TLS alert record)" if answer[:1] == b"\x15" else ""))

    # No ALPN crm/1 offered (2.3): the handshake aborts with the no_application_protocol alert.
    try:
        c = Conn(host, port, ca, alpn=("h2",))
        selected = c.sock.selected_alpn_protocol()
        c.close()
        check("wrong ALPN", False, "handshake completed, selected %r" % selected)
    except ssl.SSLError as e:
        check("wrong ALPN", "NO_APPLICATION_PROTOCOL" in str(e).upper().replace(" ", "_"), str(e))

    # Garbage after the handshake instead of the preface (3): GOAWAY PROTOCOL_ERROR, status INTERNAL.
    c = Conn(host, port, ca)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    status, message = c.goaway()
    c.close()
    check("garbage after handshake", status == INTERNAL and message.startswith("PROTOCOL_ERROR: "), "GOAWAY %d %r" % (status, message))

    # An unknown frame type after a correct start (4.1): GOAWAY PROTOCOL_ERROR.
    c = Conn(host, port, ca)
    c.start()
    c.send(frame(9, 0, 1, b"x"))
    status, message = c.goaway()
    c.close()
    check("unknown frame type", status == INTERNAL and message.startswith("PROTOCOL_ERROR: "), "GOAWAY %d %r" % (status, message))

    # An oversized frame (4.3 rule 4, 15): GOAWAY FRAME_SIZE_ERROR, status RESOURCE_EXHAUSTED, judged
    # on the header alone (we send no payload at all).
    c = Conn(host, port, ca)
    c.start()
    c.send(frame(HEADERS, 0, 1, request_headers("/crm.v1.InteractionService/PushInteractions", adapter)))
    c.send(struct.pack(">IBBI", 5000000, MESSAGE, 0, 1))
    status, message = c.goaway()
    c.close()
    check("oversized frame", status == RESOURCE_EXHAUSTED and message.startswith("FRAME_SIZE_ERROR: "), "GOAWAY %d %r" % (status, message))

    # One connection, several calls: each error ends its call only (16.2).
    c = Conn(host, port, ca)
    c.start()
    code, message, _ = c.call("/crm.v1.Nothing/Here", b"", agent, stream=1)
    check("unknown method", code == UNIMPLEMENTED, "TRAILERS %s %r" % (code, message))
    timeline = field_bytes(1, field_bytes(2, field_varint(1, 1) + field_bytes(2, b"0812-3456-789")))
    code, message, _ = c.call("/crm.v1.InteractionService/GetTimeline", timeline, adapter, stream=3)
    check("wrong role (adapter reads a timeline)", code == PERMISSION_DENIED, "TRAILERS %s %r" % (code, message))
    code, message, _ = c.call("/crm.v1.ProfileService/GetProfile", timeline, customer, stream=5)
    check("wrong role (customer reads a profile)", code == PERMISSION_DENIED, "TRAILERS %s %r" % (code, message))
    code, message, _ = c.call("/crm.v1.InteractionService/GetTimeline", timeline, None, stream=7)
    check("no credentials", code == UNAUTHENTICATED, "TRAILERS %s %r" % (code, message))
    code, message, _ = c.call("/crm.v1.InteractionService/GetTimeline", timeline, "crm_not-a-token", stream=9)
    check("unknown token", code == UNAUTHENTICATED, "TRAILERS %s %r" % (code, message))
    code, message, _ = c.call("/crm.v1.Health/Check", b"\x0a\x00\xff", None, stream=11)
    check("undecodable request", code == INVALID_ARGUMENT, "TRAILERS %s %r" % (code, message))
    code, message, _ = c.call("/crm.v1.Health/Check", None, None, stream=13)
    check("unary call without a request (8.2)", code == INTERNAL, "TRAILERS %s %r" % (code, message))
    code, message, response = c.call("/crm.v1.Health/Check", b"", None, stream=15)
    serving = decode(response or b"").get(1, [0])[0]
    check("health after the errors, same connection", code == OK and serving == 1, "status %s, serving_status %s" % (code, serving))
    # A reused stream id is a connection error (7.1).
    c.send(frame(HEADERS, END_STREAM, 15, request_headers("/crm.v1.Health/Check")))
    status, message = c.goaway()
    c.close()
    check("reused stream id", status == INTERNAL and message.startswith("PROTOCOL_ERROR: "), "GOAWAY %d %r" % (status, message))

    # A fresh connection still works.
    c = Conn(host, port, ca)
    c.start()
    code, message, response = c.call("/crm.v1.Health/Check", b"", None)
    c.close()
    serving = decode(response or b"").get(1, [0])[0]
    check("health on a new connection", code == OK and serving == 1, "status %s, serving_status %s" % (code, serving))

    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
