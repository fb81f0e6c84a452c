# TODO: write the server
# remember: bind, listen, accept

