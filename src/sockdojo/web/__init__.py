"""The web dojo: module and challenge pages, the scoreboard, accounts, admin and a JSON API.

`sockdojo.web.app.create_app(WebDojo(store, authority), secret_key=...)` builds the ASGI
application; `sockdojo serve` runs it with uvicorn on the same store as the CLI.
"""
