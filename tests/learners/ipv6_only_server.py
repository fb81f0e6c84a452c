# Binds ::1 only, so IPv4 connections to 127.0.0.1 are refused.
import socket
import sys
import time

sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
sock.bind(("::1", int(sys.argv[1])))
sock.listen()
time.sleep(30)
