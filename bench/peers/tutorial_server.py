#!/usr/bin/env python3
"""The socket tutorial's uppercase server, as tutorials write it: one thread per client,
recv(1024), upper(), sendall(). A benchmark peer for bench/run, not part of sockecho.

    python3 tutorial_server.py PORT [-v]
"""
import socket
import sys
import threading

HOST = "127.0.0.1"


def handle_client(conn, addr, verbose):
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            message = data.decode("utf-8", errors="replace")
            if message.rstrip("\r\n\0") == "exit":
                break
            reply = message.upper()
            if verbose:
                print(f"get message from [{addr[0]}:{addr[1]}]: {message.rstrip()} -> {reply.rstrip()}", flush=True)
            conn.sendall(reply.encode("utf-8"))


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 48763
    verbose = "-v" in sys.argv[2:]
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, port))
    server.listen()
    print(f"server start at: {HOST}:{port}", flush=True)
    while True:
        conn, addr = server.accept()
        threading.Thread(target=handle_client, args=(conn, addr, verbose), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
