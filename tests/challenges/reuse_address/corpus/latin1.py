import socket
# café server
