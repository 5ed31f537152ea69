#!/usr/bin/env python3
"""A stand-in for `updraft webserver`, for testing the browser harness itself.

It implements only the contract the scenarios rely on (sign-in form with
username/password/csrf_token, /home with DAG rows, pause toggles and the user
name, POST /dags/{id}/pause refused with 403 for a Viewer) plus GET /fixture,
a page with one button. It prints the same start line as the real server:
`Webserver listening on http://HOST:PORT`. It is not Updraft: a scenario that
passes here proves the scripts and the harness, not the web UI.

    fake_webserver.py --port 0 --user admin:secret:Admin --user v:pw:Viewer --dag example

--toggle-testid-on form puts data-testid="pause-toggle" on the toggle's form
instead of its button: the contract allows both, the scenarios handle both.
"""

import argparse
import html
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIXTURE = b"""<!doctype html><html><head><title>fixture</title></head><body>
<h1>Browser fixture</h1><p id="status">waiting</p>
<button id="go" onclick="document.getElementById('status').textContent='clicked'">Go</button>
</body></html>"""


class State:
    def __init__(self, users, dags):
        self.users = users  # name -> (password, role)
        self.paused = {d: True for d in dags}
        self.sessions = {}  # session id -> {"user": str|None, "csrf": str}
        self.lock = threading.Lock()


def page(title, body):
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}} header{{display:flex;gap:1em}}
td,th{{padding:.3em 1em;border-bottom:1px solid #ccc}}
button[aria-pressed=true]{{background:#ddd}} button[aria-pressed=false]{{background:#9f9}}</style>
</head><body>{body}</body></html>""".encode()


class Handler(BaseHTTPRequestHandler):
    state: State
    toggle_on_form = False

    def log_message(self, fmt, *args):  # quiet: the test prints what matters
        pass

    def session(self):
        cookies = dict(
            c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c
        )
        sid = cookies.get("session")
        with self.state.lock:
            if sid not in self.state.sessions:
                sid = secrets.token_hex(16)
                self.state.sessions[sid] = {"user": None, "csrf": secrets.token_hex(16)}
            return sid, self.state.sessions[sid]

    def send(self, status, body=b"", sid=None, location=None):
        self.send_response(status)
        if sid:
            self.send_header("Set-Cookie", f"session={sid}; HttpOnly; SameSite=Lax; Path=/")
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def form(self):
        n = int(self.headers.get("Content-Length", "0"))
        return dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))

    def login_page(self, sid, sess, error=""):
        msg = f'<p class="error">{html.escape(error)}</p>' if error else ""
        body = f"""<h1>Sign in</h1>{msg}<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{sess['csrf']}">
<label>Username <input name="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>"""
        self.send(200, page("Sign in", body), sid=sid)

    def do_GET(self):
        sid, sess = self.session()
        path = urllib.parse.urlparse(self.path).path
        if path == "/fixture":
            return self.send(200, FIXTURE)
        if path == "/login":
            return self.login_page(sid, sess)
        if sess["user"] is None:
            return self.send(303, sid=sid, location="/login")
        if path in ("/", "/home"):
            return self.home(sid, sess)
        return self.send(404, b"not found")

    def home(self, sid, sess):
        user = sess["user"]
        role = self.state.users[user][1]
        rows = []
        for dag, paused in sorted(self.state.paused.items()):
            toggle = ""
            on_form = ' data-testid="pause-toggle"' if self.toggle_on_form else ""
            on_button = "" if self.toggle_on_form else ' data-testid="pause-toggle"'
            if role != "Viewer":
                toggle = f"""<form method="post" action="/dags/{dag}/pause"{on_form}>
<input type="hidden" name="csrf_token" value="{sess['csrf']}">
<input type="hidden" name="is_paused" value="{'false' if paused else 'true'}">
<button type="submit"{on_button} aria-pressed="{'true' if paused else 'false'}">
{'Paused' if paused else 'Active'}</button></form>"""
            rows.append(
                f'<tr data-testid="dag-row" data-dag-id="{dag}"><td>{dag}</td><td>{toggle}</td></tr>'
            )
        body = f"""<header><b>Updraft (fake)</b><span data-testid="user-name">{html.escape(user)}</span>
<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{sess['csrf']}">
<button>Sign out</button></form></header>
<table><tr><th>DAG</th><th>Paused</th></tr>{''.join(rows)}</table>"""
        self.send(200, page("DAGs", body), sid=sid)

    def do_POST(self):
        sid, sess = self.session()
        path = urllib.parse.urlparse(self.path).path
        form = self.form()
        if form.get("csrf_token") != sess["csrf"]:
            return self.send(400, b"CSRF token missing or wrong", sid=sid)
        if path == "/login":
            user = self.state.users.get(form.get("username", ""))
            if user is None or user[0] != form.get("password"):
                return self.login_page(sid, sess, "Invalid login. Please try again.")
            sess["user"] = form["username"]
            return self.send(303, sid=sid, location="/home")
        if sess["user"] is None:
            return self.send(303, sid=sid, location="/login")
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "dags" and parts[2] == "pause":
            if self.state.users[sess["user"]][1] == "Viewer":
                return self.send(403, b"Forbidden", sid=sid)
            dag = parts[1]
            if dag not in self.state.paused:
                return self.send(404, b"no such DAG", sid=sid)
            wanted = form.get("is_paused")
            if wanted not in ("true", "false"):
                return self.send(422, b"is_paused must be true or false.", sid=sid)
            with self.state.lock:
                self.state.paused[dag] = wanted == "true"
            return self.send(303, sid=sid, location="/home")
        return self.send(404, b"not found", sid=sid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", action="append", default=[], help="NAME:PASSWORD:ROLE")
    ap.add_argument("--dag", action="append", default=[])
    ap.add_argument("--toggle-testid-on", choices=["button", "form"], default="button")
    a = ap.parse_args()
    users = {}
    for spec in a.user:
        name, password, role = spec.split(":")
        users[name] = (password, role)
    Handler.state = State(users, a.dag)
    Handler.toggle_on_form = a.toggle_testid_on == "form"
    server = ThreadingHTTPServer((a.host, a.port), Handler)
    host, port = server.server_address[:2]
    print(f"Webserver listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
