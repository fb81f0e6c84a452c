import socket

def main():
    s = socket.socket()
	s.bind(('127.0.0.1', 1337))

main()
