"""The body-read watchdog (``cds_service.http.request_body``): a deadline that bounds the whole read, not one recv."""

from __future__ import annotations

import socket
import time

from cds_service.time_limits import ReadWatchdog


def test_a_read_released_in_time_is_not_cut() -> None:
    watchdog = ReadWatchdog()
    server, client = socket.socketpair()
    with server, client:
        watch = watchdog.watch(server, time.monotonic() + 0.2)
        client.sendall(b"whole body")
        assert server.recv(100) == b"whole body"
        assert watchdog.release(watch) is False
        time.sleep(0.3)
        client.sendall(b"next request")
        assert server.recv(100) == b"next request"  # the connection was left alone


def test_a_read_past_its_deadline_is_ended_however_slowly_bytes_arrive() -> None:
    watchdog = ReadWatchdog()
    server, client = socket.socketpair()
    with server, client:
        watch = watchdog.watch(server, time.monotonic() + 0.3)
        started, received = time.monotonic(), b""
        client.sendall(b"x")
        while chunk := server.recv(1):  # one byte at a time, each well within any per-recv timeout
            received += chunk
            try:
                client.sendall(b"x")
            except BrokenPipeError:  # a Unix socket pair: the shut read side refuses further bytes
                break
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 1.5 and received
        assert watchdog.release(watch) is True


def test_deadlines_are_served_in_order_whatever_order_they_were_set() -> None:
    watchdog = ReadWatchdog()
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        now = time.monotonic()
        late = watchdog.watch(pairs[0][0], now + 5)
        early = watchdog.watch(pairs[1][0], now + 0.1)
        released = watchdog.watch(pairs[2][0], now + 0.05)
        assert watchdog.release(released) is False
        assert pairs[1][0].recv(1) == b""  # the early one is shut at its deadline (recv returns end of stream)
        assert watchdog.release(early) is True
        assert watchdog.release(late) is False
    finally:
        for a, b in pairs:
            a.close()
            b.close()
